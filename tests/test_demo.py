"""`frontline demo`: a believable retailer built through the real import pipeline, deterministic per seed."""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from bot.cli import main
from store.demo.activity import make_activity
from store.demo.builder import DemoAlreadyThere, build_demo
from store.demo.people import make_persons, make_source_records
from store.demo.staff import STORES, employees
from store.models import (
    Consent,
    Customer,
    Employee,
    FollowUp,
    Interaction,
    Order,
    OrderLine,
    SourceRecord,
    Store,
    WebSignal,
)
from store.normalize import fold, normalise_email, normalise_phone

TODAY = dt.date(2025, 6, 1)
SMALL = 300


def _generate(count: int, seed: int):
    persons = make_persons(count, seed=seed, today=TODAY)
    records = make_source_records(persons, seed=seed, today=TODAY)
    return persons, records, make_activity(persons, records, employees(seed), seed=seed, today=TODAY)


# --- the generator, without a database -------------------------------------------------------------


def test_same_seed_generates_the_same_data_and_another_seed_does_not():
    first, second, other = _generate(400, 7), _generate(400, 7), _generate(400, 8)
    assert [r.row for r in first[1]] == [r.row for r in second[1]]
    assert first[2].orders == second[2].orders and first[2].consents == second[2].consents
    assert [r.row for r in first[1]] != [r.row for r in other[1]]


def test_people_have_french_and_english_names_with_accents_and_compounds():
    persons, _, _ = _generate(2000, 1)
    firsts = {p.first_name for p in persons}
    lasts = {p.last_name for p in persons}
    assert {"Hélène", "François", "Zoë", "Bérénice", "Gaëlle", "Loïc"} <= firsts
    assert any("-" in name for name in firsts) and any("-" in name or " " in name for name in lasts)
    assert {"Oliver", "Amelia"} & firsts and {"Smith", "Taylor"} & lasts
    assert {p.address.country for p in persons} == {"FR", "GB"}


def test_source_records_disagree_the_way_real_systems_do():
    persons, records, _ = _generate(2000, 1)
    by_key = {p.key: p for p in persons}
    swapped = dropped_accents = old_address = odd_phone = 0
    for record in records:
        person, row = by_key[record.person_key], record.row
        if row["first_name"] and fold(row["first_name"]) == fold(person.last_name) != fold(person.first_name):
            swapped += 1
        if row["last_name"] and row["last_name"] != fold(row["last_name"]) and person.last_name != row["last_name"] \
                and fold(row["last_name"]) == fold(person.last_name):
            dropped_accents += 1
        if person.old_address and row["street"] == person.old_address.street:
            old_address += 1
        if row["phone"] and row["phone"] != person.phone:
            odd_phone += 1
            assert normalise_phone(row["phone"], row["country"]) == person.phone  # another format, same number
    assert swapped and dropped_accents and old_address and odd_phone
    assert len(records) > len(persons) * 1.3  # many people are known to several systems
    for record in records:  # the importers would refuse a malformed address: the demo never has one
        assert record.row["email"] is None or normalise_email(record.row["email"])


def test_staff_has_about_sixty_slack_users_in_every_role():
    staff = employees(42)
    assert 55 <= len(staff) <= 65
    assert all(re.fullmatch(r"U0[A-Z0-9]{7}", e.slack_user_id) for e in staff)
    assert len({e.slack_user_id for e in staff}) == len(staff)
    assert sum(e.role == "admin" for e in staff) == 2
    assert {e.store_code for e in staff if e.role == "manager"} >= {s.code for s in STORES}
    assert {e.locale for e in staff} >= {"fr", "en"}


# --- in the database, through the import pipeline ---------------------------------------------------


