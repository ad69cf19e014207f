"""The KPI rules, each written once: its constants, its predicate in Python, and the same predicate
as a SQL expression.

store/kpi.py (window functions company-wide, index probes for a scope, per-team counts) and
store/kpi_rollup.py (each interaction's and follow-up's contribution, computed in Python, and the
rollup's own SQL) build every rule from here. The Python predicates are the definitions: the
rollup applies them directly, and tests/store/test_kpi_rules.py checks every SQL path against them,
row by row, on generated data (SQLite and PostgreSQL).

The rules (an interaction is "before" another when it is earlier in (created_at, id) order):
- repeat contact: an interaction with a known customer whose previous interaction (with anyone) is
  at most REPEAT_WINDOW older. first contact: one with a known customer that is not a repeat.
- resolved: outcome "resolved" (first-contact resolution: resolved first contacts / first contacts).
- purchase within 7 days: the customer's first order placed strictly after the interaction, not
  cancelled, is at most PURCHASE_WINDOW later.
- follow-up completed: status done with a completion time (counted on its completion time).
- follow-up overdue as of a moment `as_of` on local day `as_of_date`: created before `as_of`, due
  before `as_of_date`, not cancelled, and still open or completed at `as_of` or later.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import BigInteger, DateTime

from store.models import FollowUp
from store.vocabulary import FollowUpStatus, OrderStatus, Outcome

REPEAT_WINDOW_DAYS = 7
PURCHASE_WINDOW_DAYS = 7
REPEAT_WINDOW = dt.timedelta(days=REPEAT_WINDOW_DAYS)
PURCHASE_WINDOW = dt.timedelta(days=PURCHASE_WINDOW_DAYS)

RESOLVED = Outcome.RESOLVED
CANCELLED_ORDER = OrderStatus.CANCELLED
OPEN, DONE, CANCELLED = FollowUpStatus.OPEN, FollowUpStatus.DONE, FollowUpStatus.CANCELLED

# A column or any SQL expression of the matching type (a mapped attribute, a subquery's column, ...).
SqlTime = ColumnElement[dt.datetime] | InstrumentedAttribute[dt.datetime]
SqlFlag = ColumnElement[Any] | InstrumentedAttribute[Any]


# ---- interactions: Python --------------------------------------------------------------------------

def precedes(earlier: tuple[dt.datetime, int], later: tuple[dt.datetime, int]) -> bool:
    """Whether interaction (created_at, id) `earlier` comes before `later`: ties in time go by id."""
    return earlier < later


def is_repeat_contact(at: dt.datetime, previous_at: dt.datetime | None) -> bool:
    """An interaction at `at` of a known customer whose previous interaction was at `previous_at`."""
    return previous_at is not None and previous_at >= at - REPEAT_WINDOW


def is_first_contact(known_customer: bool, repeat: bool) -> bool:
    return known_customer and not repeat


def order_counts(status: str) -> bool:
    """Whether an order counts as a purchase."""
    return status != CANCELLED_ORDER


def is_bought_after(at: dt.datetime, next_order_at: dt.datetime | None) -> bool:
    """An interaction at `at` whose customer's first counted order strictly after it is at `next_order_at`."""
    return next_order_at is not None and next_order_at <= at + PURCHASE_WINDOW


def is_resolved(outcome: str) -> bool:
    return outcome == RESOLVED


# ---- interactions: SQL -----------------------------------------------------------------------------

class _ShiftDays(FunctionElement[dt.datetime]):
    """`timestamp + N days`, written so that it compares correctly with stored values."""

    type = DateTime()
    inherit_cache = True


@compiles(_ShiftDays)
def _shift_default(element: _ShiftDays, compiler: SQLCompiler, **kw: Any) -> str:
    column, days = list(element.clauses)
    return f"({compiler.process(column, **kw)} + make_interval(days => {compiler.process(days, **kw)}))"


