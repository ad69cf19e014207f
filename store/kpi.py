"""Team KPIs, computed from the raw rows with one documented definition each.

Periods are local days in the viewer's time zone; their edges are local midnights converted to
naive UTC (the storage convention), so "today" in Paris starts at 22:00 or 23:00 UTC the day before.

Definitions (an interaction is "in the period" when created_at is in [start, end)):
- interactions: interactions logged in the period.
- customers: distinct known customers of those interactions.
- first contact: an interaction with a known customer who had no interaction (with anyone) in the
  7 days (168 h) before it. repeat contact: an interaction with a known customer who did.
  So interactions with a customer = first contacts + repeat contacts.
- first-contact resolution rate: first contacts with outcome "resolved" / first contacts.
- purchases within 7 days: interactions followed by an order of the same customer placed after the
  interaction and at most 7 days later (orders with status "cancelled" do not count).
- follow-ups created / completed: created_at / completed_at (status done) in the period.
- follow-ups overdue: open at the end of the period (or now, if earlier) with a due date before that
  local day; follow-ups cancelled since are left out (their cancellation time is not kept).
- median time to complete: median of completed_at - created_at over follow-ups completed in the
  period, in hours.
Scopes use the store and team recorded on each interaction (so figures do not move when people
do); follow-ups are attributed to their assignee's current team and store.
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, null, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import BigInteger, DateTime

from store import kpi_rollup, permissions
from store.clock import local_day, local_midnight_utc
from store.errors import Refused
from store.kpi_query import KpiQuery, Period, Scope
from store.kpi_rollup import CONTACT_WINDOW_DAYS, PURCHASE_WINDOW_DAYS
from store.models import Employee, FollowUp, Interaction, Order, Store, Team


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


class _ShiftDays(FunctionElement):
    """`timestamp + N days`, written so that it compares correctly with stored values."""

    type = DateTime()
    inherit_cache = True


@compiles(_ShiftDays)
def _shift_default(element, compiler, **kw):
    column, days = list(element.clauses)
    return f"({compiler.process(column, **kw)} + make_interval(days => {compiler.process(days, **kw)}))"


@compiles(_ShiftDays, "sqlite")
def _shift_sqlite(element, compiler, **kw):
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'; produce the same shape so the
    # string comparison is a time comparison (precision: milliseconds).
    column, days = list(element.clauses)
    modifier = f"printf('%+d days', {compiler.process(days, **kw)})"
    return f"(strftime('%Y-%m-%d %H:%M:%f', {compiler.process(column, **kw)}, {modifier}) || '000')"


def shift_days(column: Any, days: int) -> ColumnElement:
    return _ShiftDays(column, literal(days))


class _Microseconds(FunctionElement):
    """`later - earlier` in whole microseconds, computed by the database: a year of completed
    follow-ups is ~10^6 rows, and fetching two timestamps each to subtract them here took seconds."""

    type = BigInteger()
    inherit_cache = True


@compiles(_Microseconds)
def _microseconds_default(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) * 1000000 AS BIGINT)"


@compiles(_Microseconds, "sqlite")
def _microseconds_sqlite(element, compiler, **kw):
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds from strftime, microseconds from the text.
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return (f"((CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER)) * 1000000"
            f" + CAST(substr({later}, 21, 6) AS INTEGER) - CAST(substr({earlier}, 21, 6) AS INTEGER))")


def completion_time(follow_up=FollowUp) -> ColumnElement:
    return _Microseconds(follow_up.completed_at, follow_up.created_at)


def median_hours(microseconds: list[int]) -> float | None:
    return statistics.median(microseconds) / 3_600_000_000 if microseconds else None


# ---- scope -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScopeFilter:
    kind: str  # me | employee | team | store | all
    label: str
    employee_id: int | None = None
    team_id: int | None = None
    store_id: int | None = None

    def interactions(self, table=Interaction) -> ColumnElement[bool]:
        if self.employee_id is not None:
            return table.employee_id == self.employee_id
        if self.team_id is not None:
            return table.team_id == self.team_id
        if self.store_id is not None:
            return table.store_id == self.store_id
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
    if scope.kind == "me":
        return ScopeFilter("me", "me", employee_id=viewer.id)
    if scope.kind in ("all", "team"):
        refusal = permissions.figures_refusal(viewer, scope.kind)
        if refusal:
            raise KpiRefused(f"kpi.refused.{refusal}")
        if scope.kind == "all":
            return ScopeFilter("all", "all")
        team = session.get(Team, viewer.team_id)
        return ScopeFilter("team", team.name if team else "team", team_id=viewer.team_id)
    if scope.kind == "employee":
        target = _find_employee(session, viewer, scope)
        if target.id == viewer.id:
            return ScopeFilter("me", "me", employee_id=viewer.id)
        return ScopeFilter("employee", target.name, employee_id=target.id)
    if scope.kind == "store":
        # Associates are refused before any lookup, so the answer never depends on which stores exist.
        if not permissions.has_role(viewer, "manager"):
            raise KpiRefused("kpi.refused.store_associate")
        store = _find_store(session, scope.name or "")
        refusal = permissions.figures_refusal(viewer, "store", store_id=store.id)
        if refusal:
            raise KpiRefused(f"kpi.refused.{refusal}", name=scope.name)  # what was typed, not what it matched
        return ScopeFilter("store", store.name, store_id=store.id)
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
    raise KpiRefused("kpi.refused.person" if permissions.has_role(viewer, "manager") else "kpi.refused.other_associate")


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


def _flagged_rows(scope: ScopeFilter, window: Window, *extra: ColumnElement):
    """The period's interactions, each with its two flags computed once (a materialised CTE).

    Company-wide, a month is ~10^6 rows: one ordered pass over the customers' events beats two index
    probes per row. For narrower scopes the probes only touch the scope's rows and win. (Reading the
    flags from the rollup's interaction_kpi_facts instead was no faster for a store's year on SQLite.)"""
    if scope.kind == "all":
        return _flagged_rows_in_one_pass(window, *extra)
    return _flagged_rows_by_probes(scope, window, *extra)


def _flagged_rows_in_one_pass(window: Window, *extra: ColumnElement):
    """Same rows and flags as `_flagged_rows_by_probes` for every interaction, from window functions.

    Interactions and non-cancelled orders of each customer are read in time order (orders before
    interactions at the same instant, interactions by id): an interaction is a repeat contact when the
    latest interaction before it is at most 7 days older, and bought when the first order after it is
    at most 7 days later. The spans read reach a day beyond the 7 days on each side."""
    span_start = window.start - dt.timedelta(days=CONTACT_WINDOW_DAYS + 1)
    span_end = window.end + dt.timedelta(days=PURCHASE_WINDOW_DAYS + 1)
    contacts = select(
        Interaction.id.label("id"), Interaction.customer_id.label("customer_id"), Interaction.created_at.label("at"),
        literal(1).label("kind"), Interaction.outcome.label("outcome"),
        *(value.label(f"extra_{i}") for i, value in enumerate(extra)),
    ).where(Interaction.created_at >= span_start, Interaction.created_at < window.end)
    purchases = select(
        Order.id, Order.customer_id, Order.ordered_at, literal(0), null(), *(null() for _ in extra),
    ).where(Order.customer_id.is_not(None), Order.status != "cancelled",
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
    repeat = and_(known, marked.c.previous_contact >= shift_days(marked.c.at, -CONTACT_WINDOW_DAYS))
    bought = and_(known, marked.c.next_purchase <= shift_days(marked.c.at, PURCHASE_WINDOW_DAYS))
    return (
        select(marked.c.id, marked.c.customer_id, marked.c.outcome,
               *(marked.c[f"extra_{i}"].label(value.name) for i, value in enumerate(extra)),
               case((repeat, 1), else_=0).label("repeat"), case((bought, 1), else_=0).label("bought"))
        .where(marked.c.kind == 1, marked.c.at >= window.start)
        .cte("period_rows").prefix_with("MATERIALIZED")
    )


def _flagged_rows_by_probes(scope: ScopeFilter, window: Window, *extra: ColumnElement):
    earlier = aliased(Interaction)
    had_prior_contact = exists(
        select(earlier.id).where(
            earlier.customer_id == Interaction.customer_id,
            earlier.created_at >= shift_days(Interaction.created_at, -CONTACT_WINDOW_DAYS),
            # Redundant with the next line, but it bounds the index range from above: without it the
            # probe walks every later interaction of the customer too.
            earlier.created_at <= Interaction.created_at,
            or_(earlier.created_at < Interaction.created_at,
                and_(earlier.created_at == Interaction.created_at, earlier.id < Interaction.id)),
        )
    )
    bought_after = exists(
        select(Order.id).where(
            Order.customer_id == Interaction.customer_id,
            Order.ordered_at > Interaction.created_at,
            Order.ordered_at <= shift_days(Interaction.created_at, PURCHASE_WINDOW_DAYS),
            Order.status != "cancelled",
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


def _aggregates(rows) -> list[ColumnElement]:
    first = and_(rows.c.customer_id.is_not(None), rows.c.repeat == 0)
    return [
        func.count(rows.c.id),
        func.count(rows.c.customer_id.distinct()),
        func.coalesce(func.sum(case((first, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(first, rows.c.outcome == "resolved"), 1), else_=0)), 0),
        func.coalesce(func.sum(rows.c.repeat), 0),
        func.coalesce(func.sum(rows.c.bought), 0),
    ]


def _figures_and_groups(session: Session, scope: ScopeFilter, window: Window,
                        key: ColumnElement | None = None) -> tuple[KpiFigures, dict[Any, KpiFigures]]:
    """The period's totals and, given a grouping key, its groups: the flags are computed once for both."""
    if key is None:
        rows = _flagged_rows(scope, window)
        return KpiFigures(*(int(v or 0) for v in session.execute(select(*_aggregates(rows))).one())), {}
    rows = _flagged_rows(scope, window, key.label("key"))
    per_group = select(literal(0).label("is_total"), rows.c.key, *_aggregates(rows)).group_by(rows.c.key)
    total = select(literal(1), null(), *_aggregates(rows))
    found: dict[Any, KpiFigures] = {}
    totals = KpiFigures()
    for is_total, group, *values in session.execute(per_group.union_all(total)).all():
        if is_total:
            totals = KpiFigures(*(int(v or 0) for v in values))
        else:
            found[group] = KpiFigures(*(int(v or 0) for v in values))
    return totals, found


