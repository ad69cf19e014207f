"""The customer card as Block Kit: a pure function of the profile, the viewer's locale and time zone.

The card has a fixed shape (about fifteen blocks) whatever the customer's history: lists are cut to
a few lines and every text is cut to Slack's limits, so a customer with 500 orders and 10 KB notes
still gets a valid message. Everything a customer or employee typed is escaped.
"""
from __future__ import annotations

import datetime as dt
from typing import Any
from collections.abc import Iterable

from handlers.blockkit import (
    MAX_FALLBACK_TEXT,
    MAX_SECTION_TEXT,
    Mrkdwn,
    actions,
    button,
    context,
    divider,
    escape,
    fit_message,
    header,
    section,
    truncate,
    trusted,
)
from handlers.i18n import has_key, t
from handlers.i18n.formats import format_date, format_money, format_phone, mask_email, mask_phone
from handlers.profile import ids
from handlers.profile.live import live_lines
from store.clock import time_zone, to_local_naive
from store.profile import CustomerProfile, HistoryKind, InteractionSummary, OrderSummary, Page

NOTE_CHARS = 160
PRODUCT_CHARS = 60
LINES_PER_ORDER = 3


def _local(value: dt.datetime | None, timezone: str | None) -> dt.datetime | None:
    if value is None:
        return None
    return to_local_naive(value, time_zone(timezone))


def _word(prefix: str, value: str | None, locale: str) -> Mrkdwn:
    """A stored code shown in the reader's language when the catalog knows it, as typed otherwise."""
    if not value:
        return trusted("—")
    key = f"{prefix}.{value}"
    return t(key, locale) if has_key(key) else escape(value)


# Declared preferences whose value is a code from a closed list (the interaction form's choices): the
# value is shown in the reader's language through these catalog prefixes; other values are as typed.
_PREFERENCE_VALUE_WORDS = {"channel": "profile.channel", "language": "profile.language"}


def preference_line(category: str, label: str | None, value: str, locale: str) -> Mrkdwn:
    """'• shoes: 43', '• canal préféré : téléphone': a declared preference in the reader's language."""
    title = _short(label, 30) if label else _word("profile.pref", category, locale)
    prefix = _PREFERENCE_VALUE_WORDS.get(category)
    known = f"{prefix}.{value}" if prefix else ""
    shown = t(known, locale) if known and has_key(known) else _short(value, 80)
    return t("profile.line", locale, title=title, value=shown)


def _short(text: str | None, limit: int) -> Mrkdwn:
    """One line, cut before escaping so an entity is never split."""
    return escape(truncate(" ".join((text or "").split()), limit))


