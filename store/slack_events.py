"""Slack Events API deliveries handled once across every process (Slack redelivers on slow answers)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.db import affected_rows
from store.models import ProcessedEvent

KEEP_FOR = dt.timedelta(days=1)  # Slack stops retrying an event after about an hour


def claim_event(session: Session, event_id: str, *, now: dt.datetime) -> bool:
    """True the first time `event_id` is claimed, False for a redelivery (any process, any worker)."""
    try:
        with session.begin_nested():
            session.add(ProcessedEvent(event_id=event_id[:64], received_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def purge_processed_events(session: Session, *, now: dt.datetime) -> int:
    return affected_rows(session, delete(ProcessedEvent).where(ProcessedEvent.received_at < now - KEEP_FOR)) or 0
