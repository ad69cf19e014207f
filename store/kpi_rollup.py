"""The daily KPI rollup: company-wide /kpi from a few thousand summed rows instead of millions.

A company month is ~10^6 interactions, and its flags (repeat contact, purchase within 7 days) need
each customer's neighbouring interactions and orders: computed from the raw rows that takes seconds.
So each interaction's contribution is computed once, when it (or its customer) changes, and summed
per local day into `kpi_daily`, company-wide and per employee, channel and type, per store and team
(the store and team recorded on the interaction, as the /kpi scopes count them), and per employee,
channel and type inside each store: every company, store and team report reads a few thousand rows.

How it stays exact:
- One entry point, `refresh`, is called by every write path after it changed interactions, orders
  or which customer they belong to (logging, imports, merge and unmerge). It recomputes the facts of
  every interaction of the customers concerned, compares them with what was last added
  (`interaction_kpi_facts`) and adds only the difference to the rollup, in the same transaction.
- Customers are locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite has one writer) while their facts
  are recomputed, so two processes logging for the same customer cannot both miss each other.
- `verify` recomputes everything and compares; `frontline kpi check` runs it, tests run it after
  every kind of change.
- Days are local days in the rollup's time zone (FRONTLINE_TIMEZONE when it was built). A /kpi
  whose local midnights differ (a viewer elsewhere) is computed from the raw rows: right, slower.

Company-wide follow-up figures have their own part (created, completed, overdue, median time to
complete), kept the same way by `refresh_follow_ups`: see "follow-ups" below.

Distinct customers do not add up across days, so each day is split by `gap`: days since the
customer's previous interaction in the same group. A customer is counted in a period [S, E) at the
one interaction whose previous one is before S, i.e. gap > day - S.
"""
from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from enum import StrEnum
from typing import Any, Literal, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Row,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    join,
    literal,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import Select, Subquery

from store import kpi_rules
from store.clock import local_day, utc_now
from store.dialect import insert_for
from store.kpi_query import MAX_PERIOD_DAYS
from store.models import (
    Base,
    Customer,
    FollowUp,
    FollowUpKpiFact,
    Interaction,
    InteractionKpiFact,
    KpiDaily,
    KpiFollowUpDaily,
    KpiFollowUpDuration,
    KpiRollupState,
    Order,
)

NO_CUSTOMER = -1  # gap of an interaction without a known customer: never counted as a customer
NO_EARLIER = MAX_PERIOD_DAYS + 1  # no earlier interaction that any period could start after
COUNTS = ("interactions", "first_contacts", "resolved_first_contacts", "repeat_contacts", "purchases", "resolved")
_CUSTOMER_CHUNK = 1000
_INSERT_CHUNK = 5000

T = TypeVar("T")
AnyRow = Row[*tuple[Any, ...]]  # a result row, whatever its columns
AnySelect = Select[*tuple[Any, ...]]
Key = tuple[str, int, str, int]  # dimension, day, key, gap


class Dimension(StrEnum):
    """What kpi_daily's rows are split by (its `dimension` column, at most 8 characters): the company, a
    /kpi grouping but days, a store or a team (key: its id), a store's /kpi grouping (key: "<store id>/<group>"),
    and the employee grouping again per week (`EMPLOYEE_WEEK`, see `week_gap`) and for short periods
    (`EMPLOYEE_WEEK_NEAR`, `EMPLOYEE_TO_DAY`, `EMPLOYEE_FROM_DAY`, see "short periods")."""

    ALL = "all"
    EMPLOYEE = "employee"
    CHANNEL = "channel"
    TYPE = "type"
    STORE = "store"
    TEAM = "team"
    STORE_EMPLOYEE = "st_empl"
    STORE_CHANNEL = "st_chan"
    STORE_TYPE = "st_type"
    EMPLOYEE_WEEK = "empl_wk"
    # Short periods' employee rows (see "short periods" below).
    EMPLOYEE_WEEK_NEAR = "empl_wn"
    EMPLOYEE_TO_DAY = "empl_to"
    EMPLOYEE_FROM_DAY = "empl_fr"


# A store's groups: the company-wide grouping's dimension -> the same grouping inside one store.
IN_STORE = {Dimension.EMPLOYEE: Dimension.STORE_EMPLOYEE, Dimension.CHANNEL: Dimension.STORE_CHANNEL,
            Dimension.TYPE: Dimension.STORE_TYPE}
STORE_DIGITS = 10  # any positive 32-bit id


def store_key(store_id: int, group: object) -> str:
    """kpi_daily's key of a group inside a store (`_store_key_sql` builds the same text in SQL).

    The store id is zero-padded so that a store's keys are exactly those from its padded id up to the
    next one's, whatever the database's collation does with the "/" (some ignore punctuation)."""
    return f"{_padded(store_id)}/{group}"


def _padded(store_id: int) -> str:
    return f"{store_id:0{STORE_DIGITS}d}"


def _store_key_sql(store_id: InstrumentedAttribute[Any], group: InstrumentedAttribute[Any]) -> ColumnElement[str]:
    # The last STORE_DIGITS characters of zeros + id: substr and length mean the same on both databases.
    padded = literal("0" * STORE_DIGITS) + cast(store_id, String)
    return func.substr(padded, func.length(padded) - (STORE_DIGITS - 1), type_=String) + "/" + cast(group, String)

# ---- weeks -------------------------------------------------------------------------------------
#
# A company-wide breakdown by employee summed ~10,000 day rows per day of the period (5,000 people
# with ~5 interactions a day, most of them rows of their own: the customers' gaps differ): 0.3 s for
# a month on PostgreSQL at 10M interactions, 4 s for a year. So the employee rows are kept per week
# too (EMPLOYEE_WEEK: `day` is the week's Monday, an ordinal), and a period reads its whole weeks
# there and only the days at its ends per day. A week row's `gap` is `week_gap`: counted as a
# customer in a period starting on day S exactly when `gap > day - S`, the same test as a day row's,
# so both kinds of row sum with one expression. Week rows fold what does not depend on the period's
# start (no customer or a repeat within the week: never counted; no earlier contact in a year: always)
# into one row per person; only contacts whose previous one is a few days or weeks earlier keep rows
# of their own (~3 in 10 day rows at 10M).

WEEK_DAYS = 7


def week_start(day: int) -> int:
    """The Monday (an ordinal) of the week of `day` (ordinal 1, 1 January of year 1, is a Monday)."""
    return day - (day - 1) % WEEK_DAYS


def week_gap(day: int, gap: int) -> int:
    """A day row's `gap` seen from its week's Monday W: days from the previous contact to W, clipped to
    0 (never counted) and NO_EARLIER (always). `gap > day - S` <=> `week_gap > W - S` for any S <= W."""
    if gap >= NO_EARLIER:
        return NO_EARLIER
    return max(gap - (day - week_start(day)), 0)


def _week_start_sql(day: InstrumentedAttribute[int]) -> ColumnElement[int]:
    return day - (day - 1) % WEEK_DAYS


def _week_gap_sql(day: InstrumentedAttribute[int], gap: InstrumentedAttribute[int]) -> ColumnElement[int]:
    """`week_gap` in SQL (CASE, not max/greatest: the same on both databases)."""
    before = gap - (day - 1) % WEEK_DAYS
    return case((gap >= NO_EARLIER, literal(NO_EARLIER)), (before > 0, before), else_=literal(0))


