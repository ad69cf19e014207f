"""Shopify webhooks onto the profile (store/live/shopify.py), on SQLite and PostgreSQL: the payloads are
tests/fixtures/shopify/, in the shapes of Shopify's webhook reference."""
from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from store.gdpr import erase_customer
from store.importing.people import import_people
from store.inbox import Applied, InboxEvent
from store.live.shopify import (
    BAD_CUSTOMER,
    ERASED,
    NO_CUSTOMER,
    NO_ID,
    STALE,
    apply_checkout,
    apply_customer,
    apply_order,
    checkout_basket,
    dedupe_key,
    parse_time,
    verify_hmac,
)
from store.live.commerce import mark_abandoned_baskets
from store.models import Basket, Consent, Customer, Order, OrderLine, SourceRecord
from store.profile import build_profile, live_activity
from store.resolution import relink
from store.vocabulary import ShopifyTopic, SourceKind

FIXTURES = Path(__file__).parent.parent / "fixtures" / "shopify"
NOW = dt.datetime(2026, 12, 1, 9, 0)
SHOP = "shop"
SECRET = b"hush-shopify-secret"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def later(payload: dict[str, Any], minutes: int, **changes: Any) -> dict[str, Any]:
    """The same resource at a later version: updated_at moved on by `minutes`, with `changes`."""
    changed = copy.deepcopy(payload)
    updated = dt.datetime.fromisoformat(changed["updated_at"]) + dt.timedelta(minutes=minutes)
    changed["updated_at"] = updated.isoformat()
    changed.update(changes)
    return changed


class Outcome:
    """An applier's answer, read the way the tests ask about it."""

    def __init__(self, applied: Applied) -> None:
        self.state = str(applied.state)
        self.reason = applied.reason
        self.stale = applied.reason == STALE


def deliver(session_factory, topic: ShopifyTopic, body: Any, *, triggered_at: dt.datetime | None = None,
            now: dt.datetime = NOW) -> Outcome:
    """Apply one delivery as the inbox worker does: its own transaction, the skew-corrected timestamp being
    X-Shopify-Triggered-At when sent, else the time it was received."""
    event = InboxEvent(id=1, source=SHOP, source_kind=SourceKind.SHOPIFY, type=topic, message_id="m",
                       person_key=None, body=body, received_at=now, timestamp=triggered_at or now, attempts=0)
    apply = (apply_customer if topic.startswith("customers/") else apply_checkout if topic.startswith("checkouts/")
             else apply_order)
    with session_factory.begin() as session:
        return Outcome(apply(session, event, now))


def record(session) -> SourceRecord:
    return session.scalars(select(SourceRecord).where(SourceRecord.source == SHOP)).one()


class Viewer:
    id = 1
    role = "associate"


# --- transport ------------------------------------------------------------------------------------


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def test_hmac_accepts_shopify_signature_and_nothing_else():
    body = json.dumps(fixture("customer")).encode()
    assert verify_hmac(SECRET, body, sign(body))
    assert verify_hmac(SECRET, body, f"  {sign(body)} ")  # header whitespace is not the signature
    assert not verify_hmac(SECRET, body + b" ", sign(body))  # one byte more
    assert not verify_hmac(b"another-secret", body, sign(body))
    assert not verify_hmac(SECRET, body, sign(body).lower())
    assert not verify_hmac(SECRET, body, hashlib.sha256(body).hexdigest())
    assert not verify_hmac(SECRET, body, "")
    assert not verify_hmac(SECRET, body, None)
    assert not verify_hmac(SECRET, body, "é" * 44)
    assert not verify_hmac(b"", body, sign(body, b""))  # no secret configured: nothing verifies


def test_dedupe_key_is_the_event_then_the_delivery():
    event, webhook = "7b8c9d0a-1234-5678-90ab-cdef12345678", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    key = dedupe_key("orders/create", event, webhook)
    # a retry (same delivery) and a second subscription (another delivery of the same event) are one
    assert dedupe_key("orders/create", event, "another-delivery") == key
    # the same shop action raises several topics, each to be applied
    assert dedupe_key("orders/paid", event, webhook) != key
    assert dedupe_key("orders/create", None, webhook) == dedupe_key("orders/create", "", webhook) != key
    assert dedupe_key("orders/create", None, None) is None
    assert dedupe_key("orders/create", "x" * 500, None) is None
    assert dedupe_key("orders/create", "a'; drop table", webhook) == dedupe_key("orders/create", None, webhook)


def test_shopify_times_are_stored_as_naive_utc():
    assert parse_time("2023-03-29T18:00:27.877041743Z") == dt.datetime(2023, 3, 29, 18, 0, 27, 877041)
    assert parse_time("2026-12-01T09:30:12+01:00") == dt.datetime(2026, 12, 1, 8, 30, 12)
    assert parse_time("yesterday") is None and parse_time(12) is None and parse_time(None) is None


