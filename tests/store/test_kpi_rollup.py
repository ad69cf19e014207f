"""The daily KPI rollup stays exact through every way history changes (SQLite and PostgreSQL).

An admin's company-wide /kpi reads the rollup. Each step below changes history the way production
does (an import, a late import of an earlier contact, an order, its cancellation, a merge, its undo, a
logged interaction) and then checks three things an admin relies on: figures computed by hand, the
same report computed from the raw rows, and `frontline kpi check` finding nothing to fix."""
from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
import pytest
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.engine.interfaces import CacheStats

from bot.cli import main
from store import kpi_rollup
from store.db import MIGRATIONS_DIR, make_engine, make_session_factory, migrate
from store.employees import import_employees
from store.followups import add_follow_up, complete, snooze
from store.gdpr import erase_customer
from store.importing import import_interactions, import_orders, import_people, read_rows
from store.interactions import FollowUpInput, log_interaction
from store.kpi import KpiReport, kpi_report, warm_up
from store.kpi_query import parse_kpi_query
from store.merging import merge_customers, unmerge
from store.models import (
    Employee,
    FollowUp,
    FollowUpKpiFact,
    InteractionKpiFact,
    KpiDaily,
    KpiFollowUpDaily,
    KpiRollupState,
    SourceRecord,
)
from store.resolution import relink
from store.retention import purge_old_notes
from tests.store.kpi_fixtures import Viewer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
NOW = dt.datetime(2026, 3, 10, 9, 0)
TODAY = dt.date(2026, 3, 10)
WEEK = "2026-03-01..2026-03-07"
INTERACTIONS_HEADER = "source,source_id,external_id,employee_slack_id,channel,type,outcome,note,created_at\n"
ORDERS_HEADER = "source,source_id,order_number,ordered_at,channel,status,currency,sku,product_name,quantity,unit_price\n"


@pytest.fixture
def world(session_factory):
    """The fixture people (three web-shop customers among them) and staff, imported and linked."""
    with session_factory.begin() as session:
        import_people(session, source="webshop", rows=read_rows(FIXTURES / "people_webshop.csv"))
        import_employees(session, rows=read_rows(FIXTURES / "employees.csv"))
        relink(session)
    return session_factory


def _import(session_factory, tmp_path: Path, importer, header: str, *lines: str):
    path = tmp_path / f"rows-{importer.__name__}-{len(list(tmp_path.iterdir()))}.csv"
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")
    with session_factory.begin() as session:
        report = importer(session, rows=read_rows(path))
    assert not report.problems, report.problems


def _customer(session_factory, source_id: str) -> int:
    with session_factory() as session:
        return session.scalar(select(SourceRecord.customer_id).where(SourceRecord.source_id == source_id))


def _admin(session_factory, timezone: str = "Europe/Paris") -> Viewer:
    """A head-office admin (the fixture's admin row is refused for its time zone, so one is made up)."""
    return Viewer(id=999_999, role="admin", team_id=None, store_id=None, timezone=timezone)


def _report(session_factory, text: str, *, viewer: Viewer, raw: bool = False) -> KpiReport:
    with session_factory() as session:
        if raw:  # the same report from the raw rows: without the state row the rollup is not used
            session.execute(delete(KpiRollupState))
        report = kpi_report(session, viewer, parse_kpi_query(text, today=TODAY), now=NOW)
        session.rollback()
    return report


def _figures(report: KpiReport) -> tuple[int, ...]:
    f = report.current
    return (f.interactions, f.customers, f.first_contacts, f.resolved_first_contacts, f.repeat_contacts,
            f.purchases_within_7d)


def _manager(session_factory) -> Viewer:
    """Alice, manager of the Paris Opéra floor team in store PAR01 (Bob's team; Carl is in Lyon, Eve in no store)."""
    with session_factory() as session:
        alice = session.scalar(select(Employee).where(Employee.slack_user_id == "U0ALICE"))
        return Viewer(id=alice.id, role=alice.role, team_id=alice.team_id, store_id=alice.store_id,
                      timezone="Europe/Paris")


