"""What the morning digests say: plain data, composed from the database, rendered elsewhere.

Employee digest: follow-ups due today and overdue, customers they promised to call back (an
interaction of theirs ending "follow_up" in the last 14 days, with no contact since and no open
follow-up already listed), VIP customers with an open follow-up in their store, and yesterday in one
line. Team digest (managers): yesterday and week-to-date KPIs against the period before, overdue
follow-ups per person and the customers waiting longest.

A digest is sent only when there is something to act on or to read: compose_* return None otherwise
(an employee with nothing due and no promises gets no message, even if they worked yesterday).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from store import dialect, permissions
from store.clock import local_day, local_midnight_utc
from store.kpi import KpiFigures, team_figures
from store.kpi_query import Period, PeriodKind
from store.models import Customer, Employee, FollowUp, Interaction, Team
from store.vocabulary import CustomerStatus, FollowUpStatus, Outcome

VIP_TIERS = ("gold", "platinum", "vip")
CALLBACK_DAYS = 14
MAX_LINES = 8
WAITING_LINES = 5  # customers waiting longest, per team
BATCH_SIZE = 500  # employees per set-based query; well under SQLite's bound-parameter limit


class Recipient(Protocol):
    """An Employee row or the access middleware's (frozen) snapshot, read only."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...  # a Role
    @property
    def team_id(self) -> int | None: ...
    @property
    def store_id(self) -> int | None: ...


@dataclass(frozen=True)
class FollowUpLine:
    follow_up_id: int
    customer_id: int | None
    customer_name: str | None  # None: no customer, or an erased one
    due_date: dt.date
    note: str | None


@dataclass(frozen=True)
class CallbackLine:
    customer_id: int
    customer_name: str | None
    promised_on: dt.date  # local date of the interaction
    channel: str


@dataclass(frozen=True)
class VipLine:
    customer_id: int
    customer_name: str | None
    tier: str
    assignee_name: str
    due_date: dt.date


@dataclass(frozen=True)
class DayLine:
    interactions: int
    customers: int
    followups_done: int


@dataclass(frozen=True)
class EmployeeDigest:
    employee_id: int
    local_date: dt.date
    due_today: list[FollowUpLine]
    due_today_total: int
    overdue: list[FollowUpLine]
    overdue_total: int
    callbacks: list[CallbackLine]
    vip_issues: list[VipLine]
    yesterday: DayLine


@dataclass(frozen=True)
class PersonOverdue:
    employee_id: int
    name: str
    count: int
    oldest_due: dt.date


@dataclass(frozen=True)
class WaitingCustomer:
    customer_id: int | None
    customer_name: str | None
    waiting_since: dt.date  # local date the follow-up was created
    assignee_name: str
    due_date: dt.date


@dataclass(frozen=True)
class TeamDigest:
    manager_id: int
    team_name: str
    local_date: dt.date
    yesterday: KpiFigures
    day_before: KpiFigures
    week: Period
    week_figures: KpiFigures
    previous_week_figures: KpiFigures
    overdue_by_person: list[PersonOverdue] = field(default_factory=list)
    waiting_longest: list[WaitingCustomer] = field(default_factory=list)


def display_name(customer: Customer | None) -> str | None:
    if customer is None or customer.status == CustomerStatus.ERASED:
        return None
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
    return name or None


def compose_employee_digest(session: Session, employee: Recipient, *, today: dt.date, now: dt.datetime,
                            tz: ZoneInfo) -> EmployeeDigest | None:
    return compose_employee_digests(session, [employee], today=today, now=now, tz=tz)[employee.id]


def compose_employee_digests(session: Session, employees: Sequence[Recipient], *, today: dt.date,
                             now: dt.datetime, tz: ZoneInfo) -> dict[int, EmployeeDigest | None]:
    """Digests of many employees sharing one time zone: a few set-based queries per section, not per person.

    The ids go into IN lists, chunked so SQLite's bound-parameter limit is never reached.
    """
    result: dict[int, EmployeeDigest | None] = {}
    for offset in range(0, len(employees), BATCH_SIZE):
        chunk = employees[offset:offset + BATCH_SIZE]
        result.update(_compose_chunk(session, chunk, today=today, now=now, tz=tz))
    return result