# --- customers ------------------------------------------------------------------------------------


def test_customer_create_makes_the_shop_record_of_the_person_and_the_customer(session_factory):
    outcome = deliver(session_factory, ShopifyTopic.CUSTOMERS_CREATE, fixture("customer"))
    assert outcome.state == "applied" and not outcome.stale
    with session_factory() as session:
        shop = record(session)
        assert (shop.source_id, shop.first_name, shop.last_name) == ("7380225556707", "Hélène", "Dupont")
        assert (shop.email, shop.phone) == ("helene.dupont@example.com", "+33612345678")
        assert (shop.street, shop.postcode, shop.city, shop.country) == (
            "12 rue de la République, Bâtiment B", "69002", "Lyon", "FR")
        assert shop.source_updated_at == dt.datetime(2026, 12, 1, 8, 30, 12)
        assert shop.attributes["shopify_gid"] == "gid://shopify/Customer/7380225556707"
        customer = session.get(Customer, shop.customer_id)
        assert customer is not None and customer.email == "helene.dupont@example.com"
        assert customer.customer_since == dt.date(2026, 11, 28)
        consents = session.execute(select(Consent.purpose, Consent.channel, Consent.granted)).all()
        # subscribed by e-mail; SMS "not_subscribed" never changed says nothing
        assert consents == [("marketing", "email", True)]


def test_the_shop_record_joins_the_customer_the_till_already_knows(session_factory):
    # The same person, imported from the tills earlier (another source, another id, her phone typed
    # nationally): identity on arrival links the shop's record to her, as a relink would.
    with session_factory.begin() as session:
        import_people(session, source="pos", rows=[(2, {
            "source_id": "MV000123", "first_name": "Helene", "last_name": "DUPONT", "email": "helene.dupont@example.com",
            "phone": "06 12 34 56 78", "postcode": "69002", "city": "Lyon", "country": "FR"})])
        relink(session)
    deliver(session_factory, ShopifyTopic.CUSTOMERS_CREATE, fixture("customer"))
    with session_factory() as session:
        owners = session.execute(select(SourceRecord.source, SourceRecord.customer_id)
                                 .order_by(SourceRecord.source)).all()
        assert [source for source, _ in owners] == ["pos", SHOP]
        assert owners[0].customer_id == owners[1].customer_id
        assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_customer_update_applies_and_a_stale_retry_changes_nothing(session_factory):
    created = fixture("customer")
    moved = later(created, 60, default_address={**created["default_address"], "address1": "3 quai Saint-Antoine",
                                                 "address2": None})
    assert deliver(session_factory, ShopifyTopic.CUSTOMERS_CREATE, created).state == "applied"
    assert deliver(session_factory, ShopifyTopic.CUSTOMERS_UPDATE, moved).state == "applied"
    # Hours later, Shopify retries the create with the payload of when it was triggered.
    retry = deliver(session_factory, ShopifyTopic.CUSTOMERS_CREATE, created, now=NOW + dt.timedelta(hours=4))
    assert retry.state == "applied" and retry.stale
    with session_factory() as session:
        assert record(session).street == "3 quai Saint-Antoine"
        assert session.scalar(select(Customer.street)) == "3 quai Saint-Antoine"


def test_same_second_versions_are_ordered_by_triggered_at(session_factory):
    first = fixture("customer")
    second = {**first, "first_name": "Helene"}  # same updated_at: two changes within one second
    t1, t2 = dt.datetime(2026, 12, 1, 8, 30, 12, 100), dt.datetime(2026, 12, 1, 8, 30, 12, 900)
    assert not deliver(session_factory, ShopifyTopic.CUSTOMERS_UPDATE, second, triggered_at=t2).stale
    assert deliver(session_factory, ShopifyTopic.CUSTOMERS_UPDATE, first, triggered_at=t1).stale
    with session_factory() as session:
        assert record(session).first_name == "Helene"


def test_unsubscribing_withdraws_consent_and_an_old_yes_does_not_come_back(session_factory):
    created = fixture("customer")
    unsubscribed = later(created, 30, email_marketing_consent={
        "state": "unsubscribed", "opt_in_level": "single_opt_in", "consent_updated_at": "2026-12-01T10:00:00+01:00"})
    deliver(session_factory, ShopifyTopic.CUSTOMERS_UPDATE, unsubscribed)
    deliver(session_factory, ShopifyTopic.CUSTOMERS_CREATE, created)
    with session_factory() as session:
        assert session.execute(select(Consent.channel, Consent.granted)).all() == [("email", False)]