def _assert_exact(session_factory) -> None:
    """Rollup and raw rows agree for every scope it serves (company, store, team), grouping and period
    kind, and the rollup checks clean."""
    admin, manager = _admin(session_factory), _manager(session_factory)
    for asked in [WEEK, f"{WEEK} by employee", f"{WEEK} by channel", f"{WEEK} by type", f"{WEEK} by day",
                 "2026-02", "last 30 days by day", "2026-03-03", "today", "yesterday", "month",
                 "2026-02 by employee", "last 30 days by employee", "2026-02-04..2026-03-08 by employee",
                 "2026-02-02..2026-03-05 by employee", "week by employee", "month by employee",
                 "last 90 days by employee"]:
        for scope, viewer in [("all", admin), ("store PAR01", manager), ("store PAR01", admin), ("team", manager)]:
            from_rollup = _report(session_factory, f"{scope} {asked}", viewer=viewer)
            from_rows = _report(session_factory, f"{scope} {asked}", viewer=viewer, raw=True)
            assert (from_rollup.current, from_rollup.previous, from_rollup.groups, from_rollup.trend) == \
                   (from_rows.current, from_rows.previous, from_rows.groups, from_rows.trend), (scope, asked)
    with session_factory() as session:
        assert kpi_rollup.verify(session) == kpi_rollup.Discrepancies(facts=0, rollup=0)


def _week(session_factory) -> tuple[int, ...]:
    return _figures(_report(session_factory, f"all {WEEK}", viewer=_admin(session_factory)))


def _rollup_rows(session_factory) -> list[tuple]:
    with session_factory() as session:
        return [tuple(row) for row in session.execute(select(KpiDaily.__table__).order_by(
            KpiDaily.dimension, KpiDaily.day, KpiDaily.key, KpiDaily.gap))]


def test_every_change_to_history_keeps_company_figures_exact(world, tmp_path):
    # (interactions, customers, first contacts, resolved first contacts, repeat contacts, purchases)
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,I1,U0ALICE,store,visit,resolved,,2026-03-02T10:00:00Z",
            "webshop,W-1001,I2,U0BOB,phone,call,info,,2026-03-05T10:00:00Z",  # 3 days later: a repeat
            "webshop,W-1002,I3,U0BOB,phone,complaint,resolved,,2026-03-03T09:00:00Z")
    assert _week(world) == (3, 2, 2, 2, 1, 0)
    _assert_exact(world)

    # An order 1 day after I2 and 4 days after I1: both count as followed by a purchase.
    order = "webshop,W-1001,WEB-9,2026-03-06T12:00:00Z,web,{},EUR,SKU-1,Trench coat,1,189.00"
    _import(world, tmp_path, import_orders, ORDERS_HEADER, order.format("completed"))
    assert _week(world) == (3, 2, 2, 2, 1, 2)
    _assert_exact(world)

    # Jean's visit 4 days before I3, imported late: I3 becomes a repeat contact.
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1002,I0,U0ALICE,store,advice,resolved,,2026-02-27T10:00:00Z")
    assert _week(world) == (3, 2, 1, 1, 2, 2)
    _assert_exact(world)

    # The order is cancelled: no purchase any more.
    _import(world, tmp_path, import_orders, ORDERS_HEADER, order.format("cancelled"))
    assert _week(world) == (3, 2, 1, 1, 2, 0)
    _assert_exact(world)

    # I1 re-imported as another person's phone call a day later: groups move with it.
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,I1,U0BOB,phone,call,resolved,,2026-03-03T10:00:00Z")
    by_employee = _report(world, f"all {WEEK} by employee", viewer=_admin(world)).groups
    assert [(g.key, g.figures.interactions) for g in by_employee] == [("Bob Lee", 3)]
    _assert_exact(world)

    # Hélène and Jean turn out to be one person: one customer, and every contact but the first repeats.
    before_merge = _rollup_rows(world)
    helene, jean = _customer(world, "W-1001"), _customer(world, "W-1002")
    with world.begin() as session:
        merge_id = merge_customers(session, survivor_id=helene, absorbed_id=jean, actor="test", reason="manual").id
    assert _week(world) == (3, 1, 0, 0, 3, 0)
    _assert_exact(world)

    # Undone: the figures, and the rollup row for row, are what they were.
    with world.begin() as session:
        unmerge(session, merge_event_id=merge_id, actor="test")
    assert _week(world) == (3, 2, 1, 1, 2, 0)
    assert _rollup_rows(world) == before_merge
    _assert_exact(world)


