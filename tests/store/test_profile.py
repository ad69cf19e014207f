"""The customer card's content: what is shown, what is hidden without consent, and how cheaply."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from store.models import (
    AuditEvent,
    Basket,
    Consent,
    Customer,
    CustomerIdentifier,
    DeclaredPreference,
    Employee,
    FollowUp,
    Interaction,
    Order,
    OrderLine,
    SourceRecord,
    Store,
    WebActivity,
    WebSignal,
)
from store import profile as card_module
from store.profile import (
    ProfileUnavailable,
    build_profile,
    card_along,
    more_interactions,
    more_orders,
    profile_of_card_row,
)
from store.review import possible_duplicates
from store.search import find_customers

NOW = dt.datetime(2026, 3, 2, 15, 0)


@dataclass(frozen=True)
class Viewer:
    id: int
    role: str = "associate"
    slack_user_id: str = "U_LEA"


def clock() -> dt.datetime:
    return NOW


@pytest.fixture
def world(session_factory):
    with session_factory.begin() as session:
        store = Store(code="LYO1", name="Lyon Part-Dieu", city="Lyon")
        session.add(store)
        session.flush()
        lea = Employee(slack_user_id="U_LEA", name="Léa Martin", store_id=store.id)
        marc = Employee(slack_user_id="U_MARC", name="Marc Petit", store_id=store.id)
        session.add_all([lea, marc])
        jean = Customer(first_name="Jean", last_name="Dupont", search_name="jean dupont", city="Lyon",
                        email="jean.dupont@example.com", phone="+33612345678", loyalty_id="MV000123456",
                        loyalty_tier="gold", customer_since=dt.date(2019, 4, 2), preferred_store_id=store.id,
                        preferred_channel="email", preferred_language="fr",
                        provenance={"email": {"record_id": 1, "source": "web", "source_id": "88"},
                                    "loyalty_id": {"record_id": 2, "source": "pos", "source_id": "MV000123456"}})
        session.add(jean)
        session.flush()
        for n in range(8):
            order = Order(source="pos" if n % 2 else "web", order_number=f"N{n}", customer_id=jean.id,
                          ordered_at=NOW - dt.timedelta(days=10 * n), channel="store" if n % 2 else "web",
                          store_id=store.id if n % 2 else None, total_amount=Decimal("10.00") * (n + 1))
            order.lines = [OrderLine(sku=f"S{n}{k}", product_name=f"Item {n}.{k}", quantity=1 + k,
                                     unit_price=Decimal("5.00")) for k in range(2)]
            session.add(order)
        for n in range(7):
            session.add(Interaction(customer_id=jean.id, employee_id=(lea if n % 2 else marc).id, channel="store",
                                    type="advice", outcome="resolved", note=f"note {n}",
                                    created_at=NOW - dt.timedelta(days=n)))
        session.add_all([
            DeclaredPreference(customer_id=jean.id, category="size", label="shoes", value="42",
                               recorded_at=NOW - dt.timedelta(days=300)),
            DeclaredPreference(customer_id=jean.id, category="size", label="shoes", value="43",
                               recorded_at=NOW - dt.timedelta(days=3)),
            DeclaredPreference(customer_id=jean.id, category="brand", label=None, value="Aigle",
                               recorded_at=NOW - dt.timedelta(days=30)),
        ])
        for n in range(8):
            session.add(WebSignal(customer_id=jean.id, kind="wishlist" if n < 6 else "viewed", sku=f"W{n}",
                                  product_name=f"Wish {n}", occurred_at=NOW - dt.timedelta(hours=n)))
        session.add_all([
            FollowUp(customer_id=jean.id, assignee_id=lea.id, due_date=NOW.date() - dt.timedelta(days=1),
                     note="Call back about boots"),
            FollowUp(customer_id=jean.id, assignee_id=marc.id, due_date=NOW.date(), status="done", note="done one"),
        ])
        old = Customer(first_name="Jean", last_name="Dupond", status="merged", merged_into_id=jean.id)
        gone = Customer(status="erased")
        session.add_all([old, gone])
        session.flush()
        return {"jean": jean.id, "old": old.id, "gone": gone.id, "lea": lea.id}


def grant(session_factory, customer_id, granted=True):
    with session_factory.begin() as session:
        session.add(Consent(customer_id=customer_id, purpose="profiling", channel="any", granted=granted,
                            recorded_at=NOW, source="web"))


def card(session_factory, customer_id, viewer_id=1):
    with session_factory() as session:
        return build_profile(session, customer_id, viewer=Viewer(viewer_id), clock=clock)


def test_card_has_identity_history_and_follow_ups(session_factory, world):
    profile = card(session_factory, world["jean"])
    assert profile.display_name == "Jean Dupont"
    assert (profile.loyalty_tier, profile.preferred_store, profile.preferred_language) == ("gold", "Lyon Part-Dieu", "fr")
    assert profile.contact.email == "jean.dupont@example.com"
    assert profile.provenance == {"email": "web", "loyalty_id": "pos"}
    # The 5 latest orders across channels, newest first, each with its lines.
    assert [o.order_number for o in profile.orders.items] == ["N0", "N1", "N2", "N3", "N4"]
    assert profile.orders.has_more
    assert [line.product_name for line in profile.orders.items[1].lines] == ["Item 1.0", "Item 1.1"]
    assert profile.orders.items[1].store_name == "Lyon Part-Dieu" and profile.orders.items[0].channel == "web"
    assert [i.note for i in profile.interactions.items] == ["note 0", "note 1", "note 2", "note 3", "note 4"]
    assert profile.interactions.items[1].employee_name == "Léa Martin"
    assert [(f.note, f.assignee_name, f.overdue) for f in profile.follow_ups] == [
        ("Call back about boots", "Léa Martin", True)]


def test_latest_declared_preference_wins(session_factory, world):
    prefs = {(p.category, p.label): p.value for p in card(session_factory, world["jean"]).preferences}
    assert prefs == {("size", "shoes"): "43", ("brand", None): "Aigle"}


def test_web_signals_only_with_profiling_consent(session_factory, world):
    assert card(session_factory, world["jean"]).web_signals == ()
    assert not card(session_factory, world["jean"]).profiling_allowed
    grant(session_factory, world["jean"])
    profile = card(session_factory, world["jean"])
    assert profile.profiling_allowed
    kinds = [s.kind for s in profile.web_signals]
    assert kinds.count("wishlist") == 5 and kinds.count("viewed") == 2
    wishlist = [s.product_name for s in profile.web_signals if s.kind == "wishlist"]
    assert wishlist == ["Wish 0", "Wish 1", "Wish 2", "Wish 3", "Wish 4"]


def test_withdrawn_profiling_consent_hides_signals(session_factory, world):
    grant(session_factory, world["jean"], granted=False)
    profile = card(session_factory, world["jean"])
    assert not profile.profiling_allowed and profile.web_signals == ()
    assert profile.consent("profiling") is False


def test_more_orders_and_interactions_page_through_history(session_factory, world):
    with session_factory() as session:
        page = more_orders(session, world["jean"], offset=5, limit=5)
        assert [o.order_number for o in page.items] == ["N5", "N6", "N7"] and not page.has_more
        page = more_interactions(session, world["jean"], offset=5, limit=5)
        assert [i.note for i in page.items] == ["note 5", "note 6"] and not page.has_more


def test_merged_id_shows_the_survivor_and_erased_is_refused(session_factory, world):
    profile = card(session_factory, world["old"])
    assert profile.customer_id == world["jean"] and profile.redirected_from == world["old"]
    with pytest.raises(ProfileUnavailable) as refused:
        card(session_factory, world["gone"])
    assert refused.value.reason == "erased"
    with pytest.raises(ProfileUnavailable):
        card(session_factory, 999_999)


def test_card_needs_few_queries_whatever_the_history(session_factory, world, engine):
    grant(session_factory, world["jean"])
    statements: list[str] = []

    def count(*_args, **_kwargs):
        statements.append("q")

    event.listen(engine, "before_cursor_execute", count)
    try:
        card(session_factory, world["jean"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # 9 for the card, 1 for the live website activity (2 when the customer has any: the basket).
    assert len(statements) <= 10


def _views_audited(session_factory) -> list[tuple]:
    with session_factory() as session:
        return [tuple(row) for row in session.execute(
            select(AuditEvent.employee_id, AuditEvent.actor, AuditEvent.action, AuditEvent.customer_id, AuditEvent.via,
                   AuditEvent.at, AuditEvent.detail).order_by(AuditEvent.id))]


def test_the_card_writes_its_audit_row_in_its_own_statement_on_postgresql(session_factory, world, engine):
    # The lookup's card on PostgreSQL: one round trip reads the card and writes the view's audit row, committed
    # with it in an autocommit session. The row names the customer shown (the survivor for a merged id), and
    # there is none when the card cannot be shown.
    lea = Viewer(world["lea"])
    if engine.dialect.name != "postgresql":
        with session_factory() as session, pytest.raises(ValueError):
            build_profile(session, world["jean"], viewer=lea, clock=clock, audit_via="slack:/customer")
        assert _views_audited(session_factory) == []
        return
    statements: list[str] = []
    counting = session_factory.autocommit().get_bind()
    event.listen(counting, "before_cursor_execute", lambda *_: statements.append("q"))
    for asked in (world["jean"], world["old"]):
        with session_factory.autocommit() as session:
            profile = build_profile(session, asked, viewer=lea, clock=clock, audit_via="slack:/customer")
        assert profile.customer_id == world["jean"]
    for unavailable in (world["gone"], 999_999):
        with session_factory.autocommit() as session, pytest.raises(ProfileUnavailable):
            build_profile(session, unavailable, viewer=lea, clock=clock, audit_via="slack:/customer")
    view = (world["lea"], "U_LEA", "view", world["jean"], "slack:/customer", NOW, {})
    assert _views_audited(session_factory) == [view, view]
    assert len(statements) == 1 + 2 + 1 + 1  # jean; old then jean; gone; nobody


def test_an_exact_lookup_reads_its_card_and_writes_the_view_in_its_own_statement(session_factory, world, engine):
    # PostgreSQL: the lookup's one statement also reads its one hit's card and writes the view's audit row (one
    # round trip for the three), the card build_profile reads. Nothing read nor written when the lookup is not
    # one active customer's one hit (a merged id, an erased one, a phone two customers share, no one): the
    # caller then reads the card apart, or shows candidates. SQLite: `along` is ignored (statements cost no
    # round trip there).
    jean, lea = world["jean"], Viewer(world["lea"])
    with session_factory.begin() as session:
        paul = Customer(first_name="Paul", last_name="Dupont", search_name="paul dupont")
        session.add(paul)
        session.flush()
        session.add_all([CustomerIdentifier(customer_id=jean, kind="phone", value="+33600000001"),
                         CustomerIdentifier(customer_id=paul.id, kind="phone", value="+33600000001"),
                         CustomerIdentifier(customer_id=jean, kind="loyalty", value="MV000123456")])
    postgresql = engine.dialect.name == "postgresql"
    along = card_along(lea, clock, "slack:/customer")
    assert along is not None and card_along(Viewer(None), clock, "slack:/customer") is None  # type: ignore[arg-type]
    statements: list[str] = []
    counting = session_factory.autocommit().get_bind()
    event.listen(counting, "before_cursor_execute", lambda *_: statements.append("q"))
    for query in (f"#{jean}", "mv000123456"):
        with session_factory.autocommit() as session:
            found = find_customers(session, query, along=along)
            assert found.exact and found.best is not None and found.best.customer_id == jean
            if not postgresql:
                assert found.along is None
                continue
            assert found.along is not None and len(statements) == 1
            profile = profile_of_card_row(session, found.along, clock=clock)
            assert profile == build_profile(session, jean, viewer=lea, clock=clock)
            statements.clear()
    for query in (f"#{world['old']}", f"#{world['gone']}", "+33600000001", "#999999"):
        with session_factory.autocommit() as session:
            found = find_customers(session, query, along=along)
        assert found.along is None
        assert found.exact == (query == f"#{world['old']}")  # a merge followed: the card is read apart
    view = (world["lea"], "U_LEA", "view", jean, "slack:/customer", NOW, {})
    assert _views_audited(session_factory) == ([view, view] if postgresql else [])


def _statements_of_card(session_factory, engine, customer_id):
    statements: list[str] = []

    def count(*_args, **_kwargs):
        statements.append("q")

    event.listen(engine, "before_cursor_execute", count)
    try:
        profile = card(session_factory, customer_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return profile, len(statements)


def test_card_is_one_round_trip_on_postgresql(session_factory, world, engine):
    # Without profiling consent (no web activity to read) the whole card is one statement on PostgreSQL, a
    # merged id one more; SQLite, in the process, keeps a statement per section.
    profile, statements = _statements_of_card(session_factory, engine, world["jean"])
    assert profile.customer_id == world["jean"] and len(profile.orders.items) == 5
    one_statement = engine.dialect.name == "postgresql"
    assert statements == (1 if one_statement else 7)  # SQLite: its explicit BEGIN and a statement per section
    profile, statements = _statements_of_card(session_factory, engine, world["old"])
    assert profile.customer_id == world["jean"] and profile.redirected_from == world["old"]
    assert statements == (2 if one_statement else 8)


def test_card_brings_the_source_records_the_duplicate_banner_starts_from(session_factory, world, engine):
    # On PostgreSQL the card's one statement also reads the customer's source record ids, so the possible-duplicate
    # banner needs no statement of its own to learn there are none; SQLite leaves them to the banner's own read.
    jean = world["jean"]
    with session_factory.begin() as session:
        records = [SourceRecord(source="pos", source_id=f"P{n}", customer_id=jean, first_name="Jean",
                                content_hash=f"h{n}") for n in range(2)]
        session.add_all(records)
        session.flush()
        ids = sorted(record.id for record in records)
    profile, _ = _statements_of_card(session_factory, engine, jean)
    if engine.dialect.name == "postgresql":
        assert sorted(profile.source_record_ids or ()) == ids
    else:
        assert profile.source_record_ids is None
    with session_factory() as session:
        assert possible_duplicates(session, jean, own=profile.source_record_ids) == possible_duplicates(session, jean)
    without, _ = _statements_of_card(session_factory, engine, world["old"])  # merged into jean: jean's records
    assert without.customer_id == jean
    if engine.dialect.name == "postgresql":
        assert sorted(without.source_record_ids or ()) == ids


def test_one_statement_card_reads_the_same_rows_as_one_per_section(session_factory, world, engine):
    # Values JSON has no type for come back as the statement's own: microseconds, dates, exact decimals, NULLs.
    with session_factory.begin() as session:
        jean = world["jean"]
        session.add_all([
            Order(source="web", order_number="NX", customer_id=jean, ordered_at=NOW + dt.timedelta(microseconds=123456),
                  channel="web", total_amount=Decimal("1234567890.10")),
            Interaction(customer_id=jean, employee_id=world["lea"], channel="phone", type="complaint",
                        outcome="pending", note=None, created_at=NOW + dt.timedelta(seconds=1, microseconds=7)),
            Consent(customer_id=jean, purpose="marketing", channel="email", granted=True,
                    recorded_at=NOW - dt.timedelta(microseconds=1), source="pos"),
        ])
        session.add(OrderLine(order=session.query(Order).filter_by(order_number="N1").one(), sku="Z", size="42",
                              product_name="Bottes « été »", quantity=3, unit_price=Decimal("0.01")))
    with session_factory() as session:
        for customer_id in (world["jean"], world["old"]):
            separate = card_module._card_reads(session, customer_id)
            if engine.dialect.name != "postgresql":
                continue  # the one-statement form is PostgreSQL's (json_agg)
            combined = card_module._card_in_one_statement(session, customer_id)
            expected_customer = separate.customer._asdict()
            assert {k: v for k, v in combined.customer._asdict().items() if k in expected_customer} == expected_customer
            assert combined.redirected_from == separate.redirected_from
            for section in ("consents", "follow_ups", "preferences", "orders", "interactions"):
                expected = [row._asdict() for row in getattr(separate, section)]
                got = [vars(row) for row in getattr(combined, section)]
                assert got == expected, section
                assert [[type(v) for v in row.values()] for row in got] == [[type(v) for v in row.values()]
                                                                             for row in expected], section
        assert len(separate.orders) > 5 and len(separate.consents) == 1
    if engine.dialect.name != "postgresql":
        return
    for unavailable in (world["gone"], 999_999):
        with session_factory() as session, pytest.raises(ProfileUnavailable):
            card_module._card_in_one_statement(session, unavailable)


def test_web_activity_in_one_statement_is_the_same_as_read_apart(session_factory, world, engine):
    # With profiling consent the card also reads signals, live activity and the open basket: one more statement
    # on PostgreSQL (was up to three), the same content as reading each apart.
    jean = world["jean"]
    grant(session_factory, jean)
    with session_factory.begin() as session:
        session.add_all([
            WebActivity(source="web", customer_id=jean, kind="visit", occurred_at=NOW - dt.timedelta(minutes=12)),
            WebActivity(source="web", customer_id=jean, kind="wishlist_added", sku="B1", product_name="Bottes",
                        price=Decimal("89.90"), occurred_at=NOW - dt.timedelta(hours=2, microseconds=5)),
            WebActivity(source="web", customer_id=jean, kind="searched", detail="ciré jaune",
                        occurred_at=NOW - dt.timedelta(days=1)),
            WebActivity(source="web", customer_id=jean, kind="ordered", detail="W-77", price=Decimal("120.00"),
                        occurred_at=NOW - dt.timedelta(hours=3)),
            Basket(source="web", cart_key="c1", customer_id=jean, currency="EUR", updated_at=NOW - dt.timedelta(hours=1),
                   items=[{"sku": "B1", "name": "Bottes", "quantity": 2, "price": "89.90"},
                          {"sku": "S2", "quantity": 1, "price": "0.10"}]),
            Basket(source="web", cart_key="c0", customer_id=jean, updated_at=NOW - dt.timedelta(days=40),
                   items=[{"sku": "OLD", "quantity": 1, "price": "1.00"}]),
        ])
    profile, statements = _statements_of_card(session_factory, engine, jean)
    assert statements == (2 if engine.dialect.name == "postgresql" else 10)
    live = profile.live
    assert live is not None and live.last_seen_at == NOW - dt.timedelta(minutes=12)
    assert live.basket is not None and live.basket.total == Decimal("179.90")
    assert [item.product_name for item in live.basket.items] == ["Bottes", "S2"]
    assert [change.text for change in live.changes] == ["Bottes", "ciré jaune"]
    assert live.web_order is not None and live.web_order.total_amount == Decimal("120.00")
    with session_factory() as session:
        apart = (card_module._web_signals(session, jean), card_module.live_activity(session, jean, as_of=NOW))
    assert (profile.web_signals, profile.live) == apart
    assert len(profile.web_signals) == 7
