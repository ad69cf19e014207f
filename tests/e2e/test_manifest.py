"""Everything the Slack manifest promises users is answered by the app, and nothing is left unanswered."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yml"


def _manifest_values(key: str) -> list[str]:
    return re.findall(rf"^\s*-?\s*{key}:\s*(\S+)", MANIFEST.read_text(), flags=re.MULTILINE)


def _shortcuts() -> list[tuple[str, str]]:
    text = MANIFEST.read_text()
    return re.findall(r"type:\s*(message|global)\s*\n\s*callback_id:\s*(\S+)", text)


def test_manifest_declares_the_products_commands_shortcuts_and_events():
    assert _manifest_values("command") == ["/customer", "/log", "/followups", "/digest", "/kpi", "/review"]
    assert sorted(_shortcuts()) == [("global", "find_customer"), ("message", "log_message_as_interaction")]
    text = MANIFEST.read_text()
    for event in ("app_home_opened", "app_mention", "message.im"):
        assert f"- {event}" in text
    assert "socket_mode_enabled: true" in text


@pytest.mark.parametrize("command", _manifest_values("command"))
def test_every_manifest_command_answers_a_manager(command, bot, employee, slack):
    employee("U0MAX", "Max Manager", role="manager")
    before = slack.mark()
    reply = bot.command(command, "", user="U0MAX")
    assert reply.status == 200
    shown = [c for c in slack.calls_since(before) if c.method not in ("users.info", "auth.test")]
    assert reply.body or shown, f"{command} did not answer"


def test_every_manifest_shortcut_opens_something(bot, employee, slack):
    employee("U0MAX", "Max Manager", role="manager")
    for kind, callback_id in _shortcuts():
        before = slack.mark()
        if kind == "global":
            reply = bot.global_shortcut(callback_id, user="U0MAX")
        else:
            message = {"type": "message", "user": "U0CUST", "text": "Mme Dupont called about her order",
                       "ts": "1700000000.000100"}
            reply = bot.message_shortcut(callback_id, user="U0MAX", message=message)
        assert reply.status == 200
        assert [c for c in slack.calls_since(before) if c.ok], f"shortcut {callback_id} did nothing"


def test_home_tab_dm_and_mention_are_answered(bot, employee, slack):
    employee("U0MAX", "Max Manager", role="manager")
    before = slack.mark()
    bot.open_home(user="U0MAX")
    assert slack.wait_for("views.publish", since=before, user_id="U0MAX").ok
    before = slack.mark()
    bot.dm("dupont", user="U0MAX")
    assert [c for c in slack.calls_since(before) if c.method == "chat.postMessage" and c.ok]
    before = slack.mark()
    bot.mention("dupont", user="U0MAX")
    assert [c for c in slack.calls_since(before) if c.method.startswith("chat.") and c.ok]


def test_manifest_asks_for_the_directory_scopes_and_events():
    """`frontline employees sync` and the live directory events need these (README, Slack's directory)."""
    text = MANIFEST.read_text()
    for scope in ("users:read", "users:read.email", "usergroups:read"):
        assert re.search(rf"^\s*- {re.escape(scope)}\s", text, flags=re.MULTILINE), scope
    for event in ("team_join", "user_change", "subteam_members_changed"):
        assert re.search(rf"^\s*- {event}\s", text, flags=re.MULTILINE), event


def test_manifest_asks_for_the_conversation_scopes_events_and_assistant_view():
    """DMs and assistant threads are conversations (handlers/conversation): Slack sends them only with these."""
    text = MANIFEST.read_text()
    for scope in ("im:history", "assistant:write"):
        assert re.search(rf"^\s*- {re.escape(scope)}\s", text, flags=re.MULTILINE), scope
    for event in ("message.im", "assistant_thread_started", "assistant_thread_context_changed"):
        assert re.search(rf"^\s*- {re.escape(event)}\s", text, flags=re.MULTILINE), event
    assert re.search(r"^  assistant_view:\n    assistant_description: ", text, flags=re.MULTILINE)
