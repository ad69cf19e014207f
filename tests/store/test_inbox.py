"""The inbox on both databases: stored once, applied once, in order per person, waiting retried."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from store import inbox, sources
from store.inbox import APPLIED, Applied, InboxEvent
from store.live.segment import parse_message
from store.models import InboxMessage, LiveSource
from store.vocabulary import InboxState, SourceKind

NOW = dt.datetime(2026, 12, 1, 10, 0, 0)


def _source(session_factory) -> int:
    with session_factory.begin() as session:
        sources.add_source(session, "web", SourceKind.SEGMENT, secret=None, now=NOW)
    with session_factory() as session:
        return session.scalars(select(LiveSource.id)).one()


def _track(message_id: str, user: str, event: str = "Product Viewed"):
    return parse_message({"type": "track", "userId": user, "event": event, "messageId": message_id},
                         received_at=NOW)


def test_a_retried_message_is_stored_once(session_factory):
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        assert inbox.store_events(session, source_id, [_track("m1", "u1"), _track("m2", "u1")], NOW) == 2
    with session_factory.begin() as session:
        assert inbox.store_events(session, source_id, [_track("m1", "u1"), _track("m1", "u1")], NOW) == 0
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 2


def test_events_are_applied_once_in_order_per_person(session_factory):
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track(f"m{i}", f"u{i % 2}") for i in range(6)], NOW)
    seen: list[tuple[str | None, str]] = []

    def applier(session, event: InboxEvent, now):
        assert event.source == "web" and event.source_kind == SourceKind.SEGMENT
        seen.append((event.person_key, event.message_id))
        return APPLIED

    appliers = {(SourceKind.SEGMENT, "track"): applier}
    with session_factory.begin() as session:
        report = inbox.apply_due(session, appliers, NOW, limit=4)
    with session_factory.begin() as session:
        report2 = inbox.apply_due(session, appliers, NOW, limit=4)
    with session_factory.begin() as session:
        assert inbox.apply_due(session, appliers, NOW).claimed == 0
    assert report.count(InboxState.APPLIED) + report2.count(InboxState.APPLIED) == 6
    for person in ("u:u0", "u:u1"):
        ids = [m for p, m in seen if p == person]
        assert ids == sorted(ids, key=lambda m: int(m[1:]))
    assert sorted(m for _, m in seen) == [f"m{i}" for i in range(6)]


def test_a_waiting_event_is_retried_later_and_when_its_person_moves(session_factory):
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", "u1", "Cart Viewed")], NOW)
    answers = [inbox.waiting("unknown_person"), APPLIED]

    def applier(session, event, now) -> Applied:
        return answers.pop(0)

    appliers = {(SourceKind.SEGMENT, "track"): applier}
    with session_factory.begin() as session:
        assert inbox.apply_due(session, appliers, NOW).count(InboxState.WAITING) == 1
    with session_factory.begin() as session:  # not due yet
        assert inbox.apply_due(session, appliers, NOW).claimed == 0
        assert inbox.backlog(session, NOW).waiting == 1
    with session_factory.begin() as session:
        inbox.wake(session, ["u:u1"], NOW)
    with session_factory.begin() as session:
        assert inbox.apply_due(session, appliers, NOW).count(InboxState.APPLIED) == 1


def test_an_event_nobody_applies_is_kept_as_ignored(session_factory):
    source_id = _source(session_factory)
    group = parse_message({"type": "group", "userId": "u1", "groupId": "g1"}, received_at=NOW)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [group], NOW)
    with session_factory.begin() as session:
        assert inbox.apply_due(session, {}, NOW).count(InboxState.IGNORED) == 1
    with session_factory() as session:
        assert session.scalars(select(InboxMessage.state)).one() == InboxState.IGNORED


def test_a_step_over_its_time_budget_leaves_the_rest_pending(session_factory):
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track(f"m{i}", "u1") for i in range(3)], NOW)
    seen: list[str] = []

    def applier(session, event, now):
        seen.append(event.message_id)
        return APPLIED

    appliers = {(SourceKind.SEGMENT, "track"): applier}
    for expected in (["m0"], ["m0", "m1"], ["m0", "m1", "m2"]):
        with session_factory.begin() as session:  # a budget of 0 s: one event per step, never more
            assert inbox.apply_due(session, appliers, NOW, max_seconds=0).claimed == 1
        assert seen == expected
    with session_factory() as session:
        assert inbox.backlog(session, NOW).pending == 0


def _recording(seen: list[str], fail: set[str] | None = None):
    def applier(session, event: InboxEvent, now) -> Applied:
        if fail is not None and event.message_id in fail:
            fail.discard(event.message_id)
            raise RuntimeError("a deadlock, say")
        seen.append(event.message_id)
        return APPLIED
    return {(SourceKind.SEGMENT, "track"): applier}


def test_a_persons_event_waits_for_an_earlier_one_the_batch_does_not_hold(session_factory):
    """Two HTTP requests stamp `received_at` before their INSERTs, so ids and `due_at` can disagree: a
    batch (claimed by `due_at`) may hold a person's events 1 and 3 but not 2. Applying 3 then would put
    it before 2 (the issue-11 order race across worker processes had this shape)."""
    source_id = _source(session_factory)
    later = NOW + dt.timedelta(seconds=1)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", "u1")], NOW)
        inbox.store_events(session, source_id, [_track("m2", "u1")], later)  # id 2, due after id 3
        inbox.store_events(session, source_id, [_track("m3", "u1"), _track("m4", "u2")], NOW)
    seen: list[str] = []
    appliers = _recording(seen)
    with session_factory.begin() as session:  # claims m1, m3, m4 by due_at, then u1's earlier m2 too
        report = inbox.apply_due(session, appliers, later, limit=3)
    assert report.claimed == 4 and seen == ["m1", "m2", "m3", "m4"]


def test_a_batch_whose_people_all_have_earlier_events_beyond_it_still_progresses(session_factory):
    """Every event claimed (by due_at) has an earlier one of its person beyond the batch: those are claimed
    too, else the step would apply nothing, again and again (seen in bench/ingest.py with 4 senders)."""
    source_id = _source(session_factory)
    later = NOW + dt.timedelta(seconds=1)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", "u1"), _track("m2", "u2")], later)
        inbox.store_events(session, source_id, [_track("m3", "u1"), _track("m4", "u2")], NOW)
    seen: list[str] = []
    with session_factory.begin() as session:
        report = inbox.apply_due(session, _recording(seen), later, limit=2)  # claims m3, m4 first
    assert report.claimed == 4 and seen == ["m1", "m2", "m3", "m4"]


def test_a_persons_event_waits_while_another_worker_holds_an_earlier_one(session_factory, db_url):
    """PostgreSQL: two workers claiming at once interleave (SKIP LOCKED skips what the other locked
    first), so one may hold a person's events 1 and 3 while the other holds 2."""
    if db_url.startswith("sqlite"):
        pytest.skip("SKIP LOCKED: SQLite workers take turns under its one write lock")
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track(f"m{i}", "u1") for i in (1, 2, 3)], NOW)
    seen: list[str] = []
    appliers = _recording(seen)
    with session_factory.begin() as other_worker:
        other_worker.execute(select(InboxMessage.id).where(InboxMessage.message_id == "m2").with_for_update())
        with session_factory.begin() as session:
            report = inbox.apply_due(session, appliers, NOW)
        assert report.claimed == 1 and seen == ["m1"]  # m3 waits for m2, which the other worker holds
    with session_factory.begin() as session:
        inbox.apply_due(session, appliers, NOW)
    assert seen == ["m1", "m2", "m3"]


