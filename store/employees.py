"""Who may use Frontline: the employee roster (Slack user, role, team, store, locale, time zone, active).

One code path changes an employee: `apply_employee` takes the state a source wants (the CSV roster
today, any other directory later), changes only the fields that source states, and returns what
changed. Every change of access it makes (registered, deactivated, reactivated, role, team or store)
is written to the audit trail in the same transaction, with who did it. Access itself is checked on
every request from the `active` flag (bot/access.py), so a change is in force at the next request of
every process.

Importing a roster file (`import_employees`) parses every row first, refuses duplicate Slack ids
with their line numbers, then applies each row through `apply_employee`; with `sync` whoever is
missing from the file is deactivated. Columns absent from the file leave those fields unchanged.
"""
from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import audit
from store.importing.fields import RowRejected, check_readable, flag, required_text, text
from store.importing.readers import ROW_ERROR, Row
from store.importing.report import ImportReport, RowProblem
from store.models import ROLES, AuditEvent, Employee, EmployeeAccessHold, Store, Team
from store.normalize import normalise_email
from store.vocabulary import ACCESS_ACTIONS, AuditAction, Role

EMPLOYEE_COLUMNS = ("slack_user_id", "name", "email", "role", "team", "store", "locale", "timezone", "active")
LOCALES = ("en", "fr")
FALLBACK_LOCALE = "en"
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")
# A language tag as Slack and spreadsheets write it: "fr", "fr-FR", "en_GB", "zh-Hant-TW".
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8}){0,3}")


class _Keep(enum.Enum):
    KEEP = "keep"

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep.KEEP
"""A field of DesiredEmployee the source says nothing about: left as it is (or its default when new)."""
Keep = Literal[_Keep.KEEP]


@dataclass(frozen=True)
class DesiredEmployee:
    """The state a source wants for one employee. KEEP leaves a field unchanged; None clears it.

    `team` is a team name and `store` a store code (created when new). For a new employee `name` is
    required, and `role` defaults to associate, `active` to true, everything else to empty.
    """

    slack_user_id: str
    name: str | Keep = KEEP
    email: str | Keep | None = KEEP
    role: str | Keep = KEEP  # a Role; checked, as any source may send anything
    team: str | Keep | None = KEEP
    store: str | Keep | None = KEEP
    locale: str | Keep | None = KEEP
    timezone: str | Keep | None = KEEP
    active: bool | Keep = KEEP


@dataclass(frozen=True)
class EmployeeChange:
    """What `apply_employee` did to one employee (`changed` is empty when nothing did)."""

    slack_user_id: str
    name: str
    created: bool
    changed: tuple[str, ...]
    was_active: bool | None  # None when created
    active: bool
    old_role: str | None  # None when created
    role: str
    # The source asked for access, but an admin's deactivation holds (only an admin's reactivation lifts it).
    held: bool = False

    @property
    def gains_access(self) -> bool:
        return self.active and not self.was_active

    @property
    def loses_access(self) -> bool:
        return bool(self.was_active) and not self.active

    @property
    def role_changed(self) -> bool:
        return self.old_role is not None and self.old_role != self.role


class EmployeeRefused(ValueError):
    """The desired state cannot be applied (unknown person without a name, bad role...): nothing changed."""


class UnknownEmployee(LookupError):
    """No employee has this Slack id."""


# The fields compared to tell what changed; team and store by id, named in the audit detail.
_COMPARED = ("name", "email", "role", "team_id", "store_id", "locale", "timezone", "active")


