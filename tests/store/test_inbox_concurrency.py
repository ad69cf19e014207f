"""Two worker steps at once on PostgreSQL: they never apply one person, nor two people of one customer, at the
same time, never wait for each other past store.inbox.LOCK_WAIT_MS, and every event is still applied once, in
order per person. (SQLite has one writer: its steps take turns, nothing here applies to it.)

Worker A's step runs in a thread and stops inside its applier, its transaction open, until worker B's step (this
thread) has finished: B returning while A is still inside is the proof that B did not wait for A's commit."""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.ingest import InboxWorkers
from store import inbox, sources
from store.inbox import APPLIED, Applied, InboxEvent
from store.live.segment import parse_message
from store.models import Customer, InboxMessage, LiveSource
from store.vocabulary import InboxState, SourceKind

NOW = dt.datetime(2026, 12, 2, 10, 0, 0)
WAIT = 30  # s: only ever reached when the code under test is broken (a step waiting for the other's commit)


@pytest.fixture
def source_id(session_factory, db_url) -> int:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite's steps take turns under its one write lock")
    with session_factory.begin() as session:
        sources.add_source(session, "web", SourceKind.SEGMENT, secret=None, now=NOW)
    with session_factory() as session:
        return session.scalars(select(LiveSource.id)).one()


def _track(message_id: str, user: str | None = None, anonymous: str | None = None):
    message = {"type": "track", "event": "Product Viewed", "messageId": message_id}
    if user:
        message["userId"] = user
    if anonymous:
        message["anonymousId"] = anonymous
    return parse_message(message, received_at=NOW)


def _customer(session_factory) -> int:
    with session_factory.begin() as session:
        customer = Customer(first_name="Hélène", last_name="Darcy")
        session.add(customer)
        session.flush()
        return customer.id


def _customers(mapping: Mapping[str, int]) -> Callable[[Session, Sequence[InboxEvent]], Mapping[str, Iterable[int]]]:
    def customers_of(session: Session, events: Sequence[InboxEvent]) -> Mapping[str, Iterable[int]]:
        return {e.person_key: {mapping[e.person_key]} for e in events if e.person_key in mapping}
    return customers_of


class _Blocking:
    """A track applier that writes its person's customer's row (as a golden record's rebuild does) and records
    the event; on `hold` it stops there, transaction open, until `go`."""

    def __init__(self, customer_of: Mapping[str, int], hold: str) -> None:
        self.customer_of, self.hold = customer_of, hold
        self.seen: list[str] = []
        self.inside, self.go = threading.Event(), threading.Event()

    def __call__(self, session: Session, event: InboxEvent, now: dt.datetime) -> Applied:
        customer_id = self.customer_of.get(event.person_key or "")
        if customer_id is not None:
            session.execute(update(Customer).where(Customer.id == customer_id).values(updated_at=now))
        self.seen.append(event.message_id)
        if event.message_id == self.hold:
            self.inside.set()
            assert self.go.wait(WAIT)
        return APPLIED


def _worker_a(session_factory, appliers, person_customers) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def run() -> None:
        with session_factory.begin() as session:
            inbox.apply_due(session, appliers, NOW, limit=1, person_customers=person_customers)
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def _states(session_factory) -> dict[str, tuple[str, int]]:
    with session_factory() as session:
        return {m: (s, a) for m, s, a in session.execute(
            select(InboxMessage.message_id, InboxMessage.state, InboxMessage.attempts))}


