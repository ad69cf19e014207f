"""The memory of a conversation with Frontline: which customer one employee is discussing in one thread.

Kept in the database, not in a process, so any worker or process answers the next message of a thread
the same way. A thread is one employee's (two colleagues in the same channel thread each have their
own), identified by Slack's channel id and thread ts ("" for the main flow of a DM).

Memory is short: a thread idle for `IDLE` forgets everything (the customer, the candidates offered, the
interaction being drafted), since an employee coming back the next day is most likely talking about
someone else. `forget_idle` removes those rows for good (nightly, with the retention purge), and
`forget_customer` removes every thread that mentions a customer when the customer is erased.

Functions take a session and never commit: the listener owns the transaction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from store.db import affected_rows
from store.models import ConversationCandidate, ConversationThread

IDLE = dt.timedelta(hours=8)
# A thread in use has its idle clock restarted at most this often when nothing else changes (a write per
# question would serialise every reader behind SQLite's one write lock for nothing).
REFRESH = dt.timedelta(minutes=15)
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class ThreadKey:
    employee_id: int
    channel_id: str
    thread_ts: str  # "" for a DM's main flow


@dataclass(frozen=True)
class Draft:
    """An interaction described in words ("log a call: ..."), waiting for the employee's confirmation."""

    customer_id: int
    channel: str | None
    type: str | None
    note: str | None

    def as_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "channel": self.channel, "type": self.type, "note": self.note}

    @classmethod
    def from_json(cls, data: Any) -> Draft | None:
        if not isinstance(data, dict) or not isinstance(data.get("customer_id"), int):
            return None
        texts = {k: data.get(k) if isinstance(data.get(k), str) else None for k in ("channel", "type", "note")}
        return cls(customer_id=data["customer_id"], **texts)


@dataclass(frozen=True)
class Memory:
    customer_id: int | None = None
    candidates: tuple[int, ...] = ()
    draft: Draft | None = None
    # When the thread was last written (None for a new or forgotten thread); not part of what is remembered.
    last_used: dt.datetime | None = field(default=None, compare=False)

    def worth_keeping(self, before: Memory, *, now: dt.datetime) -> bool:
        """Write this memory: it differs from `before`, or it is the same and its idle clock needs a restart."""
        if self != before:
            return True
        return self != Memory() and (before.last_used is None or now - before.last_used >= REFRESH)


def _thread(session: Session, key: ThreadKey) -> ConversationThread | None:
    return session.scalars(select(ConversationThread).where(
        ConversationThread.employee_id == key.employee_id, ConversationThread.channel_id == key.channel_id,
        ConversationThread.thread_ts == key.thread_ts)).one_or_none()


def recall(session: Session, key: ThreadKey, *, now: dt.datetime) -> Memory:
    """What the thread remembers; nothing when it is new or was idle for too long."""
    thread = _thread(session, key)
    if thread is None or now - thread.updated_at > IDLE:
        return Memory()
    candidates = tuple(session.scalars(
        select(ConversationCandidate.customer_id).where(ConversationCandidate.thread_id == thread.id)
        .order_by(ConversationCandidate.position)))
    return Memory(customer_id=thread.customer_id, candidates=candidates, draft=Draft.from_json(thread.draft),
                  last_used=thread.updated_at)


def remember(session: Session, key: ThreadKey, memory: Memory, *, now: dt.datetime) -> None:
    """Replace what the thread remembers (and restart its idle clock)."""
    thread = _thread(session, key)
    if thread is None:
        thread = ConversationThread(employee_id=key.employee_id, channel_id=key.channel_id, thread_ts=key.thread_ts)
        session.add(thread)
    thread.customer_id = memory.customer_id
    thread.draft = memory.draft.as_json() if memory.draft is not None else None
    thread.updated_at = now
    session.flush()
    session.execute(delete(ConversationCandidate).where(ConversationCandidate.thread_id == thread.id))
    for position, customer_id in enumerate(memory.candidates[:MAX_CANDIDATES], start=1):
        session.add(ConversationCandidate(thread_id=thread.id, position=position, customer_id=customer_id))
    session.flush()


def forget_customer(session: Session, customer_ids: list[int]) -> int:
    """Erasure: every thread that discusses, offered or drafts something about these customers goes."""
    if not customer_ids:
        return 0
    offered = select(ConversationCandidate.thread_id).where(ConversationCandidate.customer_id.in_(customer_ids))
    return affected_rows(session, delete(ConversationThread).where(
        or_(ConversationThread.customer_id.in_(customer_ids), ConversationThread.id.in_(offered)))
        .execution_options(synchronize_session=False)) or 0


def forget_idle(session: Session, *, now: dt.datetime) -> int:
    """Threads idle for longer than IDLE are removed (their memory was already ignored)."""
    return affected_rows(session, delete(ConversationThread).where(ConversationThread.updated_at < now - IDLE)) or 0
