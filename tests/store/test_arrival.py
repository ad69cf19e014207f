"""Identity on arrival gives the customers the batch relink gives for the same records.

Two databases receive the same records one by one: the first links each on arrival
(store.arrival.link_arrival), the second runs the full relink after each record, as if the import were
run again. They must hold the same customers at the end, and a relink of the first changes nothing.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bench.synthetic_people import generate
from store.arrival import link_arrival
from store.db import make_engine, make_session_factory
from store.identity import link_records
from store.models import MatchReview, SourceRecord
from store import resolution
from store.resolution import learned_model, relink
from tests.store.resolution_fixtures import IDENTITY_FIELDS, add_record, as_imported, customer_of

@pytest.fixture
def second_session_factory(request, db_url, tmp_path):
    """Another fresh database on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        folder = tmp_path / "second"
        folder.mkdir()
        url = request.getfixturevalue("_sqlite_databases").create(folder, from_template=True)
        databases = None
    else:
        databases = request.getfixturevalue("_postgres_databases")
        url = databases.create(from_template=True)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()
    if databases is not None:
        databases.drop(url)


def _partition(session_factory) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    with session_factory() as session:
        for source_id, customer_id in session.execute(select(SourceRecord.source_id, SourceRecord.customer_id)):
            assert customer_id is not None, "every record is linked"
            groups.setdefault(customer_id, set()).add(source_id)
    return {frozenset(group) for group in groups.values()}


def test_records_linked_on_arrival_make_the_customers_relink_makes(session_factory, second_session_factory):
    generated = [record for _, _, record in generate(90, seed=11)]
    for n, record in enumerate(generated):
        with session_factory.begin() as session:  # one arrival per transaction, as the inbox worker does
            record_id = add_record(session, "web", f"W{n}", **as_imported(record))
            assert link_arrival(session, [record_id]).customer_ids[record_id]
        with second_session_factory.begin() as session:
            add_record(session, "web", f"W{n}", **as_imported(record))
            relink(session)
    on_arrival = _partition(session_factory)
    assert on_arrival == _partition(second_session_factory)
    assert len(on_arrival) < len(generated)  # duplicates were found, not only singletons
    with session_factory.begin() as session:  # and a relink afterwards changes nothing
        report = relink(session)
        assert (report.customers_merged, report.customers_created) == (0, 0)
    assert _partition(session_factory) == on_arrival


def test_arrival_finds_every_link_a_relink_from_scratch_finds(session_factory):
    """Records arriving in order versus all at once: every pair relink links, arrival links too. (Arrival
    may keep a link that the evidence of later records would have weakened: a customer is never split.)"""
    generated = [record for _, _, record in generate(120, seed=3)]
    ids = []
    for n, record in enumerate(generated):
        with session_factory.begin() as session:
            ids.append(add_record(session, "web", f"W{n}", **as_imported(record)))
            link_arrival(session, [ids[-1]])
    by_key = {record_id: f"W{n}" for n, record_id in enumerate(ids)}
    at_once = link_records([record.__class__(**{**{f: getattr(record, f) for f in IDENTITY_FIELDS}, "key": record_id})
                            for record, record_id in zip(generated, ids, strict=True)])
    customer_of = {member: group for group in _partition(session_factory) for member in group}
    for cluster in at_once.clusters:
        names = {by_key[key] for key in cluster}
        assert names <= customer_of[next(iter(names))]


def test_a_new_email_for_a_known_record_keeps_its_customer_and_may_join_another(session_factory):
    with session_factory.begin() as session:
        a = add_record(session, "pos", "P1", first_name="Hélène", last_name="Dupont", email="helene.d@example.com",
                       birth_date="1980-05-17", postcode="69003")
        link_arrival(session, [a])
        b = add_record(session, "web", "u-7", first_name="Helene", last_name="Dupont", postcode="75011")
        before = link_arrival(session, [b]).customer_ids[b]
    with session_factory() as session:
        assert session.get(SourceRecord, a).customer_id != before
    with session_factory.begin() as session:
        record = session.get(SourceRecord, b)
        record.email = "helene.d@example.com"
        record.birth_date = session.get(SourceRecord, a).birth_date
        record.updated_at = record.updated_at.replace(year=record.updated_at.year + 1)
        after = link_arrival(session, [b])
    with session_factory() as session:
        assert session.get(SourceRecord, a).customer_id == session.get(SourceRecord, b).customer_id
    assert after.merged == [before] or after.customer_ids[b] == before


