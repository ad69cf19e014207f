"""Search answers as Block Kit: usage help, the candidates to choose from, no match with suggestions."""
from __future__ import annotations

from typing import Any

from handlers.blockkit import button, context, escape, mrkdwn, plain, section, truncate, trusted
from handlers.i18n import t
from handlers.i18n.formats import format_date, mask_phone
from handlers.profile.ids import OPEN_CUSTOMER
from store.search import Candidate, SearchResult

MODAL_CALLBACK = "lookup.search_modal"
MODAL_BLOCK = "lookup.query"
MODAL_INPUT = "lookup.query_input"


def _facts(candidate: Candidate, locale: str) -> str:
    facts: list[str] = []
    if candidate.city:
        facts.append(escape(truncate(candidate.city, 60)))
    if candidate.birth_year:
        facts.append(t("lookup.born", locale, year=candidate.birth_year))
    if candidate.phone_last_digits:
        facts.append("☎ " + mask_phone(candidate.phone_last_digits))
    if candidate.last_seen:
        facts.append(t("lookup.last_seen", locale, date=format_date(candidate.last_seen, locale)))
    if candidate.matched_on != "name":
        facts.append(t(f"lookup.matched_on.{candidate.matched_on}", locale))
    return trusted(" · ").join(facts)


def candidate_block(candidate: Candidate, locale: str, position: int = 0) -> dict[str, Any]:
    name = escape(truncate(candidate.display_name, 120))
    facts = _facts(candidate, locale)
    return {
        "type": "section",
        "block_id": f"candidate.{position}.{candidate.customer_id}",
        "text": mrkdwn(trusted(f"*{name}*" + (f"\n{facts}" if facts else ""))),
        "accessory": button(t("lookup.open", locale), OPEN_CUSTOMER, str(candidate.customer_id)),
    }


def _quoted(query: str) -> str:
    return escape(truncate(query, 80))


def usage(locale: str) -> tuple[str, list[dict[str, Any]]]:
    text = t("lookup.usage", locale)
    return text, [section(text)]


def searching(query: str, locale: str) -> str:
    """The ack of a lookup that outlasts the ack window: the answer follows through the response_url."""
    return t("lookup.searching", locale, query=_quoted(query))


def result_blocks(result: SearchResult, locale: str) -> tuple[str, list[dict[str, Any]]]:
    """Several candidates or none (one clear match is the card itself, built by handlers.profile)."""
    if result.kind == "empty":
        return usage(locale)
    if result.candidates:
        text = t("lookup.candidates", locale, count=len(result.candidates), query=_quoted(result.query))
        return text, [section(text), *(candidate_block(c, locale, i) for i, c in enumerate(result.candidates[:5]))]
    text = t("lookup.no_match", locale, query=_quoted(result.query))
    blocks: list[dict[str, Any]] = [section(text)]
    if result.suggestions:
        blocks.append(context(t("lookup.suggestions", locale)))
        blocks += [candidate_block(c, locale, i) for i, c in enumerate(result.suggestions[:3])]
    else:
        blocks.append(context(t("lookup.no_suggestion", locale)))
    return text, blocks


def search_modal(locale: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": plain(t("lookup.modal_title", locale), 24),
        "submit": plain(t("lookup.modal_submit", locale), 24),
        "close": plain(t("common.cancel", locale), 24),
        "blocks": [{
            "type": "input",
            "block_id": MODAL_BLOCK,
            "label": plain(t("lookup.modal_label", locale), 2000),
            "hint": plain(t("lookup.modal_hint", locale), 2000),
            "element": {"type": "plain_text_input", "action_id": MODAL_INPUT, "max_length": 200,
                        "focus_on_load": True},
        }],
    }
