"""Faults: a locked or unreachable database, Slack failing or rate-limiting, Slack retries and double
clicks. The employee always gets a clear answer within Slack's 3 seconds, a modal keeps its input,
nothing is lost or duplicated, and the bot carries on by itself once the fault is gone."""
from __future__ import annotations

import contextlib
import json
import sqlite3
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from localslack import slack_requests as sr
from localslack.slack_driver import HttpTransport, SlackDriver
from store.db import REQUEST_BUSY_TIMEOUT_MS, make_engine, make_session_factory
from store.models import AuditEvent, Employee, FollowUp, Interaction
from tests.e2e.conftest import SIGNING_SECRET
from tests.e2e.trust_world import JEANNE_EMAIL, add_follow_up, build_world, row_counts
from tests.support.server import start_bot_server

DB_DOWN = "not reachable right now"
SLACK_WINDOW = 3.0
# `served` has the product's short ack window: on a loaded machine an answer may come either way.
ANSWERED = ("command_response", "response_url")


@pytest.fixture
def world(session_factory, employee):
    return build_world(session_factory, employee)


@pytest.fixture
def request_engine(db_url):
    """The engine the way `frontline serve` builds it: short busy timeout on the request path."""
    engine = make_engine(db_url, busy_timeout_ms=REQUEST_BUSY_TIMEOUT_MS)
    yield engine
    engine.dispose()


@pytest.fixture
def served(settings, request_engine, slack):
    # The product's default ack window (0.5 s), shorter than the request path's busy timeout (2 s): a lookup
    # stuck behind SQLite's write lock acks "looking for…" first.
    server = start_bot_server(settings.with_overrides(answer_in_ack_seconds=0.5), request_engine,
                              make_session_factory(request_engine))
    yield SlackDriver(HttpTransport(server.url), slack, SIGNING_SECRET, settle=server.settle)
    server.stop()


@contextlib.contextmanager
def write_locked(db_url: str):
    """Another process holding SQLite's write lock (a long import, a stuck transaction)."""
    holder = sqlite3.connect(make_url(db_url).database, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def open_log_modal(bot, slack, world):
    before = slack.mark()
    bot.command("/log", JEANNE_EMAIL, user="U0LEA")
    return slack.wait_for("views.open", since=before)


FORM = {"type.input": "advice", "note.input": "Wants the Aigle boots in 38"}


def count(session_factory, model) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_locked_database_answers_in_time_keeps_the_modal_and_recovers(served, slack, world, db_url, session_factory):
    modal = open_log_modal(served, slack, world)
    counts = row_counts(session_factory)
    with write_locked(db_url):
        reply = served.submit(modal, FORM, user="U0LEA")
        assert reply.elapsed < SLACK_WINDOW
        assert reply.json["response_action"] == "errors"  # the modal stays open with what was typed
        assert DB_DOWN in json.dumps(reply.json)
        before, started = slack.mark(), time.time()
        command = served.command("/customer", JEANNE_EMAIL, user="U0LEA")
        # The audit row waits for the lock longer than the ack window: Slack gets "looking for…" in time,
        # then the answer through the response_url.
        assert command.status == 200 and command.elapsed < SLACK_WINDOW
        assert "Looking for" in command.json["text"]
        answer = slack.wait_for("response_url", since=before)
        assert DB_DOWN in answer.text and answer.at - started < SLACK_WINDOW
    assert row_counts(session_factory) == counts
    reply = served.submit(modal, FORM, user="U0LEA")  # the same modal, submitted again once the lock is gone
    assert reply.status == 200 and not reply.body
    assert count(session_factory, Interaction) == counts["interactions"] + 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_done_click_on_a_locked_database_says_so_and_changes_nothing(served, slack, world, db_url, session_factory):
    follow_up = add_follow_up(session_factory, assignee=world.lea, customer=world.jeanne)
    message = {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "followups.done", "value": str(follow_up),
         "text": {"type": "plain_text", "text": "Done"}}]}]}
    with write_locked(db_url):
        before = slack.mark()
        started = time.time()
        served.click("followups.done", user="U0LEA", on=message)
        answer = slack.wait_for("response_url", since=before)
        assert DB_DOWN in answer.text and answer.at - started < SLACK_WINDOW
    with session_factory() as session:
        assert session.get(FollowUp, follow_up).status == "open"
    served.click("followups.done", user="U0LEA", on=message)
    with session_factory() as session:
        assert session.get(FollowUp, follow_up).status == "done"


