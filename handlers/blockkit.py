"""Small shared pieces for building Block Kit: escaping and Slack's length limits.

Escaping is the default. Text that came from a person or a file (a customer's or an employee's name,
a store or team name, a note, whatever was typed after a command) is data: `<!channel>` or
`<https://evil.example|x>` in it must show as text and never ping or link. So every builder here
(`section`, `header`, `context`, `mrkdwn`, `plain`, `button`) and every catalog string's parameters
(handlers.i18n.t) escape what they are given, unless it is `Mrkdwn`: text already safe, because it was
escaped (`escape` returns Mrkdwn) or because it is markup we wrote (`trusted`, the explicit opt-out,
for a composition whose data parts were escaped). Forgetting to escape now fails safe: the worst a
missed `trusted` does is show `&amp;lt;` to the reader, never a ping.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, overload

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_HEADER_TEXT = 150
MAX_OPTION_TEXT = 75
MAX_FALLBACK_TEXT = 3000


class Mrkdwn(str):
    """Text safe to hand to Slack as is (escaped data or our own markup). Concatenating or joining
    keeps it safe: the other parts are escaped unless they are Mrkdwn too."""

    __slots__ = ()

    def __add__(self, other: str) -> Mrkdwn:
        return Mrkdwn(str.__add__(self, escape(other)))

    def __radd__(self, other: str) -> Mrkdwn:
        return Mrkdwn(str.__add__(escape(other), self))

    def join(self, parts: Iterable[object]) -> Mrkdwn:
        return Mrkdwn(str.join(self, (escape(part) for part in parts)))

    def format(self, *args: object, **kwargs: object) -> Mrkdwn:
        return Mrkdwn(str.format(self, *map(_parameter, args), **{k: _parameter(v) for k, v in kwargs.items()}))


def escape(text: object) -> Mrkdwn:
    """Escape for mrkdwn and plain_text: Slack only gives &, < and > a meaning. Escaping is done once:
    text that is already Mrkdwn is returned as it is."""
    if isinstance(text, Mrkdwn):
        return text
    return Mrkdwn(str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def trusted(markup: str) -> Mrkdwn:
    """The opt-out: `markup` is ours (static text, or composed only of escaped parts), send it as is."""
    return Mrkdwn(markup)


def unescape(text: str) -> str:
    """Back to the characters, for text that does not go to Slack (the chart's title drawn in a PNG)."""
    return str(text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _parameter(value: object) -> object:
    """A catalog parameter: numbers are formatted by the template, everything else is escaped text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return escape(value)


_CUT_ENTITY = re.compile(r"&[a-z]{0,3}$")


@overload
def truncate(text: Mrkdwn, limit: int) -> Mrkdwn: ...
@overload
def truncate(text: str, limit: int) -> str: ...
def truncate(text: str, limit: int) -> str:
    """At most `limit` characters. Escaped text stays escaped: an entity is never cut in half."""
    if len(text) <= limit:
        return text
    cut = str.__getitem__(text, slice(0, max(limit - 1, 0)))
    if isinstance(text, Mrkdwn):
        return Mrkdwn(_CUT_ENTITY.sub("", cut) + "…")
    return cut + "…"


def safe_text(text: object, limit: int) -> Mrkdwn:
    """What every builder sends: escaped unless already Mrkdwn, then cut to Slack's limit."""
    return truncate(escape(text), limit)


def plain(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": safe_text(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": safe_text(text, limit)}


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
