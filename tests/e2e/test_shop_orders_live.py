"""A shop's order is website news like Segment's Order Completed: end to end, a signed Shopify webhook over
real HTTP, applied by the inbox worker; then the follow-up owner's DM seen in the Slack stand-in (sent by the
notices job: once per customer per local day, never at night in the employee's time zone) and the card's
"Ordered online" line, through /customer."""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import make_client
from bot.ingest import InboxWorkers
from bot.ingest_web import IngestRoutes
from bot.live_jobs import run_notices
from localslack.slack_driver import HttpTransport, SlackDriver
from store import sources
from store.models import Consent, FollowUp, SourceRecord
from store.vocabulary import SourceKind
from tests.e2e.conftest import SIGNING_SECRET
from tests.support.ingest import SEGMENT_SOURCE, SHOPIFY_SECRET, SHOPIFY_SOURCE, Live
from tests.support.server import start_bot_server

FIXTURES = Path(__file__).parent.parent / "fixtures" / "shopify"
# 09:50 in Paris, nine minutes after the fixture order was placed (08:41 UTC).
MORNING = dt.datetime(2026, 12, 1, 8, 50, 0)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def order_at(placed: dt.datetime, **changes: Any) -> dict[str, Any]:
    """The fixture order, placed (and last changed) at `placed` (UTC), with `changes`."""
    order = copy.deepcopy(fixture("order"))
    stamp = placed.isoformat() + "+00:00"
    order.update(created_at=stamp, processed_at=stamp, updated_at=stamp)
    order["customer"]["updated_at"] = fixture("customer")["updated_at"]
    order.update(changes)
    return order


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(MORNING)


@pytest.fixture
def live(settings, engine, session_factory, clock):
    """tests.support.ingest's live world, with the bot (the card's "9 min ago") on the test's clock too."""
    with session_factory.begin() as session:
        key = sources.add_source(session, SEGMENT_SOURCE, SourceKind.SEGMENT, secret=None, now=clock())
        sources.add_source(session, SHOPIFY_SOURCE, SourceKind.SHOPIFY, secret=SHOPIFY_SECRET, now=clock())
    assert key is not None
    routes = IngestRoutes(session_factory, inbox_bound=1000, clock=clock)
    world = Live(start_bot_server(settings, engine, session_factory, clock=clock, ingest=routes), routes,
                 InboxWorkers(session_factory, count=0, clock=clock), key)
    yield world
    world.stop()


@pytest.fixture
def helene(live, session_factory, employee, slack) -> int:
    """Hélène, a Shopify customer who allows profiling, with Léa (Paris) owning an open follow-up for her."""
    lea = employee("U0LEA", "Léa Martin", locale="en")
    employee("U0HUGO", "Hugo Bernard", locale="fr")
    assert live.webhook("customers/create", fixture("customer"), event_id="evt-c-1").status == 200
    assert live.work() == 1
    with session_factory.begin() as session:
        customer_id = session.scalar(select(SourceRecord.customer_id).where(
            SourceRecord.source == SHOPIFY_SOURCE, SourceRecord.source_id == str(fixture("customer")["id"])))
        assert customer_id is not None
        session.add(Consent(customer_id=customer_id, purpose="profiling", channel="any", granted=True,
                            recorded_at=MORNING - dt.timedelta(days=3), source="store"))
        session.add(FollowUp(customer_id=customer_id, assignee_id=lea, due_date=MORNING.date(), note="coat alteration"))
    return customer_id


def dms(slack, since: int) -> list[Any]:
    return [call for call in slack.calls_since(since) if call.method == "chat.postMessage"]


def notices_tick(settings, session_factory, clock: Clock) -> None:
    run_notices(settings, session_factory, make_client(settings), clock)