def test_unreachable_database_gets_a_clear_message_at_once(settings, slack, world, tmp_path):
    url = (f"sqlite:///{tmp_path}/missing/dir/frontline.db" if settings.database_url.startswith("sqlite")
           else "postgresql+psycopg://frontline@127.0.0.1:1/frontline?connect_timeout=2")
    engine = make_engine(url, busy_timeout_ms=REQUEST_BUSY_TIMEOUT_MS)
    server = start_bot_server(settings, engine, make_session_factory(engine))
    try:
        bot = SlackDriver(HttpTransport(server.url), slack, SIGNING_SECRET, settle=server.settle)
        for send in (lambda: bot.command("/customer", JEANNE_EMAIL, user="U0LEA"),
                     lambda: bot.command("/log", "", user="U0LEA")):
            reply = send()
            assert reply.status == 200 and reply.elapsed < SLACK_WINDOW
            assert DB_DOWN in reply.json["text"]
        assert server.web.health()[0] == 503
    finally:
        server.stop()
        engine.dispose()


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_postgres_connections_killed_under_the_bot_are_replaced(served, slack, world, db_url, engine):
    before = slack.mark()
    served.command("/customer", JEANNE_EMAIL, user="U0LEA")
    assert "Jeanne Dupont" in slack.wait_for(ANSWERED, since=before).text
    with engine.connect() as admin:  # what a failover or a DBA's pg_terminate_backend does
        admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        admin.commit()
    before = slack.mark()
    served.command("/customer", JEANNE_EMAIL, user="U0LEA")
    assert "Jeanne Dupont" in slack.wait_for(ANSWERED, since=before).text


# ---- Slack failing ----------------------------------------------------------------------------


def test_slack_500_on_post_ephemeral_is_retried(bot, slack, world):
    slack.fail("chat.postEphemeral", status=500, times=1)
    before = slack.mark()
    bot.mention(JEANNE_EMAIL, user="U0LEA")
    calls = [c for c in slack.calls_since(before) if c.method == "chat.postEphemeral"]
    assert [c.status for c in calls] == [500, 200]
    assert "Jeanne Dupont" in calls[-1].text


def test_slack_429_on_views_open_waits_retry_after_and_opens(bot, slack, world):
    slack.fail("views.open", status=429, retry_after=1, times=1)
    before = slack.mark()
    reply = bot.command("/log", "", user="U0LEA")
    assert reply.status == 200 and reply.elapsed < 1.0  # the ack does not wait for Slack
    calls = [c for c in slack.calls_since(before) if c.method == "views.open"]
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.9  # Slack's Retry-After was honoured


def test_slack_down_for_good_never_crashes_the_bot(bot, slack, world, session_factory):
    slack.fail("views.open", status=500, times=3)
    slack.fail("chat.postEphemeral", status=429, retry_after=1, times=3)
    before = slack.mark()
    assert bot.command("/log", "", user="U0LEA").status == 200
    assert bot.mention(JEANNE_EMAIL, user="U0LEA").status == 200
    attempts = [c.method for c in slack.calls_since(before)]
    assert attempts.count("views.open") == 3 and attempts.count("chat.postEphemeral") == 3  # bounded: 1 + 2 retries
    before = slack.mark()
    bot.command("/customer", JEANNE_EMAIL, user="U0LEA")
    assert "Jeanne Dupont" in slack.wait_for("command_response", since=before).text


# ---- retries and double clicks ------------------------------------------------------------------


def send_event(driver, slack, event: dict, *, event_id: str, retry: int | None = None):
    body = json.dumps(sr.event_envelope(slack.workspace, event, event_id=event_id))
    headers = dict(sr.sign(body, sr.JSON, SIGNING_SECRET).headers)
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    reply = driver.transport.send(body, headers)
    driver.settle()
    return reply


