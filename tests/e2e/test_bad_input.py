"""Bad input through every entry point: empty, 10 MB, control characters, other scripts, SQL and mrkdwn
injection, wrong types, unknown action ids, forged ids. Each gets a clear answer (or a quiet 200 where
Slack shows nothing) and changes nothing; no payload ever pings anyone."""
from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from bot import slack_requests as sr
from bot.slack_driver import SlackDriver, WsgiTransport
from store.models import Interaction
from tests.e2e.conftest import SIGNING_SECRET
from tests.e2e.trust_world import EVIL_EMAIL, JEANNE_EMAIL, build_world, channel_posts, row_counts

NASTY = [
    "", "   ", "\x00\x01\x02\x1b[31m", "'; DROP TABLE customers; --", "' OR '1'='1", "%", "_", "\\", "*",
    "مرحبا بالعالم", "王小明", "👠👠👠", "<!channel>", "<@U0NINA>", "<https://evil.example|click here>",
    "a" * 5000, "\u202eXyzzy\u202c", "null", "{\"text\": 1}", "0", "-1", "9" * 40,
]
CRASH = "Something went wrong"
PINGS = ("<!channel>", "<!here>", "<!everyone>", "<@U0NINA>", "<https://evil")


@pytest.fixture
def world(session_factory, employee):
    return build_world(session_factory, employee)


def rendered_texts(obj) -> str:
    """Every text Slack would render as mrkdwn (where <!channel> or <@U…> would ping)."""
    found: list[str] = []

    def walk(node, top=False):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            if top and isinstance(node.get("text"), str):
                found.append(node["text"])
            for key, value in node.items():
                if key != "text" or isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    for item in obj:
        walk(item, top=True)
    return "\n".join(found)


def answered_without_harm(slack, before: int, reply, counts, session_factory, label: object = None) -> str:
    assert reply.status == 200, label
    calls = slack.calls_since(before)
    seen = json.dumps(reply.json or {}, ensure_ascii=False) + json.dumps([c.args for c in calls], ensure_ascii=False)
    assert CRASH not in seen, label
    rendered = rendered_texts([reply.json or {}, *[c.args for c in calls]])
    for ping in PINGS:
        assert ping not in rendered, (ping, label)
    assert channel_posts(slack, before) == [], label
    assert row_counts(session_factory) == counts, label
    return seen


@pytest.mark.parametrize("command", ["/customer", "/kpi", "/digest", "/followups", "/log"])
def test_nasty_command_text(bot, slack, world, session_factory, command):
    counts = row_counts(session_factory)
    for text in NASTY:
        before = slack.mark()
        reply = bot.command(command, text, user="U0NINA")
        seen = answered_without_harm(slack, before, reply, counts, session_factory, text)
        assert seen.strip("{}[] ") , text  # something was said to the employee


@pytest.mark.parametrize("route", ["dm", "mention"])
def test_nasty_messages_to_the_bot(bot, slack, world, session_factory, route):
    counts = row_counts(session_factory)
    for text in NASTY:
        before = slack.mark()
        reply = (bot.dm if route == "dm" else bot.mention)(text, user="U0LEA")
        answered_without_harm(slack, before, reply, counts, session_factory, text)


def test_ten_megabytes_is_refused_before_anything_runs(bot_server, slack, world, session_factory):
    bot = SlackDriver(WsgiTransport(bot_server.web), slack, SIGNING_SECRET, settle=bot_server.settle)
    counts, before = row_counts(session_factory), slack.mark()
    body = sr.slash_command_body(slack.workspace, command="/customer", text="x" * 10_000_000, user_id="U0LEA",
                                 user_name="lea", channel_id="C0GENERAL", channel_name="general",
                                 response_url=slack.new_response_url(), trigger_id=slack.new_trigger_id())
    reply = bot.send(body, sr.FORM)
    assert reply.status == 413
    assert slack.calls_since(before) == [] and row_counts(session_factory) == counts


@pytest.mark.parametrize("body, content_type", [
    ("", sr.FORM), ("payload=", sr.FORM), ("payload=%7Bnot%20json", sr.FORM), ("{", sr.JSON), ("[]", sr.JSON),
    ("\x00\xff", sr.FORM), (json.dumps({"type": "event_callback", "event": "text"}), sr.JSON),
    (json.dumps({"type": "block_actions", "user": "U0LEA", "actions": "nope"}), sr.JSON),
])
def test_malformed_bodies_never_crash_or_change_anything(bot, slack, world, session_factory, body, content_type):
    counts, before = row_counts(session_factory), slack.mark()
    reply = bot.send(body, content_type)
    assert reply.status < 500
    assert channel_posts(slack, before) == [] and row_counts(session_factory) == counts
    assert bot.send(body, content_type, signed=False).status in (400, 401)  # unsigned: refused outright


def _card(bot, slack, query=JEANNE_EMAIL):
    before = slack.mark()
    bot.command("/customer", query, user="U0LEA")
    return slack.wait_for("response_url", since=before)


@pytest.mark.parametrize("action_id", ["customer.open", "profile.reveal_contact", "profile.more_orders",
                                       "profile.more_interactions", "profile.log_interaction",
                                       "profile.add_follow_up", "followups.done", "profile.share",
                                       "no.such.action", "home.search"])
