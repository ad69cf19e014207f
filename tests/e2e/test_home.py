"""App Home end to end: my follow-ups and recent customers published; Done from Home republishes it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from store import audit
from store.models import AuditEvent, FollowUp
from tests.e2e.interaction_world import add_follow_up, build_scene


@pytest.fixture
def scene(session_factory, employee):
    return build_scene(session_factory, employee)


def test_home_shows_my_follow_ups_and_recent_customers(bot, slack, session_factory, scene):
    overdue = add_follow_up(session_factory, assignee=scene.lea, customer=scene.helene, days_from_today=-1,
                            note="Boots")
    add_follow_up(session_factory, assignee=scene.marc, customer=scene.paul, days_from_today=0, note="Marc's")
    with session_factory.begin() as session:
        audit.record(session, employee_id=scene.lea, actor="U0LEA", action="view", customer_id=scene.paul,
                     via="test")
    before = slack.mark()
    bot.open_home(user="U0LEA")
    published = slack.wait_for("views.publish", since=before, user_id="U0LEA")
    assert published.ok
    home = published.args["view"]
    block_ids = [b.get("block_id") for b in home["blocks"]]
    assert f"followup.{overdue}" in block_ids
    assert "Marc's" not in published.text
    assert f"recent.{scene.paul}" in block_ids and "Paul Durand" in published.text
    assert "Find a customer" in published.text and "Log interaction" in published.text


def test_done_from_home_republishes_without_it(bot, slack, session_factory, scene):
    follow_up = add_follow_up(session_factory, assignee=scene.lea, customer=scene.helene, days_from_today=0,
                              note="Boots")
    before = slack.mark()
    bot.open_home(user="U0LEA")
    home = slack.wait_for("views.publish", since=before)
    before = slack.mark()
    bot.click("followups.done", user="U0LEA", on=home)
    republished = slack.wait_for("views.publish", since=before)
    assert f"followup.{follow_up}" not in [b.get("block_id") for b in republished.args["view"]["blocks"]]
    assert "Marked done: Hélène Darcy" in republished.text
    with session_factory() as session:
        assert session.get(FollowUp, follow_up).status == "done"


def test_home_buttons_open_search_and_log_modals(bot, slack, scene):
    before = slack.mark()
    bot.open_home(user="U0LEA")
    home = slack.wait_for("views.publish", since=before)
    before = slack.mark()
    bot.click("home.log_interaction", user="U0LEA", on=home)
    assert slack.wait_for("views.open", since=before).args["view"]["callback_id"] == "interactions.log_modal"

    before = slack.mark()
    bot.click("home.search", user="U0LEA", on=home)
    search = slack.wait_for("views.open", since=before)
    before = slack.mark()
    reply = bot.submit(search, {"lookup.query_input": "Hélène Darcy"}, user="U0LEA")
    assert reply.status == 200 and not reply.body
    assert "Hélène Darcy" in slack.wait_for("chat.postMessage", since=before, channel="U0LEA").text


def test_open_a_recent_customer_from_home_sends_the_card_to_my_dm_and_audits_it(bot, slack, session_factory, scene):
    with session_factory.begin() as session:
        audit.record(session, employee_id=scene.lea, actor="U0LEA", action="view", customer_id=scene.paul,
                     via="test")
    before = slack.mark()
    bot.open_home(user="U0LEA")
    home = slack.wait_for("views.publish", since=before, user_id="U0LEA").args["view"]

    before = slack.mark()
    bot.click("customer.open", user="U0LEA", on=home, value=str(scene.paul))
    card = slack.wait_for("chat.postMessage", since=before)
    assert card.args["channel"] == "U0LEA"  # the employee's own DM, never a channel
    assert "Paul Durand" in card.text
    with session_factory() as session:
        views = session.scalars(
            select(AuditEvent.via).where(AuditEvent.customer_id == scene.paul, AuditEvent.action == "view")
        ).all()
    assert "slack:open" in views
