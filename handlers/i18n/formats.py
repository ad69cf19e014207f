"""Locale-aware formatting of dates, amounts and phone numbers (French and English).

Dates, numbers and currencies follow CLDR through Babel (the employee's language -> handlers.i18n's
CLDR locale): month and weekday names, the order of day and month, grouping and decimal signs, where the
currency symbol goes and which symbol is unambiguous ("US$" in British English, "$US" in French).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache

import phonenumbers
from babel import dates, numbers

from handlers.i18n import cldr_locale, normalise_locale

# CLDR skeletons: the fields we want, each locale orders and punctuates them ("3 Mar 2026", "3 mars 2026").
_DATE = "yMMMd"
_WEEKDAY_DATE = "yMMMEd"


def format_date(value: dt.date | dt.datetime | None, locale: str) -> str:
    """'3 Mar 2026' / '3 mars 2026': unambiguous in both languages, short enough for a phone."""
    if value is None:
        return "—"
    # The text depends on the day alone (a naive date-time is taken as it is): cards and lists show the same
    # few hundred days over and over, formatted once each.
    return _format_day(value.date() if isinstance(value, dt.datetime) and value.tzinfo is None else value, locale)


@lru_cache(maxsize=8192)
def _format_day(value: dt.date | dt.datetime, locale: str) -> str:
    return dates.format_skeleton(_DATE, value, locale=cldr_locale(locale))


def format_weekday_date(value: dt.date, locale: str) -> str:
    """'Tue, 3 Mar 2026' / 'mar. 3 mars 2026': the date a digest is for."""
    return dates.format_skeleton(_WEEKDAY_DATE, value, locale=cldr_locale(locale))


def format_datetime(value: dt.datetime | None, locale: str) -> str:
    """'3 Mar 2026, 10:00' / '3 mars 2026, 10:00': a local wall-clock time (naive, already converted)."""
    if value is None:
        return "—"
    cldr = cldr_locale(locale)
    time = dates.format_time(value, "short", locale=cldr)
    # CLDR's pattern for gluing a date and a time ("{1}, {0}"), the way Babel's own format_datetime does.
    return str(cldr.datetime_formats["medium"]).replace("{0}", time).replace("{1}", format_date(value, locale))


def format_weekdays(weekdays: Iterable[int], locale: str) -> str:
    """Monday=0 .. Sunday=6 -> 'Monday–Friday' for a run of three days or more, 'Monday, Wednesday'
    otherwise ('lundi–vendredi' in French); '' for no day. Full names: the abbreviations carry a dot in
    French ('lun.') that would clash with the sentence's own full stop."""
    days = sorted(set(weekdays))
    names = cldr_locale(locale).days["stand-alone"]["wide"]
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{names[days[0]]}–{names[days[-1]]}"
    return ", ".join(names[day] for day in days)


def format_money(amount: Decimal | float | int | None, currency: str, locale: str) -> str:
    """'€1,234.50' / '1 234,50 €' (narrow no-break space between thousands, no-break space before the
    symbol in French), always with the currency's own decimals."""
    if amount is None:
        return "—"
    return numbers.format_currency(Decimal(str(amount)), currency, locale=cldr_locale(locale))


def format_number(value: float | int | Decimal, locale: str, decimals: int = 0) -> str:
    """'1,234.5' / '1 234,5' with exactly `decimals` decimals."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return numbers.format_decimal(value, format=pattern, locale=cldr_locale(locale), decimal_quantization=True)


def format_phone(e164: str | None, locale: str) -> str:
    """National format for numbers of the employee's country, international otherwise."""
    if not e164:
        return "—"
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home_region = "FR" if normalise_locale(locale) == "fr" else "GB"
    if phonenumbers.region_code_for_number(number) == home_region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask_phone(e164: str | None) -> str:
    """Last two digits only: enough to tell two customers apart, useless to anyone else."""
    if not e164:
        return "—"
    return "•• •• •• " + e164[-2:]


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return "—"
    local, domain = email.split("@", 1)
    return f"{local[0]}•••@{domain}"
