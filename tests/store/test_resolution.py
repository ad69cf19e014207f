"""relink on a real database: customers appear, stay stable, merge automatically, respect decisions."""
from __future__ import annotations

import gc
from dataclasses import replace

import pytest

from sqlalchemy import select, text, update

from bench.synthetic_people import generate
from store.db import make_engine, make_session_factory
from store.identity import DEFAULT_THRESHOLDS
from store.models import AuditEvent, Customer, CustomerIdentifier, LinkConstraint, MatchReview, MergeEvent, SourceRecord
from store import resolution
from store.resolution import relink
from store.search import find_customers
from store.survivorship import NAME_KEYS_BY_HAND_FROM
from tests.store.resolution_fixtures import active_customers, add_record, as_imported, customer_of, identifiers

STRICT = replace(DEFAULT_THRESHOLDS, merge=0.9995, review=0.5)


def _helene_everywhere(session):
    add_record(session, "web", "W1", first_name="helene", last_name="darcy", email="Helene.Darcy@example.com",
               phone="06 12 34 56 78", postcode="75004", city="Paris", updated="2024-05-01T10:00:00")
    add_record(session, "pos", "P1", first_name="HELENE", last_name="DARCY", phone="+33612345678",
               loyalty_id="LOY 001", birth_date="1985-03-14", updated="2023-01-01T10:00:00",
               attributes={"loyalty_tier": "gold"})
    add_record(session, "crm", "C1", first_name="Hélène", last_name="D'Arcy", email="helene.darcy@example.com",
               birth_date="1985-03-14", street="12 rue des Archives", postcode="75004", city="Paris",
               country="fr", updated="2022-06-01T10:00:00")


def test_three_sources_become_one_customer_with_provenance(session_factory):
    with session_factory.begin() as session:
        _helene_everywhere(session)
        report = relink(session)
    assert (report.records, report.customers_created, report.customers_merged) == (3, 1, 0)
    with session_factory() as session:
        [customer] = active_customers(session)
        assert {customer_of(session, s, i) for s, i in (("web", "W1"), ("pos", "P1"), ("crm", "C1"))} == {customer.id}
        assert (customer.first_name, customer.last_name) == ("Hélène", "D'Arcy")
        assert customer.provenance["first_name"]["source"] == "crm"
        assert customer.email == "helene.darcy@example.com"
        assert customer.provenance["email"] == {"record_id": customer.provenance["email"]["record_id"],
                                                "source": "web", "source_id": "W1"}
        assert customer.phone == "+33612345678"
        assert customer.loyalty_id == "LOY001" and customer.loyalty_tier == "gold"
        assert customer.provenance["loyalty_id"]["source_id"] == "P1"
        assert (customer.street, customer.city, customer.country) == ("12 rue des Archives", "Paris", "FR")
        assert customer.provenance["street"]["source"] == "crm"
        assert str(customer.birth_date) == "1985-03-14"
        assert customer.search_name == "helene d arcy"
        assert identifiers(session, customer.id) == {("email", "helene.darcy@example.com"),
                                                     ("phone", "+33612345678"), ("loyalty", "LOY001")}


def test_family_sharing_an_email_stays_two_customers(session_factory):
    with session_factory.begin() as session:
        add_record(session, "web", "W1", first_name="Marie", last_name="Dupont", email="famille.dupont@example.com",
                   birth_date="1970-02-02")
        add_record(session, "web", "W2", first_name="Jean", last_name="Dupont", email="famille.dupont@example.com",
                   birth_date="1968-11-30")
        relink(session)
    with session_factory() as session:
        customers = active_customers(session)
        assert len(customers) == 2
        assert {c.first_name for c in customers} == {"Marie", "Jean"}
        # Both can still be found by the shared e-mail.
        assert all(("email", "famille.dupont@example.com") in identifiers(session, c.id) for c in customers)


def test_second_relink_changes_nothing(session_factory):
    with session_factory.begin() as session:
        _helene_everywhere(session)
        add_record(session, "web", "W9", first_name="Paul", last_name="Martin", email="paul@example.com")
        relink(session)
    with session_factory() as session:
        before = [(c.id, c.updated_at, c.provenance) for c in active_customers(session)]
    with session_factory.begin() as session:
        report = relink(session)
    assert (report.customers_created, report.customers_merged, report.customers_rebuilt) == (0, 0, 0)
    assert report.customers_unchanged == 2
    with session_factory() as session:
        assert [(c.id, c.updated_at, c.provenance) for c in active_customers(session)] == before


def test_updated_source_record_changes_the_golden_record(session_factory):
    with session_factory.begin() as session:
        _helene_everywhere(session)
        relink(session)
    with session_factory.begin() as session:
        record = session.scalars(select(SourceRecord).where(SourceRecord.source_id == "W1")).one()
        record.email = "helene@newmail.example"
        record.content_hash = "changed"
    with session_factory.begin() as session:
        report = relink(session)
        assert report.customers_rebuilt == 1
    with session_factory() as session:
        [customer] = active_customers(session)
        assert customer.email == "helene@newmail.example"
        assert ("email", "helene@newmail.example") in identifiers(session, customer.id)