def apply_employee(session: Session, desired: DesiredEmployee, *, actor: str, via: str,
                   actor_employee_id: int | None = None, known: Employee | Keep | None = KEEP,
                   places: Places | None = None, by_admin: bool = False) -> EmployeeChange:
    """Create or update one employee to `desired` (KEEP fields untouched) and audit every access change.

    One rule for every source: an admin's explicit deactivation (`by_admin`, `frontline employees
    deactivate`) holds until an admin reactivates (`by_admin` again). A source that only states what it
    knows (a roster row, Slack's directory, a directory event) cannot give that access back: the other
    fields still follow it, and the change says `held`. A source may always take access away.

    `known` is the employee with this Slack id when the caller has read it already (None: nobody has it),
    which saves a query per person to a caller going through a whole directory. The employee and the audit
    rows are written at the session's next flush (the caller's commit, or a query's autoflush). `places`:
    the stores and teams this transaction already knows (see Places).
    Raises EmployeeRefused, before changing anything, when the state is not one an employee may have.
    """
    _check(desired)
    employee = (session.scalar(select(Employee).where(Employee.slack_user_id == desired.slack_user_id))
                if known is KEEP else known)
    created = employee is None
    if employee is None:
        if desired.name is KEEP:
            raise EmployeeRefused(f"{desired.slack_user_id} is not registered yet: a name is needed to add them")
        employee = Employee(slack_user_id=desired.slack_user_id, name=desired.name, role=Role.ASSOCIATE, active=True,
                            email=None, locale=None, timezone=None, team_id=None, store_id=None)
        session.add(employee)
        before: dict[str, Any] = {}
        old_team = old_store = None
    else:
        before = {name: getattr(employee, name) for name in _COMPARED}
        old_team, old_store = employee.team, employee.store
    held = (not created and not by_admin and desired.active is True and not employee.active
            and session.get(EmployeeAccessHold, employee.id) is not None)
    for name in ("name", "email", "role", "locale", "timezone", "active"):
        value = getattr(desired, name)
        if value is not KEEP and not (held and name == "active"):
            setattr(employee, name, value)
    if by_admin and not created and desired.active is not KEEP:
        hold = session.get(EmployeeAccessHold, employee.id)
        if desired.active is False and hold is None:
            session.add(EmployeeAccessHold(employee_id=employee.id))
        elif desired.active is True and hold is not None:
            session.delete(hold)
    if desired.store is not KEEP:
        employee.store = _store(session, desired.store, places)
    if desired.team is not KEEP:
        employee.team = _team(session, desired.team, employee.store, places)
    after = {name: getattr(employee, name) for name in _COMPARED}
    # A team or store set above counts by its id already: the employee itself is written at the caller's
    # next flush, so that a whole roster or directory goes to the database in batches, not a row at a time.
    if desired.store is not KEEP:
        after["store_id"] = employee.store.id if employee.store else None
    if desired.team is not KEEP:
        after["team_id"] = employee.team.id if employee.team else None
    changed = tuple(name.removesuffix("_id") for name in _COMPARED if not created and before[name] != after[name])
    change = EmployeeChange(
        slack_user_id=employee.slack_user_id, name=employee.name, created=created, changed=changed,
        was_active=None if created else before["active"], active=employee.active,
        old_role=None if created else before["role"], role=employee.role, held=held,
    )

    def trail(action: AuditAction, **detail: Any) -> None:
        audit.record(session, employee_id=actor_employee_id, actor=actor[:64], action=action, customer_id=None,
                     via=via[:32], detail={"employee": employee.slack_user_id, **detail})

    if created:
        trail(AuditAction.REGISTER, role=employee.role, active=employee.active,
              team=employee.team.name if employee.team else None, store=employee.store.code if employee.store else None)
        return change
    # `by_admin` in the detail: this deactivation holds against syncs, or this reactivation lifted it.
    if change.loses_access:
        trail(AuditAction.DEACTIVATE, **({"by_admin": True} if by_admin else {}))
    elif change.gains_access:
        trail(AuditAction.REACTIVATE, **({"by_admin": True} if by_admin else {}))
    if change.role_changed:
        trail(AuditAction.ROLE, before=change.old_role, after=change.role)
    if "team" in changed:
        trail(AuditAction.TEAM, before=old_team.name if old_team else None, after=employee.team.name if employee.team else None)
    if "store" in changed:
        trail(AuditAction.STORE, before=old_store.code if old_store else None,
              after=employee.store.code if employee.store else None)
    return change


