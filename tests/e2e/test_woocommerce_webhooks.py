"""WooCommerce's webhooks end to end: deliveries signed as WooCommerce signs them (X-WC-Webhook-Signature,
the base64 HMAC-SHA256 of the raw body), over real HTTP to /webhooks/woocommerce/<source>, applied by the
inbox worker; then the card through /customer and the follow-up owner's DM through the Slack stand-in.
Payloads are tests/fixtures/woocommerce/, in the shapes of WooCommerce's REST API v3."""
from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import make_client
from bot.ingest import InboxWorkers
from bot.ingest_web import IngestRoutes
from bot.live_jobs import run_notices
from localslack.slack_driver import HttpTransport, SlackDriver
from store import sources
from store.models import Consent, Customer, Employee, FollowUp, InboxMessage, Order, SourceRecord, WebActivity
from store.vocabulary import SourceKind
from tests.e2e.conftest import SIGNING_SECRET
from tests.support.ingest import SEGMENT_SOURCE, Answer, Live, _send
from tests.support.server import start_bot_server

FIXTURES = Path(__file__).parent.parent / "fixtures" / "woocommerce"
SOURCE = "boutique"
SECRET = "wc-webhook-secret-8f2a"
# 09:50 in Paris, eight minutes and a bit after the fixture order was placed (08:41:05 UTC).
NOW = dt.datetime(2026, 12, 1, 8, 50, 0)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def later(payload: dict[str, Any], minutes: int, **changes: Any) -> dict[str, Any]:
    """The same resource at a later version: date_modified_gmt moved on by `minutes`, with `changes`."""
    changed = copy.deepcopy(payload)
    moment = dt.datetime.fromisoformat(changed["date_modified_gmt"]) + dt.timedelta(minutes=minutes)
    changed["date_modified_gmt"] = moment.isoformat()
    changed["date_modified"] = (moment + dt.timedelta(hours=1)).isoformat()
    changed.update(changes)
    return changed


def deliver(live: Live, topic: str, payload: Any, *, delivery: str | None, webhook_id: str = "12",
            secret: str = SECRET, source: str = SOURCE, signature: str | None = None,
            raw: bytes | None = None) -> Answer:
    """A WooCommerce delivery, with the headers WooCommerce sends."""
    body = raw if raw is not None else json.dumps(payload).encode()
    mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    resource, _, event = topic.partition(".")
    headers = {"Content-Type": "application/json", "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7)",
               "X-WC-Webhook-Source": "https://boutique.example.org/", "X-WC-Webhook-Topic": topic,
               "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
               "X-WC-Webhook-Signature": mac if signature is None else signature, "X-WC-Webhook-ID": webhook_id}
    if delivery is not None:
        headers["X-WC-Webhook-Delivery-ID"] = delivery
    return _send(f"{live.url}/webhooks/woocommerce/{source}", body, headers, "POST")


@pytest.fixture
def live(settings, engine, session_factory):
    """The bot's HTTP server with the live-data routes, a WooCommerce shop as source, all on the test's clock."""
    def clock() -> dt.datetime:
        return NOW

    with session_factory.begin() as session:
        key = sources.add_source(session, SEGMENT_SOURCE, SourceKind.SEGMENT, secret=None, now=NOW)
        sources.add_source(session, SOURCE, SourceKind.WOOCOMMERCE, secret=SECRET, now=NOW)
    assert key is not None
    routes = IngestRoutes(session_factory, inbox_bound=1000, clock=clock)
    world = Live(start_bot_server(settings, engine, session_factory, clock=clock, ingest=routes), routes,
                 InboxWorkers(session_factory, count=0, clock=clock), key)
    yield world
    world.stop()


@pytest.fixture
def associate(live, slack, employee) -> SlackDriver:
    employee("U0LEA", "Léa Martin", locale="en")
    return SlackDriver(HttpTransport(live.url), slack, SIGNING_SECRET, settle=live.server.settle)


def count(session_factory, model) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def states(session_factory) -> list[tuple[str, str, str | None]]:
    with session_factory() as session:
        rows = session.execute(select(InboxMessage.type, InboxMessage.state, InboxMessage.reason)
                               .order_by(InboxMessage.id))
        return [(kind, state, reason) for kind, state, reason in rows]


def test_a_customer_and_their_order_are_on_the_card(live, associate, slack):
    assert deliver(live, "customer.created", fixture("customer"), delivery="d-c1").status == 200
    assert deliver(live, "order.created", fixture("order"), delivery="d-o1").status == 200
    assert live.work() == 2
    before = slack.mark()
    associate.command("/customer", "camille.roux@example.org", user="U0LEA")
    card = slack.wait_for("command_response", since=before).text
    assert "Camille Roux" in card and "727" in card and "Pull cachemire - Gris, M" in card
    assert "€129.90" in card and "boutique" in card
    # The number in her confirmation e-mail finds her too.
    before = slack.mark()
    associate.command("/customer", "727", user="U0LEA")
    assert "Camille Roux" in slack.wait_for("command_response", since=before).text


