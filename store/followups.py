"""Follow-ups: promises made to customers, with a due date and one person responsible.

Only the assignee, a manager of the assignee's team (or store) or an admin may close or move a
follow-up; a refusal carries a catalog key saying why. Every change is audited.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import audit, kpi_rollup, permissions
from store.errors import Refused
from store.interactions import SLACK_SOURCE, Actor, InteractionRefused, begin_write, resolve_customer
from store.models import Customer, Employee, FollowUp
from store.vocabulary import AuditAction, CustomerStatus, FollowUpStatus

SNOOZE_DAYS = (1, 3, 7)


class FollowUpRefused(Refused):
    """`key` is a catalog key explaining the refusal to the employee."""


@dataclass(frozen=True)
class OpenFollowUp:
    id: int
    customer_id: int | None
    customer_name: str | None
    due_date: dt.date
    note: str | None
    overdue: bool
    assignee_id: int


class _Acting(Actor, Protocol):
    @property
    def role(self) -> str: ...  # a Role


def open_follow_ups(session: Session, assignee_id: int, *, today: dt.date, limit: int = 50) -> list[OpenFollowUp]:
    """The assignee's open follow-ups, overdue first, then by due date (oldest promise first)."""
    rows = session.execute(
        select(FollowUp, Customer.first_name, Customer.last_name, Customer.status)
        .outerjoin(Customer, Customer.id == FollowUp.customer_id)
        .where(FollowUp.assignee_id == assignee_id, FollowUp.status == FollowUpStatus.OPEN)
        .order_by(FollowUp.due_date, FollowUp.id)
        .limit(limit)
    ).all()
    result = []
    for follow_up, first, last, status in rows:
        name = None if status == CustomerStatus.ERASED else (" ".join(p for p in (first, last) if p) or None)
        result.append(OpenFollowUp(id=follow_up.id, customer_id=follow_up.customer_id, customer_name=name,
                                   due_date=follow_up.due_date, note=follow_up.note,
                                   overdue=follow_up.due_date < today, assignee_id=follow_up.assignee_id))
    return result


def may_manage(employee: _Acting, assignee: Employee) -> bool:
    return permissions.acts_for(employee, assignee)


def _load_for_change(session: Session, follow_up_id: int, employee: _Acting) -> FollowUp:
    """The follow-up, if `employee` may change it. Someone else's gets the very refusal a missing id
    gets: the answer must not tell an id-guesser that it exists, whose it is, or in what state."""
    # Locked (PostgreSQL): a second tap on Done waits for the first to commit, then sees it done.
    follow_up = session.get(FollowUp, follow_up_id, with_for_update=True)
    assignee = session.get(Employee, follow_up.assignee_id) if follow_up is not None else None
    if follow_up is None or assignee is None or not may_manage(employee, assignee):
        raise FollowUpRefused("followups.error.not_found")
    return follow_up


def complete(session: Session, follow_up_id: int, *, employee: _Acting, now: dt.datetime,
             via: str = "slack:followups") -> FollowUp:
    """Mark done; completing an already-done follow-up (a double tap) changes nothing."""
    follow_up = _load_for_change(session, follow_up_id, employee)
    if follow_up.status == FollowUpStatus.DONE:
        return follow_up
    if follow_up.status != FollowUpStatus.OPEN:
        raise FollowUpRefused("followups.error.not_open")
    follow_up.status = FollowUpStatus.DONE
    follow_up.completed_at = now
    audit.record(session, employee_id=employee.id, actor=employee.slack_user_id, action=AuditAction.CHANGE,
                 customer_id=follow_up.customer_id, via=via, at=now,
                 detail={"follow_up_id": follow_up.id, "status": FollowUpStatus.DONE})
    session.flush()
    kpi_rollup.refresh_follow_ups(session, [follow_up.id])
    return follow_up


def snooze(session: Session, follow_up_id: int, *, employee: _Acting, days: int, today: dt.date,
           now: dt.datetime | None = None, via: str = "slack:followups") -> FollowUp:
    """Move the due date `days` after today (or after the current due date when that is later)."""
    if days not in SNOOZE_DAYS:
        raise FollowUpRefused("followups.error.bad_snooze")
    follow_up = _load_for_change(session, follow_up_id, employee)
    if follow_up.status != FollowUpStatus.OPEN:
        raise FollowUpRefused("followups.error.not_open")
    previous = follow_up.due_date
    follow_up.due_date = max(previous, today) + dt.timedelta(days=days)
    audit.record(session, employee_id=employee.id, actor=employee.slack_user_id, action=AuditAction.CHANGE,
                 customer_id=follow_up.customer_id, via=via, at=now,
                 detail={"follow_up_id": follow_up.id, "due_date": follow_up.due_date.isoformat(),
                         "previous_due_date": previous.isoformat()})
    session.flush()
    kpi_rollup.refresh_follow_ups(session, [follow_up.id])
    return follow_up


def add_follow_up(session: Session, *, employee: _Acting, customer_id: int | None, assignee_id: int,
                  due_date: dt.date, note: str | None, today: dt.date, now: dt.datetime,
                  interaction_id: int | None = None, idempotency_key: str | None = None,
                  via: str = "slack:add_follow_up") -> FollowUp:
    """Create a follow-up; with a key, a repeated request returns the first one instead of a twin."""
    if due_date < today:
        raise FollowUpRefused("interactions.error.due_in_past", field="follow_up_due")
    assignee = session.get(Employee, assignee_id)
    if assignee is None or not assignee.active:
        raise FollowUpRefused("interactions.error.assignee_not_employee", field="follow_up_assignee")
    if idempotency_key:
        existing = _existing(session, idempotency_key)
        if existing is not None:
            return existing
    begin_write(session)
    if idempotency_key:
        existing = _existing(session, idempotency_key)
        if existing is not None:
            return existing
    if customer_id is not None:
        try:
            customer_id = resolve_customer(session, customer_id).id
        except InteractionRefused as refused:
            raise FollowUpRefused(refused.key, field=refused.field, **refused.params) from None
    try:
        with session.begin_nested():
            follow_up = FollowUp(interaction_id=interaction_id, customer_id=customer_id, assignee_id=assignee_id,
                                 created_by_id=employee.id, due_date=due_date, note=note, status=FollowUpStatus.OPEN,
                                 created_at=now, source=SLACK_SOURCE, source_ref=idempotency_key)
            session.add(follow_up)
            session.flush()
            audit.record(session, employee_id=employee.id, actor=employee.slack_user_id, action=AuditAction.CHANGE,
                         customer_id=customer_id, via=via, at=now,
                         detail={"follow_up_id": follow_up.id, "status": FollowUpStatus.OPEN, "assignee_id": assignee_id})
            session.flush()
            kpi_rollup.refresh_follow_ups(session, [follow_up.id])
    except IntegrityError:
        existing = _existing(session, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing
    return follow_up


def _existing(session: Session, key: str) -> FollowUp | None:
    return session.scalars(
        select(FollowUp).where(FollowUp.source == SLACK_SOURCE, FollowUp.source_ref == key)
    ).first()
