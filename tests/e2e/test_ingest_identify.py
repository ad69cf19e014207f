"""identify over HTTP, applied by the inbox workers, shown on the card an employee opens in Slack."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.ingest import appliers_for, group_appliers_for
from localslack.slack_driver import HttpTransport, SlackDriver
from store.gdpr import erase_customer
from store.importing.people import import_people
from store.models import Customer, InboxMessage, MatchReview, Order, SourceRecord
from store.resolution import relink
from store.survivorship import GOLDEN_FIELDS, build_golden, load_records
from store.vocabulary import CustomerStatus, InboxState
from tests.e2e.conftest import SIGNING_SECRET
from tests.support.ingest import SEGMENT_SOURCE, start_live


@pytest.fixture
def live(settings, engine, session_factory, employee):
    employee("U0LEA", "Léa Martin", locale="en")
    world = start_live(settings, engine, session_factory)
    yield world
    world.stop()


@pytest.fixture
def slack_bot(live, slack):
    return SlackDriver(HttpTransport(live.url), slack, SIGNING_SECRET, settle=live.server.settle)


def _card(slack_bot, slack, query: str):
    before = slack.mark()
    slack_bot.command("/customer", query, user="U0LEA")
    return slack.wait_for("command_response", since=before)


def _active_customers(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(Customer)
                              .where(Customer.status == CustomerStatus.ACTIVE)) or 0


def test_an_identify_becomes_a_customer_on_the_card(live, slack_bot, slack, session_factory):
    answer = live.identify({"userId": "u-42", "anonymousId": "anon-1", "messageId": "id-1", "traits": {
        "firstName": "Hélène", "lastName": "Marchal", "email": "Helene.Marchal@Example.com", "phone": "06 12 34 56 78",
        "birthday": "1984-03-09", "address": {"street": "3 rue Neuve", "postalCode": "69002", "city": "Lyon",
                                             "country": "FR"}, "shoeSize": "39"}})
    assert answer.status == 200
    assert live.work() == 1
    with session_factory() as session:
        record = session.scalars(select(SourceRecord)).one()
        assert (record.source, record.source_id, record.email, record.phone) == (
            SEGMENT_SOURCE, "u-42", "helene.marchal@example.com", "+33612345678")
        assert record.attributes == {"shoeSize": "39"} and record.customer_id is not None
        assert session.scalars(select(InboxMessage.state)).one() == InboxState.APPLIED
    card = _card(slack_bot, slack, "helene.marchal@example.com")
    assert "Hélène Marchal" in card.text


def test_a_new_email_for_a_known_user_id_is_the_same_person(live, slack_bot, slack, session_factory):
    live.identify({"userId": "u-42", "traits": {"firstName": "Hélène", "lastName": "Marchal",
                                                "email": "helene@example.com"}, "timestamp": "2026-11-01T10:00:00Z"})
    live.work()
    live.identify({"userId": "u-42", "traits": {"email": "h.marchal@example.net"}, "timestamp": "2026-11-02T10:00:00Z"})
    live.work()
    assert _active_customers(session_factory) == 1
    with session_factory() as session:
        record = session.scalars(select(SourceRecord)).one()
        assert (record.first_name, record.email) == ("Hélène", "h.marchal@example.net")
    assert "Hélène Marchal" in _card(slack_bot, slack, "h.marchal@example.net").text


def test_an_older_identify_arriving_late_does_not_overwrite_newer_traits(live, session_factory):
    live.identify({"userId": "u-1", "traits": {"lastName": "Marchal", "email": "new@example.com"},
                   "timestamp": "2026-11-02T10:00:00Z"})
    live.identify({"userId": "u-1", "traits": {"email": "old@example.com", "firstName": "Hélène"},
                   "timestamp": "2026-11-01T10:00:00Z"})
    live.work()
    with session_factory() as session:
        record = session.scalars(select(SourceRecord)).one()
        assert (record.email, record.first_name) == ("new@example.com", "Hélène")


def test_an_identify_joins_the_customer_the_shop_already_knows(live, session_factory):
    with session_factory.begin() as session:
        import_people(session, source="pos", rows=[(2, {"source_id": "P-9", "first_name": "Hélène",
                                                        "last_name": "Marchal", "email": "helene@example.com",
                                                        "birth_date": "1984-03-09", "postcode": "69002"})])
        relink(session)
    assert _active_customers(session_factory) == 1
    live.identify({"userId": "u-42", "traits": {"name": "Helene Marchal", "email": "helene@example.com"}})
    live.work()
    assert _active_customers(session_factory) == 1
    with session_factory() as session:
        owners = set(session.scalars(select(SourceRecord.customer_id)))
        assert len(owners) == 1


def test_an_erased_person_is_not_brought_back(live, session_factory):
    live.identify({"userId": "u-42", "traits": {"firstName": "Hélène", "lastName": "Marchal"}})
    live.work()
    with session_factory.begin() as session:
        customer_id = session.scalars(select(SourceRecord.customer_id)).one()
        erase_customer(session, customer_id, actor="test")
    live.identify({"userId": "u-42", "traits": {"firstName": "Hélène", "email": "helene@example.com"}})
    live.work()
    with session_factory() as session:
        record = session.scalars(select(SourceRecord)).one()
        assert record.first_name is None and record.email is None
        states = list(session.execute(select(InboxMessage.state, InboxMessage.reason).order_by(InboxMessage.id)))
        assert states[-1] == (InboxState.REJECTED, "identify.erased")
        assert _active_customers(session_factory) == 0


def test_malformed_traits_are_rejected_and_change_nothing(live, session_factory):
    live.identify({"userId": "u-42", "traits": {"email": "not an email", "firstName": "Hélène"}})
    live.work()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SourceRecord)) == 0
        assert session.execute(select(InboxMessage.state, InboxMessage.reason)).one() == (
            InboxState.REJECTED, "identify.bad_traits")


def test_kept_when_the_clock_says_the_event_is_old(live, session_factory):
    """received_at is ours; event_at, the sender's corrected time, only orders identify updates."""
    live.identify({"userId": "u-1", "traits": {"lastName": "Marchal"}, "timestamp": "2020-01-01T00:00:00Z"})
    live.work()
    with session_factory() as session:
        record = session.scalars(select(SourceRecord)).one()
        assert record.source_updated_at == dt.datetime(2020, 1, 1)


