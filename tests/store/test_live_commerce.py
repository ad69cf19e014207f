"""Live website activity (Segment track/page/alias) onto the profile, as the associate's card shows it.

Payloads have the shapes of Segment's e-commerce spec v2; each test drives the appliers at the store
level on SQLite and PostgreSQL and reads the result through the card's own builder.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from store.gdpr import erase_customer
from store.live.commerce import (
    after_identify,
    apply_alias_message,
    apply_page_message,
    apply_track_message,
    forget_anonymous,
    forget_old_activity,
    mark_abandoned_baskets,
)
from store.models import (
    Basket,
    Consent,
    Customer,
    Employee,
    FollowUp,
    Order,
    SourceRecord,
    WebActivity,
    WebNotice,
    WebSignal,
    WebVisitor,
)
from store.profile import build_profile

NOW = dt.datetime(2026, 3, 2, 9, 0)
SOURCE = "webshop"
CONSENT = {"consent": {"categoryPreferences": {"Personalization": True, "Advertising": False}}}


@dataclass(frozen=True)
class Viewer:
    id: int


@pytest.fixture
def people(session_factory):
    with session_factory.begin() as session:
        jean = Customer(first_name="Jean", last_name="Dupont", search_name="jean dupont")
        lea_customer = Customer(first_name="Léa", last_name="Roux", search_name="lea roux")
        session.add_all([jean, lea_customer])
        session.flush()
        session.add_all([
            SourceRecord(source=SOURCE, source_id="u-1", customer_id=jean.id, content_hash="h1"),
            SourceRecord(source=SOURCE, source_id="u-2", customer_id=lea_customer.id, content_hash="h2"),
            SourceRecord(source=SOURCE, source_id="u-unlinked", customer_id=None, content_hash="h3"),
        ])
        employee = Employee(slack_user_id="U_AGNES", name="Agnès")
        session.add(employee)
        session.flush()
        return {"jean": jean.id, "lea": lea_customer.id, "agnes": employee.id}


def track(event, properties=None, *, user="u-1", anonymous=None, at=NOW, context=None):
    body = {"type": "track", "event": event, "properties": properties or {}, "messageId": f"m-{event}-{at}"}
    if user:
        body["userId"] = user
    if anonymous:
        body["anonymousId"] = anonymous
    if context is not None:
        body["context"] = context
    return body


def send(session_factory, body, *, at=NOW, now=None):
    apply = {"track": apply_track_message, "page": apply_page_message, "alias": apply_alias_message}[body["type"]]
    with session_factory.begin() as session:
        return apply(session, SOURCE, body, at, now or at)


def consent_given(session_factory, user="u-1", at=NOW - dt.timedelta(days=1)):
    outcome = send(session_factory, {"type": "page", "userId": user, "name": "Home", "context": CONSENT}, at=at)
    assert outcome.state == "applied"


def card(session_factory, customer_id, as_of=NOW):
    with session_factory() as session:
        return build_profile(session, customer_id, viewer=Viewer(1), clock=lambda: as_of)


COAT = {"product_id": "P-COAT", "sku": "COAT-42", "name": "Wool coat", "price": 189.9, "currency": "EUR", "quantity": 1}
SCARF = {"product_id": "P-SCARF", "sku": "SCARF-1", "name": "Silk scarf", "price": "45", "quantity": 2}


def test_a_viewed_product_is_on_the_card_as_recently_viewed(session_factory, people):
    consent_given(session_factory)
    assert send(session_factory, track("Product Viewed", COAT), at=NOW - dt.timedelta(minutes=12)).state == "applied"
    profile = card(session_factory, people["jean"])
    assert [(s.kind, s.product_name, s.price) for s in profile.web_signals] == [
        ("viewed", "Wool coat", Decimal("189.90"))]
    assert profile.live is not None and profile.live.last_seen_at == NOW - dt.timedelta(minutes=12)
    assert profile.live.last_seen_source == SOURCE


def test_viewing_the_same_product_again_moves_it_forward_instead_of_repeating_it(session_factory, people):
    consent_given(session_factory)
    send(session_factory, track("Product Viewed", COAT), at=NOW - dt.timedelta(hours=2))
    send(session_factory, track("product_viewed", SCARF), at=NOW - dt.timedelta(hours=1))
    send(session_factory, track("Product Viewed", COAT), at=NOW)
    assert [s.product_name for s in card(session_factory, people["jean"]).web_signals] == ["Wool coat", "Silk scarf"]


def test_wishlist_additions_and_removals_show_as_the_wishlist_and_its_changes(session_factory, people):
    consent_given(session_factory)
    send(session_factory, track("Product Added to Wishlist", COAT), at=NOW - dt.timedelta(hours=3))
    send(session_factory, track("Product Added to Wishlist", SCARF), at=NOW - dt.timedelta(hours=2))
    send(session_factory, track("Product Removed from Wishlist", SCARF), at=NOW - dt.timedelta(hours=1))
    profile = card(session_factory, people["jean"])
    assert [(s.kind, s.product_name) for s in profile.web_signals] == [("wishlist", "Wool coat")]
    assert [(c.kind, c.text) for c in profile.live.changes] == [
        ("wishlist_removed", "Silk scarf"), ("wishlist_added", "Silk scarf"), ("wishlist_added", "Wool coat")]


def test_the_basket_follows_additions_removals_and_the_cart_the_site_shows(session_factory, people):
    consent_given(session_factory)
    send(session_factory, track("Product Added", {**COAT, "cart_id": "c-9"}), at=NOW - dt.timedelta(minutes=30))
    send(session_factory, track("Product Added", {**SCARF, "cart_id": "c-9"}), at=NOW - dt.timedelta(minutes=20))
    send(session_factory, track("Product Removed", {**SCARF, "cart_id": "c-9", "quantity": 1}),
         at=NOW - dt.timedelta(minutes=10))
    basket = card(session_factory, people["jean"]).live.basket
    assert [(i.product_name, i.quantity) for i in basket.items] == [("Wool coat", 1), ("Silk scarf", 1)]
    assert basket.total == Decimal("234.90") and not basket.abandoned and not basket.checkout_started
    send(session_factory, track("Checkout Started", {"cart_id": "c-9", "currency": "EUR", "products": [COAT]}),
         at=NOW - dt.timedelta(minutes=5))
    basket = card(session_factory, people["jean"]).live.basket
    assert [(i.product_name, i.quantity) for i in basket.items] == [("Wool coat", 1)] and basket.checkout_started


def test_a_basket_left_alone_becomes_abandoned_and_a_new_addition_revives_it(session_factory, people):
    consent_given(session_factory)
    send(session_factory, track("Product Added", COAT), at=NOW - dt.timedelta(hours=3))
    with session_factory.begin() as session:
        assert mark_abandoned_baskets(session, now=NOW, after=dt.timedelta(hours=4)) == 0
    assert not card(session_factory, people["jean"]).live.basket.abandoned
    with session_factory.begin() as session:
        assert mark_abandoned_baskets(session, now=NOW, after=dt.timedelta(hours=2)) == 1
    assert card(session_factory, people["jean"]).live.basket.abandoned
    send(session_factory, track("Product Added", SCARF), at=NOW + dt.timedelta(minutes=1))
    basket = card(session_factory, people["jean"], as_of=NOW + dt.timedelta(minutes=2)).live.basket
    assert not basket.abandoned and len(basket.items) == 2


ORDER = {"order_id": "W-1001", "total": 234.9, "currency": "EUR", "cart_id": "c-9",
         "products": [COAT, {**SCARF, "quantity": 1}]}


def test_an_online_order_is_on_the_card_and_closes_the_basket(session_factory, people):
    consent_given(session_factory)
    send(session_factory, track("Product Added", {**COAT, "cart_id": "c-9"}), at=NOW - dt.timedelta(minutes=30))
    assert send(session_factory, track("Order Completed", ORDER), at=NOW - dt.timedelta(minutes=5)).state == "applied"
    profile = card(session_factory, people["jean"])
    order = profile.orders.items[0]
    assert (order.order_number, order.channel, order.total_amount, order.status, order.source) == (
        "W-1001", "web", Decimal("234.90"), "completed", SOURCE)
    assert [(line.product_name, line.quantity) for line in order.lines] == [("Wool coat", 1), ("Silk scarf", 1)]
    assert profile.live.basket is None
    assert profile.live.web_order.order_number == "W-1001"


def test_refund_and_cancellation_change_the_order_and_a_replayed_completion_does_not_undo_them(session_factory, people):
    send(session_factory, track("Order Completed", ORDER), at=NOW - dt.timedelta(hours=2))
    assert send(session_factory, track("Order Refunded", {"order_id": "W-1001"}), at=NOW).state == "applied"
    assert card(session_factory, people["jean"]).orders.items[0].status == "returned"
    send(session_factory, track("Order Completed", ORDER), at=NOW - dt.timedelta(hours=2))
    assert card(session_factory, people["jean"]).orders.items[0].status == "returned"
    send(session_factory, track("Order Cancelled", {"order_id": "W-1001"}), at=NOW)
    assert card(session_factory, people["jean"]).orders.items[0].status == "cancelled"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_a_refund_before_its_order_waits_for_it(session_factory, people):
    assert send(session_factory, track("Order Refunded", {"order_id": "W-7"})).state == "waiting"


def test_searches_show_what_was_searched(session_factory, people):
    consent_given(session_factory)
    send(session_factory, track("Products Searched", {"query": "red   coat"}), at=NOW - dt.timedelta(minutes=3))
    assert [(c.kind, c.text) for c in card(session_factory, people["jean"]).live.changes] == [("searched", "red coat")]


def test_anonymous_browsing_joins_the_person_at_alias(session_factory, people):
    consent_given(session_factory)
    anon = {"user": None, "anonymous": "anon-77"}
    send(session_factory, track("Product Viewed", COAT, **anon), at=NOW - dt.timedelta(minutes=40))
    send(session_factory, track("Product Added", COAT, **anon), at=NOW - dt.timedelta(minutes=35))
    assert card(session_factory, people["jean"]).web_signals == ()
    outcome = send(session_factory, {"type": "alias", "previousId": "anon-77", "userId": "u-1"},
                   at=NOW - dt.timedelta(minutes=30))
    assert outcome.state == "applied"
    profile = card(session_factory, people["jean"])
    assert [s.product_name for s in profile.web_signals] == ["Wool coat"]
    assert [i.product_name for i in profile.live.basket.items] == ["Wool coat"]
    # Later anonymous-only messages of that browser are the person's too.
    send(session_factory, track("Product Viewed", SCARF, **anon), at=NOW - dt.timedelta(minutes=1))
    assert [s.product_name for s in card(session_factory, people["jean"]).web_signals] == ["Silk scarf", "Wool coat"]


def test_a_message_with_both_ids_joins_the_earlier_browsing_as_a_later_identify_does(session_factory, people):
    consent_given(session_factory, user="u-2")
    send(session_factory, track("Product Added to Wishlist", SCARF, user=None, anonymous="anon-5"),
         at=NOW - dt.timedelta(hours=1))
    send(session_factory, {"type": "page", "userId": "u-2", "anonymousId": "anon-5", "name": "Account"})
    assert [s.product_name for s in card(session_factory, people["lea"]).web_signals] == ["Silk scarf"]
    # A browser already named keeps its person: another person logging in there gets none of that history.
    send(session_factory, {"type": "page", "userId": "u-1", "anonymousId": "anon-5", "name": "Account"})
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(WebSignal)
                              .where(WebSignal.customer_id == people["jean"])) == 0


def test_consent_from_the_context_latest_statement_wins(session_factory, people):
    send(session_factory, track("Product Viewed", COAT), at=NOW - dt.timedelta(hours=5))
    assert not card(session_factory, people["jean"]).profiling_allowed  # no consent known: hidden
    consent_given(session_factory, at=NOW - dt.timedelta(hours=4))
    assert card(session_factory, people["jean"]).profiling_allowed
    withdrawn = {"consent": {"categoryPreferences": {"Personalization": False}}}
    send(session_factory, {"type": "page", "userId": "u-1", "context": withdrawn}, at=NOW - dt.timedelta(hours=2))
    # An older statement arriving late does not bring the consent back.
    send(session_factory, {"type": "page", "userId": "u-1", "context": CONSENT}, at=NOW - dt.timedelta(hours=3))
    profile = card(session_factory, people["jean"])
    assert not profile.profiling_allowed and profile.web_signals == () and profile.live is None
    with session_factory() as session:
        marketing = session.scalars(select(Consent).where(Consent.purpose == "marketing")).one()
        assert (marketing.granted, marketing.source) == (False, SOURCE)


def test_consent_in_traits_is_honoured(session_factory, people):
    context = {"traits": {"consent": {"profiling": True}}}
    send(session_factory, {"type": "page", "userId": "u-1", "context": context})
    assert card(session_factory, people["jean"]).profiling_allowed


def test_a_message_refusing_profiling_leaves_no_browsing_behind(session_factory, people):
    consent_given(session_factory, at=NOW - dt.timedelta(days=2))
    refused = {"consent": {"categoryPreferences": {"personalization": False}}}
    send(session_factory, track("Product Viewed", COAT, context=refused))
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(WebSignal)) == 0
        assert session.scalar(select(func.count()).select_from(WebActivity)) == 1  # the consenting page view


def test_anonymous_consent_is_applied_when_the_visitor_is_named(session_factory, people):
    send(session_factory, {"type": "page", "anonymousId": "anon-9", "context": CONSENT}, at=NOW - dt.timedelta(hours=1))
    send(session_factory, {"type": "alias", "previousId": "anon-9", "userId": "u-1"})
    assert card(session_factory, people["jean"]).profiling_allowed


def test_an_erased_persons_events_are_refused_and_nothing_is_kept(session_factory, people):
    consent_given(session_factory)
    send(session_factory, track("Product Viewed", COAT, anonymous="anon-1"), at=NOW - dt.timedelta(hours=1))
    with session_factory.begin() as session:
        erase_customer(session, people["jean"], actor="test")
    for body in (track("Product Viewed", COAT), {"type": "alias", "previousId": "anon-x", "userId": "u-1"},
                 track("Order Completed", ORDER)):
        outcome = send(session_factory, body)
        assert (outcome.state, outcome.reason) == ("rejected", "erased")
    with session_factory() as session:
        for model in (WebSignal, WebActivity, Basket, WebVisitor, Order):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model


def test_a_person_not_known_or_not_linked_yet_waits(session_factory, people):
    assert send(session_factory, track("Product Viewed", COAT, user="u-new")).state == "waiting"
    assert send(session_factory, track("Product Viewed", COAT, user="u-unlinked")).state == "waiting"
    assert send(session_factory, {"type": "alias", "previousId": "a", "userId": "u-new"}).state == "waiting"
    assert send(session_factory, track("Order Completed", ORDER, user=None, anonymous="anon-guest")).state == "waiting"


@pytest.mark.parametrize("body, reason", [
    (track("Product Viewed", {"name": "no sku"}), "missing_product"),
    (track("Product Added", {**COAT, "price": "cheap"}), "bad_price"),
    (track("Product Added", {**COAT, "quantity": 0}), "bad_quantity"),
    (track("Product Added", {**COAT, "currency": "euros"}), "bad_currency"),
    (track("Order Completed", {"total": 10}), "missing_order_id"),
    (track("Order Completed", {"order_id": "W-1"}), "order_without_products"),
    (track("Checkout Started", {"products": "coat"}), "bad_products"),
    (track("Products Searched", {}), "missing_query"),
    ({"type": "track", "event": "Product Viewed", "properties": COAT}, "no_identity"),
    ({"type": "alias", "userId": "u-1"}, "alias_needs_both_ids"),
])
def test_malformed_messages_are_rejected_with_a_reason_and_change_nothing(session_factory, people, body, reason):
    outcome = send(session_factory, body)
    assert (outcome.state, outcome.reason) == ("rejected", reason)
    with session_factory() as session:
        for model in (WebSignal, WebActivity, Basket, Order):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model


def test_other_events_are_accepted_and_ignored(session_factory, people):
    assert send(session_factory, track("Newsletter Opened", {"campaign": "x"})).state == "applied"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(WebActivity)) == 0


def _follow_up(session_factory, people, status="open"):
    with session_factory.begin() as session:
        session.add(FollowUp(customer_id=people["jean"], assignee_id=people["agnes"], due_date=NOW.date(),
                             status=status))


def _notices(session_factory):
    with session_factory() as session:
        return [(n.kind, n.detail) for n in session.scalars(select(WebNotice).order_by(WebNotice.id))]


def test_an_order_or_a_return_to_the_site_owes_the_follow_up_owner_a_notice(session_factory, people):
    consent_given(session_factory, at=NOW - dt.timedelta(days=1))
    _follow_up(session_factory, people)
    send(session_factory, {"type": "page", "userId": "u-1", "name": "Home"}, at=NOW)
    assert _notices(session_factory) == [("returned", None)]
    # Still the same visit: nothing more.
    send(session_factory, track("Product Viewed", COAT), at=NOW + dt.timedelta(minutes=5))
    assert _notices(session_factory) == [("returned", None)]
    # An order before the DM went out: the one notice pending now tells the order.
    send(session_factory, track("Order Completed", ORDER), at=NOW + dt.timedelta(minutes=10))
    assert _notices(session_factory) == [("ordered", "W-1001")]


def test_an_order_owes_a_notice_only_with_an_open_follow_up_and_only_when_fresh(session_factory, people):
    _follow_up(session_factory, people, status="done")
    send(session_factory, track("Order Completed", ORDER))
    assert _notices(session_factory) == []
    _follow_up(session_factory, people)
    send(session_factory, track("Order Completed", {**ORDER, "order_id": "W-OLD"}), at=NOW - dt.timedelta(days=2),
         now=NOW)
    assert _notices(session_factory) == []
    send(session_factory, track("Order Completed", {**ORDER, "order_id": "W-2"}))
    assert _notices(session_factory) == [("ordered", "W-2")]


def test_anonymous_visitors_never_named_are_forgotten(session_factory, people):
    send(session_factory, track("Product Viewed", COAT, user=None, anonymous="anon-old"), at=NOW - dt.timedelta(days=40))
    send(session_factory, track("Product Viewed", COAT, user=None, anonymous="anon-new"), at=NOW)
    with session_factory.begin() as session:
        assert forget_anonymous(session, now=NOW, older_than=dt.timedelta(days=30)) == 1
    with session_factory() as session:
        assert session.scalars(select(WebVisitor.anonymous_id)).all() == ["anon-new"]
        assert session.scalar(select(func.count()).select_from(WebActivity)) == 1


def test_an_identify_naming_the_browser_joins_its_browsing_and_wakes_its_waiting_events(session_factory, people):
    send(session_factory, track("Product Viewed", COAT, user=None, anonymous="anon-3"), at=NOW - dt.timedelta(hours=1))
    assert send(session_factory, track("Order Completed", ORDER, user=None, anonymous="anon-3")).state == "waiting"
    identify = {"type": "identify", "userId": "u-1", "anonymousId": "anon-3", "traits": {"email": "j@example.com",
                "consent": {"categoryPreferences": {"Personalization": True}}}}
    with session_factory.begin() as session:
        record_id = session.scalar(select(SourceRecord.id).where(SourceRecord.source_id == "u-1"))
        woken = after_identify(session, SOURCE, identify, record_id=record_id, customer_id=people["jean"], at=NOW)
    assert woken == ("a:anon-3",)
    profile = card(session_factory, people["jean"])
    assert profile.profiling_allowed and [s.product_name for s in profile.web_signals] == ["Wool coat"]
    # The guest order, retried by the inbox once woken, now belongs to the person.
    assert send(session_factory, track("Order Completed", ORDER, user=None, anonymous="anon-3")).state == "applied"
    assert card(session_factory, people["jean"]).orders.items[0].order_number == "W-1001"


def test_alias_wakes_the_anonymous_events_waiting(session_factory, people):
    outcome = send(session_factory, {"type": "alias", "previousId": "anon-8", "userId": "u-1"})
    assert outcome.state == "applied" and outcome.wake == ("a:anon-8",)


def test_website_activity_older_than_the_retention_is_dropped_and_the_card_keeps_the_recent(session_factory, people):
    consent_given(session_factory, at=NOW - dt.timedelta(days=100))
    send(session_factory, track("Products Searched", {"query": "boots"}), at=NOW - dt.timedelta(days=95))
    send(session_factory, track("Products Searched", {"query": "coat"}), at=NOW - dt.timedelta(days=1))
    with session_factory.begin() as session:
        assert forget_old_activity(session, now=NOW, older_than=dt.timedelta(days=90)) == 2
    profile = card(session_factory, people["jean"])
    assert profile.profiling_allowed and [c.text for c in profile.live.changes] == ["coat"]
