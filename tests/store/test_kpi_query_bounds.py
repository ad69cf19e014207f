"""/kpi arguments people can actually type: far-away dates, other scripts' digits, `store PAR`.

Each either parses into a query whose dates every later computation can handle, or fails with a
catalog message that says what is accepted. Pure: no database."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.i18n import has_key, t
from store.kpi_query import (
    FIRST_DAY,
    LAST_DAY,
    MAX_PERIOD_DAYS,
    KpiQuery,
    KpiQueryError,
    Scope,
    ScopeKind,
    parse_kpi_query,
)

TODAY = dt.date(2026, 3, 11)


def parse(text: str) -> KpiQuery:
    return parse_kpi_query(text, today=TODAY)


@pytest.mark.parametrize("text, key", [
    ("9999-12", "kpi.error.out_of_range"),
    ("0001-01-01", "kpi.error.out_of_range"),
    ("9999-12-30..9999-12-31", "kpi.error.out_of_range"),
    ("1999-12-31", "kpi.error.out_of_range"),
    ("0001-01", "kpi.error.out_of_range"),
    ("last ³ days", "kpi.error.bad_last"),
    ("³ derniers jours", "kpi.error.bad_last"),
    ("last ٣٠ days", "kpi.error.bad_last"),  # Arabic-Indic 30
    ("٢٠٢٦-٠٣", "kpi.error.unknown_word"),
    ("last 99999999999999999999999999 days", "kpi.error.too_long"),
    ("last 0 days", "kpi.error.bad_last"),
])
def test_bad_periods_get_a_message_saying_what_is_accepted(text, key):
    with pytest.raises(KpiQueryError) as error:
        parse(text)
    assert error.value.key == key
    for locale in ("en", "fr"):
        message = t(key, locale, **error.value.params)
        assert message and "{" not in message
    if key == "kpi.error.out_of_range":
        assert "2000-01-01" in t(key, "en", **error.value.params) and "2099-12-31" in t(key, "fr", **error.value.params)


def test_the_edges_of_the_range_are_accepted():
    assert parse("2000-01").period.start == FIRST_DAY
    assert parse("2099-12-01..2099-12-31").period.end == LAST_DAY + dt.timedelta(days=1)
    assert parse("2000-01-01").period.previous.start == dt.date(1999, 12, 31)


@pytest.mark.parametrize("text, store, group", [
    ("store PAR", "PAR", None),
    ("magasin PAR", "PAR", None),
    ("store par", "par", None),
    ("store PAR par employé", "PAR", "employee"),
    ("store Paris Rivoli by day", "Paris Rivoli", "day"),
    ("magasin Lyon par canal mois", "Lyon", "channel"),
    ("store BY", "BY", None),
])
def test_a_store_code_right_after_store_is_a_store_even_when_it_spells_by(text, store, group):
    query = parse(text)
    assert query.scope == Scope(kind=ScopeKind.STORE, name=store)
    assert query.group_by == group


def test_store_followed_by_a_grouping_still_asks_which_store():
    with pytest.raises(KpiQueryError) as error:
        parse("magasin par jour")
    assert error.value.key == "kpi.error.store_name_missing"


TOKENS = st.one_of(
    st.sampled_from(["me", "team", "week", "month", "today", "by", "par", "day", "jour", "store", "magasin", "last",
                     "derniers", "jours", "days", "30", "³", "٣", "9999-12", "0001-01-01", "9999-12-30..9999-12-31",
                     "2026-02-29", "2026-02", "2026-01-01..2026-01-31", "@h%", "@_", "<@U1>", "<!here>", "..", "…",
                     "9" * 30, "-1", "0", "PAR", "employé", "İ", "\u0000"]),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=8), st.dates(dt.date(2000, 6, 1), dt.date(2099, 6, 1)))
def test_the_parser_never_raises_anything_but_a_catalog_error(tokens, today):
    try:
        query = parse_kpi_query(" ".join(tokens), today=today)
    except KpiQueryError as error:
        assert has_key(error.key)
        for locale in ("en", "fr"):
            t(error.key, locale, **error.params)
    else:
        period = query.period
        assert 1 <= period.days <= MAX_PERIOD_DAYS
        # Every date a report computes from the query exists.
        assert period.previous.start >= dt.date.min + dt.timedelta(days=MAX_PERIOD_DAYS)
        assert period.end <= dt.date.max - dt.timedelta(days=MAX_PERIOD_DAYS)
        assert query.group_by in (None, "employee", "channel", "type", "day")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_parses_or_fails_with_a_catalog_error(text):
    try:
        parse(text)
    except KpiQueryError as error:
        assert has_key(error.key)
