"""The daily KPI rollup: company-wide /kpi from a few thousand summed rows instead of millions.

A company month is ~10^6 interactions, and its flags (repeat contact, purchase within 7 days) need
each customer's neighbouring interactions and orders: computed from the raw rows that takes seconds.
So each interaction's contribution is computed once, when it (or its customer) changes, and summed
per local day into `kpi_daily`, company-wide and per employee, channel and type.

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

Distinct customers do not add up across days, so each day is split by `gap`: days since the
customer's previous interaction in the same group. A customer is counted in a period [S, E) at the
one interaction whose previous one is before S, i.e. gap > day - S.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, bindparam, case, cast, delete, func, literal, select, union, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.kpi_query import MAX_PERIOD_DAYS
from store.models import Customer, Interaction, InteractionKpiFact, KpiDaily, KpiRollupState, Order, utcnow

CONTACT_WINDOW_DAYS = 7
PURCHASE_WINDOW_DAYS = 7
NO_CUSTOMER = -1  # gap of an interaction without a known customer: never counted as a customer
NO_EARLIER = MAX_PERIOD_DAYS + 1  # no earlier interaction that any period could start after
COUNTS = ("interactions", "first_contacts", "resolved_first_contacts", "repeat_contacts", "purchases", "resolved")
_CUSTOMER_CHUNK = 1000
_INSERT_CHUNK = 5000

Key = tuple[str, int, str, int]  # dimension, day, key, gap
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

    def contributions(self) -> Iterator[tuple[Key, tuple[int, ...]]]:
        first = int(self.gap_all != NO_CUSTOMER and not self.repeat_contact)
        counts = (1, first, first * self.resolved, self.repeat_contact, self.purchase, self.resolved)
        yield ("all", self.day, "", self.gap_all), counts
        yield ("employee", self.day, str(self.employee_id), self.gap_employee), counts
        yield ("channel", self.day, self.channel, self.gap_channel), counts
        yield ("type", self.day, self.type, self.gap_type), counts


FACT_COLUMNS = tuple(f.name for f in fields(Fact))


def day_number(moment: dt.datetime, tz: ZoneInfo) -> int:
    """The local date of a naive-UTC moment, as an ordinal (date.toordinal)."""
    return moment.replace(tzinfo=dt.UTC).astimezone(tz).date().toordinal()


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

def _customer_facts(rows: Sequence, order_times: list[dt.datetime], tz: ZoneInfo) -> dict[int, Fact]:
    """Facts of one customer's interactions, `rows` in (created_at, id) order, `order_times` sorted."""
    contact_window = dt.timedelta(days=CONTACT_WINDOW_DAYS)
    purchase_window = dt.timedelta(days=PURCHASE_WINDOW_DAYS)
    facts: dict[int, Fact] = {}
    previous_at: dt.datetime | None = None
    last_day: dict[tuple[int, object], int] = {}
    for row in rows:
        day = day_number(row.created_at, tz)
        repeat = previous_at is not None and previous_at >= row.created_at - contact_window
        after = bisect.bisect_right(order_times, row.created_at)
        bought = after < len(order_times) and order_times[after] <= row.created_at + purchase_window
        gaps = []
        for group in ((0, None), (1, row.employee_id), (2, row.channel), (3, row.type)):
            seen = last_day.get(group)
            gaps.append(NO_EARLIER if seen is None else min(day - seen, NO_EARLIER))
            last_day[group] = day
        facts[row.id] = Fact(day, row.employee_id, row.channel, row.type, int(row.outcome == "resolved"),
                             int(repeat), int(bought), *gaps)
        previous_at = row.created_at
    return facts


def _loose_fact(row, tz: ZoneInfo) -> Fact:
    """An interaction without a known customer: counted, never as a customer, contact or purchase."""
    return Fact(day_number(row.created_at, tz), row.employee_id, row.channel, row.type,
                int(row.outcome == "resolved"), 0, 0, NO_CUSTOMER, NO_CUSTOMER, NO_CUSTOMER, NO_CUSTOMER)


_ROW_COLUMNS = (Interaction.id, Interaction.customer_id, Interaction.employee_id, Interaction.channel,
                Interaction.type, Interaction.outcome, Interaction.created_at)


def _facts_of_customers(session: Session, customer_ids: Sequence[int], tz: ZoneInfo) -> dict[int, Fact]:
    interactions: dict[int, list] = defaultdict(list)
    for row in session.execute(select(*_ROW_COLUMNS).where(Interaction.customer_id.in_(customer_ids))
                               .order_by(Interaction.customer_id, Interaction.created_at, Interaction.id)):
        interactions[row.customer_id].append(row)
    orders: dict[int, list[dt.datetime]] = defaultdict(list)
    for customer_id, ordered_at in session.execute(
            select(Order.customer_id, Order.ordered_at)
            .where(Order.customer_id.in_(list(interactions)), Order.status != "cancelled")
            .order_by(Order.customer_id, Order.ordered_at)):
        orders[customer_id].append(ordered_at)
    facts: dict[int, Fact] = {}
    for customer_id, rows in interactions.items():
        facts.update(_customer_facts(rows, orders[customer_id], tz))
    return facts


def _chunks(values: Sequence, size: int) -> Iterator[Sequence]:
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
            found[interaction_id] = Fact(*values)
    return found


def _insert(session: Session, table):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def _upsert_facts(session: Session, changed: list[tuple[int, Fact]]) -> None:
    if not changed:
        return
    table = InteractionKpiFact.__table__
    statement = _insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.interaction_id], set_={name: statement.excluded[name] for name in FACT_COLUMNS})
    rows = [{"interaction_id": i, **dict(zip(FACT_COLUMNS, astuple(f)))}
            for i, f in sorted(changed, key=lambda item: item[0])]
    for chunk in _chunks(rows, _INSERT_CHUNK):
        session.connection().execute(statement, list(chunk))


