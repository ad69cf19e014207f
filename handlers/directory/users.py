"""Slack's user records and user groups read into the plain values store.directory decides on.

A user object has the same shape in users.list, users.info and the team_join / user_change events, so
one reader serves the sync and the live events.
"""
from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from store.directory import DirectoryUser


def directory_user(entry: dict[str, Any]) -> DirectoryUser:
    """One Slack user object as a DirectoryUser (the e-mail is there with the users:read.email scope)."""
    profile = entry.get("profile")
    if not isinstance(profile, dict):
        profile = {}
    slack_user_id = str(entry.get("id") or "")
    return DirectoryUser(
        slack_user_id=slack_user_id,
        name=str(entry.get("real_name") or profile.get("real_name") or entry.get("name") or slack_user_id),
        email=_text(profile.get("email")),
        locale=_text(entry.get("locale")),
        timezone=_text(entry.get("tz")),
        deleted=bool(entry.get("deleted")),
        # An app's own user (is_app_user) is a bot too, for access.
        is_bot=bool(entry.get("is_bot")) or bool(entry.get("is_app_user")),
        is_guest=bool(entry.get("is_restricted")) or bool(entry.get("is_ultra_restricted")),
        profile={key: value for key, value in profile.items() if isinstance(value, str)},
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def groups_with_members(client: WebClient, handles: frozenset[str]) -> dict[str, list[str]]:
    """The members of each user group whose handle is in `handles`, in one call (usergroups.list with
    include_users): what a live event needs to know which groups one person is in."""
    groups = client.usergroups_list(include_users=True, include_disabled=False).get("usergroups") or []
    return {str(group.get("handle", "")).lower(): [str(user) for user in group.get("users") or []]
            for group in groups if str(group.get("handle", "")).lower() in handles}


def groups_of(user_id: str, members: dict[str, list[str]]) -> frozenset[str]:
    return frozenset(handle for handle, user_ids in members.items() if user_id in user_ids)
