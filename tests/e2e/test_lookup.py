"""Looking a customer up from Slack, end to end: signed requests over HTTP to the real server, the local
Slack stand-in as Slack. Whatever the route, only the asking employee ever sees the customer."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from localslack.slack_driver import HttpTransport, SlackDriver
from store.models import AuditEvent, Customer, CustomerIdentifier, Order, OrderLine
from store.normalize import fold
from tests.e2e.conftest import SIGNING_SECRET
from tests.support.server import start_bot_server

CHANNEL_POSTS = ("chat.postMessage", "chat.update", "chat.scheduleMessage")


def add_customer(session, first, last, *, city, email=None, phone=None):
    customer = Customer(first_name=first, last_name=last, search_name=fold(f"{first} {last}"), city=city,
                        email=email, phone=phone)
    session.add(customer)
    session.flush()
    for kind, value in (("email", email), ("phone", phone)):
        if value:
            session.add(CustomerIdentifier(customer_id=customer.id, kind=kind, value=value))
    return customer.id


@pytest.fixture
def scene(session_factory, employee):
    employee("U0LEA", "Léa Martin", locale="en")
    employee("U0HUGO", "Hugo Bernard", locale="fr")
    with session_factory.begin() as session:
        jean = add_customer(session, "Jean", "Dupont", city="Lyon", email="jean.dupont@example.com",
                            phone="+33612345678")
        marie = add_customer(session, "Marie", "Dupont", city="Paris")
        helene = add_customer(session, "Hélène", "Lefèvre", city="Bordeaux")
        for n in range(12):
            order = Order(source="web", order_number=f"W{n:04d}", customer_id=jean, channel="web",
                          ordered_at=dt.datetime(2026, 1, 1) + dt.timedelta(days=n), total_amount=Decimal("20.00"))
            order.lines = [OrderLine(sku="B1", product_name=f"Boots {n}", unit_price=Decimal("20.00"))]
            session.add(order)
    return {"jean": jean, "marie": marie, "helene": helene}


def channel_posts(slack, since):
    """Anything the bot put where others could read it (DMs to the asking employee excepted)."""
    return [c for c in slack.calls_since(since) if c.method in CHANNEL_POSTS and not str(c.args.get("channel", "")).startswith(("D", "U0"))]


def views(session_factory, action="view"):
    with session_factory() as session:
        return session.execute(select(AuditEvent.employee_id, AuditEvent.customer_id, AuditEvent.via)
                               .where(AuditEvent.action == action)).all()


def test_customer_command_acks_fast_and_shows_the_card_to_the_asker_only(bot, slack, scene, session_factory):
    before = slack.mark()
    reply = bot.command("/customer", "jean.dupont@example.com", user="U0LEA")
    assert reply.status == 200 and reply.elapsed < 1.0
    card = slack.wait_for("command_response", since=before)
    assert card.args.get("response_type") == "ephemeral"
    assert "Jean Dupont" in card.text and "Boots 11" in card.text
    assert "jean.dupont@example.com" not in card.text  # masked until revealed
    assert channel_posts(slack, before) == []
    assert [(v.customer_id, v.via) for v in views(session_factory)] == [(scene["jean"], "slack:/customer")]
    # Answered in the ack itself: one HTTP exchange, nothing posted to the response_url.
    assert reply.json["blocks"] == card.blocks
    assert slack.calls_to("response_url") == []


@pytest.fixture
def slow_bot(settings, engine, session_factory, slack):
    """The bot with no time to answer in the ack (as when the database is slow): it acks "looking for…"."""
    server = start_bot_server(settings.with_overrides(answer_in_ack_seconds=0), engine, session_factory)
    yield SlackDriver(HttpTransport(server.url), slack, SIGNING_SECRET, settle=server.settle)
    server.stop()


def test_a_lookup_past_the_ack_window_acks_first_then_answers_through_the_response_url(slow_bot, slack, scene,
                                                                                        session_factory):
    before = slack.mark()
    reply = slow_bot.command("/customer", "jean.dupont@example.com", user="U0LEA")
    assert reply.status == 200 and reply.elapsed < 1.0
    assert reply.json["response_type"] == "ephemeral" and "Looking for" in reply.json["text"]
    assert "Jean Dupont" not in str(reply.json)
    card = slack.wait_for("response_url", since=before)
    assert card.args.get("response_type") == "ephemeral" and card.args.get("replace_original") is False
    assert "Jean Dupont" in card.text and "Boots 11" in card.text
    assert channel_posts(slack, before) == []
    assert [(v.customer_id, v.via) for v in views(session_factory)] == [(scene["jean"], "slack:/customer")]
    # The answer comes once: no second ack, no second post.
    assert len(slack.calls_to("response_url")) == 1
    assert [c.args["text"] for c in slack.calls_since(before) if c.method == "command_response"] == [reply.json["text"]]


def test_a_french_lookup_past_the_ack_window_says_so_in_french_and_lists_candidates(slow_bot, slack, scene):
    before = slack.mark()
    reply = slow_bot.command("/customer", "dupont", user="U0HUGO")
    assert "Recherche de" in reply.json["text"] and "dupont" in reply.json["text"]
    assert "clients correspondent" in slack.wait_for("response_url", since=before).text


def test_several_matches_list_candidates_and_open_one(bot, slack, scene, session_factory):
    before = slack.mark()
    bot.command("/customer", "dupont", user="U0LEA")
    listing = slack.wait_for("command_response", since=before)
    assert "Lyon" in listing.text and "Paris" in listing.text and "Boots" not in listing.text
    assert views(session_factory) == []  # a list of names is not a profile view

    jean_line = next(b for b in listing.blocks if "Lyon" in str(b))
    jean_button = jean_line["accessory"]["value"]
    before = slack.mark()
    bot.click("customer.open", user="U0LEA", on={"type": "message", "text": listing.text, "blocks": [jean_line]})
    card = slack.wait_for("response_url", since=before)
    assert jean_button == str(scene["jean"])
    assert "Jean Dupont" in card.text and "Boots 11" in card.text
    assert [v.customer_id for v in views(session_factory)] == [scene["jean"]]


def test_no_match_says_so_with_the_closest_names(bot, slack, scene):
    before = slack.mark()
    bot.command("/customer", "Xavier Lefebrvee", user="U0LEA")
    answer = slack.wait_for("command_response", since=before)
    assert "No customer matches" in answer.text and "Hélène Lefèvre" in answer.text


def test_empty_command_explains_how_to_use_it(bot, slack, scene):
    reply = bot.command("/customer", "", user="U0LEA")
    assert reply.status == 200 and "/customer" in str(reply.json) and "e-mail" in str(reply.json)


def test_reveal_shows_the_contact_and_is_audited(bot, slack, scene, session_factory):
    before = slack.mark()
    bot.command("/customer", "06 12 34 56 78", user="U0LEA")
    card = slack.wait_for("command_response", since=before)
    before = slack.mark()
    bot.click("profile.reveal_contact", user="U0LEA", on=card)
    revealed = slack.wait_for("response_url", since=before)
    assert revealed.args.get("replace_original") is True
    assert "jean.dupont@example.com" in revealed.text
    assert views(session_factory, "reveal") == [(views(session_factory)[0].employee_id, scene["jean"], "slack:reveal")]


def test_more_orders_pages_through_history(bot, slack, scene):
    before = slack.mark()
    bot.command("/customer", "Jean Dupont Lyon", user="U0LEA")
    card = slack.wait_for("command_response", since=before)
    before = slack.mark()
    bot.click("profile.more_orders", user="U0LEA", on=card)
    page = slack.wait_for("response_url", since=before)
    assert "Boots 6" in page.text and "Boots 0" in page.text and "Boots 7" not in page.text


def test_french_employee_gets_french(bot, slack, scene):
    before = slack.mark()
    bot.command("/customer", "Helene Lefevre", user="U0HUGO")
    card = slack.wait_for("command_response", since=before)
    assert "Hélène Lefèvre" in card.text and "Dernières commandes" in card.text
    before = slack.mark()
    bot.command("/customer", "dupont", user="U0HUGO")
    assert "clients correspondent" in slack.wait_for("command_response", since=before).text


def test_direct_message_answers_in_the_dm(bot, slack, scene):
    before = slack.mark()
    bot.dm("who is jean.dupont@example.com?", user="U0LEA")
    answer = slack.wait_for("chat.postMessage", since=before)
    assert answer.args["channel"].startswith("D") and "Jean Dupont" in answer.text


def test_mention_in_a_channel_answers_privately(bot, slack, scene):
    before = slack.mark()
    bot.mention("find Dupont Lyon", user="U0LEA", channel_id="C0SHOPFLOOR")
    answer = slack.wait_for("chat.postEphemeral", since=before)
    assert answer.args["user"] == "U0LEA" and answer.args["channel"] == "C0SHOPFLOOR"
    assert "Jean Dupont" in answer.text
    assert channel_posts(slack, before) == []


def test_shortcut_opens_a_search_modal_and_answers_in_the_dm(bot, slack, scene):
    before = slack.mark()
    bot.global_shortcut("find_customer", user="U0LEA")
    modal = slack.wait_for("views.open", since=before)
    reply = bot.submit(modal, {"lookup.query_input": "x"}, user="U0LEA")
    assert reply.json["response_action"] == "errors"
    before = slack.mark()
    bot.submit(modal, {"lookup.query_input": "Hélène"}, user="U0LEA")
    answer = slack.wait_for("chat.postMessage", since=before)
    assert answer.args["channel"] == "U0LEA" and "Hélène Lefèvre" in answer.text


def test_a_forged_button_value_is_refused(bot, slack, scene):
    forged = {"type": "message", "text": "x", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "customer.open", "value": "not-a-number",
         "text": {"type": "plain_text", "text": "Open"}}]}]}
    before = slack.mark()
    bot.click("customer.open", user="U0LEA", on=forged)
    assert "no longer valid" in slack.wait_for("response_url", since=before).text