def followup_figures(session: Session, scope: ScopeFilter, window: Window, *, as_of: dt.datetime,
                     as_of_date: dt.date) -> dict[str, Any]:
    created = session.scalar(select(func.count(FollowUp.id)).where(
        FollowUp.created_at >= window.start, FollowUp.created_at < window.end, scope.follow_ups()))
    durations = list(session.scalars(select(completion_time()).where(
        FollowUp.status == "done", FollowUp.completed_at >= window.start, FollowUp.completed_at < window.end,
        scope.follow_ups())))
    # Open now, or done only after `as_of`: two index-friendly counts instead of one scan of history.
    still_open = session.scalar(select(func.count(FollowUp.id)).where(
        FollowUp.status == "open", FollowUp.due_date < as_of_date, FollowUp.created_at < as_of, scope.follow_ups()))
    done_later = session.scalar(select(func.count(FollowUp.id)).where(
        FollowUp.status != "cancelled", FollowUp.status != "open", FollowUp.completed_at >= as_of,
        FollowUp.due_date < as_of_date,
        FollowUp.created_at < as_of, scope.follow_ups()))
    overdue = (still_open or 0) + (done_later or 0)
    return {
        "followups_created": int(created or 0),
        "followups_completed": len(durations),
        "followups_overdue": int(overdue or 0),
        "median_completion_hours": median_hours(durations),
    }


