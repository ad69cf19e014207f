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

from typing import Literal, Protocol

from store.vocabulary import Role

ROLE_RANK: dict[str, int] = {Role.ASSOCIATE: 0, Role.MANAGER: 1, Role.ADMIN: 2}


class Person(Protocol):
    """An Employee row or the access middleware's frozen snapshot: read-only is all the rules need."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...  # a Role; a plain str when read from a row
    @property
    def team_id(self) -> int | None: ...
    @property
    def store_id(self) -> int | None: ...


def has_role(person: Person, role: Role) -> bool:
    return ROLE_RANK.get(person.role, -1) >= ROLE_RANK[role]


def is_admin(person: Person) -> bool:
    return has_role(person, Role.ADMIN)


def acts_for(actor: Person, colleague: Person) -> bool:
    """May `actor` see the figures of, or close and move the follow-ups of, `colleague`?"""
    if actor.id == colleague.id or is_admin(actor):
        return True
    if not has_role(actor, Role.MANAGER):
        return False
    if colleague.team_id is not None:
        return actor.team_id == colleague.team_id
    return colleague.store_id is not None and actor.store_id == colleague.store_id


def sees_team(actor: Person) -> bool:
    """Team figures and the team digest: managers (and admins) of a team."""
    return has_role(actor, Role.MANAGER) and actor.team_id is not None


def sees_store(actor: Person, store_id: int) -> bool:
    return is_admin(actor) or (has_role(actor, Role.MANAGER) and actor.store_id == store_id)


def sees_everything(actor: Person) -> bool:
    return is_admin(actor)


# ---- figures (KPIs) ------------------------------------------------------------------------------
# One rule decides whose *individual* figures a viewer may see, and both paths use it: asking for a
# person directly (`/kpi @someone`) and a breakdown by employee of a wider scope (`/kpi store X by
# employee`). A breakdown that showed a row the direct question would refuse was the hole this closes.
# Scopes (team, store, company) are aggregates: a viewer allowed the scope may see its totals and its
# breakdowns by channel, type or day, which name nobody.

def sees_figures_of(viewer: Person, person: Person) -> bool:
    """May `viewer` see `person`'s own figures (asked for directly, or as a row of a breakdown)?"""
    return acts_for(viewer, person)


# Why a scope's figures are refused: the last part of a catalog key (kpi.refused.<reason>).
FiguresRefusal = Literal["all", "team_associate", "no_team", "store_associate", "not_your_store", "unknown_scope"]


def figures_refusal(viewer: Person, kind: str, *, store_id: int | None = None) -> FiguresRefusal | None:
    """Why `viewer` may not see the figures of a whole scope (a reason, never a name), or None if they may.

    `kind` is me | team | store | all; a person's figures are `sees_figures_of`."""
    if kind == "me":
        return None
    if kind == "all":
        return None if sees_everything(viewer) else "all"
    if kind == "team":
        if not has_role(viewer, Role.MANAGER):
            return "team_associate"
        return None if sees_team(viewer) else "no_team"
    if kind == "store":
        if not has_role(viewer, Role.MANAGER):
            return "store_associate"
        return None if store_id is not None and sees_store(viewer, store_id) else "not_your_store"
    return "unknown_scope"


# ---- possible duplicates (review) ----------------------------------------------------------------
# The queue of possible duplicates (/review, App Home) is for data stewards: admins, and the employees an
# admin granted the data_steward permission (store.review.set_steward). On a customer's card any employee
# serving that customer may answer for that customer (store.review.answer with the card's customer).

def reviews_matches(person: Person, *, steward: bool) -> bool:
    """May `person` answer the whole queue? `steward`: the data_steward permission was granted to them."""
    return steward or is_admin(person)