def test_legacy_accepts_marketing_is_read_when_there_is_no_consent_object(session_factory):
    legacy = {**fixture("customer"), "email_marketing_consent": None, "sms_marketing_consent": None,
              "accepts_marketing": True, "accepts_marketing_updated_at": "2026-11-30T12:00:00+01:00"}
    deliver(session_factory, ShopifyTopic.CUSTOMERS_CREATE, legacy)
    with session_factory() as session:
        assert session.execute(select(Consent.channel, Consent.granted, Consent.recorded_at)).all() == [
            ("email", True, dt.datetime(2026, 11, 30, 11, 0))]


@pytest.mark.parametrize("body, reason", [
    ({**fixture("customer"), "id": "gid://shopify/Customer/1"}, NO_ID),
    ({**fixture("customer"), "email": "not an address"}, BAD_CUSTOMER),
    ({**fixture("customer"), "default_address": {**fixture("customer")["default_address"], "country_code": "FRA"}},
     BAD_CUSTOMER),
])
def test_bad_customer_is_refused_and_changes_nothing(session_factory, body, reason):
    outcome = deliver(session_factory, ShopifyTopic.CUSTOMERS_CREATE, body)
    assert (outcome.state, outcome.reason) == ("rejected", reason)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SourceRecord)) == 0
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_an_erased_person_is_not_brought_back_by_the_shop(session_factory):
    deliver(session_factory, ShopifyTopic.CUSTOMERS_CREATE, fixture("customer"))
    with session_factory.begin() as session:
        erase_customer(session, record(session).customer_id, actor="test")
    update = deliver(session_factory, ShopifyTopic.CUSTOMERS_UPDATE, later(fixture("customer"), 10))
    order = deliver(session_factory, ShopifyTopic.ORDERS_CREATE, fixture("order"))
    assert (update.state, update.reason) == ("rejected", ERASED)
    assert (order.state, order.reason) == ("rejected", ERASED)
    with session_factory() as session:
        assert record(session).email is None
        assert session.scalar(select(func.count()).select_from(Order)) == 0


# --- orders ---------------------------------------------------------------------------------------


def test_order_without_customers_create_brings_its_customer_and_shows_on_the_card(session_factory):
    assert deliver(session_factory, ShopifyTopic.ORDERS_CREATE, fixture("order")).state == "applied"
    with session_factory() as session:
        customer_id = record(session).customer_id
        card = build_profile(session, customer_id, viewer=Viewer(), clock=lambda: NOW)
        assert (card.first_name, card.last_name) == ("Hélène", "Dupont")
        [order] = card.orders.items
        assert (order.order_number, order.channel, order.status, order.source) == ("1042", "web", "completed", SHOP)
        assert (order.total_amount, order.currency) == (Decimal("184.90"), "EUR")
        assert order.ordered_at == dt.datetime(2026, 12, 1, 8, 41, 5)
        assert [(line.product_name, line.quantity) for line in order.lines] == [
            ("Manteau laine camel – 38", 1), ("Chaussettes laine", 2)]
        skus = session.scalars(select(OrderLine.sku).order_by(OrderLine.id)).all()
        assert skus == ["MAN-CAM-38", "variant:44123456789012"]


def test_customer_then_order_is_one_customer(session_factory):
    deliver(session_factory, ShopifyTopic.CUSTOMERS_CREATE, fixture("customer"))
    deliver(session_factory, ShopifyTopic.ORDERS_CREATE, fixture("order"))
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        assert session.scalar(select(Order.customer_id)) == record(session).customer_id


def test_updated_before_create_keeps_the_newer_order(session_factory):
    created = fixture("order")
    paid = later(created, 2, financial_status="paid", total_price="172.40",
                 line_items=[created["line_items"][0], {**created["line_items"][1], "quantity": 1}])
    assert deliver(session_factory, ShopifyTopic.ORDERS_UPDATED, paid).state == "applied"
    late_create = deliver(session_factory, ShopifyTopic.ORDERS_CREATE, created)
    assert late_create.state == "applied" and late_create.stale
    with session_factory() as session:
        order = session.scalars(select(Order)).one()
        assert order.total_amount == Decimal("172.40")
        assert [line.quantity for line in order.lines] == [1, 1]


def test_cancellation_survives_a_stale_retry_hours_later(session_factory):
    created = fixture("order")
    cancelled = later(created, 90, cancelled_at="2026-12-01T11:11:00+01:00", cancel_reason="customer",
                      financial_status="voided")
    deliver(session_factory, ShopifyTopic.ORDERS_CREATE, created)
    deliver(session_factory, ShopifyTopic.ORDERS_CANCELLED, cancelled)
    # orders/paid triggered before the cancellation, retried four hours later with its old payload
    paid = later(created, 1, financial_status="paid")
    retry = deliver(session_factory, ShopifyTopic.ORDERS_PAID, paid, now=NOW + dt.timedelta(hours=4))
    assert retry.stale
    with session_factory() as session:
        assert session.scalar(select(Order.status)) == "cancelled"


