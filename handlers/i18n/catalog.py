"""The shape of a catalog entry, shared by every section of handlers.i18n.

An entry maps a language ("en", "fr") to a template, or, for text that depends on a number, to its
plural forms: CLDR plural category ("one", "other", and "many" for French millions) -> template. The
category of a count in a language comes from CLDR (Babel), so "0 suivi" and "0 follow-ups" both come
out right without a rule written here.
"""
from __future__ import annotations

from collections.abc import Mapping

PluralForms = Mapping[str, str]
Entry = Mapping[str, str | PluralForms]
Section = Mapping[str, Entry]
