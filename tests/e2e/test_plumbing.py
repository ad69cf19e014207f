"""The Slack plumbing, seen from Slack's side: signatures, access, health, metrics."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from localslack import slack_requests as sr
from tests.e2e.conftest import ACCESS_CONTACT, SIGNING_SECRET
from tests.support.probe_feature import FEATURE as PROBE
from tests.support.server import start_bot_server


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def probe_bot(settings, engine, session_factory, slack):
    """The bot with a probe feature that reports what the plumbing gave it."""
    from localslack.slack_driver import HttpTransport, SlackDriver

    server = start_bot_server(settings, engine, session_factory, features=[PROBE])
    yield SlackDriver(HttpTransport(server.url), slack, SIGNING_SECRET, settle=server.settle)
    server.stop()


def _slash_body(bot, user="U0SOMEONE") -> str:
    return sr.slash_command_body(bot.workspace, command="/probe", text="", user_id=user,
                                 response_url=bot.slack.new_response_url(), trigger_id=bot.slack.new_trigger_id())


def test_requests_without_a_valid_signature_are_rejected_and_do_nothing(probe_bot, employee, slack):
    employee("U0LEA", "Léa Martin")
    body = _slash_body(probe_bot, "U0LEA")
    before = slack.mark()
    assert probe_bot.send(body, sr.FORM, signed=False).status == 401
    assert probe_bot.send(body, sr.FORM, secret="not-the-secret").status == 401
    assert probe_bot.send(body, sr.FORM, timestamp=int(time.time()) - 10 * 60).status == 401
    assert slack.calls_since(before) == []
    assert probe_bot.send(body, sr.FORM).status == 200
    assert "hello Léa Martin" in slack.wait_for("response_url", since=before).text


def test_url_verification_is_answered_with_the_challenge(probe_bot):
    reply = probe_bot.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert reply.status == 200
    assert reply.json == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_unregistered_user_gets_a_private_polite_refusal_naming_who_to_ask(probe_bot, slack):
    slack.add_user("U0STRANGER", "Sam Stranger", locale="en-GB")
    before = slack.mark()
    reply = probe_bot.command("/probe", "dupont", user="U0STRANGER")
    assert reply.status == 200
    assert reply.json["response_type"] == "ephemeral"
    assert ACCESS_CONTACT in reply.json["text"] and "Sorry" in reply.json["text"]
    # Nothing but the language lookup and the refusal shown from the ack: no message posted, no listener ran.
    assert [c.method for c in slack.calls_since(before)] == ["users.info", "command_response"]


def test_refusal_speaks_the_users_slack_language(probe_bot, slack):
    slack.add_user("U0FRANCK", "Franck Petit", locale="fr-FR")
    reply = probe_bot.command("/probe", "", user="U0FRANCK")
    assert "Désolé" in reply.json["text"] and ACCESS_CONTACT in reply.json["text"]


def test_refusal_does_not_wait_for_a_rate_limited_slack_before_the_ack(probe_bot, slack):
    slack.add_user("U0FRANCK", "Franck Petit", locale="fr-FR")
    slack.fail("users.info", status=429, retry_after=5)
    reply = probe_bot.command("/probe", "", user="U0FRANCK")
    assert reply.status == 200 and ACCESS_CONTACT in reply.json["text"]
    assert reply.elapsed < 3  # waiting out Retry-After would miss Slack's 3-second window
    assert len(slack.calls_to("users.info")) == 1  # one try, no retry


def test_inactive_employee_is_refused_like_a_stranger(probe_bot, employee, slack):
    employee("U0GONE", "Paul Parti", active=False)
    reply = probe_bot.command("/probe", "", user="U0GONE")
    assert ACCESS_CONTACT in reply.json["text"]
    assert slack.calls_to("response_url") == []


def test_unregistered_click_is_refused_ephemerally_through_the_response_url(probe_bot, slack):
    slack.add_user("U0STRANGER", "Sam Stranger")
    message = {"ts": "1700000000.000100", "text": "card",
               "blocks": [{"type": "actions", "block_id": "b", "elements": [
                   {"type": "button", "action_id": "probe_button", "text": {"type": "plain_text", "text": "Go"},
                    "value": "42"}]}]}
    before = slack.mark()
    assert probe_bot.click("probe_button", user="U0STRANGER", on=message).status == 200
    notices = slack.calls_to("response_url")
    assert len(notices) == 1 and ACCESS_CONTACT in notices[0].text
    assert notices[0].args["response_type"] == "ephemeral"
    assert not [c for c in slack.calls_since(before) if c.method.startswith("chat.")]


def test_registered_employee_reaches_listeners_with_dependencies(probe_bot, employee, slack):
    employee("U0LEA", "Léa Martin", locale="fr")
    reply = probe_bot.command("/probe", "", user="U0LEA")
    assert reply.status == 200
    reply_text = slack.calls_to("response_url")[-1].text
    assert "hello Léa Martin (associate, fr)" in reply_text and "db=yes" in reply_text


def test_manager_only_command_refuses_associates_and_lets_managers_in(probe_bot, employee):
    employee("U0LEA", "Léa Martin")
    employee("U0MAX", "Max Manager", role="manager")
    employee("U0ADA", "Ada Admin", role="admin")
    refused = probe_bot.command("/probe-manager", "", user="U0LEA")
    assert "managers" in refused.json["text"] and ACCESS_CONTACT in refused.json["text"]
    assert probe_bot.command("/probe-manager", "", user="U0MAX").body == "manager area for Max Manager"
    assert probe_bot.command("/probe-manager", "", user="U0ADA").body == "manager area for Ada Admin"


def test_events_from_bots_and_strangers_are_ignored(probe_bot, employee, slack):
    employee("U0LEA", "Léa Martin")
    before = slack.mark()
    bot_message = dict(sr.im_message_event(user_id="U0LEA", text="echo", channel_id="D0LEA"), bot_id="B0OTHER")
    assert probe_bot.event(bot_message).status == 200
    assert probe_bot.dm("hello", user="U0NOBODY").status == 200
    assert slack.calls_since(before) == []
    probe_bot.dm("bonjour", user="U0LEA")
    assert "you said 'bonjour', Léa Martin" in slack.wait_for("chat.postMessage", since=before).text


def test_healthz_reports_database_and_turns_503_when_it_is_gone(bot_server, db_url):
    status, body = _get(bot_server.url + "/healthz")
    assert (status, json.loads(body)) == (200, {"database": "ok"})
    _make_database_unreachable(bot_server, db_url)
    status, body = _get(bot_server.url + "/healthz")
    assert (status, json.loads(body)) == (503, {"database": "unreachable"})


def _make_database_unreachable(bot_server, db_url: str) -> None:
    import shutil
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from tests.support.db import PostgresDatabases, postgres_admin_url

    url = make_url(db_url)
    bot_server.engine.dispose()
    if url.get_backend_name() == "sqlite":
        shutil.rmtree(Path(url.database).parent)
    else:
        admin = PostgresDatabases(postgres_admin_url())
        admin.drop(db_url)
        admin.admin.dispose()


def test_metrics_count_requests_by_kind(bot, bot_server, slack):
    slack.add_user("U0STRANGER", "Sam Stranger")
    bot.command("/customer", "x", user="U0STRANGER")
    status, text = _get(bot_server.url + "/metrics")
    assert status == 200
    assert 'frontline_slack_requests_total{kind="command",status="200"}' in text
    assert "frontline_slack_ack_seconds_bucket" in text


def test_requests_no_feature_handles_are_still_acknowledged(probe_bot, employee, slack):
    employee("U0LEA", "Léa Martin")
    assert probe_bot.command("/not-a-feature", "", user="U0LEA").status == 200
    assert probe_bot.open_home(user="U0LEA").status == 200
    edited = {"type": "message", "subtype": "message_changed", "channel": "D0LEA", "channel_type": "im",
              "user": "U0LEA", "ts": sr.message_ts()}
    assert probe_bot.event(edited).status == 200


def test_a_crashing_listener_tells_the_user_with_a_reference(probe_bot, employee, slack, caplog):
    employee("U0LEA", "Léa Martin")
    caplog.set_level("DEBUG")
    before = slack.mark()
    reply = probe_bot.command("/probe-crash", "Dupont Jeanne", user="U0LEA")
    assert reply.status == 200
    notice = slack.wait_for("response_url", since=before)
    assert "Something went wrong on our side (ref " in notice.text
    ref = notice.text.split("(ref ")[1].split(")")[0]
    assert f"listener failed, ref {ref}: RuntimeError" in caplog.text
    assert "Dupont" not in caplog.text and "Jeanne" not in caplog.text
