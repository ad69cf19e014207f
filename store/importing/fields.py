"""Reading typed values out of an import row. Every failure raises RowRejected with a reason a person
can act on. Reasons never repeat the value itself: names, e-mails, phones and birth dates are
personal data, and import output ends up in terminals, CI logs and tickets."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, overload

from store.clock import to_utc
from store.importing.readers import ROW_ERROR


class RowRejected(ValueError):
    """This row cannot be imported; the message is the reason."""


def check_readable(row: dict[str, Any]) -> None:
    if ROW_ERROR in row:
        raise RowRejected(row[ROW_ERROR])


def text(row: dict[str, Any], name: str, max_length: int, *, required: bool = False) -> str | None:
    value = row.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RowRejected(f"{name} must be text")
    value = value.strip()
    if not value:
        if required:
            raise RowRejected(f"missing {name}")
        return None
    if len(value) > max_length:
        raise RowRejected(f"{name} is longer than {max_length} characters")
    return value


def required_text(row: dict[str, Any], name: str, max_length: int) -> str:
    value = text(row, name, max_length, required=True)
    assert value is not None
    return value


def choice(row: dict[str, Any], name: str, allowed: Collection[str], *, default: str | None = None) -> str:
    value = text(row, name, 64)
    if value is None:
        if default is None:
            raise RowRejected(f"missing {name} (one of {', '.join(allowed)})")
        return default
    value = value.lower()
    if value not in allowed:
        # Enumerated values are not personal data: echoing them shows the typo.
        raise RowRejected(f"unknown {name} {value!r} (one of {', '.join(allowed)})")
    return value


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def date_value(row: dict[str, Any], name: str, *, required: bool = False) -> dt.date | None:
    value = text(row, name, 10 if name == "birth_date" else 40, required=required)
    if value is None:
        return None
    if not _DATE.fullmatch(value):
        raise RowRejected(f"{name} is not a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RowRejected(f"{name} is not a real date") from None


@overload
def datetime_value(row: dict[str, Any], name: str, *, required: Literal[True]) -> dt.datetime: ...
@overload
def datetime_value(row: dict[str, Any], name: str, *, required: bool = False) -> dt.datetime | None: ...
def datetime_value(row: dict[str, Any], name: str, *, required: bool = False) -> dt.datetime | None:
    """ISO 8601 date or date-time; with an offset it is converted to UTC, without one it is UTC."""
    value = text(row, name, 40, required=required)
    if value is None:
        return None
    try:
        if _DATE.fullmatch(value):
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RowRejected(f"{name} is not an ISO 8601 date-time (e.g. 2024-03-01T14:30:00Z)") from None
    if parsed.tzinfo is not None:
        parsed = to_utc(parsed)
    return parsed


_CENT = Decimal("0.01")


@overload
def money(row: dict[str, Any], name: str, *, required: Literal[True]) -> Decimal: ...
@overload
def money(row: dict[str, Any], name: str, *, required: bool = False) -> Decimal | None: ...
def money(row: dict[str, Any], name: str, *, required: bool = False) -> Decimal | None:
    value = text(row, name, 20, required=required)
    if value is None:
        return None
    try:
        # Accept the decimal comma of French spreadsheets.
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise RowRejected(f"{name} is not a number") from None
    if not amount.is_finite() or amount.copy_abs() >= Decimal("1e10"):
        raise RowRejected(f"{name} is out of range")
    return amount.quantize(_CENT)


def count(row: dict[str, Any], name: str, *, default: int) -> int:
    value = text(row, name, 9)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise RowRejected(f"{name} must be a whole number of at least 1")
    return int(value)


_TRUE = {"true", "yes", "y", "1", "oui", "o"}
_FALSE = {"false", "no", "n", "0", "non"}


def flag(row: dict[str, Any], name: str) -> bool:
    value = text(row, name, 5, required=True)
    assert value is not None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise RowRejected(f"{name} must be true or false")


def currency(row: dict[str, Any], name: str = "currency") -> str:
    value = text(row, name, 3)
    if value is None:
        return "EUR"
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise RowRejected(f"{name} must be a 3-letter ISO code such as EUR")
    return value.upper()
