"""Taking access away while the bot runs: `frontline employees deactivate` in its own process, and the
very next signed request of that employee, in whichever server process takes it (the in-process HTTP
server, two gunicorn workers, Socket Mode), gets the polite refusal an unregistered person gets.
`reactivate` gives the access back at the next request. Nothing is cached per process."""
from __future__ import annotations

import json
import subprocess

import pytest

from localslack.slack_driver import HttpTransport, SlackDriver
from tests.e2e.conftest import ACCESS_CONTACT
from tests.e2e.test_serve import SECRET as SERVE_SECRET
from tests.e2e.test_serve import _env as serve_env
from tests.e2e.test_serve import _frontline, gunicorn_server  # noqa: F401 - the fixture, used by name
from tests.e2e.test_socket_mode import ACCESS_CONTACT as SOCKET_CONTACT
from tests.e2e.test_socket_mode import serve, socket_mode  # noqa: F401 - fixtures, used by name
from tests.e2e.trust_world import JEANNE_EMAIL, build_world, channel_posts

REFUSAL = "doesn't know you"


@pytest.fixture
def world(session_factory, employee):
    return build_world(session_factory, employee)


def admin(db_url: str, slack, *args: str) -> subprocess.CompletedProcess:
    """`frontline employees ...` run by the store's IT admin, a separate process from the server's."""
    result = _frontline("employees", *args, env=serve_env(db_url, slack, LOGNAME="it.admin"))
    assert result.returncode == 0, result.stderr
    return result


def lookup(bot, slack, user: str) -> str:
    """What `user` sees after `/customer <Jeanne's e-mail>`: the ack's text and anything sent after it."""
    before = slack.mark()
    reply = bot.command("/customer", JEANNE_EMAIL, user=user)
    assert reply.status == 200
    if reply.json and REFUSAL in reply.json.get("text", ""):
        return reply.json["text"]
    return slack.wait_for("command_response", since=before).text


def test_deactivated_from_the_command_line_refused_at_the_next_request_then_reactivated(
        bot, slack, world, db_url, session_factory):
    assert "Jeanne Dupont" in lookup(bot, slack, "U0LEA")
    slack.add_user("U0STRANGER", "Sam Stranger")
    stranger_refusal = bot.command("/customer", JEANNE_EMAIL, user="U0STRANGER").json

    result = admin(db_url, slack, "deactivate", "U0LEA")
    assert result.stdout.startswith("Deactivated U0LEA (Léa Martin)")

    before = slack.mark()
    refusal = bot.command("/customer", JEANNE_EMAIL, user="U0LEA").json
    assert refusal == stranger_refusal  # the same polite words, naming who grants access, nothing more
    assert REFUSAL in refusal["text"] and ACCESS_CONTACT in refusal["text"]
    assert refusal["response_type"] == "ephemeral"
    # A DM to the bot, or a button in a message she received before, gets her nothing either.
    bot.dm(f"who is {JEANNE_EMAIL}?", user="U0LEA")
    card = {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "customer.open", "value": str(world.jeanne),
         "text": {"type": "plain_text", "text": "Open"}}]}]}
    bot.click("customer.open", user="U0LEA", on=card)
    seen = " ".join(call.text for call in slack.calls_since(before)) + json.dumps(refusal)
    assert "Jeanne" not in seen and "Dupont" not in seen
    assert channel_posts(slack, before) == []

    admin(db_url, slack, "reactivate", "U0LEA")
    assert "Jeanne Dupont" in lookup(bot, slack, "U0LEA")
    history = admin(db_url, slack, "history", "U0LEA").stdout.splitlines()
    assert [line.split()[2:4] for line in history] == [["cli:it.admin", "deactivate"],
                                                       ["cli:it.admin", "reactivate"]]


def test_every_gunicorn_worker_refuses_at_the_next_request(gunicorn_server, slack, db_url, session_factory,  # noqa: F811 - fixture
                                                           employee):
    employee("U0LEA", "Léa Martin")
    driver = SlackDriver(HttpTransport(gunicorn_server), slack, SERVE_SECRET)
    # Each worker has answered Léa before (several requests over two workers), so any per-process
    # memory of her would show up below.
    replies = [driver.command("/followups", "", user="U0LEA") for _ in range(6)]
    assert all(r.status == 200 and REFUSAL not in json.dumps(r.json or {}) for r in replies)
    admin(db_url, slack, "deactivate", "U0LEA")
    replies = [driver.command("/followups", "", user="U0LEA") for _ in range(6)]
    assert all(r.status == 200 and REFUSAL in r.json["text"] for r in replies), [r.json for r in replies]
    admin(db_url, slack, "reactivate", "U0LEA")
    replies = [driver.command("/followups", "", user="U0LEA") for _ in range(6)]
    assert all(r.status == 200 and REFUSAL not in json.dumps(r.json or {}) for r in replies)


def test_socket_mode_refuses_at_the_next_envelope(serve, socket_mode, slack, world, db_url):  # noqa: F811 - fixtures
    def ask() -> dict | None:
        before = slack.mark()
        envelope = socket_mode.command("/customer", JEANNE_EMAIL, user="U0LEA")
        payload = socket_mode.wait_for_ack(envelope, timeout=3.0).payload
        if payload and REFUSAL in payload.get("text", ""):
            return payload
        assert "Jeanne Dupont" in slack.wait_for("command_response", since=before).text
        return None

    assert ask() is None
    admin(db_url, slack, "deactivate", "U0LEA")
    refusal = ask()
    assert refusal is not None and SOCKET_CONTACT in refusal["text"] and "Jeanne" not in json.dumps(refusal)
    admin(db_url, slack, "reactivate", "U0LEA")
    assert ask() is None