@pytest.mark.parametrize("merge_threshold", [None, 1.0])
def test_identity_on_arrival_reads_the_operators_match_thresholds(settings, engine, session_factory,
                                                                  merge_threshold):
    """FRONTLINE_MATCH_MERGE applies to records linked on arrival as to the batch relink: at 1.0 only a
    deterministic link merges by itself, so the same person under two userIds and two e-mails (a fuzzy
    match: name, birth date, address) waits for a person's review instead. Both arrive in one worker step:
    their records are linked together, in one pass."""
    settings = replace(settings, match_merge_threshold=merge_threshold)
    world = start_live(settings, engine, session_factory, appliers=appliers_for(settings),
                       group_appliers=group_appliers_for(settings))
    try:
        person = {"firstName": "Hélène", "lastName": "Marchal", "birthday": "1984-03-09",
                  "address": {"street": "3 rue Neuve", "postalCode": "69002", "city": "Lyon"}}
        world.identify({"userId": "u-1", "traits": {**person, "email": "helene@example.com"}})
        world.identify({"userId": "u-2", "traits": {**person, "email": "h.marchal@example.net"}})
        assert world.work() == 2
    finally:
        world.stop()
    with session_factory() as session:
        reviews = session.scalar(select(func.count()).select_from(MatchReview)) or 0
    assert (_active_customers(session_factory), reviews) == ((1, 0) if merge_threshold is None else (2, 1))


@pytest.mark.parametrize("merge_threshold", [None, 1.0])
def test_a_shop_customer_links_at_the_operators_match_thresholds_too(settings, engine, session_factory,
                                                                     merge_threshold):
    """The thresholds hold whichever source brings the record: the website's identify (no phone, its own
    e-mail) and the shop's customers/create for the same name and home (another e-mail) are a fuzzy match,
    merged at the default threshold, left to a person's review at 1.0."""
    settings = replace(settings, match_merge_threshold=merge_threshold)
    world = start_live(settings, engine, session_factory, appliers=appliers_for(settings),
                       group_appliers=group_appliers_for(settings))
    try:
        world.identify({"userId": "u-1", "traits": {
            "firstName": "Hélène", "lastName": "Dupont", "email": "helene.d@example.net",
            "address": {"street": "12 rue de la République", "postalCode": "69002", "city": "Lyon"}}})
        assert world.work() == 1
        customer = {"id": 7380225556707, "email": "helene.dupont@example.com", "first_name": "Hélène",
                    "last_name": "Dupont", "phone": None, "updated_at": "2026-03-01T10:00:00+01:00",
                    "default_address": {"address1": "12 rue de la République", "city": "Lyon", "zip": "69002",
                                        "country": "France", "country_code": "FR"}}
        assert world.webhook("customers/create", customer, event_id="evt-thresholds").status == 200
        assert world.work() == 1
    finally:
        world.stop()
    with session_factory() as session:
        reviews = session.scalar(select(func.count()).select_from(MatchReview)) or 0
    assert (_active_customers(session_factory), reviews) == ((1, 0) if merge_threshold is None else (2, 1))