# ---- short periods -----------------------------------------------------------------------------
#
# Week rows still left a month's breakdown by employee at 110-190k rows at 10M interactions (~4 rows per
# person and week, plus ~2 per person and day for the days at the period's ends), and over two weeks to
# a month those decided the "all" /kpi p95. Three more kinds of employee row serve periods of at most
# NEAR_DAYS + 1 days (a month, the last 30 days, a week):
# - EMPLOYEE_WEEK_NEAR: the week rows with their gap clipped by `near_gap`. A period that short starts
#   at most NEAR_DAYS days before any of its weeks, so a customer last seen more than NEAR_DAYS days
#   before the Monday always counts and those contacts fold into the always-counted row: ~2 rows per
#   person and week instead of ~4 (the gaps of a year's repeat contacts are mostly different).
# - EMPLOYEE_TO_DAY: the same for the days of a week up to a Monday-to-Saturday day D (`day` = D), the
#   end of a period that stops in the middle of a week: one row set instead of up to 6 days of rows.
# - EMPLOYEE_FROM_DAY: a week from a Tuesday-to-Sunday day S to its end (`day` = S), the start of a
#   period that starts in the middle of a week. Such a row is only read by a period starting on S, so
#   whether a contact counts as a customer is known when it is written: gap 1 counts, gap 0 does not.
# A row read for a period starting on day `start` counts its interactions as customers when its gap
# exceeds its `threshold` (`_Span`): `day - start` for day and week rows, `monday - start` for a
# to-day row, 0 for a from-day row.

NEAR_DAYS = 41  # the longest period served by near rows is NEAR_DAYS + 1 days (six weeks)


def near_gap(gap: int) -> int:
    """A gap as near rows keep it: never counted (<= 0) -> 0, 1..NEAR_DAYS kept, longer ones -> NEAR_DAYS + 1.
    `gap > t` <=> `near_gap(gap) > t` for every 0 <= t <= NEAR_DAYS."""
    return 0 if gap <= 0 else min(gap, NEAR_DAYS + 1)


def _near_gap_sql(gap: ColumnElement[int]) -> ColumnElement[int]:
    return case((gap <= 0, literal(0)), (gap > NEAR_DAYS, literal(NEAR_DAYS + 1)), else_=gap)


def from_day_gap(day: int, gap: int, start: int) -> int:
    """The gap of a contact on `day` in the from-day row of `start` (<= day): 1 when it counts as a
    customer of a period starting on `start` (its previous contact is earlier, or there is none), else 0."""
    return int(gap > day - start)


class _Span(NamedTuple):
    """One index range of kpi_daily rows read for a period starting on `start`: days [first, stop) of
    `dimension`; a row counts its interactions as customers when gap > its threshold, which is
    `anchor - start` (to-day and from-day rows) or, when anchor is None, `day - start`."""

    dimension: Dimension
    first: int
    stop: int
    anchor: int | None = None


def _spans(dimension: Dimension, start: int, end: int) -> list[_Span]:
    """The rollup rows that hold days [start, end) (ordinals) of `dimension`.

    Employee rows: short periods from near rows (see "short periods"); longer ones from the days before
    the first whole week, the whole weeks (week rows) and the days after."""
    if dimension != Dimension.EMPLOYEE:
        return [_Span(dimension, start, end)]
    first_week = week_start(start + WEEK_DAYS - 1)  # the first Monday on or after start
    weeks_end = week_start(end)  # the Monday ending the last whole week
    if end - 1 - start <= NEAR_DAYS and (start == first_week or end >= first_week):
        spans = []
        if start < first_week:  # from a Tuesday-to-Sunday to the week's end
            spans.append(_Span(Dimension.EMPLOYEE_FROM_DAY, start, start + 1, anchor=start))
        if first_week < weeks_end:
            spans.append(_Span(Dimension.EMPLOYEE_WEEK_NEAR, first_week, weeks_end))
        if weeks_end < end:  # from a Monday to a Monday-to-Saturday
            spans.append(_Span(Dimension.EMPLOYEE_TO_DAY, end - 1, end, anchor=weeks_end))
        return spans
    if weeks_end <= first_week:
        return [_Span(dimension, start, end)]
    spans = [_Span(Dimension.EMPLOYEE_WEEK, first_week, weeks_end)]
    if start < first_week:
        spans.insert(0, _Span(dimension, start, first_week))
    if weeks_end < end:
        spans.append(_Span(dimension, weeks_end, end))
    return spans


Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Fact:
    """What one interaction adds to the rollup (the columns of interaction_kpi_facts)."""

    day: int
    employee_id: int
    channel: str
    type: str
    resolved: int
    repeat_contact: int
    purchase: int
    gap_all: int
    gap_employee: int
    gap_channel: int
    gap_type: int
    # The store and team recorded on the interaction (the /kpi store and team scopes), and the gaps
    # in their groups; NO_CUSTOMER when the interaction has no customer, or no store / team.
    store_id: int | None
    team_id: int | None
    gap_store: int
    gap_team: int
    gap_store_employee: int
    gap_store_channel: int
    gap_store_type: int

    @classmethod
    def stored(cls, values: Sequence[Any]) -> Fact:
        """A fact read back: interaction_kpi_facts' FACT_COLUMNS, in that order (unpacked by name, not
        through the row's attributes, which costs twice as much for the millions `verify` reads)."""
        (day, employee_id, channel, type_, resolved, repeat_contact, purchase,
         gap_all, gap_employee, gap_channel, gap_type, store_id, team_id,
         gap_store, gap_team, gap_store_employee, gap_store_channel, gap_store_type) = values
        return cls(day=day, employee_id=employee_id, channel=channel, type=type_, resolved=resolved,
                   repeat_contact=repeat_contact, purchase=purchase, gap_all=gap_all, gap_employee=gap_employee,
                   gap_channel=gap_channel, gap_type=gap_type, store_id=store_id, team_id=team_id,
                   gap_store=gap_store, gap_team=gap_team, gap_store_employee=gap_store_employee,
                   gap_store_channel=gap_store_channel, gap_store_type=gap_store_type)

    def contributions(self) -> Iterator[tuple[Key, tuple[int, ...]]]:
        first = int(kpi_rules.is_first_contact(self.gap_all != NO_CUSTOMER, bool(self.repeat_contact)))
        counts = (1, first, first * self.resolved, self.repeat_contact, self.purchase, self.resolved)
        yield (Dimension.ALL, self.day, "", self.gap_all), counts
        yield (Dimension.EMPLOYEE, self.day, str(self.employee_id), self.gap_employee), counts
        employee, monday, in_week = str(self.employee_id), week_start(self.day), week_gap(self.day, self.gap_employee)
        yield (Dimension.EMPLOYEE_WEEK, monday, employee, in_week), counts
        yield (Dimension.EMPLOYEE_WEEK_NEAR, monday, employee, near_gap(in_week)), counts
        for last in range(self.day, monday + WEEK_DAYS - 1):  # weeks to a Monday-to-Saturday
            yield (Dimension.EMPLOYEE_TO_DAY, last, employee, near_gap(in_week)), counts
        for first in range(monday + 1, self.day + 1):  # weeks from a Tuesday-to-Sunday
            yield (Dimension.EMPLOYEE_FROM_DAY, first, employee, from_day_gap(self.day, self.gap_employee, first)), counts
        yield (Dimension.CHANNEL, self.day, self.channel, self.gap_channel), counts
        yield (Dimension.TYPE, self.day, self.type, self.gap_type), counts
        if self.store_id is not None:
            yield (Dimension.STORE, self.day, str(self.store_id), self.gap_store), counts
            yield (Dimension.STORE_EMPLOYEE, self.day, store_key(self.store_id, self.employee_id),
                   self.gap_store_employee), counts
            yield (Dimension.STORE_CHANNEL, self.day, store_key(self.store_id, self.channel), self.gap_store_channel), counts
            yield (Dimension.STORE_TYPE, self.day, store_key(self.store_id, self.type), self.gap_store_type), counts
        if self.team_id is not None:
            yield (Dimension.TEAM, self.day, str(self.team_id), self.gap_team), counts


