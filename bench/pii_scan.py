"""Search captured logs for a customer's personal data in every encoding it could have travelled in.

A value typed in Slack reaches the server URL-encoded in a form body (spaces as "+"), percent-encoded
in JSON inside `payload=`, JSON-escaped, and could be re-encoded by whatever logs it. A scan for the plain
text alone would miss `jean.dupont%40orange.example`; this one looks for each of these forms, and for
the phone's digits whatever separates them.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus


def encoded_forms(value: str) -> set[str]:
    """`value` as plain text and as each encoding a request or a log could give it, case folded."""
    forms = {value, quote(value, safe=""), quote_plus(value), quote(quote(value, safe=""), safe=""),
             quote_plus(quote_plus(value)), json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             html.escape(value), value.replace("@", "&#64;"), value.replace("@", "\\u0040")}
    return {form.casefold() for form in forms if form}


def phone_pattern(phone: str) -> re.Pattern:
    """The phone's national digits (the last nine) with any separators or encodings between them."""
    digits = re.sub(r"\D", "", phone)[-9:]
    separator = r"(?:[^0-9a-z%]|%[0-9a-f]{2}){0,6}"  # spaces, dots, "+", "%20"...
    return re.compile(separator.join(digits), re.IGNORECASE)


@dataclass(frozen=True)
class Leak:
    value: str
    line: str


def find_leaks(log_text: str, values: list[str], phones: list[str] = ()) -> list[Leak]:
    """Every log line holding one of `values` (names, e-mails, streets) in any encoding, as a whole word
    (so a name "Roy" does not match "destroy"), or one of `phones` whatever separates its digits."""
    leaks = []
    forms = {form: value for value in values for form in encoded_forms(value)}
    words = None
    if forms:
        alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
        words = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    patterns = [(phone, phone_pattern(phone)) for phone in phones]
    for line in log_text.splitlines():
        if words is not None and (found := words.search(line.casefold())):
            leaks.append(Leak(forms.get(found.group(), found.group()), line[:300]))
        for phone, pattern in patterns:
            if pattern.search(line):
                leaks.append(Leak(phone, line[:300]))
    return leaks