def _check(desired: DesiredEmployee) -> None:
    if not _SLACK_USER_ID.fullmatch(desired.slack_user_id):
        raise EmployeeRefused("not a Slack user id (U or W followed by capitals and digits)")
    if desired.name is not KEEP and not (desired.name or "").strip():
        raise EmployeeRefused("missing name")
    if desired.role is not KEEP and desired.role not in ROLES:
        raise EmployeeRefused(f"unknown role {desired.role!r} (one of {', '.join(ROLES)})")
    if desired.locale not in (KEEP, None, *LOCALES):
        raise EmployeeRefused(f"unknown locale {desired.locale!r} (one of {', '.join(LOCALES)})")
    if desired.active not in (KEEP, True, False):
        raise EmployeeRefused("active must be true or false")
    for name, longest in _LONGEST.items():
        value = getattr(desired, name)
        if isinstance(value, str) and len(value) > longest:
            raise EmployeeRefused(f"{name} is longer than {longest} characters")
    if isinstance(desired.timezone, str):
        try:
            ZoneInfo(desired.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise EmployeeRefused(f"unknown time zone {desired.timezone!r} (an IANA name such as Europe/Paris)") from None


# The column sizes (store.models), checked here so that both databases refuse the same way.
_LONGEST = {"name": 200, "email": 320, "team": 120, "store": 32, "timezone": 64}


def set_active(session: Session, slack_user_id: str, active: bool, *, actor: str, via: str) -> EmployeeChange:
    """An admin deactivates (active=False) or reactivates one registered employee; audited when it changes
    anything. The deactivation holds against every sync until an admin reactivates (apply_employee)."""
    if not _SLACK_USER_ID.fullmatch(slack_user_id):
        raise EmployeeRefused("not a Slack user id (U or W followed by capitals and digits)")
    if session.scalar(select(Employee.id).where(Employee.slack_user_id == slack_user_id)) is None:
        raise UnknownEmployee(slack_user_id)
    return apply_employee(session, DesiredEmployee(slack_user_id=slack_user_id, active=active), actor=actor, via=via,
                          by_admin=True)


@dataclass
class Places:
    """The stores (by code) and teams (by name) one transaction has read or made: a caller applying a whole
    directory passes one to apply_employee, which then asks the database once per store or team, not once
    per person. Only valid within that transaction."""

    stores: dict[str, Store] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)


def _store(session: Session, code: str | None, places: Places | None) -> Store | None:
    if not code:
        return None
    store = places.stores.get(code) if places else None
    if store is None:
        store = session.scalar(select(Store).where(Store.code == code))
    if store is None:
        store = Store(code=code, name=code)
        session.add(store)
        session.flush()
    if places is not None:
        places.stores[code] = store
    return store


def _team(session: Session, name: str | None, store: Store | None, places: Places | None) -> Team | None:
    if not name:
        return None
    team = places.teams.get(name) if places else None
    if team is None:
        team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        # A new team belongs to the store of its first member.
        team = Team(name=name, store_id=store.id if store else None)
        session.add(team)
        session.flush()
    if places is not None:
        places.teams[name] = team
    return team


@dataclass(frozen=True)
class FoldedLocale:
    language: str  # one of LOCALES
    available: bool  # False: the language asked for is not one we have, FALLBACK_LOCALE is used


def fold_locale(value: str) -> FoldedLocale:
    """A language tag as Slack writes it ("fr-FR", "en_GB", "de") folded to a language we speak.

    Raises ValueError when `value` is not a language tag at all.
    """
    match = _LANGUAGE_TAG.fullmatch(value.strip())
    if match is None:
        raise ValueError(value)
    language = match.group(1).lower()
    if language in LOCALES:
        return FoldedLocale(language=language, available=True)
    return FoldedLocale(language=FALLBACK_LOCALE, available=False)


# --- Importing a roster file ---------------------------------------------------------------------


