"""Every fast path of the KPIs agrees with the one definition of each rule (store/kpi_rules.py).

The definitions are the Python predicates; the paths are the window-function pass (company-wide from
the raw rows), the index probes (a scope, a set of teams), the per-team follow-up counts and the rollup
(its Python facts and its SQL). Data are generated on coarse grids so that the edges the rules fix come
up often: contacts exactly 7 days apart or at the same instant, orders exactly 7 days after or at the
same instant as a contact, cancelled orders, follow-ups due, created or completed at a local midnight.
Pure parts are checked with hypothesis; SQL paths on seeded worlds, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import astuple
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import ColumnElement, select, true

from store import kpi_rollup, kpi_rules
from store.kpi import (
    ScopeFilter,
    Window,
    _flagged_rows_by_probes,
    _flagged_rows_in_one_pass,
    followup_figures,
    local_midnight_utc,
    team_figures,
)
from store.kpi_query import Period, PeriodKind, ScopeKind
from store.models import Customer, Employee, FollowUp, Interaction, InteractionKpiFact, Order
from tests.support.world import add_store_and_team, count_written_history

PARIS = ZoneInfo("Europe/Paris")
START = dt.datetime(2026, 2, 1)


# ---- the definitions, applied the slow and obvious way -------------------------------------------------

class Contact(NamedTuple):
    id: int
    customer_id: int | None
    created_at: dt.datetime
    outcome: str
    employee_id: int = 1
    channel: str = "store"
    type: str = "visit"
    store_id: int | None = 1
    team_id: int | None = 1


def expected_flags(contacts: list[Contact], orders: list[tuple[int, dt.datetime, str]]) -> dict[int, tuple[int, int]]:
    """(repeat contact, purchase within 7 days) of every contact, from the predicates, by brute force."""
    flags = {}
    for contact in contacts:
        if contact.customer_id is None:
            flags[contact.id] = (0, 0)
            continue
        before = [c.created_at for c in contacts if c.customer_id == contact.customer_id
                  and kpi_rules.precedes((c.created_at, c.id), (contact.created_at, contact.id))]
        after = [at for customer, at, status in orders if customer == contact.customer_id
                 and kpi_rules.order_counts(status) and at > contact.created_at]
        flags[contact.id] = (int(kpi_rules.is_repeat_contact(contact.created_at, max(before, default=None))),
                             int(kpi_rules.is_bought_after(contact.created_at, min(after, default=None))))
    return flags


def expected_interaction_figures(contacts: list[Contact], orders: list[tuple[int, dt.datetime, str]],
                                 window: Window, counted: set[int]) -> dict[str, int]:
    """The figures of the contacts in `counted` (a scope) over `window`; flags look at every contact."""
    flags = expected_flags(contacts, orders)
    period = [c for c in contacts if c.id in counted and window.start <= c.created_at < window.end]
    first = [c for c in period if kpi_rules.is_first_contact(c.customer_id is not None, bool(flags[c.id][0]))]
    return {
        "interactions": len(period),
        "customers": len({c.customer_id for c in period if c.customer_id is not None}),
        "first_contacts": len(first),
        "resolved_first_contacts": sum(kpi_rules.is_resolved(c.outcome) for c in first),
        "repeat_contacts": sum(flags[c.id][0] for c in period),
        "purchases_within_7d": sum(flags[c.id][1] for c in period),
    }


# ---- pure: the rollup's Python facts -------------------------------------------------------------------

_half_days = st.integers(min_value=0, max_value=40).map(lambda n: START + dt.timedelta(hours=12 * n))


@st.composite
def _customer_history(draw: st.DrawFn) -> tuple[list[Contact], list[tuple[int, dt.datetime, str]]]:
    times = draw(st.lists(_half_days, min_size=1, max_size=12))
    contacts = [Contact(id=i + 1, customer_id=1, created_at=at, outcome=draw(st.sampled_from(["resolved", "info"])))
                for i, at in enumerate(times)]
    orders = draw(st.lists(st.tuples(st.just(1), _half_days, st.sampled_from(["completed", "cancelled"])),
                           max_size=6))
    return contacts, orders


@settings(max_examples=300, deadline=None)
@given(_customer_history())
def test_the_rollups_python_facts_follow_the_definitions(history):
    contacts, orders = history
    in_order = sorted(contacts, key=lambda c: (c.created_at, c.id))
    counted = sorted(at for _, at, status in orders if kpi_rules.order_counts(status))
    facts = kpi_rollup._customer_facts(in_order, counted, PARIS)
    expected = expected_flags(contacts, orders)
    assert {i: (f.repeat_contact, f.purchase) for i, f in facts.items()} == expected
    assert {i: f.resolved for i, f in facts.items()} == {c.id: int(kpi_rules.is_resolved(c.outcome)) for c in contacts}
    # Read back as stored (columns in FACT_COLUMNS order), each fact is the same.
    assert all(kpi_rollup.Fact.stored(astuple(f)) == f for f in facts.values())


class _FollowUpRow(NamedTuple):
    id: int
    status: str
    created_at: dt.datetime
    completed_at: dt.datetime | None
    due_date: dt.date


_three_hours = st.integers(min_value=0, max_value=120).map(lambda n: dt.datetime(2026, 1, 31, 23) + dt.timedelta(hours=3 * n))


@st.composite
def _follow_up(draw: st.DrawFn) -> _FollowUpRow:
    created = draw(_three_hours)
    status = draw(st.sampled_from(["open", "done", "cancelled"]))
    completed = created + dt.timedelta(hours=3 * draw(st.integers(0, 40))) if status == "done" else None
    if status == "done" and draw(st.booleans()) and draw(st.booleans()):
        completed = None  # an old row without its completion time
    due = created.date() + dt.timedelta(days=draw(st.integers(-3, 9)))
    return _FollowUpRow(id=1, status=status, created_at=created, completed_at=completed, due_date=due)


@settings(max_examples=300, deadline=None)
@given(_follow_up())
def test_the_rollups_follow_up_facts_follow_the_definitions(row):
    """Overdue at each local midnight exactly on the days the fact says; completed on the day it says."""
    fact = kpi_rollup.follow_up_fact(row, PARIS)
    assert kpi_rollup.FollowUpFact.stored(astuple(fact)) == fact
    for ordinal in range(dt.date(2026, 1, 28).toordinal(), dt.date(2026, 3, 10).toordinal()):
        day = dt.date.fromordinal(ordinal)
        overdue = kpi_rules.is_overdue(row.status, row.created_at, row.completed_at, row.due_date,
                                       as_of=local_midnight_utc(day, PARIS), as_of_date=day)
        in_interval = fact.overdue_from is not None and fact.overdue_from <= ordinal and (
            fact.overdue_until is None or ordinal < fact.overdue_until)
        assert in_interval == overdue, day
    completed = kpi_rules.is_completed(row.status, row.completed_at)
    assert (fact.done_day is not None) == completed
    if completed:
        assert fact.duration_us == (row.completed_at - row.created_at) // dt.timedelta(microseconds=1)


# ---- SQL paths on generated worlds ---------------------------------------------------------------------

class _Everyone:
    """Every interaction, read by the probes (a company-wide scope otherwise takes the window pass)."""

    def interactions(self) -> ColumnElement[bool]:
        return true()


def _build(session_factory, seed: int):
    rng = random.Random(seed)

    def moment() -> dt.datetime:
        return START + dt.timedelta(hours=12 * rng.randrange(0, 80))  # 40 days, half-day steps

    with session_factory.begin() as s:
        teams = []
        for n in range(2):
            _, team = add_store_and_team(s, code=f"S{n}", name=f"Store {n}", team=f"Team {n}")
            teams.append(team)
        people = [Employee(slack_user_id=f"U{i}", name=f"Person {i}", role="associate", team_id=teams[i % 2].id,
                           store_id=teams[i % 2].store_id, timezone="Europe/Paris", locale="en") for i in range(4)]
        customers = [Customer(first_name="C", last_name=str(i)) for i in range(6)]
        s.add_all([*people, *customers])
        s.flush()
        interactions = []
        for _ in range(150):
            who = rng.choice(people)
            customer = rng.choice([*customers, None])
            interactions.append(Interaction(
                employee_id=who.id, customer_id=customer.id if customer else None, store_id=who.store_id,
                team_id=who.team_id, channel=rng.choice(["store", "phone"]), type="visit",
                outcome=rng.choice(["resolved", "info"]), created_at=moment()))
        orders = [Order(source="web", order_number=f"W{i}", customer_id=rng.choice(customers).id, ordered_at=moment(),
                        channel="web", total_amount=Decimal("1"), status=rng.choice(["completed", "cancelled"]))
                  for i in range(50)]
        follow_ups = []
        for _ in range(150):
            created = dt.datetime(2026, 1, 31, 23) + dt.timedelta(hours=3 * rng.randrange(0, 320))
            status = rng.choice(["open", "done", "done", "cancelled"])
            follow_ups.append(FollowUp(
                assignee_id=rng.choice(people).id, status=status, created_at=created,
                due_date=created.date() + dt.timedelta(days=rng.randrange(-3, 9)),
                completed_at=created + dt.timedelta(hours=3 * rng.randrange(0, 40)) if status == "done" else None))
        s.add_all([*interactions, *orders, *follow_ups])
        count_written_history(s)
        contacts = [Contact(id=i.id, customer_id=i.customer_id, created_at=i.created_at, outcome=i.outcome)
                    for i in interactions]
        bought = [(o.customer_id, o.ordered_at, o.status) for o in orders]
        rows = [(f.status, f.created_at, f.completed_at, f.due_date) for f in follow_ups]
        return contacts, bought, rows, [t.id for t in teams]


def _windows() -> list[Window]:
    """The whole span, and periods whose 7-day reach on either side falls inside the data."""
    days = [(dt.date(2026, 1, 25), dt.date(2026, 3, 20)), (dt.date(2026, 2, 10), dt.date(2026, 2, 17)),
            (dt.date(2026, 2, 20), dt.date(2026, 2, 21)), (dt.date(2026, 2, 1), dt.date(2026, 3, 1))]
    return [Window(start=local_midnight_utc(first, PARIS), end=local_midnight_utc(end, PARIS)) for first, end in days]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_path_flags_each_interaction_by_the_definitions(session_factory, seed):
    contacts, orders, _, _ = _build(session_factory, seed)
    expected = expected_flags(contacts, orders)
    assert set(expected.values()) == {(0, 0), (0, 1), (1, 0), (1, 1)}  # the data reach every case
    with session_factory() as session:
        for window in _windows():
            wanted = {c.id: expected[c.id] for c in contacts if window.start <= c.created_at < window.end}
            for path in (_flagged_rows_in_one_pass(window), _flagged_rows_by_probes(_Everyone(), window)):
                got = {row.id: (row.repeat, row.bought)
                       for row in session.execute(select(path.c.id, path.c.repeat, path.c.bought))}
                assert got == wanted, (window, path)
        stored = {i: (repeat, purchase) for i, repeat, purchase in session.execute(select(
            InteractionKpiFact.interaction_id, InteractionKpiFact.repeat_contact, InteractionKpiFact.purchase))}
        assert stored == expected  # the rollup's facts, kept as history was written


@pytest.mark.parametrize("seed", [1, 2])
def test_scope_and_team_figures_follow_the_definitions(session_factory, seed):
    """Interaction figures of a team (probes) and of every team at once; follow-up figures likewise."""
    contacts, orders, follow_ups, team_ids = _build(session_factory, seed)
    with session_factory() as session:
        team_of = dict(session.execute(select(Interaction.id, Interaction.team_id)).all())
        assignee_team = dict(session.execute(
            select(FollowUp.id, Employee.team_id).join(Employee, Employee.id == FollowUp.assignee_id)).all())
        follow_up_ids = list(session.scalars(select(FollowUp.id).order_by(FollowUp.id)))
        now = dt.datetime(2026, 2, 20, 10, 0)
        for first, end in [(dt.date(2026, 2, 10), dt.date(2026, 2, 17)), (dt.date(2026, 2, 20), dt.date(2026, 2, 21)),
                           (dt.date(2026, 2, 1), dt.date(2026, 3, 1))]:
            period = Period(kind=PeriodKind.RANGE, start=first, end=end)
            window = Window.of(period, PARIS)
            as_of, as_of_date = min(window.end, now), min(end, dt.date(2026, 2, 20))
            together = team_figures(session, team_ids, period, PARIS, now=now)
            for team_id in team_ids:
                mine = {c.id for c in contacts if team_of[c.id] == team_id}
                theirs = [(f, i) for f, i in zip(follow_ups, follow_up_ids, strict=True) if assignee_team[i] == team_id]
                durations = sorted(kpi_rules.microseconds_between(done, created) for status, created, done, _ in
                                   (f for f, _ in theirs) if kpi_rules.is_completed(status, done)
                                   and window.start <= done < window.end)
                expected = {
                    **expected_interaction_figures(contacts, orders, window, mine),
                    "followups_created": sum(window.start <= f[1] < window.end for f, _ in theirs),
                    "followups_completed": len(durations),
                    "followups_overdue": sum(kpi_rules.is_overdue(*f, as_of=as_of, as_of_date=as_of_date)
                                             for f, _ in theirs),
                    "median_completion_hours": kpi_rules.median_hours(durations),
                }
                alone = ScopeFilter(kind=ScopeKind.TEAM, label="team", team_id=team_id)
                from_team_figures = together[team_id].__dict__
                assert from_team_figures == expected, (period, team_id)
                assert followup_figures(session, alone, window, as_of=as_of, as_of_date=as_of_date) == {
                    name: expected[name] for name in ("followups_created", "followups_completed",
                                                      "followups_overdue", "median_completion_hours")}