FACT_COLUMNS = tuple(f.name for f in fields(Fact))


def day_number(moment: dt.datetime, tz: ZoneInfo) -> int:
    """The local date of a naive-UTC moment, as an ordinal (date.toordinal)."""
    return local_day(moment, tz).toordinal()


# ---- state -------------------------------------------------------------------------------------

def rollup_zone(session: Session) -> ZoneInfo | None:
    """The rollup's time zone, or None when there is no rollup (KPIs then come from the raw rows)."""
    name = session.scalar(select(KpiRollupState.timezone).where(KpiRollupState.id == 1))
    return ZoneInfo(name) if name else None


def covers(zone: ZoneInfo | None, tz: ZoneInfo, first_day: dt.date, end_day: dt.date) -> bool:
    """Whether local days [first_day, end_day) in `tz` start at the same instants as in the rollup's zone."""
    if zone is None:
        return False
    if zone.key == tz.key:
        return True
    day = first_day
    while day <= end_day:
        midnight = dt.datetime.combine(day, dt.time(0))
        if midnight.replace(tzinfo=tz).utcoffset() != midnight.replace(tzinfo=zone).utcoffset():
            return False
        day += dt.timedelta(days=1)
    return True


# ---- facts -------------------------------------------------------------------------------------

def _customer_facts(rows: Sequence[AnyRow], order_times: list[dt.datetime], tz: ZoneInfo) -> dict[int, Fact]:
    """Facts of one customer's interactions, `rows` in (created_at, id) order (`kpi_rules.precedes`),
    `order_times` the customer's counted orders, sorted: the rules of store/kpi_rules.py applied to each
    interaction's previous interaction and first order strictly after it."""
    facts: dict[int, Fact] = {}
    previous_at: dt.datetime | None = None
    last_day: dict[tuple[int, object], int] = {}
    for row in rows:
        day = day_number(row.created_at, tz)
        repeat = kpi_rules.is_repeat_contact(row.created_at, previous_at)
        after = bisect.bisect_right(order_times, row.created_at)
        bought = kpi_rules.is_bought_after(row.created_at, order_times[after] if after < len(order_times) else None)
        store, team = row.store_id, row.team_id
        groups: tuple[tuple[int, object], ...] = (
            (0, None), (1, row.employee_id), (2, row.channel), (3, row.type),
            (4, store), (5, team), (6, (store, row.employee_id)), (7, (store, row.channel)), (8, (store, row.type)))
        gaps = []
        for group in groups:
            seen = last_day.get(group)
            gaps.append(NO_EARLIER if seen is None else min(day - seen, NO_EARLIER))
            last_day[group] = day
        # Without a store (or team) recorded, the interaction is in no store's (team's) group.
        in_store, in_team = store is not None, team is not None
        facts[row.id] = Fact(day=day, employee_id=row.employee_id, channel=row.channel, type=row.type,
                             resolved=int(kpi_rules.is_resolved(row.outcome)), repeat_contact=int(repeat),
                             purchase=int(bought), gap_all=gaps[0], gap_employee=gaps[1], gap_channel=gaps[2],
                             gap_type=gaps[3], store_id=store, team_id=team,
                             gap_store=gaps[4] if in_store else NO_CUSTOMER, gap_team=gaps[5] if in_team else NO_CUSTOMER,
                             gap_store_employee=gaps[6] if in_store else NO_CUSTOMER,
                             gap_store_channel=gaps[7] if in_store else NO_CUSTOMER,
                             gap_store_type=gaps[8] if in_store else NO_CUSTOMER)
        previous_at = row.created_at
    return facts


def _loose_fact(row: AnyRow, tz: ZoneInfo) -> Fact:
    """An interaction without a known customer: counted, never as a customer, contact or purchase."""
    return Fact(day=day_number(row.created_at, tz), employee_id=row.employee_id, channel=row.channel, type=row.type,
                resolved=int(kpi_rules.is_resolved(row.outcome)), repeat_contact=0, purchase=0, gap_all=NO_CUSTOMER,
                gap_employee=NO_CUSTOMER, gap_channel=NO_CUSTOMER, gap_type=NO_CUSTOMER, store_id=row.store_id,
                team_id=row.team_id, gap_store=NO_CUSTOMER, gap_team=NO_CUSTOMER, gap_store_employee=NO_CUSTOMER,
                gap_store_channel=NO_CUSTOMER, gap_store_type=NO_CUSTOMER)


_ROW_COLUMNS = (Interaction.id, Interaction.customer_id, Interaction.employee_id, Interaction.channel,
                Interaction.type, Interaction.outcome, Interaction.created_at, Interaction.store_id,
                Interaction.team_id)


def _facts_of_customers(session: Session, customer_ids: Sequence[int], tz: ZoneInfo) -> dict[int, Fact]:
    interactions: dict[int, list[AnyRow]] = defaultdict(list)
    for row in session.execute(select(*_ROW_COLUMNS).where(Interaction.customer_id.in_(customer_ids))
                               .order_by(Interaction.customer_id, Interaction.created_at, Interaction.id)):
        interactions[row.customer_id].append(row)
    orders: dict[int, list[dt.datetime]] = defaultdict(list)
    for customer_id, ordered_at in session.execute(
            select(Order.customer_id, Order.ordered_at)
            .where(Order.customer_id.in_(list(interactions)), kpi_rules.order_counts_sql(Order.status))
            .order_by(Order.customer_id, Order.ordered_at)):
        orders[customer_id].append(ordered_at)
    facts: dict[int, Fact] = {}
    for customer_id, rows in interactions.items():
        facts.update(_customer_facts(rows, orders[customer_id], tz))
    return facts


