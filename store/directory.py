"""Who may use Frontline, from a directory (Slack's): a mapping file says who is what, and every change
goes through `store.employees.apply_employee`, the one code path (and audit trail) of the CSV roster.

The mapping (TOML, documented in the README):

    allow_guests = false                 # guests (restricted accounts) never get access unless true

    [roles]                              # the highest role matched wins; matching any rule gives access
    admin = { groups = ["frontline-admins"] }
    manager = { groups = ["store-managers"], profile = { title = ["Store Manager"] } }
    associate = { groups = ["paris-floor"] }

    [[teams]]                            # the first listed group a person is in gives their team and store
    group = "paris-floor"
    team = "Paris floor"
    store = "PAR01"

Someone in a `[[teams]]` group and matching no role rule is an associate. Deleted users, bots, guests
(unless allowed) and whoever is in no mapped group and matches no profile rule lose access. Nothing
here knows Slack's client: the caller reads the directory and hands over plain DirectoryUser values.
"""
from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.employees import (
    KEEP,
    AccessChanges,
    Keep,
    Places,
    DesiredEmployee,
    EmployeeChange,
    EmployeeRefused,
    apply_employee,
    deactivate_missing,
    fold_locale,
)
from store.models import Employee, Store, Team
from store.normalize import normalise_email
from store.vocabulary import Role

# Highest first: the first role whose rule matches is the person's role.
_RANKED = (Role.ADMIN, Role.MANAGER, Role.ASSOCIATE)
# Slack's own account that posts system messages: a user record, never a person.
_SLACKBOT = "USLACKBOT"
# People applied between two flushes of a sync.
_BATCH = 2000


class MappingError(ValueError):
    """The mapping file cannot be used; the message says where and why, in one line."""


@dataclass(frozen=True)
class RoleRule:
    groups: frozenset[str] = frozenset()
    # profile field -> the values that match it (compared without case or surrounding spaces)
    profile: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class TeamRule:
    group: str
    team: str
    store: str | None


@dataclass(frozen=True)
class DirectoryMapping:
    roles: Mapping[Role, RoleRule]
    teams: tuple[TeamRule, ...] = ()
    allow_guests: bool = False

    @property
    def groups(self) -> frozenset[str]:
        """Every user-group handle the mapping names: the only groups whose members need reading."""
        named = {group for rule in self.roles.values() for group in rule.groups}
        return frozenset(named | {rule.group for rule in self.teams})


@dataclass(frozen=True)
class DirectoryUser:
    """One person of the directory, as plain values (Slack's users.list entry, read by the caller)."""

    slack_user_id: str
    name: str
    email: str | None = None
    locale: str | None = None
    timezone: str | None = None
    deleted: bool = False
    is_bot: bool = False
    is_guest: bool = False  # Slack's is_restricted or is_ultra_restricted
    profile: Mapping[str, str] = field(default_factory=dict)


def parse_mapping(text: str) -> DirectoryMapping:
    """The mapping file's text as a DirectoryMapping, or MappingError naming the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"not valid TOML: {error}") from None
    unknown = set(data) - {"roles", "teams", "allow_guests"}
    if unknown:
        raise MappingError(f"unknown key {sorted(unknown)[0]!r} (roles, teams and allow_guests are known)")
    allow_guests = data.get("allow_guests", False)
    if not isinstance(allow_guests, bool):
        raise MappingError("allow_guests must be true or false")
    roles_table = data.get("roles", {})
    if not isinstance(roles_table, dict):
        raise MappingError("[roles] must be a table")
    roles: dict[Role, RoleRule] = {}
    for name, rule in roles_table.items():
        if name not in {role.value for role in Role}:
            raise MappingError(f"roles.{name}: unknown role (one of {', '.join(Role)})")
        roles[Role(name)] = _role_rule(f"roles.{name}", rule)
    teams_list = data.get("teams", [])
    if not isinstance(teams_list, list):
        raise MappingError("teams must be a list of [[teams]] tables")
    teams = tuple(_team_rule(f"teams[{index}]", rule) for index, rule in enumerate(teams_list, 1))
    mapping = DirectoryMapping(roles=roles, teams=teams, allow_guests=allow_guests)
    if not mapping.groups and not any(rule.profile for rule in roles.values()):
        raise MappingError("maps no user group and no profile field: it would take everyone's access away")
    return mapping


def load_mapping(path: str | Path) -> DirectoryMapping:
    """The mapping file at `path`, or MappingError starting with the file's name (one line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MappingError(f"cannot read the mapping file {path}: {error.__class__.__name__}") from None
    try:
        return parse_mapping(text)
    except MappingError as error:
        raise MappingError(f"{path.name}: {error}") from None


