"""Numbers as a manager reads them: counts, rates, hours and changes against the previous period."""
from __future__ import annotations

from handlers.i18n import normalise_locale
from handlers.i18n.formats import format_number


def number(value: float | int | None, locale: str, decimals: int = 0) -> str:
    if value is None:
        return "—"
    return format_number(value, locale, decimals)


def percent(rate: float | None, locale: str) -> str:
    if rate is None:
        return "—"
    return number(rate * 100, locale) + ("\u00a0%" if normalise_locale(locale) == "fr" else "%")


def hours(value: float | None, locale: str) -> str:
    if value is None:
        return "—"
    if value >= 48:
        return number(value / 24, locale, 1) + (" j" if normalise_locale(locale) == "fr" else " d")
    return number(value, locale, 1) + " h"


def change(current: float | int | None, previous: float | int | None, locale: str, *, rate: bool = False,
           duration: bool = False) -> str:
    """'▲ +3' / '▼ −12 pts' / '▲ +1,5 j' / '=': the change a reader looks for, '—' when there is nothing to compare.

    `duration`: values are hours, and the change is shown in the same unit as the figure (h or days).
    """
    if current is None or previous is None:
        return "—"
    delta = current - previous
    if rate:
        delta *= 100
    if abs(delta) < 1e-9:
        return "="
    arrow, sign = ("▲", "+") if delta > 0 else ("▼", "−")
    if duration:
        magnitude = hours(abs(delta), locale)
    else:
        magnitude = number(abs(delta), locale, 0 if rate or float(delta).is_integer() else 1)
    return f"{arrow} {sign}{magnitude}{' pts' if rate else ''}"
