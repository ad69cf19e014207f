"""The /kpi argument parser: what users type, in English and French, and clear errors."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from handlers.i18n import has_key
from store.kpi_query import (
    MAX_PERIOD_DAYS,
    Grouping,
    KpiQueryError,
    Period,
    PeriodKind,
    Scope,
    ScopeKind,
    parse_kpi_query,
)

TODAY = dt.date(2026, 3, 11)  # a Wednesday


def parse(text):
    return parse_kpi_query(text, today=TODAY)


def test_defaults_are_me_this_week():
    query = parse("")
    assert query.scope == Scope(kind=ScopeKind.ME)
    assert (query.period.start, query.period.end) == (dt.date(2026, 3, 9), dt.date(2026, 3, 12))
    assert query.group_by is None


@pytest.mark.parametrize("text, kinds", [
    ("magasin Lyon 30 derniers jours par canal", (ScopeKind.STORE, PeriodKind.LAST_DAYS, Grouping.CHANNEL)),
    ("<@U1> 2026-02 by employee", (ScopeKind.EMPLOYEE, PeriodKind.MONTH_OF, Grouping.EMPLOYEE)),
    ("tous hier par jour", (ScopeKind.ALL, PeriodKind.TODAY, Grouping.DAY)),
])
def test_scope_period_and_grouping_come_back_as_their_enum_members(text, kinds):
    query = parse(text)
    scope, period, group = kinds
    assert (query.scope.kind, query.period.kind, query.group_by) == kinds
    assert query.scope.kind is scope and query.period.kind is period and query.group_by is group


@pytest.mark.parametrize("text, scope", [
    ("team", Scope(kind=ScopeKind.TEAM)), ("équipe", Scope(kind=ScopeKind.TEAM)), ("moi", Scope(kind=ScopeKind.ME)), ("all", Scope(kind=ScopeKind.ALL)),
    ("<@U123ABC|léa>", Scope(kind=ScopeKind.EMPLOYEE, slack_user_id="U123ABC")), ("@lea", Scope(kind=ScopeKind.EMPLOYEE, name="lea")),
    ("store Paris Rivoli month", Scope(kind=ScopeKind.STORE, name="Paris Rivoli")),
    ("magasin Lyon by day", Scope(kind=ScopeKind.STORE, name="Lyon")),
])
def test_scopes(text, scope):
    assert parse(text).scope == scope


@pytest.mark.parametrize("text, start, end", [
    ("today", "2026-03-11", "2026-03-12"), ("aujourd'hui", "2026-03-11", "2026-03-12"),
    ("yesterday", "2026-03-10", "2026-03-11"), ("week", "2026-03-09", "2026-03-12"),
    ("month", "2026-03-01", "2026-03-12"), ("mois", "2026-03-01", "2026-03-12"),
    ("last 30 days", "2026-02-10", "2026-03-12"), ("30 derniers jours", "2026-02-10", "2026-03-12"),
    ("2026-02", "2026-02-01", "2026-03-01"), ("2025-12", "2025-12-01", "2026-01-01"),
    ("2026-01-05..2026-01-11", "2026-01-05", "2026-01-12"),
])
def test_periods(text, start, end):
    period = parse(text).period
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


def test_previous_period_has_the_same_length():
    month = parse("2026-02").period
    assert (month.previous.start, month.previous.end) == (dt.date(2026, 1, 4), dt.date(2026, 2, 1))
    week = parse("week").period
    assert (week.previous.start, week.previous.end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 5))


@pytest.mark.parametrize("text, group", [("by employee", "employee"), ("par canal", "channel"),
                                         ("by type", "type"), ("par jour", "day")])
def test_groupings(text, group):
    assert parse(f"team month {text}").group_by == group


@pytest.mark.parametrize("text, key", [
    ("banana", "kpi.error.unknown_word"), ("2026-13", "kpi.error.bad_month"),
    ("2026-03-10..2026-03-01", "kpi.error.range_backwards"), ("2026-02-30..2026-03-01", "kpi.error.bad_date"),
    ("2025-01-01..2026-06-01", "kpi.error.too_long"), ("week month", "kpi.error.two_periods"),
    ("me team", "kpi.error.two_scopes"), ("by colour", "kpi.error.bad_group"), ("store", "kpi.error.store_name_missing"),
    ("last few days", "kpi.error.bad_last"), ("by day by type", "kpi.error.two_groups"), ("2026..x", "kpi.error.bad_range"),
])
def test_errors_name_the_problem_and_exist_in_the_catalog(text, key):
    with pytest.raises(KpiQueryError) as error:
        parse(text)
    assert error.value.key == key
    assert has_key(key)


words = st.sampled_from(["me", "team", "week", "month", "today", "by", "day", "store", "last", "30", "days",
                         "2026-02", "2026-01-01..2026-01-31", "@x", "<@U1>", "par", "jour", "xyz", "..", "-"])


@given(st.lists(words, max_size=8))
def test_any_input_parses_or_fails_with_a_catalog_error(tokens):
    try:
        query = parse(" ".join(tokens))
    except KpiQueryError as error:
        assert has_key(error.key)
    else:
        assert 1 <= query.period.days <= MAX_PERIOD_DAYS
        assert query.period.previous.days == query.period.days


@given(st.dates(dt.date(2001, 1, 1), dt.date(2098, 12, 31)), st.integers(0, 365))
def test_any_valid_range_is_inclusive_of_both_days(first, length):
    last = first + dt.timedelta(days=length)
    period = parse(f"{first.isoformat()}..{last.isoformat()}").period
    assert period == Period(kind=PeriodKind.RANGE, start=first, end=last + dt.timedelta(days=1))
    assert period.days == length + 1


@given(st.integers(2001, 2099), st.integers(1, 12))
def test_any_month_covers_exactly_that_month(year, month):
    period = parse(f"{year:04d}-{month:02d}").period
    assert period.start == dt.date(year, month, 1)
    assert period.end.day == 1 and (period.end - dt.timedelta(days=1)).month == month
