"""The one catalog of user-facing strings, in English and French.

Each feature keeps its section of the catalog in a module of this package (a dict `MESSAGES` of
key -> {"en": ..., "fr": ...}); `t()` looks a key up in all of them. Keys are namespaced by feature
("lookup.no_match"). A key missing in French falls back to English; a key missing everywhere is a
bug and raises, so tests catch it.
"""
from __future__ import annotations

from functools import cache

from handlers.blockkit import Mrkdwn, trusted
from handlers.i18n import access, common, digest, followups, home, interactions, kpi, lookup, privacy, profile

SUPPORTED = ("en", "fr")
# Each feature's section of the catalog. Add yours here (import it above).
SECTIONS = [common, access, lookup, profile, interactions, followups, home, digest, kpi, privacy]


@cache
def _catalog() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for section in SECTIONS:
        for key, texts in section.MESSAGES.items():
            if key in merged:
                raise KeyError(f"duplicate catalog key {key!r}")
            merged[key] = texts
    return merged


def normalise_locale(locale: str | None, default: str = "en") -> str:
    """Slack locales look like 'fr-FR' or 'en-US'; keep the language when we support it."""
    if locale:
        language = locale.replace("_", "-").split("-")[0].lower()
        if language in SUPPORTED:
            return language
    return default


def t(key: str, locale: str, /, **params: object) -> Mrkdwn:
    """The catalog text in `locale`, its parameters escaped (they are data: names, what was typed)
    unless they are already Mrkdwn (escaped, or markup built by a handler: handlers.blockkit)."""
    texts = _catalog()[key]
    template = trusted(texts.get(normalise_locale(locale)) or texts["en"])
    return template.format(**params) if params else template


def has_key(key: str) -> bool:
    return key in _catalog()