def _arrival_beside_relink(session_factory, second_session_factory, known: list[dict], arriving_as: tuple[str, str],
                           arriving: dict):
    """The CRM's `known` records linked in both databases; then `arriving` linked on arrival in the first and by a
    relink in the second: both must give the same customers. The arrival's report."""
    for factory in (session_factory, second_session_factory):
        with factory.begin() as session:
            for n, fields in enumerate(known):
                add_record(session, "crm", f"C{n}", **fields)
            relink(session)
    with session_factory.begin() as session:
        report = link_arrival(session, [add_record(session, *arriving_as, **arriving)])
    with second_session_factory.begin() as session:
        add_record(session, *arriving_as, **arriving)
        relink(session)
    assert _partition(session_factory) == _partition(second_session_factory)
    return report


def test_a_namesake_by_sound_alone_at_a_busy_postcode_is_met_as_relink_meets_it(session_factory,
                                                                               second_session_factory):
    """At a postcode of many people, "Katherine Schmitt" shares no three letters of a name with "Catherine
    Chmit" and no identifier or birth date, only the names' sounds: relink's postcode block compares
    them, so arrival must read that record among the town's others, and decide as relink does."""
    town = [dict(first_name=first, last_name=last, postcode="18970", street=f"{n} rue des {last}")
            for n, (first, last) in enumerate((first, last) for first in ("Marie", "Jean", "Léa", "Hugo", "Inès")
                                              for last in ("Martin", "Bernard", "Dubois", "Moreau", "Lefèvre",
                                                           "Garnier", "Roux", "Fournier"))]
    town.append(dict(first_name="Catherine", last_name="Chmit", postcode="18970", street="4 allée des Tilleuls",
                     city="Sancergues", birth_date="1971-03-09"))
    arriving = dict(first_name="Katherine", last_name="Schmitt", postcode="18970", street="4 allee des tilleuls",
                    city="Sancergues", birth_date="1971-09-03")
    report = _arrival_beside_relink(session_factory, second_session_factory, town, ("web", "W1"), arriving)
    with second_session_factory() as session:
        linked = customer_of(session, "web", "W1") == customer_of(session, "crm", f"C{len(town) - 1}")
        queued = session.scalar(select(func.count()).select_from(MatchReview))
    assert linked or queued, "relink compares the two: the case is worth testing"
    assert report.reviews_queued == (0 if linked else queued)


def test_a_short_form_vouched_for_by_email_and_mobile_joins_on_arrival_as_in_relink(session_factory,
                                                                                  second_session_factory):
    """ "Guigui", a short form the nickname table does not know, arrives with Guillaume's own e-mail and
    mobile: arrival joins him to Guillaume's customer, as the batch relink does; Gabrielle at the same
    home, with the landline, stays apart in both."""
    known = [dict(first_name="Guillaume", last_name="Berger", email="guillaume.berger@orange.fr",
                  phone="+33612345678", postcode="69340", street="12 rue des Acacias", birth_date="1968-05-02"),
             dict(first_name="Gabrielle", last_name="Berger", email="gaby.berger@free.fr",
                  phone="+33478123456", postcode="69340", street="12 rue des Acacias")]
    arriving = dict(first_name="Guigui", last_name="Berger", email="guillaume.berger@orange.fr",
                    phone="+33612345678", postcode="69340")
    _arrival_beside_relink(session_factory, second_session_factory, known, ("pos", "P1"), arriving)
    with session_factory() as session:
        assert customer_of(session, "pos", "P1") == customer_of(session, "crm", "C0")
        assert customer_of(session, "crm", "C1") != customer_of(session, "crm", "C0")


