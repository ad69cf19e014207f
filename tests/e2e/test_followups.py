"""/followups end to end: my list overdue first, Done and Snooze redraw the message and change the row."""
from __future__ import annotations


import pytest

from store.models import FollowUp
from tests.e2e.interaction_world import add_follow_up, build_scene
from tests.support.people import employee_today


@pytest.fixture
def scene(session_factory, employee):
    return build_scene(session_factory, employee)


@pytest.fixture
def three_follow_ups(session_factory, scene):
    later = add_follow_up(session_factory, assignee=scene.lea, customer=scene.paul, days_from_today=4,
                          note="Coat alteration ready")
    overdue = add_follow_up(session_factory, assignee=scene.lea, customer=scene.helene, days_from_today=-2,
                            note="Call back about the <!channel> boots")
    add_follow_up(session_factory, assignee=scene.marc, customer=scene.paul, days_from_today=-5, note="Marc's")
    return overdue, later


def listed_ids(call) -> list[int]:
    return [int(b["block_id"].split(".")[1]) for b in call.blocks
            if b.get("block_id", "").startswith("followup.") and b["type"] == "section"]


def test_followups_lists_mine_overdue_first(bot, slack, three_follow_ups):
    overdue, later = three_follow_ups
    before = slack.mark()
    bot.command("/followups", user="U0LEA")
    shown = slack.wait_for("response_url", since=before)
    assert shown.args["response_type"] == "ephemeral"
    assert listed_ids(shown) == [overdue, later]
    assert "Hélène Darcy" in shown.text and "overdue since" in shown.text
    assert "Marc's" not in shown.text
    assert "<!channel>" not in str(shown.blocks)


def test_done_updates_the_message_in_place_and_closes_the_row(bot, slack, session_factory, three_follow_ups):
    overdue, later = three_follow_ups
    before = slack.mark()
    bot.command("/followups", user="U0LEA")
    listing = slack.wait_for("response_url", since=before)
    before = slack.mark()
    done_button_block = next(b for b in listing.blocks if b.get("block_id") == f"followup.{overdue}.actions")
    bot.click("followups.done", user="U0LEA", on={"type": "message", "ts": "1.1", "text": "",
                                                   "blocks": [done_button_block]})
    redrawn = slack.wait_for("response_url", since=before)
    assert redrawn.args["replace_original"] is True
    assert listed_ids(redrawn) == [later]
    assert "Marked done: Hélène Darcy" in redrawn.text
    with session_factory() as session:
        assert session.get(FollowUp, overdue).status == "done"


def test_snooze_a_week_moves_the_due_date_and_redraws(bot, slack, session_factory, three_follow_ups):
    overdue, _ = three_follow_ups
    before = slack.mark()
    bot.command("/followups", user="U0LEA")
    listing = slack.wait_for("response_url", since=before)
    section = next(b for b in listing.blocks if b.get("block_id") == f"followup.{overdue}")
    before = slack.mark()
    bot.click("followups.snooze", user="U0LEA", value=f"{overdue}:7",
              on={"type": "message", "ts": "1.1", "text": "", "blocks": [section]})
    redrawn = slack.wait_for("response_url", since=before)
    assert redrawn.args["replace_original"] is True
    with session_factory() as session:
        assert session.get(FollowUp, overdue).due_date == employee_today(days=7)
    assert "Moved to" in redrawn.text


def test_someone_elses_follow_up_cannot_be_closed(bot, slack, session_factory, scene):
    marcs = add_follow_up(session_factory, assignee=scene.marc, customer=scene.paul, days_from_today=0, note="x")
    message = {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "followups.done", "value": str(marcs), "text": {"type": "plain_text", "text": "Done"}}]}]}
    before = slack.mark()
    bot.click("followups.done", user="U0LEA", on=message)
    refusal = slack.wait_for("response_url", since=before)
    assert "Marc Petit" not in refusal.text and refusal.args.get("replace_original") is False
    assert "no longer exists, or isn't one you can change" in refusal.text
    with session_factory() as session:
        assert session.get(FollowUp, marcs).status == "open"


def test_no_follow_ups_says_so(bot, slack, scene):
    before = slack.mark()
    bot.command("/followups", user="U0MARC")
    assert "No open follow-ups" in slack.wait_for("response_url", since=before).text