def test_an_online_order_tells_the_follow_up_owner_and_the_card_says_so(live, associate, slack, settings,
                                                                         session_factory):
    deliver(live, "customer.created", fixture("customer"), delivery="d-c1")
    live.work()
    with session_factory.begin() as session:
        customer_id = session.scalar(select(SourceRecord.customer_id).where(SourceRecord.source == SOURCE))
        lea = session.scalar(select(Employee.id).where(Employee.slack_user_id == "U0LEA"))
        assert customer_id is not None and lea is not None
        session.add(Consent(customer_id=customer_id, purpose="profiling", channel="any", granted=True,
                            recorded_at=NOW - dt.timedelta(days=2), source="store"))
        session.add(FollowUp(customer_id=customer_id, assignee_id=lea, due_date=NOW.date(), note="sweater size"))
    deliver(live, "order.created", fixture("order"), delivery="d-o1")
    # WooCommerce then sends the update of the same order (paid, processed): still one piece of news.
    deliver(live, "order.updated", later(fixture("order"), 1), delivery="d-o2")
    live.work()
    before = slack.mark()
    run_notices(settings, session_factory, make_client(settings), lambda: NOW)
    told = [call for call in slack.calls_since(before) if call.method == "chat.postMessage"]
    assert len(told) == 1 and told[0].args["channel"] == "D0LEA"
    assert "Camille Roux ordered online (8 min ago, order 727)" in told[0].text
    before = slack.mark()
    associate.command("/customer", "camille.roux@example.org", user="U0LEA")
    card = slack.wait_for("command_response", since=before).text
    assert "Ordered online 8 min ago" in card and "source: boutique" in card


def test_an_order_before_its_customer_is_applied_from_its_billing_details(live, session_factory):
    deliver(live, "order.created", fixture("order"), delivery="d-o1")
    live.work()
    # The account, changed later (a new phone), then arrives: the same person, one customer.
    deliver(live, "customer.updated", later(fixture("customer"), 30, billing={
        **fixture("customer")["billing"], "phone": "+33 6 00 00 00 01"}), delivery="d-c1")
    live.work()
    assert count(session_factory, Customer) == 1 and count(session_factory, Order) == 1
    with session_factory() as session:
        record = session.scalars(select(SourceRecord).where(SourceRecord.source == SOURCE)).one()
        assert record.phone == "+33600000001" and record.customer_id is not None
    assert [state for _, state, _ in states(session_factory)] == ["applied", "applied"]


def test_a_newer_update_before_the_create_keeps_the_newer_order(live, session_factory):
    created = fixture("order")
    cancelled = later(created, 20, status="cancelled")
    deliver(live, "order.updated", cancelled, delivery="d-u")
    live.work()
    deliver(live, "order.created", created, delivery="d-c")
    live.work()
    with session_factory() as session:
        assert session.scalar(select(Order.status)) == "cancelled"
    assert states(session_factory)[-1] == ("order.created", "applied", "woocommerce.stale")


def test_a_stale_redelivery_does_not_undo_a_refund(live, session_factory):
    created = fixture("order")
    deliver(live, "order.created", created, delivery="d-1")
    deliver(live, "order.updated", later(created, 90, status="refunded"), delivery="d-2")
    live.work()
    # The admin resends an old delivery from the webhook's log: its payload is the order as it was then.
    deliver(live, "order.updated", later(created, 1, status="completed"), delivery="d-old")
    live.work()
    with session_factory() as session:
        assert session.scalar(select(Order.status)) == "returned"


def test_a_deleted_order_is_cancelled_and_an_older_version_after_it_changes_nothing(live, session_factory):
    created = fixture("order")
    deliver(live, "order.created", created, delivery="d-1")
    live.work()
    deliver(live, "order.deleted", {"id": created["id"]}, delivery="d-2")
    live.work()
    deliver(live, "order.updated", later(created, 1), delivery="d-3")
    live.work()
    with session_factory() as session:
        assert session.scalar(select(Order.status)) == "cancelled"
    assert states(session_factory)[-1] == ("order.updated", "applied", "woocommerce.stale")


def test_a_deleted_account_keeps_the_person_and_a_stale_update_after_it_changes_nothing(live, session_factory):
    deliver(live, "customer.created", fixture("customer"), delivery="d-1")
    deliver(live, "order.created", fixture("order"), delivery="d-2")
    deliver(live, "customer.deleted", {"id": fixture("customer")["id"]}, delivery="d-3")
    deliver(live, "customer.updated", later(fixture("customer"), 1, last_name="Roux-Martin"), delivery="d-4")
    live.work()
    with session_factory() as session:
        record = session.scalars(select(SourceRecord).where(SourceRecord.source == SOURCE)).one()
        assert record.last_name == "Roux" and record.customer_id is not None
    assert count(session_factory, Order) == 1


