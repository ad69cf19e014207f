"""Slack's directory kept live over signed HTTP: team_join, user_change (deleted, guest) and
subteam_members_changed update the person through the sync's code path, audited, and a person Slack
deactivates is refused from their very next request. Without a mapping file the events change nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config import Settings
from localslack.slack_driver import HttpTransport, SlackDriver
from store.models import AuditEvent, Employee
from tests.e2e.conftest import ACCESS_CONTACT, SIGNING_SECRET
from tests.e2e.test_serve import SECRET as SERVE_SECRET
from tests.e2e.test_serve import serving
from tests.support.server import start_bot_server

REFUSAL = ACCESS_CONTACT  # named in the refusal, in whichever language Slack says the person reads
MAPPING = """\
[roles]
manager = { groups = ["store-managers"] }

[[teams]]
group = "paris-floor"
team = "Paris floor"
store = "PAR01"
"""


@pytest.fixture
def settings(db_url, slack, tmp_path) -> Settings:
    path = tmp_path / "directory.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return Settings(database_url=db_url, slack_bot_token=slack.bot_token, slack_signing_secret=SIGNING_SECRET,
                    slack_api_url=slack.api_url, default_locale="en", access_contact=ACCESS_CONTACT,
                    directory_mapping=str(path))


def slack_user(slack, user_id: str, **changes) -> dict:
    """The user object Slack puts in team_join / user_change, from the stand-in's record."""
    user = slack.users[user_id].as_slack(slack.workspace.team_id, include_locale=True)
    user.update(changes)
    return user


def asks(bot, user_id: str) -> str:
    """The text of the immediate answer to `/customer` (the refusal, for someone without access)."""
    reply = bot.command("/customer", "nobody@example.com", user=user_id)
    assert reply.status == 200
    return (reply.json or {}).get("text", "") if reply.body else ""


def employee_row(session_factory, user_id: str) -> tuple | None:
    with session_factory() as session:
        employee = session.scalar(select(Employee).where(Employee.slack_user_id == user_id))
        return None if employee is None else (employee.active, employee.role,
                                              employee.team.name if employee.team else None, employee.locale)


def audit_actions(session_factory, user_id: str) -> list[tuple[str, str, str]]:
    with session_factory() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(event.actor, event.action, event.via) for event in events
                if (event.detail or {}).get("employee") == user_id]


def test_team_join_then_deleted_in_slack_refused_at_the_next_request(bot, slack, session_factory):
    slack.add_user("U0NEW", "Nina New", locale="fr-FR", tz="Europe/Paris", email="nina@retail.example")
    slack.add_usergroup("paris-floor", ["U0NEW"])
    assert REFUSAL in asks(bot, "U0NEW")  # not registered yet

    assert bot.event({"type": "team_join", "user": slack_user(slack, "U0NEW")}).status == 200
    assert employee_row(session_factory, "U0NEW") == (True, "associate", "Paris floor", "fr")
    assert REFUSAL not in asks(bot, "U0NEW")

    mark = slack.mark()
    assert bot.event({"type": "user_change", "user": slack_user(slack, "U0NEW", deleted=True)}).status == 200
    assert REFUSAL in asks(bot, "U0NEW")
    # No group gives a deleted user access: Slack's rate-limited usergroups.list is not even called.
    assert [call for call in slack.calls_since(mark) if call.method.startswith("usergroups")] == []
    assert employee_row(session_factory, "U0NEW")[0] is False
    assert audit_actions(session_factory, "U0NEW") == [("slack", "register", "slack-event"),
                                                       ("slack", "deactivate", "slack-event")]