def test_store_and_team_figures_come_from_the_rollup_and_kpi_check_watches_them(world, tmp_path, db_url,
                                                                               monkeypatch, capsys):
    # Alice and Bob (Paris Opéra floor, PAR01) see Hélène twice in three days; Eve (call centre team, no
    # store) sees Jean.
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,I1,U0ALICE,store,visit,resolved,,2026-03-02T10:00:00Z",
            "webshop,W-1001,I2,U0BOB,phone,call,info,,2026-03-05T10:00:00Z",
            "webshop,W-1002,I3,U0EVE,phone,complaint,resolved,,2026-03-04T09:00:00Z")
    manager = _manager(world)
    store = _report(world, f"store PAR01 {WEEK} by channel", viewer=manager)
    assert _figures(store) == (2, 1, 1, 1, 1, 0)
    assert [(g.key, g.figures.interactions, g.figures.customers) for g in store.groups] == [("phone", 1, 1),
                                                                                           ("store", 1, 1)]
    assert _figures(_report(world, f"team {WEEK}", viewer=manager)) == (2, 1, 1, 1, 1, 0)
    _assert_exact(world)

    # Read from the rollup: a store row damaged behind its back shows in the store's figures (and the
    # team's and company's do not move), and `frontline kpi check` finds it.
    with world.begin() as session:
        session.execute(KpiDaily.__table__.update().where(KpiDaily.dimension == kpi_rollup.Dimension.STORE,
                                                          KpiDaily.key == str(manager.store_id))
                        .values(interactions=KpiDaily.interactions + 10))
    assert _figures(_report(world, f"store PAR01 {WEEK}", viewer=manager))[0] == 2 + 2 * 10
    assert _figures(_report(world, f"team {WEEK}", viewer=manager))[0] == 2
    assert _week(world)[0] == 3
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("FRONTLINE_TIMEZONE", "Europe/Paris")
    capsys.readouterr()
    assert main(["kpi", "check"]) == 1
    assert "0 interaction(s), 2 daily row(s)" in capsys.readouterr().out
    assert main(["kpi", "rebuild"]) == 0
    assert main(["kpi", "check"]) == 0
    assert _figures(_report(world, f"store PAR01 {WEEK}", viewer=manager)) == (2, 1, 1, 1, 1, 0)


def test_an_interaction_logged_in_slack_counts_at_once(world, tmp_path):
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1002,I1,U0ALICE,store,visit,info,,2026-03-09T16:00:00Z")
    jean = _customer(world, "W-1002")
    with world.begin() as session:
        bob = session.scalar(select(Employee).where(Employee.slack_user_id == "U0BOB"))
        log_interaction(session, employee=bob, customer_id=jean, channel="phone", type="call", outcome="resolved",
                        note=None, declared=[], follow_up=None, idempotency_key="view-1", now=NOW)
    today = _report(world, "all today", viewer=_admin(world))
    assert (today.current.interactions, today.current.repeat_contacts, today.current.first_contacts) == (1, 1, 0)
    _assert_exact(world)


def test_local_days_follow_the_viewer_even_in_another_time_zone(world, tmp_path):
    # 03:00 UTC on 3 March: the 3rd in Paris and in Brussels, still the 2nd in New York.
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,I1,U0ALICE,store,visit,resolved,,2026-03-03T03:00:00Z")
    for zone, day, other_day in [("Europe/Paris", "2026-03-03", "2026-03-02"),
                                 ("Europe/Brussels", "2026-03-03", "2026-03-02"),
                                 ("America/New_York", "2026-03-02", "2026-03-03")]:
        viewer = _admin(world, zone)
        assert _report(world, f"all {day}", viewer=viewer).current.interactions == 1, zone
        assert _report(world, f"all {other_day}", viewer=viewer).current.interactions == 0, zone
        trend = _report(world, "all 2026-03-01..2026-03-04", viewer=viewer).trend
        assert [(p.day.isoformat(), p.interactions) for p in trend if p.interactions] == [(day, 1)], zone