def _table(model: type[Base]) -> Table:
    """A model's table (typed: SQLAlchemy types `__table__` as any FROM clause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


# ---- keeping it exact --------------------------------------------------------------------------

def refresh(session: Session, *, customer_ids: Iterable[int | None] = (), interaction_ids: Iterable[int] = ()) -> int:
    """Bring the rollup up to date after interactions, orders or customer links changed.

    Give the customers whose interactions or orders changed (for a row that moved between customers,
    both), and interactions that have no customer. Returns how many interactions' facts changed."""
    tz = rollup_zone(session)
    if tz is None:
        return 0
    session.flush()
    customers = {c for c in customer_ids if c is not None}
    loose_ids = sorted(set(interaction_ids))
    loose_rows = []
    for chunk in _chunks(loose_ids, _CUSTOMER_CHUNK):
        for row in session.execute(select(*_ROW_COLUMNS).where(Interaction.id.in_(chunk))):
            if row.customer_id is None:
                loose_rows.append(row)
            else:
                customers.add(row.customer_id)
    ordered = sorted(customers)
    new_facts: dict[int, Fact] = {row.id: _loose_fact(row, tz) for row in loose_rows}
    for chunk in _chunks(ordered, _CUSTOMER_CHUNK):
        # Whoever recomputes a customer last must see every committed interaction of theirs.
        session.execute(select(Customer.id).where(Customer.id.in_(chunk)).order_by(Customer.id).with_for_update())
        new_facts.update(_facts_of_customers(session, chunk, tz))
    return _apply(session, new_facts)


def _apply(session: Session, new_facts: dict[int, Fact]) -> int:
    stored = _stored_facts(session, sorted(new_facts))
    delta: dict[Key, list[int]] = defaultdict(lambda: [0] * len(COUNTS))
    changed: list[tuple[int, Fact]] = []
    for interaction_id, fact in new_facts.items():
        before = stored.get(interaction_id)
        if before == fact:
            continue
        changed.append((interaction_id, fact))
        for sign, side in ((-1, before), (1, fact)):
            if side is None:
                continue
            for key, counts in side.contributions():
                total = delta[key]
                for i, count in enumerate(counts):
                    total[i] += sign * count
    _upsert_facts(session, changed)
    _add_to_rollup(session, {key: counts for key, counts in delta.items() if any(counts)})
    return len(changed)


def _stored_facts(session: Session, interaction_ids: Sequence[int]) -> dict[int, Fact]:
    columns = [getattr(InteractionKpiFact, name) for name in FACT_COLUMNS]
    found: dict[int, Fact] = {}
    for chunk in _chunks(interaction_ids, _CUSTOMER_CHUNK):
        for interaction_id, *values in session.execute(
                select(InteractionKpiFact.interaction_id, *columns).where(InteractionKpiFact.interaction_id.in_(chunk))):
            found[interaction_id] = Fact.stored(values)
    return found


def _upsert_facts(session: Session, changed: list[tuple[int, Fact]]) -> None:
    if not changed:
        return
    table = _table(InteractionKpiFact)
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.interaction_id], set_={name: statement.excluded[name] for name in FACT_COLUMNS})
    rows = [{"interaction_id": i, **dict(zip(FACT_COLUMNS, astuple(f), strict=True))}
            for i, f in sorted(changed, key=lambda item: item[0])]
    for chunk in _chunks(rows, _INSERT_CHUNK):
        session.connection().execute(statement, list(chunk))


def _add_to_rollup(session: Session, delta: dict[Key, list[int]]) -> None:
    if not delta:
        return
    table = _table(KpiDaily)
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.dimension, table.c.day, table.c.key, table.c.gap],
        set_={name: table.c[name] + statement.excluded[name] for name in COUNTS})
    # Sorted: two transactions adding to the same rows lock them in the same order (no deadlock).
    rows = [{"dimension": d, "day": day, "key": k, "gap": g, **dict(zip(COUNTS, counts, strict=True))}
            for (d, day, k, g), counts in sorted(delta.items())]
    for chunk in _chunks(rows, _INSERT_CHUNK):
        session.connection().execute(statement, list(chunk))
    # Rows emptied by a move (a merge undone, an interaction re-dated) go, so the table only holds
    # what happened. A row's other counts never exceed its interactions.
    emptied = [{"d": d, "day": day, "k": k, "g": g} for (d, day, k, g), counts in sorted(delta.items()) if counts[0] < 0]
    if emptied:
        session.connection().execute(
            table.delete().where(table.c.dimension == bindparam("d"), table.c.day == bindparam("day"),
                                 table.c.key == bindparam("k"), table.c.gap == bindparam("g"),
                                 table.c.interactions == 0), emptied)


# ---- building and checking ---------------------------------------------------------------------

def _summed_facts(day: ColumnElement[int] | InstrumentedAttribute[int], key: ColumnElement[str] | InstrumentedAttribute[str],
                  gap: ColumnElement[int] | InstrumentedAttribute[int],
                  where: ColumnElement[bool] | None, dimension: Dimension,
                  offsets: Subquery | None = None) -> AnySelect:
    """kpi_daily rows of `dimension` summed from the facts filtered by `where` (with `offsets`: the facts
    joined to each offset on `where`)."""
    facts = InteractionKpiFact
    first = case((kpi_rules.first_contact_sql(facts.gap_all != NO_CUSTOMER, facts.repeat_contact), 1), else_=0)
    part = select(literal(dimension.value).label("dimension"), day.label("day"), key.label("key"),
                  gap.label("gap"), func.count().label("interactions"), func.sum(first).label("first_contacts"),
                  func.sum(first * facts.resolved).label("resolved_first_contacts"),
                  func.sum(facts.repeat_contact).label("repeat_contacts"),
                  func.sum(facts.purchase).label("purchases"), func.sum(facts.resolved).label("resolved"))
    if offsets is not None and where is not None:
        return part.select_from(join(facts, offsets, where)).group_by(day, key, gap)
    return (part if where is None else part.where(where)).group_by(day, key, gap)


def _rollup_from_facts() -> list[AnySelect]:
    """kpi_daily as it should be, summed from the facts (what `Fact.contributions` adds, in SQL)."""
    facts = InteractionKpiFact
    in_store, in_team = facts.store_id.is_not(None), facts.team_id.is_not(None)
    parts = []
    for dimension, key, gap, where in (
            (Dimension.ALL, literal(""), facts.gap_all, None),
            (Dimension.EMPLOYEE, cast(facts.employee_id, String), facts.gap_employee, None),
            (Dimension.CHANNEL, facts.channel, facts.gap_channel, None),
            (Dimension.TYPE, facts.type, facts.gap_type, None),
            (Dimension.STORE, cast(facts.store_id, String), facts.gap_store, in_store),
            (Dimension.STORE_EMPLOYEE, _store_key_sql(facts.store_id, facts.employee_id), facts.gap_store_employee,
             in_store),
            (Dimension.STORE_CHANNEL, _store_key_sql(facts.store_id, facts.channel), facts.gap_store_channel, in_store),
            (Dimension.STORE_TYPE, _store_key_sql(facts.store_id, facts.type), facts.gap_store_type, in_store),
            (Dimension.TEAM, cast(facts.team_id, String), facts.gap_team, in_team),
            (Dimension.EMPLOYEE_WEEK, cast(facts.employee_id, String), _week_gap_sql(facts.day, facts.gap_employee),
             None)):
        day = _week_start_sql(facts.day) if dimension == Dimension.EMPLOYEE_WEEK else facts.day
        parts.append(_summed_facts(day, key, gap, where, dimension))
    # Short periods' rows ("short periods"): near weeks, and each fact again in the weeks to each later
    # Monday-to-Saturday and from each earlier Tuesday-to-Sunday of its week (offsets 0-5 days).
    employee, in_week = cast(facts.employee_id, String), _week_gap_sql(facts.day, facts.gap_employee)
    weekday = (facts.day - 1) % WEEK_DAYS  # 0 on Mondays
    offsets = union_all(*(select(literal(n).label("n")) for n in range(WEEK_DAYS - 1))).subquery("offsets")
    parts.append(_summed_facts(_week_start_sql(facts.day), employee, _near_gap_sql(in_week), None,
                               Dimension.EMPLOYEE_WEEK_NEAR))
    parts.append(_summed_facts(facts.day + offsets.c.n, employee, _near_gap_sql(in_week),
                               weekday + offsets.c.n <= WEEK_DAYS - 2, Dimension.EMPLOYEE_TO_DAY, offsets))
    parts.append(_summed_facts(facts.day - offsets.c.n, employee,
                               case((facts.gap_employee > offsets.c.n, literal(1)), else_=literal(0)),
                               offsets.c.n < weekday, Dimension.EMPLOYEE_FROM_DAY, offsets))
    return parts


