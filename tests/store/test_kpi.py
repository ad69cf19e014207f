"""Each KPI against a hand-computed expectation (and a plain SQL count) on a small dataset."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from store.kpi import KpiFigures, KpiRefused, Window, kpi_report
from store.kpi_query import parse_kpi_query
from tests.store.kpi_fixtures import NOW, TODAY, Viewer, build_dataset


@pytest.fixture
def data(session_factory):
    return build_dataset(session_factory)


def report(session_factory, viewer, query):
    with session_factory() as session:
        return kpi_report(session, viewer, parse_kpi_query(query, today=TODAY), now=NOW)


def test_team_week_to_date_against_hand_computed_figures(session_factory, data):
    result = report(session_factory, data.nina, "team week")
    assert result.current == KpiFigures(
        interactions=4, customers=2, first_contacts=1, resolved_first_contacts=1, repeat_contacts=2,
        purchases_within_7d=3, followups_created=3, followups_completed=2, followups_overdue=1,
        median_completion_hours=99.0,
    )
    assert result.current.fcr_rate == 1.0
    # Week-to-date (Mon-Wed) is compared with Mon-Wed of the week before.
    assert (result.period.previous.start, result.period.previous.end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 5))
    assert result.previous == KpiFigures(
        interactions=1, customers=1, first_contacts=1, resolved_first_contacts=1, repeat_contacts=0,
        purchases_within_7d=1, followups_created=1, followups_completed=0, followups_overdue=1,
        median_completion_hours=None,
    )


def test_my_figures_count_only_my_interactions(session_factory, data):
    result = report(session_factory, data.lea, "me week")
    assert (result.current.interactions, result.current.customers, result.current.repeat_contacts,
            result.current.purchases_within_7d, result.current.followups_overdue) == (2, 1, 1, 2, 1)


def test_period_edges_are_local_midnights(session_factory, data):
    # Monday 9 March in Paris starts at 23:00 UTC on the 8th: i4 (23:00) is in, i3 (22:59) is not.
    monday = report(session_factory, data.nina, "team 2026-03-09")
    assert monday.current.interactions == 1
    sunday = report(session_factory, data.nina, "team 2026-03-08")
    assert sunday.current.interactions == 1
    # Seen from UTC the same rows fall on other days: both on the 8th.
    utc_viewer = Viewer(id=data.nina.id, role="manager", team_id=data.team_id, store_id=data.store_id, timezone="UTC")
    assert report(session_factory, utc_viewer, "team 2026-03-08").current.interactions == 2
    assert report(session_factory, utc_viewer, "team 2026-03-09").current.interactions == 1  # i1 at 23:30


def test_by_day_groups_add_up_and_use_local_days(session_factory, data):
    result = report(session_factory, data.nina, "team week by day")
    assert [(g.key, g.figures.interactions) for g in result.groups] == [
        ("2026-03-09", 1), ("2026-03-10", 3), ("2026-03-11", 0)]
    assert sum(g.figures.interactions for g in result.groups) == result.current.interactions


def test_by_channel_and_by_employee(session_factory, data):
    by_channel = report(session_factory, data.nina, "team week by channel")
    assert {g.key: g.figures.interactions for g in by_channel.groups} == {"store": 2, "phone": 2}
    by_employee = report(session_factory, data.nina, "team week by employee")
    assert {g.key: g.figures.interactions for g in by_employee.groups} == {"Léa Martin": 2, "Marc Petit": 2}


def test_figures_agree_with_plain_sql(session_factory, data):
    result = report(session_factory, data.nina, "team last 30 days")
    window = Window.of(result.period, ZoneInfo("Europe/Paris"))
    with session_factory() as session:
        count, customers = session.execute(text(
            "SELECT count(*), count(DISTINCT customer_id) FROM interactions "
            "WHERE team_id = :team AND created_at >= :start AND created_at < :end"),
            {"team": data.team_id, "start": window.start, "end": window.end}).one()
    assert (result.current.interactions, result.current.customers) == (count, customers) == (6, 2)


@pytest.mark.parametrize("who, query, reason", [
    ("lea", "team", "kpi.refused.team_associate"),
    ("lea", "<@U_MARC>", "kpi.refused.other_associate"),
    ("lea", "store Paris Rivoli", "kpi.refused.store_associate"),
    ("nina", "<@U_OMAR>", "kpi.refused.person"),
    ("nina", "store Lyon", "kpi.refused.not_your_store"),
    ("nina", "all", "kpi.refused.all"),
    ("nina", "<@U_NOBODY>", "kpi.refused.person"),  # unknown and not allowed: one answer
    ("lea", "<@U_NOBODY>", "kpi.refused.other_associate"),
    ("ada", "<@U_NOBODY>", "kpi.refused.unknown_person"),  # admins see everyone: nothing to hide
    ("ada", "store Atlantis", "kpi.refused.unknown_store"),
])
def test_refusals_say_why(session_factory, data, who, query, reason):
    with pytest.raises(KpiRefused) as refused:
        report(session_factory, getattr(data, who), query)
    assert refused.value.key == reason


def test_who_sees_what(session_factory, data):
    assert report(session_factory, data.nina, "<@U_MARC> week").current.interactions == 2
    assert report(session_factory, data.nina, "@marc week").current.interactions == 2
    assert report(session_factory, data.nina, "store paris rivoli week").current.interactions == 4
    assert report(session_factory, data.ada, "all week").current.interactions == 4
    assert report(session_factory, data.ada, "all 2026-03-02..2026-03-04").current.interactions == 2
    assert report(session_factory, data.lea, "<@U_LEA>").scope.kind == "me"


def test_median_completion_time_keeps_fractions_of_a_second(session_factory, data):
    from store.models import FollowUp

    with session_factory.begin() as session:
        for created, completed in [("2026-03-10T08:00:00.250000", "2026-03-10T09:30:00.750000"),  # 1.5 h + 0.5 s
                                   ("2026-03-10T08:00:00", "2026-03-10T08:00:00.000001")]:  # 1 microsecond
            session.add(FollowUp(assignee_id=data.omar.id, due_date=dt.date(2026, 3, 10), status="done",
                                 created_at=dt.datetime.fromisoformat(created),
                                 completed_at=dt.datetime.fromisoformat(completed)))
    day = report(session_factory, data.omar, "me 2026-03-10").current
    assert day.followups_completed == 2
    assert day.median_completion_hours == (5400.5 + 0.000001) / 2 / 3600