def _compose_chunk(session: Session, employees: Sequence[Recipient], *, today: dt.date, now: dt.datetime,
                   tz: ZoneInfo) -> dict[int, EmployeeDigest | None]:
    ids = sorted({e.id for e in employees})
    open_due = _open_due(session, ids, today)
    callbacks = _callbacks(session, ids, now=now, tz=tz)
    vip_rows = _vip_rows(session, sorted({e.store_id for e in employees if e.store_id is not None}))
    yesterday = _day_lines(session, ids, today - dt.timedelta(days=1), tz)
    result: dict[int, EmployeeDigest | None] = {}
    for employee in employees:
        due = open_due.get(employee.id, _NOTHING_DUE)
        due_today = [line for line in due.lines if line.due_date == today]
        overdue = [line for line in due.lines if line.due_date < today]
        # A customer with a follow-up listed above is never among the promises too: `_callbacks` leaves out
        # every customer with an open follow-up assigned to the employee, whatever its due date.
        promised = callbacks.get(employee.id, [])[:MAX_LINES]
        vip_issues = _vip_issues_of(employee, vip_rows.get(employee.store_id, []) if employee.store_id else [])
        if not (due_today or overdue or promised or vip_issues):
            result[employee.id] = None
            continue
        result[employee.id] = EmployeeDigest(
            employee_id=employee.id, local_date=today, due_today=due_today, due_today_total=due.due_today_total,
            overdue=overdue, overdue_total=due.overdue_total, callbacks=promised, vip_issues=vip_issues,
            yesterday=yesterday.get(employee.id, DayLine(interactions=0, customers=0, followups_done=0)))
    return result


def _name(first: str | None, last: str | None, status: str | None) -> str | None:
    if status is None or status == CustomerStatus.ERASED:
        return None
    return " ".join(part for part in (first, last) if part) or None


@dataclass(frozen=True)
class _OpenDue:
    lines: list[FollowUpLine]  # the first MAX_LINES due today and the first MAX_LINES overdue, by due date
    due_today_total: int
    overdue_total: int


_NOTHING_DUE = _OpenDue(lines=[], due_today_total=0, overdue_total=0)


def _open_due(session: Session, ids: list[int], today: dt.date) -> dict[int, _OpenDue]:
    """Each employee's open follow-ups due today or before: the lines a digest shows and the totals.

    Ranked and counted in the assignee index (ix_follow_ups_assignee_open); only the lines shown read
    their follow-up (note) and customer (name): ~40 overdue per person at 10M interactions, 8 shown."""
    due_today = case((FollowUp.due_date == today, 1), else_=0)
    part = (FollowUp.assignee_id, due_today)
    ranked = (
        select(FollowUp.id.label("id"), FollowUp.assignee_id.label("assignee_id"),
               FollowUp.due_date.label("due_date"), FollowUp.customer_id.label("customer_id"),
               due_today.label("due_today"),
               func.row_number().over(partition_by=part, order_by=(FollowUp.due_date, FollowUp.id)).label("rank"),
               func.count().over(partition_by=part).label("total"))
        .where(FollowUp.assignee_id.in_(ids), FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_date <= today)
        .subquery("ranked")
    )
    shown = aliased(FollowUp)
    # The note by a primary-key probe per line shown: as a join, PostgreSQL's planner (expecting every
    # ranked row, not the few kept) hashed the whole follow_ups table to find them (0.5 s per batch).
    note = select(shown.note).where(shown.id == ranked.c.id).scalar_subquery()
    # Plain columns, not ORM entities.
    rows = session.execute(
        select(ranked.c.assignee_id, ranked.c.id, ranked.c.customer_id, ranked.c.due_date, ranked.c.due_today,
               ranked.c.rank, ranked.c.total, note, Customer.first_name, Customer.last_name, Customer.status)
        .outerjoin(Customer, Customer.id == ranked.c.customer_id)
        .where(ranked.c.rank <= MAX_LINES)
        .order_by(ranked.c.assignee_id, ranked.c.due_date, ranked.c.id)
    ).all()
    lines: dict[int, list[FollowUpLine]] = defaultdict(list)
    totals: dict[int, dict[bool, int]] = defaultdict(dict)
    for assignee_id, follow_up_id, customer_id, due_date, is_today, _rank, total, note, first, last, status in rows:
        lines[assignee_id].append(FollowUpLine(follow_up_id=follow_up_id, customer_id=customer_id,
                                               customer_name=_name(first, last, status), due_date=due_date,
                                               note=note))
        totals[assignee_id][bool(is_today)] = int(total)
    return {assignee_id: _OpenDue(lines=found, due_today_total=totals[assignee_id].get(True, 0),
                                  overdue_total=totals[assignee_id].get(False, 0))
            for assignee_id, found in lines.items()}


