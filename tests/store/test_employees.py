"""The employee roster: importing it (absent columns, empty cells, duplicates, locales, active, --sync),
changing one employee through the one apply function, and the audit trail of every change of access."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.employees import (
    KEEP,
    DesiredEmployee,
    EmployeeRefused,
    UnknownEmployee,
    access_history,
    apply_employee,
    fold_locale,
    import_employees,
    list_employees,
    set_active,
)
from store.importing import read_rows
from store.models import AuditEvent, Employee, Store, Team

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
HEADER = "slack_user_id,name,email,role,team,store,locale,timezone\n"
STAFF = (HEADER
         + "U0ADA,Ada Admin,ada@retail.example,admin,Head office,HQ01,fr,Europe/Paris\n"
         + "U0MAX,Max Manager,max@retail.example,manager,Paris floor,PAR01,en,Europe/London\n"
         + "U0ALI,Ali Associate,,associate,Paris floor,PAR01,,\n")


def run_import(session_factory, path: Path, **options):
    with session_factory.begin() as session:
        return import_employees(session, rows=read_rows(path), actor="cli:tester", via="cli", **options)


def write(tmp_path: Path, text: str, name: str = "staff.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def employees(session_factory) -> dict[str, Employee]:
    with session_factory() as session:
        found = {e.slack_user_id: e for e in session.scalars(select(Employee))}
        for e in found.values():  # loaded before the session closes
            _ = (e.team, e.store)
        session.expunge_all()
    return found


def state(employee: Employee) -> tuple:
    return (employee.name, employee.email, employee.role, employee.team.name if employee.team else None,
            employee.store.code if employee.store else None, employee.locale, employee.timezone, employee.active)


def audit_actions(session_factory) -> list[tuple[str, str, str]]:
    with session_factory() as session:
        return [(e.actor, e.action, e.detail["employee"]) for e in
                session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_employees_are_created_with_their_team_and_store(session_factory):
    report = run_import(session_factory, FIXTURES / "employees.csv")
    assert (report.created, report.rejected) == (3, 2)
    with session_factory() as session:
        alice = session.scalar(select(Employee).where(Employee.slack_user_id == "U0ALICE"))
        assert (alice.role, alice.locale, alice.timezone, alice.email, alice.active) == (
            "manager", "fr", "Europe/Paris", "alice@retail.example", True)
        assert alice.team.name == "Paris Opéra floor" and alice.store.code == "PAR01"
        assert alice.team.store_id == alice.store_id  # a new team belongs to the store of its first member
        bob = session.scalar(select(Employee).where(Employee.slack_user_id == "U0BOB"))
        assert bob.team_id == alice.team_id and bob.timezone is None
        assert session.scalar(select(func.count()).select_from(Team)) == 2  # Paris floor and Call center
        assert session.scalar(select(func.count()).select_from(Store)) == 1  # LYO01 only on a rejected row


def test_bad_rows_name_their_line_and_reason(session_factory, tmp_path):
    path = write(tmp_path, HEADER.replace("timezone", "timezone,active")
                 + "U0OK,Ok Person,,associate,,,,,\n"
                 "U0X,Bad Role,,boss,,,,,\n"
                 "alice,Not An Id,,associate,,,,,\n"
                 "U0Y,,,associate,,,,,\n"
                 "U0Z,Bad Locale,,associate,,,français!,,\n"
                 "U0W,Bad Mail,nope,associate,,,,,\n"
                 "U0V,Bad Active,,associate,,,,,maybe\n")
    report = run_import(session_factory, path)
    assert [(p.line, p.reason) for p in report.problems] == [
        (3, "unknown role 'boss' (one of associate, manager, admin)"),
        (4, "slack_user_id is not a Slack user id (U or W followed by capitals and digits)"),
        (5, "missing name"),
        (6, "locale is not a language code such as fr, en or fr-FR"),
        (7, "malformed email"),
        (8, "active must be true or false (yes/no, oui/non, 1/0)"),
    ]
    assert list(employees(session_factory)) == ["U0OK"]


def test_reimport_updates_changed_employees_only(session_factory, tmp_path):
    run_import(session_factory, FIXTURES / "employees.csv")
    again = run_import(session_factory, FIXTURES / "employees.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    path = write(tmp_path, HEADER + "U0BOB,Bob Lee,bob@retail.example,manager,Lyon floor,LYO01,,Europe/Paris\n")
    report = run_import(session_factory, path)
    assert (report.created, report.updated) == (0, 1)
    listing = {e.slack_user_id: e for e in list_employees(session_factory())}
    assert (listing["U0BOB"].role, listing["U0BOB"].team, listing["U0BOB"].store, listing["U0BOB"].locale) == (
        "manager", "Lyon floor", "LYO01", None)
    assert set(listing) == {"U0ALICE", "U0BOB", "U0EVE"}  # absent from the file is not removed


def test_columns_absent_from_the_file_leave_those_fields_unchanged(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    before = {key: state(e) for key, e in employees(session_factory).items()}
    report = run_import(session_factory, write(tmp_path, "slack_user_id,name\nU0ADA,Ada Admin\n"
                                               "U0MAX,Max Manager-Roy\nU0ALI,Ali Associate\n", "names.csv"))
    assert (report.updated, report.unchanged, report.changes[0].changed) == (1, 2, ("name",))
    after = {key: state(e) for key, e in employees(session_factory).items()}
    assert after["U0MAX"] == ("Max Manager-Roy", *before["U0MAX"][1:])  # still manager, team, store, e-mail...
    assert after["U0ADA"] == before["U0ADA"] and after["U0ALI"] == before["U0ALI"]
    assert [action for _, action, _ in audit_actions(session_factory)] == ["register"] * 3  # no access changed


def test_absent_keys_of_json_lines_leave_fields_unchanged(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    run_import(session_factory, write(tmp_path, '{"slack_user_id": "U0MAX", "timezone": "Europe/Paris"}\n',
                                      "change.jsonl"))
    max_ = employees(session_factory)["U0MAX"]
    assert state(max_) == ("Max Manager", "max@retail.example", "manager", "Paris floor", "PAR01", "en",
                           "Europe/Paris", True)


def test_empty_cells_clear_optional_fields_and_keep_role_and_active(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    report = run_import(session_factory, write(tmp_path, "slack_user_id,name,email,role,team,store,locale,"
                                               "timezone,active\nU0ADA,Ada Admin,,,,,,,\nU0NEW,New Person,,,,,,,\n",
                                               "blank.csv"))
    assert (report.created, report.updated, report.rejected) == (1, 1, 0)
    found = employees(session_factory)
    assert state(found["U0ADA"]) == ("Ada Admin", None, "admin", None, None, None, None, True)
    assert state(found["U0NEW"]) == ("New Person", None, "associate", None, None, None, None, True)


def test_trailing_cells_a_spreadsheet_dropped_are_empty_not_absent(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    run_import(session_factory, write(tmp_path, HEADER + "U0MAX,Max Manager,max@retail.example,manager\n", "short.csv"))
    assert state(employees(session_factory)["U0MAX"])[3:7] == (None, None, None, None)


def test_a_slack_id_on_two_rows_is_refused_with_both_line_numbers(session_factory, tmp_path):
    path = write(tmp_path, HEADER + "U0ALI,Ali Associate,,associate,,,,\n"
                 "U0OK,Ok Person,,associate,,,,\n"
                 "U0ALI,Ali Associate,,admin,,,,\n"
                 "U0TRI,Tri One,,associate,,,,\n"
                 "U0TRI,Tri Two,,associate,,,,\n"
                 "U0TRI,Tri Three,,admin,,,,\n")
    report = run_import(session_factory, path)
    assert [(p.line, p.reason) for p in report.problems] == [
        (2, "U0ALI is on lines 2 and 4: one row per employee (none of these rows was imported)"),
        (4, "U0ALI is on lines 2 and 4: one row per employee (none of these rows was imported)"),
        (5, "U0TRI is on lines 5, 6 and 7: one row per employee (none of these rows was imported)"),
        (6, "U0TRI is on lines 5, 6 and 7: one row per employee (none of these rows was imported)"),
        (7, "U0TRI is on lines 5, 6 and 7: one row per employee (none of these rows was imported)"),
    ]
    assert list(employees(session_factory)) == ["U0OK"]  # no last (or first) row wins


@pytest.mark.parametrize(("given", "language", "available"), [
    ("fr", "fr", True), ("FR", "fr", True), ("fr-FR", "fr", True), ("fr_CA", "fr", True),
    ("en-US", "en", True), ("en_GB", "en", True), ("de-DE", "en", False), ("ja", "en", False),
    ("zh-Hant-TW", "en", False),
])
def test_slack_locales_fold_to_a_language_we_speak(given, language, available):
    folded = fold_locale(given)
    assert (folded.language, folded.available) == (language, available)


@pytest.mark.parametrize("given", ["", "f", "fr FR", "français", "12-34", "fr--FR", "x" * 40])
def test_what_is_not_a_locale_is_refused(given):
    with pytest.raises(ValueError):
        fold_locale(given)


def test_slack_locale_format_registers_the_person(session_factory, tmp_path):
    path = write(tmp_path, HEADER + "U0FR,Fr Person,,,,,fr-FR,\nU0US,Us Person,,,,,en-US,\n"
                 "U0GB,Gb Person,,,,,en_GB,\nU0CA,Ca Person,,,,,fr_CA,\nU0DE,De Person,,,,,de-DE,\n")
    report = run_import(session_factory, path)
    assert (report.created, report.rejected) == (5, 0)
    assert {key: e.locale for key, e in employees(session_factory).items()} == {
        "U0FR": "fr", "U0US": "en", "U0GB": "en", "U0CA": "fr", "U0DE": "en"}
    assert [(w.line, w.reason) for w in report.warnings] == [
        (6, "locale 'de-DE' is not available (one of en, fr): en is used")]


def test_unknown_columns_are_named_once(session_factory, tmp_path):
    report = run_import(session_factory, write(tmp_path, "slack_user_id,name,activ\nU0A,A Person,no\nU0B,B Person,no\n"))
    assert [(w.line, w.reason) for w in report.warnings] == [
        (2, "column 'activ' is not an employee column: ignored")]


@pytest.mark.parametrize(("cell", "active"), [
    ("false", False), ("No", False), ("non", False), ("0", False),
    ("true", True), ("YES", True), ("oui", True), ("1", True),
])
def test_active_column(session_factory, tmp_path, cell, active):
    run_import(session_factory, write(tmp_path, STAFF))
    run_import(session_factory, write(tmp_path, f"slack_user_id,active\nU0MAX,{cell}\n", "leavers.csv"))
    assert employees(session_factory)["U0MAX"].active is active


def test_a_leavers_file_deactivates_and_audits_without_touching_anything_else(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    before = state(employees(session_factory)["U0MAX"])
    report = run_import(session_factory, write(tmp_path, "slack_user_id,active\nU0MAX,no\nU0NOBODY,no\n", "l.csv"))
    assert [(p.line, p.reason) for p in report.problems] == [
        (3, "missing name (needed to add an employee who is not registered yet)")]
    assert [c.slack_user_id for c in report.lost_access] == ["U0MAX"]
    assert state(employees(session_factory)["U0MAX"]) == (*before[:-1], False)
    assert audit_actions(session_factory)[-1] == ("cli:tester", "deactivate", "U0MAX")


def test_sync_deactivates_whoever_is_missing_and_reactivates_who_is_back(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    report = run_import(session_factory, write(tmp_path, HEADER + "U0ADA,Ada Admin,,admin,,,,\n"
                                               "U0NEW,New Person,,,,,,\n", "roster.csv"), sync=True)
    assert report.ok
    assert sorted(c.slack_user_id for c in report.lost_access) == ["U0ALI", "U0MAX"]
    assert [c.slack_user_id for c in report.gained_access] == ["U0NEW"]
    assert {key: e.active for key, e in employees(session_factory).items()} == {
        "U0ADA": True, "U0MAX": False, "U0ALI": False, "U0NEW": True}
    assert "2 deactivated" in report.summary()
    # The next sync that lists Max again gives him his access back (the file says nothing of active).
    again = run_import(session_factory, write(tmp_path, HEADER + "U0ADA,Ada Admin,,admin,,,,\n"
                                              "U0NEW,New Person,,,,,,\nU0MAX,Max Manager,,manager,,,,\n"
                                              "U0ALI,Ali Associate,,,,,,\n", "back.csv"), sync=True)
    assert [c.slack_user_id for c in again.gained_access] == []  # present is not the same as active
    assert sorted(c.slack_user_id for c in again.lost_access) == []
    with_active = write(tmp_path, "slack_user_id,active\nU0ADA,yes\nU0NEW,yes\nU0MAX,yes\nU0ALI,no\n", "a.csv")
    third = run_import(session_factory, with_active, sync=True)
    assert [c.slack_user_id for c in third.gained_access] == ["U0MAX"]
    assert [(a, s) for _, a, s in audit_actions(session_factory) if a in ("deactivate", "reactivate")] == [
        ("deactivate", "U0ALI"), ("deactivate", "U0MAX"), ("reactivate", "U0MAX")]


def test_sync_with_a_rejected_row_changes_nothing(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    before = {key: state(e) for key, e in employees(session_factory).items()}
    audit_before = audit_actions(session_factory)
    report = run_import(session_factory, write(tmp_path, HEADER + "U0ADA,Ada Admin,,boss,,,,\n"
                                               "U0NEW,New Person,,,,,,\n", "bad.csv"), sync=True)
    assert report.refused and "nothing was changed" in report.refused and not report.ok
    assert [(p.line, p.reason) for p in report.problems] == [
        (2, "unknown role 'boss' (one of associate, manager, admin)")]
    assert {key: state(e) for key, e in employees(session_factory).items()} == before
    assert audit_actions(session_factory) == audit_before


def test_sync_of_a_file_listing_nobody_deactivates_nobody(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    report = run_import(session_factory, write(tmp_path, HEADER, "empty.csv"), sync=True)
    assert report.refused == "--sync: the file lists nobody, which would deactivate every employee; nothing was changed"
    assert all(e.active for e in employees(session_factory).values())


def test_a_dry_run_rolled_back_changes_nothing_and_reports_the_same(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    before = {key: state(e) for key, e in employees(session_factory).items()}
    audit_before = audit_actions(session_factory)
    roster = write(tmp_path, HEADER + "U0ADA,Ada Admin,,admin,,,,\nU0ALI,Ali Associate,,manager,New team,NEW01,,\n"
                   "U0NEW,New Person,,,,,,\n", "roster.csv")
    with session_factory() as session:
        dry = import_employees(session, rows=read_rows(roster), sync=True, actor="cli:tester", via="cli")
        session.rollback()
    assert {key: state(e) for key, e in employees(session_factory).items()} == before
    assert audit_actions(session_factory) == audit_before
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Team).where(Team.name == "New team")) == 0
    real = run_import(session_factory, roster, sync=True)
    summary = [(c.slack_user_id, c.gains_access, c.loses_access, c.role_changed) for c in dry.changes]
    assert summary == [(c.slack_user_id, c.gains_access, c.loses_access, c.role_changed) for c in real.changes]
    assert [c.slack_user_id for c in dry.lost_access] == ["U0MAX"]
    assert [(c.slack_user_id, c.old_role, c.role) for c in dry.role_changes] == [("U0ALI", "associate", "manager")]


def test_apply_employee_changes_only_what_it_is_told_and_audits_access(session_factory):
    with session_factory.begin() as session:
        created = apply_employee(session, DesiredEmployee("U0LEA", name="Léa Martin", team="Lyon floor", store="LYO01"),
                                 actor="slack:U0ADMIN", via="directory")
        assert (created.created, created.gains_access, created.role) == (True, True, "associate")
    with session_factory.begin() as session:
        change = apply_employee(session, DesiredEmployee("U0LEA", role="manager", team="Paris floor", locale=KEEP),
                                actor="slack:U0ADMIN", via="directory")
        assert (change.changed, change.role_changed, change.gains_access) == (("role", "team"), True, False)
    lea = employees(session_factory)["U0LEA"]
    assert state(lea) == ("Léa Martin", None, "manager", "Paris floor", "LYO01", None, None, True)
    with session_factory() as session:
        history = access_history(session, "U0LEA")
    assert [(e.actor, e.action, e.detail) for e in history] == [
        ("slack:U0ADMIN", "register", {"role": "associate", "active": True, "team": "Lyon floor", "store": "LYO01"}),
        ("slack:U0ADMIN", "role", {"before": "associate", "after": "manager"}),
        ("slack:U0ADMIN", "team", {"before": "Lyon floor", "after": "Paris floor"}),
    ]


@pytest.mark.parametrize(("desired", "reason"), [
    (DesiredEmployee("U0NOBODY", role="admin"), "U0NOBODY is not registered yet: a name is needed to add them"),
    (DesiredEmployee("U0LEA", role="boss"), "unknown role 'boss' (one of associate, manager, admin)"),
    (DesiredEmployee("U0LEA", locale="de"), "unknown locale 'de' (one of en, fr)"),
    (DesiredEmployee("U0LEA", name=" "), "missing name"),
    (DesiredEmployee("lea", name="Léa"), "not a Slack user id (U or W followed by capitals and digits)"),
    (DesiredEmployee("U0LEA", team="T" * 121), "team is longer than 120 characters"),
    (DesiredEmployee("U0LEA", timezone="Mars/Olympus"),
     "unknown time zone 'Mars/Olympus' (an IANA name such as Europe/Paris)"),
])
def test_apply_employee_refuses_impossible_states_and_changes_nothing(session_factory, desired, reason):
    with session_factory.begin() as session:
        apply_employee(session, DesiredEmployee("U0LEA", name="Léa Martin"), actor="cli", via="cli")
    with session_factory.begin() as session, pytest.raises(EmployeeRefused) as refused:
        apply_employee(session, desired, actor="cli", via="cli")
    assert str(refused.value) == reason
    assert state(employees(session_factory)["U0LEA"]) == ("Léa Martin", None, "associate", None, None, None, None, True)


def test_deactivate_and_reactivate_one_employee(session_factory, tmp_path):
    run_import(session_factory, write(tmp_path, STAFF))
    with session_factory.begin() as session:
        assert set_active(session, "U0MAX", False, actor="cli:root", via="cli").loses_access
    with session_factory.begin() as session:
        assert not set_active(session, "U0MAX", False, actor="cli:root", via="cli").changed  # already
    assert employees(session_factory)["U0MAX"].active is False
    with session_factory.begin() as session:
        assert set_active(session, "U0MAX", True, actor="cli:root", via="cli").gains_access
    assert state(employees(session_factory)["U0MAX"])[2:] == ("manager", "Paris floor", "PAR01", "en",
                                                             "Europe/London", True)
    with session_factory() as session:
        assert [(e.actor, e.action) for e in access_history(session, "U0MAX")] == [
            ("cli:tester", "register"), ("cli:root", "deactivate"), ("cli:root", "reactivate")]
    with session_factory.begin() as session, pytest.raises(UnknownEmployee):
        set_active(session, "U0NOBODY", False, actor="cli:root", via="cli")


def test_list_orders_by_store_then_team_then_name(session_factory):
    run_import(session_factory, FIXTURES / "employees.csv")
    with session_factory() as session:
        listing = list_employees(session)
    assert [(e.store, e.team, e.name) for e in listing] == [
        ("PAR01", "Paris Opéra floor", "Alice Moreau"),
        ("PAR01", "Paris Opéra floor", "Bob Lee"),
        (None, "Call center", "Eve Laurent"),
    ]