def figures(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo, *, now: dt.datetime) -> KpiFigures:
    return _figures_with_groups(session, scope, period, tz, now=now)[0]


def _figures_with_groups(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo, *, now: dt.datetime,
                         group_by: str | None = None) -> tuple[KpiFigures, dict[Any, KpiFigures]]:
    window = Window.of(period, tz)
    local_today = local_day(now, tz)
    as_of = min(window.end, now)
    as_of_date = min(period.end, local_today)
    base, groups = _interaction_figures(session, scope, period, tz, group_by)
    if scope.kind == "all" and kpi_rollup.covers(kpi_rollup.follow_up_rollup_zone(session), tz, period.start,
                                                 period.end):
        followups = _followup_figures_from_rollup(period, tz, session, as_of=as_of, as_of_date=as_of_date)
    else:
        followups = followup_figures(session, scope, window, as_of=as_of, as_of_date=as_of_date)
    return KpiFigures(**{**base.__dict__, **followups}), groups


def _followup_figures_from_rollup(period: Period, tz: ZoneInfo, session: Session, *, as_of: dt.datetime,
                                  as_of_date: dt.date) -> dict[str, Any]:
    """followup_figures company-wide, from the rollup: the same four figures, exactly.

    `as_of` is the local midnight starting `as_of_date` for a period in the past, or now (later that
    day) for one that is not over: the rollup counts overdue follow-ups at midnights."""
    summed = kpi_rollup.follow_up_summed(session, first_day=period.start, end_day=period.end, as_of_day=as_of_date,
                                         as_of_midnight=local_midnight_utc(as_of_date, tz), as_of=as_of)
    return {
        "followups_created": summed.created,
        "followups_completed": summed.completed,
        "followups_overdue": summed.overdue,
        "median_completion_hours": median_hours(summed.middle_durations),
    }


