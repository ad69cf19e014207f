"""The inbox: every received event, durably stored before its sender gets a 2xx, then applied once.

Receiving (the HTTP routes) and applying (the workers) are separate so that an ingestion burst costs
the request path one INSERT per batch and nothing else. `store_events` writes a batch, dropping the
sender's retries: (source, messageId) is unique. `apply_due` is one worker step, run in the caller's
transaction: it claims due events, hands each to its applier, and records the outcome in the SAME
transaction as the applier's writes. So an event is applied exactly once: a crash (kill -9) before the
commit leaves it pending and the next worker applies it; after the commit it is done.

Several workers and processes share the inbox. On PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`:
each worker takes rows the others do not hold. On SQLite every write transaction holds the one write
lock (BEGIN IMMEDIATE), so workers take turns.

Order: a person's events (same `person_key`) are applied in id order. A worker leaves a person's
events alone while an earlier one of that person is pending elsewhere (claimed by another worker, or
beyond this batch). An event whose person cannot be resolved yet (the applier answers `waiting`) is
tried again later, with a growing delay, or at once when an event of the same person is applied
(`wake`); it does not hold the person's later events back.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from store import dialect
from store.live.segment import NewEvent
from store.models import InboxMessage, LiveSource
from store.vocabulary import InboxState

log = logging.getLogger(__name__)

# A waiting event is tried again after 5 s, then twice as long each time, at most every hour, and given up
# after a month (an anonymous visitor who never signs in).
FIRST_RETRY = dt.timedelta(seconds=5)
MAX_RETRY = dt.timedelta(hours=1)
GIVE_UP_AFTER = dt.timedelta(days=30)
# An applier that raises is retried this many times (a deadlock, a lost connection), then rejected.
MAX_ERRORS = 5
_INSERT_CHUNK = 500  # rows per INSERT: under SQLite's bound-parameter limit


@dataclass(frozen=True)
class InboxEvent:
    """One stored event as an applier receives it."""

    id: int
    source: str  # the LiveSource's name, the `source` of every fact it writes
    source_kind: str  # a SourceKind
    type: str  # a SegmentType, or a Shopify topic
    message_id: str
    person_key: str | None
    body: dict[str, Any]
    received_at: dt.datetime
    timestamp: dt.datetime  # when it happened, by our clock (skew-corrected)
    attempts: int  # earlier tries (0 on the first)


@dataclass(frozen=True)
class Applied:
    """An applier's answer: `state` APPLIED, WAITING (try again later) or REJECTED (never again);
    `reason` a short key, never data. `wake`: person keys whose waiting events may now resolve
    (an alias or an identify naming an anonymous id)."""

    state: InboxState
    reason: str | None = None
    wake: tuple[str, ...] = ()


APPLIED = Applied(InboxState.APPLIED)


def waiting(reason: str) -> Applied:
    return Applied(InboxState.WAITING, reason)


def rejected(reason: str) -> Applied:
    return Applied(InboxState.REJECTED, reason)


Applier = Callable[[Session, InboxEvent, dt.datetime], Applied]
"""`apply_xxx(session, event, now)`: writes through `session`, never commits."""

Appliers = Mapping[tuple[str, str], Applier]
"""(source kind, event type) -> applier."""


@dataclass
class WorkReport:
    claimed: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # InboxState -> events

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)


@dataclass(frozen=True)
class Backlog:
    pending: int
    waiting: int
    oldest_pending_seconds: float  # 0 when nothing is pending


# ---- receiving ------------------------------------------------------------------------------------


def store_events(session: Session, source_id: int, events: Sequence[NewEvent], received_at: dt.datetime) -> int:
    """Store `events` of one source as pending; those already stored (same messageId) are dropped.
    Returns how many were new."""
    rows, seen = [], set()
    for event in events:
        if event.message_id in seen:
            continue
        seen.add(event.message_id)
        rows.append({"source_id": source_id, "message_id": event.message_id, "type": event.type,
                     "person_key": event.person_key, "body": event.body, "received_at": received_at,
                     "event_at": event.event_at, "state": InboxState.PENDING, "due_at": received_at,
                     "attempts": 0})
    table = InboxMessage.__table__
    stored = 0
    for start in range(0, len(rows), _INSERT_CHUNK):
        statement = dialect.insert_for(session, table).on_conflict_do_nothing(
            index_elements=["source_id", "message_id"])
        # RETURNING, not rowcount: a multi-row INSERT's rowcount is -1 with some drivers.
        stored += len(session.execute(
            statement.values(rows[start:start + _INSERT_CHUNK]).returning(InboxMessage.id)).all())
    return stored


def backlog(session: Session, now: dt.datetime) -> Backlog:
    """How much is waiting to be applied, and how long the oldest pending event has waited."""
    counts = dict(session.execute(
        select(InboxMessage.state, func.count()).where(
            InboxMessage.state.in_((InboxState.PENDING, InboxState.WAITING))).group_by(InboxMessage.state)).all())
    oldest = session.scalar(select(func.min(InboxMessage.due_at)).where(InboxMessage.state == InboxState.PENDING))
    return Backlog(pending=int(counts.get(InboxState.PENDING, 0)), waiting=int(counts.get(InboxState.WAITING, 0)),
                   oldest_pending_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


def pending_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(InboxMessage.state == InboxState.PENDING)) or 0)


# ---- applying ------------------------------------------------------------------------------------


def has_due(session: Session, now: dt.datetime) -> bool:
    """Whether a worker step would find anything to claim: one indexed read, no lock. Workers ask this
    before opening their write transaction, because on SQLite that transaction takes the one write lock
    up front: an idle worker polling twice a second would otherwise queue every Slack write behind it."""
    due = or_(InboxMessage.state == InboxState.PENDING,
              and_(InboxMessage.state == InboxState.WAITING, InboxMessage.due_at <= now))
    return session.scalar(select(InboxMessage.id).where(due).limit(1)) is not None


def apply_due(session: Session, appliers: Appliers, now: dt.datetime, *, limit: int = 100,
              max_seconds: float | None = None, clock: Callable[[], dt.datetime] | None = None) -> WorkReport:
    """One worker step in the caller's transaction: claim up to `limit` due events, apply them in id
    order per person, record each outcome. The caller commits (or dies, and nothing happened).

    `max_seconds`: stop applying after this long (the claimed rest stays pending for the next step), so
    that on SQLite, where the step holds the one write lock, a Slack request never waits long for it.
    `clock` stamps `applied_at` when the step has applied its events (default: `now`)."""
    report = WorkReport()
    started = time.monotonic()
    rows = _claim(session, now, limit)
    if not rows:
        return report
    blocked = _blocked_people(session, rows)
    kinds = dict(session.execute(select(LiveSource.id, LiveSource.kind)).all())
    names = dict(session.execute(select(LiveSource.id, LiveSource.name)).all())
    updates: list[dict[str, Any]] = []
    woken: set[str] = set()
    for row in sorted(rows, key=lambda r: r.id):
        if row.person_key is not None and row.person_key in blocked:
            continue
        if max_seconds is not None and report.claimed and time.monotonic() - started > max_seconds:
            if row.person_key is not None:
                blocked.add(row.person_key)  # the rest of this person's events wait for the next step too
            continue
        report.claimed += 1
        event = InboxEvent(id=row.id, source=names[row.source_id], source_kind=kinds[row.source_id], type=row.type,
                           message_id=row.message_id, person_key=row.person_key, body=row.body,
                           received_at=row.received_at, timestamp=row.event_at, attempts=row.attempts)
        outcome = _apply_one(session, appliers.get((event.source_kind, event.type)), event, now)
        state = outcome.state
        values: dict[str, Any] = {"id": row.id, "state": state, "reason": outcome.reason,
                                  "attempts": row.attempts + 1, "due_at": row.due_at, "applied_at": None}
        if state == InboxState.APPLIED:
            values["applied_at"] = now
            if row.person_key is not None:
                woken.add(row.person_key)
            woken.update(outcome.wake)
        elif state == InboxState.WAITING:
            if now - row.received_at > GIVE_UP_AFTER:
                values.update(state=InboxState.REJECTED, reason="inbox.gave_up")
            else:
                values["due_at"] = now + min(MAX_RETRY, FIRST_RETRY * (2 ** min(row.attempts, 20)))
        report.counts[values["state"]] = report.count(values["state"]) + 1
        updates.append(values)
    if updates:
        finished = clock() if clock is not None else now
        for values in updates:
            if values["applied_at"] is not None:
                values["applied_at"] = finished
        session.execute(update(InboxMessage), updates)
    if woken:
        wake(session, woken, now)
    return report


def wake(session: Session, person_keys: Iterable[str], now: dt.datetime) -> int:
    """Make the waiting events of these people due now: something that may resolve them was applied."""
    keys = sorted(set(person_keys))
    woken = 0
    for start in range(0, len(keys), _INSERT_CHUNK):
        result = session.execute(
            update(InboxMessage)
            .where(InboxMessage.state == InboxState.WAITING, InboxMessage.person_key.in_(keys[start:start + 500]),
                   InboxMessage.due_at > now)
            .values(due_at=now)
            .execution_options(synchronize_session=False))
        woken += int(getattr(result, "rowcount", 0) or 0)
    return woken


def _claim(session: Session, now: dt.datetime, limit: int) -> list[InboxMessage]:
    """Pending events first (oldest first), then waiting ones that are due; rows other workers hold are
    skipped on PostgreSQL. Waiting ones get at most a quarter of the batch so they never starve new ones."""
    pending = list(session.scalars(
        select(InboxMessage).where(InboxMessage.state == InboxState.PENDING)
        .order_by(InboxMessage.due_at, InboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)))
    room = max(limit // 4, limit - len(pending))
    retried = list(session.scalars(
        select(InboxMessage).where(InboxMessage.state == InboxState.WAITING, InboxMessage.due_at <= now)
        .order_by(InboxMessage.due_at, InboxMessage.id).limit(room)
        .with_for_update(skip_locked=True)))
    return pending + retried


def _blocked_people(session: Session, rows: Sequence[InboxMessage]) -> set[str]:
    """People with a pending event earlier than this batch's first one of theirs, not in this batch:
    another worker holds it (or will take it first); theirs must be applied first."""
    first: dict[str, int] = {}
    for row in rows:
        if row.person_key is not None and (row.person_key not in first or row.id < first[row.person_key]):
            first[row.person_key] = row.id
    if not first:
        return set()
    claimed = {row.id for row in rows}
    blocked: set[str] = set()
    keys = sorted(first)
    for start in range(0, len(keys), _INSERT_CHUNK):
        earlier = session.execute(
            select(InboxMessage.person_key, InboxMessage.id)
            .where(InboxMessage.state == InboxState.PENDING, InboxMessage.person_key.in_(keys[start:start + 500])))
        for key, event_id in earlier:
            if key is not None and event_id < first[key] and event_id not in claimed:
                blocked.add(key)
    return blocked


def _apply_one(session: Session, applier: Applier | None, event: InboxEvent, now: dt.datetime) -> Applied:
    """The applier's answer, its writes kept only when it did not fail (a savepoint around it)."""
    if applier is None:
        return Applied(InboxState.IGNORED, "inbox.no_applier")
    try:
        with session.begin_nested():
            outcome = applier(session, event, now)
            if outcome.state not in (InboxState.APPLIED, InboxState.WAITING, InboxState.REJECTED):
                raise ValueError(f"an applier answered {outcome.state!r}")
            return outcome
    except Exception as error:  # one broken event must not stop the inbox; logged without its data
        log.error("applying inbox event %s (%s %s) failed: %s", event.id, event.source_kind, event.type,
                  type(error).__name__)
        if event.attempts + 1 >= MAX_ERRORS:
            return rejected("inbox.failed")
        return waiting("inbox.error")


# --- retention (the nightly job's, bot/retention_job.py) --------------------------------------------


def purge_done(session: Session, *, now: dt.datetime, older_than: dt.timedelta, limit: int = 5_000) -> int:
    """Delete at most `limit` events that are done with (applied, or with no applier: ignored) for longer
    than `older_than`; returns how many. The caller commits and calls again until it gets fewer than
    `limit`, so that no transaction holds many rows on a busy inbox.

    What is deleted was applied once and for all: its facts live in the profile's tables, and Shopify's
    stale-delivery check reads its own versions table, not the inbox. The one thing a purged row took
    with it is its duplicate key, so `older_than` must outlast the senders' retries (README, "Live data").
    Pending and waiting events are never touched, nor rejected ones (kept to tell an operator why)."""
    cutoff = now - older_than
    done = or_(and_(InboxMessage.state == InboxState.APPLIED, InboxMessage.applied_at < cutoff),
               and_(InboxMessage.state == InboxState.IGNORED, InboxMessage.received_at < cutoff))
    ids = select(InboxMessage.id).where(done).order_by(InboxMessage.id).limit(max(limit, 1))
    result = session.execute(delete(InboxMessage).where(InboxMessage.id.in_(ids.scalar_subquery()))
                             .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