def test_a_landline_beside_a_mobile_is_read_on_arrival_as_in_relink(session_factory, second_session_factory):
    """ "Jo Levé" at the till gives the home's landline; Joël Levé's CRM record, at the same postcode, has his
    mobile. A landline and a mobile are not compared (neither says the other is someone else): arrival
    joins Jo to Joël's customer, as the batch relink does. Two different mobiles would weigh against."""
    known = [dict(first_name="Joël", last_name="Levé", phone="+33653289546", postcode="55610",
                  street="58 rue Geneviève Martin")]
    arriving = dict(first_name="Jo", last_name="Levé", phone="+33416495200", postcode="55610")
    report = _arrival_beside_relink(session_factory, second_session_factory, known, ("pos", "P1"), arriving)
    with session_factory() as session:
        assert customer_of(session, "pos", "P1") == customer_of(session, "crm", "C0")
    assert report.reviews_queued == 0


def test_a_strong_pair_the_namesakes_other_records_contradict_is_reviewed_in_relink_and_apart_on_arrival(
        session_factory, second_session_factory):
    """Alice Fonouve of Langres (two records) and Alice Fonouve of Paris; Paris's second record arrives with
    her e-mail and her birth date typed day and month swapped, which reads as Langres's. Relink scores
    that record strongly with Langres's first (name and a swapped birth date) but, by average linkage,
    does not join the two customers: every other pair across them says two people; it asks instead.
    Arrival meets the record through Paris's e-mail and joins her: the same customers either way."""
    known = [dict(first_name="Alice", last_name="Fonouve", email="alice.fonouve@free.fr", phone="+33725527378",
                  birth_date="1991-10-04", street="6 chemin des Lilas", postcode="52460"),
             dict(first_name="Alice", last_name="Fonouve", email="alice.fonouve@free.fr",
                  street="6 chemin des Lilas", postcode="52460"),
             dict(first_name="Alice", last_name="Fonouve", email="afonouve@gmail.com", phone="+33741796422",
                  street="12 rue Pasteur", postcode="75011")]
    arriving = dict(first_name="Alice", last_name="Fonouve", email="afonouve@gmail.com", birth_date="1991-04-10")
    _arrival_beside_relink(session_factory, second_session_factory, known, ("web", "W1"), arriving)
    for factory in (session_factory, second_session_factory):
        with factory() as session:
            assert customer_of(session, "web", "W1") == customer_of(session, "crm", "C2")
            assert customer_of(session, "crm", "C0") == customer_of(session, "crm", "C1")
            assert customer_of(session, "crm", "C0") != customer_of(session, "crm", "C2")
    with second_session_factory() as session:
        assert session.scalar(select(func.count()).select_from(MatchReview)) == 1, "relink asks about the pair"


def test_a_nickname_learned_by_relink_is_read_on_arrival_as_in_relink(session_factory, second_session_factory,
                                                                     monkeypatch):
    """Relink learns from the base that "Kiki" is Christine (six households carry both names on one person's
    e-mail and mobile) and keeps it with the weights. Kiki arriving with Christine Moreau's loyalty card
    joins her customer on arrival, as the batch relink of the same records does; without the learned table
    the two names conflict and the card is a household's."""
    monkeypatch.setattr(resolution, "LEARN_FROM", 10)  # the table is learned with the weights; a small base
    surnames = ("Berger", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller")
    known = [dict(first_name=first, last_name=surname, email=f"{surname.lower()}@orange.fr",
                  phone=f"+3361234560{n}", postcode=f"3800{n}")
             for n, surname in enumerate(surnames) for first in ("Christine", "Kiki")]
    known.append(dict(first_name="Christine", last_name="Moreau", loyalty_id="FL123456789", postcode="69003",
                      street="3 rue Pasteur", birth_date="1971-03-02"))
    arriving = dict(first_name="Kiki", last_name="Moreau", loyalty_id="FL123456789", postcode="69003")
    _arrival_beside_relink(session_factory, second_session_factory, known, ("pos", "P1"), arriving)
    with session_factory() as session:
        assert ("christine", "kiki") in learned_model(session).first_name_aliases
        assert customer_of(session, "pos", "P1") == customer_of(session, "crm", f"C{len(known) - 1}")
