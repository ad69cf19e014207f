"""Scheduled digests: exactly once across processes, after crashes and downtime, through 429s and failures."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from bot.app import make_client
from bot.config import Settings
from localslack.local_slack import LocalSlack
from bot.scheduler import DigestSender, start_scheduler
from store.db import make_engine, make_session_factory
from store.models import Customer, DigestRun, Employee, FollowUp
from tests.support.world import add_store_and_team

# Wednesday 11 March 2026, 09:00 in Paris: past the default 08:30.
MORNING = dt.datetime(2026, 3, 11, 8, 0)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def settings(db_url, slack):
    return Settings(database_url=db_url, slack_bot_token=slack.bot_token, slack_api_url=slack.api_url,
                    default_locale="en")


def add_people(session_factory, slack, count: int, *, manager: bool = True) -> list[str]:
    """`count` associates with an overdue follow-up each (so each has a digest), plus a manager."""
    ids = []
    with session_factory.begin() as session:
        store, team = add_store_and_team(session)
        customer = Customer(first_name="Hélène", last_name="Darcy")
        session.add(customer)
        session.flush()
        for i in range(count):
            uid = f"U{i:04d}"
            slack.add_user(uid, f"Person {i}")
            employee = Employee(slack_user_id=uid, name=f"Person {i}", team_id=team.id, store_id=store.id,
                                timezone="Europe/Paris", locale="en" if i % 2 else "fr")
            session.add(employee)
            session.flush()
            session.add(FollowUp(assignee_id=employee.id, customer_id=customer.id, due_date=dt.date(2026, 3, 9),
                                 created_at=dt.datetime(2026, 3, 6, 9, 0)))
            ids.append(uid)
        if manager:
            slack.add_user("UBOSS", "Boss")
            session.add(Employee(slack_user_id="UBOSS", name="Boss", role="manager", team_id=team.id,
                                 store_id=store.id, timezone="Europe/Paris"))
    return ids


def dms(slack: LocalSlack) -> Counter:
    """Successful digest DMs per DM channel."""
    return Counter(call.args["channel"] for call in slack.calls_to("chat.postMessage") if call.ok)


def sender(settings, clock, *, own_engine: bool = True):
    engine = make_engine(settings.database_url)
    return DigestSender(settings, make_session_factory(engine), make_client(settings), clock), engine


def test_two_schedulers_on_one_database_send_each_digest_exactly_once(settings, session_factory, slack):
    people = add_people(session_factory, slack, 24)
    clock = Clock(MORNING)
    senders = [sender(settings, clock) for _ in range(2)]
    start = threading.Barrier(2)
    results = []

    def run(digests):
        start.wait()
        results.append(digests.tick())

    threads = [threading.Thread(target=run, args=(s,)) for s, _ in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent = dms(slack)
    # 24 employee digests + the manager's team digest (the manager has no follow-ups: no employee digest).
    assert sum(sent.values()) == 25
    assert all(sent[f"D{uid.lstrip('U')}"] == 1 for uid in people)
    assert sent["DBOSS"] == 1
    assert sum(r["sent"] for r in results) == 25 and sum(r["failed"] for r in results) == 0
    # Later ticks, in either process, send nothing more that day.
    clock.now += dt.timedelta(hours=3)
    assert [s.tick()["sent"] for s, _ in senders] == [0, 0]
    assert sum(dms(slack).values()) == 25
    for _, engine in senders:
        engine.dispose()


def test_claimed_by_a_process_that_died_is_sent_later_once(settings, session_factory, slack):
    add_people(session_factory, slack, 2, manager=False)
    with session_factory.begin() as session:
        first = session.scalars(select(Employee).order_by(Employee.id)).first()
        session.add(DigestRun(employee_id=first.id, kind="employee", local_date=dt.date(2026, 3, 11),
                              status="claimed", attempts=1, claimed_at=MORNING - dt.timedelta(minutes=5)))
    clock = Clock(MORNING)
    digests, engine = sender(settings, clock)
    assert digests.tick()["sent"] == 1  # the other employee; the claim is still fresh
    assert "D0000" not in dms(slack)
    clock.now += dt.timedelta(minutes=10)  # the claim is now stale: its process died
    assert digests.tick()["sent"] == 1
    clock.now += dt.timedelta(minutes=30)
    assert digests.tick()["sent"] == 0
    assert dms(slack) == Counter({"D0000": 1, "D0001": 1})
    engine.dispose()


def test_rate_limited_message_is_delivered_once_after_retry_after(settings, session_factory, slack):
    add_people(session_factory, slack, 1, manager=False)
    slack.fail("chat.postMessage", status=429, retry_after=1)
    digests, engine = sender(settings, Clock(MORNING))
    assert digests.tick()["sent"] == 1
    statuses = [c.status for c in slack.calls_to("chat.postMessage")]
    assert statuses == [429, 200]
    assert dms(slack) == Counter({"D0000": 1})
    engine.dispose()


def test_one_failure_does_not_stop_the_others_and_is_retried(settings, session_factory, slack):
    add_people(session_factory, slack, 3, manager=False)
    slack.fail("conversations.open", error="user_not_found")  # first recipient only
    clock = Clock(MORNING)
    digests, engine = sender(settings, clock)
    assert digests.tick() == {"sent": 2, "empty": 0, "failed": 1, "skipped": 0}
    with session_factory() as session:
        failed = session.scalars(select(DigestRun).where(DigestRun.status == "failed")).one()
        assert failed.error == "slack:user_not_found" and failed.attempts == 1
    assert digests.tick()["sent"] == 0  # back-off before retrying
    clock.now += dt.timedelta(minutes=3)
    assert digests.tick()["sent"] == 1
    assert sorted(dms(slack).values()) == [1, 1, 1]
    engine.dispose()


def test_retries_stop_after_the_attempt_limit(settings, session_factory, slack):
    add_people(session_factory, slack, 1, manager=False)
    slack.fail("conversations.open", times=10, error="fatal_error")
    clock = Clock(MORNING)
    digests, engine = sender(settings, clock)
    failures = 0
    for _ in range(6):
        failures += digests.tick()["failed"]
        clock.now += dt.timedelta(minutes=3)
    assert failures == 3 and dms(slack) == Counter()
    engine.dispose()


def test_schedule_follows_local_time_working_days_pause_and_relevance(settings, session_factory, slack):
    add_people(session_factory, slack, 3, manager=False)
    with session_factory.begin() as session:
        a, b, c = session.scalars(select(Employee).order_by(Employee.id)).all()
        a.digest_time = "10:00"
        b.digest_paused = True
        c.timezone = "America/New_York"  # 04:00 there at MORNING
    clock = Clock(MORNING)
    digests, engine = sender(settings, clock)
    assert digests.tick()["sent"] == 0
    clock.now = dt.datetime(2026, 3, 11, 9, 5)  # 10:05 Paris: a's time has come
    assert digests.tick()["sent"] == 1
    clock.now = dt.datetime(2026, 3, 11, 23, 0)  # 19:00 New York: c's missed digest is no longer relevant
    assert digests.tick()["sent"] == 0
    clock.now = dt.datetime(2026, 3, 14, 14, 0)  # Saturday: not a working day
    assert digests.tick()["sent"] == 0
    clock.now = dt.datetime(2026, 3, 16, 14, 0)  # Monday 10:00 New York, after downtime: sent once
    assert digests.tick()["sent"] == 2  # a (Paris, 15:00) and c
    assert digests.tick()["sent"] == 0
    assert "D0001" not in dms(slack)  # paused
    engine.dispose()


def test_scheduler_handle_runs_the_digest_job_and_shuts_down(settings, session_factory, slack):
    add_people(session_factory, slack, 1, manager=False)
    handle = start_scheduler(settings, session_factory, make_client(settings), clock=Clock(MORNING))
    try:
        assert handle.alive()
        slack.wait_for("chat.postMessage", timeout=10)  # the first tick runs at start-up
    finally:
        handle.shutdown()
    assert not handle.alive()
    assert dms(slack) == Counter({"D0000": 1})
