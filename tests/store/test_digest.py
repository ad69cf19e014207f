"""Digest composition: what each person would read tomorrow morning, and silence when there is nothing."""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from handlers.digest.blocks import employee_digest_message, team_digest_message
import store.digest
from store.digest import compose_employee_digest, compose_employee_digests, compose_team_digest
from store.models import Customer, Employee, FollowUp, Interaction, Store, Team
from tests.store.kpi_fixtures import NOW, TODAY, Viewer, at, build_dataset

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


def build_varied_dataset(session_factory, seed: int = 11) -> list[Viewer]:
    """Two stores, a dozen people, overdue piles past the line cap, promises, VIPs, erased customers."""
    rng = random.Random(seed)
    with session_factory.begin() as s:
        stores = [Store(code="PAR1", name="Paris"), Store(code="LYO1", name="Lyon")]
        s.add_all(stores)
        s.flush()
        teams = [Team(name=f"Team {i}", store_id=stores[i % 2].id) for i in range(3)]
        s.add_all(teams)
        s.flush()
        people = []
        for i in range(12):
            team = teams[i % 3] if i < 11 else None
            people.append(Employee(slack_user_id=f"U{i:03d}", name=f"Person {i}", role="manager" if i % 5 == 0 else "associate",
                                   team_id=team.id if team else None, store_id=team.store_id if team else None,
                                   timezone="Europe/Paris"))
        s.add_all(people)
        tiers = [None, "silver", "Gold", "platinum", "VIP"]
        customers = [Customer(first_name=f"First{i}", last_name=f"Last{i}" if i % 7 else None,
                              loyalty_tier=rng.choice(tiers), status="erased" if i % 11 == 3 else "active")
                     for i in range(30)]
        s.add_all(customers)
        s.flush()
        for i in range(160):
            assignee = people[0] if i < 20 else rng.choice(people)  # person 0: more than a screenful overdue
            status = rng.choice(["open", "open", "open", "done", "cancelled"])
            created = NOW - dt.timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))
            s.add(FollowUp(assignee_id=assignee.id, customer_id=rng.choice(customers).id if i % 9 else None,
                           due_date=TODAY + dt.timedelta(days=rng.randint(-12, 3)), status=status,
                           note=f"note {i}", created_at=created,
                           completed_at=NOW - dt.timedelta(hours=rng.randint(1, 48)) if status == "done" else None))
        for i in range(400):
            who = rng.choice(people)
            s.add(Interaction(employee_id=who.id, customer_id=rng.choice(customers).id if i % 6 else None,
                              store_id=who.store_id, team_id=who.team_id, channel=rng.choice(["store", "phone"]),
                              type="call", outcome=rng.choice(["follow_up", "follow_up", "resolved", "info"]),
                              created_at=NOW - dt.timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 1400))))
        newcomer = Employee(slack_user_id="UNEW", name="Newcomer")  # no store: no colleagues' VIPs either
        s.add(newcomer)
        s.flush()
        people.append(newcomer)
        return [Viewer(e.id, e.role, e.team_id, e.store_id) for e in people]


def test_batch_composer_gives_each_person_the_digest_composed_alone(session_factory, monkeypatch):
    people = build_varied_dataset(session_factory)
    with session_factory() as session:
        alone = {p.id: compose_employee_digest(session, p, today=TODAY, now=NOW, tz=PARIS) for p in people}
        together = compose_employee_digests(session, people, today=TODAY, now=NOW, tz=PARIS)
        monkeypatch.setattr(store.digest, "BATCH_SIZE", 5)  # several chunks, a store's staff split across them
        chunked = compose_employee_digests(session, list(reversed(people)), today=TODAY, now=NOW, tz=PARIS)
    assert together == alone and chunked == alone
    digests = [d for d in alone.values() if d is not None]
    # The dataset exercises every section, the caps, and silence.
    assert alone[people[-1].id] is None  # the newcomer with nothing to do
    assert any(d.overdue_total > len(d.overdue) == 8 for d in digests)
    assert any(d.callbacks for d in digests) and any(d.vip_issues for d in digests) and any(d.due_today for d in digests)
    assert any(line.customer_name is None for d in digests for line in d.overdue + d.due_today)
    assert any(d.yesterday.interactions for d in digests)
    for d in digests:
        listed = {line.customer_id for line in d.overdue + d.due_today}
        assert not listed & {c.customer_id for c in d.callbacks}
