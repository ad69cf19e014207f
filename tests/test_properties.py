"""Property-based tests (hypothesis): the parsers and the customer search take anything a person or a
file could throw at them, and either answer or refuse cleanly, never crash."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from handlers.blockkit import escape
from handlers.payloads import parse_id
from handlers.lookup.commands import clean_query
from store.db import make_engine, make_session_factory, migrate
from store.digest_runs import parse_time, parse_weekdays, weekdays_of
from store.importing.fields import RowRejected
from store.importing.people import parse_person
from store.kpi_query import MAX_PERIOD_DAYS, KpiQueryError, parse_kpi_query
from store.models import Customer, CustomerIdentifier
from store.normalize import fold, normalise_email, normalise_phone
from store.search import find_customers

TODAY = dt.date(2026, 11, 26)
# Text as people type it: any script, emoji, control characters, Slack markup and SQL fragments.
WORDS = st.sampled_from(["me", "moi", "team", "équipe", "all", "store", "magasin", "week", "month", "mois",
                         "today", "last", "7", "30", "days", "jours", "by", "par", "employee", "channel", "day",
                         "2026-11", "2026-13", "2026-01-01..2026-02-01", "<@U0LEA>", "<!channel>", "'; DROP",
                         "Paris", "王", "👠", "\x00", "..", "-", "OR 1=1"])
PHRASES = st.lists(WORDS, max_size=8).map(" ".join)
ANY_TEXT = st.one_of(st.text(max_size=300), PHRASES)


@given(ANY_TEXT)
@settings(max_examples=400, deadline=None)
def test_kpi_query_parser_answers_or_explains(text):
    try:
        query = parse_kpi_query(text, today=TODAY)
    except KpiQueryError as error:
        assert error.key.startswith("kpi.")
        return
    period = query.period
    assert period.start < period.end and (period.end - period.start).days <= MAX_PERIOD_DAYS


@given(st.text(max_size=40))
def test_digest_time_is_a_valid_clock_time_or_none(text):
    value = parse_time(text)
    if value is not None:
        assert dt.time.fromisoformat(value) and len(value) == 5


@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "lun", "ven", "-", ",", "x"]), max_size=6).map("".join)))
def test_digest_days_are_weekdays_or_none(text):
    value = parse_weekdays(text)
    if value is not None:
        assert weekdays_of(value) and weekdays_of(value) <= set(range(7))


@given(st.text(max_size=120))
def test_email_normalisation_is_idempotent_or_refuses(text):
    try:
        email = normalise_email(text)
    except ValueError:
        return
    assert email is None or (normalise_email(email) == email and email == email.strip().lower() and "@" in email)


@given(st.one_of(st.text(alphabet="0123456789 +-.()/", max_size=25), st.text(max_size=25)))
@settings(max_examples=300)
def test_phone_normalisation_gives_e164_or_refuses(text):
    try:
        phone = normalise_phone(text)
    except ValueError:
        return
    if phone is not None:
        assert phone.startswith("+") and phone[1:].isdigit() and normalise_phone(phone) == phone


ROW_VALUE = st.one_of(st.none(), st.text(max_size=60), st.integers(), st.floats(allow_nan=True), st.booleans(),
                      st.lists(st.text(max_size=5), max_size=2), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2))


@given(st.dictionaries(st.sampled_from(["source_id", "first_name", "last_name", "email", "phone", "birth_date",
                                        "city", "country", "loyalty_tier", "updated_at", "extra", ""]),
                       ROW_VALUE, max_size=10))
@settings(max_examples=400, deadline=None)
def test_import_row_is_parsed_or_rejected_with_a_reason(row):
    try:
        values = parse_person(row, today=TODAY)
    except RowRejected as problem:
        assert str(problem)
        return
    assert values["source_id"] and values["content_hash"]
    assert values["email"] is None or normalise_email(values["email"]) == values["email"]


@given(ANY_TEXT)
def test_clean_query_and_escape_never_leave_live_markup(text):
    assert "<" not in escape(text) and ">" not in escape(text)
    cleaned = clean_query(text)
    assert cleaned == cleaned.strip()


@given(st.one_of(st.text(max_size=30), st.integers(), st.none(), st.booleans(), st.floats()))
def test_parse_id_gives_a_storable_positive_id_or_none(value):
    parsed = parse_id(value)
    assert parsed is None or 0 < parsed < 2**31


# ---- the search, over a real database ----------------------------------------------------------

PEOPLE = [("Jeanne", "Dupont", "jeanne.dupont@example.com", "+33611223344", "active"),
          ("Jean", "Dupond", "jean.dupond@example.org", "+33622334455", "active"),
          ("Hélène", "Lefèvre", "helene@example.fr", "+33633445566", "active"),
          ("Zhang", "Wei", "zhang.wei@example.cn", "+8613812345678", "active"),
          ("Oğuz", "Çelik", "oguz@example.tr", "+905321234567", "active"),
          ("Jeanne", "Dupont", "old.jeanne@example.com", "+33699887766", "erased"),
          ("Marie", "Curie", "marie@example.com", "+33644556677", "merged")]


@pytest.fixture(scope="module")
def search_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('props') / 'search.db'}"
    migrate(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    ids = {}
    with factory.begin() as session:
        for first, last, email, phone, status in PEOPLE:
            customer = Customer(first_name=first, last_name=last, search_name=fold(f"{first} {last}"),
                                email=email, phone=phone, status=status)
            session.add(customer)
            session.flush()
            session.add_all([CustomerIdentifier(customer_id=customer.id, kind="email", value=email),
                             CustomerIdentifier(customer_id=customer.id, kind="phone", value=phone)])
            ids[email] = customer.id
    yield factory, ids
    engine.dispose()


SEARCH_TEXT = st.one_of(st.text(max_size=80), PHRASES,
                        st.sampled_from([p[0] for p in PEOPLE] + [p[1] for p in PEOPLE] + ["#1", "#99999999999999999999999",
                                         "9" * 30, "%", "_", "jeanne%", "' OR 1=1 --", "@", "a@b", "+33"]))


@given(text=SEARCH_TEXT, limit=st.integers(min_value=1, max_value=20))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_search_never_raises_and_returns_active_customers_within_limit(search_db, text, limit):
    factory, _ = search_db
    with factory() as session:
        result = find_customers(session, text, limit=limit)
        assert len(result.candidates) <= limit
        ids = [c.customer_id for c in (*result.candidates, *result.suggestions)]
        statuses = set(session.scalars(select(Customer.status).where(Customer.id.in_(ids)))) if ids else set()
    assert statuses <= {"active"}


@given(person=st.sampled_from([p for p in PEOPLE if p[4] == "active"]), kind=st.sampled_from(["email", "phone"]),
       shout=st.booleans(), pad=st.sampled_from(["", " ", "  \t"]))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_exact_identifier_finds_that_customer(search_db, person, kind, shout, pad):
    factory, ids = search_db
    value = person[2] if kind == "email" else person[3]
    if kind == "email" and shout:
        value = value.upper()
    if kind == "phone" and shout and value.startswith("+33"):
        national = "0" + value[3:]
        value = " ".join(national[i:i + 2] for i in range(0, 10, 2))  # as typed in France: 06 11 22 33 44
    with factory() as session:
        result = find_customers(session, pad + value + pad, limit=5)
    assert result.exact and result.best.customer_id == ids[person[2]]


@given(st.sampled_from([p for p in PEOPLE if p[4] != "active"]))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_erased_and_merged_people_are_never_found_by_their_old_identifiers(search_db, person):
    factory, ids = search_db
    with factory() as session:
        for value in (person[2], person[3]):
            result = find_customers(session, value, limit=5)
            assert ids[person[2]] not in [c.customer_id for c in result.candidates]