def test_migrate_builds_the_rollup_for_existing_history_and_check_finds_nothing(empty_db_url, monkeypatch, tmp_path,
                                                                                  capsys):
    migrate(empty_db_url, "0004")  # a database from before the rollup, with history in it
    from store.db import make_engine, make_session_factory

    engine = make_engine(empty_db_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        import_people(session, source="webshop", rows=read_rows(FIXTURES / "people_webshop.csv"))
        import_employees(session, rows=read_rows(FIXTURES / "employees.csv"))
        relink(session)
    migrate(empty_db_url)  # the schema only, as an older `frontline migrate` would leave it
    _import(factory, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,I1,U0ALICE,store,visit,resolved,,2026-03-02T10:00:00Z",
            "webshop,W-1001,I2,U0BOB,phone,call,info,,2026-03-05T10:00:00Z")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    monkeypatch.setenv("FRONTLINE_TIMEZONE", "Europe/Paris")

    assert main(["kpi", "check"]) == 1  # no rollup yet
    assert "run `frontline migrate`" in capsys.readouterr().err

    assert main(["migrate"]) == 0
    assert "KPI daily rollup built for local days in Europe/Paris" in capsys.readouterr().out
    assert _week(factory) == (2, 1, 1, 1, 1, 0)
    assert main(["kpi", "check"]) == 0
    assert "matches the raw rows" in capsys.readouterr().out

    with factory.begin() as session:  # damage it, as a write path that forgot the rollup would
        rows = session.scalar(select(func.count()).select_from(KpiDaily))
        session.execute(KpiDaily.__table__.update().values(interactions=KpiDaily.interactions + 1))
    assert main(["kpi", "check"]) == 1
    assert f"0 interaction(s), {rows} daily row(s)" in capsys.readouterr().out
    assert main(["kpi", "rebuild"]) == 0
    assert main(["kpi", "check"]) == 0
    with factory.begin() as session:  # one interaction's contribution lost
        session.execute(delete(InteractionKpiFact).where(
            InteractionKpiFact.interaction_id == session.scalar(select(func.min(InteractionKpiFact.interaction_id)))))
    capsys.readouterr()
    assert main(["kpi", "check"]) == 1
    # ... and the seventeen rows it was in (the days of company, employee, channel, type, store, team, and
    # the store's employee, channel and type; the employee's week and near week, and, logged on a Monday,
    # the employee's six weeks to Monday..Saturday) no longer add up to the facts.
    assert "1 interaction(s), 17 daily row(s)" in capsys.readouterr().out
    engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite lets one writer in at a time
def test_two_people_logging_for_one_customer_at_once_keep_it_exact(world, db_url, tmp_path):
    """PostgreSQL runs both transactions at once; the second waits for the first's customer lock, so it
    counts its own contact as the repeat it is."""
    jean = _customer(world, "W-1002")
    with world() as session:
        alice, bob = (session.scalar(select(Employee).where(Employee.slack_user_id == uid)) for uid in ("U0ALICE", "U0BOB"))
        session.expunge_all()

    def log(session, employee, key, minutes):
        log_interaction(session, employee=employee, customer_id=jean, channel="store", type="visit", outcome="info",
                        note=None, declared=[], follow_up=None, idempotency_key=key,
                        now=NOW + dt.timedelta(minutes=minutes))

    second_done = threading.Event()

    def second():
        with world.begin() as session:
            log(session, bob, "view-2", 5)
        second_done.set()

    first = world()
    first.begin()
    log(first, alice, "view-1", 0)  # holds Jean's row until it commits
    worker = threading.Thread(target=second)
    worker.start()
    deadline = time.monotonic() + 10
    with world() as watcher:  # until the second one waits on a lock (or, if nothing made it wait, is done)
        while not second_done.is_set() and not watcher.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")):
            assert time.monotonic() < deadline, "the second transaction neither waited nor finished"
            watcher.rollback()
    first.commit()
    first.close()
    worker.join(10)
    today = _report(world, "all today", viewer=_admin(world)).current
    assert (today.interactions, today.customers, today.first_contacts, today.repeat_contacts) == (2, 1, 1, 1)
    _assert_exact(world)


FOLLOW_UPS_HEADER = INTERACTIONS_HEADER.rstrip("\n") + ",follow_up_due,follow_up_assignee,follow_up_status," \
                                                       "follow_up_completed_at\n"


def _follow_ups(session_factory, text: str) -> tuple:
    """(created, completed, overdue, median hours) company-wide."""
    f = _report(session_factory, f"all {text}", viewer=_admin(session_factory)).current
    return f.followups_created, f.followups_completed, f.followups_overdue, f.median_completion_hours


def _follow_up_id(session_factory, source_ref: str) -> int:
    with session_factory() as session:
        return session.scalar(select(FollowUp.id).where(FollowUp.source_ref == source_ref))


def test_every_change_to_follow_ups_keeps_company_figures_exact(world, tmp_path):
    # Imported with their follow-ups: open and overdue since 5 March, done after 3 days 3 hours, cancelled.
    _import(world, tmp_path, import_interactions, FOLLOW_UPS_HEADER,
            "webshop,W-1001,I1,U0ALICE,store,visit,follow_up,,2026-03-02T10:00:00Z,2026-03-04,U0BOB,open,",
            "webshop,W-1002,I2,U0BOB,phone,call,follow_up,,2026-03-03T09:00:00Z,2026-03-05,U0BOB,done,"
            "2026-03-06T12:00:00Z",
            "webshop,W-1002,I3,U0BOB,phone,call,follow_up,,2026-03-04T10:00:00Z,2026-03-20,U0ALICE,cancelled,")
    # (created, completed, overdue at the end of the week, median hours)
    assert _follow_ups(world, WEEK) == (3, 1, 1, 75.0)
    assert _follow_ups(world, "today") == (0, 0, 1, None)
    _assert_exact(world)

    with world() as session:
        alice, bob = (session.scalar(select(Employee).where(Employee.slack_user_id == uid)) for uid in ("U0ALICE", "U0BOB"))
        session.expunge_all()
    jean = _customer(world, "W-1002")
    # Logged in Slack with a follow-up, then one added on its own: created today.
    with world.begin() as session:
        log_interaction(session, employee=bob, customer_id=jean, channel="phone", type="call", outcome="follow_up",
                        note=None, declared=[], follow_up=FollowUpInput(due_date=TODAY, assignee_id=bob.id),
                        idempotency_key="view-1", now=NOW)
    with world.begin() as session:
        add_follow_up(session, employee=alice, customer_id=jean, assignee_id=bob.id, due_date=TODAY, note=None,
                      today=TODAY, now=NOW, idempotency_key="add-1")
    assert _follow_ups(world, "today") == (2, 0, 1, None)
    _assert_exact(world)

    # Done in Slack an hour ago (after midnight): no longer overdue now, completed today after 7 d 22 h.
    with world.begin() as session:
        complete(session, _follow_up_id(world, "I1"), employee=bob, now=NOW - dt.timedelta(hours=1))
    assert _follow_ups(world, "today") == (2, 1, 0, 190.0)
    assert _follow_ups(world, "yesterday") == (0, 0, 1, None)  # it was overdue at midnight
    _assert_exact(world)

    # Snoozed: due tomorrow instead of today.
    with world.begin() as session:
        snooze(session, _follow_up_id(world, "add-1"), employee=bob, days=1, today=TODAY, now=NOW)
    with world() as session:
        assert session.get(FollowUp, _follow_up_id(world, "add-1")).due_date == TODAY + dt.timedelta(days=1)
    _assert_exact(world)

    # Re-imported: the done one reopened, the cancelled one done on 5 March, the first one's due date moved.
    _import(world, tmp_path, import_interactions, FOLLOW_UPS_HEADER,
            "webshop,W-1001,I1,U0ALICE,store,visit,follow_up,,2026-03-02T10:00:00Z,2026-03-02,U0BOB,open,",
            "webshop,W-1002,I2,U0BOB,phone,call,follow_up,,2026-03-03T09:00:00Z,2026-03-05,U0BOB,open,",
            "webshop,W-1002,I3,U0BOB,phone,call,follow_up,,2026-03-04T10:00:00Z,2026-03-20,U0ALICE,done,"
            "2026-03-05T08:00:00Z")
    assert _follow_ups(world, WEEK) == (3, 1, 2, 22.0)
    assert _follow_ups(world, "today") == (2, 0, 2, None)
    _assert_exact(world)

    # Merged and unmerged, erased, notes purged: none of it changes a company figure, all of it stays exact.
    helene = _customer(world, "W-1001")
    with world.begin() as session:
        merge_id = merge_customers(session, survivor_id=helene, absorbed_id=jean, actor="test", reason="manual").id
    _assert_exact(world)
    with world.begin() as session:
        unmerge(session, merge_event_id=merge_id, actor="test")
    with world.begin() as session:
        erase_customer(session, jean, actor="test")
    with world.begin() as session:
        purge_old_notes(session, older_than_days=1, now=NOW)
    assert _follow_ups(world, WEEK) == (3, 1, 2, 22.0)
    _assert_exact(world)


def test_kpi_check_finds_a_follow_up_left_out_and_migrate_builds_the_follow_up_part(world, tmp_path, db_url,
                                                                                    monkeypatch, capsys):
    _import(world, tmp_path, import_interactions, FOLLOW_UPS_HEADER,
            "webshop,W-1001,I1,U0ALICE,store,visit,follow_up,,2026-03-02T10:00:00Z,2026-03-04,U0BOB,open,",
            "webshop,W-1002,I2,U0BOB,phone,call,follow_up,,2026-03-03T09:00:00Z,2026-03-05,U0BOB,done,"
            "2026-03-06T12:00:00Z")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("FRONTLINE_TIMEZONE", "Europe/Paris")
    assert main(["kpi", "check"]) == 0

    with world.begin() as session:  # a write path that forgot the rollup: a follow-up closed behind its back
        session.execute(FollowUp.__table__.update().where(FollowUp.source_ref == "I1")
                        .values(status="done", completed_at=dt.datetime(2026, 3, 5, 10, 0)))
    capsys.readouterr()
    assert main(["kpi", "check"]) == 1
    # Its facts are stale (the daily rows still add up to the stale facts).
    assert "1 follow-up(s), 0 follow-up daily row(s)" in capsys.readouterr().out
    assert main(["kpi", "rebuild"]) == 0
    assert main(["kpi", "check"]) == 0
    with world.begin() as session:  # the daily counts damaged
        days = session.scalar(select(func.count()).select_from(KpiFollowUpDaily))
        session.execute(KpiFollowUpDaily.__table__.update().values(created=KpiFollowUpDaily.created + 1))
    capsys.readouterr()
    assert main(["kpi", "check"]) == 1
    assert f"0 follow-up(s), {days} follow-up daily row(s)" in capsys.readouterr().out
    assert main(["kpi", "rebuild"]) == 0
    assert _follow_ups(world, WEEK) == (2, 2, 0, 73.5)

    # A rollup from before the follow-up part: company follow-up figures from the rows until migrate builds it.
    with world.begin() as session:
        session.execute(delete(FollowUpKpiFact))
        session.execute(delete(KpiFollowUpDaily))
        session.execute(KpiRollupState.__table__.update().values(follow_ups_built_at=None))
    assert _follow_ups(world, WEEK) == (2, 2, 0, 73.5)
    capsys.readouterr()
    assert main(["kpi", "check"]) == 0  # nothing kept yet, nothing wrong
    assert main(["migrate"]) == 0
    assert "KPI daily rollup built" in capsys.readouterr().out
    with world() as session:
        assert session.scalar(select(func.count()).select_from(FollowUpKpiFact)) == 2
        assert kpi_rollup.verify(session).none
    assert _follow_ups(world, WEEK) == (2, 2, 0, 73.5)


def test_a_managers_store_breakdown_folds_the_rest_of_the_store_exactly(world, tmp_path):
    """Alice sees her floor team one by one and the store's stock team as one row: its interactions,
    first contacts, repeats and purchases are the store's total minus her people (from the rollup), its
    distinct customers counted from the store's index; the same row as counted from the raw rows."""
    staff = tmp_path / "stock.csv"
    staff.write_text("slack_user_id,name,email,role,team,store,locale,timezone\n"
                     "U0SAM,Sam Stock,,associate,Paris Opéra stock,PAR01,fr,Europe/Paris\n"
                     "U0TOM,Tom Stock,,associate,Paris Opéra stock,PAR01,fr,Europe/Paris\n", encoding="utf-8")
    with world.begin() as session:
        assert not import_employees(session, rows=read_rows(staff)).problems
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,S1,U0SAM,store,visit,resolved,,2026-03-02T10:00:00Z",
            "webshop,W-1001,S2,U0TOM,phone,call,info,,2026-03-04T10:00:00Z",  # a repeat, same customer as S1
            "webshop,W-1002,S3,U0TOM,store,visit,resolved,,2026-03-03T09:00:00Z",
            "webshop,W-1002,A1,U0ALICE,store,advice,resolved,,2026-03-05T10:00:00Z",  # Alice's, a repeat of S3
            "webshop,W-1001,B1,U0BOB,phone,call,resolved,,2026-03-06T10:00:00Z")
    _import(world, tmp_path, import_orders, ORDERS_HEADER,
            "webshop,W-1001,WEB-7,2026-03-05T12:00:00Z,web,completed,EUR,SKU-1,Trench coat,1,189.00")
    report = _report(world, f"store PAR01 {WEEK} by employee", viewer=_manager(world))
    assert {g.key for g in report.groups if not g.folded} == {"Alice Moreau", "Bob Lee"}
    (folded,) = [g.figures for g in report.groups if g.folded]
    # (interactions, customers, first contacts, resolved first contacts, repeat contacts, purchases)
    assert (folded.interactions, folded.customers, folded.first_contacts, folded.resolved_first_contacts,
            folded.repeat_contacts, folded.purchases_within_7d) == (3, 2, 2, 2, 1, 2)
    _assert_exact(world)