def _add_to_rollup(session: Session, delta: dict[Key, list[int]]) -> None:
    if not delta:
        return
    table = KpiDaily.__table__
    statement = _insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.dimension, table.c.day, table.c.key, table.c.gap],
        set_={name: table.c[name] + statement.excluded[name] for name in COUNTS})
    # Sorted: two transactions adding to the same rows lock them in the same order (no deadlock).
    rows = [{"dimension": d, "day": day, "key": k, "gap": g, **dict(zip(COUNTS, counts))}
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

def _rollup_from_facts():
    """kpi_daily as it should be, summed from the facts (what `Fact.contributions` adds, in SQL)."""
    facts = InteractionKpiFact
    first = case((and_(facts.gap_all != NO_CUSTOMER, facts.repeat_contact == 0), 1), else_=0)
    parts = []
    for dimension, key, gap in (("all", literal(""), facts.gap_all),
                                ("employee", cast(facts.employee_id, String), facts.gap_employee),
                                ("channel", facts.channel, facts.gap_channel),
                                ("type", facts.type, facts.gap_type)):
        parts.append(
            select(literal(dimension).label("dimension"), facts.day.label("day"), key.label("key"), gap.label("gap"),
                   func.count().label("interactions"), func.sum(first).label("first_contacts"),
                   func.sum(first * facts.resolved).label("resolved_first_contacts"),
                   func.sum(facts.repeat_contact).label("repeat_contacts"),
                   func.sum(facts.purchase).label("purchases"), func.sum(facts.resolved).label("resolved"))
            .group_by(facts.day, key, gap))
    return parts


def _every_fact(session: Session, tz: ZoneInfo, tell: Progress) -> Iterator[dict[int, Fact]]:
    """Every interaction's facts recomputed from the rows, a few thousand customers at a time."""
    customers = list(session.scalars(select(Interaction.customer_id).where(Interaction.customer_id.is_not(None))
                                     .distinct().order_by(Interaction.customer_id)))
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
    table = KpiDaily.__table__
    for part in _rollup_from_facts():
        session.execute(table.insert().from_select([c.name for c in part.selected_columns], part))
    tell("rollup", 1, 1)
    session.add(KpiRollupState(id=1, timezone=timezone, built_at=utcnow()))
    session.flush()
    return counted


def _insert_facts(session: Session, facts: dict[int, Fact]) -> None:
    rows = [{"interaction_id": i, **dict(zip(FACT_COLUMNS, astuple(f)))} for i, f in facts.items()]
    for chunk in _chunks(rows, _INSERT_CHUNK):
        session.connection().execute(InteractionKpiFact.__table__.insert(), list(chunk))


def ensure(session: Session, timezone: str, *, progress: Progress | None = None) -> bool:
    """Build the rollup unless it exists for this time zone; True when it was (re)built."""
    zone = rollup_zone(session)
    if zone is not None and zone.key == timezone:
        return False
    rebuild(session, timezone, progress=progress)
    return True


@dataclass(frozen=True)
class Discrepancies:
    facts: int  # interactions whose stored facts are wrong or missing
    rollup: int  # kpi_daily rows that differ from the sum of the facts (or are missing or extra)

    @property
    def none(self) -> bool:
        return not (self.facts or self.rollup)


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

    table = KpiDaily.__table__
    columns = ("dimension", "day", "key", "gap", *COUNTS)
    kept = select(*(table.c[name] for name in columns)).where(table.c.interactions != 0)
    summed = union_all(*_rollup_from_facts()).subquery("summed")
    should_be = select(*(summed.c[name] for name in columns))
    # A day row that is wrong shows on both sides: count the (dimension, day, key, gap) once.
    sides = [difference.subquery() for difference in (kept.except_(should_be), should_be.except_(kept))]
    wrong_keys = union(*(select(side.c.dimension, side.c.day, side.c.key, side.c.gap) for side in sides)).subquery()
    wrong_rows = session.scalar(select(func.count()).select_from(wrong_keys)) or 0
    return Discrepancies(wrong_facts, wrong_rows)


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


def summed(session: Session, *, dimension: str, first_day: dt.date, end_day: dt.date,
           by: str | None = None) -> dict[object, Summed]:
    """Figures over local days [first_day, end_day). `by`: None (one total, under the key None), "key"
    (the dimension's groups, by key) or "day" (per local date)."""
    daily = KpiDaily
    start, end = first_day.toordinal(), end_day.toordinal()
    # Per day, a customer is new to the day unless seen earlier that same day (gap 0).
    first_of_period = daily.gap > (literal(0) if by == "day" else daily.day - start)
    group = {None: [], "key": [daily.key], "day": [daily.day]}[by]
    rows = session.execute(
        select(*group, func.sum(daily.interactions), func.sum(case((first_of_period, daily.interactions), else_=0)),
               func.sum(daily.first_contacts), func.sum(daily.resolved_first_contacts),
               func.sum(daily.repeat_contacts), func.sum(daily.purchases), func.sum(daily.resolved))
        .where(daily.dimension == dimension, daily.day >= start, daily.day < end)
        .group_by(*group)
    ).all()
    result: dict[object, Summed] = {}
    for row in rows:
        values = Summed(*(int(v or 0) for v in row[len(group):]))
        if not values.interactions:
            continue
        key = None if by is None else (dt.date.fromordinal(row[0]) if by == "day" else row[0])
        result[key] = values
    return result