def test_two_people_of_one_customer_are_never_applied_by_two_steps_at_once(session_factory, source_id):
    """u1 and u2 are two web accounts of one customer (a household, or the same person twice): while worker A
    applies u1, worker B leaves u2 for later instead of waiting on the customer's row, and applies u3."""
    shared, other = _customer(session_factory), _customer(session_factory)
    customer_of = {"u:u1": shared, "u:u2": shared, "u:u3": other}
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", "u1"), _track("m2", "u2"), _track("m3", "u3")], NOW)
    applier = _Blocking(customer_of, hold="m1")
    appliers = {(SourceKind.SEGMENT, "track"): applier}
    thread, a_done = _worker_a(session_factory, appliers, _customers(customer_of))
    assert applier.inside.wait(WAIT)
    with session_factory.begin() as session:
        report = inbox.apply_due(session, appliers, NOW, person_customers=_customers(customer_of))
    assert not a_done.is_set()  # B finished while A still held the customer: it never waited for A
    assert report.claimed == 1 and report.held == 1 and applier.seen == ["m1", "m3"]
    applier.go.set()
    thread.join(WAIT)
    with session_factory.begin() as session:
        assert inbox.apply_due(session, appliers, NOW, person_customers=_customers(customer_of)).claimed == 1
    assert applier.seen == ["m1", "m3", "m2"]
    assert {m: s for m, (s, _) in _states(session_factory).items()} == dict.fromkeys(("m1", "m2", "m3"), "applied")


def test_a_row_another_step_holds_that_could_not_be_known_leaves_the_event_for_later_not_failed(
        session_factory, source_id):
    """u2's customer is not known before applying (a new record joining u1's customer, say): B's applier finds
    the row held by A, waits at most LOCK_WAIT_MS, and leaves u2's events for a later step, whole and in order:
    not an error, no attempt counted, and no deadlock."""
    shared = _customer(session_factory)
    writes_to = {"u:u1": shared, "u:u2": shared}
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", "u1"), _track("m2", "u2"), _track("m3", "u2"),
                                                _track("m4", "u3")], NOW)
    applier = _Blocking(writes_to, hold="m1")
    appliers = {(SourceKind.SEGMENT, "track"): applier}
    thread, a_done = _worker_a(session_factory, appliers, None)
    assert applier.inside.wait(WAIT)
    with session_factory.begin() as session:
        report = inbox.apply_due(session, appliers, NOW)
    assert not a_done.is_set()
    assert report.claimed == 1 and report.count(InboxState.APPLIED) == 1 and report.held == 2
    assert applier.seen == ["m1", "m4"]  # m2's write gave up waiting (rolled back); m3 not tried after it
    states = _states(session_factory)
    assert states["m2"] == ("pending", 0) and states["m3"] == ("pending", 0)
    applier.go.set()
    thread.join(WAIT)
    with session_factory.begin() as session:
        inbox.apply_due(session, appliers, NOW)
    assert applier.seen == ["m1", "m4", "m2", "m3"]
    assert {m: s for m, (s, _) in _states(session_factory).items()} == dict.fromkeys(("m1", "m2", "m3", "m4"),
                                                                                       "applied")


def test_a_person_woken_while_another_step_applies_them_is_woken_again_after_the_commit(session_factory, source_id):
    """Worker A is trying an anonymous browser's waiting event (still unknown: it will wait again); worker B
    applies the identify-like event that names that browser and wakes it. B cannot wake a row A holds, and A
    did not see B's writes: once B has committed, its worker wakes the browser's events again, so they do not
    sleep until their next retry."""
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", anonymous="x")], NOW)
    inside, go = threading.Event(), threading.Event()

    def applier(session: Session, event: InboxEvent, now: dt.datetime) -> Applied:
        if event.message_id == "m1":  # the browser, unknown still
            inside.set()
            assert go.wait(WAIT)
            return inbox.waiting("unknown_person")
        return Applied(InboxState.APPLIED, wake=("a:x",))  # names the browser

    appliers = {(SourceKind.SEGMENT, "track"): applier}
    with session_factory.begin() as session:
        assert inbox.apply_due(session, {(SourceKind.SEGMENT, "track"): lambda s, e, n: inbox.waiting("unknown")},
                               NOW).count(InboxState.WAITING) == 1
    later = NOW + dt.timedelta(minutes=1)  # m1's retry is due
    done = threading.Event()

    def worker_a() -> None:
        with session_factory.begin() as session:
            inbox.apply_due(session, appliers, later, limit=1)  # claims m1 (waiting, due), which waits again
        done.set()

    thread = threading.Thread(target=worker_a, daemon=True)
    thread.start()
    assert inside.wait(WAIT)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m2", "u1")], NOW)
    with session_factory.begin() as session:
        report = inbox.apply_due(session, appliers, later)
    assert not done.is_set() and report.count(InboxState.APPLIED) == 1 and report.wake_later == {"a:x"}
    go.set()
    thread.join(WAIT)
    with session_factory() as session:
        due_at = session.scalar(select(InboxMessage.due_at).where(InboxMessage.message_id == "m1"))
    assert due_at > later  # A put it back to sleep, B's wake could not reach it
    with session_factory.begin() as session:
        inbox.wake(session, report.wake_later, later)  # what InboxWorkers.step does after B's commit
    with session_factory() as session:
        assert session.scalar(select(InboxMessage.due_at).where(InboxMessage.message_id == "m1")) == later


