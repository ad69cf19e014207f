"""Follow-ups: my list (overdue first), done, snooze, who may change them, idempotent creation."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from store.followups import FollowUpRefused, add_follow_up, complete, open_follow_ups, snooze
from store.models import AuditEvent, FollowUp
from tests.store.interactions_fixtures import build_world

NOW = dt.datetime(2026, 3, 2, 9, 0)
TODAY = NOW.date()


@pytest.fixture
def world(session_factory):
    return build_world(session_factory)


def add(session_factory, world, days_from_today: int, *, assignee=None, customer=None, note="Call back") -> int:
    """A follow-up created earlier (so it may already be overdue today)."""
    with session_factory.begin() as session:
        follow_up = FollowUp(customer_id=customer or world.helene, assignee_id=(assignee or world.lea).id,
                             created_by_id=world.lea.id, due_date=TODAY + dt.timedelta(days=days_from_today),
                             note=note, created_at=NOW - dt.timedelta(days=10))
        session.add(follow_up)
        session.flush()
        return follow_up.id


def test_my_open_follow_ups_come_overdue_first_then_by_due_date(session_factory, world):
    later = add(session_factory, world, 5)
    today = add(session_factory, world, 0)
    overdue_long = add(session_factory, world, -7, customer=world.paul)
    overdue = add(session_factory, world, -1)
    add(session_factory, world, -3, assignee=world.marc)  # someone else's
    with session_factory.begin() as session:
        complete(session, add(session_factory, world, -2), employee=world.lea, now=NOW)
    with session_factory() as session:
        mine = open_follow_ups(session, world.lea.id, today=TODAY)
    assert [f.id for f in mine] == [overdue_long, overdue, today, later]
    assert [f.overdue for f in mine] == [True, True, False, False]
    assert mine[0].customer_name == "Paul Durand"


def test_erased_customer_name_is_not_shown(session_factory, world):
    add(session_factory, world, 0, customer=world.erased)
    with session_factory() as session:
        assert open_follow_ups(session, world.lea.id, today=TODAY)[0].customer_name is None


def test_done_closes_the_follow_up_once_and_audits_it(session_factory, world):
    follow_up_id = add(session_factory, world, -1)
    for _ in range(2):  # a double tap
        with session_factory.begin() as session:
            complete(session, follow_up_id, employee=world.lea, now=NOW)
    with session_factory() as session:
        row = session.get(FollowUp, follow_up_id)
        assert (row.status, row.completed_at) == ("done", NOW)
        events = session.scalars(select(AuditEvent)).all()
        assert [(e.action, e.detail["status"]) for e in events] == [("change", "done")]
        assert open_follow_ups(session, world.lea.id, today=TODAY) == []


@pytest.mark.parametrize("days_from_today, snooze_days, expected", [(-4, 1, 1), (0, 3, 3), (2, 7, 9)])
def test_snooze_moves_the_due_date_from_today_or_from_a_later_due_date(
        session_factory, world, days_from_today, snooze_days, expected):
    follow_up_id = add(session_factory, world, days_from_today)
    with session_factory.begin() as session:
        snooze(session, follow_up_id, employee=world.lea, days=snooze_days, today=TODAY, now=NOW)
    with session_factory() as session:
        assert session.get(FollowUp, follow_up_id).due_date == TODAY + dt.timedelta(days=expected)
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_snooze_accepts_only_one_three_or_seven_days(session_factory, world):
    follow_up_id = add(session_factory, world, 0)
    with session_factory() as session, pytest.raises(FollowUpRefused):
        snooze(session, follow_up_id, employee=world.lea, days=30, today=TODAY)


@pytest.mark.parametrize("who, allowed", [("lea", True), ("nina", True), ("ada", True), ("marc", False),
                                          ("omar", False)])
def test_only_the_assignee_their_manager_or_an_admin_may_close_it(session_factory, world, who, allowed):
    follow_up_id = add(session_factory, world, 0)
    actor = getattr(world, who)
    with session_factory.begin() as session:
        if allowed:
            complete(session, follow_up_id, employee=actor, now=NOW)
        else:
            with pytest.raises(FollowUpRefused) as refused:
                complete(session, follow_up_id, employee=actor, now=NOW)
            # The same refusal as for an id that does not exist: nothing about whose it is.
            assert (refused.value.key, refused.value.params) == ("followups.error.not_found", {})
    with session_factory() as session:
        assert session.get(FollowUp, follow_up_id).status == ("done" if allowed else "open")


def test_a_done_follow_up_cannot_be_snoozed(session_factory, world):
    follow_up_id = add(session_factory, world, 0)
    with session_factory.begin() as session:
        complete(session, follow_up_id, employee=world.lea, now=NOW)
    with session_factory() as session, pytest.raises(FollowUpRefused) as refused:
        snooze(session, follow_up_id, employee=world.lea, days=1, today=TODAY)
    assert refused.value.key == "followups.error.not_open"


def test_add_follow_up_is_idempotent_on_its_key(session_factory, world):
    ids = set()
    for _ in range(2):
        with session_factory.begin() as session:
            ids.add(add_follow_up(session, employee=world.lea, customer_id=world.helene, assignee_id=world.marc.id,
                                  due_date=TODAY, note="Ring", today=TODAY, now=NOW, idempotency_key="v1:x").id)
    assert len(ids) == 1
    with session_factory() as session:
        assert [f.id for f in open_follow_ups(session, world.marc.id, today=TODAY)] == list(ids)


@pytest.mark.parametrize("due_offset, assignee, key", [
    (-1, "marc", "interactions.error.due_in_past"), (0, "gone", "interactions.error.assignee_not_employee")])
def test_add_follow_up_refuses_past_dates_and_inactive_assignees(session_factory, world, due_offset, assignee, key):
    with session_factory() as session, pytest.raises(FollowUpRefused) as refused:
        add_follow_up(session, employee=world.lea, customer_id=world.helene, assignee_id=getattr(world, assignee).id,
                      due_date=TODAY + dt.timedelta(days=due_offset), note=None, today=TODAY, now=NOW)
    assert refused.value.key == key