def _role_rule(where: str, rule: object) -> RoleRule:
    if not isinstance(rule, dict):
        raise MappingError(f"{where} must be a table such as {{ groups = [\"handle\"] }}")
    unknown = set(rule) - {"groups", "profile"}
    if unknown:
        raise MappingError(f"{where}: unknown key {sorted(unknown)[0]!r} (groups and profile are known)")
    groups = rule.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(group, str) and group.strip() for group in groups):
        raise MappingError(f"{where}.groups must be a list of user-group handles")
    profile = rule.get("profile", {})
    if not isinstance(profile, dict):
        raise MappingError(f"{where}.profile must be a table of field = [values]")
    fields: dict[str, frozenset[str]] = {}
    for name, values in profile.items():
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise MappingError(f"{where}.profile.{name} must be a text or a list of texts")
        fields[name] = frozenset(_folded(value) for value in values)
    return RoleRule(groups=frozenset(_handle(group) for group in groups), profile=fields)


def _team_rule(where: str, rule: object) -> TeamRule:
    if not isinstance(rule, dict):
        raise MappingError(f"{where} must be a table with group, team and store")
    unknown = set(rule) - {"group", "team", "store"}
    if unknown:
        raise MappingError(f"{where}: unknown key {sorted(unknown)[0]!r} (group, team and store are known)")
    group, team, store = rule.get("group"), rule.get("team"), rule.get("store")
    if not isinstance(group, str) or not group.strip():
        raise MappingError(f"{where}.group must be a user-group handle")
    if not isinstance(team, str) or not team.strip() or len(team) > 120:
        raise MappingError(f"{where}.team must be a team name (at most 120 characters)")
    if store is not None and (not isinstance(store, str) or not store.strip() or len(store) > 32):
        raise MappingError(f"{where}.store must be a store code (at most 32 characters)")
    return TeamRule(group=_handle(group), team=team.strip(), store=store.strip() if store else None)


def _handle(group: str) -> str:
    # People write a handle as Slack shows it ("@paris-floor"); Slack's API gives it without the "@".
    return group.strip().removeprefix("@").lower()


def _folded(value: str) -> str:
    return value.strip().casefold()


def may_have_access(user: DirectoryUser, mapping: DirectoryMapping) -> bool:
    """False for whom no group can give access (deleted, a bot, a guest the mapping refuses): their groups
    need not even be read."""
    if user.deleted or user.is_bot or user.slack_user_id == _SLACKBOT:
        return False
    return mapping.allow_guests or not user.is_guest


def granted_role(user: DirectoryUser, groups: frozenset[str], mapping: DirectoryMapping) -> Role | None:
    """The role the mapping gives this person, or None when they may not use Frontline."""
    if not may_have_access(user, mapping):
        return None
    for role in _RANKED:
        rule = mapping.roles.get(role)
        if rule is None:
            continue
        if rule.groups & groups:
            return role
        if any(_folded(user.profile.get(name, "")) in values for name, values in rule.profile.items()):
            return role
    if any(rule.group in groups for rule in mapping.teams):
        return Role.ASSOCIATE
    return None


def desired_employee(user: DirectoryUser, groups: frozenset[str], mapping: DirectoryMapping) -> DesiredEmployee:
    """What the directory wants for this person: their access, role, team, store, e-mail, locale and time zone.

    `groups` are the handles of the user groups they are in. Someone without access keeps every other
    field as it is (only `active` is stated), so a later return restores them as they were.
    """
    role = granted_role(user, groups, mapping)
    if role is None:
        return DesiredEmployee(slack_user_id=user.slack_user_id, active=False)
    team = next((rule for rule in mapping.teams if rule.group in groups), None)
    return DesiredEmployee(
        slack_user_id=user.slack_user_id,
        name=user.name.strip()[:200] or user.slack_user_id,
        email=_email(user.email),
        role=role,
        # No team group: the team and store are left as they are (set by hand or by the CSV roster).
        team=team.team if team else KEEP,
        store=team.store if team else KEEP,
        locale=_locale(user.locale),
        timezone=_timezone(user.timezone),
        active=True,
    )


def _email(value: str | None) -> str | None:
    try:
        return normalise_email(value)
    except ValueError:  # Slack checks addresses; one it let through that we cannot use is simply left out
        return None