def _rollup_covers(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo) -> bool:
    """Company-wide figures come from the daily rollup when its days are the viewer's local days."""
    return scope.kind == "all" and kpi_rollup.covers(kpi_rollup.rollup_zone(session), tz, period.start, period.end)


def _interaction_figures(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo,
                         group_by: str | None) -> tuple[KpiFigures, dict[Any, KpiFigures]]:
    if not _rollup_covers(session, scope, period, tz):
        return _figures_and_groups(session, scope, Window.of(period, tz), _group_key(period, tz, group_by))

    def as_figures(values: kpi_rollup.Summed) -> KpiFigures:
        return KpiFigures(*values[:6])

    total = kpi_rollup.summed(session, dimension="all", first_day=period.start, end_day=period.end)
    totals = as_figures(total.get(None, kpi_rollup.Summed()))
    if group_by is None:
        return totals, {}
    if group_by == "day":
        index = {day: i for i, day in enumerate(period.local_days())}
        per_day = kpi_rollup.summed(session, dimension="all", first_day=period.start, end_day=period.end, by="day")
        return totals, {index[day]: as_figures(values) for day, values in per_day.items()}
    per_key = kpi_rollup.summed(session, dimension=group_by, first_day=period.start, end_day=period.end, by="key")
    return totals, {(int(key) if group_by == "employee" else key): as_figures(values)
                    for key, values in per_key.items()}


# ---- groups and trend --------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupRow:
    key: str  # employee name, channel, type or ISO date
    figures: KpiFigures
    employee_id: int | None = None  # grouped by employee: whose row this is
    folded: bool = False  # grouped by employee: everyone the viewer may not see individually, as one row


def _day_bucket(period: Period, tz: ZoneInfo) -> ColumnElement:
    """The index of each interaction's local day in the period: how many local midnights it follows."""
    return _midnights_passed(Interaction.created_at, [local_midnight_utc(day, tz) for day in period.local_days()[1:]])


def _midnights_passed(moment: ColumnElement, edges: list[dt.datetime], before: int = 0) -> ColumnElement:
    # A balanced tree of CASEs: ~9 comparisons per row for a year, where a flat CASE made ~180 (a
    # store's year trend took 0.8-1.2 s in comparisons alone).
    if not edges:
        return literal(before)
    middle = len(edges) // 2
    return case((moment < edges[middle], _midnights_passed(moment, edges[:middle], before)),
                else_=_midnights_passed(moment, edges[middle + 1:], before + middle + 1))


def _group_key(period: Period, tz: ZoneInfo, group_by: str | None) -> ColumnElement | None:
    if group_by is None:
        return None
    if group_by == "day":
        return _day_bucket(period, tz)
    return {"employee": Interaction.employee_id, "channel": Interaction.channel, "type": Interaction.type}[group_by]


def _group_rows(session: Session, period: Period, group_by: str, found: dict[Any, KpiFigures]) -> list[GroupRow]:
    if group_by == "day":
        days = period.local_days()
        return [GroupRow(day.isoformat(), found.get(i, KpiFigures())) for i, day in enumerate(days)]
    if group_by == "employee":
        # Company-wide that is everyone: reading all names beats compiling thousands of bound ids (0.18 s for 5,000).
        wanted = Employee.id.in_(list(found)) if len(found) <= TEAMS_PER_QUERY else true()
        names = dict(session.execute(select(Employee.id, Employee.name).where(wanted)).all())
        result = [GroupRow(names.get(k, f"#{k}"), f) for k, f in found.items()]
    else:
        result = [GroupRow(str(k), f) for k, f in found.items()]
    return sorted(result, key=lambda g: (-g.figures.interactions, g.key))