def _callbacks(session: Session, ids: list[int], *, now: dt.datetime, tz: ZoneInfo) -> dict[int, list[CallbackLine]]:
    """Each employee's unkept promises, oldest first, one per customer (uncapped: the caller drops listed ones)."""
    later = aliased(Interaction)
    open_follow_up = aliased(FollowUp)
    rows = session.execute(
        select(Interaction.employee_id, Interaction.created_at, Interaction.channel, Customer.id,
               Customer.first_name, Customer.last_name, Customer.status)
        .join(Customer, Customer.id == Interaction.customer_id)
        .where(
            Interaction.employee_id.in_(ids),
            Interaction.outcome == Outcome.FOLLOW_UP,
            Interaction.created_at >= now - dt.timedelta(days=CALLBACK_DAYS),
            ~select(later.id).where(later.customer_id == Interaction.customer_id,
                                    later.created_at > Interaction.created_at).exists(),
            ~select(open_follow_up.id).where(open_follow_up.customer_id == Interaction.customer_id,
                                             open_follow_up.assignee_id == Interaction.employee_id,
                                             open_follow_up.status == FollowUpStatus.OPEN).exists(),
        )
        .order_by(Interaction.employee_id, Interaction.created_at, Interaction.id)
    ).all()
    by_employee: dict[int, list[CallbackLine]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for employee_id, created_at, channel, customer_id, first, last, status in rows:
        if (employee_id, customer_id) in seen or status == CustomerStatus.ERASED:
            continue
        seen.add((employee_id, customer_id))
        by_employee[employee_id].append(CallbackLine(customer_id=customer_id, customer_name=_name(first, last, status),
                                                     promised_on=local_day(created_at, tz), channel=channel))
    return by_employee


class _VipRow:
    """One open VIP follow-up of a store. Its line is built when a digest shows it: a store has hundreds
    (~660 at 10M interactions), each of its employees shows the first few."""

    def __init__(self, row: Sequence[Any]) -> None:
        self.row = row
        self.assignee_id: int = row[1]
        self.customer_id: int = row[4]

    @cached_property
    def line(self) -> VipLine:
        _, _, assignee_name, due_date, customer_id, first, last, status, tier, _ = self.row
        return VipLine(customer_id=customer_id, customer_name=_name(first, last, status), tier=tier or "",
                       assignee_name=assignee_name, due_date=due_date)


def _vip_rows(session: Session, store_ids: list[int]) -> dict[int, list[_VipRow]]:
    """Open follow-ups of each store's active VIP customers, earliest due first: those assigned to the
    store's staff, and those of customers whose home store it is, whoever handles them (a VIP of the
    Lyon store who complained to the call centre is Lyon's business too)."""
    if not store_ids:
        return {}
    assignee = aliased(Employee)
    open_vip_issues = (
        select(FollowUp.id, assignee.id, assignee.name, FollowUp.due_date, Customer.id, Customer.first_name,
               Customer.last_name, Customer.status, Customer.loyalty_tier)
        .select_from(FollowUp)
        .join(Customer, Customer.id == FollowUp.customer_id)
        .join(assignee, assignee.id == FollowUp.assignee_id)
        .where(FollowUp.status == FollowUpStatus.OPEN, func.lower(Customer.loyalty_tier).in_(VIP_TIERS),
               Customer.status == CustomerStatus.ACTIVE)
    )
    # Each side driven by its own index (staff's assignee index, customers' home store), not by every
    # open follow-up of the company.
    staff = select(Employee.id).where(Employee.store_id.in_(store_ids))
    found = [*session.execute(open_vip_issues.add_columns(assignee.store_id)
                              .where(FollowUp.assignee_id.in_(staff))),
             *session.execute(open_vip_issues.add_columns(Customer.preferred_store_id)
                              .where(Customer.preferred_store_id.in_(store_ids)))]
    by_store: dict[int, dict[int, Sequence[Any]]] = defaultdict(dict)
    for row in found:
        by_store[row[-1]][row[0]] = row  # one line per follow-up even when both sides find it
    result: dict[int, list[_VipRow]] = {}
    for store_id, rows in by_store.items():
        ordered = sorted(rows.values(), key=lambda r: (r[3], r[0]))  # due date, then follow-up id
        result[store_id] = [_VipRow(row) for row in ordered]
    return result


def _vip_issues_of(employee: Recipient, rows: list[_VipRow]) -> list[VipLine]:
    """Colleagues' VIP follow-ups in the employee's store: the earliest due per customer, a few customers."""
    if employee.store_id is None:
        return []
    seen: set[int] = set()
    result = []
    for row in rows:
        if row.assignee_id == employee.id or row.customer_id in seen:
            continue
        seen.add(row.customer_id)
        result.append(row.line)
        if len(result) == MAX_LINES:
            break
    return result


def _day_lines(session: Session, ids: list[int], day: dt.date, tz: ZoneInfo) -> dict[int, DayLine]:
    start, end = local_midnight_utc(day, tz), local_midnight_utc(day + dt.timedelta(days=1), tz)
    worked = session.execute(
        select(Interaction.employee_id, func.count(Interaction.id), func.count(Interaction.customer_id.distinct()))
        .where(Interaction.employee_id.in_(ids), Interaction.created_at >= start, Interaction.created_at < end)
        .group_by(Interaction.employee_id)
    ).all()
    done = dict(session.execute(
        select(FollowUp.assignee_id, func.count(FollowUp.id))
        # A day's completions (completed_at index) are far fewer than the batch's whole done history (assignee
        # index, which planners pick for the IN list): coalesce keeps them on the former.
        .where(func.coalesce(FollowUp.assignee_id, 0).in_(ids), FollowUp.status == FollowUpStatus.DONE,
               FollowUp.completed_at >= start, FollowUp.completed_at < end)
        .group_by(FollowUp.assignee_id)
    ).all())
    counts = {employee_id: (int(n), int(c)) for employee_id, n, c in worked}
    lines = {}
    for employee_id in ids:
        interactions, customers = counts.get(employee_id, (0, 0))
        lines[employee_id] = DayLine(interactions=interactions, customers=customers,
                                     followups_done=int(done.get(employee_id, 0)))
    return lines


def week_through_yesterday(today: dt.date) -> Period:
    """The week containing yesterday, up to and including yesterday (Monday: all of last week)."""
    yesterday = today - dt.timedelta(days=1)
    return Period(kind=PeriodKind.WEEK, start=yesterday - dt.timedelta(days=yesterday.weekday()), end=today)


def compose_team_digest(session: Session, manager: Recipient, *, today: dt.date, now: dt.datetime,
                        tz: ZoneInfo) -> TeamDigest | None:
    return compose_team_digests(session, [manager], today=today, now=now, tz=tz)[manager.id]


def compose_team_digests(session: Session, managers: Sequence[Recipient], *, today: dt.date, now: dt.datetime,
                         tz: ZoneInfo) -> dict[int, TeamDigest | None]:
    """Team digests of many managers sharing one time zone: a constant number of queries for all their teams.

    None for managers who do not see a team (store.permissions.sees_team) and for quiet teams."""
    result: dict[int, TeamDigest | None] = {m.id: None for m in managers}
    leading = [m for m in managers if permissions.sees_team(m)]
    team_ids = sorted({m.team_id for m in leading if m.team_id is not None})
    for offset in range(0, len(team_ids), BATCH_SIZE):
        chunk = team_ids[offset:offset + BATCH_SIZE]
        teams = _team_sections(session, chunk, today=today, now=now, tz=tz)
        for manager in leading:
            if manager.team_id in teams:
                # Co-managers get the same digest, each with lists of their own.
                team = teams[manager.team_id]
                result[manager.id] = replace(team, manager_id=manager.id,
                                             overdue_by_person=list(team.overdue_by_person),
                                             waiting_longest=list(team.waiting_longest))
    return result


def _team_sections(session: Session, team_ids: list[int], *, today: dt.date, now: dt.datetime,
                   tz: ZoneInfo) -> dict[int, TeamDigest]:
    """The digest of each team with something to say, addressed to no one yet (manager_id 0)."""
    names = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())
    yesterday = Period(kind=PeriodKind.TODAY, start=today - dt.timedelta(days=1), end=today)
    week = week_through_yesterday(today)
    day_figures = team_figures(session, team_ids, yesterday, tz, now=now)
    day_before = team_figures(session, team_ids, yesterday.previous, tz, now=now)
    week_figures = team_figures(session, team_ids, week, tz, now=now)
    previous_week = team_figures(session, team_ids, week.previous, tz, now=now)
    overdue = _overdue_by_person(session, team_ids, today)
    waiting = _waiting_longest(session, team_ids, tz)
    sections: dict[int, TeamDigest] = {}
    for team_id in team_ids:
        if not (day_figures[team_id].interactions or week_figures[team_id].interactions
                or overdue.get(team_id) or waiting.get(team_id)):
            continue
        sections[team_id] = TeamDigest(
            manager_id=0, team_name=names.get(team_id, ""), local_date=today, yesterday=day_figures[team_id],
            day_before=day_before[team_id], week=week, week_figures=week_figures[team_id],
            previous_week_figures=previous_week[team_id], overdue_by_person=overdue.get(team_id, [])[:MAX_LINES],
            waiting_longest=waiting.get(team_id, []))
    return sections