def _join_lines(lines: Iterable[str], limit: int = MAX_SECTION_TEXT) -> str:
    """As many whole lines as fit in one text object."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit - 2:
            kept.append("…")
            break
        kept.append(line)
        size += len(line) + 1
    # Every line this module builds is composed of escaped parts (`_short`, `_word`, `t`).
    return trusted("\n".join(kept))


def order_lines(orders: Iterable[OrderSummary], locale: str, timezone: str | None) -> list[str]:
    lines = []
    for order in orders:
        where = _word("profile.channel", order.channel, locale)
        if order.store_name:
            where = trusted(f"{where} · {_short(order.store_name, 40)}")
        items = trusted(", ").join(trusted(
            f"{line.quantity}× {_short(line.product_name, PRODUCT_CHARS)}" + (f" ({_short(line.size, 8)})" if line.size else "")
            ) for line in order.lines[:LINES_PER_ORDER]
        )
        if len(order.lines) > LINES_PER_ORDER:
            items += " " + t("profile.more_lines", locale, count=len(order.lines) - LINES_PER_ORDER)
        amount = format_money(order.total_amount, order.currency, locale)
        lines.append(f"• {format_date(_local(order.ordered_at, timezone), locale)} · {where} · *{amount}* · "
                     f"`{_short(order.order_number, 30)}`" + (f"\n   {items}" if items else ""))
    return lines


def interaction_lines(interactions: Iterable[InteractionSummary], locale: str, timezone: str | None) -> list[str]:
    lines = []
    for item in interactions:
        head = (f"• {format_date(_local(item.created_at, timezone), locale)} · "
                f"{_word('profile.channel', item.channel, locale)} · {_word('profile.type', item.type, locale)} · "
                f"{_short(item.employee_name, 40)} → _{_word('profile.outcome', item.outcome, locale)}_")
        lines.append(head + (f"\n   {_short(item.note, NOTE_CHARS)}" if item.note else ""))
    return lines


def _contact_line(profile: CustomerProfile, locale: str, revealed: bool) -> str:
    email, phone = profile.contact.email, profile.contact.phone
    if revealed:
        shown_email = escape(email) if email else "—"
        shown_phone = escape(format_phone(phone, locale)) if phone else "—"
    else:
        shown_email = escape(mask_email(email))
        shown_phone = mask_phone(phone)
    return t("profile.contact", locale, email=shown_email, phone=shown_phone)


def _summary(profile: CustomerProfile, locale: str) -> str:
    facts = []
    if profile.loyalty_tier:
        facts.append(t("profile.tier", locale, tier=_short(profile.loyalty_tier, 30)))
    if profile.customer_since:
        facts.append(t("profile.since", locale, date=format_date(profile.customer_since, locale)))
    if profile.preferred_store:
        facts.append(t("profile.store", locale, store=_short(profile.preferred_store, 60)))
    if profile.preferred_language:
        facts.append(t("profile.language", locale, language=_word("profile.language", profile.preferred_language, locale)))
    if profile.preferred_channel:
        facts.append(t("profile.channel", locale, channel=_word("profile.channel", profile.preferred_channel, locale)))
    if profile.city:
        facts.append(_short(profile.city, 60))
    return trusted(" · ").join(facts) or "—"


def _web_text(profile: CustomerProfile, locale: str, timezone: str | None = None) -> str:
    if not profile.profiling_allowed:
        return "🔒 " + t("profile.web_hidden", locale)
    seen, live = live_lines(profile.live, locale, timezone) if profile.live else (None, [])
    title = t("profile.web", locale) + (f" · {seen}" if seen else "")
    if not profile.web_signals and not live:
        return title if seen else title + "\n" + t("profile.web_none", locale)
    by_kind: dict[str, list[str]] = {}
    for signal in profile.web_signals:
        label = _short(signal.product_name, PRODUCT_CHARS)
        if signal.price is not None:
            label += f" ({format_money(signal.price, signal.currency, locale)})"  # Mrkdwn + text: escaped
        by_kind.setdefault(signal.kind, []).append(label)
    lines = [t("profile.line", locale, title=_word("profile.web", kind, locale), value=trusted(", ".join(items)))
             for kind, items in by_kind.items()]  # items: escaped labels
    return _join_lines([title, *live, *lines])


def _consent_text(profile: CustomerProfile, locale: str) -> str:
    items = [
        f"{_word('profile.consent', c.purpose, locale)} ({_word('profile.channel', c.channel, locale)}) "
        f"{'✓' if c.granted else '✗'}"
        for c in profile.consents[:12]
    ]
    return t("profile.consents", locale,
             items=trusted(", ".join(items)) if items else t("profile.consent_none", locale))


# Golden fields grouped the way an associate thinks of them, so the footer stays one short line.
_FACT_OF_FIELD = {
    "first_name": "name", "last_name": "name", "email": "contact", "phone": "contact",
    "street": "address", "postcode": "address", "city": "address", "country": "address",
    "birth_date": "birth_date", "loyalty_id": "loyalty", "loyalty_tier": "loyalty",
    "preferred_language": "language", "preferred_channel": "channel", "preferred_store_id": "store",
    "customer_since": "since",
}


def _sources_text(provenance: dict[str, str], locale: str) -> str:
    """'web: name, contact · pos: loyalty': which system each fact came from."""
    facts_by_source: dict[str, list[str]] = {}
    known_order = list(_FACT_OF_FIELD)
    ordered = sorted(provenance.items(), key=lambda item: (known_order.index(item[0]) if item[0] in known_order
                                                           else len(known_order), item[0]))
    for field, source in ordered:
        fact = _FACT_OF_FIELD.get(field, "other")
        facts = facts_by_source.setdefault(_short(source, 20), [])
        if fact not in facts:
            facts.append(fact)
    return trusted(" · ".join(
        f"{source}: {', '.join(t(f'profile.fact.{fact}', locale) for fact in facts)}"
        for source, facts in facts_by_source.items()
    ))


def profile_blocks(profile: CustomerProfile, locale: str, timezone: str | None = None, *,
                   revealed: bool = False, shareable: bool = False,
                   banner: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """`banner`: blocks shown right under the name (handlers.review: a possible duplicate to ask about)."""
    value = str(profile.customer_id)
    blocks: list[dict[str, Any]] = [header(escape(profile.display_name)), context(_summary(profile, locale))]
    if profile.redirected_from:
        blocks.append(context(t("profile.merged_note", locale, old=profile.redirected_from)))
    blocks += banner or []
    contact = section(_contact_line(profile, locale, revealed), block_id="profile.contact")
    if not revealed and (profile.contact.email or profile.contact.phone):
        contact["accessory"] = button(t("profile.reveal", locale), ids.REVEAL_CONTACT, value)
    blocks.append(contact)
    if not revealed:
        blocks.append(context(t("profile.contact_masked_hint", locale)))

    prefs = [preference_line(p.category, p.label, p.value, locale) for p in profile.preferences]
    blocks.append(section(_join_lines([t("profile.preferences", locale), *(prefs or [t("profile.no_preferences", locale)])])))
    blocks.append(section(_web_text(profile, locale, timezone), block_id="profile.web"))

    blocks.append(divider())
    orders = order_lines(profile.orders.items, locale, timezone) or [t("profile.no_orders", locale)]
    blocks.append(section(_join_lines([t("profile.orders", locale), *orders]), block_id="profile.orders"))
    interactions = interaction_lines(profile.interactions.items, locale, timezone) or [t("profile.no_interactions", locale)]
    blocks.append(section(_join_lines([t("profile.interactions", locale), *interactions]), block_id="profile.interactions"))
    if profile.follow_ups:
        follow_ups = [
            f"• {t('profile.due', locale, date=format_date(f.due_date, locale))}"
            + (f" ({t('profile.overdue', locale)})" if f.overdue else "")
            + f" · {_short(f.assignee_name, 40)} · {_short(f.note, NOTE_CHARS)}"
            for f in profile.follow_ups
        ]
        blocks.append(section(_join_lines([t("profile.follow_ups", locale), *follow_ups])))

    footer = [_consent_text(profile, locale)]
    if profile.provenance:
        footer.append(t("profile.sources", locale, items=_sources_text(profile.provenance, locale)))
    blocks.append(context(*footer))

    buttons = [button(t("profile.log_interaction", locale), ids.LOG_INTERACTION, value, style="primary"),
               button(t("profile.add_follow_up", locale), ids.ADD_FOLLOW_UP, value)]
    if profile.orders.has_more:
        buttons.append(button(t("profile.more_orders", locale), ids.MORE_ORDERS, value))
    if profile.interactions.has_more:
        buttons.append(button(t("profile.more_interactions", locale), ids.MORE_INTERACTIONS, value))
    if shareable:  # only when an admin allowed share channels (handlers.sharing posts a reduced card)
        buttons.append(button(t("privacy.share.button", locale), ids.SHARE_CARD, value))
    blocks.append(actions(*buttons, block_id="profile.actions"))
    return fit_message(blocks)


def fallback_text(profile: CustomerProfile, locale: str) -> str:
    return truncate(t("profile.fallback", locale, name=escape(profile.display_name)), MAX_FALLBACK_TEXT)


def history_page_blocks(kind: HistoryKind, customer_id: int, name: str, page: Page, locale: str,
                        timezone: str | None) -> list[dict[str, Any]]:
    """An earlier page of orders or contacts, as its own small message with a button for the next one."""
    if kind == "orders":
        title, lines = t("profile.orders_more_title", locale, name=escape(name)), order_lines(page.items, locale, timezone)
        action_id, label = ids.MORE_ORDERS, t("profile.more_orders", locale)
    else:
        title = t("profile.interactions_more_title", locale, name=escape(name))
        lines = interaction_lines(page.items, locale, timezone)
        action_id, label = ids.MORE_INTERACTIONS, t("profile.more_interactions", locale)
    blocks = [section(_join_lines([title, *(lines or [t("profile.no_more", locale)])]))]
    if page.has_more:
        next_offset = page.offset + len(page.items)
        blocks.append(actions(button(label, action_id, f"{customer_id}:{next_offset}")))
    return blocks