def _every_fact(session: Session, tz: ZoneInfo, tell: Progress) -> Iterator[dict[int, Fact]]:
    """Every interaction's facts recomputed from the rows, a few thousand customers at a time."""
    customers = [c for c in session.scalars(select(Interaction.customer_id).where(Interaction.customer_id.is_not(None))
                                            .distinct().order_by(Interaction.customer_id)) if c is not None]
    for done, chunk in enumerate(_chunks(customers, _CUSTOMER_CHUNK * 5), 1):
        yield _facts_of_customers(session, chunk, tz)
        tell("customers", min(done * _CUSTOMER_CHUNK * 5, len(customers)), len(customers))
    last_id, loose = 0, 0
    while rows := session.execute(select(*_ROW_COLUMNS).where(Interaction.customer_id.is_(None),
                                                                Interaction.id > last_id)
                                  .order_by(Interaction.id).limit(_INSERT_CHUNK * 10)).all():
        yield {row.id: _loose_fact(row, tz) for row in rows}
        last_id, loose = rows[-1].id, loose + len(rows)
        tell("without customer", loose, loose)


def _quiet(_stage: str, _done: int, _total: int) -> None:
    pass


def rebuild(session: Session, timezone: str, *, progress: Progress | None = None) -> int:
    """Build the rollup from scratch with days in `timezone`; returns the interactions counted."""
    tell = progress or _quiet
    session.execute(delete(KpiDaily))
    session.execute(delete(InteractionKpiFact))
    session.execute(delete(KpiRollupState))
    counted = 0
    for facts in _every_fact(session, ZoneInfo(timezone), tell):
        _insert_facts(session, facts)
        counted += len(facts)
    table = _table(KpiDaily)
    for part in _rollup_from_facts():
        session.execute(table.insert().from_select([c.name for c in part.selected_columns], part))
    tell("rollup", 1, 1)
    session.add(KpiRollupState(id=1, timezone=timezone, built_at=utc_now()))
    session.flush()
    rebuild_follow_ups(session, ZoneInfo(timezone), progress=progress)
    return counted


def _insert_facts(session: Session, facts: dict[int, Fact]) -> None:
    rows = [{"interaction_id": i, **dict(zip(FACT_COLUMNS, astuple(f), strict=True))} for i, f in facts.items()]
    for chunk in _chunks(rows, _INSERT_CHUNK):
        session.connection().execute(_table(InteractionKpiFact).insert(), list(chunk))


def ensure(session: Session, timezone: str, *, progress: Progress | None = None) -> bool:
    """Build the rollup unless it exists for this time zone; True when it was (re)built.

    A rollup from before the follow-up part gets that part only (minutes for the interactions are
    not spent again)."""
    zone = rollup_zone(session)
    if zone is not None and zone.key == timezone:
        if follow_up_rollup_zone(session) is not None:
            return False
        rebuild_follow_ups(session, zone, progress=progress)
        return True
    rebuild(session, timezone, progress=progress)
    return True


@dataclass(frozen=True)
class Discrepancies:
    facts: int  # interactions whose stored facts are wrong or missing
    rollup: int  # kpi_daily rows that differ from the sum of the facts (or are missing or extra)
    follow_up_facts: int = 0  # follow-ups whose stored facts are wrong, missing or left behind
    follow_up_rows: int = 0  # kpi_follow_up_daily / kpi_follow_up_durations rows that differ

    @property
    def none(self) -> bool:
        return not (self.facts or self.rollup or self.follow_up_facts or self.follow_up_rows)


def verify(session: Session) -> Discrepancies | None:
    """Recompute every fact and every rollup row and count differences (None: there is no rollup).

    In chunks, and the daily rows compared inside the database, so ten million interactions need
    not fit in memory."""
    tz = rollup_zone(session)
    if tz is None:
        return None
    wrong_facts = 0
    for expected in _every_fact(session, tz, _quiet):
        stored = _stored_facts(session, sorted(expected))
        wrong_facts += sum(stored.get(i) != fact for i, fact in expected.items())

    table = _table(KpiDaily)
    columns = ("dimension", "day", "key", "gap", *COUNTS)
    kept = select(*(table.c[name] for name in columns)).where(table.c.interactions != 0)
    summed = union_all(*_rollup_from_facts()).subquery("summed")
    should_be = select(*(summed.c[name] for name in columns))
    # A day row that is wrong shows on both sides: count the (dimension, day, key, gap) once.
    sides = [difference.subquery() for difference in (kept.except_(should_be), should_be.except_(kept))]
    wrong_keys = union(*(select(side.c.dimension, side.c.day, side.c.key, side.c.gap) for side in sides)).subquery()
    wrong_rows = session.scalar(select(func.count()).select_from(wrong_keys)) or 0
    follow_ups = verify_follow_ups(session) or (0, 0)
    return Discrepancies(facts=wrong_facts, rollup=wrong_rows, follow_up_facts=follow_ups[0],
                         follow_up_rows=follow_ups[1])


# ---- reading -----------------------------------------------------------------------------------

class Summed(NamedTuple):
    """Figures of a run of days; the first six are KpiFigures' interaction figures, in its order."""

    interactions: int = 0
    customers: int = 0
    first_contacts: int = 0
    resolved_first_contacts: int = 0
    repeat_contacts: int = 0
    purchases: int = 0
    resolved: int = 0


