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
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from store import permissions
from store.kpi import KpiFigures, ScopeFilter, figures, local_midnight_utc
from store.kpi_query import Period
from store.models import Customer, Employee, FollowUp, Interaction, Team

VIP_TIERS = ("gold", "platinum", "vip")
CALLBACK_DAYS = 14
MAX_LINES = 8


class Recipient(Protocol):
    id: int
    role: str
    team_id: int | None
    store_id: int | None


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
    if customer is None or customer.status == "erased":
        return None
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
    return name or None


def _local_date(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    return moment.replace(tzinfo=dt.UTC).astimezone(tz).date()


def compose_employee_digest(session: Session, employee: Recipient, *, today: dt.date, now: dt.datetime,
                            tz: ZoneInfo) -> EmployeeDigest | None:
    open_due = session.execute(
        select(FollowUp, Customer).outerjoin(Customer, Customer.id == FollowUp.customer_id)
        .where(FollowUp.assignee_id == employee.id, FollowUp.status == "open", FollowUp.due_date <= today)
        .order_by(FollowUp.due_date, FollowUp.id)
    ).all()
    lines = [FollowUpLine(f.id, f.customer_id, display_name(c), f.due_date, f.note) for f, c in open_due]
    due_today = [line for line in lines if line.due_date == today]
    overdue = [line for line in lines if line.due_date < today]
    listed_customers = {line.customer_id for line in lines if line.customer_id is not None}

    callbacks = _callbacks(session, employee, now=now, tz=tz, exclude=listed_customers)
    vip_issues = _vip_issues(session, employee) if employee.store_id is not None else []
    yesterday = _day_line(session, employee, today - dt.timedelta(days=1), tz)
    if not (due_today or overdue or callbacks or vip_issues):
        return None
    return EmployeeDigest(employee.id, today, due_today[:MAX_LINES], len(due_today), overdue[:MAX_LINES],
                          len(overdue), callbacks, vip_issues, yesterday)


def _callbacks(session: Session, employee: Recipient, *, now: dt.datetime, tz: ZoneInfo,
               exclude: set[int]) -> list[CallbackLine]:
    later = aliased(Interaction)
    open_follow_up = aliased(FollowUp)
    rows = session.execute(
        select(Interaction, Customer).join(Customer, Customer.id == Interaction.customer_id)
        .where(
            Interaction.employee_id == employee.id,
            Interaction.outcome == "follow_up",
            Interaction.created_at >= now - dt.timedelta(days=CALLBACK_DAYS),
            ~select(later.id).where(later.customer_id == Interaction.customer_id,
                                    later.created_at > Interaction.created_at).exists(),
            ~select(open_follow_up.id).where(open_follow_up.customer_id == Interaction.customer_id,
                                             open_follow_up.assignee_id == employee.id,
                                             open_follow_up.status == "open").exists(),
        )
        .order_by(Interaction.created_at)
    ).all()
    seen: set[int] = set(exclude)
    result = []
    for interaction, customer in rows:
        if customer.id in seen or customer.status == "erased":
            continue
        seen.add(customer.id)
        result.append(CallbackLine(customer.id, display_name(customer), _local_date(interaction.created_at, tz),
                                   interaction.channel))
    return result[:MAX_LINES]


def _vip_issues(session: Session, employee: Recipient) -> list[VipLine]:
    assignee = aliased(Employee)
    rows = session.execute(
        select(FollowUp, Customer, assignee.name)
        .join(Customer, Customer.id == FollowUp.customer_id)
        .join(assignee, assignee.id == FollowUp.assignee_id)
        # Driven by the store's staff (assignee index), not by every open follow-up of the company.
        .where(FollowUp.assignee_id.in_(select(Employee.id).where(Employee.store_id == employee.store_id)),
               FollowUp.status == "open",
               FollowUp.assignee_id != employee.id, func.lower(Customer.loyalty_tier).in_(VIP_TIERS),
               Customer.status == "active")
        .order_by(FollowUp.due_date, FollowUp.id)
        .limit(MAX_LINES * 4)  # a few per customer at most; the store may have thousands open
    ).all()
    seen: set[int] = set()
    result = []
    for follow_up, customer, assignee_name in rows:
        if customer.id not in seen:
            seen.add(customer.id)
            result.append(VipLine(customer.id, display_name(customer), customer.loyalty_tier or "", assignee_name,
                                  follow_up.due_date))
    return result[:MAX_LINES]


def _day_line(session: Session, employee: Recipient, day: dt.date, tz: ZoneInfo) -> DayLine:
    start, end = local_midnight_utc(day, tz), local_midnight_utc(day + dt.timedelta(days=1), tz)
    interactions, customers = session.execute(
        select(func.count(Interaction.id), func.count(Interaction.customer_id.distinct())).where(
            Interaction.employee_id == employee.id, Interaction.created_at >= start, Interaction.created_at < end)
    ).one()
    done = session.scalar(select(func.count(FollowUp.id)).where(
        FollowUp.assignee_id == employee.id, FollowUp.status == "done",
        FollowUp.completed_at >= start, FollowUp.completed_at < end))
    return DayLine(int(interactions), int(customers), int(done or 0))


def week_through_yesterday(today: dt.date) -> Period:
    """The week containing yesterday, up to and including yesterday (Monday: all of last week)."""
    yesterday = today - dt.timedelta(days=1)
    return Period("week", yesterday - dt.timedelta(days=yesterday.weekday()), today)


def compose_team_digest(session: Session, manager: Recipient, *, today: dt.date, now: dt.datetime,
                        tz: ZoneInfo) -> TeamDigest | None:
    if not permissions.sees_team(manager):
        return None
    team = session.get(Team, manager.team_id)
    scope = ScopeFilter("team", team.name if team else "", team_id=manager.team_id)
    yesterday = Period("today", today - dt.timedelta(days=1), today)
    week = week_through_yesterday(today)
    day_figures = figures(session, scope, yesterday, tz, now=now)
    day_before = figures(session, scope, yesterday.previous, tz, now=now)
    week_figures = figures(session, scope, week, tz, now=now)
    previous_week = figures(session, scope, week.previous, tz, now=now)

    members = select(Employee.id).where(Employee.team_id == manager.team_id, Employee.active.is_(True))
    overdue_rows = session.execute(
        select(Employee.id, Employee.name, func.count(FollowUp.id), func.min(FollowUp.due_date))
        .join(FollowUp, and_(FollowUp.assignee_id == Employee.id, FollowUp.status == "open",
                             FollowUp.due_date < today))
        .where(Employee.id.in_(members))
        .group_by(Employee.id, Employee.name)
        .order_by(func.count(FollowUp.id).desc(), Employee.name)
    ).all()
    overdue = [PersonOverdue(i, name, int(count), oldest) for i, name, count, oldest in overdue_rows]
    waiting_rows = session.execute(
        select(FollowUp, Customer, Employee.name)
        .join(Employee, Employee.id == FollowUp.assignee_id)
        .outerjoin(Customer, Customer.id == FollowUp.customer_id)
        .where(FollowUp.assignee_id.in_(members), FollowUp.status == "open", FollowUp.customer_id.is_not(None))
        .order_by(FollowUp.created_at, FollowUp.id)
        .limit(5)
    ).all()
    waiting = [WaitingCustomer(f.customer_id, display_name(c), _local_date(f.created_at, tz), name, f.due_date)
               for f, c, name in waiting_rows]
    if not (day_figures.interactions or week_figures.interactions or overdue or waiting):
        return None
    return TeamDigest(manager.id, scope.label, today, day_figures, day_before, week, week_figures, previous_week,
                      overdue[:MAX_LINES], waiting)


__all__ = [
    "EmployeeDigest", "TeamDigest", "FollowUpLine", "CallbackLine", "VipLine", "DayLine", "PersonOverdue",
    "WaitingCustomer", "compose_employee_digest", "compose_team_digest", "week_through_yesterday",
]
