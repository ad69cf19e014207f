"""Block Kit for the conversation: pure functions from data to message arguments (text + blocks)."""
from __future__ import annotations

from typing import Any

from handlers.blockkit import actions, button, context, escape, fit_message, section, trusted, truncate
from handlers.i18n import has_key, t
from handlers.i18n.formats import format_money
from handlers.conversation import ids
from handlers.lookup.blocks import result_blocks
from handlers.profile import ids as profile_ids
from handlers.profile.blocks import interaction_lines, order_lines, preference_line
from store.conversations import Draft
from store.profile import CustomerProfile
from store.search import SearchResult
from store.vocabulary import InteractionType

PRODUCT_CHARS = 60
MAX_LINES = 40


def _message(text: str, *lines: str, more: dict[str, Any] | None = None) -> dict[str, Any]:
    body = "\n".join([text, *lines[:MAX_LINES]])
    blocks = [section(truncate(body, 2900))]
    if more is not None:
        blocks.append(more)
    return {"text": text, "blocks": fit_message(blocks)}


def plain_message(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [section(text)]}


def help_message(locale: str) -> dict[str, Any]:
    return plain_message(t("conversation.help", locale))


def candidates_message(result: SearchResult, locale: str) -> dict[str, Any]:
    """Several customers (numbered, as the lookup shows them) and how to answer with a number; or none."""
    text, blocks = result_blocks(result, locale)
    numbered = []
    for block in blocks:
        if str(block.get("block_id", "")).startswith("candidate."):
            position = int(str(block["block_id"]).split(".")[1]) + 1
            block = {**block, "text": {**block["text"], "text": f"*{position}.* {block['text']['text']}"}}
        numbered.append(block)
    if result.candidates:
        numbered.append(context(t("conversation.pick_hint", locale)))
    return {"text": text, "blocks": numbered}


def orders_message(profile: CustomerProfile, locale: str, timezone: str) -> dict[str, Any]:
    title = t("conversation.orders_title", locale, name=escape(profile.display_name))
    lines = order_lines(profile.orders.items, locale, timezone) or [t("conversation.none_orders", locale)]
    more = actions(button(t("profile.more_orders", locale), profile_ids.MORE_ORDERS,
                          f"{profile.customer_id}:{len(profile.orders.items)}")) if profile.orders.has_more else None
    return _message(title, *lines, more=more)


def contacts_message(profile: CustomerProfile, locale: str, timezone: str) -> dict[str, Any]:
    title = t("conversation.contacts_title", locale, name=escape(profile.display_name))
    lines = interaction_lines(profile.interactions.items, locale, timezone) or [t("conversation.none_contacts", locale)]
    more = actions(button(t("profile.more_interactions", locale), profile_ids.MORE_INTERACTIONS,
                          f"{profile.customer_id}:{len(profile.interactions.items)}")) \
        if profile.interactions.has_more else None
    return _message(title, *lines, more=more)


def sizes_message(profile: CustomerProfile, locale: str) -> dict[str, Any]:
    title = t("conversation.sizes_title", locale, name=escape(profile.display_name))
    lines = [preference_line(p.category, p.label, p.value, locale) for p in profile.preferences]
    return _message(title, *(lines or [t("conversation.none_sizes", locale)]))


def basket_message(profile: CustomerProfile, locale: str) -> dict[str, Any]:
    """Web activity, only with the customer's profiling consent (the card's rule, build_profile's data)."""
    title = t("conversation.basket_title", locale, name=escape(profile.display_name))
    if not profile.profiling_allowed:
        return _message(title, "🔒 " + t("profile.web_hidden", locale))
    by_kind: dict[str, list[str]] = {}
    for signal in profile.web_signals:
        label = escape(truncate(" ".join(signal.product_name.split()), PRODUCT_CHARS))
        if signal.price is not None:
            label = trusted(f"{label} ({format_money(signal.price, signal.currency, locale)})")
        by_kind.setdefault(signal.kind, []).append(label)
    lines = []
    for kind, labels in by_kind.items():
        key = f"profile.web.{kind}"
        title_of_kind = t(key, locale) if has_key(key) else escape(kind)
        lines.append(t("profile.line", locale, title=title_of_kind, value=trusted(", ".join(labels))))
    return _message(title, *(lines or [t("conversation.none_basket", locale)]))


def log_draft_message(draft: Draft, name: str, locale: str) -> dict[str, Any]:
    """"Log a call with X? > note" and the button that opens the form filled with it."""
    what_key = {InteractionType.CALL: "call", InteractionType.VISIT: "visit"}.get(
        InteractionType(draft.type) if draft.type in tuple(InteractionType) else InteractionType.OTHER, "other")
    what = t(f"conversation.log_what.{what_key}", locale)
    if draft.note:
        text = t("conversation.log_draft", locale, what=what, name=escape(name),
                 note=escape(truncate(" ".join(draft.note.split()), 300)))
    else:
        text = t("conversation.log_draft_no_note", locale, what=what, name=escape(name))
    return {"text": text, "blocks": [
        section(text), actions(button(t("conversation.log_open", locale), ids.LOG_OPEN, str(draft.customer_id),
                                      style="primary"))]}


def suggested_prompts(locale: str) -> list[dict[str, str]]:
    """Shown when an assistant thread starts; each sends its message as if typed."""
    return [{"title": t("conversation.prompt.help", locale), "message": t("conversation.prompt.help", locale)},
            {"title": t("conversation.prompt.followups", locale), "message": t("conversation.prompt.followups", locale)},
            {"title": t("conversation.prompt.team", locale), "message": t("conversation.prompt.team", locale)},
            {"title": t("conversation.prompt.digest", locale), "message": t("conversation.prompt.digest", locale)}]