def test_redelivered_mention_and_dm_are_answered_once_even_by_another_process(bot, served, slack, world):
    mention = sr.app_mention_event(user_id="U0LEA", text=JEANNE_EMAIL, channel_id="C0GENERAL",
                                   bot_user_id=slack.workspace.bot_user_id)
    dm = sr.im_message_event(user_id="U0LEA", text=JEANNE_EMAIL, channel_id="D0LEA")
    before = slack.mark()
    for event, event_id in ((mention, "Ev0MENTION1"), (dm, "Ev0DM1")):
        assert send_event(bot, slack, event, event_id=event_id).status == 200
        for retry, process in ((1, served), (2, bot), (3, served)):  # retries may land on any worker
            assert send_event(process, slack, event, event_id=event_id, retry=retry).status == 200
    answers = [c for c in slack.calls_since(before) if c.method in ("chat.postEphemeral", "chat.postMessage")]
    assert [c.method for c in answers] == ["chat.postEphemeral", "chat.postMessage"]


def test_double_submit_and_double_click_change_things_once(bot, slack, world, session_factory):
    modal = open_log_modal(bot, slack, world)
    counts = row_counts(session_factory)
    first = bot.submit(modal, FORM, user="U0LEA")
    second = bot.submit(modal, FORM, user="U0LEA")
    assert first.status == second.status == 200
    assert count(session_factory, Interaction) == counts["interactions"] + 1
    follow_up = add_follow_up(session_factory, assignee=world.lea, customer=world.jeanne)
    message = {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "followups.done", "value": str(follow_up),
         "text": {"type": "plain_text", "text": "Done"}},
        {"type": "static_select", "action_id": "followups.snooze", "placeholder": {"type": "plain_text", "text": "s"},
         "options": [{"text": {"type": "plain_text", "text": "1 day"}, "value": f"{follow_up}:1"}]}]}]}
    audits = count(session_factory, AuditEvent)
    bot.click("followups.done", user="U0LEA", on=message, settle=False)
    bot.click("followups.done", user="U0LEA", on=message)
    assert count(session_factory, AuditEvent) == audits + 1  # one change recorded, not two
    with session_factory() as session:
        assert session.get(FollowUp, follow_up).status == "done"
    bot.click("followups.snooze", user="U0LEA", on=message, value=f"{follow_up}:1")
    with session_factory() as session:  # a late Snooze on a done follow-up changes nothing
        assert session.get(FollowUp, follow_up).status == "done"
    assert count(session_factory, AuditEvent) == audits + 1


# ---- every write path, with another process holding the write lock -----------------------------------


def _digest_settings(session_factory, employee_id: int) -> tuple:
    with session_factory() as session:
        row = session.get(Employee, employee_id)
        return row.digest_paused, row.digest_time, row.digest_weekdays


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("text", ["pause", "resume", "time 09:00", "days mon-sat"])
def test_digest_settings_on_a_locked_database_say_so_and_change_nothing(served, slack, world, db_url,
                                                                        session_factory, text):
    settings_before, counts = _digest_settings(session_factory, world.lea), row_counts(session_factory)
    with write_locked(db_url):
        reply = served.command("/digest", text, user="U0LEA")
        assert reply.status == 200 and reply.elapsed < SLACK_WINDOW
        assert DB_DOWN in reply.json["text"] and reply.json["response_type"] == "ephemeral"
    assert _digest_settings(session_factory, world.lea) == settings_before
    assert row_counts(session_factory) == counts
    assert "not reachable" not in served.command("/digest", text, user="U0LEA").json["text"]  # lock gone: it works


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("action_id", ["customer.open", "profile.reveal_contact"])
def test_audited_card_clicks_on_a_locked_database_say_so(served, slack, world, db_url, session_factory, action_id):
    """Opening or revealing a card writes its audit row first: locked, the employee is told, sees no card."""
    message = {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": action_id, "value": str(world.jeanne),
         "text": {"type": "plain_text", "text": "x"}}]}]}
    counts = row_counts(session_factory)
    with write_locked(db_url):
        before = slack.mark()
        assert served.click(action_id, user="U0LEA", on=message).elapsed < SLACK_WINDOW
        answer = slack.wait_for("response_url", since=before)
        assert DB_DOWN in answer.text
        assert JEANNE_EMAIL not in json.dumps(answer.args)
    assert row_counts(session_factory) == counts