def test_a_breakdown_by_employee_over_whole_weeks_counts_each_customer_once(world, tmp_path):
    """Whole weeks of a company breakdown by employee come from week rows (kpi_rollup "weeks"): a customer
    Bob sees again weeks later is one customer of the period, and a new one when the period starts
    between the two visits, whichever week or day rows hold them."""
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,J1,U0BOB,phone,call,info,,2026-02-03T10:00:00Z",  # a Tuesday
            "webshop,W-1001,J2,U0BOB,phone,call,info,,2026-02-12T10:00:00Z",  # 9 days later, next week
            "webshop,W-1001,J3,U0BOB,store,visit,resolved,,2026-02-25T10:00:00Z",  # 13 days later
            "webshop,W-1001,J4,U0BOB,store,visit,resolved,,2026-02-26T10:00:00Z",  # the day after, same week
            "webshop,W-1002,J5,U0BOB,phone,call,info,,2026-03-04T10:00:00Z")
    admin = _admin(world)
    bob = [("2026-02", 4, 1), ("2026-02-01..2026-03-08", 5, 2), ("2026-02-05..2026-03-08", 4, 2),
           ("2026-02-13..2026-03-08", 3, 2), ("2026-02-12..2026-02-25", 2, 1), ("2026-02-09..2026-02-22", 1, 1)]
    _assert_bob_alone_in_breakdowns_by_employee(world, admin, bob)
    with world() as session:
        weeks = session.scalars(select(KpiDaily.day).where(
            KpiDaily.dimension == kpi_rollup.Dimension.EMPLOYEE_WEEK).distinct().order_by(KpiDaily.day)).all()
        assert [dt.date.fromordinal(day).isoformat() for day in weeks] == \
               ["2026-02-02", "2026-02-09", "2026-02-23", "2026-03-02"]  # Mondays
        assert kpi_rollup.verify(session) == kpi_rollup.Discrepancies(facts=0, rollup=0)