def test_new_record_bridging_two_customers_merges_them(session_factory):
    with session_factory.begin() as session:
        add_record(session, "web", "W1", first_name="Claire", last_name="Moreau", email="claire.m@example.com")
        add_record(session, "pos", "P1", first_name="Claire", last_name="Moreau", phone="0611223344",
                   loyalty_id="L77")
        relink(session)
    with session_factory() as session:
        first, second = customer_of(session, "web", "W1"), customer_of(session, "pos", "P1")
    assert first != second
    with session_factory.begin() as session:
        add_record(session, "crm", "C1", first_name="Claire", last_name="Moreau", email="claire.m@example.com",
                   phone="06 11 22 33 44")
        report = relink(session)
    assert (report.customers_created, report.customers_merged) == (0, 1)
    with session_factory() as session:
        survivor = customer_of(session, "crm", "C1")
        assert survivor == customer_of(session, "web", "W1") == customer_of(session, "pos", "P1")
        assert survivor == min(first, second)  # the oldest id survives
        absorbed = session.get(Customer, max(first, second))
        assert (absorbed.status, absorbed.merged_into_id) == ("merged", survivor)
        event = session.scalars(select(MergeEvent)).one()
        assert (event.reason, event.survivor_id) == ("auto", survivor)
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "merge")).one()
        assert audit.customer_id == survivor and audit.detail["absorbed_id"] == absorbed.id


def test_uncertain_pair_is_queued_once(session_factory):
    with session_factory.begin() as session:
        add_record(session, "web", "W1", first_name="Sophie", last_name="Bernard", postcode="69003")
        add_record(session, "pos", "P1", first_name="Sophie", last_name="Bernard", postcode="69003")
        # Same name and postcode, no identifier in common: likely, not certain (strict merge threshold).
        first = relink(session, thresholds=STRICT)
        second = relink(session, thresholds=STRICT)
    assert first.reviews_queued == 1 and second.reviews_queued == 0
    with session_factory() as session:
        review = session.scalars(select(MatchReview)).one()
        assert review.status == "pending"
        assert customer_of(session, "web", "W1") != customer_of(session, "pos", "P1")


def test_cannot_link_keeps_records_apart(session_factory):
    with session_factory.begin() as session:
        a = add_record(session, "web", "W1", first_name="Luc", last_name="Petit", email="luc.petit@example.com")
        b = add_record(session, "pos", "P1", first_name="Luc", last_name="Petit", email="luc.petit@example.com")
        session.add(LinkConstraint(record_a_id=a, record_b_id=b, kind="cannot_link", created_by="test"))
        relink(session)
    with session_factory() as session:
        assert customer_of(session, "web", "W1") != customer_of(session, "pos", "P1")


def test_existing_customers_merge_on_new_evidence_or_when_reconsidered(session_factory):
    with session_factory.begin() as session:
        add_record(session, "web", "W1", first_name="Sophie", last_name="Bernard", postcode="69003")
        add_record(session, "pos", "P1", first_name="Sophie", last_name="Bernard", postcode="69003")
        relink(session, thresholds=STRICT)  # likely, not certain: two customers and a review
        assert customer_of(session, "web", "W1") != customer_of(session, "pos", "P1")
        # Same data, laxer thresholds: nothing new was learnt, so the customers stay as they are...
        assert relink(session).customers_merged == 0
        # ...unless an admin asks to reconsider everything with the new thresholds.
        report = relink(session, reconsider=True)
        assert report.customers_merged == 1 and report.reviews_superseded == 1
        assert customer_of(session, "web", "W1") == customer_of(session, "pos", "P1")


def _name_key_rows(session) -> set[tuple[str, str, object]]:
    """The one-word keys, the pair keys and the words under their deletions (revisions 0002/0003, 0017)."""
    return {(table, key, other) for table, query in (
        ("keys", "SELECT key, customer_id FROM customer_name_keys"),
        ("pairs", "SELECT key, customer_id FROM customer_name_pair_keys"),
        ("words", "SELECT variant, word FROM customer_name_words"),
    ) for key, other in session.execute(text(query))}


def test_customers_created_in_bulk_are_found_by_name_like_any_other(session_factory):
    # Enough new people for the bulk path (name keys made without the per-row trigger on SQLite).
    firsts = ["Hélène", "Jean-Pierre", "Zoë", "A", "Ma", "Jo 2", "Ōtake", "d'Arcy"]
    lasts = ["Dupont", "Le Goff", "N'Diaye", "X", "Wolfeschlegelsteinhausenbergerdorffvoralternwarengewisse",
             "van der Berg", "O'Neil", "Müller 3"]
    with session_factory.begin() as session:
        for n in range(600):
            add_record(session, "crm", f"C{n}", first_name=f"{firsts[n % 8]}", last_name=f"{lasts[n // 8 % 8]}{n}",
                       email=f"person{n}@example.com")
        report = relink(session)
    assert report.customers_created == 600
    with session_factory.begin() as session:
        made_at_creation = _name_key_rows(session)
        # Rewriting every name makes the database's own triggers build the keys again.
        names = dict(session.execute(select(Customer.id, Customer.search_name)).all())
        session.execute(update(Customer).values(search_name=None))
        session.execute(update(Customer), [{"id": cid, "search_name": name} for cid, name in names.items()])
    with session_factory() as session:
        assert _name_key_rows(session) == made_at_creation
        assert len(made_at_creation) > 600 * 10
        found = find_customers(session, "helene dupnt64")  # one letter missing
        assert [c.last_name for c in found.candidates][:1] == ["Dupont64"]


