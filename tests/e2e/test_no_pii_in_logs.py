"""No customer name, email, phone or note in the logs, even at DEBUG and when things fail.

A realistic session (lookups by email, phone and name, reveal, a logged interaction with a note, a
follow-up, a locked database, Slack failing) runs with the production log setup (bot.logs) at DEBUG;
then every line written is searched for the customer's personal data."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url

from localslack.slack_driver import HttpTransport, SlackDriver
from store.db import REQUEST_BUSY_TIMEOUT_MS, make_engine, make_session_factory
from tests.e2e.conftest import SIGNING_SECRET
from tests.e2e.trust_world import JEANNE_EMAIL, JEANNE_PHONE, SECRET_NOTE, build_world
from tests.support.server import start_bot_server
from tests.support.logs import production_logs

NOTE = "Jeanne prefers calls after 6pm, husband Bertrand is allergic to wool"
PII = ("Jeanne", "Dupont", "jeanne.dupont", "example.com", "611223344", "6 11 22 33 44", "Bertrand", "allergic",
       "Rivoli", "75001", "1980-05-17", SECRET_NOTE)




@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_realistic_session_with_failures_logs_no_pii(settings, db_url, slack, session_factory, employee):
    world = build_world(session_factory, employee)
    engine = make_engine(db_url, busy_timeout_ms=REQUEST_BUSY_TIMEOUT_MS)
    with production_logs() as logs:
        server = start_bot_server(settings, engine, make_session_factory(engine))
        bot = SlackDriver(HttpTransport(server.url), slack, SIGNING_SECRET, settle=server.settle)
        try:
            before = slack.mark()
            bot.command("/customer", JEANNE_EMAIL, user="U0LEA")
            card = slack.wait_for("command_response", since=before)
            bot.click("profile.reveal_contact", user="U0LEA", on=card)
            bot.dm(JEANNE_PHONE, user="U0LEA")
            bot.mention("Jeanne Dupont", user="U0LEA")
            bot.command("/customer", "Dupont", user="U0LEA")
            before = slack.mark()
            bot.click("profile.log_interaction", user="U0LEA", on=card)
            modal = slack.wait_for("views.open", since=before)
            form = {"type.input": "advice", "note.input": NOTE, "follow_up_due.input": None}
            holder = sqlite3.connect(make_url(db_url).database, isolation_level=None, timeout=0)
            holder.execute("BEGIN IMMEDIATE")  # the database locked: the save fails and is logged
            failed = bot.submit(modal, form, user="U0LEA")
            bot.command("/customer", JEANNE_EMAIL, user="U0LEA")
            holder.execute("ROLLBACK")
            holder.close()
            assert failed.json["response_action"] == "errors"
            assert bot.submit(modal, form, user="U0LEA").status == 200
            slack.fail("chat.postEphemeral", status=500, times=3)  # Slack failing for good
            bot.mention(JEANNE_EMAIL, user="U0LEA")
            bot.command("/followups", "", user="U0LEA")
            bot.command("/kpi", "Jeanne Dupont", user="U0LEA")
        finally:
            server.stop()
            engine.dispose()
    written = logs.getvalue()
    assert "saving an interaction failed" in written  # the failure was logged...
    assert "listener" in written or "ephemeral" in written.lower() or "error" in written
    leaks = [word for word in PII if word.lower() in written.lower()]
    assert leaks == [], [line for line in written.splitlines() if any(w.lower() in line.lower() for w in leaks)][:5]
    assert world.jeanne  # ids may be logged; that is what operators use