def _locale(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return fold_locale(value).language
    except ValueError:
        return None


def _timezone(value: str | None) -> str | None:
    if not value or len(value) > 64:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return value


@dataclass
class DirectorySyncReport(AccessChanges):
    """What a sync did (or, on a dry run, would do): every change, and who was read."""

    read: int = 0
    changes: list[EmployeeChange] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (Slack id, reason)

    def summary(self) -> str:
        return (f"directory: {self.read} people read, {len(self.gained_access)} gained access, "
                f"{len(self.lost_access)} lost access, {len(self.role_changes)} changed role, "
                f"{len(self.moves)} changed team or store")


def sync_directory(session: Session, users: Iterable[DirectoryUser], members: Mapping[str, Iterable[str]],
                   mapping: DirectoryMapping, *, actor: str, via: str) -> DirectorySyncReport:
    """Bring every employee in line with the directory. `members` maps a group handle to its user ids.

    People the directory has and the mapping refuses are only deactivated if registered (nobody is added
    just to be refused); registered employees the directory does not have at all lose access too. The
    caller owns the transaction (a dry run rolls it back).
    """
    groups_of: dict[str, set[str]] = {}
    for handle, user_ids in members.items():
        for user_id in user_ids:
            groups_of.setdefault(user_id, set()).add(_handle(handle))
    # Everyone registered, with the names of teams and stores, read once: whoever the directory leaves as
    # they are is recognised here without a query, and only a change goes to apply_employee.
    employees = {employee.slack_user_id: employee for employee in session.scalars(select(Employee))}
    team_names: dict[int, str] = dict(session.execute(select(Team.id, Team.name)).all())
    store_codes: dict[int, str] = dict(session.execute(select(Store.id, Store.code)).all())
    places = Places()
    report = DirectorySyncReport()
    seen: set[str] = set()
    # No flush before each read: a store or team is flushed where it is made, so its lookups miss nothing,
    # and the employees and audit rows wait for the batch flush below.
    with session.no_autoflush:
        for user in users:
            report.read += 1
            if user.slack_user_id in seen:  # listed twice (Slack should not): the first entry counts
                continue
            seen.add(user.slack_user_id)
            groups = frozenset(groups_of.get(user.slack_user_id, ()))
            employee = employees.get(user.slack_user_id)
            if employee is not None and _unchanged(employee, desired_employee(user, groups, mapping), team_names,
                                                   store_codes):
                continue
            try:
                change = apply_directory_user(session, user, groups, mapping, actor=actor, via=via, known=employee,
                                              places=places)
            except EmployeeRefused as problem:
                report.refused.append((user.slack_user_id, str(problem)))
                continue
            if change is not None and (change.created or change.changed or change.held):
                report.changes.append(change)
            if report.read % _BATCH == 0:
                # Written in batches of rows, and then forgotten by the session: memory stays bounded
                # whatever the size of the workspace, within the one transaction a dry run rolls back.
                session.flush()
    report.changes.extend(deactivate_missing(session, seen, actor=actor, via=via))
    report.changes = [change for change in report.changes if change.created or change.changed or change.held]
    return report


def _unchanged(employee: Employee, desired: DesiredEmployee, team_names: Mapping[int, str],
               store_codes: Mapping[int, str]) -> bool:
    """True when applying `desired` would change nothing (as apply_employee compares: a name of a team or
    a code of a store; an empty one is none). Anything unsure counts as a change: apply_employee decides."""
    current = {"name": employee.name, "email": employee.email, "role": employee.role, "locale": employee.locale,
               "timezone": employee.timezone, "active": employee.active,
               "team": team_names.get(employee.team_id) if employee.team_id is not None else None,
               "store": store_codes.get(employee.store_id) if employee.store_id is not None else None}
    for name, value in current.items():
        wanted = getattr(desired, name)
        if wanted is KEEP:
            continue
        if name in ("team", "store"):
            wanted = wanted or None
        if wanted != value:
            return False
    return True


def apply_directory_user(session: Session, user: DirectoryUser, groups: frozenset[str], mapping: DirectoryMapping,
                         *, actor: str, via: str, known: Employee | Keep | None = KEEP,
                         places: Places | None = None) -> EmployeeChange | None:
    """Bring one employee in line with their directory entry and the handles of their groups: the one
    path of the sync and of Slack's live events. None when the mapping refuses someone not registered
    (nobody is added just to be refused). `known` and `places`: as apply_employee's.

    Raises EmployeeRefused (nothing changed) when the entry cannot be an employee (a malformed id).
    """
    if known is KEEP:
        known = session.scalar(select(Employee).where(Employee.slack_user_id == user.slack_user_id))
    desired = desired_employee(user, groups, mapping)
    if desired.active is False and known is None:
        return None
    return apply_employee(session, desired, actor=actor, via=via, known=known, places=places)
