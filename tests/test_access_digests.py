"""A deactivated employee gets no morning digest (their colleagues still do), gets it again once
reactivated, and deactivating someone keeps their history: the team's figures do not change."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from store.digest_runs import due_digests
from store.employees import set_active
from store.kpi import ScopeFilter, figures
from store.kpi_query import Period
from store.models import Employee, Interaction
from tests.support.world import count_written_history
from tests.test_scheduler import MORNING, Clock, add_people, dms, sender
from tests.test_scheduler import settings  # noqa: F401 - the fixture, used by name

PARIS = ZoneInfo("Europe/Paris")


def test_no_digest_while_deactivated_and_back_once_reactivated(settings,  # noqa: F811 - the imported fixture
                                                               session_factory, slack):
    add_people(session_factory, slack, 3)
    with session_factory.begin() as session:
        set_active(session, "U0001", False, actor="cli:it.admin", via="cli")
    digests, engine = sender(settings, Clock(MORNING))
    try:
        digests.tick()
        assert set(dms(slack)) == {"D0000", "D0002", "DBOSS"}  # everyone due but the one who left
        with session_factory.begin() as session:
            set_active(session, "U0001", True, actor="cli:it.admin", via="cli")
        digests.tick()  # the same morning: the digest not sent while they were away goes now, once
        assert dms(slack) == {"D0000": 1, "D0001": 1, "D0002": 1, "DBOSS": 1}
    finally:
        engine.dispose()


def test_deactivated_after_the_tick_chose_them_gets_nothing(settings,  # noqa: F811 - the imported fixture
                                                           session_factory, slack):
    add_people(session_factory, slack, 2, manager=False)
    digests, engine = sender(settings, Clock(MORNING))
    try:
        with session_factory() as session:
            due = due_digests(session, now=MORNING, default_time=settings.digest_default_time,
                              default_timezone=settings.default_timezone)
        assert len(due) == 2
        with session_factory.begin() as session:  # another process deactivates U0001 meanwhile
            set_active(session, "U0001", False, actor="cli:it.admin", via="cli")
        statuses = [digests.send_one(item, now=MORNING) for item in due]
        assert sorted(statuses) == ["empty", "sent"]
        assert set(dms(slack)) == {"D0000"}
    finally:
        engine.dispose()


def test_deactivating_keeps_the_history_the_team_figures_count(session_factory, slack):
    add_people(session_factory, slack, 2, manager=False)
    with session_factory.begin() as session:
        for employee in session.scalars(select(Employee)):
            for day in (2, 3, 4):
                session.add(Interaction(employee_id=employee.id, team_id=employee.team_id,
                                        store_id=employee.store_id, channel="store", type="advice",
                                        outcome="resolved", created_at=dt.datetime(2026, 3, day, 10, 0)))
        count_written_history(session)  # into the KPI rollup, as the importers do
        team_id = employee.team_id
    scope, period = ScopeFilter("team", "Floor", team_id=team_id), Period("range", dt.date(2026, 3, 1), dt.date(2026, 3, 8))

    def team_interactions() -> int:
        with session_factory() as session:
            return figures(session, scope, period, PARIS, now=MORNING).interactions

    assert team_interactions() == 6
    with session_factory.begin() as session:
        set_active(session, "U0001", False, actor="cli:it.admin", via="cli")
    assert team_interactions() == 6