@pytest.mark.parametrize("value", ["abc", "", "-1", "999999", "1:abc", "abc:1", "9" * 40, "<!channel>", None])
def test_wrong_or_forged_button_values(bot, slack, world, session_factory, action_id, value):
    message = {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "x"},
         **({"value": value} if value is not None else {})}]}]}
    counts, before = row_counts(session_factory), slack.mark()
    reply = bot.click(action_id, user="U0LEA", on=message)
    answered_without_harm(slack, before, reply, counts, session_factory)


def test_erased_customer_id_in_a_button_shows_nothing(bot, slack, world, session_factory):
    message = {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "customer.open", "value": str(world.erased),
         "text": {"type": "plain_text", "text": "x"}}]}]}
    counts, before = row_counts(session_factory), slack.mark()
    bot.click("customer.open", user="U0LEA", on=message)
    seen = answered_without_harm(slack, before, bot.click("customer.open", user="U0LEA", on=message), counts,
                                 session_factory)
    assert "erased" in seen or "can't be shown" in seen or "no longer" in seen


def _log_modal(bot, slack):
    before = slack.mark()
    bot.command("/log", JEANNE_EMAIL, user="U0LEA")
    return slack.wait_for("views.open", since=before)


def test_wrong_types_in_a_view_submission(bot, slack, world, session_factory):
    modal = _log_modal(bot, slack)
    shown = modal.response["view"]
    counts = row_counts(session_factory)
    for mangle in ("text_as_dict", "option_as_string", "missing_state", "customer_as_number", "unknown_block",
                   "date_garbage", "user_forged"):
        view = copy.deepcopy(shown)
        values: dict = {}
        for block in view["blocks"]:
            if block.get("type") == "input":
                element = block["element"]
                values.setdefault(block["block_id"], {})[element["action_id"]] = {"type": element["type"]}
        note = values["note"]["note.input"]
        customer_block = next(b for b in values if "interactions.customer" in values[b])
        if mangle == "text_as_dict":
            note["value"] = {"text": "hi"}
        elif mangle == "option_as_string":
            values["type"]["type.input"]["selected_option"] = "advice"
        elif mangle == "customer_as_number":
            values[customer_block]["interactions.customer"]["selected_option"] = {"value": 12}
        elif mangle == "unknown_block":
            values["zzz"] = {"zzz": {"type": "plain_text_input", "value": "x"}}
        elif mangle == "date_garbage":
            values["follow_up_due"]["follow_up_due.input"]["selected_date"] = "2026-02-31"
        elif mangle == "user_forged":
            values["follow_up_assignee"]["follow_up_assignee.input"]["selected_user"] = "U0NOBODY"
        view["state"] = {"values": {} if mangle == "missing_state" else values}
        payload = sr.view_submission_payload(slack.workspace, user_id="U0LEA", user_name="lea", view=view,
                                             state_values=view["state"]["values"], trigger_id=slack.new_trigger_id())
        before = slack.mark()
        reply = bot.send(sr.payload_form(payload), sr.FORM)
        assert reply.status == 200, mangle
        assert CRASH not in reply.body, mangle
        assert reply.json and reply.json.get("response_action") == "errors", (mangle, reply.body)
        assert channel_posts(slack, before) == [] and row_counts(session_factory) == counts


def test_injection_in_a_note_is_stored_as_typed_and_shown_escaped(bot, slack, world, session_factory):
    note = "<!channel> call <@U0NINA> via <https://evil.example|here> 🙂 مرحبا 王 '; DROP TABLE interactions; --"
    modal = _log_modal(bot, slack)
    reply = bot.submit(modal, {"type.input": "advice", "note.input": note}, user="U0LEA")
    assert reply.status == 200 and not reply.body
    with session_factory() as session:
        assert note in session.scalars(select(Interaction.note)).all()
    before = slack.mark()
    card = _card(bot, slack)
    raw = json.dumps(card.args, ensure_ascii=False)
    for ping in PINGS:
        assert ping not in raw
    assert "&lt;!channel&gt;" in raw and "🙂" in raw and "王" in raw
    assert channel_posts(slack, before) == []


def test_evil_customer_name_renders_escaped_everywhere(bot, slack, world, session_factory):
    before = slack.mark()
    _card(bot, slack, EVIL_EMAIL)
    bot.command("/customer", "lille", user="U0LEA")
    bot.mention(EVIL_EMAIL, user="U0LEA")
    bot.dm(EVIL_EMAIL, user="U0LEA")
    raw = json.dumps([c.args for c in slack.calls_since(before)], ensure_ascii=False)
    for ping in PINGS:
        assert ping not in raw, ping
    assert "&lt;!channel&gt;" in raw


def test_forged_user_in_the_body_cannot_borrow_an_identity(bot, slack, world, session_factory):
    """The asker comes from the signed body's user id; a user id elsewhere (a forged message author,
    a mention text naming an admin) grants nothing."""
    before, counts = slack.mark(), row_counts(session_factory)
    for text in ("all <@U0ADA>", "<@U0ADA>", "all"):
        reply = bot.command("/kpi", text, user="U0LEA")
        assert reply.status == 200
        said = reply.body + " ".join(c.text for c in slack.calls_since(before))
        assert "whole company" not in said and any(w in said for w in ("admins", "only see your own", "one scope")), said
    assert row_counts(session_factory) == counts