def _helene_known_at_the_till(session_factory) -> dict:
    """Hélène as the shop's till knows her (phone as of 5 November), linked; the website's traits for her, with
    another phone."""
    with session_factory.begin() as session:
        import_people(session, source="pos", rows=[(2, {"source_id": "P-9", "first_name": "Hélène",
                                                        "last_name": "Marchal", "email": "helene@example.com",
                                                        "phone": "0611111111", "updated_at": "2026-11-05T10:00:00"})])
        relink(session)
    return {"firstName": "Hélène", "lastName": "Marchal", "email": "helene@example.com", "phone": "0622222222"}


def test_the_same_traits_sent_again_keep_the_person_and_make_their_values_the_newest(live, session_factory):
    # The shop's till knows her phone as of 5 November; the website said another on 1 November, then sends the
    # same traits again on the 10th (sites identify on every visit): the site's phone is now the newest.
    traits = _helene_known_at_the_till(session_factory)
    live.identify({"userId": "u-42", "traits": traits, "timestamp": "2026-11-01T10:00:00Z"})
    live.work()
    with session_factory() as session:
        assert session.scalars(select(Customer.phone)).one() == "+33611111111"
    live.identify({"userId": "u-42", "traits": traits, "timestamp": "2026-11-10T10:00:00Z"})
    live.work()
    assert _active_customers(session_factory) == 1
    with session_factory() as session:
        assert len(set(session.scalars(select(SourceRecord.customer_id)))) == 1
        assert session.scalars(select(Customer.phone).where(Customer.status == CustomerStatus.ACTIVE)).one() == \
            "+33622222222"
        assert set(session.scalars(select(InboxMessage.state))) == {InboxState.APPLIED}


def _golden_as_derived(session, customer_id: int) -> dict:
    """The customer's golden values as survivorship derives them from the records (the definition)."""
    records = load_records(session, [customer_id])[customer_id]
    first_order = session.scalar(select(func.min(Order.ordered_at)).where(Order.customer_id == customer_id))
    golden = build_golden(records, first_order=first_order and first_order.date())
    return {**golden.values, "provenance": golden.provenance, "search_name": golden.search_name}


def _golden_stored(session, customer_id: int) -> dict:
    customer = session.get(Customer, customer_id)
    return {name: getattr(customer, name) for name in (*GOLDEN_FIELDS, "provenance", "search_name")}


def test_a_repeated_identify_that_moves_the_golden_record_moves_it(live, session_factory):
    # Sites send the same traits on every visit; most repeats change nothing but the time, and the golden record
    # is then left as it is. These repeats do change it: a later day (the web record's day is its customer_since
    # when nothing older is known), raw attributes survivorship reads (a sign-up date, a language), and a phone
    # that becomes the freshest of the customer's records.
    traits = _helene_known_at_the_till(session_factory)
    steps = [({"userId": "u-42", "traits": traits, "timestamp": "2026-11-01T10:00:00Z"},
              {"customer_since": dt.date(2026, 11, 1), "phone": "+33611111111", "preferred_language": None}),
             ({"userId": "u-42", "traits": traits, "timestamp": "2026-11-03T10:00:00Z"},
              {"customer_since": dt.date(2026, 11, 3), "phone": "+33611111111", "preferred_language": None}),
             ({"userId": "u-42", "traits": {**traits, "created_at": "2019-05-04", "language": "fr-FR"},
               "timestamp": "2026-11-04T10:00:00Z"},
              {"customer_since": dt.date(2019, 5, 4), "phone": "+33611111111", "preferred_language": "fr"}),
             ({"userId": "u-42", "traits": traits, "timestamp": "2026-11-10T10:00:00Z"},
              {"customer_since": dt.date(2019, 5, 4), "phone": "+33622222222", "preferred_language": "fr"}),
             ({"userId": "u-42", "traits": traits, "timestamp": "2026-11-10T11:00:00Z"},  # nothing moves
              {"customer_since": dt.date(2019, 5, 4), "phone": "+33622222222", "preferred_language": "fr"})]
    for message, expected in steps:
        live.identify(message)
        live.work()
        with session_factory() as session:
            customer_id = session.scalars(select(Customer.id).where(Customer.status == CustomerStatus.ACTIVE)).one()
            stored = _golden_stored(session, customer_id)
            assert {name: stored[name] for name in expected} == expected, message["timestamp"]
            assert stored == _golden_as_derived(session, customer_id)
    with session_factory.begin() as session:  # every golden record written is up to date: relink rebuilds none
        assert relink(session).customers_rebuilt == 0
