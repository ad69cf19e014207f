"""Bad input through every entry point: empty, 10 MB, control characters, other scripts, SQL and mrkdwn
injection, wrong types, unknown action ids, forged ids. Each gets a clear answer (or a quiet 200 where
Slack shows nothing) and changes nothing; no payload ever pings anyone."""
from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from localslack import slack_requests as sr
from localslack.slack_driver import HttpTransport, SlackDriver, WsgiTransport
from store.models import Interaction
from tests.e2e.conftest import SIGNING_SECRET
from tests.support.logs import production_logs
from tests.e2e.trust_world import EVIL_EMAIL, JEANNE_EMAIL, build_world, channel_posts, row_counts
from tests.support.server import start_bot_server

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
    return slack.wait_for("command_response", since=before)


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


# ---- signed payloads of a shape Slack never sends -------------------------------------------------------
# Each is signed (Slack's signature proves the sender, not the shape). None may crash: the answer is a
# quiet 200 or a clear message, in Slack's 3 seconds, with nothing changed and no traceback logged.

HUGE = 10**23


def _button_click(slack, action_id: str, value, **changes) -> dict:
    message = {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": "x"}}]}]}
    payload = sr.block_actions_payload(slack.workspace, user_id="U0LEA", action={
        "action_id": action_id, "block_id": "b", "type": "button", "value": value}, trigger_id=slack.new_trigger_id(),
        response_url=slack.new_response_url(), channel_id="C0GENERAL", message=message)
    payload.update(changes)
    return payload


def _submission(slack, view: dict, **changes) -> dict:
    payload = sr.view_submission_payload(slack.workspace, user_id="U0LEA", view=view, state_values={},
                                         trigger_id=slack.new_trigger_id())
    payload["view"] = view  # exactly as given: with or without state
    payload.update(changes)
    return payload


def _share_view(private_metadata) -> dict:
    return {"id": "V0SHARE", "type": "modal", "callback_id": "sharing.modal", "private_metadata": private_metadata,
            "blocks": [{"type": "input", "block_id": "sharing.channel",
                        "element": {"type": "conversations_select", "action_id": "sharing.channel_select"}}],
            "state": {"values": {"sharing.channel": {"sharing.channel_select": {
                "type": "conversations_select", "selected_conversation": "C0SHARE"}}}}}


@pytest.fixture
def signed_bot(settings, engine, session_factory, slack, world):
    """The bot with a share channel allowed (so a share submission reaches its private_metadata), its logs
    captured as production writes them."""
    with production_logs() as logs:
        server = start_bot_server(settings.with_overrides(share_channels=frozenset({"C0SHARE"})), engine,
                                  session_factory)
        try:
            yield SlackDriver(HttpTransport(server.url), slack, SIGNING_SECRET, settle=server.settle), logs
        finally:
            server.stop()


def _send_malformed(signed_bot, slack, session_factory, payload, *, as_json: bool = False, status: int = 200):
    """Send a signed payload; `status` 400 where bolt itself cannot read the body (refused before routing)."""
    bot, logs = signed_bot
    counts, before = row_counts(session_factory), slack.mark()
    body = json.dumps(payload) if as_json else sr.payload_form(payload)
    reply = bot.send(body, sr.JSON if as_json else sr.FORM)
    assert reply.status == status and reply.elapsed < 3.0, (reply.status, reply.elapsed)
    said = reply.body + json.dumps([c.args for c in slack.calls_since(before)], ensure_ascii=False)
    assert CRASH not in said
    assert row_counts(session_factory) == counts and channel_posts(slack, before) == []
    written = logs.getvalue()
    assert "Traceback" not in written and 'File "' not in written, written[-2000:]
    return reply, said, written


def test_a_log_modal_without_state_or_with_values_as_a_list_is_shown_errors(signed_bot, slack, session_factory):
    modal = _log_modal(signed_bot[0], slack)
    shown = modal.response["view"]
    for state in (None, {"values": []}, {"values": "x"}, {"values": {"note": ["x"]}}, []):
        view = {key: value for key, value in shown.items() if key != "state"}
        if state is not None:
            view["state"] = state
        reply, _, _ = _send_malformed(signed_bot, slack, session_factory, _submission(slack, view))
        assert reply.json["response_action"] == "errors", state  # the modal stays open, with what was wrong


def test_a_log_modal_with_blocks_of_the_wrong_type_is_not_saved(signed_bot, slack, session_factory):
    modal = _log_modal(signed_bot[0], slack)
    for blocks in ("x", None, [], [1, "a", None], {"type": "input"}):
        view = dict(modal.response["view"], blocks=blocks, state={"values": {}})
        _send_malformed(signed_bot, slack, session_factory, _submission(slack, view))


@pytest.mark.parametrize("actions", ["nope", [], [1], ["customer.open"], {"action_id": "customer.open"}, None,
                                     [{"action_id": 5}], [{"action_id": ["customer.open"]}]])
def test_actions_of_the_wrong_type_are_acked_quietly(signed_bot, slack, session_factory, actions):
    reply, _said, written = _send_malformed(signed_bot, slack, session_factory,
                                            _button_click(slack, "customer.open", "1", actions=actions))
    assert reply.body == ""
    assert "ignored a malformed block_actions request" in written


@pytest.mark.parametrize("action_id, value", [
    ("customer.open", str(HUGE)), ("customer.open", HUGE), ("profile.reveal_contact", f"{HUGE}:5"),
    ("profile.more_orders", f"1:{HUGE}"), ("profile.log_interaction", str(HUGE)),
    ("profile.add_follow_up", str(HUGE)), ("profile.share", str(HUGE)), ("followups.done", str(HUGE)),
    ("followups.done", HUGE), ("followups.done", str(2**63)), ("followups.done", str(2**40)),
    ("customer.open", str(2**31)), ("followups.done", -1)])
def test_ids_beyond_any_column_never_reach_the_database(signed_bot, slack, session_factory, action_id, value):
    _send_malformed(signed_bot, slack, session_factory, _button_click(slack, action_id, value))


def test_a_snooze_of_a_huge_id_or_huge_days_changes_nothing(signed_bot, slack, session_factory):
    for value in (f"{HUGE}:1", f"1:{HUGE}", "1:-3", ":", "", None, 5):
        payload = _button_click(slack, "followups.snooze", None)
        payload["actions"][0] = {"action_id": "followups.snooze", "block_id": "b", "type": "static_select",
                                 "selected_option": {"value": value} if value != 5 else "1:1"}
        _send_malformed(signed_bot, slack, session_factory, payload)


@pytest.mark.parametrize("metadata", [
    json.dumps({"customer_id": HUGE}), '{"customer_id": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "[" * 100_000, '{"customer_id": 1e400}', '{"customer_id": "1"' + " " * 5000 + "}", "null", "[1]", 7])
def test_share_metadata_that_is_huge_deep_or_not_an_object_is_refused_clearly(signed_bot, slack, session_factory,
                                                                              metadata):
    reply, said, _ = _send_malformed(signed_bot, slack, session_factory, _submission(slack, _share_view(metadata)))
    assert reply.json["response_action"] == "errors"
    assert "can't be shared" in said or "cannot be shared" in said or "no longer" in said or "unavailable" in said, said


@pytest.mark.parametrize("action_id", ["profile.log_interaction", "profile.add_follow_up", "home.log_interaction",
                                       "home.search", "profile.share"])
def test_a_button_without_trigger_id_is_acked_quietly(signed_bot, slack, session_factory, action_id):
    payload = _button_click(slack, action_id, "1")
    del payload["trigger_id"]
    _, _, written = _send_malformed(signed_bot, slack, session_factory, payload)
    assert "ignored a malformed block_actions request" in written


@pytest.mark.parametrize("change", [
    {"user": None}, {"user": "U0LEA"}, {"user": ["U0LEA"]}, {"user": {"id": 5}}, {"user": {"id": "<!channel>"}},
    {"type": {"block_actions": 1}}, {"type": ["block_actions"]}, {"type": 5}, {"team": []}, {"channel": []},
    {"response_url": 5}, {"container": "view"}, {"view": "home"}, {"message": 5}])
def test_envelopes_of_the_wrong_type_are_acked_quietly(signed_bot, slack, session_factory, change):
    payload = _button_click(slack, "customer.open", "1")
    for key, value in change.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value
    for as_json in (False, True):
        reply, _, _ = _send_malformed(signed_bot, slack, session_factory, payload, as_json=as_json)
        assert reply.body == "", change


@pytest.mark.parametrize("event", [{"type": 5}, {"type": ["message"]}, {"type": "message", "user": 5},
                                   {"type": "app_mention", "user": "U0LEA", "channel": 5, "text": "dupont"},
                                   {"type": "message", "channel_type": "im", "user": "U0LEA", "text": ["x"]},
                                   {"type": "message", "channel_type": "im", "user": "U0LEA", "text": "x" * 50_000}])
def test_events_of_the_wrong_shape_are_acked_quietly(signed_bot, slack, session_factory, event):
    envelope = sr.event_envelope(slack.workspace, event)
    unreadable = any(isinstance(event.get(key), int) for key in ("channel", "user"))  # bolt refuses: 400
    _send_malformed(signed_bot, slack, session_factory, envelope, as_json=True, status=400 if unreadable else 200)
    envelope["event"] = [event]
    _send_malformed(signed_bot, slack, session_factory, envelope, as_json=True)