def _assert_bob_alone_in_breakdowns_by_employee(world, admin, expected):
    """For each (period, interactions, customers): the admin's company breakdown by employee over that period
    shows Bob alone with those figures, and the rollup's report equals the one counted from the raw rows."""
    for period, interactions, customers in expected:
        asked = f"all {period} by employee"
        from_rollup = _report(world, asked, viewer=admin)
        assert [(g.key, g.figures.interactions, g.figures.customers) for g in from_rollup.groups] == \
               [("Bob Lee", interactions, customers)], period
        from_rows = _report(world, asked, viewer=admin, raw=True)
        assert (from_rollup.current, from_rollup.previous, from_rollup.groups) == \
               (from_rows.current, from_rows.previous, from_rows.groups), period


def test_a_breakdown_by_employee_over_a_short_period_counts_customers_seen_about_six_weeks_earlier(world, tmp_path):
    """Periods of up to 42 days read near rows (kpi_rollup "short periods"): previous contacts more than
    41 days before a row's Monday are folded into one always-counted row, and a period's partial weeks
    are one row set each. A customer Bob sees again 41 or 42 days later is counted once or twice exactly
    as the raw rows say, whichever day the period starts or ends on."""
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,K0,U0BOB,phone,call,info,,2025-12-01T10:00:00Z",
            "webshop,W-1001,K1,U0BOB,phone,call,info,,2026-01-20T10:00:00Z",  # a Tuesday, 50 days later
            "webshop,W-1002,K2,U0BOB,phone,call,info,,2026-01-21T10:00:00Z",
            "webshop,W-1001,K3,U0BOB,store,visit,resolved,,2026-03-02T10:00:00Z",  # a Monday, 41 days after K1
            "webshop,W-1001,K4,U0BOB,store,visit,resolved,,2026-03-04T10:00:00Z",  # 2 days later
            "webshop,W-1002,K5,U0BOB,phone,call,info,,2026-03-04T10:00:00Z")  # 42 days after K2
    admin = _admin(world)
    bob = [("2026-01-20..2026-03-02", 3, 2), ("2026-01-21..2026-03-03", 2, 2), ("2026-01-22..2026-03-04", 3, 2),
           ("2026-01-21..2026-03-04", 4, 2),  # 43 days: day and week rows
           ("2026-01-19..2026-02-28", 2, 2), ("2026-02-24..2026-03-04", 3, 2), ("2026-03-02..2026-03-04", 3, 2),
           ("2026-03-03..2026-03-04", 2, 2), ("2026-03-04..2026-03-08", 2, 2), ("2026-02-23..2026-03-08", 3, 2)]
    _assert_bob_alone_in_breakdowns_by_employee(world, admin, bob)
    with world() as session:
        near_weeks = session.execute(select(KpiDaily.day, KpiDaily.gap, KpiDaily.interactions).where(
            KpiDaily.dimension == kpi_rollup.Dimension.EMPLOYEE_WEEK_NEAR).order_by(KpiDaily.day, KpiDaily.gap)).all()
        # K1's previous contact, 49 days before its Monday, folds with K2's (none) into gap 42.
        assert [(dt.date.fromordinal(day).isoformat(), gap, count) for day, gap, count in near_weeks] == \
               [("2025-12-01", 42, 1), ("2026-01-19", 42, 2), ("2026-03-02", 0, 1), ("2026-03-02", 40, 1),
                ("2026-03-02", 41, 1)]
        assert kpi_rollup.verify(session) == kpi_rollup.Discrepancies(facts=0, rollup=0)


