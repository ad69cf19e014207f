"""/kpi end to end: figures for a manager, a chart in their DM only, refusals and input errors explained."""
from __future__ import annotations

import datetime as dt

from store.clock import utc_now
from store.models import Customer, Interaction
from tests.e2e.trust_world import JEANNE_EMAIL, build_world
from tests.support.world import add_store_and_team


def _team(session_factory, employee):
    with session_factory.begin() as session:
        store, team = add_store_and_team(session)
        store_id, team_id = store.id, team.id
    lea = employee("U0LEA", "Léa <!channel> Martin", team_id=team_id, store_id=store_id)
    employee("U0NINA", "Nina Roy", role="manager", team_id=team_id, store_id=store_id)
    with session_factory.begin() as session:
        customer = Customer(first_name="Hélène", last_name="Darcy")
        session.add(customer)
        session.flush()
        two_days_ago = utc_now() - dt.timedelta(days=2)
        for hours, outcome in ((0, "resolved"), (1, "follow_up"), (2, "resolved")):
            session.add(Interaction(employee_id=lea, customer_id=customer.id, store_id=store_id, team_id=team_id,
                                    channel="store", type="visit", outcome=outcome,
                                    created_at=two_days_ago + dt.timedelta(hours=hours)))


def test_manager_gets_team_figures_and_the_chart_in_their_dm(bot, slack, session_factory, employee):
    _team(session_factory, employee)
    before = slack.mark()
    reply = bot.command("/kpi", "team last 7 days by employee", user="U0NINA", channel_id="C0FLOOR")
    assert reply.status == 200
    answer = slack.wait_for("response_url", since=before)
    assert answer.args.get("response_type") == "ephemeral"
    assert "Floor" in answer.text and "Interactions" in answer.text
    assert "3" in answer.text and "&lt;!channel&gt;" in str(answer.args["blocks"])
    assert "<!channel>" not in str(answer.args["blocks"])
    upload = slack.wait_for("files.completeUploadExternal", since=before)
    assert upload.args.get("channel_id", "").startswith("D")  # the requester's DM, not C0FLOOR
    content = next(iter(slack.uploads.values()))["content"]
    assert content.startswith(b"\x89PNG")


def test_associate_is_told_why_team_figures_are_refused(bot, slack, session_factory, employee):
    _team(session_factory, employee)
    before = slack.mark()
    bot.command("/kpi", "team", user="U0LEA")
    refusal = slack.wait_for("response_url", since=before)
    assert "Team figures are for managers" in refusal.text
    assert slack.calls_to("files.completeUploadExternal") == []


def test_bad_input_gets_a_precise_message(bot, slack, session_factory, employee):
    _team(session_factory, employee)
    reply = bot.command("/kpi", "team 2026-13", user="U0NINA")
    assert "is not a month" in reply.json["text"]
    reply = bot.command("/kpi", "équipe mois par couleur", user="U0NINA")
    assert "couleur" in reply.json["text"]


def _interactions_shown(answer) -> str:
    """The figure in the reply's "Interactions" field, as the admin reads it."""
    fields = [field["text"] for block in answer.args["blocks"] for field in block.get("fields", [])]
    return next(text for text in fields if text.startswith("Interactions\n")).split("*")[1]


def test_an_interaction_logged_in_slack_is_in_the_company_figures_at_once(bot, slack, session_factory, employee):
    build_world(session_factory, employee)  # Jeanne, Léa in Paris, Ada the admin

    def company_today() -> str:
        before = slack.mark()
        bot.command("/kpi", "all today", user="U0ADA")
        return _interactions_shown(slack.wait_for("response_url", since=before))

    assert company_today() == "0"
    before = slack.mark()
    bot.command("/log", JEANNE_EMAIL, user="U0LEA")
    modal = slack.wait_for("views.open", since=before)
    assert bot.submit(modal, {"type.input": "advice"}, user="U0LEA").status == 200
    assert company_today() == "1"
