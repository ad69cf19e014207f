"""The audit trail: who looked at or touched which customer, when, and through what.

Kept deliberately small and stable: features call `record()` inside their own transaction, so the
trail row is written if and only if the action itself is.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from store.clock import utc_now
from store.db import table_of
from store.models import AuditEvent, Customer
from store.vocabulary import AuditAction, CustomerStatus


def _row(*, employee_id: int | None, actor: str, action: AuditAction, customer_id: int | None, via: str,
         detail: dict[str, Any] | None, at: dt.datetime | None) -> dict[str, Any]:
    return {"at": at or utc_now(), "employee_id": employee_id, "actor": actor, "action": action,
            "customer_id": customer_id, "via": via, "detail": dict(detail or {})}


def record(
    session: Session,
    *,
    employee_id: int | None,
    actor: str,
    action: AuditAction,
    customer_id: int | None,
    via: str,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Add one audit row (flushed by the caller's transaction). `detail` must hold no PII."""
    event = AuditEvent(**_row(employee_id=employee_id, actor=actor, action=action, customer_id=customer_id, via=via,
                              detail=detail, at=at))
    session.add(event)
    return event


_INSERT = insert(table_of(AuditEvent))


def record_now(
    session: Session | Connection,
    *,
    employee_id: int | None,
    actor: str,
    action: AuditAction,
    customer_id: int | None,
    via: str,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """The same row as `record`, written at once by a plain INSERT: for a transaction that only writes this
    row (a card shown), where the unit of work's bookkeeping costs more than the write itself. `session` may
    be a Core connection (SessionFactory.write_connection): no Session to set up at all."""
    session.execute(_INSERT, _row(employee_id=employee_id, actor=actor, action=action, customer_id=customer_id,
                                  via=via, detail=detail, at=at))


@dataclass(frozen=True)
class RecentCustomer:
    customer_id: int
    display_name: str
    viewed_at: dt.datetime


def recent_customer_summaries(session: Session, employee_id: int, limit: int = 5) -> list[RecentCustomer]:
    """The customers this employee opened most recently (newest first, each once, active only)."""
    # Only the latest views count: an employee's full history can hold thousands of rows.
    latest_views = (
        select(AuditEvent.customer_id, AuditEvent.at)
        .where(AuditEvent.employee_id == employee_id, AuditEvent.action == AuditAction.VIEW,
               AuditEvent.customer_id.is_not(None))
        .order_by(AuditEvent.at.desc())
        .limit(max(limit, 1) * 20)
        .subquery()
    )
    last_view = (
        select(latest_views.c.customer_id, func.max(latest_views.c.at).label("viewed_at"))
        .group_by(latest_views.c.customer_id)
        .subquery()
    )
    rows = session.execute(
        select(Customer.id, Customer.first_name, Customer.last_name, last_view.c.viewed_at)
        .join(last_view, last_view.c.customer_id == Customer.id)
        .where(Customer.status == CustomerStatus.ACTIVE)
        .order_by(last_view.c.viewed_at.desc(), Customer.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentCustomer(customer_id=row.id, display_name=" ".join(p for p in (row.first_name, row.last_name) if p)
                       or f"#{row.id}", viewed_at=row.viewed_at)
        for row in rows
    ]


def recent_customers(session: Session, employee_id: int, limit: int = 5) -> list[int]:
    """Ids of the customers this employee viewed most recently, newest first, each once, active only."""
    return [summary.customer_id for summary in recent_customer_summaries(session, employee_id, limit)]