def test_a_woken_event_another_worker_holds_keeps_its_persons_later_ones_waiting(session_factory, db_url):
    """PostgreSQL: a track about a person not known yet waits; an identify wakes it. While another worker
    applies that woken track, this one must not apply the person's later events: both would write the same
    customer's rows (the deadlocks between worker processes of the 1M run). Another person's go on."""
    if db_url.startswith("sqlite"):
        pytest.skip("SKIP LOCKED: SQLite workers take turns under its one write lock")
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", "u1")], NOW)
    answers = {"m1": [inbox.waiting("unknown_person")]}
    seen: list[str] = []

    def applier(session, event: InboxEvent, now) -> Applied:
        pending = answers.get(event.message_id)
        if pending:
            return pending.pop(0)
        seen.append(event.message_id)
        return APPLIED

    appliers = {(SourceKind.SEGMENT, "track"): applier}
    with session_factory.begin() as session:
        assert inbox.apply_due(session, appliers, NOW).count(InboxState.WAITING) == 1
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m2", "u1"), _track("m3", "u2")], NOW)
        inbox.wake(session, ["u:u1"], NOW)
    with session_factory.begin() as other_worker:
        other_worker.execute(select(InboxMessage.id).where(InboxMessage.message_id == "m1").with_for_update())
        with session_factory.begin() as session:
            inbox.apply_due(session, appliers, NOW)
        assert seen == ["m3"]  # m2 waits for m1, which the other worker is applying
    with session_factory.begin() as session:
        inbox.apply_due(session, appliers, NOW)
    assert seen == ["m3", "m1", "m2"]


def test_a_failed_event_is_retried_before_its_persons_later_ones(session_factory):
    """An applier that raised (a deadlock, a lost connection) is retried: the person's later events wait
    for it rather than overtaking it. Another person's events go on."""
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_track("m1", "u1"), _track("m2", "u1"), _track("m3", "u2")], NOW)
    seen: list[str] = []
    appliers = _recording(seen, fail={"m1"})
    with session_factory.begin() as session:
        report = inbox.apply_due(session, appliers, NOW)
    assert report.count(InboxState.WAITING) == 1 and seen == ["m3"]
    with session_factory.begin() as session:  # before the retry is due: m2 still waits
        inbox.apply_due(session, appliers, NOW)
    assert seen == ["m3"]
    retry_at = NOW + inbox.FIRST_RETRY
    with session_factory.begin() as session:
        inbox.apply_due(session, appliers, retry_at)
    assert seen == ["m3", "m1", "m2"]


