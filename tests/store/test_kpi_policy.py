"""Who sees whose figures: every role × scope × grouping of /kpi against the direct rule.

The rule (store.permissions.sees_figures_of) says whose individual figures a viewer may ask for with
`/kpi @someone`. A breakdown must never show more: for every cell of the matrix the report is either
refused, or every row that names a person names someone the viewer could have asked for directly, and
the rows still add up to the scope's total (the people the viewer may not see are one folded row)."""
from __future__ import annotations

import datetime as dt

import pytest

from store.kpi import KpiRefused, kpi_report, resolve_scope
from store.kpi_query import Scope, ScopeKind, parse_kpi_query
from store.models import Employee, Interaction, Store, Team
from tests.store.kpi_fixtures import Viewer
from tests.support.world import count_written_history

NOW = dt.datetime(2026, 3, 20, 10, 0)
TODAY = dt.date(2026, 3, 20)


# slack id, name, role, team, store; `paul` moved from Floor to Stock: his history is recorded under Floor.
PEOPLE = [
    ("U_LEA", "Léa Martin", "associate", "floor", "paris"), ("U_MARC", "Marc Petit", "associate", "floor", "paris"),
    ("U_NINA", "Nina Roy", "manager", "floor", "paris"), ("U_OMAR", "Omar Haddad", "manager", "stock", "paris"),
    ("U_SAM", "Sam Leroy", "associate", "stock", "paris"), ("U_PAUL", "Paul Moved", "associate", "stock", "paris"),
    ("U_NOE", "Noé Sans-Équipe", "associate", None, "paris"), ("U_MIA", "Mia Manager", "manager", None, "paris"),
    ("U_ZOE", "Zoé Lambert", "manager", "lyon", "lyon"), ("U_YANN", "Yann Lyon", "associate", "lyon", "lyon"),
    ("U_ADA", "Ada Admin", "admin", None, None),
]
VIEWERS = ["U_LEA", "U_NINA", "U_OMAR", "U_MIA", "U_ZOE", "U_ADA"]
SCOPES = ["me", "team", "store Paris Rivoli", "store Lyon Part-Dieu", "all"] + [f"<@{p[0]}>" for p in PEOPLE]
GROUPINGS = ["", "by employee", "by channel", "by type", "by day"]


@pytest.fixture
def people(session_factory) -> dict[str, Viewer]:
    with session_factory.begin() as s:
        stores = {"paris": Store(code="PAR1", name="Paris Rivoli"), "lyon": Store(code="LYO1", name="Lyon Part-Dieu")}
        s.add_all(stores.values())
        s.flush()
        teams = {"floor": Team(name="Floor", store_id=stores["paris"].id),
                 "stock": Team(name="Stock", store_id=stores["paris"].id),
                 "lyon": Team(name="Lyon floor", store_id=stores["lyon"].id)}
        s.add_all(teams.values())
        s.flush()
        found: dict[str, Viewer] = {}
        for n, (uid, name, role, team, store) in enumerate(PEOPLE):
            e = Employee(slack_user_id=uid, name=name, role=role, team_id=teams[team].id if team else None,
                         store_id=stores[store].id if store else None, timezone="Europe/Paris", locale="en")
            s.add(e)
            s.flush()
            found[uid] = Viewer(id=e.id, role=role, team_id=e.team_id, store_id=e.store_id)
            recorded_team = teams["floor"].id if uid == "U_PAUL" else e.team_id
            for day in range(n % 3 + 1):
                s.add(Interaction(employee_id=e.id, customer_id=None, store_id=e.store_id, team_id=recorded_team,
                                  channel=("store", "phone", "email")[day], type=("visit", "call", "advice")[n % 3],
                                  outcome="resolved", created_at=dt.datetime(2026, 3, 10 + day, 9, n)))
        count_written_history(s)
    return found


def _report(session, viewer, text):
    return kpi_report(session, viewer, parse_kpi_query(text, today=TODAY), now=NOW)


def _may_ask_directly(session, viewer, employee_id) -> bool:
    uid = session.get(Employee, employee_id).slack_user_id
    try:
        resolve_scope(session, viewer, Scope(kind=ScopeKind.EMPLOYEE, slack_user_id=uid))
    except KpiRefused:
        return False
    return True


