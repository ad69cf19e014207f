"""Shopify's webhooks end to end: signed deliveries over real HTTP to the server's /webhooks/shopify/<source>,
applied by the inbox workers, then the card an associate gets with /customer. Payloads are
tests/fixtures/shopify/, in the shapes of Shopify's webhook reference."""
from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from localslack.slack_driver import HttpTransport, SlackDriver
from store.models import Customer, InboxMessage, Order, SourceRecord
from tests.e2e.conftest import SIGNING_SECRET
from tests.support.ingest import start_live

FIXTURES = Path(__file__).parent.parent / "fixtures" / "shopify"
NOW = dt.datetime(2026, 12, 1, 10, 0, 0)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def later(payload: dict[str, Any], minutes: int, **changes: Any) -> dict[str, Any]:
    """The same resource at a later version: updated_at moved on by `minutes`, with `changes`."""
    changed = copy.deepcopy(payload)
    changed["updated_at"] = (dt.datetime.fromisoformat(changed["updated_at"]) + dt.timedelta(minutes=minutes)).isoformat()
    changed.update(changes)
    return changed


@pytest.fixture
def live(settings, engine, session_factory):
    world = start_live(settings, engine, session_factory, clock=lambda: NOW)
    yield world
    world.stop()


@pytest.fixture
def associate(live, slack, employee) -> SlackDriver:
    employee("U0LEA", "Léa Martin", locale="en")
    return SlackDriver(HttpTransport(live.url), slack, SIGNING_SECRET, settle=live.server.settle)


def count(session_factory, model) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_customer_then_order_is_on_the_card(live, associate, slack, session_factory):
    assert live.webhook("customers/create", fixture("customer"), event_id="evt-c-1").status == 200
    assert live.webhook("orders/create", fixture("order"), event_id="evt-o-1",
                        triggered_at="2026-12-01T08:41:08.123456789Z").status == 200
    assert live.work() == 2
    before = slack.mark()
    associate.command("/customer", "helene.dupont@example.com", user="U0LEA")
    card = slack.wait_for("command_response", since=before)
    assert "Hélène Dupont" in card.text
    assert "1042" in card.text and "Manteau laine camel" in card.text
    # The order number the customer reads in her confirmation e-mail finds her too.
    before = slack.mark()
    associate.command("/customer", "1042", user="U0LEA")
    assert "Hélène Dupont" in slack.wait_for("command_response", since=before).text


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU=", "!!!"])
def test_a_bad_signature_is_401_and_nothing_is_stored(live, session_factory, signature):
    answer = live.webhook("customers/create", fixture("customer"), event_id="evt-1", signature=signature)
    assert answer.status == 401
    assert live.webhook("orders/create", fixture("order"), event_id="evt-2", secret="another shop's secret").status == 401
    assert live.webhook("orders/create", fixture("order"), event_id="evt-3", source="no-such-shop").status == 401
    assert live.work() == 0
    assert count(session_factory, InboxMessage) == count(session_factory, SourceRecord) == 0


def test_a_duplicate_delivery_is_stored_and_applied_once(live, session_factory):
    first = live.webhook("orders/create", fixture("order"), event_id="evt-9", webhook_id="wh-1")
    # Shopify's retry of the same delivery, and the same event through a second subscription
    retry = live.webhook("orders/create", fixture("order"), event_id="evt-9", webhook_id="wh-1")
    twin = live.webhook("orders/create", fixture("order"), event_id="evt-9", webhook_id="wh-2")
    assert (first.status, retry.status, twin.status) == (200, 200, 200)
    assert count(session_factory, InboxMessage) == 1
    live.work()
    assert count(session_factory, Order) == 1 and count(session_factory, Customer) == 1


def test_orders_updated_before_orders_create_keeps_the_newer_order(live, session_factory):
    created = fixture("order")
    paid = later(created, 2, financial_status="paid", total_price="172.40",
                 line_items=[created["line_items"][0], {**created["line_items"][1], "quantity": 1}])
    live.webhook("orders/updated", paid, event_id="evt-u", triggered_at="2026-12-01T08:43:08Z")
    live.work()
    live.webhook("orders/create", created, event_id="evt-c", triggered_at="2026-12-01T08:41:08Z")
    live.work()
    with session_factory() as session:
        order = session.scalars(select(Order)).one()
        assert order.total_amount == Decimal("172.40") and [line.quantity for line in order.lines] == [1, 1]
        states = session.execute(select(InboxMessage.type, InboxMessage.state, InboxMessage.reason)
                                 .order_by(InboxMessage.id)).all()
    assert states == [("orders/updated", "applied", None), ("orders/create", "applied", "shopify.stale")]


def test_a_retry_hours_later_with_stale_data_does_not_undo_a_cancellation(live, session_factory):
    created = fixture("order")
    live.webhook("orders/create", created, event_id="evt-1", triggered_at="2026-12-01T08:41:08Z")
    live.webhook("orders/cancelled", later(created, 90, cancelled_at="2026-12-01T10:11:00+01:00",
                                           financial_status="voided"),
                 event_id="evt-2", triggered_at="2026-12-01T10:11:01Z")
    live.work()
    # orders/paid was triggered before the cancellation; Shopify's fourth retry brings its old payload.
    live.webhook("orders/paid", later(created, 1, financial_status="paid"), event_id="evt-3",
                 triggered_at="2026-12-01T08:42:08Z")
    live.work()
    with session_factory() as session:
        assert session.scalar(select(Order.status)) == "cancelled"