def test_a_shopify_order_tells_the_follow_up_owner_once_and_is_on_the_card(live, helene, settings, session_factory,
                                                                           slack, clock):
    placed = MORNING - dt.timedelta(minutes=9)
    assert live.webhook("orders/create", order_at(placed), event_id="evt-o-1").status == 200
    # The same order again under its other topics (paid, then a later update): still one piece of news.
    assert live.webhook("orders/paid", order_at(placed, financial_status="paid",
                                                 updated_at=(placed + dt.timedelta(minutes=1)).isoformat() + "Z"),
                        event_id="evt-o-2").status == 200
    assert live.work() == 2
    before = slack.mark()
    notices_tick(settings, session_factory, clock)
    told = dms(slack, before)
    # To Léa, who owns the follow-up (the stand-in names a DM after its user), and nobody else.
    assert len(told) == 1 and told[0].args["channel"] == "D0LEA"
    assert "Hélène Dupont ordered online (9 min ago, order 1042)" in told[0].text
    # Another tick tells nothing more.
    before = slack.mark()
    notices_tick(settings, session_factory, clock)
    assert dms(slack, before) == []
    associate = SlackDriver(HttpTransport(live.url), slack, SIGNING_SECRET, settle=live.server.settle)
    before = slack.mark()
    associate.command("/customer", "helene.dupont@example.com", user="U0LEA")
    card = slack.wait_for("command_response", since=before).text
    assert "Ordered online 9 min ago" in card and "1042" in card and "source: shop" in card


def test_an_order_placed_at_night_waits_for_the_morning_and_a_second_that_day_is_not_told(
        live, helene, settings, session_factory, slack, clock):
    # 22:30 in Paris: the order comes in, the DM waits.
    clock.now = dt.datetime(2026, 12, 1, 21, 30)
    assert live.webhook("orders/create", order_at(clock.now - dt.timedelta(minutes=2)), event_id="evt-n-1").status == 200
    assert live.work() == 1
    before = slack.mark()
    notices_tick(settings, session_factory, clock)
    assert dms(slack, before) == []
    # 08:30 the next morning in Paris: it goes out.
    clock.now = dt.datetime(2026, 12, 2, 7, 30)
    notices_tick(settings, session_factory, clock)
    told = dms(slack, before)
    assert len(told) == 1 and "order 1042" in told[0].text
    # A second order that same day: on the card, but Léa heard about Hélène today already.
    clock.now = dt.datetime(2026, 12, 2, 9, 0)
    second = order_at(clock.now - dt.timedelta(minutes=5), id=5912345678999, name="#1043", order_number=1043)
    assert live.webhook("orders/create", second, event_id="evt-n-2").status == 200
    assert live.work() == 1
    before = slack.mark()
    notices_tick(settings, session_factory, clock)
    assert dms(slack, before) == []
    associate = SlackDriver(HttpTransport(live.url), slack, SIGNING_SECRET, settle=live.server.settle)
    associate.command("/customer", "helene.dupont@example.com", user="U0LEA")
    assert "1043" in slack.wait_for("command_response", since=before).text


def test_a_till_sale_or_a_cancelled_order_is_not_online_news(live, helene, settings, session_factory, slack, clock):
    placed = MORNING - dt.timedelta(minutes=5)
    till = order_at(placed, id=5912345670001, name="#1050", order_number=1050, source_name="pos")
    cancelled = order_at(placed, id=5912345670002, name="#1051", order_number=1051,
                         cancelled_at=placed.isoformat() + "Z", financial_status="voided")
    assert live.webhook("orders/create", till, event_id="evt-t-1").status == 200
    assert live.webhook("orders/cancelled", cancelled, event_id="evt-t-2").status == 200
    assert live.work() == 2
    before = slack.mark()
    notices_tick(settings, session_factory, clock)
    assert dms(slack, before) == []
    associate = SlackDriver(HttpTransport(live.url), slack, SIGNING_SECRET, settle=live.server.settle)
    associate.command("/customer", "helene.dupont@example.com", user="U0LEA")
    card = slack.wait_for("command_response", since=before).text
    assert "Ordered online" not in card
    # Both are still her orders.
    assert "1050" in card


def test_a_webhook_retried_hours_later_makes_no_dm(live, helene, settings, session_factory, slack, clock):
    clock.now = MORNING + dt.timedelta(hours=3)
    assert live.webhook("orders/create", order_at(MORNING - dt.timedelta(minutes=9)), event_id="evt-r-1").status == 200
    assert live.work() == 1
    before = slack.mark()
    notices_tick(settings, session_factory, clock)
    assert dms(slack, before) == []
