"""One rule for an admin's deactivation against every sync: it holds until an admin reactivates.

The CSV roster (`employees import --sync`, a row saying active) and Slack's directory (the sync and its
live events, through apply_directory_user) share apply_employee, so both are held the same way."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from store.directory import DirectoryUser, apply_directory_user, parse_mapping, sync_directory
from store.employees import deactivate_missing, import_employees, set_active
from store.importing import read_rows
from store.models import AuditEvent, Employee, EmployeeAccessHold

MAPPING = parse_mapping('[roles]\nassociate = { groups = ["call-center"] }\nmanager = { groups = ["managers"] }\n')
ROSTER = ("slack_user_id,name,role,active\n"
          "U0ADA,Ada Admin,admin,yes\n"
          "U0ALI,Ali Renamed,manager,yes\n")


def _import(session_factory, tmp_path: Path, text: str = ROSTER):
    path = tmp_path / "staff.csv"
    path.write_text(text, encoding="utf-8")
    with session_factory.begin() as session:
        return import_employees(session, rows=read_rows(path), sync=True, actor="cli:tester", via="cli")


def _ali(session_factory) -> Employee:
    with session_factory() as session:
        return session.scalars(select(Employee).where(Employee.slack_user_id == "U0ALI")).one()


def _access_trail(session_factory) -> list[tuple[str, str, dict]]:
    with session_factory() as session:
        rows = session.execute(select(AuditEvent.action, AuditEvent.via, AuditEvent.detail)
                               .where(AuditEvent.action.in_(("deactivate", "reactivate")))
                               .order_by(AuditEvent.id)).all()
    return [(action, via, detail) for action, via, detail in rows if detail.get("employee") == "U0ALI"]


def _admin_deactivates_ali(session_factory, tmp_path):
    _import(session_factory, tmp_path, "slack_user_id,name,role\nU0ADA,Ada Admin,admin\nU0ALI,Ali,associate\n")
    with session_factory.begin() as session:
        set_active(session, "U0ALI", False, actor="it.admin", via="cli")


def test_the_roster_sync_keeps_an_admins_deactivation_and_still_updates_the_rest(session_factory, tmp_path):
    _admin_deactivates_ali(session_factory, tmp_path)
    report = _import(session_factory, tmp_path)
    ali = _ali(session_factory)
    assert not ali.active and ali.name == "Ali Renamed" and ali.role == "manager"
    assert [change.slack_user_id for change in report.held] == ["U0ALI"] and report.gained_access == []
    assert _access_trail(session_factory) == [("deactivate", "cli", {"employee": "U0ALI", "by_admin": True})]

    with session_factory.begin() as session:
        set_active(session, "U0ALI", True, actor="it.admin", via="cli")
    assert _ali(session_factory).active
    assert _access_trail(session_factory)[-1] == ("reactivate", "cli", {"employee": "U0ALI", "by_admin": True})
    # Lifted: a later sync's deactivation is an ordinary one, and the next sync gives access back.
    _import(session_factory, tmp_path, "slack_user_id,name\nU0ADA,Ada Admin\n")
    assert not _ali(session_factory).active
    _import(session_factory, tmp_path)
    assert _ali(session_factory).active


def test_the_directory_sync_and_its_events_keep_an_admins_deactivation(session_factory, tmp_path):
    _admin_deactivates_ali(session_factory, tmp_path)
    ali = DirectoryUser(slack_user_id="U0ALI", name="Ali Renamed", email="ali@retail.example")
    with session_factory.begin() as session:
        report = sync_directory(session, [ali], {"call-center": ["U0ALI"]}, MAPPING, actor="it.admin",
                                via="directory")
    assert [change.slack_user_id for change in report.held] == ["U0ALI"] and report.gained_access == []
    employee = _ali(session_factory)
    assert not employee.active and employee.name == "Ali Renamed" and employee.email == "ali@retail.example"

    with session_factory.begin() as session:  # a user_change / subteam_members_changed event: the same path
        change = apply_directory_user(session, ali, frozenset({"managers"}), MAPPING, actor="slack",
                                      via="slack-event")
    assert change is not None and change.held and not change.active and change.role == "manager"
    assert not _ali(session_factory).active
    assert [action for action, _, _ in _access_trail(session_factory)] == ["deactivate"]

    with session_factory.begin() as session:
        set_active(session, "U0ALI", True, actor="it.admin", via="cli")
    assert _ali(session_factory).active


def test_a_deactivation_by_a_sync_is_not_an_admins_and_is_lifted_by_the_next_sync(session_factory, tmp_path):
    _import(session_factory, tmp_path)
    with session_factory.begin() as session:
        deactivate_missing(session, {"U0ADA"}, actor="it.admin", via="directory")
    with session_factory() as session:
        assert session.get(EmployeeAccessHold, _ali(session_factory).id) is None
    ali = DirectoryUser(slack_user_id="U0ALI", name="Ali")
    with session_factory.begin() as session:
        report = sync_directory(session, [ali, DirectoryUser(slack_user_id="U0ADA", name="Ada")],
                                {"call-center": ["U0ALI", "U0ADA"]}, MAPPING, actor="it.admin", via="directory")
    assert [change.slack_user_id for change in report.gained_access] == ["U0ALI"] and report.held == []
    assert _ali(session_factory).active
