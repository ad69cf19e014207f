"""Every permission rule, from each role (associate, manager, admin, unregistered, deactivated), through
signed Slack requests over HTTP. Roles come from one place (store.permissions, applied by bot.access and
the domain functions); these tests check what each person actually gets."""
from __future__ import annotations

import json

import pytest

from store.models import Employee, FollowUp
from tests.e2e.trust_world import JEANNE_EMAIL, add_follow_up, build_world, channel_posts, row_counts
from tests.support.people import employee_today

KPI_REFUSALS = ("are for", "can't show you", "not your store", "only see your own", "réservés")


@pytest.fixture
def world(session_factory, employee):
    return build_world(session_factory, employee)


def kpi_answer(bot, slack, text: str, user: str) -> str:
    before = slack.mark()
    reply = bot.command("/kpi", text, user=user, channel_id="C0FLOOR")
    assert reply.status == 200
    answer = slack.wait_for("response_url", since=before)
    assert answer.args.get("response_type") == "ephemeral"
    return answer.text


def refused(text: str) -> bool:
    return any(word in text for word in KPI_REFUSALS)


@pytest.mark.parametrize("user, scope, allowed", [
    ("U0LEA", "me", True), ("U0LEA", "team", False), ("U0LEA", "all", False), ("U0LEA", "<@U0MARC>", False),
    ("U0LEA", "store Paris Rivoli", False),
    ("U0NINA", "me", True), ("U0NINA", "team", True), ("U0NINA", "<@U0MARC>", True),
    ("U0NINA", "<@U0OMAR>", False), ("U0NINA", "<@U0ZOE>", False), ("U0NINA", "all", False),
    ("U0NINA", "store Paris Rivoli", True), ("U0NINA", "store Lyon Part-Dieu", False),
    ("U0ADA", "all", True), ("U0ADA", "<@U0ZOE>", True), ("U0ADA", "store Lyon Part-Dieu", True),
    ("U0ADA", "<@U0LEA>", True),
])
def test_kpi_scopes_by_role(bot, slack, world, user, scope, allowed):
    text = kpi_answer(bot, slack, scope, user)
    assert refused(text) != allowed, text


def test_kpi_refusal_never_names_figures(bot, slack, world):
    text = kpi_answer(bot, slack, "<@U0LEA>", "U0OMAR")  # manager of another team
    assert refused(text) and "Interactions" not in text


def _follow_up_button(follow_up_id: int, action: str) -> dict:
    element = ({"type": "button", "action_id": "followups.done", "value": str(follow_up_id),
                "text": {"type": "plain_text", "text": "Done"}} if action == "done" else
               {"type": "static_select", "action_id": "followups.snooze",
                "placeholder": {"type": "plain_text", "text": "Snooze"},
                "options": [{"text": {"type": "plain_text", "text": "1 day"}, "value": f"{follow_up_id}:1"}]})
    return {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [element]}]}


@pytest.mark.parametrize("actor, allowed", [
    ("U0LEA", True),     # her own
    ("U0MARC", False),   # a teammate
    ("U0NINA", True),    # her team's manager
    ("U0OMAR", False),   # manager of another team in the same store
    ("U0ZOE", False),    # manager in another store
    ("U0ADA", True),     # admin
])
@pytest.mark.parametrize("action", ["done", "snooze"])
def test_follow_up_done_and_snooze_on_someone_elses(bot, slack, world, session_factory, actor, allowed, action):
    follow_up = add_follow_up(session_factory, assignee=world.lea, customer=world.jeanne)
    before = slack.mark()
    value = f"{follow_up}:1" if action == "snooze" else None
    bot.click(f"followups.{action}", user=actor, on=_follow_up_button(follow_up, action), value=value)
    answer = slack.wait_for("response_url", since=before)
    with session_factory() as session:
        row = session.get(FollowUp, follow_up)
        changed = row.status == "done" if action == "done" else row.due_date != employee_today()
    assert changed == allowed
    if not allowed:  # the refusal a missing id gets: it names nobody
        assert "Léa Martin" not in answer.text and answer.args.get("replace_original") is False
        assert "no longer exists, or isn't one you can change" in answer.text


def test_digest_only_ever_acts_on_the_asker(bot, slack, world, session_factory):
    before = slack.mark()
    bot.command("/digest", "pause <@U0MARC>", user="U0LEA")
    bot.command("/digest", "now <@U0MARC>", user="U0LEA")
    with session_factory() as session:
        assert session.get(Employee, world.lea).digest_paused is True
        assert session.get(Employee, world.marc).digest_paused is False
    dms = [c for c in slack.calls_since(before) if c.method == "chat.postMessage"]
    assert {c.args["channel"] for c in dms} <= {"U0LEA", "D0LEA"}  # nothing ever goes to Marc


ENTRY_POINTS = ["command", "command_kpi", "command_log", "command_followups", "command_digest", "click_card",
                "click_done", "mention", "dm", "shortcut", "view_submission", "home"]


@pytest.mark.parametrize("who", ["unregistered", "deactivated"])
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_unknown_or_deactivated_people_get_the_refusal_and_nothing_changes(bot, slack, world, session_factory,
                                                                           who, entry):
    user = "U0GONE" if who == "deactivated" else "U0STRANGER"
    if who == "unregistered":
        slack.add_user(user, "Stranger Danger")
    follow_up = add_follow_up(session_factory, assignee=world.lea, customer=world.jeanne)
    card = {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "customer.open", "value": str(world.jeanne),
         "text": {"type": "plain_text", "text": "Open"}}]}]}
    modal = {"type": "modal", "id": "V0FORGED", "callback_id": "interactions.log_modal", "private_metadata": "",
             "title": {"type": "plain_text", "text": "Log"}, "blocks": [
                 {"type": "input", "block_id": "note", "label": {"type": "plain_text", "text": "Note"},
                  "element": {"type": "plain_text_input", "action_id": "note.input"}}]}
    counts, before = row_counts(session_factory), slack.mark()
    reply = {
        "command": lambda: bot.command("/customer", JEANNE_EMAIL, user=user),
        "command_kpi": lambda: bot.command("/kpi", "all", user=user),
        "command_log": lambda: bot.command("/log", "Jeanne", user=user),
        "command_followups": lambda: bot.command("/followups", "", user=user),
        "command_digest": lambda: bot.command("/digest", "now", user=user),
        "click_card": lambda: bot.click("customer.open", user=user, on=card),
        "click_done": lambda: bot.click("followups.done", user=user, on=_follow_up_button(follow_up, "done")),
        "mention": lambda: bot.mention(JEANNE_EMAIL, user=user),
        "dm": lambda: bot.dm(JEANNE_EMAIL, user=user),
        "shortcut": lambda: bot.global_shortcut("find_customer", user=user),
        "view_submission": lambda: bot.submit(modal, {"note.input": "sneaky"}, user=user),
        "home": lambda: bot.open_home(user=user),
    }[entry]()
    assert reply.status == 200
    calls = slack.calls_since(before)
    seen = json.dumps(reply.json or {}) + " ".join(c.text for c in calls)
    if entry not in ("mention", "dm") and not (entry == "home" and who == "deactivated"):
        assert "doesn't know you" in seen, (entry, seen)
    assert "Jeanne" not in seen and "Dupont" not in seen
    assert channel_posts(slack, before) == []
    assert not [c for c in calls if c.method == "chat.postMessage"]
    assert row_counts(session_factory) == counts
    with session_factory() as session:
        assert session.get(FollowUp, follow_up).status == "open"