def test_group_changes_promote_then_remove_access(bot, slack, session_factory):
    slack.add_user("U0ALI", "Ali Associate")
    slack.add_usergroup("paris-floor", ["U0ALI"])
    slack.add_usergroup("store-managers", [])
    bot.event({"type": "team_join", "user": slack_user(slack, "U0ALI")})
    assert employee_row(session_factory, "U0ALI")[:2] == (True, "associate")

    managers = slack.add_usergroup("store-managers", ["U0ALI"])
    bot.event({"type": "subteam_members_changed", "subteam_id": managers.id, "team_id": slack.workspace.team_id,
               "added_users": ["U0ALI"], "added_users_count": 1, "removed_users": [], "removed_users_count": 0})
    assert employee_row(session_factory, "U0ALI")[:2] == (True, "manager")

    slack.add_usergroup("store-managers", [])
    floor = slack.add_usergroup("paris-floor", [])
    for group in (managers, floor):
        bot.event({"type": "subteam_members_changed", "subteam_id": group.id, "removed_users": ["U0ALI"]})
    assert employee_row(session_factory, "U0ALI")[:2] == (False, "manager")
    assert REFUSAL in asks(bot, "U0ALI")
    assert [action for _, action, _ in audit_actions(session_factory, "U0ALI")] == ["register", "role", "deactivate"]


def test_a_guest_never_gets_access_and_a_member_made_guest_loses_it(bot, slack, session_factory):
    slack.add_user("U0GUS", "Gus Guest", is_restricted=True)
    slack.add_user("U0MIA", "Mia Member")
    slack.add_usergroup("paris-floor", ["U0GUS", "U0MIA"])
    bot.event({"type": "team_join", "user": slack_user(slack, "U0GUS")})
    bot.event({"type": "team_join", "user": slack_user(slack, "U0MIA")})
    assert employee_row(session_factory, "U0GUS") is None
    assert REFUSAL in asks(bot, "U0GUS")
    bot.event({"type": "user_change", "user": slack_user(slack, "U0MIA", is_ultra_restricted=True)})
    assert employee_row(session_factory, "U0MIA")[0] is False
    assert REFUSAL in asks(bot, "U0MIA")


def test_without_a_mapping_file_the_events_are_acknowledged_and_change_nothing(
        settings, engine, session_factory, slack, employee):
    server = start_bot_server(settings.with_overrides(directory_mapping=None), engine, session_factory)
    try:
        bot = SlackDriver(HttpTransport(server.url), slack, SIGNING_SECRET, settle=server.settle)
        employee("U0LEA", "Léa Martin")
        slack.add_usergroup("paris-floor", [])
        mark = slack.mark()
        assert bot.event({"type": "user_change", "user": slack_user(slack, "U0LEA", deleted=True)}).status == 200
        assert bot.event({"type": "team_join", "user": slack_user(slack, "U0LEA")}).status == 200
        assert employee_row(session_factory, "U0LEA")[0] is True
        assert REFUSAL not in asks(bot, "U0LEA")
        assert [call.method for call in slack.calls_since(mark) if call.method.startswith("usergroups")] == []
    finally:
        server.stop()


def test_a_deletion_event_taken_by_one_server_refuses_the_next_request_at_another(bot, slack, session_factory,
                                                                                  db_url, tmp_path):
    """Two bolt apps on one database: the in-process server takes Slack's user_change (deleted: true); the
    person's next request goes to `frontline serve --http` in another process (two gunicorn workers, each
    having answered them before) and is refused there."""
    slack.add_user("U0NEW", "Nina New", locale="en-GB", tz="Europe/Paris", email="nina@retail.example")
    slack.add_usergroup("paris-floor", ["U0NEW"])
    assert bot.event({"type": "team_join", "user": slack_user(slack, "U0NEW")}).status == 200
    with serving(db_url, slack, tmp_path / "other.log") as other:
        elsewhere = SlackDriver(HttpTransport(other.url), slack, SERVE_SECRET)
        refusal = "Claire (store manager)"  # the access contact `serving` configures for that server
        assert all(refusal not in asks(elsewhere, "U0NEW") for _ in range(6))
        assert bot.event({"type": "user_change", "user": slack_user(slack, "U0NEW", deleted=True)}).status == 200
        after = [asks(elsewhere, "U0NEW") for _ in range(6)]
        assert all(refusal in text for text in after), after
    assert audit_actions(session_factory, "U0NEW")[-1] == ("slack", "deactivate", "slack-event")