def _summed(session: Session, *, dimension: Dimension, first_day: dt.date, end_day: dt.date,
            by: Literal["key", "day"] | None, keys: ColumnElement[bool] | None = None) -> list[tuple[Any, Summed]]:
    """Figures over local days [first_day, end_day). `by`: None (one total, under the key None), "key"
    (the dimension's groups, by key) or "day" (per local day, by ordinal); `keys` keeps some keys only."""
    start, end = first_day.toordinal(), end_day.toordinal()
    spans = [_Span(dimension, start, end)] if by == "day" else _spans(dimension, start, end)
    rows_of = [select(KpiDaily, _threshold(span, start, by).label("threshold"))
               .where(KpiDaily.dimension == span.dimension.value, KpiDaily.day >= span.first, KpiDaily.day < span.stop,
                      *(() if keys is None else (keys,)))
               for span in spans]
    # The spans' rows sum alike (`_Span`): each is one index range, read one after the other.
    daily = rows_of[0].subquery("daily") if len(rows_of) == 1 else union_all(*rows_of).subquery("daily")
    first_of_period = daily.c.gap > daily.c.threshold
    group: list[ColumnElement[Any]] = [] if by is None else [daily.c.key] if by == "key" else [daily.c.day]
    rows = session.execute(
        select(*group, func.sum(daily.c.interactions).label("interactions"),
               func.sum(case((first_of_period, daily.c.interactions), else_=0)).label("customers"),
               func.sum(daily.c.first_contacts).label("first_contacts"),
               func.sum(daily.c.resolved_first_contacts).label("resolved_first_contacts"),
               func.sum(daily.c.repeat_contacts).label("repeat_contacts"),
               func.sum(daily.c.purchases).label("purchases"), func.sum(daily.c.resolved).label("resolved"))
        .group_by(*group)
    ).all()
    result: list[tuple[Any, Summed]] = []
    # The sums are labelled with Summed's fields, in its order (checked once): each row is read by position,
    # which costs a third of reading it by name (5,000 groups by employee company-wide).
    if rows and rows[0]._fields[len(group):] != Summed._fields:
        raise AssertionError(f"rollup sums out of Summed's order: {rows[0]._fields}")
    for row in rows:
        values = Summed._make([int(value or 0) for value in row[len(group):]])
        if values.interactions:
            result.append((row[0] if group else None, values))
    return result


def _threshold(span: _Span, start: int, by: Literal["key", "day"] | None) -> ColumnElement[int]:
    """Above which gap a row of `span` counts its interactions as customers of the period (or, per day,
    of the day: a customer is new to the day unless seen earlier that same day, gap 0)."""
    if by == "day":
        return literal(0)
    if span.anchor is not None:
        return literal(span.anchor - start)
    return KpiDaily.day - start


@dataclass(frozen=True)
class Part:
    """Which rows of the rollup a scope reads: the company's, or one store's or team's."""

    dimension: Dimension = Dimension.ALL
    key: str = ""

    @classmethod
    def of_store(cls, store_id: int) -> Part:
        return cls(dimension=Dimension.STORE, key=str(store_id))

    @classmethod
    def of_team(cls, team_id: int) -> Part:
        return cls(dimension=Dimension.TEAM, key=str(team_id))

    def groups(self, grouping: Dimension) -> Dimension | None:
        """The dimension of this part's rows grouped by `grouping` (employee, channel or type), or None
        when the rollup does not keep that grouping for it (a team's)."""
        if self.dimension == Dimension.ALL:
            return grouping
        if self.dimension == Dimension.STORE:
            return IN_STORE[grouping]
        return None


COMPANY = Part()


def summed_total(session: Session, *, first_day: dt.date, end_day: dt.date, part: Part = COMPANY) -> Summed:
    """Figures of the company (or a store or team) over local days [first_day, end_day)."""
    found = _summed(session, dimension=part.dimension, first_day=first_day, end_day=end_day, by=None,
                    keys=KpiDaily.key == part.key)
    return found[0][1] if found else Summed()


def summed_by_day(session: Session, *, first_day: dt.date, end_day: dt.date,
                  part: Part = COMPANY) -> dict[dt.date, Summed]:
    """Figures of the company (or a store or team) for each local day in [first_day, end_day) that had interactions."""
    found = _summed(session, dimension=part.dimension, first_day=first_day, end_day=end_day, by="day",
                    keys=KpiDaily.key == part.key)
    return {dt.date.fromordinal(day): values for day, values in found}


def summed_by_key(session: Session, *, dimension: Dimension, first_day: dt.date, end_day: dt.date,
                  part: Part = COMPANY) -> dict[str, Summed]:
    """Figures of each group of `dimension` (employee id as text, channel, type) over [first_day, end_day),
    company-wide or inside the store of `part` (`part.groups(dimension)` must not be None)."""
    rows = part.groups(dimension)
    if rows is None:
        raise ValueError(f"the rollup keeps no {dimension} groups for {part}")
    if part.dimension == Dimension.ALL:
        return dict(_summed(session, dimension=rows, first_day=first_day, end_day=end_day, by="key"))
    # A store's keys are one index range: from its padded id up to the next store's.
    store_id = int(part.key)
    prefix = store_key(store_id, "")
    found = _summed(session, dimension=rows, first_day=first_day, end_day=end_day, by="key",
                    keys=and_(KpiDaily.key >= _padded(store_id), KpiDaily.key < _padded(store_id + 1)))
    return {key[len(prefix):]: values for key, values in found}


def summed_by_team(session: Session, *, team_ids: Iterable[int], first_day: dt.date,
                   end_day: dt.date) -> dict[int, Summed]:
    """Figures of each of these teams over local days [first_day, end_day)."""
    found = _summed(session, dimension=Dimension.TEAM, first_day=first_day, end_day=end_day, by="key",
                    keys=KpiDaily.key.in_([str(t) for t in team_ids]))
    return {int(key): values for key, values in found}


# ---- follow-ups --------------------------------------------------------------------------------
#
# Company-wide follow-up figures read the same way: created and completed per local day, the overdue
# count at any local midnight as a running sum (starts minus stops), and the median completion time
# from a per-day histogram of durations on a log scale, whose one or two middle buckets are then read
# exactly from the facts. `refresh_follow_ups` is called by every path that creates a follow-up or
# changes its status, completion time or due date (Slack, imports); a merge, an erasure or a note
# purge touch none of those, and company-wide figures do not depend on the customer or assignee.

FOLLOW_UP_COUNTS = ("created", "completed", "overdue_from", "overdue_until")
BUCKETS_PER_DOUBLING = 8
# Mantissas (9 bits, 256-511) where each eighth of a doubling starts: integer thresholds, so the
# bucket of a duration never depends on floating-point rounding and only grows with the duration.
_BUCKET_EDGES = [256] + [math.ceil(256 * 2 ** (k / BUCKETS_PER_DOUBLING)) for k in range(1, BUCKETS_PER_DOUBLING)]


def duration_bucket(microseconds: int) -> int:
    """A histogram bucket that grows with the duration: 0 for none (or negative), then 8 per doubling."""
    if microseconds <= 0:
        return 0
    exponent = microseconds.bit_length() - 1
    mantissa = microseconds >> (exponent - 8) if exponent >= 8 else microseconds << (8 - exponent)
    return 1 + exponent * BUCKETS_PER_DOUBLING + bisect.bisect_right(_BUCKET_EDGES, mantissa) - 1


@dataclass(frozen=True)
class FollowUpFact:
    """What one follow-up adds to the follow-up rollup (the columns of follow_up_kpi_facts)."""

    created_day: int
    done_day: int | None
    duration_us: int | None
    duration_bucket: int | None
    overdue_from: int | None
    overdue_until: int | None

    @classmethod
    def stored(cls, values: Sequence[Any]) -> FollowUpFact:
        """A fact read back: follow_up_kpi_facts' FOLLOW_UP_FACT_COLUMNS, in that order."""
        created_day, done_day, duration_us, bucket, overdue_from, overdue_until = values
        return cls(created_day=created_day, done_day=done_day, duration_us=duration_us, duration_bucket=bucket,
                   overdue_from=overdue_from, overdue_until=overdue_until)

    def daily(self) -> Iterator[tuple[int, tuple[int, int, int, int]]]:
        yield self.created_day, (1, 0, 0, 0)
        if self.done_day is not None:
            yield self.done_day, (0, 1, 0, 0)
        if self.overdue_from is not None:
            yield self.overdue_from, (0, 0, 1, 0)
        if self.overdue_until is not None:
            yield self.overdue_until, (0, 0, 0, 1)


