"""Company-wide figures agree with the definitions row by row, from the daily rollup and from the raw
rows (one ordered pass), which a viewer in another time zone gets.

Times sit on a coarse grid, so ties, interactions exactly 7 days apart and orders exactly 7 days
after (or at the same instant as) an interaction happen often: the edges the definitions fix."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from store import kpi_rules
from store.kpi import ScopeFilter, Window, kpi_report, local_midnight_utc
from store.kpi_query import ScopeKind, parse_kpi_query
from store.models import Customer, Employee, Interaction, KpiRollupState, Order
from tests.store.kpi_fixtures import Viewer
from tests.support.world import add_store_and_team, count_written_history

NOW = dt.datetime(2026, 3, 20, 10, 0)
TODAY = dt.date(2026, 3, 20)
PARIS = ZoneInfo("Europe/Paris")


def _build(session_factory, seed: int):
    rng = random.Random(seed)
    start = dt.datetime(2026, 2, 1)

    def moment() -> dt.datetime:
        return start + dt.timedelta(hours=12 * rng.randrange(0, 100))  # 50 days, half-day steps

    with session_factory.begin() as s:
        store, team = add_store_and_team(s, code="S1", name="Store one")
        people = [Employee(slack_user_id=f"U{i}", name=f"Person {i}", role="associate", team_id=team.id,
                           store_id=store.id, timezone="Europe/Paris", locale="en") for i in range(3)]
        admin = Employee(slack_user_id="U_ADMIN", name="Admin", role="admin", timezone="Europe/Paris", locale="en")
        customers = [Customer(first_name="C", last_name=str(i)) for i in range(6)]
        s.add_all([*people, admin, *customers])
        s.flush()
        interactions = []
        for _ in range(160):
            who = rng.choice(people)
            customer = rng.choice([*customers, None])
            interactions.append(Interaction(
                employee_id=who.id, customer_id=customer.id if customer else None, store_id=store.id,
                team_id=team.id, channel=rng.choice(["store", "phone"]), type="visit",
                outcome=rng.choice(["resolved", "info"]), created_at=moment()))
        s.add_all(interactions)
        orders = [Order(source="web", order_number=f"W{i}", customer_id=rng.choice(customers).id,
                        ordered_at=moment(), channel="web", total_amount=Decimal("1"),
                        status=rng.choice(["completed", "completed", "cancelled"])) for i in range(40)]
        s.add_all(orders)
        count_written_history(s)
        rows = [(i.id, i.customer_id, i.created_at, i.outcome) for i in interactions]
        bought = [(o.customer_id, o.ordered_at) for o in orders if kpi_rules.order_counts(o.status)]
        return Viewer(id=admin.id, role="admin", team_id=None, store_id=None), rows, bought


def _expected(rows, orders, window: Window) -> tuple[int, int, int, int, int, int]:
    """The figures by the definitions (store/kpi_rules.py), applied row by row."""
    period = [r for r in rows if window.start <= r[2] < window.end]
    repeat = first = resolved_first = purchases = 0
    for id_, customer, at, outcome in period:
        if customer is None:
            continue
        previous = max((when for other, c, when, _ in rows
                        if c == customer and kpi_rules.precedes((when, other), (at, id_))), default=None)
        earlier = kpi_rules.is_repeat_contact(at, previous)
        repeat += earlier
        first += kpi_rules.is_first_contact(True, earlier)
        resolved_first += kpi_rules.is_first_contact(True, earlier) and kpi_rules.is_resolved(outcome)
        purchases += kpi_rules.is_bought_after(at, min((when for c, when in orders if c == customer and when > at),
                                                       default=None))
    customers = len({r[1] for r in period if r[1] is not None})
    return len(period), customers, first, resolved_first, repeat, purchases


@pytest.mark.parametrize("source", ["rollup", "raw rows"])
@pytest.mark.parametrize("seed", [1, 2])
def test_company_wide_figures_match_the_definitions(session_factory, seed, source):
    admin, rows, orders = _build(session_factory, seed)
    if source == "raw rows":
        with session_factory.begin() as session:
            session.execute(delete(KpiRollupState))
    for text in ["all 2026-02", "all 2026-03-01..2026-03-14", "all 2026-02-10", "all last 30 days by channel",
                 "all 2026-03 by day"]:
        query = parse_kpi_query(text, today=TODAY)
        with session_factory() as session:
            report = kpi_report(session, admin, query, now=NOW)
        assert report.scope == ScopeFilter(kind=ScopeKind.ALL, label="all")
        for period, figures in [(query.period, report.current), (query.period.previous, report.previous)]:
            window = Window(start=local_midnight_utc(period.start, PARIS), end=local_midnight_utc(period.end, PARIS))
            got = (figures.interactions, figures.customers, figures.first_contacts,
                   figures.resolved_first_contacts, figures.repeat_contacts, figures.purchases_within_7d)
            assert got == _expected(rows, orders, window), (text, period)
        if query.group_by:
            assert sum(g.figures.interactions for g in report.groups) == report.current.interactions
            assert sum(g.figures.purchases_within_7d for g in report.groups) == report.current.purchases_within_7d
            assert sum(g.figures.repeat_contacts for g in report.groups) == report.current.repeat_contacts


def test_postgresql_connections_never_jit_compile_a_report(engine):
    """PostgreSQL would JIT-compile the company-wide rollup sums once their estimated cost is high (a
    month of every employee's days at 10M), in each parallel worker, for one execution; Frontline's
    connections turn it off, on every connection of the pool."""
    if engine.dialect.name != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with engine.connect() as first, engine.connect() as second:
        settings = [connection.exec_driver_sql("SHOW jit").scalar() for connection in (first, second)]
    assert settings == ["off", "off"]
