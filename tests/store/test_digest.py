"""Digest composition: what each person would read tomorrow morning, and silence when there is nothing."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from handlers.digest.blocks import employee_digest_message, team_digest_message
from store.digest import compose_employee_digest, compose_team_digest
from store.models import Customer, Employee, Interaction
from tests.store.kpi_fixtures import NOW, TODAY, at, build_dataset

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def data(session_factory):
    data = build_dataset(session_factory)
    with session_factory.begin() as session:
        session.execute(update(Customer).where(Customer.first_name == "Hélène").values(loyalty_tier="Gold"))
    return data


def employee_digest(session_factory, viewer, now=NOW, today=TODAY):
    with session_factory() as session:
        return compose_employee_digest(session, session.get(Employee, viewer.id), today=today, now=now, tz=PARIS)


def test_associate_digest_lists_overdue_vip_and_yesterday(session_factory, data):
    digest = employee_digest(session_factory, data.lea)
    assert [(f.customer_name, f.due_date) for f in digest.overdue] == [("Hélène Darcy", dt.date(2026, 3, 10))]
    assert digest.due_today == [] and digest.callbacks == []  # her promise to Hélène is already a follow-up
    assert [(v.customer_name, v.assignee_name) for v in digest.vip_issues] == [("Hélène Darcy", "Marc Petit")]
    assert (digest.yesterday.interactions, digest.yesterday.customers, digest.yesterday.followups_done) == (2, 1, 1)


def test_due_today_and_call_back_promises(session_factory, data):
    with session_factory.begin() as session:
        paul = session.scalars(select(Customer).where(Customer.first_name == "Paul")).one()
        session.add(Interaction(employee_id=data.marc.id, customer_id=paul.id, store_id=data.store_id,
                                team_id=data.team_id, channel="phone", type="call", outcome="follow_up",
                                created_at=at("2026-03-10T15:00")))
    digest = employee_digest(session_factory, data.marc)
    assert [f.due_date for f in digest.due_today] == [TODAY]
    assert [(c.customer_name, c.promised_on, c.channel) for c in digest.callbacks] == [
        ("Paul Durand", dt.date(2026, 3, 10), "phone")]
    with session_factory.begin() as session:  # someone called Paul since: the promise is kept
        session.add(Interaction(employee_id=data.lea.id, customer_id=paul.id, channel="phone", type="call",
                                outcome="resolved", created_at=at("2026-03-10T17:00")))
    assert employee_digest(session_factory, data.marc).callbacks == []


def test_nothing_to_say_means_no_digest(session_factory, data):
    assert employee_digest(session_factory, data.ada) is None
    with session_factory() as session:
        assert compose_team_digest(session, session.get(Employee, data.omar.id), today=TODAY, now=NOW, tz=PARIS) is None
        assert compose_team_digest(session, session.get(Employee, data.lea.id), today=TODAY, now=NOW, tz=PARIS) is None


def test_manager_team_digest(session_factory, data):
    with session_factory() as session:
        digest = compose_team_digest(session, session.get(Employee, data.nina.id), today=TODAY, now=NOW, tz=PARIS)
    assert digest.team_name == "Floor"
    assert (digest.yesterday.interactions, digest.day_before.interactions) == (3, 1)
    assert (digest.week.start, digest.week.end) == (dt.date(2026, 3, 9), TODAY)
    assert (digest.week_figures.interactions, digest.previous_week_figures.interactions) == (4, 1)
    assert [(p.name, p.count, p.oldest_due) for p in digest.overdue_by_person] == [("Léa Martin", 1, dt.date(2026, 3, 10))]
    assert [w.assignee_name for w in digest.waiting_longest] == ["Léa Martin", "Marc Petit"]


def test_monday_team_digest_covers_last_week(session_factory, data):
    monday = dt.date(2026, 3, 16)
    with session_factory() as session:
        digest = compose_team_digest(session, session.get(Employee, data.nina.id), today=monday,
                                     now=dt.datetime(2026, 3, 16, 7, 30), tz=PARIS)
    assert (digest.week.start, digest.week.end) == (dt.date(2026, 3, 9), monday)
    assert digest.week_figures.interactions == 4


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_rendered_digests_escape_customer_text(session_factory, data, locale):
    with session_factory.begin() as session:
        session.execute(update(Customer).where(Customer.first_name == "Hélène").values(last_name="<!channel>"))
    digest = employee_digest(session_factory, data.lea)
    message = employee_digest_message(digest, locale)
    rendered = str(message["blocks"])
    assert "<!channel>" not in rendered and "&lt;!channel&gt;" in rendered
    assert ("Overdue" if locale == "en" else "En retard") in rendered
    with session_factory() as session:
        team = compose_team_digest(session, session.get(Employee, data.nina.id), today=TODAY, now=NOW, tz=PARIS)
    team_message = team_digest_message(team, locale)
    assert "<!channel>" not in str(team_message["blocks"])
    assert team_message["text"]
