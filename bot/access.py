"""The one access mechanism: who is asking, and may they?

A global middleware resolves the Slack user of every request to a registered, active Employee and puts
an `EmployeeSnapshot` in `context["employee"]`. Everyone else gets a polite refusal naming who grants
access, shown only to them (never posted in a channel); events from bots and unknown users are dropped.
A deactivated employee gets the same refusal as someone never registered (it says nothing of the past).

The employee is read from the database on every request and kept for that request only (the snapshot
dies with the context): no process, worker or Socket Mode connection remembers who was allowed, so
`frontline employees deactivate` takes effect at the person's next request everywhere.

The user id is taken from the signed request body only (Slack's signature covers it). Ids found in
private_metadata or button values are data, never proof of who is asking.

Features declare a role in one line: `app.command("/kpi", middleware=[role_required(Role.MANAGER)])`.
Which rows a person may reach (a colleague's figures or follow-ups) is decided by store.permissions,
the same rules, called by the domain functions with the snapshot this middleware provides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from slack_bolt import BoltResponse
from slack_sdk import WebClient
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from handlers.directory.events import DIRECTORY_EVENTS
from handlers.i18n import normalise_locale, t
from handlers.notices import deliver_notice, request_user_id
from store.models import Employee
from store.permissions import ROLE_RANK, has_role
from store.vocabulary import Role

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class EmployeeSnapshot:
    """What listeners know about the person asking; detached from any session."""

    id: int
    slack_user_id: str
    name: str
    role: str
    team_id: int | None
    store_id: int | None
    locale: str
    timezone: str

    def has_role(self, role: Role) -> bool:
        """Roles are ranked: an admin may do what a manager may, a manager what an associate may."""
        return has_role(self, role)


def _is_from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message")


# Read on every request (see the module docstring): built once, plain columns through Core. Building an ORM
# select of Employee and loading an instance into the session cost more than the indexed read itself.
_EMPLOYEES = Employee.__table__
_EMPLOYEE_ROW = select(_EMPLOYEES.c.id, _EMPLOYEES.c.slack_user_id, _EMPLOYEES.c.name, _EMPLOYEES.c.role,
                       _EMPLOYEES.c.team_id, _EMPLOYEES.c.store_id, _EMPLOYEES.c.locale, _EMPLOYEES.c.timezone,
                       _EMPLOYEES.c.active).where(_EMPLOYEES.c.slack_user_id == bindparam("slack_user_id"))


def load_employee(session: Session | Connection, slack_user_id: str, *, default_locale: str,
                  default_timezone: str) -> EmployeeSnapshot | None:
    employee = session.execute(_EMPLOYEE_ROW, {"slack_user_id": slack_user_id}).one_or_none()
    if employee is None or not employee.active:
        return None
    return EmployeeSnapshot(
        id=employee.id,
        slack_user_id=employee.slack_user_id,
        name=employee.name,
        role=employee.role,
        team_id=employee.team_id,
        store_id=employee.store_id,
        locale=normalise_locale(employee.locale, default_locale),
        timezone=employee.timezone or default_timezone,
    )


def _slack_locale(client, user_id: str, default: str) -> str:
    """An unregistered user's language, from their Slack profile; the default if Slack can't say.

    This runs before the ack, so it gets one short try: the app's client would wait out 429s and retry
    5xx errors, which could push the refusal past Slack's 3-second window.
    """
    quick_client = WebClient(token=client.token, base_url=client.base_url, timeout=1)
    quick_client.retry_handlers.clear()
    try:
        user = quick_client.users_info(user=user_id, include_locale=True).get("user") or {}
        return normalise_locale(user.get("locale"), default)
    except Exception:  # the refusal must go out even if Slack is slow or refuses users:read
        return default


def _home_notice(client, user_id: str, text: str) -> None:
    view = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
    try:
        client.views_publish(user_id=user_id, view=view)
    except Exception:
        log.exception("could not publish the access notice home tab for %s", user_id)


def access_middleware(body: dict[str, Any], context, client, respond,
                      next: Callable[[], None]) -> BoltResponse | None:
    settings = context["settings"]
    session_factory = context["session_factory"]
    event = body.get("event") if body.get("type") == "event_callback" else None
    if event is not None and _is_from_a_bot(event):
        return BoltResponse(status=200, body="")
    if event is not None and event.get("type") in DIRECTORY_EVENTS:
        # Slack telling us about the workspace (signed like every request), not a person asking for something.
        next()
        return None
    user_id = request_user_id(body)
    if not user_id:
        return BoltResponse(status=200, body="")
    try:
        # One statement on a Core connection: no transaction round trips, and no Session to set up and close
        # around it on every request.
        with session_factory.read_connection() as connection:
            employee = load_employee(connection, user_id, default_locale=settings.default_locale,
                                     default_timezone=settings.default_timezone)
    except SQLAlchemyError:
        log.exception("employee lookup failed for %s", user_id)
        if event is not None:
            return BoltResponse(status=200, body="")
        locale = settings.default_locale
        return deliver_notice(body, client, respond, t("common.db_unavailable", locale), locale)
    if employee is not None:
        context["employee"] = employee
        context["locale"] = employee.locale
        next()
        return None
    log.info("refused a request from unregistered or deactivated slack user %s", user_id)
    if event is not None:
        if event.get("type") == "app_home_opened" and event.get("tab") == "home":
            locale = _slack_locale(client, user_id, settings.default_locale)
            _home_notice(client, user_id, t("access.not_registered", locale, contact=settings.access_contact))
        return BoltResponse(status=200, body="")
    if body.get("type") == "view_closed":
        return BoltResponse(status=200, body="")
    locale = _slack_locale(client, user_id, settings.default_locale)
    text = t("access.not_registered", locale, contact=settings.access_contact)
    return deliver_notice(body, client, respond, text, locale)


def role_required(role: Role) -> Callable[..., BoltResponse | None]:
    """Listener middleware: `middleware=[role_required(Role.MANAGER)]` lets managers and admins through."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def check_role(body: dict[str, Any], context, client, respond, next: Callable[[], None]) -> BoltResponse | None:
        employee: EmployeeSnapshot | None = context.get("employee")
        if employee is not None and employee.has_role(role):
            next()
            return None
        settings = context["settings"]
        locale = employee.locale if employee else settings.default_locale
        log.info("refused %s-only request from slack user %s", role, request_user_id(body))
        text = t("access.role_required", locale, role=t(f"access.role.{role}", locale), contact=settings.access_contact)
        return deliver_notice(body, client, respond, text, locale)

    check_role.__name__ = f"role_required_{role}"
    return check_role