@compiles(_ShiftDays, "sqlite")
def _shift_sqlite(element: _ShiftDays, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'; produce the same shape so the
    # string comparison is a time comparison (precision: milliseconds).
    column, days = list(element.clauses)
    modifier = f"printf('%+d days', {compiler.process(days, **kw)})"
    return f"(strftime('%Y-%m-%d %H:%M:%f', {compiler.process(column, **kw)}, {modifier}) || '000')"


def shift_days(column: SqlTime, days: int) -> ColumnElement[dt.datetime]:
    return _ShiftDays(column, literal(days))


def precedes_sql(earlier_at: SqlTime, earlier_id: SqlFlag, at: SqlTime, id_: SqlFlag) -> ColumnElement[bool]:
    """`precedes((earlier_at, earlier_id), (at, id_))`."""
    return or_(earlier_at < at, and_(earlier_at == at, earlier_id < id_))


def repeat_contact_sql(at: SqlTime, previous_at: SqlTime) -> ColumnElement[bool]:
    """`is_repeat_contact` for a previous interaction at `previous_at` (NULL: none, so false)."""
    return previous_at >= shift_days(at, -REPEAT_WINDOW_DAYS)


def first_contact_sql(known_customer: ColumnElement[bool], repeat_flag: SqlFlag) -> ColumnElement[bool]:
    """`is_first_contact`, the repeat flag being 0 or 1."""
    return and_(known_customer, repeat_flag == 0)


def order_counts_sql(status: SqlFlag) -> ColumnElement[bool]:
    return status != CANCELLED_ORDER


def bought_after_sql(at: SqlTime, next_order_at: SqlTime) -> ColumnElement[bool]:
    """`is_bought_after`, given the first counted order after `at` (NULL: none, so false).

    Also true of any counted order in (at, next_order_at]: the probes ask whether one exists."""
    return next_order_at <= shift_days(at, PURCHASE_WINDOW_DAYS)


def resolved_sql(outcome: SqlFlag) -> ColumnElement[bool]:
    return outcome == RESOLVED


# ---- follow-ups ------------------------------------------------------------------------------------

def is_completed(status: str, completed_at: dt.datetime | None) -> bool:
    return status == DONE and completed_at is not None


def is_overdue(status: str, created_at: dt.datetime, completed_at: dt.datetime | None, due_date: dt.date, *,
               as_of: dt.datetime, as_of_date: dt.date) -> bool:
    """Overdue as of the moment `as_of` (naive UTC), on local day `as_of_date`."""
    if status == CANCELLED or created_at >= as_of or due_date >= as_of_date:
        return False
    return status == OPEN or (completed_at is not None and completed_at >= as_of)


def completed_sql() -> ColumnElement[bool]:
    """`is_completed`, with the period's bounds on completed_at (so a NULL one never matches)."""
    return FollowUp.status == DONE


def overdue_open_sql(as_of: dt.datetime, as_of_date: dt.date) -> tuple[ColumnElement[bool], ...]:
    """`is_overdue`, first half: still open (index-friendly on its own)."""
    return FollowUp.status == OPEN, FollowUp.due_date < as_of_date, FollowUp.created_at < as_of


def overdue_closed_later_sql(as_of: SqlTime | dt.datetime, as_of_date: dt.date) -> tuple[ColumnElement[bool], ...]:
    """`is_overdue`, second half: closed (not cancelled) at `as_of` or later."""
    return (FollowUp.status != CANCELLED, FollowUp.status != OPEN, FollowUp.completed_at >= as_of,
            FollowUp.due_date < as_of_date, FollowUp.created_at < as_of)


def overdue_sql(as_of: dt.datetime, as_of_date: dt.date) -> ColumnElement[bool]:
    """`is_overdue` in one expression (both halves)."""
    return or_(and_(*overdue_open_sql(as_of, as_of_date)), and_(*overdue_closed_later_sql(as_of, as_of_date)))


class _Microseconds(FunctionElement[int]):
    """`later - earlier` in whole microseconds, computed by the database: a year of completed
    follow-ups is ~10^6 rows, and fetching two timestamps each to subtract them here took seconds."""

    type = BigInteger()
    inherit_cache = True


@compiles(_Microseconds)
def _microseconds_default(element: _Microseconds, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) * 1000000 AS BIGINT)"


@compiles(_Microseconds, "sqlite")
def _microseconds_sqlite(element: _Microseconds, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds from strftime, microseconds from the text.
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return (f"((CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER)) * 1000000"
            f" + CAST(substr({later}, 21, 6) AS INTEGER) - CAST(substr({earlier}, 21, 6) AS INTEGER))")


def microseconds_between(later: dt.datetime, earlier: dt.datetime) -> int:
    """A completion time: `later - earlier` in whole microseconds (what `completion_time_sql` computes)."""
    delta = later - earlier
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def completion_time_sql() -> ColumnElement[int]:
    return _Microseconds(FollowUp.completed_at, FollowUp.created_at)


def median_hours(microseconds: Sequence[int]) -> float | None:
    """Median time to complete, in hours, of completion times in microseconds (None: nothing completed)."""
    return statistics.median(microseconds) / 3_600_000_000 if microseconds else None