FOLLOW_UP_FACT_COLUMNS = tuple(f.name for f in fields(FollowUpFact))
_FOLLOW_UP_COLUMNS = (FollowUp.id, FollowUp.status, FollowUp.created_at, FollowUp.completed_at, FollowUp.due_date)


def follow_up_fact(row: AnyRow, tz: ZoneInfo) -> FollowUpFact:
    """The rules of store/kpi_rules.py for one follow-up, by local day:
    - created on its created_at's day; completed (`is_completed`) on its completed_at's day;
    - overdue (`is_overdue`) at the midnight starting day D when created before D (created_at < that
      midnight), due before D, not cancelled, and open or completed at that midnight or later: D from
      max(created day, due date) + 1 until the completion day included."""
    created_day = day_number(row.created_at, tz)
    done = kpi_rules.is_completed(row.status, row.completed_at)
    done_day = day_number(row.completed_at, tz) if done else None
    duration = kpi_rules.microseconds_between(row.completed_at, row.created_at) if done else None
    overdue_from = overdue_until = None
    if row.status == kpi_rules.OPEN or done:
        starts = max(created_day, row.due_date.toordinal()) + 1
        stops = done_day + 1 if done_day is not None else None
        if stops is None or starts < stops:
            overdue_from, overdue_until = starts, stops
    return FollowUpFact(created_day=created_day, done_day=done_day, duration_us=duration,
                        duration_bucket=None if duration is None else duration_bucket(duration),
                        overdue_from=overdue_from, overdue_until=overdue_until)


def follow_up_rollup_zone(session: Session) -> ZoneInfo | None:
    """The rollup's zone when its follow-up part is built (and so kept), else None."""
    name = session.scalar(select(KpiRollupState.timezone).where(KpiRollupState.id == 1,
                                                                KpiRollupState.follow_ups_built_at.is_not(None)))
    return ZoneInfo(name) if name else None


def refresh_follow_ups(session: Session, follow_up_ids: Iterable[int]) -> int:
    """Bring the follow-up rollup up to date after these follow-ups were created or changed.

    The rows are locked first (they usually are already: the caller just wrote them), so two
    transactions changing one follow-up apply their differences one after the other."""
    tz = follow_up_rollup_zone(session)
    ids = sorted(set(follow_up_ids))
    if tz is None or not ids:
        return 0
    session.flush()
    new_facts: dict[int, FollowUpFact] = {}
    for chunk in _chunks(ids, _CUSTOMER_CHUNK):
        session.execute(select(FollowUp.id).where(FollowUp.id.in_(chunk)).order_by(FollowUp.id).with_for_update())
        for row in session.execute(select(*_FOLLOW_UP_COLUMNS).where(FollowUp.id.in_(chunk))):
            new_facts[row.id] = follow_up_fact(row, tz)
    stored = _stored_follow_up_facts(session, ids)
    daily: dict[int, list[int]] = defaultdict(lambda: [0] * len(FOLLOW_UP_COUNTS))
    durations: dict[tuple[int, int], int] = defaultdict(int)
    changed = []
    for follow_up_id, fact in new_facts.items():
        before = stored.get(follow_up_id)
        if before == fact:
            continue
        changed.append((follow_up_id, fact))
        for sign, side in ((-1, before), (1, fact)):
            if side is None:
                continue
            for day, counts in side.daily():
                total = daily[day]
                for i, count in enumerate(counts):
                    total[i] += sign * count
            if side.done_day is not None and side.duration_bucket is not None:  # both set when done
                durations[(side.done_day, side.duration_bucket)] += sign
    _upsert_follow_up_facts(session, changed)
    _add_follow_up_counts(session, {day: counts for day, counts in daily.items() if any(counts)},
                          {key: count for key, count in durations.items() if count})
    return len(changed)


def _stored_follow_up_facts(session: Session, follow_up_ids: Sequence[int]) -> dict[int, FollowUpFact]:
    columns = [getattr(FollowUpKpiFact, name) for name in FOLLOW_UP_FACT_COLUMNS]
    found: dict[int, FollowUpFact] = {}
    for chunk in _chunks(follow_up_ids, _CUSTOMER_CHUNK):
        for follow_up_id, *values in session.execute(
                select(FollowUpKpiFact.follow_up_id, *columns).where(FollowUpKpiFact.follow_up_id.in_(chunk))):
            found[follow_up_id] = FollowUpFact.stored(values)
    return found


def _follow_up_fact_rows(facts: Iterable[tuple[int, FollowUpFact]]) -> list[dict[str, int | None]]:
    return [{"follow_up_id": i, **dict(zip(FOLLOW_UP_FACT_COLUMNS, astuple(f), strict=True))}
            for i, f in sorted(facts, key=lambda item: item[0])]


def _upsert_follow_up_facts(session: Session, changed: list[tuple[int, FollowUpFact]]) -> None:
    if not changed:
        return
    table = _table(FollowUpKpiFact)
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.follow_up_id], set_={name: statement.excluded[name] for name in FOLLOW_UP_FACT_COLUMNS})
    for chunk in _chunks(_follow_up_fact_rows(changed), _INSERT_CHUNK):
        session.connection().execute(statement, list(chunk))


def _add_follow_up_counts(session: Session, daily: dict[int, list[int]], durations: dict[tuple[int, int], int]) -> None:
    # Sorted, as in _add_to_rollup: concurrent writers lock the rows they add to in the same order.
    if daily:
        table = _table(KpiFollowUpDaily)
        statement = insert_for(session, table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.day], set_={name: table.c[name] + statement.excluded[name] for name in FOLLOW_UP_COUNTS})
        session.connection().execute(statement, [{"day": day, **dict(zip(FOLLOW_UP_COUNTS, counts, strict=True))}
                                                 for day, counts in sorted(daily.items())])
        for days in _chunks(sorted(daily), _CUSTOMER_CHUNK):
            session.connection().execute(table.delete().where(
                table.c.day.in_(days), *(table.c[name] == 0 for name in FOLLOW_UP_COUNTS)))
    if durations:
        table = _table(KpiFollowUpDuration)
        statement = insert_for(session, table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.day, table.c.bucket], set_={"completed": table.c.completed + statement.excluded.completed})
        session.connection().execute(statement, [{"day": day, "bucket": bucket, "completed": count}
                                                 for (day, bucket), count in sorted(durations.items())])
        emptied = [{"d": day, "b": bucket} for (day, bucket), count in sorted(durations.items()) if count < 0]
        if emptied:
            session.connection().execute(table.delete().where(
                table.c.day == bindparam("d"), table.c.bucket == bindparam("b"), table.c.completed == 0), emptied)


def _every_follow_up_fact(session: Session, tz: ZoneInfo, tell: Progress) -> Iterator[dict[int, FollowUpFact]]:
    last_id, done = 0, 0
    while rows := session.execute(select(*_FOLLOW_UP_COLUMNS).where(FollowUp.id > last_id)
                                  .order_by(FollowUp.id).limit(_INSERT_CHUNK * 10)).all():
        yield {row.id: follow_up_fact(row, tz) for row in rows}
        last_id, done = rows[-1].id, done + len(rows)
        tell("follow-ups", done, done)