@dataclass(frozen=True)
class _Excluding:
    """The interactions of `scope` logged by anyone but `shown` (what `_flagged_rows_by_probes` reads)."""

    scope: ScopeFilter
    shown: tuple[int, ...]
    kind: str = "excluding"  # never "all": the one-pass path would ignore the filter

    def interactions(self, table=Interaction) -> ColumnElement[bool]:
        return and_(self.scope.interactions(table), table.employee_id.not_in(self.shown))


def _people_rows(session: Session, viewer: Viewer, scope: ScopeFilter, period: Period, tz: ZoneInfo,
                 found: dict[Any, KpiFigures]) -> list[GroupRow]:
    """A row per person whose figures the viewer could ask for directly (permissions.sees_figures_of,
    the rule of `/kpi @someone`), and everyone else in one folded row, counted again from their
    interactions (distinct customers do not add up), so the table still sums to the scope's total."""
    people = {e.id: e for e in session.scalars(select(Employee).where(Employee.id.in_([k for k in found if k])))}
    shown = {k for k in found if (permissions.sees_figures_of(viewer, people[k]) if k in people
                                  else permissions.sees_everything(viewer))}
    rows = sorted((GroupRow(people[k].name if k in people else f"#{k}", f, employee_id=k)
                   for k, f in found.items() if k in shown), key=lambda g: (-g.figures.interactions, g.key))
    if len(shown) < len(found):
        others, _ = _figures_and_groups(session, _Excluding(scope, tuple(sorted(shown))), Window.of(period, tz))
        rows.append(GroupRow("", others, folded=True))
    return rows


@dataclass(frozen=True)
class TrendPoint:
    day: dt.date
    interactions: int
    resolved: int  # interactions with outcome "resolved"


def daily_counts(session: Session, scope: ScopeFilter, period: Period, tz: ZoneInfo) -> list[TrendPoint]:
    """Interactions and resolved ones per local day: the cheap series behind the trend chart."""
    if _rollup_covers(session, scope, period, tz):
        per_day = kpi_rollup.summed(session, dimension="all", first_day=period.start, end_day=period.end, by="day")
        days = [(day, per_day.get(day, kpi_rollup.Summed())) for day in period.local_days()]
        return [TrendPoint(day, figures.interactions, figures.resolved) for day, figures in days]
    window = Window.of(period, tz)
    bucket = _day_bucket(period, tz)
    rows = session.execute(
        select(bucket, func.count(Interaction.id), func.sum(case((Interaction.outcome == "resolved", 1), else_=0)))
        .where(Interaction.created_at >= window.start, Interaction.created_at < window.end, scope.interactions())
        .group_by(bucket)
    ).all()
    found = {key: (int(count), int(resolved or 0)) for key, count, resolved in rows}
    return [TrendPoint(day, *found.get(i, (0, 0))) for i, day in enumerate(period.local_days())]


# ---- the report --------------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiReport:
    scope: ScopeFilter
    period: Period
    current: KpiFigures
    previous: KpiFigures
    groups: list[GroupRow] = field(default_factory=list)
    group_by: str | None = None
    trend: list[TrendPoint] = field(default_factory=list)  # per local day, current period


def kpi_report(session: Session, viewer: Viewer, query: KpiQuery, *, now: dt.datetime) -> KpiReport:
    tz = ZoneInfo(viewer.timezone)
    scope = resolve_scope(session, viewer, query.scope)
    current, found = _figures_with_groups(session, scope, query.period, tz, now=now, group_by=query.group_by)
    previous = figures(session, scope, query.period.previous, tz, now=now)
    if query.group_by == "employee":
        groups = _people_rows(session, viewer, scope, query.period, tz, found)
    else:
        groups = _group_rows(session, query.period, query.group_by, found) if query.group_by else []
    trend = daily_counts(session, scope, query.period, tz) if query.period.days > 1 else []
    return KpiReport(scope, query.period, current, previous, groups, query.group_by, trend)


# ---- many teams at once ------------------------------------------------------------------------