def _identify(message_id: str, user: str):
    return parse_message({"type": "identify", "userId": user, "traits": {}, "messageId": message_id},
                         received_at=NOW)


def test_a_group_applier_takes_a_steps_events_at_once_and_each_persons_order_holds(session_factory):
    """Identifies are applied as a group (linked in one pass); a person's later track waits for the group
    holding their identify, another person's track does not."""
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_identify("i1", "u1"), _track("t2", "u2"), _identify("i3", "u3"),
                                                _track("t4", "u1"), _identify("i5", "u2")], NOW)
    seen: list[list[str] | str] = []

    def group(session, events, now):
        seen.append([event.message_id for event in events])
        return [APPLIED for _ in events]

    appliers = {**_recording(seen), (SourceKind.SEGMENT, "identify"): lambda s, e, n: APPLIED}
    with session_factory.begin() as session:
        report = inbox.apply_due(session, appliers, NOW, group_appliers={(SourceKind.SEGMENT, "identify"): group})
    assert report.count(InboxState.APPLIED) == 5
    assert seen == ["t2", ["i1", "i3"], "t4", ["i5"]]  # u1's t4 after i1; u2's i5 after t2


def test_a_mixed_stream_makes_one_group_per_type_and_each_persons_order_holds(session_factory):
    """Identifies and tracks both applied as groups: a mixed stream gathers one group of each per step
    (not alternating groups of a few events); a person with an event of each type has their earlier
    group applied before their later event joins the other one."""
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [
            _identify("i1", "u1"), _track("t2", "u2"), _identify("i3", "u3"), _track("t4", "u4"),
            _identify("i5", "u5"), _track("t6", "u6"), _track("t7", "u3"), _identify("i8", "u7")], NOW)
    seen: list[list[str]] = []

    def group(session, events, now):
        seen.append([event.message_id for event in events])
        return [APPLIED for _ in events]

    one = {(SourceKind.SEGMENT, kind): lambda s, e, n: APPLIED for kind in ("identify", "track")}
    with session_factory.begin() as session:
        report = inbox.apply_due(session, one, NOW, group_appliers={
            (SourceKind.SEGMENT, "identify"): group, (SourceKind.SEGMENT, "track"): group})
    assert report.count(InboxState.APPLIED) == 8
    # u3's t7 comes after the identify group holding i3; then the rest, one group per type.
    assert seen == [["i1", "i3", "i5"], ["t2", "t4", "t6", "t7"], ["i8"]]


def test_a_full_group_is_applied_at_once(session_factory):
    """With `max_group`, a step's identifies go to the group applier a few at a time, in order (the step's
    time budget is checked between groups: a big batch of identifies cannot hold the write lock past it)."""
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_identify(f"i{n}", f"u{n}") for n in range(1, 8)], NOW)
    seen: list[list[str]] = []

    def group(session, events, now):
        seen.append([event.message_id for event in events])
        return [APPLIED for _ in events]

    one = {(SourceKind.SEGMENT, "identify"): lambda s, e, n: APPLIED}
    with session_factory.begin() as session:
        report = inbox.apply_due(session, one, NOW, max_group={(SourceKind.SEGMENT, "identify"): 3},
                                 group_appliers={(SourceKind.SEGMENT, "identify"): group})
    assert seen == [["i1", "i2", "i3"], ["i4", "i5", "i6"], ["i7"]] and report.count(InboxState.APPLIED) == 7


def test_a_failing_group_is_applied_one_by_one(session_factory):
    """A group applier that raises loses nothing: each event is applied alone, and only the broken one waits."""
    source_id = _source(session_factory)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_identify("i1", "u1"), _identify("i2", "u2")], NOW)
    alone: list[str] = []

    def group(session, events, now):
        session.add(InboxMessage(source_id=source_id, message_id="half-written", type="x", body={},
                                 received_at=NOW, event_at=NOW, due_at=NOW))
        session.flush()
        raise RuntimeError("one broken identify")

    def one(session, event, now):
        if event.message_id == "i2":
            raise RuntimeError("the broken one")
        alone.append(event.message_id)
        return APPLIED

    with session_factory.begin() as session:
        report = inbox.apply_due(session, {(SourceKind.SEGMENT, "identify"): one}, NOW,
                                 group_appliers={(SourceKind.SEGMENT, "identify"): group})
    assert alone == ["i1"] and report.count(InboxState.APPLIED) == 1 and report.count(InboxState.WAITING) == 1
    with session_factory() as session:  # the group's own writes were rolled back
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 2