def test_refunded_order_is_returned(session_factory):
    deliver(session_factory, ShopifyTopic.ORDERS_UPDATED, later(fixture("order"), 5, financial_status="refunded"))
    with session_factory() as session:
        assert session.scalar(select(Order.status)) == "returned"


def test_guest_order_is_refused_and_stores_nothing(session_factory):
    outcome = deliver(session_factory, ShopifyTopic.ORDERS_CREATE, {**fixture("order"), "customer": None})
    assert (outcome.state, outcome.reason) == ("rejected", NO_CUSTOMER)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
        assert session.scalar(select(func.count()).select_from(SourceRecord)) == 0


# --- checkouts ------------------------------------------------------------------------------------


def test_checkout_is_the_customers_current_basket():
    basket = checkout_basket(fixture("checkout"))
    assert basket is not None
    assert (basket.cart_key, basket.customer_id, basket.currency) == (
        "checkout:0a1b2c3d4e5f60718293a4b5c6d7e8f9", "7380225556707", "EUR")
    assert basket.items == ({"sku": "MAN-CAM-38", "name": "Manteau laine camel – 38", "quantity": 1,
                             "price": "159.90", "currency": "EUR"},)
    assert (basket.started_at, basket.updated_at) == (dt.datetime(2026, 12, 1, 8, 20, 14),
                                                      dt.datetime(2026, 12, 1, 8, 25, 31))
    assert basket.completed_at is None
    completed = checkout_basket(later(fixture("checkout"), 9, completed_at="2026-12-01T09:41:05+01:00"))
    assert completed is not None and completed.completed_at == dt.datetime(2026, 12, 1, 8, 41, 5)
    guest = checkout_basket({**fixture("checkout"), "customer": None})
    assert guest is not None and guest.customer_id is None


@pytest.mark.parametrize("change", [{"token": None}, {"id": "abc"}, {"created_at": None}, {"line_items": "x"},
                                    {"line_items": [1]}])
def test_what_is_not_a_checkout_is_not_a_basket(change):
    assert checkout_basket({**fixture("checkout"), **change}) is None
    assert checkout_basket([fixture("checkout")]) is None


def basket_row(session) -> Basket:
    return session.scalars(select(Basket)).one()


def test_checkout_becomes_the_open_basket_then_abandoned_when_left_alone(session_factory):
    assert deliver(session_factory, ShopifyTopic.CHECKOUTS_CREATE, fixture("checkout")).state == "applied"
    with session_factory() as session:
        basket = basket_row(session)
        assert (basket.source, basket.cart_key) == (SHOP, "checkout:0a1b2c3d4e5f60718293a4b5c6d7e8f9")
        assert basket.customer_id == record(session).customer_id
        assert [(item["name"], item["quantity"], item["price"]) for item in basket.items] == [
            ("Manteau laine camel – 38", 1, "159.90")]
        assert basket.checkout_started_at is not None and basket.closed_at is None
    with session_factory.begin() as session:
        assert mark_abandoned_baskets(session, now=NOW + dt.timedelta(hours=3), after=dt.timedelta(hours=1)) == 1
    with session_factory() as session:
        # What the card shows (with profiling consent): the basket, abandoned, checkout started.
        basket = live_activity(session, record(session).customer_id, as_of=NOW + dt.timedelta(hours=3)).basket
        assert basket is not None and basket.abandoned and basket.checkout_started
        assert (basket.total, basket.currency, basket.source) == (Decimal("159.90"), "EUR", SHOP)


def test_completed_checkout_closes_the_basket_and_a_stale_create_does_not_reopen_it(session_factory):
    created = fixture("checkout")
    completed = later(created, 16, completed_at="2026-12-01T09:41:05+01:00")
    deliver(session_factory, ShopifyTopic.CHECKOUTS_CREATE, created)
    deliver(session_factory, ShopifyTopic.CHECKOUTS_UPDATE, completed)
    assert deliver(session_factory, ShopifyTopic.CHECKOUTS_CREATE, created, now=NOW + dt.timedelta(hours=4)).stale
    with session_factory() as session:
        assert basket_row(session).closed_at == dt.datetime(2026, 12, 1, 8, 41, 5)


def test_guest_checkout_is_refused(session_factory):
    outcome = deliver(session_factory, ShopifyTopic.CHECKOUTS_CREATE, {**fixture("checkout"), "customer": None})
    assert (outcome.state, outcome.reason) == ("rejected", NO_CUSTOMER)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Basket)) == 0
