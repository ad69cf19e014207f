"""Logging an interaction: what is written, what the customer told us, idempotency, validation."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from store.interactions import (
    DeclaredPreferenceInput,
    FollowUpInput,
    InteractionRefused,
    log_interaction,
    parse_size,
    validate_interaction_form,
)
from store.models import AuditEvent, Customer, DeclaredPreference, FollowUp, Interaction
from tests.store.interactions_fixtures import build_world

NOW = dt.datetime(2026, 3, 2, 15, 30)
TODAY = NOW.date()


@pytest.fixture
def world(session_factory):
    return build_world(session_factory)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def log(session, world, key="view-1:abc", **overrides):
    values = dict(employee=world.lea, customer_id=world.helene, channel="store", type="advice", outcome="resolved",
                  note="Wants boots for the winter", declared=[], follow_up=None, idempotency_key=key, now=NOW)
    values.update(overrides)
    return log_interaction(session, **values)


def test_interaction_records_where_the_employee_worked_and_what_the_customer_declared(session_factory, world):
    declared = [DeclaredPreferenceInput("size", "39", "shoes"), DeclaredPreferenceInput("brand", "Aigle"),
                DeclaredPreferenceInput("channel", "sms"), DeclaredPreferenceInput("language", "fr")]
    follow_up = FollowUpInput(TODAY + dt.timedelta(days=3), world.marc.id, "Call when size 39 is back")
    with session_factory.begin() as session:
        interaction_id = log(session, world, declared=declared, follow_up=follow_up).id

    with session_factory() as session:
        interaction = session.get(Interaction, interaction_id)
        assert (interaction.customer_id, interaction.employee_id) == (world.helene, world.lea.id)
        assert (interaction.store_id, interaction.team_id) == (world.store_id, world.team_id)
        assert (interaction.channel, interaction.type, interaction.outcome) == ("store", "advice", "resolved")
        preferences = session.scalars(select(DeclaredPreference).order_by(DeclaredPreference.id)).all()
        assert [(p.category, p.label, p.value) for p in preferences] == [
            ("size", "shoes", "39"), ("brand", None, "Aigle"), ("channel", None, "sms"), ("language", None, "fr")]
        assert all(p.interaction_id == interaction_id and p.recorded_by_id == world.lea.id
                   and p.source == "frontline" for p in preferences)
        customer = session.get(Customer, world.helene)
        assert (customer.preferred_channel, customer.preferred_language) == ("sms", "fr")
        assert customer.provenance["preferred_channel"]["source"] == "frontline"
        assert customer.provenance["preferred_channel"]["interaction_id"] == interaction_id
        follow = session.scalars(select(FollowUp)).one()
        assert (follow.assignee_id, follow.created_by_id, follow.interaction_id, follow.status) == (
            world.marc.id, world.lea.id, interaction_id, "open")
        audit = session.scalars(select(AuditEvent)).one()
        assert (audit.action, audit.customer_id, audit.actor) == ("change", world.helene, "U_LEA")
        assert "Wants boots" not in str(audit.detail)


def test_same_key_twice_returns_the_first_interaction_and_writes_nothing_more(session_factory, world):
    follow_up = FollowUpInput(TODAY, world.lea.id, None)
    declared = [DeclaredPreferenceInput("brand", "Aigle")]
    with session_factory.begin() as session:
        first = log(session, world, declared=declared, follow_up=follow_up).id
    with session_factory.begin() as session:
        second = log(session, world, declared=declared, follow_up=follow_up, note="changed").id
    assert first == second
    with session_factory() as session:
        assert [count(session, m) for m in (Interaction, DeclaredPreference, FollowUp, AuditEvent)] == [1, 1, 1, 1]


def test_concurrent_double_submit_writes_one_interaction(session_factory, world):
    barrier = threading.Barrier(4)
    ids, failures = [], []

    def submit():
        try:
            barrier.wait()
            with session_factory.begin() as session:
                ids.append(log(session, world, key="view-race:1").id)
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(set(ids)) == 1
    with session_factory() as session:
        assert count(session, Interaction) == 1


def test_rolled_back_caller_transaction_leaves_nothing(session_factory, world):
    with session_factory() as session:
        log(session, world)
        session.rollback()
    with session_factory() as session:
        assert count(session, Interaction) == 0


def test_interaction_on_a_merged_customer_lands_on_the_survivor(session_factory, world):
    with session_factory.begin() as session:
        paul = session.get(Customer, world.paul)
        paul.status, paul.merged_into_id = "merged", world.helene
    with session_factory.begin() as session:
        assert log(session, world, customer_id=world.paul).customer_id == world.helene


def test_erased_customer_is_refused(session_factory, world):
    with session_factory() as session, pytest.raises(InteractionRefused) as refused:
        log(session, world, customer_id=world.erased)
    assert refused.value.key == "interactions.error.customer_erased"


@pytest.mark.parametrize("text, expected", [
    ("shoes 39", ("shoes", "39")), ("jeans W30 L32", ("jeans", "W30 L32")), ("M", (None, "M")),
    ("tops: XL", ("tops", "XL")), ("shoe size 39", ("shoe size", "39")),
])
def test_sizes_are_split_into_label_and_value(text, expected):
    preference = parse_size(text)
    assert (preference.label, preference.value) == expected


def form(world, **overrides):
    values = {"customer_id": str(world.helene), "channel": "phone", "type": "call", "outcome": "follow_up",
              "note": "  Asked about the sale  ", "sizes": "shoes 39, jeans W30", "brands": "Aigle; Petit Bateau",
              "tastes": "", "contact_channel": "email", "language": "fr",
              "follow_up_due": (TODAY + dt.timedelta(days=1)).isoformat(), "follow_up_assignee": "U_MARC",
              "follow_up_note": "Call back"}
    values.update(overrides)
    return values


def test_valid_form_gives_clean_inputs(session_factory, world):
    with session_factory() as session:
        clean, errors = validate_interaction_form(session, form(world), today=TODAY)
    assert errors == {}
    assert clean.customer_id == world.helene and clean.note == "Asked about the sale"
    assert [(p.category, p.label, p.value) for p in clean.declared] == [
        ("size", "shoes", "39"), ("size", "jeans", "W30"), ("brand", None, "Aigle"), ("brand", None, "Petit Bateau"),
        ("channel", None, "email"), ("language", None, "fr")]
    assert clean.follow_up == FollowUpInput(TODAY + dt.timedelta(days=1), world.marc.id, "Call back")


@pytest.mark.parametrize("overrides, field, key", [
    ({"customer_id": None}, "customer_id", "interactions.error.customer_missing"),
    ({"customer_id": "999999"}, "customer_id", "interactions.error.customer_unknown"),
    ({"channel": "pigeon"}, "channel", "interactions.error.channel_unknown"),
    ({"type": None}, "type", "interactions.error.type_missing"),
    ({"outcome": "maybe"}, "outcome", "interactions.error.outcome_unknown"),
    ({"note": "x" * 3001}, "note", "interactions.error.note_too_long"),
    ({"follow_up_due": "2026-03-01"}, "follow_up_due", "interactions.error.due_in_past"),
    ({"follow_up_assignee": "U_GONE"}, "follow_up_assignee", "interactions.error.assignee_not_employee"),
    ({"follow_up_assignee": "U_NOBODY"}, "follow_up_assignee", "interactions.error.assignee_not_employee"),
    ({"follow_up_due": None}, "follow_up_due", "interactions.error.due_missing"),
    ({"language": "xx"}, "language", "interactions.error.language_unknown"),
])
def test_invalid_form_says_which_field_and_why(session_factory, world, overrides, field, key):
    with session_factory() as session:
        clean, errors = validate_interaction_form(session, form(world, **overrides), today=TODAY)
    assert clean is None
    assert list(errors) == [field]
    assert errors[field].key == key


def test_follow_up_is_optional(session_factory, world):
    with session_factory() as session:
        clean, errors = validate_interaction_form(
            session, form(world, follow_up_due=None, follow_up_note="", follow_up_assignee="U_LEA"), today=TODAY)
    assert errors == {} and clean.follow_up is None


def test_note_of_exactly_the_limit_is_accepted(session_factory, world):
    with session_factory() as session:
        _, errors = validate_interaction_form(session, form(world, note="x" * 3000), today=TODAY)
    assert errors == {}
