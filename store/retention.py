"""Retention: free-text notes are kept for a limited time, then removed (the facts stay for KPIs)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from store.db import affected_rows
from store.models import FollowUp, Interaction
from store.vocabulary import FollowUpStatus


def purge_old_notes(session: Session, *, older_than_days: int, now: dt.datetime) -> int:
    """Blank the notes of interactions and closed follow-ups older than the period; returns how many."""
    if older_than_days <= 0:
        return 0
    cutoff = now - dt.timedelta(days=older_than_days)
    purged = affected_rows(
        session,
        update(Interaction).where(Interaction.created_at < cutoff, Interaction.note.is_not(None)).values(note=None),
    ) or 0
    # Open follow-ups keep their note: someone still has to act on it.
    purged += affected_rows(
        session,
        update(FollowUp)
        .where(FollowUp.created_at < cutoff, FollowUp.status != FollowUpStatus.OPEN, FollowUp.note.is_not(None))
        .values(note=None),
    ) or 0
    return purged
