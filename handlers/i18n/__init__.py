"""The one catalog of user-facing strings, in English and French.

Each feature keeps its section of the catalog in a module of this package (a dict `MESSAGES` of
key -> {"en": ..., "fr": ...}); `t()` looks a key up in all of them. Keys are namespaced by feature
("lookup.no_match"). A key missing in French falls back to English; a key missing everywhere is a
bug and raises, so tests catch it. Text that depends on a number has plural forms (handlers.i18n.catalog)
and is asked for with `count=`: CLDR's plural rules (Babel) pick the form for the employee's language.
"""
from __future__ import annotations

from functools import cache, lru_cache

from babel import Locale

from handlers.blockkit import Mrkdwn, trusted
from handlers.i18n import access, common, conversation, digest, followups, home, interactions, kpi, live, lookup, privacy, profile, review
from handlers.i18n.catalog import Entry, PluralForms

SUPPORTED = ("en", "fr")
# The CLDR locale behind each supported language: dates, numbers, currencies and plural rules. British
# English, like the catalog's spelling and the phone numbers' home region (handlers.i18n.formats).
CLDR_LOCALES = {"en": "en_GB", "fr": "fr_FR"}
# Each feature's section of the catalog. Add yours here (import it above).
SECTIONS = [common, access, lookup, profile, interactions, followups, home, digest, kpi, privacy, review, live, conversation]


@cache
def _catalog() -> dict[str, Entry]:
    merged: dict[str, Entry] = {}
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


@cache
def cldr_locale(locale: str | None) -> Locale:
    """Babel's locale for an employee's Slack locale (English when we don't support theirs)."""
    return Locale.parse(CLDR_LOCALES[normalise_locale(locale)])


def t(key: str, locale: str, /, **params: object) -> Mrkdwn:
    """The catalog text in `locale`, its parameters escaped (they are data: names, what was typed)
    unless they are already Mrkdwn (escaped, or markup built by a handler: handlers.blockkit).

    An entry with plural forms needs `count` (an int): its CLDR category in the language picks the
    form, "other" when the entry has no form for that category (French "many")."""
    if not params:
        return _text(key, locale)
    return _lookup(key, locale, params)


# A card asks for twenty-odd labels on every lookup, most with no parameter: the same few hundred keys in a
# handful of languages, looked up and normalised once (Mrkdwn is an immutable str: one object serves all).
@lru_cache(maxsize=4096)
def _text(key: str, locale: str) -> Mrkdwn:
    return _lookup(key, locale, {})


def _lookup(key: str, locale: str, params: dict[str, object]) -> Mrkdwn:
    texts = _catalog()[key]
    language = normalise_locale(locale)
    text = texts.get(language) or texts["en"]
    if not isinstance(text, str):
        text = _plural(text, language, key, params.get("count"))
    template = trusted(text)
    return template.format(**params) if params else template


def _plural(forms: PluralForms, language: str, key: str, count: object) -> str:
    if not isinstance(count, int) or isinstance(count, bool):
        raise TypeError(f"catalog key {key!r} has plural forms: pass count= as an int")
    category = cldr_locale(language).plural_form(abs(count))
    return forms.get(category) or forms["other"]


def has_key(key: str) -> bool:
    return key in _catalog()
