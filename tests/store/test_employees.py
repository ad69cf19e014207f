"""Employees import and listing: who may use Frontline, in which team and store."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from store.employees import import_employees, list_employees
from store.importing import read_rows
from store.models import Employee, Store, Team

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
HEADER = "slack_user_id,name,email,role,team,store,locale,timezone\n"


def run_import(session_factory, path: Path):
    with session_factory.begin() as session:
        return import_employees(session, rows=read_rows(path))


def test_employees_are_created_with_their_team_and_store(session_factory):
    report = run_import(session_factory, FIXTURES / "employees.csv")
    assert (report.created, report.rejected) == (3, 2)
    with session_factory() as session:
        alice = session.scalar(select(Employee).where(Employee.slack_user_id == "U0ALICE"))
        assert (alice.role, alice.locale, alice.timezone, alice.email) == (
            "manager", "fr", "Europe/Paris", "alice@retail.example")
        assert alice.team.name == "Paris Opéra floor" and alice.store.code == "PAR01"
        assert alice.team.store_id == alice.store_id  # a new team belongs to the store of its first member
        bob = session.scalar(select(Employee).where(Employee.slack_user_id == "U0BOB"))
        assert bob.team_id == alice.team_id and bob.timezone is None
        assert session.scalar(select(func.count()).select_from(Team)) == 2  # Paris floor and Call center
        assert session.scalar(select(func.count()).select_from(Store)) == 1  # LYO01 only on a rejected row


def test_bad_rows_name_their_line_and_reason(session_factory, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(HEADER + "U0OK,Ok Person,,associate,,,,\n"
                    "U0X,Bad Role,,boss,,,,\n"
                    "alice,Not An Id,,associate,,,,\n"
                    "U0Y,,,associate,,,,\n"
                    "U0Z,Bad Locale,,associate,,,de,\n"
                    "U0W,Bad Mail,nope,associate,,,,\n")
    report = run_import(session_factory, path)
    assert [(p.line, p.reason) for p in report.problems] == [
        (3, "unknown role 'boss' (one of associate, manager, admin)"),
        (4, "slack_user_id is not a Slack user id (U or W followed by capitals and digits)"),
        (5, "missing name"),
        (6, "unknown locale 'de' (one of en, fr)"),
        (7, "malformed email"),
    ]
    with session_factory() as session:
        assert list(session.scalars(select(Employee.slack_user_id))) == ["U0OK"]


def test_reimport_updates_changed_employees_only(session_factory, tmp_path):
    run_import(session_factory, FIXTURES / "employees.csv")
    again = run_import(session_factory, FIXTURES / "employees.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    path = tmp_path / "moved.csv"
    path.write_text(HEADER + "U0BOB,Bob Lee,bob@retail.example,manager,Lyon floor,LYO01,,Europe/Paris\n")
    report = run_import(session_factory, path)
    assert (report.created, report.updated) == (0, 1)
    listing = {e.slack_user_id: e for e in list_employees(session_factory())}
    assert (listing["U0BOB"].role, listing["U0BOB"].team, listing["U0BOB"].store, listing["U0BOB"].locale) == (
        "manager", "Lyon floor", "LYO01", None)
    assert set(listing) == {"U0ALICE", "U0BOB", "U0EVE"}  # absent from the file is not removed


def test_list_orders_by_store_then_team_then_name(session_factory):
    run_import(session_factory, FIXTURES / "employees.csv")
    with session_factory() as session:
        listing = list_employees(session)
    assert [(e.store, e.team, e.name) for e in listing] == [
        ("PAR01", "Paris Opéra floor", "Alice Moreau"),
        ("PAR01", "Paris Opéra floor", "Bob Lee"),
        (None, "Call center", "Eve Laurent"),
    ]