def _golden_rows(session) -> list[tuple]:
    columns = (Customer.first_name, Customer.last_name, Customer.email, Customer.phone, Customer.birth_date,
               Customer.street, Customer.postcode, Customer.city, Customer.country, Customer.loyalty_id,
               Customer.loyalty_tier, Customer.preferred_language, Customer.customer_since, Customer.status)
    return sorted((tuple(row) for row in session.execute(select(*columns))), key=repr)


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_builds_a_resolved_retailer(session_factory):
    with session_factory.begin() as session:
        build = build_demo(session, customers=SMALL, seed=3, today=TODAY)
    summary = build.summary
    assert summary.rejected_rows == 0
    assert summary.stores == 6 and 55 <= summary.employees <= 65
    assert set(summary.records_by_source) == {"web", "pos", "crm"}
    assert summary.customers < summary.source_records  # duplicates were resolved...
    assert summary.customers >= SMALL  # ...without merging different people into one wholesale

    with session_factory() as session:
        customer_of = {(s, i): c for s, i, c in session.execute(
            select(SourceRecord.source, SourceRecord.source_id, SourceRecord.customer_id))}
        customers_of_person: dict[int, set[int]] = defaultdict(set)
        people_of_customer: dict[int, set[int]] = defaultdict(set)
        for key, person in build.truth.items():
            customers_of_person[person].add(customer_of[key])
            people_of_customer[customer_of[key]].add(person)
        several = [p for p in customers_of_person if sum(1 for v in build.truth.values() if v == p) > 1]
        resolved = [p for p in several if len(customers_of_person[p]) == 1]
        assert len(resolved) >= 0.85 * len(several)
        mixed = [c for c, people in people_of_customer.items() if len(people) > 1]
        assert len(mixed) <= 0.01 * summary.customers

        # Someone bought on the web, in a store and by phone: one customer with orders in several channels.
        channels = session.execute(select(Order.customer_id, func.count(Order.channel.distinct()))
                                   .group_by(Order.customer_id)).all()
        assert max(n for _, n in channels) == 3
        assert _count(session, OrderLine) > _count(session, Order)
        assert {c for (c,) in session.execute(select(Order.currency).distinct())} == {"EUR", "GBP"}
        assert _count(session, WebSignal) > 0
        refusing = _count(session, Consent, Consent.purpose == "profiling", Consent.granted.is_(False))
        granting = _count(session, Consent, Consent.purpose == "profiling", Consent.granted.is_(True))
        assert 0.1 < refusing / (refusing + granting) < 0.5
        assert _count(session, Interaction) == summary.interactions > 0
        assert _count(session, FollowUp, FollowUp.status == "open", FollowUp.due_date < TODAY) > 0
        assert _count(session, FollowUp, FollowUp.status == "open", FollowUp.due_date >= TODAY) > 0
        assert _count(session, FollowUp, FollowUp.status == "done", FollowUp.completed_at.is_not(None)) > 0
        assert {tz for (tz,) in session.execute(select(Store.timezone))} == {"Europe/Paris", "Europe/London"}
        roles = dict(session.execute(select(Employee.slack_user_id, Employee.role)).all())
        assert roles[summary.try_associate] == "associate"
        assert roles[summary.try_manager] == "manager"
        assert roles[summary.try_admin] == "admin"
    assert f"frontline-console --as {summary.try_associate} then /customer " in "\n".join(summary.lines())


def test_same_seed_builds_the_same_database_and_reset_starts_over(session_factory):
    with session_factory.begin() as session:
        first = build_demo(session, customers=SMALL, seed=11, today=TODAY).summary
    with session_factory() as session:
        first_rows = _golden_rows(session)
    with session_factory.begin() as session:
        second = build_demo(session, customers=SMALL, seed=11, today=TODAY, reset=True).summary
    with session_factory() as session:
        assert _golden_rows(session) == first_rows
    assert second.lines() == first.lines()
    with session_factory.begin() as session:
        other = build_demo(session, customers=SMALL, seed=12, today=TODAY, reset=True).summary
    with session_factory() as session:
        assert _golden_rows(session) != first_rows
    assert other.customers != first.customers or other.orders != first.orders


def test_running_again_without_reset_changes_nothing(session_factory):
    with session_factory.begin() as session:
        build_demo(session, customers=50, seed=5, today=TODAY)
    with session_factory() as session:
        before = _golden_rows(session), _count(session, Order), _count(session, Interaction)
    with pytest.raises(DemoAlreadyThere), session_factory.begin() as session:
        build_demo(session, customers=50, seed=5, today=TODAY)
    with session_factory() as session:
        assert (_golden_rows(session), _count(session, Order), _count(session, Interaction)) == before


def test_demo_command_builds_once_then_says_so(db_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.chdir(__import__("tempfile").mkdtemp())  # no stray .env is read
    assert main(["demo", "--customers", "40", "--seed", "9"]) == 0
    built = capsys.readouterr().out
    assert re.search(r"Try: frontline-console --as U0[A-Z0-9]{7} then /customer \S+", built)
    assert "Source records:" in built and "Customers after identity resolution:" in built
    assert main(["demo", "--customers", "40"]) == 0
    assert "Nothing done: demo data is already there" in capsys.readouterr().out
