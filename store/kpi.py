"""Team KPIs: the figures of a scope over a period, from the raw rows or from the daily rollup.

Periods are local days in the viewer's time zone; their edges are local midnights converted to
naive UTC (the storage convention), so "today" in Paris starts at 22:00 or 23:00 UTC the day before.

The figures (an interaction is "in the period" when created_at is in [start, end)); each rule they
rest on (repeat and first contact, resolved, purchase within 7 days, follow-up completed and overdue,
completion time) is written once, in store/kpi_rules.py:
- interactions: interactions logged in the period; customers: their distinct known customers.
- first contacts, repeat contacts (interactions with a customer = first + repeat), resolved first
  contacts (first-contact resolution rate = resolved first contacts / first contacts).
- purchases within 7 days: interactions followed by a purchase within the window.
- follow-ups created / completed: created_at / completed_at (status done) in the period.
- follow-ups overdue as of the end of the period (or now, if earlier), on that local day; follow-ups
  cancelled since are left out (their cancellation time is not kept).
- median time to complete: over follow-ups completed in the period, in hours.
Scopes use the store and team recorded on each interaction (so figures do not move when people
do); follow-ups are attributed to their assignee's current team and store.

Three ways to the same interaction figures, each tested against the rules (tests/store/test_kpi_rules.py):
one ordered pass with window functions (company-wide from the rows), two index probes per row (a
person, a team's groups, the folded row of a breakdown, any scope when the rollup does not cover the
viewer's days), and the rollup (company, store and team, and a store's groups, when its local days are
the viewer's). Follow-up figures come from the rollup company-wide, else from the rows (a store's
staff hold ~1% of them).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    ColumnElement,
    Row,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.sql.util import ClauseAdapter

from store import dialect, kpi_rollup, kpi_rules, permissions
from store.clock import local_day, local_midnight_utc
from store.errors import Refused
from store.kpi_query import Grouping, KpiQuery, Period, Scope, ScopeKind, parse_kpi_query
from store.models import Employee, FollowUp, Interaction, Order, Store, Team
from store.vocabulary import Role


class Viewer(Protocol):
    id: int
    role: str
    team_id: int | None
    store_id: int | None
    timezone: str


class KpiRefused(Refused):
    """The viewer may not see this scope (or it does not exist): `key`/`params` explain why."""


# ---- time --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    start: dt.datetime  # naive UTC, inclusive
    end: dt.datetime  # naive UTC, exclusive

    @classmethod
    def of(cls, period: Period, tz: ZoneInfo) -> Window:
        return cls(local_midnight_utc(period.start, tz), local_midnight_utc(period.end, tz))


# ---- scope -------------------------------------------------------------------------------------

class InteractionFilter(Protocol):
    """Which interactions a figure counts (what `_flagged_rows_by_probes` reads)."""

    def interactions(self) -> ColumnElement[bool]: ...


@dataclass(frozen=True)
class ScopeFilter:
    kind: ScopeKind
    label: str
    employee_id: int | None = None
    team_id: int | None = None
    store_id: int | None = None

    def interactions(self) -> ColumnElement[bool]:
        if self.employee_id is not None:
            return Interaction.employee_id == self.employee_id
        if self.team_id is not None:
            return Interaction.team_id == self.team_id
        if self.store_id is not None:
            return Interaction.store_id == self.store_id
        return true()

    def follow_ups(self) -> ColumnElement[bool]:
        if self.employee_id is not None:
            return FollowUp.assignee_id == self.employee_id
        if self.team_id is not None:
            return FollowUp.assignee_id.in_(select(Employee.id).where(Employee.team_id == self.team_id))
        if self.store_id is not None:
            return FollowUp.assignee_id.in_(select(Employee.id).where(Employee.store_id == self.store_id))
        return true()


def resolve_scope(session: Session, viewer: Viewer, scope: Scope) -> ScopeFilter:
    """Managers see their team (and their store), associates only themselves, admins everything.

    The rules are store.permissions' (`figures_refusal`, `sees_figures_of`); this only finds the rows."""
    if scope.kind == ScopeKind.ME:
        return ScopeFilter(kind=ScopeKind.ME, label="me", employee_id=viewer.id)
    if scope.kind in (ScopeKind.ALL, ScopeKind.TEAM):
        refusal = permissions.figures_refusal(viewer, scope.kind)
        if refusal:
            raise KpiRefused(f"kpi.refused.{refusal}")
        if scope.kind == ScopeKind.ALL:
            return ScopeFilter(kind=ScopeKind.ALL, label="all")
        team = session.get(Team, viewer.team_id)
        return ScopeFilter(kind=ScopeKind.TEAM, label=team.name if team else "team", team_id=viewer.team_id)
    if scope.kind == ScopeKind.EMPLOYEE:
        target = _find_employee(session, viewer, scope)
        if target.id == viewer.id:
            return ScopeFilter(kind=ScopeKind.ME, label="me", employee_id=viewer.id)
        return ScopeFilter(kind=ScopeKind.EMPLOYEE, label=target.name, employee_id=target.id)
    if scope.kind == ScopeKind.STORE:
        # Associates are refused before any lookup, so the answer never depends on which stores exist.
        if not permissions.has_role(viewer, Role.MANAGER):
            raise KpiRefused("kpi.refused.store_associate")
        store = _find_store(session, scope.name or "")
        refusal = permissions.figures_refusal(viewer, "store", store_id=store.id)
        if refusal:
            raise KpiRefused(f"kpi.refused.{refusal}", name=scope.name)  # what was typed, not what it matched
        return ScopeFilter(kind=ScopeKind.STORE, label=store.name, store_id=store.id)
    raise KpiRefused("kpi.refused.unknown_scope")