def test_migrate_fills_the_short_period_rows_of_a_rollup_built_before_them(world, db_url, tmp_path):
    """A database whose rollup was built before revision 0018 has no short-period rows; the upgrade
    fills them from the employee day rows, exactly what `frontline kpi rebuild` would write."""
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,M1,U0BOB,phone,call,info,,2026-01-20T10:00:00Z",
            "webshop,W-1001,M2,U0BOB,phone,call,resolved,,2026-02-26T10:00:00Z",
            "webshop,W-1002,M3,U0BOB,store,visit,resolved,,2026-02-26T11:00:00Z",
            "webshop,W-1001,M4,U0BOB,store,visit,info,,2026-03-04T10:00:00Z",
            "webshop,W-1002,M5,U0ALICE,phone,call,info,,2026-03-01T10:00:00Z",
            "webshop,W-1002,M6,U0ALICE,phone,call,info,,2026-03-03T10:00:00Z")
    short = [kpi_rollup.Dimension.EMPLOYEE_WEEK_NEAR, kpi_rollup.Dimension.EMPLOYEE_TO_DAY,
             kpi_rollup.Dimension.EMPLOYEE_FROM_DAY]
    built = _rollup_rows(world)
    assert {row[0] for row in built} >= set(short)
    # back to revision 0017 through the migrations' own downgrades (0018's removes the short-period rows)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", db_url.replace("%", "%%"))
    command.downgrade(config, "0017")
    assert not {row[0] for row in _rollup_rows(world)} & set(short)
    migrate(db_url)
    assert _rollup_rows(world) == built
    with world() as session:
        assert kpi_rollup.verify(session) == kpi_rollup.Discrepancies(facts=0, rollup=0)


