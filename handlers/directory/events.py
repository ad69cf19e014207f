"""Slack's directory kept live: `team_join`, `user_change` and `subteam_members_changed` update the person
through store.directory.apply_directory_user, the path of `frontline employees sync`, so every change of
access is audited the same way and in force at the person's next request (bot/access.py re-reads it).

Without a mapping file (FRONTLINE_DIRECTORY_MAPPING) the events are acknowledged and ignored: the
workspace's roster then comes from the CSV import. A mapping file that cannot be read is logged (its
problem, no user data) and the event ignored: a broken file must not take everyone's access away.
"""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from handlers.context import ListenerSettings, SessionFactory
from handlers.directory.users import directory_user, groups_of, groups_with_members
from store.directory import (
    DirectoryMapping,
    DirectoryUser,
    MappingError,
    apply_directory_user,
    load_mapping,
    may_have_access,
)
from store.employees import EmployeeRefused

log = logging.getLogger(__name__)

# Events about the workspace, not requests of a person: bot/access.py lets them through to these listeners.
DIRECTORY_EVENTS = frozenset({"team_join", "user_change", "subteam_members_changed"})
VIA = "slack-event"
ACTOR = "slack"


def register(app: App) -> None:
    app.event("team_join")(user_event)
    app.event("user_change")(user_event)
    app.event("subteam_members_changed")(members_changed)


def _mapping(settings: ListenerSettings) -> DirectoryMapping | None:
    path = settings.directory_mapping
    if not path:
        return None
    try:
        return load_mapping(path)
    except MappingError as error:
        log.warning("directory event ignored: %s", error)
        return None


def user_event(event: dict[str, Any], client: WebClient, settings: ListenerSettings, session_factory: SessionFactory) -> None:
    """A person joined or their record changed (deleted, guest, profile): apply it with their groups."""
    mapping = _mapping(settings)
    entry = event.get("user")
    if mapping is None or not isinstance(entry, dict):
        return
    user = directory_user(entry)
    # user_change comes with every status or profile edit; usergroups.list is rate-limited (tier 2), so
    # it is read only when a group could give this person access.
    members = groups_with_members(client, mapping.groups) if may_have_access(user, mapping) else {}
    _apply(session_factory, [user], members, mapping)


def members_changed(event: dict[str, Any], client: WebClient, settings: ListenerSettings, session_factory: SessionFactory) -> None:
    """People were added to or removed from a user group: apply each of them with their groups now."""
    mapping = _mapping(settings)
    if mapping is None:
        return
    user_ids = {str(user_id) for key in ("added_users", "removed_users") for user_id in event.get(key) or []}
    if not user_ids:
        return
    members = groups_with_members(client, mapping.groups)
    users = [directory_user(client.users_info(user=user_id, include_locale=True).get("user") or {"id": user_id})
             for user_id in sorted(user_ids)]
    _apply(session_factory, users, members, mapping)


def _apply(session_factory: SessionFactory, users: list[DirectoryUser], members: dict[str, list[str]],
           mapping: DirectoryMapping) -> None:
    with session_factory.begin() as session:
        for user in users:
            try:
                change = apply_directory_user(session, user, groups_of(user.slack_user_id, members), mapping,
                                              actor=ACTOR, via=VIA)
            except EmployeeRefused as problem:
                log.info("directory event for %s not applied: %s", user.slack_user_id, problem)
                continue
            if change is not None and (change.created or change.changed):
                log.info("directory event for %s: %s", user.slack_user_id,
                         "registered" if change.created else ", ".join(change.changed))