def _follow_up_rollup_from_facts() -> tuple[AnySelect, AnySelect]:
    """kpi_follow_up_daily and kpi_follow_up_durations as they should be, summed from the facts in SQL."""
    facts = FollowUpKpiFact
    zero = literal(0)
    events = union_all(
        select(facts.created_day.label("day"), literal(1).label("created"), zero.label("completed"),
               zero.label("overdue_from"), zero.label("overdue_until")),
        select(facts.done_day, zero, literal(1), zero, zero).where(facts.done_day.is_not(None)),
        select(facts.overdue_from, zero, zero, literal(1), zero).where(facts.overdue_from.is_not(None)),
        select(facts.overdue_until, zero, zero, zero, literal(1)).where(facts.overdue_until.is_not(None)),
    ).subquery("events")
    daily = select(events.c.day, *(func.sum(events.c[name]).label(name) for name in FOLLOW_UP_COUNTS)) \
        .group_by(events.c.day)
    durations = select(facts.done_day.label("day"), facts.duration_bucket.label("bucket"),
                       func.count().label("completed")).where(facts.done_day.is_not(None)) \
        .group_by(facts.done_day, facts.duration_bucket)
    return daily, durations


def rebuild_follow_ups(session: Session, tz: ZoneInfo, *, progress: Progress | None = None) -> int:
    """Build the follow-up part of the rollup from scratch, days in `tz`; returns the follow-ups counted."""
    tell = progress or _quiet
    for model in (KpiFollowUpDuration, KpiFollowUpDaily, FollowUpKpiFact):
        session.execute(delete(model))
    counted = 0
    for facts in _every_follow_up_fact(session, tz, tell):
        for chunk in _chunks(_follow_up_fact_rows(facts.items()), _INSERT_CHUNK):
            session.connection().execute(_table(FollowUpKpiFact).insert(), list(chunk))
        counted += len(facts)
    daily, durations = _follow_up_rollup_from_facts()
    for model, part in ((KpiFollowUpDaily, daily), (KpiFollowUpDuration, durations)):
        session.execute(_table(model).insert().from_select([c.name for c in part.selected_columns], part))
    session.execute(_table(KpiRollupState).update().where(KpiRollupState.id == 1).values(follow_ups_built_at=utc_now()))
    tell("follow-up rollup", 1, 1)
    return counted


def verify_follow_ups(session: Session) -> tuple[int, int] | None:
    """(follow-ups whose stored facts are wrong or missing, daily/histogram rows that differ), or None."""
    tz = follow_up_rollup_zone(session)
    if tz is None:
        return None
    wrong_facts, matched = 0, 0
    for expected in _every_follow_up_fact(session, tz, _quiet):
        stored = _stored_follow_up_facts(session, sorted(expected))
        wrong_facts += sum(stored.get(i) != fact for i, fact in expected.items())
        matched += len(stored)
    # A fact left behind by a follow-up that is gone is wrong too.
    wrong_facts += (session.scalar(select(func.count()).select_from(FollowUpKpiFact)) or 0) - matched
    wrong_rows = 0
    daily, durations = _follow_up_rollup_from_facts()
    for model, part, keys in ((KpiFollowUpDaily, daily, ("day",)), (KpiFollowUpDuration, durations, ("day", "bucket"))):
        table = _table(model)
        names = [c.name for c in part.selected_columns]
        kept = select(*(table.c[name] for name in names))
        should = part.subquery()
        should_be = select(*(should.c[name] for name in names))
        sides = [difference.subquery() for difference in (kept.except_(should_be), should_be.except_(kept))]
        wrong_keys = union(*(select(*(side.c[k] for k in keys)) for side in sides)).subquery()
        wrong_rows += session.scalar(select(func.count()).select_from(wrong_keys)) or 0
    return wrong_facts, wrong_rows


class FollowUpSummed(NamedTuple):
    created: int
    completed: int
    overdue: int
    middle_durations: list[int]  # the one or two middle completion times (microseconds) of the period


def follow_up_summed(session: Session, *, first_day: dt.date, end_day: dt.date, as_of_day: dt.date,
                     as_of_midnight: dt.datetime, as_of: dt.datetime) -> FollowUpSummed:
    """Follow-up figures over local days [first_day, end_day), overdue as of `as_of`: the local midnight
    starting `as_of_day` (`as_of_midnight`, naive UTC) or a moment later that day.

    The midnight's overdue count is the running sum of the rollup; a later moment of that day is
    corrected from the rows of that day alone (follow-ups created, or completed, since midnight)."""
    start, end, as_of_ordinal = first_day.toordinal(), end_day.toordinal(), as_of_day.toordinal()
    daily = KpiFollowUpDaily
    created, completed = session.execute(
        select(func.coalesce(func.sum(daily.created), 0), func.coalesce(func.sum(daily.completed), 0))
        .where(daily.day >= start, daily.day < end)).one()
    overdue = session.scalar(select(func.coalesce(func.sum(daily.overdue_from - daily.overdue_until), 0))
                             .where(daily.day <= as_of_ordinal)) or 0
    if as_of > as_of_midnight:
        # Created since midnight and overdue now (the created_at bounds keep it to that day's rows).
        overdue += session.scalar(select(func.count(FollowUp.id)).where(
            FollowUp.created_at >= as_of_midnight, FollowUp.created_at < as_of,
            kpi_rules.overdue_sql(as_of, as_of_day))) or 0
        # Overdue at midnight (created before it), closed since: completed in [midnight, as_of).
        overdue -= session.scalar(select(func.count(FollowUp.id)).where(
            *kpi_rules.overdue_closed_later_sql(as_of_midnight, as_of_day), FollowUp.completed_at < as_of)) or 0
    return FollowUpSummed(created=int(created), completed=int(completed), overdue=int(overdue),
                          middle_durations=_middle_durations(session, start, end, int(completed)))


def _middle_durations(session: Session, start: int, end: int, completed: int) -> list[int]:
    """The completion times at the middle rank(s) of the period (what statistics.median averages)."""
    if not completed:
        return []
    ranks = [completed // 2] if completed % 2 else [completed // 2 - 1, completed // 2]
    histogram = KpiFollowUpDuration
    buckets = session.execute(
        select(histogram.bucket, func.sum(histogram.completed))
        .where(histogram.day >= start, histogram.day < end).group_by(histogram.bucket).order_by(histogram.bucket)).all()
    facts = FollowUpKpiFact
    values: list[int] = []
    below = 0
    for bucket, count in buckets:
        wanted = [rank - below for rank in ranks if below <= rank < below + count]
        if wanted:
            # The bucket's own durations, in order: a small share of the period's completions.
            in_bucket = session.scalars(
                select(facts.duration_us).where(facts.duration_bucket == bucket, facts.done_day >= start,
                                                facts.done_day < end)
                .order_by(facts.duration_us).offset(wanted[0]).limit(wanted[-1] - wanted[0] + 1)).all()
            values.extend(duration for duration in (in_bucket[rank - wanted[0]] for rank in wanted)
                          if duration is not None)  # never None: a done fact has both duration and bucket
        below += count
    return values
