"""Small shared pieces for building Block Kit: escaping and Slack's length limits.

Customer data is text typed by strangers: it is escaped before it goes into mrkdwn so that a
"name" such as `<!channel>` or `<@U123>` shows as text and never pings anyone.
"""
from __future__ import annotations

from typing import Any

from handlers.payloads import MAX_ROW_ID, parse_id  # noqa: F401 - ids are read in handlers.payloads

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_HEADER_TEXT = 150
MAX_OPTION_TEXT = 75
MAX_FALLBACK_TEXT = 3000


def escape(text: object) -> str:
    """Escape for mrkdwn and plain_text: Slack only gives &, < and > a meaning."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def plain(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(t, MAX_CONTEXT_TEXT) for t in texts[:10]]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str | None = None, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, MAX_BUTTON_TEXT), "action_id": action_id}
    if value is not None:
        element["value"] = value[:2000]
    if style:
        element["style"] = style
    return element


def actions(*elements: dict[str, Any], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "actions", "elements": list(elements[:25])}
    if block_id:
        block["block_id"] = block_id
    return block


def fit_message(blocks: list[dict[str, Any]], overflow_note: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Keep a message under Slack's 50-block limit, ending with a note when something was cut."""
    if len(blocks) <= MAX_BLOCKS_MESSAGE:
        return blocks
    kept = blocks[: MAX_BLOCKS_MESSAGE - (1 if overflow_note else 0)]
    return kept + ([overflow_note] if overflow_note else [])
