"""The DMs owed to employees with an open follow-up when their customer orders online or comes back to the
website (WebNotice rows, written by `owe` in the transaction that applies the event), and the one rule for
what an order placed online means, whoever told us: Segment's Order Completed (store/live/commerce.py),
a Shopify order (store/live/shopify.py) or a WooCommerce one (store/live/woocommerce.py). `online_order`
puts it among the website activity (the card's "ordered online this morning"), closes the person's open
baskets and owes the follow-up owners their DM; told twice, an order changes nothing the second time.

Sending rules, applied when a notice is due: at most one DM per employee, customer and local day (the
unique key on `sent_day` decides, so several processes never send two); never at night in the
employee's time zone (the notice waits for the morning); a visit is told only while the customer's
profiling consent allows showing web activity; a notice more than a day old, or about a customer no
longer active, or to an employee who left, is dropped.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from decimal import Decimal

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import dialect
from store.clock import local_now
from store.models import Base, Basket, Customer, Employee, FollowUp, WebActivity, WebNotice
from store.profile import profiling_allowed
from store.vocabulary import CustomerStatus, FollowUpStatus, WebActivityKind, WebNoticeKind

# Night in the employee's time zone: from 21:00 to 08:00 nobody is pinged.
NIGHT_STARTS = dt.time(21, 0)
DAY_STARTS = dt.time(8, 0)
STALE_AFTER = dt.timedelta(hours=24)
# Events older than this when applied (a replay, a late batch, a webhook retried hours later) never make
# anyone a DM: it would tell as news what the employee may long have heard.
NOTICE_FRESHNESS = dt.timedelta(hours=1)


# --- owing: written with the event ----------------------------------------------------------------


def owe(session: Session, customer_id: int, kind: WebNoticeKind, source: str, at: dt.datetime,
        now: dt.datetime, detail: str | None = None) -> None:
    """One pending DM per employee with an open follow-up for the customer (the job sends or drops it)."""
    if now - at > NOTICE_FRESHNESS:
        return
    owners = session.scalars(
        select(FollowUp.assignee_id).join(Employee, Employee.id == FollowUp.assignee_id)
        .where(FollowUp.customer_id == customer_id, FollowUp.status == FollowUpStatus.OPEN,
               Employee.active.is_(True)).distinct()).all()
    for employee_id in owners:
        pending = session.scalars(select(WebNotice).where(
            WebNotice.employee_id == employee_id, WebNotice.customer_id == customer_id,
            WebNotice.handled_at.is_(None))).first()
        if pending is None:
            session.add(WebNotice(employee_id=employee_id, customer_id=customer_id, kind=kind, detail=detail,
                                  source=source, happened_at=at))
        elif kind == WebNoticeKind.ORDERED and pending.kind != WebNoticeKind.ORDERED:
            # Not sent yet (night, or the next tick): an order says more than a visit.
            pending.kind, pending.detail, pending.happened_at = kind, detail, at


@lru_cache(maxsize=2)
def _owners_statement(postgresql: bool) -> Select[Any]:
    follow_ups, employees = Base.metadata.tables[FollowUp.__tablename__], Base.metadata.tables[Employee.__tablename__]
    return (select(follow_ups.c.customer_id).join(employees, employees.c.id == follow_ups.c.assignee_id)
            .where(dialect.ids_parameter(postgresql, follow_ups.c.customer_id),
                   follow_ups.c.status == FollowUpStatus.OPEN, employees.c.active.is_(True)).distinct())


def with_owners(session: Session, customer_ids: Iterable[int]) -> set[int]:
    """Which of these customers have an open follow-up with an active employee: the only ones `owe` can
    write anything for. One read for a worker step's customers, so that `owe` (its reads and the flush
    before them) runs only for those."""
    ids = sorted(set(customer_ids))
    found: set[int] = set()
    session.flush()  # read through the connection, which does not autoflush
    connection = session.connection()
    postgresql = dialect.is_postgresql(connection)
    for start in range(0, len(ids), 500):
        found.update(connection.execute(_owners_statement(postgresql),
                                        {"ids": dialect.ids_value(postgresql, ids[start:start + 500])}).scalars())
    return found


@dataclass(frozen=True)
class OnlineOrder:
    """An order placed on the website, as any of its messengers tells it."""

    source: str
    customer_id: int
    record_id: int | None  # the source's record of the person
    order_number: str
    ordered_at: dt.datetime
    amount: Decimal | None
    currency: str
    visitor_id: int | None = None  # the browser it was placed from, when known (Segment)


def online_order(session: Session, order: OnlineOrder, *, now: dt.datetime) -> bool:
    """The one rule for an order placed online: on the card among the website activity, the person's open
    baskets closed (the site empties the cart at checkout), the follow-up owners' DM owed (fresh orders
    only: `owe`). Once per order: whether it was new news (False when this order was told already,
    by a retry, a second topic of the same order, or a later version of it)."""
    told = session.scalar(select(WebActivity.id).where(
        WebActivity.source == order.source, WebActivity.customer_id == order.customer_id,
        WebActivity.kind == WebActivityKind.ORDERED, WebActivity.detail == order.order_number).limit(1))
    if told is not None:
        return False
    session.add(WebActivity(
        source=order.source, customer_id=order.customer_id, source_record_id=order.record_id,
        visitor_id=order.visitor_id, kind=WebActivityKind.ORDERED, price=order.amount, currency=order.currency,
        detail=order.order_number, occurred_at=order.ordered_at))
    session.execute(update(Basket).where(Basket.customer_id == order.customer_id, Basket.closed_at.is_(None),
                                         Basket.updated_at <= order.ordered_at)
                    .values(closed_at=order.ordered_at, abandoned_at=None))
    owe(session, order.customer_id, WebNoticeKind.ORDERED, order.source, order.ordered_at, now,
        detail=order.order_number)
    return True


# --- sending: the notices job ---------------------------------------------------------------------


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
