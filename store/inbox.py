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

Order: a person's events (same `person_key`) are applied in id order. A worker applies a person's
claimed events only up to the first earlier-pending event of theirs it does not hold (claimed by
another worker, or beyond this batch): concurrent claims interleave, so one worker may hold a person's
events 1 and 3 while another holds 2, and 3 must wait for 2 (the cross-process race of issue 11 was
this gap: only events before the batch's first one of a person were checked). An event whose person
cannot be resolved yet (the applier answers `waiting`) is tried again later, with a growing delay, or
at once when an event of the same person is applied (`wake`); it does not hold the person's later
events back. An event whose applier raised (a deadlock, a lost connection) does: it is retried first.

Workers never wait for one another on PostgreSQL (issue 11: 100 deadlocks in the quiet 1M run, workers at a
third of a core each, waiting on each other's row locks). After its claim a step takes, without waiting,
a lock on each of its people and on each customer it knows they write to (`person_customers`), PostgreSQL
advisory locks taken without waiting (`dialect.try_lock_keys`); a person whose lock or one of whose customers another
step holds is left for a later step, whole. So two steps never apply one person's events, nor two people's
of one known customer, at the same time: no lock waits between them on those rows, no deadlock. What a step
cannot know before applying (a new record joining an existing customer another step is writing, a merge)
waits at most LOCK_WAIT_MS: then that event's (or group's) writes are rolled back to its savepoint and its
person is left for a later step, like a held one (not a failure: no attempt counted); a group is retried in
halves of its people, so that the others still go on together.
The wake-up of waiting events skips rows other steps hold; for a woken person another step is applying
right now, it runs again after the commit (`WorkReport.wake_later`): that step may have just put their
event back to wait without seeing this step's writes.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from store import dialect
from store.live.segment import NewEvent
from store.models import INBOX_UNFINISHED, InboxMessage, LiveSource
from store.vocabulary import InboxState

log = logging.getLogger(__name__)

# A waiting event is tried again after 5 s, then twice as long each time, at most every hour, and given up
# after a month (an anonymous visitor who never signs in).
FIRST_RETRY = dt.timedelta(seconds=5)
MAX_RETRY = dt.timedelta(hours=1)
GIVE_UP_AFTER = dt.timedelta(days=30)
# An applier that raises is retried this many times (a deadlock, a lost connection), then rejected.
MAX_ERRORS = 5
FAILED = "inbox.error"  # the reason of an event whose applier raised: it holds its person's later events
BUSY = "inbox.busy"  # an applier needed a row another step held (PostgreSQL): left pending for a later step
# PostgreSQL: the longest a step waits for a lock another transaction holds (then BUSY). Below deadlock_timeout
# (1 s by default), so a cycle of waits between steps ends here rather than in the deadlock detector.
LOCK_WAIT_MS = 100
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
_BUSY = Applied(InboxState.PENDING, BUSY)  # store.inbox's own answer, never an applier's


def waiting(reason: str) -> Applied:
    return Applied(InboxState.WAITING, reason)


def rejected(reason: str) -> Applied:
    return Applied(InboxState.REJECTED, reason)


Applier = Callable[[Session, InboxEvent, dt.datetime], Applied]
"""`apply_xxx(session, event, now)`: writes through `session`, never commits."""

Appliers = Mapping[tuple[str, str], Applier]
"""(source kind, event type) -> applier."""

GroupApplier = Callable[[Session, Sequence[InboxEvent], dt.datetime], list[Applied]]
"""`apply_xxxs(session, events, now)`: several events of one type at once (in id order), one answer each;
writes through `session`, never commits. When it raises, each event is applied alone instead."""

GroupAppliers = Mapping[tuple[str, str], GroupApplier]

PersonCustomers = Callable[[Session, Sequence[InboxEvent]], Mapping[str, Iterable[int]]]
"""`customers_of(session, events)`: person key -> the customers their events would write to, as far as known
before applying them (a person not known yet: none). A PostgreSQL step locks those first (see above)."""

# The advisory lock spaces of the inbox's people and of their customers (dialect.try_lock_keys): numbers no other
# code uses.
PERSON_LOCKS = 1_101
CUSTOMER_LOCKS = 1_102


@dataclass
class WorkReport:
    claimed: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # InboxState -> events
    # People whose waiting events the step could not wake because another step was applying them: the caller
    # wakes them again once this step has committed (`wake`, its own transaction).
    wake_later: set[str] = field(default_factory=set)
    held: int = 0  # claimed events left for a later step because another step held their person or customer

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
    if not rows:
        return 0
    # One statement with the rows as parameters (executemany), not the rows in the statement: SQLAlchemy then
    # compiles it once per process and batches the rows into multi-row INSERTs itself ("insertmanyvalues").
    # With the rows in `.values()` it compiled a new 1,100-parameter statement on every request, which was
    # most of the request's time holding SQLite's write lock (bench/README.md, branch ingestsqlite).
    # RETURNING, not rowcount: with ON CONFLICT DO NOTHING only the rows stored come back.
    statement = (dialect.insert_for(session, InboxMessage.__table__)
                 .on_conflict_do_nothing(index_elements=["source_id", "message_id"]).returning(InboxMessage.id))
    return len(session.execute(statement, rows).all())


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
    # Two probes in the order of ix_inbox_messages_state_due, not one OR: PostgreSQL planned the OR (and a bare
    # LIMIT 1) as a scan of the whole table, which at the end of a burst finds the few pending rows last (35 ms
    # a step at 40,000 rows, on every worker's every step).
    pending = select(InboxMessage.id).where(InboxMessage.state == InboxState.PENDING)
    retried = select(InboxMessage.id).where(InboxMessage.state == InboxState.WAITING, InboxMessage.due_at <= now)
    return any(session.scalar(probe.order_by(InboxMessage.due_at, InboxMessage.id).limit(1)) is not None
               for probe in (pending, retried))


def apply_due(session: Session, appliers: Appliers, now: dt.datetime, *, limit: int = 100,
              max_seconds: float | None = None, clock: Callable[[], dt.datetime] | None = None,
              group_appliers: GroupAppliers | None = None,
              max_group: Mapping[tuple[str, str], int] | None = None,
              person_customers: PersonCustomers | None = None) -> WorkReport:
    """One worker step in the caller's transaction: claim up to `limit` due events, apply them in id
    order per person, record each outcome. The caller commits (or dies, and nothing happened).

    `max_seconds`: stop applying after this long (the claimed rest stays pending for the next step), so
    that on SQLite, where the step holds the one write lock, a Slack request never waits long for it.
    `clock` stamps `applied_at` when the step has applied its events (default: `now`).
    `group_appliers`: event types applied several at once (identify: the step's records linked in one
    pass, browsing written as sets). Such events are gathered per type, and a group is applied before any
    later event of one of its people of another type, so each person's order holds; other people's events
    may pass the group. Groups left at the end of a step's time budget stay pending, whole.
    `max_group`: per event type, a group of that type is applied as soon as it holds this many events, so
    that one group (say 100 identifies, each linked against a big neighbourhood) cannot hold SQLite's write
    lock far past the budget, which is only checked between events and groups. Types not named there are
    gathered whole: a group's fixed reads are then shared by the whole step.
    `person_customers`: the customers each person's events write to, locked before applying (PostgreSQL)."""
    report = WorkReport()
    started = time.monotonic()
    rows = _claim(session, now, limit)
    if not rows:
        return report
    dialect.limit_lock_waits(session, LOCK_WAIT_MS)
    unfinished = _earlier_unfinished(session, rows)
    rows += _claim_earlier(session, unfinished, limit, now)
    barriers = _barriers(rows, unfinished, now)
    kinds: dict[int, str] = {}
    names: dict[int, str] = {}
    for source_id, kind, name in session.execute(select(LiveSource.id, LiveSource.kind, LiveSource.name)):
        kinds[source_id], names[source_id] = kind, name
    claimed = {row.id: _event(row, kinds, names) for row in rows}
    # Only people this step may apply by the order barriers are locked: a person all of whose claimed events wait
    # behind another step's earlier one is left alone, or two steps could each hold what the other needs for them
    # (one the person's lock, the other their earliest event), and neither apply them.
    first: dict[str, int] = {}
    for row in rows:
        if row.person_key is not None:
            first[row.person_key] = min(row.id, first.get(row.person_key, row.id))
    applicable = [event for event in claimed.values() if event.person_key is None
                  or first[event.person_key] <= barriers.get(event.person_key, first[event.person_key])]
    taken, blocked = _take_people(session, applicable, person_customers)
    elsewhere = set(blocked)  # people another step holds: their events wait for a later step
    updates: list[dict[str, Any]] = []
    woken: set[str] = set()
    # The step's groups, one per event type, gathered in id order, and the group each person's gathered
    # events wait in. A person's events are all in ONE group at any time: an event of theirs of another type
    # first applies the group holding their earlier ones. So any group may be applied at any moment without
    # breaking anyone's order, and a mixed stream (identify, track, identify...) makes a few big groups per
    # step instead of alternating groups of a few events each.
    groups: dict[tuple[str, str], list[tuple[InboxMessage, InboxEvent]]] = {}
    gathered_in: dict[str, tuple[str, str]] = {}

    def settle(row: InboxMessage, outcome: Applied) -> None:
        state = outcome.state
        if outcome.reason in (FAILED, BUSY) and row.person_key is not None:
            blocked.add(row.person_key)  # a retry of this one comes first
        if outcome.reason == BUSY:  # left as it was, for a later step
            report.claimed -= 1
            if row.person_key is not None:
                elsewhere.add(row.person_key)
            return
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

    def apply_group(key: tuple[str, str]) -> None:
        gathered = groups.pop(key, [])
        for row, _ in gathered:
            if row.person_key is not None:
                gathered_in.pop(row.person_key, None)
        if gathered and group_appliers is not None:
            events = [event for _, event in gathered]
            outcomes = _apply_group(session, group_appliers[key], appliers.get(key), events, now,
                                    None if max_seconds is None else started + max_seconds)
            for (row, _), outcome in zip(gathered, outcomes, strict=True):
                settle(row, outcome)

    for row in sorted(rows, key=lambda r: r.id):
        kind = kinds[row.source_id]
        key = (kind, row.type)
        grouped = group_appliers is not None and key in group_appliers
        earlier = gathered_in.get(row.person_key) if row.person_key is not None else None
        if earlier is not None and (not grouped or earlier != key):
            apply_group(earlier)  # this person's earlier events wait in another group: they come first
        held = row.person_key is not None and (row.person_key in blocked or row.id > barriers.get(row.person_key, row.id))
        if held:
            continue
        if max_seconds is not None and report.claimed and time.monotonic() - started > max_seconds:
            if row.person_key is not None:
                blocked.add(row.person_key)  # the rest of this person's events wait for the next step too
            continue
        report.claimed += 1
        event = claimed[row.id]
        if grouped:
            groups.setdefault(key, []).append((row, event))
            if row.person_key is not None:
                gathered_in[row.person_key] = key
            if max_group is not None and key in max_group and len(groups[key]) >= max_group[key]:
                apply_group(key)  # safe at any moment: each of its people's gathered events are all in it
            continue
        settle(row, _apply_one(session, appliers.get(key), event, now))
    for key in list(groups):
        if max_seconds is not None and updates and time.monotonic() - started > max_seconds:
            # Out of time: this group's events stay pending for the next step, whole (its people's other
            # events of this step were applied before it, or are in it).
            report.claimed -= len(groups.pop(key))
            continue
        apply_group(key)
    settled = {values["id"] for values in updates}
    report.held = sum(1 for row in rows if row.person_key in elsewhere and row.id not in settled)
    if updates:
        finished = clock() if clock is not None else now
        for values in updates:
            if values["applied_at"] is not None:
                values["applied_at"] = finished
        session.execute(update(InboxMessage), updates)
    if woken:
        # Another step may be applying a woken person (an anonymous browser this step's identify named) and put
        # their event back to wait without seeing this step's writes: those are woken again after the commit.
        mine = taken | dialect.try_lock_keys(session, PERSON_LOCKS, sorted(woken - taken))
        report.wake_later = woken - mine
        wake(session, woken & mine, now, skip_locked=True)
    return report


def _event(row: InboxMessage, kinds: Mapping[int, str], names: Mapping[int, str]) -> InboxEvent:
    return InboxEvent(id=row.id, source=names[row.source_id], source_kind=kinds[row.source_id], type=row.type,
                      message_id=row.message_id, person_key=row.person_key, body=row.body,
                      received_at=row.received_at, timestamp=row.event_at, attempts=row.attempts)


def _take_people(session: Session, events: Sequence[InboxEvent],
                 person_customers: PersonCustomers | None) -> tuple[set[str], set[str]]:
    """(the people this step may apply, those another step holds): a lock on each person, then on each customer
    their events write to; none waits (see the module docstring). A person whose
    lock or one of whose customers another step holds is left whole for a later step. SQLite: everyone."""
    people = sorted({event.person_key for event in events if event.person_key is not None})
    taken = dialect.try_lock_keys(session, PERSON_LOCKS, people)
    if person_customers is not None and taken and not dialect.is_sqlite(session):
        customers = {key: set(ids) for key, ids in
                     person_customers(session, [e for e in events if e.person_key in taken]).items() if ids}
        # Advisory locks, not row locks: a row lock writes each customer's tuple and the WAL (200 customers a step),
        # which cost more database CPU than the waits it saved. Writers other than the steps do not take these:
        # a step meets their rows through LOCK_WAIT_MS.
        wanted = sorted(set().union(*customers.values())) if customers else []
        locked = {int(key) for key in dialect.try_lock_keys(session, CUSTOMER_LOCKS, [str(c) for c in wanted])}
        taken -= {key for key, ids in customers.items() if not ids <= locked}
    return taken, set(people) - taken


def wake(session: Session, person_keys: Iterable[str], now: dt.datetime, *, skip_locked: bool = False) -> int:
    """Make the waiting events of these people due now: something that may resolve them was applied.

    Rows are locked in id order (PostgreSQL), so two wakes never deadlock. `skip_locked`: leave the rows another
    transaction holds (a worker step's; it claimed them because they are due already), never wait for it."""
    keys = sorted(set(person_keys))
    woken = 0
    for start in range(0, len(keys), _INSERT_CHUNK):
        asleep = (select(InboxMessage.id)
                  .where(text(INBOX_UNFINISHED), InboxMessage.state == InboxState.WAITING,
                         InboxMessage.person_key.in_(keys[start:start + _INSERT_CHUNK]), InboxMessage.due_at > now)
                  .order_by(InboxMessage.id).with_for_update(skip_locked=skip_locked))
        result = session.execute(
            update(InboxMessage).where(InboxMessage.id.in_(asleep.scalar_subquery())).values(due_at=now)
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


def _last_per_person(rows: Sequence[InboxMessage]) -> dict[str, int]:
    """Each person's latest event id in this batch."""
    last: dict[str, int] = {}
    for row in rows:
        if row.person_key is not None and row.id > last.get(row.person_key, 0):
            last[row.person_key] = row.id
    return last


@dataclass(frozen=True)
class _Earlier:
    """An unfinished event of a batch's person, earlier than that person's last event in the batch and not
    in the batch."""

    id: int
    person_key: str
    state: str
    due_at: dt.datetime
    reason: str | None

    def claimable(self, now: dt.datetime) -> bool:
        """Pending, or waiting and due: what a step may claim now (as _claimable)."""
        return self.state == InboxState.PENDING or (self.state == InboxState.WAITING and self.due_at <= now)


def _earlier_unfinished(session: Session, rows: Sequence[InboxMessage]) -> list[_Earlier]:
    """The batch's people's unfinished events before their last one in the batch that it does not hold: ONE
    read, through the partial index of unfinished events (a person's applied history is not in it), for both
    the claim of earlier events and the order barriers."""
    claimed = {row.id for row in rows}
    last = _last_per_person(rows)
    if not last:
        return []
    found: list[_Earlier] = []
    keys = sorted(last)
    below = max(last.values())
    for start in range(0, len(keys), _INSERT_CHUNK):
        for key, event_id, state, due_at, reason in session.execute(
                select(InboxMessage.person_key, InboxMessage.id, InboxMessage.state, InboxMessage.due_at,
                       InboxMessage.reason)
                .where(text(INBOX_UNFINISHED), InboxMessage.person_key.in_(keys[start:start + _INSERT_CHUNK]),
                       InboxMessage.id < below)):
            if key is not None and event_id < last[key] and event_id not in claimed:
                found.append(_Earlier(id=event_id, person_key=key, state=state, due_at=due_at, reason=reason))
    return found


def _claim_earlier(session: Session, earlier: Sequence[_Earlier], limit: int, now: dt.datetime) -> list[InboxMessage]:
    """The batch's people's earlier pending (or waiting and due) events it does not hold yet, claimed too
    (those another worker holds are skipped: they stay barriers). The claim goes by `due_at`, and ids (the
    order) can disagree with it (two requests stamp `received_at` before their INSERTs): without this, a batch
    whose every person has an earlier event beyond it would apply nothing, step after step."""
    wanted = sorted(event.id for event in earlier if event.claimable(now))[:limit]
    if not wanted:
        return []
    return list(session.scalars(
        select(InboxMessage).where(InboxMessage.id.in_(wanted), _claimable(now))
        .order_by(InboxMessage.id).with_for_update(skip_locked=True)))


def _claimable(now: dt.datetime) -> Any:
    """Pending, or waiting and due: what a step may claim now."""
    return or_(InboxMessage.state == InboxState.PENDING,
               and_(InboxMessage.state == InboxState.WAITING, InboxMessage.due_at <= now))


def _barriers(rows: Sequence[InboxMessage], earlier: Sequence[_Earlier], now: dt.datetime) -> dict[str, int]:
    """Per person of this batch, the id of their earliest pending event this batch does not hold (another
    worker holds it, or it lies beyond the batch), or of one whose applier failed and will be retried (a
    deadlock, a lost connection), or of a waiting one that is due (woken, or its retry time come) and that
    another worker holds: their claimed events after it must wait for it. `earlier`: the step's one read of
    them (_earlier_unfinished), less what _claim_earlier then took (`rows`); one it could not take, held by
    another worker or done meanwhile, stays a barrier (at worst this person waits one step more).

    Not only events before the batch's first one of a person: two workers claiming at once interleave
    (each skips what the other locked first), so this batch may hold a person's events 1 and 3 while
    another worker holds 2. A due waiting event too: an identify wakes its person's earlier tracks, and
    without this barrier one worker applied a woken track while another applied the same person's next
    identify, both writing that customer's rows (PostgreSQL deadlocks between worker processes, 31 in the
    1M run). A waiting event that is not due holds nothing back, as before."""
    claimed = {row.id for row in rows}
    barriers: dict[str, int] = {}
    for event in earlier:
        if event.id in claimed:
            continue
        if event.claimable(now) or (event.state == InboxState.WAITING and event.reason == FAILED):
            barriers[event.person_key] = min(event.id, barriers.get(event.person_key, event.id))
    return barriers


def _apply_group(session: Session, group_applier: GroupApplier, applier: Applier | None,
                 events: Sequence[InboxEvent], now: dt.datetime, deadline: float | None = None) -> list[Applied]:
    """The group applier's answers, in a savepoint; if it fails, each event through `_apply_one` (one broken
    event must not hold the others back); if it met a row another step holds, in halves (`_apply_halves`)."""
    try:
        with session.begin_nested():
            answers = group_applier(session, events, now)
            if len(answers) != len(events) or any(
                    o.state not in (InboxState.APPLIED, InboxState.WAITING, InboxState.REJECTED) for o in answers):
                raise ValueError("a group applier answered wrongly")
            return answers
    except Exception as error:  # logged without data; the events are applied one by one below
        if dialect.is_lock_conflict(error):
            return _apply_halves(session, group_applier, applier, events, now, deadline)
        log.warning("applying %d inbox events at once failed (%s): one by one", len(events), type(error).__name__)
    outcomes: list[Applied] = []
    busy: set[str | None] = set()
    for event in events:
        if event.person_key is not None and event.person_key in busy:
            outcomes.append(_BUSY)  # this person's earlier event waits for a later step: so do the rest
            continue
        outcome = _apply_one(session, applier, event, now)
        if outcome.reason == BUSY:
            busy.add(event.person_key)
        outcomes.append(outcome)
    return outcomes


def _apply_halves(session: Session, group_applier: GroupApplier, applier: Applier | None,
                  events: Sequence[InboxEvent], now: dt.datetime, deadline: float | None) -> list[Applied]:
    """A group that met a row another step holds: its people in two halves, each applied as a group (and halved
    again if it meets one too), down to the one person whose events then wait for a later step, whole. Not one
    by one: an identify group's records are linked in one pass, and 50 records linked one at a time cost tens of
    times more. A person's events stay together, in order. Once the step's time is up the rest waits too."""
    def person(event: InboxEvent) -> str:
        return event.person_key if event.person_key is not None else f"#{event.id}"

    people = sorted({person(event) for event in events})
    if len(people) < 2 or (deadline is not None and time.monotonic() > deadline):
        return [_BUSY] * len(events)
    first = set(people[:len(people) // 2])
    answers: dict[int, Applied] = {}
    for half in ([e for e in events if person(e) in first], [e for e in events if person(e) not in first]):
        for event, answer in zip(half, _apply_group(session, group_applier, applier, half, now, deadline), strict=True):
            answers[event.id] = answer
    return [answers[event.id] for event in events]


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
        if dialect.is_lock_conflict(error):
            return _BUSY  # another step held a row it needed: not this event's fault, nor an attempt
        log.error("applying inbox event %s (%s %s) failed: %s", event.id, event.source_kind, event.type,
                  type(error).__name__)
        if event.attempts + 1 >= MAX_ERRORS:
            return rejected("inbox.failed")
        return waiting(FAILED)


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
