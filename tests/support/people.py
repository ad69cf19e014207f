"""Registering employees: a row in the database and a user in the local Slack."""
from __future__ import annotations

from bot.local_slack import LocalSlack
from store.models import Employee

SLACK_LOCALES = {"fr": "fr-FR", "en": "en-US"}


def add_employee(session_factory, slack: LocalSlack, slack_user_id: str, name: str, *, role: str = "associate",
                 locale: str = "en", timezone: str = "Europe/Paris", active: bool = True,
                 store_id: int | None = None, team_id: int | None = None) -> int:
    slack.add_user(slack_user_id, name, locale=SLACK_LOCALES.get(locale, locale), tz=timezone)
    with session_factory.begin() as session:
        employee = Employee(slack_user_id=slack_user_id, name=name, role=role, locale=locale, timezone=timezone,
                            active=active, store_id=store_id, team_id=team_id)
        session.add(employee)
        session.flush()
        return employee.id