class AccessChanges:
    """Who gained or lost access, changed role or moved, among `changes`: the same reading for a roster
    import and a directory sync (each a dataclass holding `changes`)."""

    changes: list[EmployeeChange]

    @property
    def gained_access(self) -> list[EmployeeChange]:
        return [change for change in self.changes if change.gains_access]

    @property
    def lost_access(self) -> list[EmployeeChange]:
        return [change for change in self.changes if change.loses_access]

    @property
    def held(self) -> list[EmployeeChange]:
        """Whom the source would have given access back, kept deactivated as an admin decided."""
        return [change for change in self.changes if change.held]

    @property
    def role_changes(self) -> list[EmployeeChange]:
        return [change for change in self.changes if change.role_changed]

    @property
    def moves(self) -> list[EmployeeChange]:
        """Who changed team or store (their role or access may have changed too)."""
        return [change for change in self.changes if {"team", "store"} & set(change.changed)]


@dataclass
class RosterReport(ImportReport, AccessChanges):
    """An ImportReport plus the access changes made (or, on a dry run, that would be made)."""

    changes: list[EmployeeChange] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    # Set when the whole import was refused (nothing applied): the reason, for one line of output.
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return self.rejected == 0 and self.refused is None

    def summary(self) -> str:
        text = super().summary()
        if self.lost_access:
            text += f", {len(self.lost_access)} deactivated"
        return text


def parse_employee(row: Row) -> tuple[DesiredEmployee, list[str]]:
    """One roster row as a DesiredEmployee, and warnings about it. A column the row does not have is
    KEEP; an empty cell clears an optional field (email, team, store, locale, timezone) and leaves role
    and active as they are (associate and active for someone new)."""
    check_readable(row)
    warnings: list[str] = []
    slack_user_id = required_text(row, "slack_user_id", 32)
    if not _SLACK_USER_ID.fullmatch(slack_user_id):
        raise RowRejected("slack_user_id is not a Slack user id (U or W followed by capitals and digits)")
    values: dict[str, Any] = {"slack_user_id": slack_user_id}
    if "name" in row:
        values["name"] = required_text(row, "name", 200)
    if "email" in row:
        try:
            values["email"] = normalise_email(text(row, "email", 320))
        except ValueError:
            raise RowRejected("malformed email") from None
    if "role" in row and (role := text(row, "role", 64)):
        if role.lower() not in ROLES:
            raise RowRejected(f"unknown role {role.lower()!r} (one of {', '.join(ROLES)})")
        values["role"] = Role(role.lower())
    for name, max_length in (("team", 120), ("store", 32)):
        if name in row:
            values[name] = text(row, name, max_length)
    if "locale" in row:
        values["locale"] = None
        if locale := text(row, "locale", 35):
            try:
                folded = fold_locale(locale)
            except ValueError:
                raise RowRejected("locale is not a language code such as fr, en or fr-FR") from None
            if not folded.available:
                warnings.append(f"locale {locale!r} is not available (one of {', '.join(LOCALES)}): "
                                f"{folded.language} is used")
            values["locale"] = folded.language
    if "timezone" in row:
        values["timezone"] = timezone = text(row, "timezone", 64)
        if timezone:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise RowRejected(f"unknown time zone {timezone!r} (an IANA name such as Europe/Paris)") from None
    if "active" in row and text(row, "active", 5):
        try:
            values["active"] = flag(row, "active")
        except RowRejected:
            raise RowRejected("active must be true or false (yes/no, oui/non, 1/0)") from None
    return DesiredEmployee(**values), warnings