def test_a_worker_step_wakes_again_after_its_commit(session_factory, source_id):
    """InboxWorkers.step runs the wake-up of `wake_later` in its own transaction once its step has committed."""
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", anonymous="x")], NOW)
    with session_factory.begin() as session:
        inbox.apply_due(session, {(SourceKind.SEGMENT, "track"): lambda s, e, n: inbox.waiting("unknown")}, NOW)
        inbox.store_events(session, source_id, [_track("m2", "u1")], NOW)
    with session_factory.begin() as other_step:  # holds the browser, as a step applying it would
        assert inbox.dialect.try_lock_keys(other_step, inbox.PERSON_LOCKS, ["a:x"]) == {"a:x"}
        workers = InboxWorkers(session_factory, count=1, clock=lambda: NOW, person_customers=None,
                               appliers={(SourceKind.SEGMENT, "track"): lambda s, e, n: Applied(
                                   InboxState.APPLIED, wake=("a:x",))})
        report = workers.step()
        assert report.wake_later == {"a:x"}
    with session_factory() as session:
        assert session.scalar(select(InboxMessage.due_at).where(InboxMessage.message_id == "m1")) == NOW


def test_a_group_that_meets_a_row_another_step_holds_goes_on_without_that_person(session_factory, source_id):
    """A group (say a step's identifies, linked in one pass) meets a row another step holds on u2's behalf: it
    is tried again in halves of its people, so u3 and u4 are still applied together, and u2's events wait for a
    later step, not failed."""
    shared = _customer(session_factory)
    writes_to = {"u:u1": shared, "u:u2": shared}
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", "u1"), _track("m2", "u2"), _track("m3", "u3"),
                                                _track("m4", "u4")], NOW)
    holder = _Blocking(writes_to, hold="m1")
    groups: list[list[str]] = []

    def group_applier(session: Session, events: Sequence[InboxEvent], now: dt.datetime) -> list[Applied]:
        groups.append([event.message_id for event in events])
        for event in events:
            if event.person_key in writes_to:
                session.execute(update(Customer).where(Customer.id == writes_to[event.person_key]).values(updated_at=now))
        return [APPLIED] * len(events)

    thread, a_done = _worker_a(session_factory, {(SourceKind.SEGMENT, "track"): holder}, None)
    assert holder.inside.wait(WAIT)
    with session_factory.begin() as session:
        report = inbox.apply_due(session, {(SourceKind.SEGMENT, "track"): holder}, NOW,
                                 group_appliers={(SourceKind.SEGMENT, "track"): group_applier})
    assert not a_done.is_set()
    assert groups == [["m2", "m3", "m4"], ["m2"], ["m3", "m4"]]
    assert report.count(InboxState.APPLIED) == 2 and report.held == 1
    assert _states(session_factory)["m2"] == ("pending", 0)
    holder.go.set()
    thread.join(WAIT)
    with session_factory.begin() as session:
        inbox.apply_due(session, {(SourceKind.SEGMENT, "track"): holder}, NOW,
                        group_appliers={(SourceKind.SEGMENT, "track"): group_applier})
    assert groups[-1] == ["m2"]
    assert {m: s for m, (s, _) in _states(session_factory).items()} == dict.fromkeys(("m1", "m2", "m3", "m4"),
                                                                                       "applied")
