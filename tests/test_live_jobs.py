"""The live website activity's jobs through the Slack stand-in: the DM to a follow-up owner when the
customer comes back or orders (once per customer per day, never at night, in their language), and
baskets becoming abandoned after the configured time."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.app import make_client
from bot.config import Settings
from bot.live_jobs import run_baskets, run_notices
from store.live.commerce import apply_page_message, apply_track_message
from store.models import Basket, Consent, Customer, Employee, FollowUp, SourceRecord

SOURCE = "webshop"
# Tuesday 3 March 2026, 10:00 UTC: 11:00 in Paris, 05:00 in New York (night there).
MORNING = dt.datetime(2026, 3, 3, 10, 0)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def settings(db_url, slack):
    return Settings(database_url=db_url, slack_bot_token=slack.bot_token, slack_api_url=slack.api_url,
                    default_locale="en", basket_abandoned_minutes=45)


@pytest.fixture
def world(session_factory, slack):
    with session_factory.begin() as session:
        jean = Customer(first_name="Jean", last_name="Dupont", search_name="jean dupont")
        session.add(jean)
        session.flush()
        session.add(SourceRecord(source=SOURCE, source_id="u-1", customer_id=jean.id, content_hash="h"))
        session.add(Consent(customer_id=jean.id, purpose="profiling", channel="any", granted=True,
                            recorded_at=MORNING - dt.timedelta(days=30), source=SOURCE))
        people = {}
        for uid, name, locale, zone in (("U0LEA", "Léa Martin", "fr", "Europe/Paris"),
                                        ("U0SAM", "Sam Hill", "en", "America/New_York"),
                                        ("U0NOFU", "Nora Fu", "en", "Europe/Paris")):
            slack.add_user(uid, name)
            employee = Employee(slack_user_id=uid, name=name, locale=locale, timezone=zone)
            session.add(employee)
            session.flush()
            people[uid] = employee.id
        for uid in ("U0LEA", "U0SAM"):  # Nora has no follow-up for Jean: she is never told
            session.add(FollowUp(customer_id=jean.id, assignee_id=people[uid], due_date=MORNING.date(),
                                 note="Call back about the coat"))
        return {"jean": jean.id, **people}


def visit(session_factory, at):
    with session_factory.begin() as session:
        return apply_page_message(session, SOURCE, {"type": "page", "userId": "u-1", "name": "Home"}, at, at)


def order(session_factory, at, number="W-1001"):
    body = {"type": "track", "userId": "u-1", "event": "Order Completed",
            "properties": {"order_id": number, "total": 120, "products": [{"sku": "COAT", "name": "Coat", "price": 120}]}}
    with session_factory.begin() as session:
        return apply_track_message(session, SOURCE, body, at, at)


def dms(slack, since):
    return [c for c in slack.calls_since(since) if c.method == "chat.postMessage"]


def test_the_follow_up_owner_gets_one_dm_in_their_language_when_the_customer_comes_back(
        settings, session_factory, slack, world):
    visit(session_factory, MORNING - dt.timedelta(minutes=5))
    before = slack.mark()
    counts = run_notices(settings, session_factory, make_client(settings), Clock(MORNING))
    sent = dms(slack, before)
    # Léa (Paris, 11:00) is told in French; Sam (New York, 05:00) is asleep: his waits for the morning.
    assert counts["sent"] == 1 and [c.args["channel"] for c in sent] == ["D0LEA"]
    assert "Jean Dupont" in sent[0].text and "est de retour sur le site (il y a 5 min)" in sent[0].text
    assert sent[0].blocks[0]["accessory"]["value"] == str(world["jean"])

    # The same day, an order: Léa was already told about Jean today, nothing more.
    order(session_factory, MORNING + dt.timedelta(hours=1))
    before = slack.mark()
    run_notices(settings, session_factory, make_client(settings), Clock(MORNING + dt.timedelta(hours=1, minutes=1)))
    assert [c.args["channel"] for c in dms(slack, before)] == []

    # New York wakes up (08:30 there): Sam gets his, once, in English; the order came before his DM went
    # out, so it tells the order.
    before = slack.mark()
    later = Clock(dt.datetime(2026, 3, 3, 13, 30))
    run_notices(settings, session_factory, make_client(settings), later)
    run_notices(settings, session_factory, make_client(settings), later)
    sent = dms(slack, before)
    assert [c.args["channel"] for c in sent] == ["D0SAM"]
    assert "Jean Dupont ordered online (2 h ago, order W-1001)" in sent[0].text


def test_an_online_order_the_next_day_is_told_again(settings, session_factory, slack, world):
    visit(session_factory, MORNING - dt.timedelta(minutes=5))
    run_notices(settings, session_factory, make_client(settings), Clock(MORNING))
    next_day = MORNING + dt.timedelta(days=1)
    order(session_factory, next_day - dt.timedelta(minutes=2), number="W-2002")
    before = slack.mark()
    run_notices(settings, session_factory, make_client(settings), Clock(next_day))
    sent = [c for c in dms(slack, before) if c.args["channel"] == "D0LEA"]
    assert len(sent) == 1 and "a commandé en ligne (il y a 2 min, commande W-2002)" in sent[0].text


def test_no_dm_about_a_visit_once_profiling_consent_is_withdrawn(settings, session_factory, slack, world):
    visit(session_factory, MORNING - dt.timedelta(minutes=5))
    with session_factory.begin() as session:
        consent = session.scalars(select(Consent)).one()
        consent.granted, consent.recorded_at = False, MORNING - dt.timedelta(minutes=1)
    before = slack.mark()
    run_notices(settings, session_factory, make_client(settings), Clock(MORNING))
    assert dms(slack, before) == []


def test_no_dm_once_the_follow_up_is_done(settings, session_factory, slack, world):
    order(session_factory, MORNING - dt.timedelta(minutes=5))
    with session_factory.begin() as session:
        for follow_up in session.scalars(select(FollowUp)):
            follow_up.status = "done"
    before = slack.mark()
    run_notices(settings, session_factory, make_client(settings), Clock(MORNING))
    assert dms(slack, before) == []


def test_a_dm_slack_refused_is_sent_at_the_next_tick(settings, session_factory, slack, world):
    visit(session_factory, MORNING - dt.timedelta(minutes=5))
    slack.fail("conversations.open", status=500, times=10)
    counts = run_notices(settings, session_factory, make_client(settings), Clock(MORNING))
    assert counts["failed"] == 1 and counts["sent"] == 0
    slack.fail("conversations.open", status=500, times=0)
    before = slack.mark()
    counts = run_notices(settings, session_factory, make_client(settings), Clock(MORNING + dt.timedelta(minutes=1)))
    assert counts["sent"] == 1 and [c.args["channel"] for c in dms(slack, before)] == ["D0LEA"]


def test_a_basket_becomes_abandoned_after_the_configured_time(settings, session_factory, world):
    body = {"type": "track", "userId": "u-1", "event": "Product Added",
            "properties": {"sku": "COAT", "name": "Coat", "price": 120}}
    with session_factory.begin() as session:
        apply_track_message(session, SOURCE, body, MORNING, MORNING)
    assert run_baskets(settings, session_factory, Clock(MORNING + dt.timedelta(minutes=44))) == 0
    assert run_baskets(settings, session_factory, Clock(MORNING + dt.timedelta(minutes=45))) == 1
    with session_factory() as session:
        assert session.scalars(select(Basket.abandoned_at)).one() == MORNING + dt.timedelta(minutes=45)
