"""Sharing a card to a channel is explicit, audited, reduced and only where an admin allowed it;
everything else Frontline shows stays with the employee who asked."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from localslack.slack_driver import HttpTransport, SlackDriver, find_element
from store.models import AuditEvent
from tests.e2e.conftest import SIGNING_SECRET
from tests.e2e.trust_world import (
    EVIL_EMAIL, JEANNE_EMAIL, JEANNE_PHONE, SECRET_NOTE, build_world, channel_posts, row_counts,
)
from tests.support.server import start_bot_server

SHARE_CHANNEL = "C0SHARE"


@pytest.fixture
def world(session_factory, employee):
    return build_world(session_factory, employee)


@pytest.fixture
def sharing_bot(settings, engine, session_factory, slack):
    server = start_bot_server(settings.with_overrides(share_channels=frozenset({SHARE_CHANNEL})), engine,
                              session_factory)
    yield SlackDriver(HttpTransport(server.url), slack, SIGNING_SECRET, settle=server.settle)
    server.stop()


def card_for(bot, slack, query: str, *, user: str = "U0LEA", channel_id: str = "C0GENERAL"):
    before = slack.mark()
    bot.command("/customer", query, user=user, channel_id=channel_id)
    return slack.wait_for("command_response", since=before)


def open_share_modal(bot, slack, card, user="U0LEA"):
    before = slack.mark()
    bot.click("profile.share", user=user, on=card)
    return slack.wait_for("views.open", since=before)


def shares(session_factory):
    with session_factory() as session:
        return session.execute(select(AuditEvent.employee_id, AuditEvent.customer_id, AuditEvent.detail)
                               .where(AuditEvent.action == "share")).all()


def test_no_share_button_unless_an_admin_allowed_channels(bot, slack, world):
    card = card_for(bot, slack, JEANNE_EMAIL)
    assert find_element(card.blocks, "profile.share") is None


def test_share_posts_a_reduced_card_in_the_allowed_channel_and_audits_it(sharing_bot, slack, world, session_factory):
    card = card_for(sharing_bot, slack, JEANNE_EMAIL)
    modal = open_share_modal(sharing_bot, slack, card)
    before = slack.mark()
    reply = sharing_bot.submit(modal, {"sharing.channel_select": SHARE_CHANNEL}, user="U0LEA")
    assert reply.status == 200 and not reply.body  # modal closes
    [post] = channel_posts(slack, before)
    assert post.args["channel"] == SHARE_CHANNEL
    shown = post.text
    assert "Jeanne Dupont" in shown and "Gold" in shown and "38" in shown and "Aigle" in shown
    for private in (JEANNE_EMAIL, "jeanne", "6 11 22 33 44", "44", "1980", "Rivoli", "75001", "Trench", SECRET_NOTE):
        assert private not in shown.replace("Jeanne Dupont", ""), private
    assert shares(session_factory) == [(world.lea, world.jeanne, {"channel": SHARE_CHANNEL,
                                                                  "fields": ["name", "loyalty_tier", "preferences"]})]
    confirmation = slack.wait_for("chat.postMessage", since=before, channel="U0LEA")
    assert "Shared" in confirmation.text


def test_share_to_a_channel_not_allowed_is_refused_and_changes_nothing(sharing_bot, slack, world, session_factory):
    card = card_for(sharing_bot, slack, JEANNE_EMAIL)
    modal = open_share_modal(sharing_bot, slack, card)
    counts, before = row_counts(session_factory), slack.mark()
    reply = sharing_bot.submit(modal, {"sharing.channel_select": "C0GENERAL"}, user="U0LEA")
    assert reply.json["response_action"] == "errors"
    assert "allowed" in reply.json["errors"]["sharing.channel"]
    assert channel_posts(slack, before) == [] and row_counts(session_factory) == counts


def test_forged_customer_in_private_metadata_is_refused(sharing_bot, slack, world, session_factory):
    card = card_for(sharing_bot, slack, JEANNE_EMAIL)
    modal = open_share_modal(sharing_bot, slack, card)
    counts, before = row_counts(session_factory), slack.mark()
    for forged in ({"customer_id": world.erased}, {"customer_id": 999999}, {"customer_id": "1; DROP TABLE"}, "[]"):
        view = dict(modal.response["view"], private_metadata=forged if isinstance(forged, str) else json.dumps(forged))
        reply = sharing_bot.submit(view, {"sharing.channel_select": SHARE_CHANNEL}, user="U0LEA")
        assert reply.json["response_action"] == "errors"
    assert channel_posts(slack, before) == [] and row_counts(session_factory) == counts


def test_unregistered_and_deactivated_people_cannot_share(sharing_bot, slack, world, session_factory):
    card = card_for(sharing_bot, slack, JEANNE_EMAIL)
    modal = open_share_modal(sharing_bot, slack, card)
    slack.add_user("U0STRANGER", "Stranger")
    counts, before = row_counts(session_factory), slack.mark()
    for user in ("U0STRANGER", "U0GONE"):
        reply = sharing_bot.submit(modal, {"sharing.channel_select": SHARE_CHANNEL}, user=user)
        assert reply.json["response_action"] in ("errors", "update")
        assert "doesn't know you" in json.dumps(reply.json)
        sharing_bot.click("profile.share", user=user, on=card)
    assert channel_posts(slack, before) == [] and row_counts(session_factory) == counts


def test_escaped_names_never_ping_when_shared(sharing_bot, slack, world):
    card = card_for(sharing_bot, slack, EVIL_EMAIL)
    assert "<!channel>" not in json.dumps(card.args) and "<@U0NINA>" not in json.dumps(card.args)
    modal = open_share_modal(sharing_bot, slack, card)
    before = slack.mark()
    sharing_bot.submit(modal, {"sharing.channel_select": SHARE_CHANNEL}, user="U0LEA")
    [post] = channel_posts(slack, before)
    raw = json.dumps(post.args)
    assert "<!channel>" not in raw and "<@U0NINA>" not in raw and "<https://evil" not in raw
    assert "&lt;!channel&gt;" in raw


def test_a_full_session_in_a_public_channel_posts_no_customer_data_to_it(bot, slack, world, session_factory):
    """Lookups, card buttons, mention, /log, /followups, /kpi, /digest typed in #general: every answer goes
    to the asker only (ephemeral, their DM, a modal); the channel receives nothing."""
    before = slack.mark()
    card = card_for(bot, slack, JEANNE_EMAIL, channel_id="C0GENERAL")
    bot.click("profile.reveal_contact", user="U0LEA", on=card)
    listing = card_for(bot, slack, "dupont", channel_id="C0GENERAL")
    bot.mention(f"who is {JEANNE_EMAIL}", user="U0LEA", channel_id="C0GENERAL")
    bot.dm(JEANNE_PHONE, user="U0LEA")
    log_before = slack.mark()
    bot.click("profile.log_interaction", user="U0LEA", on=card)
    modal = slack.wait_for("views.open", since=log_before)
    bot.submit(modal, {"type.input": "advice", "note.input": "Asked about <!channel> boots"}, user="U0LEA")
    for command, text, user in (("/followups", "", "U0LEA"), ("/kpi", "team", "U0NINA"), ("/digest", "", "U0LEA"),
                                ("/log", "Jeanne Dupont", "U0LEA"), ("/customer", "", "U0LEA")):
        bot.command(command, text, user=user, channel_id="C0GENERAL")
    calls = slack.calls_since(before)
    assert channel_posts(slack, before) == []
    ephemeral_mention = [c for c in calls if c.method == "chat.postEphemeral"]
    assert ephemeral_mention and all(c.args["user"] == "U0LEA" for c in ephemeral_mention)
    assert all(c.args.get("response_type", "ephemeral") == "ephemeral" for c in calls if c.method == "response_url")
    assert listing.args.get("response_type") == "ephemeral"
    slack.assert_valid()