@pytest.fixture
def sqlite_and_postgres(request, tmp_path):
    """Session factories of a fresh database on each backend (skipped without PostgreSQL)."""
    postgres = request.getfixturevalue("_postgres_databases")
    urls = [request.getfixturevalue("_sqlite_databases").create(tmp_path, from_template=True),
            postgres.create(from_template=True)]
    engines = [make_engine(url) for url in urls]
    yield [make_session_factory(engine) for engine in engines]
    for engine in engines:
        engine.dispose()
    postgres.drop(urls[1])


_GOLDEN = ("status", "first_name", "last_name", "email", "phone", "birth_date", "street", "postcode", "city", "country",
           "loyalty_id", "loyalty_tier", "preferred_language", "preferred_store_id", "preferred_channel",
           "customer_since", "search_name")


def _linked_world(session) -> dict:
    """What relink made, each customer and review named by its records' (source, source id), not by ids."""
    records = {rid: (source, source_id) for rid, source, source_id
               in session.execute(select(SourceRecord.id, SourceRecord.source, SourceRecord.source_id))}
    members: dict[int, set] = {}
    for rid, cid in session.execute(select(SourceRecord.id, SourceRecord.customer_id)):
        members.setdefault(cid, set()).add(records[rid])
    named = {cid: frozenset(held) for cid, held in members.items()}

    def per_customer(query) -> dict:
        rows: dict = {}
        for cid, *row in session.execute(text(query)):
            rows.setdefault(named[cid], set()).add(tuple(row))
        return rows

    def provenance(customer) -> dict:
        return {field: records[origin["record_id"]] if isinstance(origin, dict) and "record_id" in origin else origin
                for field, origin in customer.provenance.items()}

    return {
        "customers": {named[c.id]: ({name: getattr(c, name) for name in _GOLDEN}, provenance(c))
                      for c in active_customers(session)},
        "identifiers": {(named[cid], kind, value, records.get(rid)) for cid, kind, value, rid in session.execute(
            select(CustomerIdentifier.customer_id, CustomerIdentifier.kind, CustomerIdentifier.value,
                   CustomerIdentifier.source_record_id))},
        "name keys": per_customer("SELECT customer_id, key FROM customer_name_keys"),
        "pair keys": per_customer("SELECT customer_id, key FROM customer_name_pair_keys"),
        "words": set(session.execute(text("SELECT variant, word FROM customer_name_words")).all()),
        "reviews": {(records[r.record_a_id], records[r.record_b_id], round(float(r.score), 4), tuple(r.reasons), r.status)
                    for r in session.scalars(select(MatchReview))},
    }


@pytest.mark.postgres
def test_relink_makes_the_same_customers_on_both_databases(sqlite_and_postgres, monkeypatch):
    # Each database writes new customers its own way (SQLite: name keys made by the code while its row
    # triggers are lifted; PostgreSQL: COPY, and name-key triggers run once per statement, a chunk written
    # while the next is built, here in several chunks): same result.
    people = [(source, record) for source, _, record in generate(600, seed=5)]
    worlds, reports = [], []
    for session_factory, chunk in zip(sqlite_and_postgres, (resolution.WRITE_CHUNK, 97), strict=True):
        monkeypatch.setattr(resolution, "WRITE_CHUNK", chunk)
        with session_factory.begin() as session:
            for n, (source, record) in enumerate(people):
                add_record(session, source, f"{source}-{n}", **as_imported(record))
            reports.append(relink(session))
        with session_factory() as session:
            worlds.append(_linked_world(session))
    assert reports[0].customers_created > NAME_KEYS_BY_HAND_FROM  # SQLite's bulk path, in one batch
    assert reports[0].customers_created < len(people) and reports[0].reviews_queued  # merges and doubts
    assert worlds[0] == worlds[1]
    assert [(r.customers_created, r.reviews_queued) for r in reports] == [(reports[0].customers_created,
                                                                        reports[0].reviews_queued)] * 2


def test_relink_gives_the_garbage_collector_back_even_when_it_fails(session_factory):
    # relink turns cyclic garbage collection off while it runs (speed at 1M records); the process
    # that called it (an import, the CLI) must get it back, also after an error.
    with session_factory.begin() as session:
        _helene_everywhere(session)
        relink(session)
        assert gc.isenabled()
        with pytest.raises(ValueError):
            relink(session, progress=_fail_at_create)
        assert gc.isenabled()


def _fail_at_create(stage: str, done: int, total: int) -> None:
    if stage == "reconcile":
        raise ValueError("stopped by the test")