def test_no_breakdown_shows_a_person_the_direct_question_would_refuse(session_factory, people):
    refused, shown_people = 0, 0
    with session_factory() as session:
        for uid in VIEWERS:
            viewer = people[uid]
            for scope in SCOPES:
                for grouping in GROUPINGS:
                    cell = (uid, scope, grouping)
                    try:
                        result = _report(session, viewer, f"{scope} 2026-03-10..2026-03-12 {grouping}")
                    except KpiRefused:
                        refused += 1
                        continue
                    if grouping:
                        assert sum(g.figures.interactions for g in result.groups) == result.current.interactions, cell
                    for row in result.groups:
                        if grouping == "by employee":
                            assert row.folded != (row.employee_id is not None), cell
                        if row.employee_id is not None:
                            shown_people += 1
                            assert _may_ask_directly(session, viewer, row.employee_id), (cell, row.key)
                        else:
                            assert not any(row.key == p[1] for p in PEOPLE), (cell, row.key)
    assert refused and shown_people  # the matrix has both kinds of cells


def _people_shown(session_factory, viewer, text):
    with session_factory() as session:
        result = _report(session, viewer, text)
    return {g.key for g in result.groups if not g.folded}, [g.figures.interactions for g in result.groups if g.folded]


def test_a_manager_sees_their_team_individually_and_the_rest_of_the_store_as_one_row(session_factory, people):
    shown, folded = _people_shown(session_factory, people["U_NINA"], "store Paris Rivoli 2026-03 by employee")
    # Her team, and Noé (no team, her store: the rule of `/kpi @noé`); not Stock, not Paul who left for Stock.
    assert shown == {"Léa Martin", "Marc Petit", "Nina Roy", "Noé Sans-Équipe", "Mia Manager"}
    assert folded == [1 + 2 + 3]  # Omar, Sam and Paul, counted again from their rows
    shown, folded = _people_shown(session_factory, people["U_OMAR"], "store Paris Rivoli 2026-03 by employee")
    assert shown == {"Omar Haddad", "Sam Leroy", "Paul Moved", "Noé Sans-Équipe", "Mia Manager"}


def test_history_recorded_under_the_team_of_someone_who_left_it_is_folded(session_factory, people):
    shown, folded = _people_shown(session_factory, people["U_NINA"], "team 2026-03 by employee")
    assert shown == {"Léa Martin", "Marc Petit", "Nina Roy"}
    assert folded == [3]  # Paul's three interactions, logged while he was in Floor


def test_admins_see_everyone_individually(session_factory, people):
    shown, folded = _people_shown(session_factory, people["U_ADA"], "all 2026-03 by employee")
    assert shown == {p[1] for p in PEOPLE} and folded == []


@pytest.mark.parametrize("viewer, typed, outcome", [
    ("U_NINA", "@%", "kpi.refused.person"),           # a LIKE wildcard matches nothing but itself
    ("U_NINA", "@_", "kpi.refused.person"),
    ("U_NINA", "@h%", "kpi.refused.person"),
    ("U_NINA", "@zzz%", "kpi.refused.person"),         # same answer: nothing to compare
    ("U_NINA", "@sam", "kpi.refused.person"),          # exists, not hers: same answer as unknown
    ("U_NINA", "@nobody", "kpi.refused.person"),
    ("U_NINA", "@m", "kpi.refused.ambiguous_person"),  # Marc (her team) and Mia (no team, her store)
    ("U_NINA", "@mar", "Marc Petit"),
    ("U_OMAR", "@m", "Mia Manager"),                   # Marc is not his to see, so "m" is only Mia
    ("U_LEA", "@marc", "kpi.refused.other_associate"),
    ("U_LEA", "@nobody", "kpi.refused.other_associate"),
    ("U_LEA", "@léa", "me"),
    ("U_ADA", "@nobody", "kpi.refused.unknown_person"),
    ("U_ADA", "@%", "kpi.refused.unknown_person"),
])
def test_names_are_matched_literally_among_the_people_the_viewer_may_see(session_factory, people, viewer, typed,
                                                                         outcome):
    with session_factory() as session:
        try:
            scope = resolve_scope(session, people[viewer], parse_kpi_query(typed, today=TODAY).scope)
        except KpiRefused as refused:
            assert refused.key == outcome
            assert refused.params.get("name") in (None, typed[1:])  # at most what was typed, never a stored name
        else:
            assert scope.label == outcome
