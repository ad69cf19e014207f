"""Merging customers moves everything they own; unmerging puts both back exactly as they were."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from store.merging import MergeError, merge_customers, unmerge
from store.models import (
    AuditEvent,
    Consent,
    Customer,
    Employee,
    FollowUp,
    Interaction,
    LinkConstraint,
    MergeEvent,
    Order,
    WebSignal,
)
from store.resolution import relink
from tests.store.resolution_fixtures import add_record, customer_of, dump_world, identifiers

T0 = dt.datetime(2024, 3, 1, 9, 0)


def _two_customers_with_history(session) -> tuple[int, int]:
    """Anne Leroy (web + pos) and Anne Martin (CRM): two customers, each with orders, notes and consents."""
    add_record(session, "web", "W1", first_name="Anne", last_name="Leroy", email="anne.leroy@example.com",
               postcode="33000", city="Bordeaux")
    add_record(session, "pos", "P1", first_name="ANNE", last_name="LEROY", email="anne.leroy@example.com",
               loyalty_id="L-1")
    # Her married name, new address: nothing the linker could tie to the first two.
    add_record(session, "crm", "C1", first_name="Anne", last_name="Martin", email="a.martin@example.com",
               phone="0700000001", street="4 cours Victor Hugo", postcode="69002", city="Lyon",
               updated="2024-06-01T00:00:00")
    relink(session)
    survivor, absorbed = customer_of(session, "web", "W1"), customer_of(session, "crm", "C1")
    assert survivor != absorbed
    clerk = Employee(slack_user_id="U1", name="Clerk")
    session.add(clerk)
    session.flush()
    for customer_id, number in ((survivor, "A-1"), (absorbed, "B-1")):
        session.add(Order(source="pos", order_number=number, customer_id=customer_id, ordered_at=T0,
                          channel="store", total_amount=Decimal("42.50")))
        session.add(WebSignal(customer_id=customer_id, kind="wishlist", sku=number, product_name="Scarf",
                              occurred_at=T0))
        interaction = Interaction(customer_id=customer_id, employee_id=clerk.id, channel="store", type="visit",
                                  outcome="follow_up", created_at=T0)
        session.add(interaction)
        session.flush()
        session.add(FollowUp(interaction_id=interaction.id, customer_id=customer_id, assignee_id=clerk.id,
                             due_date=dt.date(2024, 3, 5)))
    # Both have a marketing e-mail consent: the absorbed one's is newer and wins during the merge.
    session.add(Consent(customer_id=survivor, purpose="marketing", channel="email", granted=True,
                        recorded_at=T0, source="web"))
    session.add(Consent(customer_id=absorbed, purpose="marketing", channel="email", granted=False,
                        recorded_at=T0 + dt.timedelta(days=1), source="crm"))
    session.add(Consent(customer_id=absorbed, purpose="profiling", channel="any", granted=True,
                        recorded_at=T0, source="crm"))
    session.flush()
    return survivor, absorbed


def test_merge_moves_everything_and_unmerge_restores_exactly(session_factory):
    with session_factory.begin() as session:
        survivor, absorbed = _two_customers_with_history(session)
    with session_factory() as session:
        before = dump_world(session)
    with session_factory.begin() as session:
        event = merge_customers(session, survivor_id=survivor, absorbed_id=absorbed, actor="U-admin",
                                reason="manual")
        event_id = event.id
    with session_factory() as session:
        assert {customer_of(session, s, i) for s, i in (("web", "W1"), ("pos", "P1"), ("crm", "C1"))} == {survivor}
        gone = session.get(Customer, absorbed)
        assert (gone.status, gone.merged_into_id) == ("merged", survivor)
        for model in (Order, WebSignal, Interaction, FollowUp):
            assert set(session.scalars(select(model.customer_id))) == {survivor}
        consents = session.scalars(select(Consent).where(Consent.customer_id == survivor)).all()
        marketing = [c for c in consents if c.purpose == "marketing"]
        assert len(consents) == 2 and len(marketing) == 1 and marketing[0].granted is False  # the newest
        assert ("email", "a.martin@example.com") in identifiers(session, survivor)
        assert identifiers(session, absorbed) == set()
        merged = session.get(Customer, survivor)
        assert merged.phone == "+33700000001" and merged.street == "4 cours Victor Hugo"
        assert session.scalars(select(AuditEvent.action)).all() == ["merge"]
    with session_factory.begin() as session:
        unmerge(session, merge_event_id=event_id, actor="U-admin")
    with session_factory() as session:
        assert dump_world(session) == before
        assert session.get(MergeEvent, event_id).undone_by == "U-admin"
        assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all() == ["merge", "unmerge"]


def test_linker_respects_the_unmerge(session_factory):
    with session_factory.begin() as session:
        add_record(session, "web", "W1", first_name="Hugo", last_name="Blanc", email="hugo@example.com")
        relink(session)
        add_record(session, "pos", "P1", first_name="Hugo", last_name="Blanc", phone="0611111111")
        relink(session)
        a, b = customer_of(session, "web", "W1"), customer_of(session, "pos", "P1")
        event = merge_customers(session, survivor_id=a, absorbed_id=b, actor="cli", reason="manual")
        unmerge(session, merge_event_id=event.id, actor="cli")
        # A new record carrying both identifiers would bridge them, but a person said they differ.
        add_record(session, "crm", "C1", first_name="Hugo", last_name="Blanc", email="hugo@example.com",
                   phone="0611111111")
        report = relink(session)
        assert report.customers_merged == 0
        assert customer_of(session, "web", "W1") != customer_of(session, "pos", "P1")
        assert session.scalars(select(LinkConstraint.kind)).all() == ["cannot_link"]


def test_unmerge_refused_while_a_later_merge_depends_on_it(session_factory):
    with session_factory.begin() as session:
        ids = []
        for n, name in enumerate(("Zoe", "Yves", "Xavier")):
            add_record(session, "web", f"W{n}", first_name=name, last_name="Roux", email=f"{name}@example.com")
        relink(session)
        ids = [customer_of(session, "web", f"W{n}") for n in range(3)]
        first = merge_customers(session, survivor_id=ids[0], absorbed_id=ids[1], actor="cli", reason="manual")
        second = merge_customers(session, survivor_id=ids[2], absorbed_id=ids[0], actor="cli", reason="manual")
        with pytest.raises(MergeError, match=f"undo them first.*{second.id}"):
            unmerge(session, merge_event_id=first.id, actor="cli")
        unmerge(session, merge_event_id=second.id, actor="cli")
        unmerge(session, merge_event_id=first.id, actor="cli")
        assert [session.get(Customer, i).status for i in ids] == ["active"] * 3
        with pytest.raises(MergeError, match="already undone"):
            unmerge(session, merge_event_id=first.id, actor="cli")


def test_rows_added_after_the_merge_stay_with_the_survivor(session_factory):
    with session_factory.begin() as session:
        survivor, absorbed = _two_customers_with_history(session)
        event = merge_customers(session, survivor_id=survivor, absorbed_id=absorbed, actor="cli", reason="manual")
        clerk = session.scalars(select(Employee)).one()
        later = Interaction(customer_id=survivor, employee_id=clerk.id, channel="phone", type="call",
                            outcome="resolved")
        session.add(later)
        session.flush()
        unmerge(session, merge_event_id=event.id, actor="cli")
        assert session.get(Interaction, later.id).customer_id == survivor
        assert session.scalars(select(Order.customer_id).where(Order.order_number == "B-1")).one() == absorbed


def test_merge_refuses_nonsense(session_factory):
    with session_factory.begin() as session:
        add_record(session, "web", "W1", first_name="Ines", last_name="Faure", email="ines@example.com")
        relink(session)
        only = customer_of(session, "web", "W1")
        with pytest.raises(MergeError, match="itself"):
            merge_customers(session, survivor_id=only, absorbed_id=only, actor="cli", reason="manual")
        with pytest.raises(MergeError, match="does not exist"):
            merge_customers(session, survivor_id=only, absorbed_id=only + 999, actor="cli", reason="manual")
