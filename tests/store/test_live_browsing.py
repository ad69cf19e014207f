"""A worker step's browsing applied as a set (store.live.commerce.apply_browsing) gives what the
one-at-a-time appliers give: the same card (activity, recently viewed, wishlist), the same DMs owed,
the same answers, with other events (a basket, a consent, an unknown person, a bad product) in between.

Each test replays one sequence twice on the same database, for two identical customers under two sources:
one by one through apply_track_message / apply_page_message, and as one group through apply_browsing.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from store.inbox import InboxEvent
from store.live.commerce import apply_browsing, apply_page_message, apply_track_message
from store.models import Basket, Customer, Employee, FollowUp, SourceRecord, WebActivity, WebNotice, WebSignal
from store.vocabulary import SourceKind

NOW = dt.datetime(2026, 3, 2, 9, 0)
COAT = {"sku": "COAT-42", "name": "Wool coat", "price": 189.9, "currency": "EUR"}
SCARF = {"sku": "SCARF-1", "name": "Silk scarf", "price": "45"}
CONSENT = {"consent": {"categoryPreferences": {"Personalization": True}}}


def _world(session_factory, source):
    """Jean and Léa, known to `source`, and a follow-up on Jean (a return to the site owes a DM)."""
    with session_factory.begin() as session:
        jean = Customer(first_name="Jean", last_name="Dupont", search_name="jean dupont")
        lea = Customer(first_name="Léa", last_name="Roux", search_name="lea roux")
        employee = Employee(slack_user_id=f"U_{source}", name="Agnès")
        session.add_all([jean, lea, employee])
        session.flush()
        session.add_all([SourceRecord(source=source, source_id="u-1", customer_id=jean.id, content_hash="h1"),
                         SourceRecord(source=source, source_id="u-2", customer_id=lea.id, content_hash="h2"),
                         FollowUp(customer_id=jean.id, assignee_id=employee.id, due_date=NOW.date(), status="open")])
        # An earlier view of the coat, and a wishlisted scarf, to move and to remove.
        session.add_all([
            WebSignal(customer_id=jean.id, kind="viewed", sku="COAT-42", product_name="Old coat", price=None,
                      currency="EUR", occurred_at=NOW - dt.timedelta(days=3)),
            WebSignal(customer_id=jean.id, kind="wishlist", sku="SCARF-1", product_name="Silk scarf", price=None,
                      currency="EUR", occurred_at=NOW - dt.timedelta(days=2)),
            WebActivity(source=source, customer_id=lea.id, kind="visit", currency="EUR",
                        occurred_at=NOW - dt.timedelta(minutes=50))])
        return {jean.id: "jean", lea.id: "lea"}


def _sequence():
    """(body, timestamp) in id order."""
    minutes = dt.timedelta(minutes=1)
    def track(event, props, user="u-1", **extra):
        return {"type": "track", "event": event, "userId": user, "properties": props, **extra}
    return [
        ({"type": "page", "userId": "u-1", "name": "Home"}, NOW - 40 * minutes),
        (track("Product Viewed", COAT), NOW - 38 * minutes),
        (track("Product Viewed", SCARF, user="u-2"), NOW - 37 * minutes),  # Léa was here 13 min before: no DM
        (track("Product Added to Wishlist", COAT), NOW - 36 * minutes),
        (track("Product Added", COAT), NOW - 35 * minutes),  # a basket: one at a time, in its place
        (track("Product Viewed", {"name": "no sku"}), NOW - 34 * minutes),  # rejected, nothing written
        (track("Product Removed from Wishlist", SCARF), NOW - 33 * minutes),
        (track("Products Searched", {"query": "boots"}), NOW - 32 * minutes),
        (track("Product Viewed", SCARF, user="u-unknown"), NOW - 31 * minutes),  # waits
        ({"type": "page", "userId": "u-unknown", "name": "Home"}, NOW - 31 * minutes),  # waits too
        ({**track("Product Viewed", SCARF, user="u-unknown"), "properties": "?"}, NOW - 31 * minutes),  # rejected
        ({"type": "page", "userId": "u-1", "name": "Coat", "context": CONSENT}, NOW - 30 * minutes),  # a consent
        (track("Product Viewed", COAT), NOW - 45 * minutes),  # late: the signal stays at its later view
        (track("Product Viewed", SCARF), NOW),  # after a pause: a return, told by the DM still pending
        (track("Product Removed from Wishlist", COAT), NOW + minutes),
    ]


def _events(source, sequence):
    return [InboxEvent(id=n + 1, source=source, source_kind=SourceKind.SEGMENT, type=body["type"],
                       message_id=f"m-{n}", person_key=f"u:{body['userId']}", body=body, received_at=at, timestamp=at,
                       attempts=0) for n, (body, at) in enumerate(sequence)]


def _state(session_factory, source, names):
    with session_factory() as session:
        customers = list(names)
        activity = sorted((names[a.customer_id], a.kind, a.sku, a.product_name, a.price, a.detail, a.occurred_at)
                          for a in session.scalars(select(WebActivity).where(WebActivity.customer_id.in_(customers))))
        signals = sorted((names[s.customer_id], s.kind, s.sku, s.product_name, s.price, s.occurred_at)
                         for s in session.scalars(select(WebSignal).where(WebSignal.customer_id.in_(customers))))
        notices = sorted((names[n.customer_id], n.kind, n.happened_at)
                         for n in session.scalars(select(WebNotice).where(WebNotice.customer_id.in_(customers))))
        baskets = [(names[b.customer_id], b.items) for b in session.scalars(select(Basket).where(Basket.source == source))]
        return activity, signals, notices, baskets


def test_a_steps_browsing_applied_as_a_set_is_what_one_at_a_time_makes_of_it(session_factory):
    one_names, set_names = _world(session_factory, "shop-a"), _world(session_factory, "shop-b")
    sequence, now = _sequence(), NOW + dt.timedelta(minutes=2)
    one_by_one = []
    for event in _events("shop-a", sequence):
        apply = apply_track_message if event.type == "track" else apply_page_message
        with session_factory.begin() as session:
            one_by_one.append(apply(session, event.source, event.body, event.timestamp, now))
    with session_factory.begin() as session:
        as_set = apply_browsing(session, _events("shop-b", sequence), now)
    assert [(o.state, o.reason) for o in as_set] == [(o.state, o.reason) for o in one_by_one]
    assert [o.state for o in as_set].count("applied") == 11
    assert [(o.state, o.reason) for o in as_set[8:11]] == [("waiting", "unknown_person")] * 2 + [
        ("rejected", "bad_properties")]
    expected = _state(session_factory, "shop-a", one_names)
    assert _state(session_factory, "shop-b", set_names) == expected
    activity, signals, notices, baskets = expected
    assert [n[1:] for n in notices if n[0] == "jean"] == [("returned", NOW - dt.timedelta(minutes=40))]
    assert ("jean", "viewed", "COAT-42", "Wool coat") in [s[:4] for s in signals]
    assert not [s for s in signals if s[1] == "wishlist"]  # the scarf removed, the coat added then removed
    assert baskets and len(activity) == 15 - 4 + 1  # the rejected and the waiting wrote nothing; Léa's visit


def test_a_return_after_a_pause_owes_one_notice_per_visit_in_a_set(session_factory):
    names = _world(session_factory, "shop-c")
    minutes = dt.timedelta(minutes=1)
    sequence = [({"type": "page", "userId": "u-1", "name": "Home"}, NOW - 90 * minutes),
                ({"type": "page", "userId": "u-1", "name": "Coats"}, NOW - 80 * minutes),
                ({"type": "page", "userId": "u-1", "name": "Home"}, NOW - 20 * minutes),
                ({"type": "page", "userId": "u-1", "name": "Boots"}, NOW)]
    with session_factory.begin() as session:
        outcomes = apply_browsing(session, _events("shop-c", sequence), NOW)
    assert [o.state for o in outcomes] == ["applied"] * 4
    _, _, notices, _ = _state(session_factory, "shop-c", names)
    # The visit 90 min ago is more than an hour old: never news. The one 20 min ago is a return.
    assert notices == [("jean", "returned", NOW - 20 * minutes)]


def _stored_visits(session_factory, source, names, moments):
    jean = next(customer_id for customer_id, name in names.items() if name == "jean")
    with session_factory.begin() as session:
        session.add_all([WebActivity(source=source, customer_id=jean, kind="visit", currency="EUR", occurred_at=at)
                         for at in moments])


def test_a_late_event_is_a_return_only_if_nothing_was_stored_in_the_half_hour_before_it(session_factory):
    """Jean's page comes late: his visit 10 min ago is stored already (after it, so it does not count), and
    Léa's page in the same set is later still. Without a visit in the 30 min before the late page it is a
    return and owes the DM; with one 45 min ago it is not. Both ways, as the one-at-a-time applier says."""
    minutes = dt.timedelta(minutes=1)
    sequence = [({"type": "page", "userId": "u-2", "name": "Home"}, NOW),
                ({"type": "page", "userId": "u-1", "name": "Coats"}, NOW - 20 * minutes)]
    for stored, owed in (([NOW - 10 * minutes], [("jean", "returned", NOW - 20 * minutes)]),
                         ([NOW - 10 * minutes, NOW - 45 * minutes], [])):
        one_names = _world(session_factory, f"one-{len(stored)}")
        set_names = _world(session_factory, f"set-{len(stored)}")
        _stored_visits(session_factory, f"one-{len(stored)}", one_names, stored)
        _stored_visits(session_factory, f"set-{len(stored)}", set_names, stored)
        for event in _events(f"one-{len(stored)}", sequence):
            with session_factory.begin() as session:
                apply_page_message(session, event.source, event.body, event.timestamp, NOW)
        with session_factory.begin() as session:
            apply_browsing(session, _events(f"set-{len(stored)}", sequence), NOW)
        one, as_set = _notices(session_factory, one_names), _notices(session_factory, set_names)
        assert as_set == one == owed


def _notices(session_factory, names):
    with session_factory() as session:
        return sorted((names[n.customer_id], n.kind, n.happened_at)
                      for n in session.scalars(select(WebNotice).where(WebNotice.customer_id.in_(list(names)))))
