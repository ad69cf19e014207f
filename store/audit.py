"""The audit trail: who viewed, changed, shared or erased which customer, when, and through what.

Every feature that touches a customer calls `record()` in the same transaction as the change, so a
change without its audit line (or the reverse) cannot be committed.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import AuditEvent, utcnow


def record(
    session: Session,
    *,
    employee_id: int | None,
    actor: str,
    action: str,
    customer_id: int | None,
    via: str,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=at or utcnow(),
        employee_id=employee_id,
        actor=actor,
        action=action,
        customer_id=customer_id,
        via=via,
        detail=detail or {},
    )
    session.add(event)
    return event


def recent_customers(session: Session, employee_id: int, *, limit: int = 5) -> list[int]:
    """Ids of the customers this employee viewed most recently, newest first, each once."""
    last_seen = func.max(AuditEvent.at).label("last_seen")
    rows = session.execute(
        select(AuditEvent.customer_id, last_seen)
        .where(AuditEvent.employee_id == employee_id, AuditEvent.action == "view",
               AuditEvent.customer_id.is_not(None))
        .group_by(AuditEvent.customer_id)
        .order_by(last_seen.desc())
        .limit(limit)
    ).all()
    return [row.customer_id for row in rows]
