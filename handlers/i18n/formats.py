"""Locale-aware formatting of dates, amounts and phone numbers (French and English)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import phonenumbers

from handlers.i18n import normalise_locale

_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
}
_CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF"}


def format_date(value: dt.date | dt.datetime | None, locale: str) -> str:
    """'3 Mar 2026' / '3 mars 2026': unambiguous in both languages, short enough for a phone."""
    if value is None:
        return "—"
    months = _MONTHS[normalise_locale(locale)]
    return f"{value.day} {months[value.month - 1]} {value.year}"


def format_datetime(value: dt.datetime | None, locale: str) -> str:
    if value is None:
        return "—"
    return f"{format_date(value, locale)} {value:%H:%M}"


def format_money(amount: Decimal | float | int | None, currency: str, locale: str) -> str:
    if amount is None:
        return "—"
    quantised = Decimal(str(amount)).quantize(Decimal("0.01"))
    whole, cents = f"{abs(quantised):.2f}".split(".")
    groups = f"{int(whole):,}"
    symbol = _CURRENCY_SYMBOLS.get(currency, currency)
    sign = "-" if quantised < 0 else ""
    if normalise_locale(locale) == "fr":
        # French: narrow no-break space between thousands, comma decimals, symbol after.
        french_groups = groups.replace(",", "\u202f")
        return f"{sign}{french_groups},{cents}\u00a0{symbol}"
    return f"{sign}{symbol}{groups}.{cents}" if len(symbol) == 1 else f"{sign}{groups}.{cents} {symbol}"


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