def import_employees(session: Session, *, rows: Iterable[tuple[int, Row]], sync: bool = False,
                     actor: str = "import", via: str = "import") -> RosterReport:
    """Create or update (by slack_user_id) the employee of every good row.

    A Slack id on several rows rejects all of them (the report names every line). Without `sync`,
    employees missing from the file are left as they are and good rows are applied even when others
    are rejected. With `sync` the file is the whole roster: whoever is missing from it is deactivated,
    and any rejected row refuses the whole import (nothing changes) rather than deactivating someone
    whose row could not be read. The caller owns the transaction (a dry run rolls it back).
    """
    report = RosterReport(kind="employees")
    parsed: list[tuple[int, DesiredEmployee]] = []
    lines_of: dict[str, list[int]] = {}
    unknown_columns: set[str] = set()
    for line, row in rows:
        report.read += 1
        for column in row.keys() - set(EMPLOYEE_COLUMNS) - unknown_columns:
            if column and column != ROW_ERROR:
                unknown_columns.add(column)
                report.warnings.append(RowProblem(
                    line=line, reason=f"column {column[:40]!r} is not an employee column: ignored"))
        try:
            desired, warnings = parse_employee(row)
        except RowRejected as problem:
            report.reject(line, str(problem))
            continue
        report.warnings.extend(RowProblem(line=line, reason=warning) for warning in warnings)
        parsed.append((line, desired))
        lines_of.setdefault(desired.slack_user_id, []).append(line)
    registered = set(session.scalars(select(Employee.slack_user_id)))
    good: list[tuple[int, DesiredEmployee]] = []
    for line, desired in parsed:
        lines = lines_of[desired.slack_user_id]
        if len(lines) > 1:
            report.reject(line, f"{desired.slack_user_id} is on lines {_and(lines)}: one row per employee "
                                "(none of these rows was imported)")
        elif desired.slack_user_id not in registered and desired.name is KEEP:
            report.reject(line, "missing name (needed to add an employee who is not registered yet)")
        else:
            good.append((line, desired))
    report.in_line_order()
    report.warnings.sort(key=lambda warning: warning.line)
    if sync and report.rejected:
        report.refused = (f"--sync: {report.rejected} row(s) rejected, so nothing was changed (nobody is "
                          "deactivated because of a row that could not be read); fix the file and import again")
        return report
    if sync and not good:
        report.refused = "--sync: the file lists nobody, which would deactivate every employee; nothing was changed"
        return report
    for line, desired in good:
        try:
            change = apply_employee(session, desired, actor=actor, via=via)
        except EmployeeRefused as problem:  # parse_employee already checked what apply checks
            report.reject(line, str(problem))
            continue
        _count(report, change)
    if sync:
        for change in deactivate_missing(session, set(lines_of), actor=actor, via=via):
            _count(report, change, from_file=False)
    return report


def deactivate_missing(session: Session, present: set[str], *, actor: str, via: str) -> list[EmployeeChange]:
    """Deactivate every active employee whose Slack id is not in `present` (a source's whole roster)."""
    active = session.scalars(
        select(Employee.slack_user_id).where(Employee.active.is_(True)).order_by(Employee.slack_user_id)).all()
    return [apply_employee(session, DesiredEmployee(slack_user_id=slack_user_id, active=False), actor=actor, via=via)
            for slack_user_id in active if slack_user_id not in present]


def _count(report: RosterReport, change: EmployeeChange, *, from_file: bool = True) -> None:
    # created/updated/unchanged count the file's rows; whoever --sync deactivates is counted apart.
    if change.created:
        report.created += 1
    elif from_file:
        if change.changed:
            report.updated += 1
        else:
            report.unchanged += 1
    if change.created or change.changed or change.held:
        report.changes.append(change)


def _and(numbers: list[int]) -> str:
    words = [str(number) for number in numbers]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


# --- Reading the roster --------------------------------------------------------------------------


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
        EmployeeListing(slack_user_id=e.slack_user_id, name=e.name, role=e.role, team=team, store=store,
                        locale=e.locale, timezone=e.timezone, active=e.active)
        for e, team, store in session.execute(statement)
    ]


@dataclass(frozen=True)
class AccessEvent:
    at: dt.datetime
    actor: str
    action: str
    employee: str
    detail: dict[str, Any]
    via: str


def access_history(session: Session, slack_user_id: str | None = None, *, limit: int = 1000) -> list[AccessEvent]:
    """The audited access changes, oldest first; of one employee when `slack_user_id` is given."""
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_(ACCESS_ACTIONS), AuditEvent.customer_id.is_(None))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    history: list[AccessEvent] = []
    for event in events:
        subject = (event.detail or {}).get("employee")
        if not isinstance(subject, str) or (slack_user_id and subject != slack_user_id):
            continue
        detail = {k: v for k, v in event.detail.items() if k != "employee"}
        history.append(AccessEvent(at=event.at, actor=event.actor, action=event.action, employee=subject,
                                   detail=detail, via=event.via))
        if len(history) >= limit:
            break
    history.reverse()
    return history
