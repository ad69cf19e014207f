"""Who may do what: every role rule of Frontline, in one place.

Two layers use it and nothing else decides:
- bot.access (Slack middleware): who is asking (a registered, active employee, from the signed
  request) and `role_required(...)` for listeners reserved to a role;
- domain functions that need to know *which rows* a person may reach (KPI scopes, follow-ups of a
  colleague, team digests) call the predicates below with the access middleware's snapshot.

Roles are ranked: an admin may do whatever a manager may, a manager whatever an associate may.
Managers see and act for their own team (their store when the colleague has no team); admins for
everyone; associates for themselves. Every registered employee may look customers up.
"""
from __future__ import annotations

from typing import Protocol

ROLE_RANK = {"associate": 0, "manager": 1, "admin": 2}


class Person(Protocol):
    id: int
    role: str
    team_id: int | None
    store_id: int | None


def has_role(person: Person, role: str) -> bool:
    return ROLE_RANK.get(person.role, -1) >= ROLE_RANK[role]


def is_admin(person: Person) -> bool:
    return has_role(person, "admin")


def acts_for(actor: Person, colleague: Person) -> bool:
    """May `actor` see the figures of, or close and move the follow-ups of, `colleague`?"""
    if actor.id == colleague.id or is_admin(actor):
        return True
    if not has_role(actor, "manager"):
        return False
    if colleague.team_id is not None:
        return actor.team_id == colleague.team_id
    return colleague.store_id is not None and actor.store_id == colleague.store_id


def sees_team(actor: Person) -> bool:
    """Team figures and the team digest: managers (and admins) of a team."""
    return has_role(actor, "manager") and actor.team_id is not None


def sees_store(actor: Person, store_id: int) -> bool:
    return is_admin(actor) or (has_role(actor, "manager") and actor.store_id == store_id)


def sees_everything(actor: Person) -> bool:
    return is_admin(actor)
