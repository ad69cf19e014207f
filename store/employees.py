"""Who may use Frontline: importing the employee list (Slack user, role, team, store, locale, time
zone) and listing it. Teams and stores named in the file are created when new.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.importing.fields import RowRejected, check_readable, choice, required_text, text
from store.importing.readers import Row
from store.importing.report import ImportReport
from store.models import ROLES, Employee, Store, Team
from store.normalize import normalise_email

EMPLOYEE_COLUMNS = ("slack_user_id", "name", "email", "role", "team", "store", "locale", "timezone")
LOCALES = ("en", "fr")
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


def parse_employee(row: Row) -> dict[str, Any]:
    check_readable(row)
    slack_user_id = required_text(row, "slack_user_id", 32)
    if not _SLACK_USER_ID.fullmatch(slack_user_id):
        raise RowRejected("slack_user_id is not a Slack user id (U or W followed by capitals and digits)")
    values: dict[str, Any] = {
        "slack_user_id": slack_user_id,
        "name": required_text(row, "name", 200),
        "role": choice(row, "role", ROLES, default="associate"),
        "team": text(row, "team", 120),
        "store": text(row, "store", 32),
        "locale": None,
        "timezone": text(row, "timezone", 64),
    }
    try:
        values["email"] = normalise_email(text(row, "email", 320))
    except ValueError:
        raise RowRejected("malformed email") from None
    if text(row, "locale", 8):
        values["locale"] = choice(row, "locale", LOCALES)
    if values["timezone"]:
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise RowRejected(f"unknown time zone {values['timezone']!r} (an IANA name such as Europe/Paris)") from None
    return values


def import_employees(session: Session, *, rows: Iterable[tuple[int, Row]]) -> ImportReport:
    """Create or update (by slack_user_id) the employee of every good row; employees missing from
    the file are left as they are. Employee lists are small: one pass, no batching."""
    report = ImportReport(kind="employees")
    stores = {store.code: store for store in session.scalars(select(Store))}
    teams = {team.name: team for team in session.scalars(select(Team))}
    seen: dict[str, int] = {}
    for line, row in rows:
        report.read += 1
        try:
            values = parse_employee(row)
        except RowRejected as problem:
            report.reject(line, str(problem))
            continue
        if values["slack_user_id"] in seen:
            report.superseded += 1
        seen[values["slack_user_id"]] = line
        store = _store(session, stores, values.pop("store"))
        team = _team(session, teams, values.pop("team"), store)
        values["store_id"] = store.id if store else None
        values["team_id"] = team.id if team else None
        employee = session.scalar(select(Employee).where(Employee.slack_user_id == values["slack_user_id"]))
        if employee is None:
            session.add(Employee(**values))
            session.flush()
            report.created += 1
        elif any(getattr(employee, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(employee, name, value)
            session.flush()
            report.updated += 1
        else:
            report.unchanged += 1
    return report


def _store(session: Session, stores: dict[str, Store], code: str | None) -> Store | None:
    if not code:
        return None
    if code not in stores:
        stores[code] = Store(code=code, name=code)
        session.add(stores[code])
        session.flush()
    return stores[code]


def _team(session: Session, teams: dict[str, Team], name: str | None, store: Store | None) -> Team | None:
    if not name:
        return None
    if name not in teams:
        teams[name] = Team(name=name, store_id=store.id if store else None)
        session.add(teams[name])
        session.flush()
    return teams[name]


@dataclass(frozen=True)
class EmployeeListing:
    slack_user_id: str
    name: str
    role: str
    team: str | None
    store: str | None
    locale: str | None
    timezone: str | None
    active: bool


def list_employees(session: Session) -> list[EmployeeListing]:
    statement = (
        select(Employee, Team.name, Store.code)
        .outerjoin(Team, Employee.team_id == Team.id)
        .outerjoin(Store, Employee.store_id == Store.id)
        .order_by(Store.code.nulls_last(), Team.name.nulls_last(), Employee.name, Employee.slack_user_id)
    )
    return [
        EmployeeListing(e.slack_user_id, e.name, e.role, team, store, e.locale, e.timezone, e.active)
        for e, team, store in session.execute(statement)
    ]
