"""Registering employees: a row in the database and a user in the local Slack."""
from __future__ import annotations

import datetime as dt

from localslack.local_slack import LocalSlack
from store.clock import local_today
from store.models import Employee

SLACK_LOCALES = {"fr": "fr-FR", "en": "en-US"}
DEFAULT_TIMEZONE = "Europe/Paris"


def employee_today(timezone: str = DEFAULT_TIMEZONE, *, days: int = 0) -> dt.date:
    """The employee's local day, as the bot computes it: the machine's own date differs from Paris's
    for an hour or two every night, and a test using it would fail at that hour."""
    return local_today(dt.datetime.now(dt.UTC).replace(tzinfo=None), timezone) + dt.timedelta(days=days)


def add_employee(session_factory, slack: LocalSlack, slack_user_id: str, name: str, *, role: str = "associate",
                 locale: str = "en", timezone: str = DEFAULT_TIMEZONE, active: bool = True,
                 store_id: int | None = None, team_id: int | None = None) -> int:
    slack.add_user(slack_user_id, name, locale=SLACK_LOCALES.get(locale, locale), tz=timezone)
    with session_factory.begin() as session:
        employee = Employee(slack_user_id=slack_user_id, name=name, role=role, locale=locale, timezone=timezone,
                            active=active, store_id=store_id, team_id=team_id)
        session.add(employee)
        session.flush()
        return employee.id
