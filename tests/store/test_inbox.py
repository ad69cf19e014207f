"""The inbox on both databases: stored once, applied once, in order per person, waiting retried."""
from __future__ import annotations

import datetime as dt

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