def like_literal(text: str) -> str:
    """`text` for a LIKE pattern, matched literally: `%`, `_` and the escape character lose their meaning."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _find_employee(session: Session, viewer: Viewer, scope: Scope) -> Employee:
    """The person asked for, looked for among the people the viewer may see only.

    So "unknown" and "not yours" are one answer, and a prefix (`@h`) cannot probe who exists: with
    the search limited to visible people, neither the refusal nor "several match" says anything
    about anyone else."""
    if scope.slack_user_id:
        candidates = list(session.scalars(select(Employee).where(Employee.slack_user_id == scope.slack_user_id)))
    else:
        typed = (scope.name or "").lower()
        candidates = [e for e in session.scalars(select(Employee).where(
            Employee.active.is_(True), func.lower(Employee.name).like(like_literal(typed) + "%", escape="\\")))
            if e.name.lower().startswith(typed)]
    visible = [e for e in candidates if permissions.sees_figures_of(viewer, e)]
    exact = [e for e in visible if scope.name and e.name.lower() == scope.name.lower()]
    if len(exact) == 1:
        return exact[0]
    if len(visible) == 1:
        return visible[0]
    if visible:
        raise KpiRefused("kpi.refused.ambiguous_person", name=scope.name)
    if permissions.sees_everything(viewer):
        raise KpiRefused("kpi.refused.unknown_person", name=scope.name or scope.slack_user_id)
    raise KpiRefused("kpi.refused.person" if permissions.has_role(viewer, Role.MANAGER) else "kpi.refused.other_associate")


def _find_store(session: Session, name: str) -> Store:
    lowered = name.lower()
    stores = session.scalars(
        select(Store).where(or_(func.lower(Store.name) == lowered, func.lower(Store.code) == lowered))
    ).all()
    if not stores:
        stores = session.scalars(select(Store).where(
            func.lower(Store.name).like("%" + like_literal(lowered) + "%", escape="\\"))).all()
    if len(stores) != 1:
        raise KpiRefused("kpi.refused.unknown_store" if not stores else "kpi.refused.ambiguous_store", name=name)
    return stores[0]


# ---- figures -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiFigures:
    interactions: int = 0
    customers: int = 0
    first_contacts: int = 0
    resolved_first_contacts: int = 0
    repeat_contacts: int = 0
    purchases_within_7d: int = 0
    followups_created: int | None = None
    followups_completed: int | None = None
    followups_overdue: int | None = None
    median_completion_hours: float | None = None

    @property
    def fcr_rate(self) -> float | None:
        return self.resolved_first_contacts / self.first_contacts if self.first_contacts else None


INTERACTION_FIGURES = ("interactions", "customers", "first_contacts", "resolved_first_contacts", "repeat_contacts",
                       "purchases_within_7d")


class _FollowUpFigures(TypedDict):
    followups_created: int
    followups_completed: int
    followups_overdue: int
    median_completion_hours: float | None


def _interaction_figures_of(row: Row[Any]) -> KpiFigures:
    """The interaction figures of a row of `_aggregates` (labelled with KpiFigures' field names)."""
    values = row._mapping
    return KpiFigures(**{name: int(values[name] or 0) for name in INTERACTION_FIGURES})


def _flagged_rows(scope: InteractionFilter, window: Window, *extra: ColumnElement[Any]) -> CTE:
    """The period's interactions, each with its two flags computed once (a materialised CTE).

    Company-wide, a month is ~10^6 rows: one ordered pass over the customers' events beats two index
    probes per row. For narrower scopes the probes only touch the scope's rows and win. (Reading the
    flags from the rollup's interaction_kpi_facts instead was no faster for a store's year on SQLite.)"""
    if isinstance(scope, ScopeFilter) and scope.kind == ScopeKind.ALL:
        return _flagged_rows_in_one_pass(window, *extra)
    return _flagged_rows_by_probes(scope, window, *extra)


def _flagged_rows_in_one_pass(window: Window, *extra: ColumnElement[Any]) -> CTE:
    """Same rows and flags as `_flagged_rows_by_probes` for every interaction, from window functions.

    Interactions and counted orders of each customer are read in time order (orders before
    interactions at the same instant, interactions by id, as `kpi_rules.precedes`): an interaction's
    flags are the rules of store/kpi_rules.py applied to the latest interaction before it and the first
    order after it. The spans read reach a day beyond the 7 days on each side."""
    span_start = window.start - kpi_rules.REPEAT_WINDOW - dt.timedelta(days=1)
    span_end = window.end + kpi_rules.PURCHASE_WINDOW + dt.timedelta(days=1)
    contacts = select(
        Interaction.id.label("id"), Interaction.customer_id.label("customer_id"), Interaction.created_at.label("at"),
        literal(1).label("kind"), Interaction.outcome.label("outcome"),
        *(value.label(f"extra_{i}") for i, value in enumerate(extra)),
    ).where(Interaction.created_at >= span_start, Interaction.created_at < window.end)
    purchases = select(
        Order.id, Order.customer_id, Order.ordered_at, literal(0), null(), *(null() for _ in extra),
    ).where(Order.customer_id.is_not(None), kpi_rules.order_counts_sql(Order.status),
            Order.ordered_at >= window.start, Order.ordered_at < span_end)
    events = contacts.union_all(purchases).subquery("events")
    # Both frames grow from the partition's start (the second in reverse time order): PostgreSQL
    # recomputes min/max from scratch for every row of a frame that shrinks at the front.
    # Interactions without a customer get a partition each (their flags are 0 anyway).
    customer = func.coalesce(events.c.customer_id, -events.c.id)
    forward = (events.c.at, events.c.kind, events.c.id)
    previous_contact = func.max(case((events.c.kind == 1, events.c.at))).over(
        partition_by=customer, order_by=forward, rows=(None, -1))
    next_purchase = func.min(case((events.c.kind == 0, events.c.at))).over(
        partition_by=customer, order_by=tuple(column.desc() for column in forward), rows=(None, -1))
    marked = select(events, previous_contact.label("previous_contact"), next_purchase.label("next_purchase")) \
        .subquery("marked")
    known = marked.c.customer_id.is_not(None)
    repeat = and_(known, kpi_rules.repeat_contact_sql(marked.c.at, marked.c.previous_contact))
    bought = and_(known, kpi_rules.bought_after_sql(marked.c.at, marked.c.next_purchase))
    return (
        select(marked.c.id, marked.c.customer_id, marked.c.outcome,
               *(marked.c[f"extra_{i}"].label(value.name) for i, value in enumerate(extra)),
               case((repeat, 1), else_=0).label("repeat"), case((bought, 1), else_=0).label("bought"))
        .where(marked.c.kind == 1, marked.c.at >= window.start)
        .cte("period_rows").prefix_with("MATERIALIZED")
    )


def _flagged_rows_by_probes(scope: InteractionFilter, window: Window, *extra: ColumnElement[Any]) -> CTE:
    """The period's interactions in `scope`, each flagged by two index probes (the rules of store/kpi_rules.py:
    is there an interaction before it within the repeat window, a counted order after it within the purchase window)."""
    earlier = aliased(Interaction)
    had_prior_contact = exists(
        select(earlier.id).where(
            earlier.customer_id == Interaction.customer_id,
            kpi_rules.repeat_contact_sql(Interaction.created_at, earlier.created_at),
            # Redundant with the next line, but it bounds the index range from above: without it the
            # probe walks every later interaction of the customer too.
            earlier.created_at <= Interaction.created_at,
            kpi_rules.precedes_sql(earlier.created_at, earlier.id, Interaction.created_at, Interaction.id),
        )
    )
    bought_after = exists(
        select(Order.id).where(
            Order.customer_id == Interaction.customer_id,
            Order.ordered_at > Interaction.created_at,
            kpi_rules.bought_after_sql(Interaction.created_at, Order.ordered_at),
            kpi_rules.order_counts_sql(Order.status),
        )
    )
    known = Interaction.customer_id.is_not(None)
    return (
        select(Interaction.id, Interaction.customer_id, Interaction.outcome, *extra,
               case((and_(known, had_prior_contact), 1), else_=0).label("repeat"),
               case((and_(known, bought_after), 1), else_=0).label("bought"))
        .where(Interaction.created_at >= window.start, Interaction.created_at < window.end, scope.interactions())
        .cte("period_rows").prefix_with("MATERIALIZED")
    )


def _aggregates(rows: CTE) -> list[ColumnElement[Any]]:
    """The interaction figures of flagged rows, labelled with KpiFigures' field names."""
    first = kpi_rules.first_contact_sql(rows.c.customer_id.is_not(None), rows.c.repeat)
    return [
        func.count(rows.c.id).label("interactions"),
        func.count(rows.c.customer_id.distinct()).label("customers"),
        func.coalesce(func.sum(case((first, 1), else_=0)), 0).label("first_contacts"),
        func.coalesce(func.sum(case((and_(first, kpi_rules.resolved_sql(rows.c.outcome)), 1), else_=0)), 0)
        .label("resolved_first_contacts"),
        func.coalesce(func.sum(rows.c.repeat), 0).label("repeat_contacts"),
        func.coalesce(func.sum(rows.c.bought), 0).label("purchases_within_7d"),
    ]


def _figures_and_groups(session: Session, scope: InteractionFilter, window: Window,
                        key: ColumnElement[Any] | None = None) -> tuple[KpiFigures, dict[Any, KpiFigures]]:
    """The period's totals and, given a grouping key, its groups: the flags are computed once for both."""
    if key is None:
        rows = _flagged_rows(scope, window)
        return _interaction_figures_of(session.execute(select(*_aggregates(rows))).one()), {}
    rows = _flagged_rows(scope, window, key.label("key"))
    per_group = select(literal(0).label("is_total"), rows.c.key, *_aggregates(rows)).group_by(rows.c.key)
    total = select(literal(1), null(), *_aggregates(rows))
    found: dict[Any, KpiFigures] = {}
    totals = KpiFigures()
    for row in session.execute(per_group.union_all(total)).all():
        if row._mapping["is_total"]:
            totals = _interaction_figures_of(row)
        else:
            found[row._mapping["key"]] = _interaction_figures_of(row)
    return totals, found


def followup_figures(session: Session, scope: ScopeFilter, window: Window, *, as_of: dt.datetime,
                     as_of_date: dt.date) -> _FollowUpFigures:
    # count(*), not count(id): PostgreSQL can then answer from the assignee index alone (the id is not in
    # it), 1 ms instead of 90-160 ms for a store's counts at 10M interactions.
    created = session.scalar(select(func.count()).select_from(FollowUp).where(
        FollowUp.created_at >= window.start, FollowUp.created_at < window.end, scope.follow_ups()))
    durations = list(session.scalars(select(kpi_rules.completion_time_sql()).where(
        kpi_rules.completed_sql(), FollowUp.completed_at >= window.start, FollowUp.completed_at < window.end,
        scope.follow_ups())))
    # Open now, or done only after `as_of`: two index-friendly counts instead of one scan of history.
    still_open = session.scalar(select(func.count()).select_from(FollowUp).where(
        *kpi_rules.overdue_open_sql(as_of, as_of_date), scope.follow_ups()))
    done_later = session.scalar(select(func.count()).select_from(FollowUp).where(
        *kpi_rules.overdue_closed_later_sql(as_of, as_of_date), scope.follow_ups()))
    overdue = (still_open or 0) + (done_later or 0)
    return {
        "followups_created": int(created or 0),
        "followups_completed": len(durations),
        "followups_overdue": int(overdue or 0),
        "median_completion_hours": kpi_rules.median_hours(durations),
    }


def figures(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo, *, now: dt.datetime) -> KpiFigures:
    return _figures_with_groups(session, scope, period, tz, now=now)[0]


def _figures_with_groups(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo, *, now: dt.datetime,
                         group_by: Grouping | None = None) -> tuple[KpiFigures, dict[Any, KpiFigures]]:
    window = Window.of(period, tz)
    local_today = local_day(now, tz)
    as_of = min(window.end, now)
    as_of_date = min(period.end, local_today)
    base, groups = _interaction_figures(session, scope, period, tz, group_by)
    if scope.kind == ScopeKind.ALL and kpi_rollup.covers(kpi_rollup.follow_up_rollup_zone(session), tz, period.start,
                                                         period.end):
        followups = _followup_figures_from_rollup(period, tz, session, as_of=as_of, as_of_date=as_of_date)
    else:
        followups = followup_figures(session, scope, window, as_of=as_of, as_of_date=as_of_date)
    return replace(base, **followups), groups


def _followup_figures_from_rollup(period: Period, tz: ZoneInfo, session: Session, *, as_of: dt.datetime,
                                  as_of_date: dt.date) -> _FollowUpFigures:
    """followup_figures company-wide, from the rollup: the same four figures, exactly.

    `as_of` is the local midnight starting `as_of_date` for a period in the past, or now (later that
    day) for one that is not over: the rollup counts overdue follow-ups at midnights."""
    summed = kpi_rollup.follow_up_summed(session, first_day=period.start, end_day=period.end, as_of_day=as_of_date,
                                         as_of_midnight=local_midnight_utc(as_of_date, tz), as_of=as_of)
    return {
        "followups_created": summed.created,
        "followups_completed": summed.completed,
        "followups_overdue": summed.overdue,
        "median_completion_hours": kpi_rules.median_hours(summed.middle_durations),
    }


def _rollup_part(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo) -> kpi_rollup.Part | None:
    """The rollup's rows for the interaction figures of a company, store or team scope, when its days
    are the viewer's local days; None: from the raw rows."""
    if scope.kind == ScopeKind.ALL:
        part = kpi_rollup.COMPANY
    elif scope.kind == ScopeKind.STORE and scope.store_id is not None:
        part = kpi_rollup.Part.of_store(scope.store_id)
    elif scope.kind == ScopeKind.TEAM and scope.team_id is not None:
        part = kpi_rollup.Part.of_team(scope.team_id)
    else:
        return None
    return part if kpi_rollup.covers(kpi_rollup.rollup_zone(session), tz, period.start, period.end) else None


def _figures_of_summed(values: kpi_rollup.Summed) -> KpiFigures:
    return KpiFigures(interactions=values.interactions, customers=values.customers,
                      first_contacts=values.first_contacts, resolved_first_contacts=values.resolved_first_contacts,
                      repeat_contacts=values.repeat_contacts, purchases_within_7d=values.purchases)


def _interaction_figures(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo,
                         group_by: Grouping | None) -> tuple[KpiFigures, dict[Any, KpiFigures]]:
    part = _rollup_part(session, scope, period, tz)
    if part is None or (group_by not in (None, Grouping.DAY)
                        and part.groups(kpi_rollup.Dimension(group_by)) is None):  # a team's groups
        return _figures_and_groups(session, scope, Window.of(period, tz), _group_key(period, tz, group_by))
    totals = _figures_of_summed(kpi_rollup.summed_total(session, first_day=period.start, end_day=period.end,
                                                        part=part))
    if group_by is None:
        return totals, {}
    if group_by == Grouping.DAY:
        index = {day: i for i, day in enumerate(period.local_days())}
        per_day = kpi_rollup.summed_by_day(session, first_day=period.start, end_day=period.end, part=part)
        return totals, {index[day]: _figures_of_summed(values) for day, values in per_day.items()}
    per_key = kpi_rollup.summed_by_key(session, dimension=kpi_rollup.Dimension(group_by), first_day=period.start,
                                       end_day=period.end, part=part)
    return totals, {(int(key) if group_by == Grouping.EMPLOYEE else key): _figures_of_summed(values)
                    for key, values in per_key.items()}


# ---- groups and trend --------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupRow:
    key: str  # employee name, channel, type or ISO date
    figures: KpiFigures
    employee_id: int | None = None  # grouped by employee: whose row this is
    folded: bool = False  # grouped by employee: everyone the viewer may not see individually, as one row


def _day_bucket(period: Period, tz: ZoneInfo) -> ColumnElement[int]:
    """The index of each interaction's local day in the period: how many local midnights it follows."""
    return _midnights_passed(Interaction.created_at, [local_midnight_utc(day, tz) for day in period.local_days()[1:]])


def _midnights_passed(moment: InstrumentedAttribute[dt.datetime], edges: list[dt.datetime],
                      before: int = 0) -> ColumnElement[int]:
    # A balanced tree of CASEs: ~9 comparisons per row for a year, where a flat CASE made ~180 (a
    # store's year trend took 0.8-1.2 s in comparisons alone).
    if not edges:
        return literal(before)
    middle = len(edges) // 2
    return case((moment < edges[middle], _midnights_passed(moment, edges[:middle], before)),
                else_=_midnights_passed(moment, edges[middle + 1:], before + middle + 1))


_GROUP_COLUMNS: dict[Grouping, InstrumentedAttribute[Any]] = {
    Grouping.EMPLOYEE: Interaction.employee_id, Grouping.CHANNEL: Interaction.channel, Grouping.TYPE: Interaction.type,
}


def _group_key(period: Period, tz: ZoneInfo, group_by: Grouping | None) -> ColumnElement[Any] | None:
    if group_by is None:
        return None
    if group_by == Grouping.DAY:
        return _day_bucket(period, tz)
    return _GROUP_COLUMNS[group_by].expression


def _group_rows(period: Period, group_by: Grouping, found: dict[Any, KpiFigures]) -> list[GroupRow]:
    """Rows by day (every day of the period, in order), channel or type (most interactions first); by
    employee, see `_people_rows`."""
    if group_by == Grouping.DAY:
        days = period.local_days()
        return [GroupRow(key=day.isoformat(), figures=found.get(i, KpiFigures())) for i, day in enumerate(days)]
    result = [GroupRow(key=str(k), figures=f) for k, f in found.items()]
    return sorted(result, key=lambda g: (-g.figures.interactions, g.key))


@dataclass(frozen=True)
class _Excluding:
    """The interactions of `scope` logged by anyone but `shown` (never the one-pass path: `_flagged_rows`
    takes that for a company-wide ScopeFilter only)."""

    scope: ScopeFilter
    shown: tuple[int, ...]

    def interactions(self) -> ColumnElement[bool]:
        return and_(self.scope.interactions(), Interaction.employee_id.not_in(self.shown))


@dataclass(frozen=True)
class _Person:
    """Who a by-employee row is about: what permissions.sees_figures_of and the row's label need."""

    id: int
    name: str
    role: str
    team_id: int | None
    store_id: int | None


def _people_rows(session: Session, viewer: Viewer, scope: ScopeFilter, period: Period, tz: ZoneInfo,
                 found: dict[Any, KpiFigures], totals: KpiFigures) -> list[GroupRow]:
    """A row per person whose figures the viewer could ask for directly (permissions.sees_figures_of,
    the rule of `/kpi @someone`), and everyone else in one folded row, counted again from their
    interactions (distinct customers do not add up), so the table still sums to the scope's total
    (`totals`, the scope's interaction figures)."""
    # Plain columns, not entities (5,000 people company-wide); company-wide everyone, not a 5,000-id IN list
    # (compiling its bound parameters alone took 0.18 s).
    people_rows = select(Employee.id, Employee.name, Employee.role, Employee.team_id, Employee.store_id)
    if scope.kind != ScopeKind.ALL:
        people_rows = people_rows.where(Employee.id.in_([k for k in found if k]))
    people = {person_id: _Person(id=person_id, name=name, role=role, team_id=team_id, store_id=store_id)
              for person_id, name, role, team_id, store_id in session.execute(people_rows)}
    # An admin sees everyone's figures (permissions.acts_for): no rule to run for each of 5,000 people.
    shown = set(found) if permissions.sees_everything(viewer) else {
        k for k in found if k in people and permissions.sees_figures_of(viewer, people[k])}
    rows = sorted((GroupRow(key=people[k].name if k in people else f"#{k}", figures=f, employee_id=k)
                   for k, f in found.items() if k in shown), key=lambda g: (-g.figures.interactions, g.key))
    if len(shown) < len(found):
        excluding = _Excluding(scope=scope, shown=tuple(sorted(shown)))
        part = _rollup_part(session, scope, period, tz)
        if part is not None and part.dimension == kpi_rollup.Dimension.STORE:
            others = _folded_store_row(session, excluding, Window.of(period, tz), totals, [found[k] for k in shown])
        else:
            others, _ = _figures_and_groups(session, excluding, Window.of(period, tz))
        rows.append(GroupRow(key="", figures=others, folded=True))
    return rows


def _folded_store_row(session: Session, excluding: _Excluding, window: Window, totals: KpiFigures,
                      shown: list[KpiFigures]) -> KpiFigures:
    """The folded row of a store's breakdown by employee whose people rows came from the rollup.

    Every figure but distinct customers counts interactions one by one, so it is the store's total minus
    the people shown; the distinct customers of everyone else are counted from the store's index
    (ix_interactions_store_people), without the two probes per interaction of `_figures_and_groups`
    (with a cold page cache those random reads made a manager's store breakdown the slowest /kpi)."""
    customers = session.scalar(
        select(func.count(Interaction.customer_id.distinct()))
        .where(Interaction.created_at >= window.start, Interaction.created_at < window.end, excluding.interactions()))
    rest = {name: getattr(totals, name) - sum(getattr(figures, name) for figures in shown)
            for name in INTERACTION_FIGURES if name != "customers"}
    return KpiFigures(customers=int(customers or 0), **rest)


@dataclass(frozen=True)
class TrendPoint:
    day: dt.date
    interactions: int
    resolved: int  # interactions with outcome "resolved"


def daily_counts(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo) -> list[TrendPoint]:
    """Interactions and resolved ones per local day: the cheap series behind the trend chart."""
    part = _rollup_part(session, scope, period, tz)
    if part is not None:
        per_day = kpi_rollup.summed_by_day(session, first_day=period.start, end_day=period.end, part=part)
        days = [(day, per_day.get(day, kpi_rollup.Summed())) for day in period.local_days()]
        return [TrendPoint(day=day, interactions=figures.interactions, resolved=figures.resolved)
                for day, figures in days]
    window = Window.of(period, tz)
    bucket = _day_bucket(period, tz)
    rows = session.execute(
        select(bucket, func.count(Interaction.id),
               func.sum(case((kpi_rules.resolved_sql(Interaction.outcome), 1), else_=0)))
        .where(Interaction.created_at >= window.start, Interaction.created_at < window.end, scope.interactions())
        .group_by(bucket)
    ).all()
    found = {key: (int(count), int(resolved or 0)) for key, count, resolved in rows}
    return [TrendPoint(day=day, interactions=found.get(i, (0, 0))[0], resolved=found.get(i, (0, 0))[1])
            for i, day in enumerate(period.local_days())]


# ---- the report --------------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiReport:
    scope: ScopeFilter
    period: Period
    current: KpiFigures
    previous: KpiFigures
    groups: list[GroupRow] = field(default_factory=list)
    group_by: Grouping | None = None
    trend: list[TrendPoint] = field(default_factory=list)  # per local day, current period


def kpi_report(session: Session, viewer: Viewer, query: KpiQuery, *, now: dt.datetime) -> KpiReport:
    tz = ZoneInfo(viewer.timezone)
    scope = resolve_scope(session, viewer, query.scope)
    current, found = _figures_with_groups(session, scope, query.period, tz, now=now, group_by=query.group_by)
    previous = figures(session, scope, query.period.previous, tz, now=now)
    if query.group_by == Grouping.EMPLOYEE:
        groups = _people_rows(session, viewer, scope, query.period, tz, found, current)
    else:
        groups = _group_rows(query.period, query.group_by, found) if query.group_by else []
    trend = daily_counts(session, scope, query.period, tz) if query.period.days > 1 else []
    return KpiReport(scope=scope, period=query.period, current=current, previous=previous, groups=groups,
                     group_by=query.group_by, trend=trend)


# ---- start-up ----------------------------------------------------------------------------------

# What a process's first /kpi would pay on top of its queries, measured at 10M interactions: SQLAlchemy
# building and compiling each of the report's ~14 statements once per process (~10-17 ms of CPU for
# "all yesterday", against ~7-11 ms for the whole report once they are cached). `warm_up` pays it at
# start-up for the shapes most asked for: the statements depend on the scope, grouping and period's
# shape, not on who asks or which days.
WARM_UP_QUERIES = ("all yesterday", "all today", "all week", "all week by employee", "me today", "me week by day")


@dataclass
class _WarmUpViewer:
    """An admin nobody is: "me" is employee 0, who logged nothing; nothing it sees leaves warm_up."""

    timezone: str
    id: int = 0
    role: str = Role.ADMIN
    team_id: int | None = None
    store_id: int | None = None


def warm_up(session: Session, timezone: str, *, now: dt.datetime) -> None:
    """Compose (and discard) the reports of WARM_UP_QUERIES as of `now` in `timezone`: reads only."""
    viewer = _WarmUpViewer(timezone=timezone)
    today = local_day(now, ZoneInfo(timezone))
    for text in WARM_UP_QUERIES:
        kpi_report(session, viewer, parse_kpi_query(text, today=today), now=now)


# ---- many teams at once ------------------------------------------------------------------------

TEAMS_PER_QUERY = 500  # team ids per IN list, well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class _TeamsFilter:
    """The interaction side of ScopeFilter for a set of teams (what `_flagged_rows_by_probes` reads)."""

    team_ids: tuple[int, ...]

    def interactions(self) -> ColumnElement[bool]:
        return Interaction.team_id.in_(self.team_ids)


def team_figures(session: Session, team_ids: Iterable[int], period: Period, tz: ZoneInfo, *,
                 now: dt.datetime) -> dict[int, KpiFigures]:
    """`figures(session, ScopeFilter(kind=TEAM, ..., team_id=t), period, tz, now=now)` for every team t at once.

    Same definitions, same rows: interactions grouped by the team recorded on them (from the rollup's
    team rows when its days are these), follow-ups by their assignee's current team; a handful of
    queries per TEAMS_PER_QUERY teams instead of five per team."""
    window = Window.of(period, tz)
    local_today = local_day(now, tz)
    as_of, as_of_date = min(window.end, now), min(period.end, local_today)
    ids = sorted(set(team_ids))
    result: dict[int, KpiFigures] = {}
    from_rollup = kpi_rollup.covers(kpi_rollup.rollup_zone(session), tz, period.start, period.end)
    for offset in range(0, len(ids), TEAMS_PER_QUERY):
        chunk = tuple(ids[offset:offset + TEAMS_PER_QUERY])
        if from_rollup:
            base = {team_id: _figures_of_summed(values) for team_id, values in kpi_rollup.summed_by_team(
                session, team_ids=chunk, first_day=period.start, end_day=period.end).items()}
        else:
            base = _team_interaction_figures(session, chunk, window)
        followups = _team_followup_figures(session, chunk, window, as_of=as_of, as_of_date=as_of_date)
        for team_id in chunk:
            result[team_id] = replace(base.get(team_id, KpiFigures()), **followups[team_id])
    return result


def _team_interaction_figures(session: Session, team_ids: tuple[int, ...], window: Window) -> dict[int, KpiFigures]:
    # Probes, not the one ordered pass: 200 of 500 teams, one day or week-to-date, 0.1-0.2 s against 1.3 s
    # (SQLite, 10M interactions): the pass reads everyone's interactions and orders over 17+ days.
    rows = _flagged_rows_by_probes(_TeamsFilter(team_ids=team_ids), window, Interaction.team_id.label("key"))
    found = session.execute(select(rows.c.key, *_aggregates(rows)).group_by(rows.c.key)).all()
    return {row._mapping["key"]: _interaction_figures_of(row) for row in found}


def _team_followup_figures(session: Session, team_ids: tuple[int, ...], window: Window, *, as_of: dt.datetime,
                           as_of_date: dt.date) -> dict[int, _FollowUpFigures]:
    """followup_figures for each team: the same four counts, per assignee's current team."""
    team = Employee.team_id

    def per_team(*conditions: ColumnElement[bool]) -> dict[int, int]:
        return {t: int(n) for t, n in session.execute(
            select(team, func.count()).select_from(FollowUp).join(Employee, Employee.id == FollowUp.assignee_id)
            .where(team.in_(team_ids), *conditions).group_by(team)).all() if t is not None}

    created = per_team(FollowUp.created_at >= window.start, FollowUp.created_at < window.end)
    still_open = per_team(*kpi_rules.overdue_open_sql(as_of, as_of_date))
    # Few follow-ups were completed after `as_of`, a digest's recent period end: read them through the
    # completed_at index. SQLite's planner, which cannot tell "completed after" from "created before"
    # (both one-sided ranges), read every follow-up created before `as_of` instead (0.6 s per period and
    # batch of 200 teams at 10M interactions); the teams' staff have their whole done history, so the
    # assignee index is no better.
    completed = dialect.sqlite_indexed_by(FollowUp.__table__, "completed_follow_ups", "ix_follow_ups_completed")
    done_later = {t: int(n) for t, n in session.execute(
        select(team, func.count()).select_from(completed).join(Employee, Employee.id == completed.c.assignee_id)
        .where(team.in_(team_ids), *(ClauseAdapter(completed).traverse(condition)
                                     for condition in kpi_rules.overdue_closed_later_sql(as_of, as_of_date)))
        .group_by(team)).all() if t is not None}
    durations: dict[int, list[int]] = {}
    for team_id, microseconds in session.execute(
            select(team, kpi_rules.completion_time_sql()).join(Employee, Employee.id == FollowUp.assignee_id)
            .where(team.in_(team_ids), kpi_rules.completed_sql(), FollowUp.completed_at >= window.start,
                   FollowUp.completed_at < window.end)).all():
        if team_id is not None:
            durations.setdefault(team_id, []).append(microseconds)
    return {team_id: {
        "followups_created": created.get(team_id, 0),
        "followups_completed": len(durations.get(team_id, [])),
        "followups_overdue": still_open.get(team_id, 0) + done_later.get(team_id, 0),
        "median_completion_hours": kpi_rules.median_hours(durations.get(team_id, [])),
    } for team_id in team_ids}