def test_warm_up_compiles_a_new_process_first_report_ahead_and_changes_nothing(world, db_url, tmp_path):
    """What `frontline serve` runs in each process before serving (handlers.kpi.commands.warm_up): the first
    admin asking "all yesterday" then finds every statement compiled, and gets the same report."""
    _import(world, tmp_path, import_interactions, INTERACTIONS_HEADER,
            "webshop,W-1001,K1,U0BOB,phone,call,resolved,,2026-03-09T10:00:00Z")
    rollup_before = _rollup_rows(world)
    engine = make_engine(db_url)  # a new process's engine: nothing compiled yet
    factory = make_session_factory(engine)
    with factory() as session:
        warm_up(session, "Europe/Paris", now=NOW - dt.timedelta(days=3))  # start-up, days before the asking
    compiled: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if context.cache_hit == CacheStats.CACHE_MISS:  # compiled now, not found in the cache
            compiled.append(statement)

    event.listen(engine, "after_cursor_execute", note)
    with factory() as session:
        first = kpi_report(session, _admin(world), parse_kpi_query("all yesterday", today=TODAY), now=NOW)
    engine.dispose()
    assert compiled == []
    expected = _report(world, "all yesterday", viewer=_admin(world))
    assert (first.current, first.previous) == (expected.current, expected.previous)
    assert first.current.interactions == 1
    assert _rollup_rows(world) == rollup_before
