"""Company-wide follow-up figures (created, completed, overdue, median time to complete) agree with
their definitions row by row, from the rollup and from the raw rows (what a viewer in another time zone
gets).

Times sit on a 3-hour grid that passes through Paris midnights (23:00 UTC in winter), so follow-ups
created, due or completed exactly at a period's edge, zero-length completions and ties in the median
happen often: the edges the definitions fix. "Now" is taken mid-day (overdue as of a moment the
rollup's midnights do not reach) and exactly at midnight."""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from store import kpi_rollup, kpi_rules
from store.kpi import Window, kpi_report, local_midnight_utc
from store.kpi_query import parse_kpi_query
from store.models import Employee, FollowUp, KpiRollupState
from tests.store.kpi_fixtures import Viewer
from tests.support.world import add_store_and_team, count_written_history

PARIS = ZoneInfo("Europe/Paris")
TEXTS = ["all today", "all yesterday", "all week", "all month", "all 2026-02", "all 2026-03-01..2026-03-31",
         "all last 30 days", "all 2026-02-14", "all 2026-03-02..2026-03-04 by day"]


def _build(session_factory, seed: int):
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 31, 23, 0)  # midnight in Paris

    def moment(low: int = 0, high: int = 420) -> dt.datetime:
        return start + dt.timedelta(hours=3 * rng.randrange(low, high))  # to 22 March, 3-hour steps

    with session_factory.begin() as s:
        store, team = add_store_and_team(s, code="S1", name="Store one")
        people = [Employee(slack_user_id=f"U{i}", name=f"Person {i}", role="associate", team_id=team.id,
                           store_id=store.id, timezone="Europe/Paris", locale="en") for i in range(3)]
        admin = Employee(slack_user_id="U_ADMIN", name="Admin", role="admin", timezone="Europe/Paris", locale="en")
        s.add_all([*people, admin])
        s.flush()
        rows = []
        for _ in range(300):
            created = moment()
            due = (created + dt.timedelta(hours=1)).date() + dt.timedelta(days=rng.randrange(-3, 9))
            status = rng.choice(["open", "open", "done", "done", "done", "cancelled"])
            completed = created + dt.timedelta(hours=3 * rng.randrange(0, 40)) if status == "done" else None
            rows.append(FollowUp(assignee_id=rng.choice(people).id, due_date=due, status=status,
                                 created_at=created, completed_at=completed))
        # Today (20 March) before 10:00 UTC: one imported already overdue, one overdue closed since midnight.
        rows.append(FollowUp(assignee_id=people[1].id, due_date=dt.date(2026, 3, 18), status="open",
                             created_at=dt.datetime(2026, 3, 20, 2, 0)))
        rows.append(FollowUp(assignee_id=people[2].id, due_date=dt.date(2026, 3, 15), status="done",
                             created_at=dt.datetime(2026, 3, 10, 8, 0), completed_at=dt.datetime(2026, 3, 20, 5, 0)))
        # A done follow-up whose completion time was never recorded (an old row) counts as neither.
        rows.append(FollowUp(assignee_id=people[0].id, due_date=dt.date(2026, 2, 1), status="done",
                             created_at=start, completed_at=None))
        s.add_all(rows)
        count_written_history(s)
        facts = [(f.status, f.created_at, f.completed_at, f.due_date) for f in rows]
        return Viewer(id=admin.id, role="admin", team_id=None, store_id=None), facts


def _expected(facts, window: Window, as_of: dt.datetime, as_of_date: dt.date):
    """The figures by the definitions (store/kpi_rules.py), applied row by row."""
    created = sum(window.start <= c < window.end for _, c, _, _ in facts)
    durations = [kpi_rules.microseconds_between(done, c) for status, c, done, _ in facts
                 if kpi_rules.is_completed(status, done) and window.start <= done < window.end]
    overdue = sum(kpi_rules.is_overdue(*fact, as_of=as_of, as_of_date=as_of_date) for fact in facts)
    return created, len(durations), overdue, kpi_rules.median_hours(durations)


def _follow_up_figures(figures):
    return (figures.followups_created, figures.followups_completed, figures.followups_overdue,
            figures.median_completion_hours)


@pytest.mark.parametrize("now", [dt.datetime(2026, 3, 20, 10, 0), dt.datetime(2026, 3, 19, 23, 0)],
                         ids=["mid-day", "midnight"])
@pytest.mark.parametrize("seed", [1, 2])
def test_company_follow_up_figures_match_the_definitions_from_the_rollup_and_the_rows(session_factory, seed, now):
    admin, facts = _build(session_factory, seed)
    today = now.replace(tzinfo=dt.UTC).astimezone(PARIS).date()
    with session_factory() as session:
        assert kpi_rollup.verify(session).none
    for text in TEXTS:
        query = parse_kpi_query(text, today=today)
        reports = []
        for source in ("rollup", "raw rows"):
            with session_factory() as session:
                if source == "raw rows":
                    session.execute(delete(KpiRollupState))
                reports.append(kpi_report(session, admin, query, now=now))
                session.rollback()
        from_rollup, from_rows = reports
        for period, figures in [(query.period, from_rollup.current), (query.period.previous, from_rollup.previous)]:
            window = Window(start=local_midnight_utc(period.start, PARIS), end=local_midnight_utc(period.end, PARIS))
            as_of, as_of_date = min(window.end, now), min(period.end, today)
            assert _follow_up_figures(figures) == _expected(facts, window, as_of, as_of_date), (text, period)
        assert (from_rollup.current, from_rollup.previous) == (from_rows.current, from_rows.previous), text


def test_the_fixture_reaches_the_edges_it_is_meant_to(session_factory):
    """Guard for the test above: some follow-ups are overdue now, some completed since midnight, some
    created since midnight already overdue, and the median of some period is an average of two."""
    _, facts = _build(session_factory, 1)
    now, midnight, today = dt.datetime(2026, 3, 20, 10, 0), dt.datetime(2026, 3, 19, 23, 0), dt.date(2026, 3, 20)
    assert any(s == "done" and done is not None and midnight <= done < now and c < midnight and due < today
               for s, c, done, due in facts)
    assert any(s == "open" and midnight <= c < now and due < today for s, c, done, due in facts)
    assert any(s == "done" and done == c for s, c, done, due in facts)
    parities = set()
    for first, end in [(dt.date(2026, 2, 1), dt.date(2026, 3, 1)), (dt.date(2026, 3, 1), dt.date(2026, 4, 1)),
                       (dt.date(2026, 2, 14), dt.date(2026, 2, 15)), (dt.date(2026, 3, 19), dt.date(2026, 3, 20))]:
        window = Window(start=local_midnight_utc(first, PARIS), end=local_midnight_utc(end, PARIS))
        parities.add(_expected(facts, window, window.end, end)[1] % 2)
    assert parities == {0, 1}  # medians of one middle value and averages of two