def test_a_duplicate_delivery_is_stored_and_applied_once(live, session_factory):
    answers = [deliver(live, "order.created", fixture("order"), delivery="d-9") for _ in range(3)]
    assert [answer.status for answer in answers] == [200, 200, 200]
    assert count(session_factory, InboxMessage) == 1
    live.work()
    assert count(session_factory, Order) == 1 and count(session_factory, Customer) == 1


def test_the_ping_of_a_saved_webhook_is_answered_and_stores_nothing(live, session_factory):
    ping = _send(f"{live.url}/webhooks/woocommerce/{SOURCE}", b"webhook_id=12",
                 {"Content-Type": "application/x-www-form-urlencoded"}, "POST")
    assert ping.status == 200
    # Anything else unsigned is refused.
    for body in (b"webhook_id=12&email=x@example.org", b"{}", b"webhook_id="):
        answer = _send(f"{live.url}/webhooks/woocommerce/{SOURCE}", body,
                       {"Content-Type": "application/x-www-form-urlencoded"}, "POST")
        assert answer.status == 401
    assert count(session_factory, InboxMessage) == 0


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU=", "not base64 at all", "é"])
def test_a_forged_or_missing_signature_is_401_and_nothing_is_stored(live, session_factory, signature, caplog):
    caplog.set_level(logging.INFO)
    assert deliver(live, "customer.created", fixture("customer"), delivery="d-1", signature=signature).status == 401
    assert deliver(live, "order.created", fixture("order"), delivery="d-2", secret="another shop").status == 401
    # An unknown source answers the same: the path tells no shop names.
    assert deliver(live, "order.created", fixture("order"), delivery="d-3", source="nosuchshop").status == 401
    # A Shopify source's name on the WooCommerce route is unknown here too.
    assert deliver(live, "order.created", fixture("order"), delivery="d-4", source=SEGMENT_SOURCE).status == 401
    assert live.work() == 0
    assert count(session_factory, InboxMessage) == count(session_factory, SourceRecord) == 0
    assert "camille" not in caplog.text.lower()


def test_malformed_deliveries_get_a_clear_4xx_and_change_nothing(live, session_factory):
    too_big = b'{"id": 1, "pad": "' + b"x" * 1_100_000 + b'"}'
    for topic, raw, expected in (
            ("order.created", b"{not json", 400),
            ("order.created", b"[1, 2]", 400),
            ("order created", json.dumps(fixture("order")).encode(), 400),
            ("", json.dumps(fixture("order")).encode(), 400),
            ("order.created", too_big, 400)):
        answer = deliver(live, topic, None, delivery="d-x", raw=raw)
        assert answer.status == expected, (topic, raw[:20])
        assert answer.body["success"] is False and answer.body["error"]
    assert _send(f"{live.url}/webhooks/woocommerce/{SOURCE}", None, {}, "GET").status == 405
    assert count(session_factory, InboxMessage) == 0


def test_what_cannot_be_applied_is_refused_without_harm(live, session_factory):
    guest = {**fixture("order"), "id": 730, "number": "730", "customer_id": 0}
    no_lines = {**fixture("order"), "id": 731, "number": "731", "line_items": []}
    draft = {**fixture("order"), "id": 732, "number": "732", "status": "checkout-draft"}
    for index, payload in enumerate((guest, no_lines, draft)):
        assert deliver(live, "order.created", payload, delivery=f"d-{index}").status == 200
    # A topic Frontline does not apply (the shop subscribed products too): kept, ignored, never refused.
    assert deliver(live, "product.updated", {"id": 93, "name": "Pull"}, delivery="d-p").status == 200
    live.work()
    assert states(session_factory) == [
        ("order.created", "rejected", "woocommerce.no_customer"),
        ("order.created", "rejected", "woocommerce.bad_order"),
        ("order.created", "applied", "woocommerce.draft"),
        ("product.updated", "ignored", "inbox.no_applier")]
    assert count(session_factory, Order) == count(session_factory, Customer) == 0


def test_a_till_sale_is_an_order_but_not_online_news(live, session_factory):
    till = {**fixture("order"), "created_via": "pos-rest-api"}
    deliver(live, "order.created", till, delivery="d-1")
    live.work()
    with session_factory() as session:
        assert session.scalar(select(Order.channel)) == "store"
        assert session.scalar(select(Order.total_amount)) == Decimal("129.90")
    assert count(session_factory, WebActivity) == 0
