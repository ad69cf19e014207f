"""The DMs owed to employees with an open follow-up when their customer orders online or comes back to the
website (WebNotice rows, written by store/live/commerce.py with the event).

Sending rules, applied when a notice is due: at most one DM per employee, customer and local day (the
unique key on `sent_day` decides, so several processes never send two); never at night in the
employee's time zone (the notice waits for the morning); a visit is told only while the customer's
profiling consent allows showing web activity; a notice more than a day old, or about a customer no
longer active, or to an employee who left, is dropped.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.clock import local_now
from store.models import Customer, Employee, FollowUp, WebNotice
from store.profile import profiling_allowed
from store.vocabulary import CustomerStatus, FollowUpStatus, WebNoticeKind

# Night in the employee's time zone: from 21:00 to 08:00 nobody is pinged.
NIGHT_STARTS = dt.time(21, 0)
DAY_STARTS = dt.time(8, 0)
STALE_AFTER = dt.timedelta(hours=24)


@dataclass(frozen=True)
class DueNotice:
    id: int
    employee_id: int
    slack_user_id: str
    locale: str | None
    timezone: str | None
    customer_id: int
    customer_name: str
    kind: str  # a WebNoticeKind
    detail: str | None
    happened_at: dt.datetime


def is_night(moment: dt.datetime, timezone: str | None) -> bool:
    local = local_now(moment, timezone).time()
    return local >= NIGHT_STARTS or local < DAY_STARTS


def due_notices(session: Session, *, now: dt.datetime, default_timezone: str, limit: int = 200) -> list[DueNotice]:
    """Pending notices that may go out now; the ones that never will are marked handled on the way."""
    rows = session.execute(
        select(WebNotice, Employee, Customer).join(Employee, Employee.id == WebNotice.employee_id)
        .join(Customer, Customer.id == WebNotice.customer_id)
        .where(WebNotice.handled_at.is_(None)).order_by(WebNotice.happened_at, WebNotice.id).limit(limit)).all()
    due: list[DueNotice] = []
    for notice, employee, customer in rows:
        zone = employee.timezone or default_timezone
        if not _still_worth_it(session, notice, employee, customer, now):
            notice.handled_at = now
            continue
        if is_night(now, zone):
            continue
        due.append(DueNotice(
            id=notice.id, employee_id=employee.id, slack_user_id=employee.slack_user_id, locale=employee.locale,
            timezone=zone, customer_id=customer.id,
            customer_name=" ".join(p for p in (customer.first_name, customer.last_name) if p) or f"#{customer.id}",
            kind=notice.kind, detail=notice.detail, happened_at=notice.happened_at))
    return due


def _still_worth_it(session: Session, notice: WebNotice, employee: Employee, customer: Customer,
                    now: dt.datetime) -> bool:
    if now - notice.happened_at > STALE_AFTER or not employee.active or customer.status != CustomerStatus.ACTIVE:
        return False
    if notice.kind == WebNoticeKind.RETURNED and not profiling_allowed(session, customer.id):
        return False
    return session.scalar(select(FollowUp.id).where(
        FollowUp.customer_id == customer.id, FollowUp.assignee_id == employee.id,
        FollowUp.status == FollowUpStatus.OPEN).limit(1)) is not None


def claim(session: Session, notice: DueNotice, *, now: dt.datetime) -> bool:
    """Take the notice for sending today; False when it is handled already, or when the employee was
    already told about this customer today (the notice is then dropped)."""
    day = local_now(now, notice.timezone).date()
    try:
        with session.begin_nested():
            taken = session.execute(update(WebNotice).where(WebNotice.id == notice.id, WebNotice.handled_at.is_(None))
                                    .values(handled_at=now, sent_day=day))
    except IntegrityError:
        session.execute(update(WebNotice).where(WebNotice.id == notice.id, WebNotice.handled_at.is_(None))
                        .values(handled_at=now))
        return False
    return bool(getattr(taken, "rowcount", 0))


def release(session: Session, notice_id: int) -> None:
    """Give back a claimed notice whose DM could not be sent: the next tick tries again."""
    session.execute(update(WebNotice).where(WebNotice.id == notice_id).values(handled_at=None, sent_day=None))