TEAMS_PER_QUERY = 500  # team ids per IN list, well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class _TeamsFilter:
    """The interaction side of ScopeFilter for a set of teams (what `_flagged_rows_by_probes` reads)."""

    team_ids: tuple[int, ...]

    def interactions(self, table=Interaction) -> ColumnElement[bool]:
        return table.team_id.in_(self.team_ids)


def team_figures(session: Session, team_ids: Any, period: Period, tz: ZoneInfo, *,
                 now: dt.datetime) -> dict[int, KpiFigures]:
    """`figures(session, ScopeFilter("team", ..., team_id=t), period, tz, now=now)` for every team t at once.

    Same definitions, same rows: interactions grouped by the team recorded on them, follow-ups by their
    assignee's current team; a handful of queries per TEAMS_PER_QUERY teams instead of five per team."""
    window = Window.of(period, tz)
    local_today = local_day(now, tz)
    as_of, as_of_date = min(window.end, now), min(period.end, local_today)
    ids = sorted(set(team_ids))
    result: dict[int, KpiFigures] = {}
    for offset in range(0, len(ids), TEAMS_PER_QUERY):
        chunk = tuple(ids[offset:offset + TEAMS_PER_QUERY])
        base = _team_interaction_figures(session, chunk, window)
        followups = _team_followup_figures(session, chunk, window, as_of=as_of, as_of_date=as_of_date)
        for team_id in chunk:
            result[team_id] = KpiFigures(**{**base.get(team_id, KpiFigures()).__dict__, **followups[team_id]})
    return result


def _team_interaction_figures(session: Session, team_ids: tuple[int, ...], window: Window) -> dict[int, KpiFigures]:
    # Probes, not the one ordered pass: 200 of 500 teams, one day or week-to-date, 0.1-0.2 s against 1.3 s
    # (SQLite, 10M interactions): the pass reads everyone's interactions and orders over 17+ days.
    rows = _flagged_rows_by_probes(_TeamsFilter(team_ids), window, Interaction.team_id.label("key"))  # type: ignore[arg-type]
    found = session.execute(select(rows.c.key, *_aggregates(rows)).group_by(rows.c.key)).all()
    return {key: KpiFigures(*(int(v or 0) for v in values)) for key, *values in found}


def _team_followup_figures(session: Session, team_ids: tuple[int, ...], window: Window, *, as_of: dt.datetime,
                           as_of_date: dt.date) -> dict[int, dict[str, Any]]:
    """followup_figures for each team: the same four counts, per assignee's current team."""
    team = Employee.team_id

    def per_team(*conditions: ColumnElement[bool], assignee: ColumnElement = FollowUp.assignee_id) -> dict[int, int]:
        return {t: int(n) for t, n in session.execute(
            select(team, func.count(FollowUp.id)).join(Employee, Employee.id == assignee)
            .where(team.in_(team_ids), *conditions).group_by(team)).all()}

    created = per_team(FollowUp.created_at >= window.start, FollowUp.created_at < window.end)
    still_open = per_team(FollowUp.status == "open", FollowUp.due_date < as_of_date, FollowUp.created_at < as_of)
    done_later = per_team(FollowUp.status != "cancelled", FollowUp.status != "open", FollowUp.completed_at >= as_of,
                          FollowUp.due_date < as_of_date, FollowUp.created_at < as_of,
                          # Few follow-ups were completed after `as_of` (completed_at index); the teams' staff
                          # have their whole done history (assignee index, which SQLite picks for the join).
                          assignee=func.coalesce(FollowUp.assignee_id, 0))
    durations: dict[int, list[int]] = {}
    for team_id, microseconds in session.execute(
            select(team, completion_time()).join(Employee, Employee.id == FollowUp.assignee_id)
            .where(team.in_(team_ids), FollowUp.status == "done", FollowUp.completed_at >= window.start,
                   FollowUp.completed_at < window.end)).all():
        durations.setdefault(team_id, []).append(microseconds)
    return {team_id: {
        "followups_created": created.get(team_id, 0),
        "followups_completed": len(durations.get(team_id, [])),
        "followups_overdue": still_open.get(team_id, 0) + done_later.get(team_id, 0),
        "median_completion_hours": median_hours(durations.get(team_id, [])),
    } for team_id in team_ids}