def _overdue_by_person(session: Session, team_ids: list[int], today: dt.date) -> dict[int, list[PersonOverdue]]:
    """Active members with open follow-ups due before today, most overdue first (then by name)."""
    count = func.count()  # count(*) of the inner join: PostgreSQL counts from the assignee index alone
    rows = session.execute(
        select(Employee.team_id, Employee.id, Employee.name, count, func.min(FollowUp.due_date))
        .join(FollowUp, and_(FollowUp.assignee_id == Employee.id, FollowUp.status == FollowUpStatus.OPEN,
                             FollowUp.due_date < today))
        .where(Employee.team_id.in_(team_ids), Employee.active.is_(True))
        .group_by(Employee.team_id, Employee.id, Employee.name)
        .order_by(Employee.team_id, count.desc(), Employee.name, Employee.id)
    ).all()
    by_team: dict[int, list[PersonOverdue]] = defaultdict(list)
    for team_id, employee_id, name, n, oldest in rows:
        if team_id is not None:  # always: members of the teams asked for
            by_team[team_id].append(PersonOverdue(employee_id=employee_id, name=name, count=int(n), oldest_due=oldest))
    return by_team


def _waiting_longest(session: Session, team_ids: list[int], tz: ZoneInfo) -> dict[int, list[WaitingCustomer]]:
    """Each team's WAITING_LINES oldest open follow-ups with a customer, assigned to its active members."""
    rank = func.row_number().over(partition_by=Employee.team_id, order_by=(FollowUp.created_at, FollowUp.id))
    ranked = (
        select(Employee.team_id.label("team_id"), Employee.name.label("assignee_name"), FollowUp.id.label("id"),
               FollowUp.customer_id.label("customer_id"), FollowUp.created_at.label("created_at"),
               FollowUp.due_date.label("due_date"), rank.label("rank"))
        .join(Employee, Employee.id == FollowUp.assignee_id)
        .where(Employee.team_id.in_(team_ids), Employee.active.is_(True), FollowUp.status == FollowUpStatus.OPEN,
               FollowUp.customer_id.is_not(None))
        .subquery("ranked")
    )
    rows = session.execute(
        select(ranked.c.team_id, ranked.c.customer_id, ranked.c.created_at, ranked.c.assignee_name, ranked.c.due_date)
        .where(ranked.c.rank <= WAITING_LINES)
        .order_by(ranked.c.team_id, ranked.c.rank)
    ).all()
    # The few customers' names by primary key, apart: joined to the ranking, PostgreSQL's planner (expecting
    # every open follow-up, not 5 per team) hashed the whole customers table (1.7 s per batch at 10M).
    names = {customer_id: _name(first, last, status) for customer_id, first, last, status in session.execute(
        select(Customer.id, Customer.first_name, Customer.last_name, Customer.status)
        .where(dialect.id_among(session.get_bind(), Customer.id, sorted({row[1] for row in rows}))))}
    by_team: dict[int, list[WaitingCustomer]] = defaultdict(list)
    for team_id, customer_id, created_at, assignee_name, due_date in rows:
        by_team[team_id].append(WaitingCustomer(customer_id=customer_id, customer_name=names.get(customer_id),
                                                waiting_since=local_day(created_at, tz), assignee_name=assignee_name,
                                                due_date=due_date))
    return by_team


__all__ = [
    "CallbackLine",
    "DayLine",
    "EmployeeDigest",
    "FollowUpLine",
    "PersonOverdue",
    "TeamDigest",
    "VipLine",
    "WaitingCustomer",
    "compose_employee_digest",
    "compose_employee_digests",
    "compose_team_digest",
    "compose_team_digests",
    "week_through_yesterday",
]
