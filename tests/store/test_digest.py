"""Digest composition: what each person would read tomorrow morning, and silence when there is nothing."""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from handlers.digest.blocks import employee_digest_message, team_digest_message
import store.digest
import store.kpi
from store.digest import (compose_employee_digest, compose_employee_digests, compose_team_digest,
                          compose_team_digests, week_through_yesterday)
from store.kpi import KpiFigures, ScopeFilter, figures, team_figures
from store.kpi_query import Period
from store.digest import TeamDigest
from store.models import Customer, Employee, FollowUp, Interaction, Store, Team
from tests.store.kpi_fixtures import NOW, TODAY, Viewer, at, build_dataset
from tests.support.world import count_written_history

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
        count_written_history(s)  # into the KPI rollup, as the importers do
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


def test_open_follow_up_lines_and_totals_are_the_rows_read_one_by_one(session_factory):
    """The lines and totals ranked in the assignee index are what reading every follow-up row gives:
    each person's open follow-ups due today and before, by due date then id, 8 of each shown, all counted."""
    people = build_varied_dataset(session_factory)
    with session_factory() as session:
        digests = compose_employee_digests(session, people, today=TODAY, now=NOW, tz=PARIS)
        rows = session.scalars(select(FollowUp).order_by(FollowUp.due_date, FollowUp.id)).all()
        customers = {c.id: c for c in session.scalars(select(Customer))}
    checked = 0
    for person in people:
        digest = digests[person.id]
        mine = [f for f in rows if f.assignee_id == person.id and f.status == "open" and f.due_date <= TODAY]
        if digest is None:
            assert not mine
            continue
        for shown, total, wanted in ((digest.due_today, digest.due_today_total, [f for f in mine if f.due_date == TODAY]),
                                     (digest.overdue, digest.overdue_total, [f for f in mine if f.due_date < TODAY])):
            assert total == len(wanted)
            assert [(line.follow_up_id, line.customer_id, line.due_date, line.note) for line in shown] == \
                [(f.id, f.customer_id, f.due_date, f.note) for f in wanted[:8]]
            for line in shown:
                customer = customers.get(line.customer_id) if line.customer_id else None
                assert line.customer_name == store.digest.display_name(customer)
        checked += len(mine)
    assert checked > 40  # person 0 alone has more than a screenful


# ---- team digests in batches -------------------------------------------------------------------

def add_call_centre_activity(session_factory, data) -> tuple[Viewer, Viewer]:
    """Omar's call centre gets a day to report, an overdue follow-up, and one completed on the period's edge.

    Returns Zoé (an associate of the call centre) and Iris (Nina's co-manager of the floor team)."""
    with session_factory.begin() as s:
        paul = s.scalars(select(Customer).where(Customer.first_name == "Paul")).one()
        zoe = Employee(slack_user_id="U_ZOE", name="Zoé Blanc", role="associate", team_id=data.other_team_id,
                       store_id=data.other_store_id, timezone="Europe/Paris")
        iris = Employee(slack_user_id="U_IRIS", name="Iris Roux", role="manager", team_id=data.team_id,
                        store_id=data.store_id, timezone="Europe/Paris")
        s.add_all([zoe, iris])
        s.flush()
        # Tue 10 Mar 09:00 Paris: Paul was seen by the floor on Monday (i4): a repeat contact; he ordered at 11:00 (W2).
        s.add(Interaction(employee_id=zoe.id, customer_id=paul.id, store_id=data.other_store_id,
                          team_id=data.other_team_id, channel="phone", type="call", outcome="resolved",
                          created_at=at("2026-03-10T08:00")))
        s.add_all([
            FollowUp(assignee_id=zoe.id, customer_id=paul.id, created_at=at("2026-03-05T08:00"),
                     due_date=dt.date(2026, 3, 9), status="open"),  # overdue since Tuesday
            FollowUp(assignee_id=zoe.id, customer_id=paul.id, created_at=at("2026-03-10T06:00"),
                     due_date=dt.date(2026, 3, 10), status="done", completed_at=at("2026-03-10T09:00")),  # 3 h
            # Done at Wed 11 Mar 00:00 Paris, the first instant after Tuesday: still overdue on Tuesday evening.
            FollowUp(assignee_id=zoe.id, customer_id=paul.id, created_at=at("2026-03-08T10:00"),
                     due_date=dt.date(2026, 3, 9), status="done", completed_at=at("2026-03-10T23:00")),
        ])
        count_written_history(s)  # into the KPI rollup, as the importers do
        return Viewer(zoe.id, zoe.role, zoe.team_id, zoe.store_id), Viewer(iris.id, iris.role, iris.team_id, iris.store_id)


def test_team_digests_of_a_batch_of_managers(session_factory, data):
    zoe, iris = add_call_centre_activity(session_factory, data)
    batch = [data.nina, data.omar, data.lea, data.ada, iris, zoe]
    with session_factory() as session:
        together = compose_team_digests(session, batch, today=TODAY, now=NOW, tz=PARIS)
        alone = {m.id: compose_team_digest(session, m, today=TODAY, now=NOW, tz=PARIS) for m in batch}
    assert together == alone
    # Associates and an admin without a team get no team digest.
    assert together[data.lea.id] is None and together[zoe.id] is None and together[data.ada.id] is None
    floor, call_centre = together[data.nina.id], together[data.omar.id]
    assert together[iris.id] == TeamDigest(**{**floor.__dict__, "manager_id": iris.id})
    assert floor.team_name == "Floor" and call_centre.team_name == "Call centre"

    # What Nina reads about Tuesday: i1 (first contact, resolved, W1 exactly 7 days later), i2 (repeat, W1 too),
    # i5 (no customer); f3 created; f2 (192 h) and f3 (6 h) done; f1 overdue.
    assert floor.yesterday == KpiFigures(interactions=3, customers=1, first_contacts=1, resolved_first_contacts=1,
                                         repeat_contacts=1, purchases_within_7d=2, followups_created=1,
                                         followups_completed=2, followups_overdue=1, median_completion_hours=99.0)
    assert [(p.name, p.count, p.oldest_due) for p in floor.overdue_by_person] == [("Léa Martin", 1, dt.date(2026, 3, 10))]
    # What Omar reads: Zoé's repeat call to Paul, who then ordered; the follow-up done at midnight was overdue
    # until then, so Tuesday (and Monday) count it; it is not one of Tuesday's completions.
    assert call_centre.yesterday == KpiFigures(interactions=1, customers=1, first_contacts=0,
                                               resolved_first_contacts=0, repeat_contacts=1, purchases_within_7d=1,
                                               followups_created=1, followups_completed=1, followups_overdue=2,
                                               median_completion_hours=3.0)
    assert call_centre.day_before == KpiFigures(followups_created=0, followups_completed=0, followups_overdue=2)
    assert call_centre.week_figures.interactions == 1 and call_centre.previous_week_figures.interactions == 1  # i7
    assert [(p.name, p.count, p.oldest_due) for p in call_centre.overdue_by_person] == [("Zoé Blanc", 1, dt.date(2026, 3, 9))]
    assert [(w.customer_name, w.waiting_since, w.assignee_name, w.due_date) for w in call_centre.waiting_longest] == [
        ("Paul Durand", dt.date(2026, 3, 5), "Zoé Blanc", dt.date(2026, 3, 9))]


def test_team_figures_equal_each_teams_figures(session_factory, data):
    add_call_centre_activity(session_factory, data)
    teams = {data.team_id: "Floor", data.other_team_id: "Call centre"}
    periods = [Period("today", dt.date(2026, 3, 10), TODAY), Period("today", dt.date(2026, 3, 9), dt.date(2026, 3, 10)),
               week_through_yesterday(TODAY), week_through_yesterday(TODAY).previous,
               Period("today", TODAY, TODAY + dt.timedelta(days=1))]  # today, cut at NOW
    with session_factory() as session:
        for period in periods:
            together = team_figures(session, list(teams), period, PARIS, now=NOW)
            for team_id, name in teams.items():
                alone = figures(session, ScopeFilter("team", name, team_id=team_id), period, PARIS, now=NOW)
                assert together[team_id] == alone, (period, name)
        # A team with nothing at all: zeros, like figures() says.
        quiet = team_figures(session, [data.other_team_id + 100], periods[0], PARIS, now=NOW)
        assert quiet == {data.other_team_id + 100: KpiFigures(followups_created=0, followups_completed=0,
                                                              followups_overdue=0)}


def reference_team_digest(session, manager: Viewer, tz) -> TeamDigest | None:
    """The team digest from per-team figures and plain Python over the team's follow-ups (no batching)."""
    team = session.get(Team, manager.team_id)
    scope = ScopeFilter("team", team.name, team_id=team.id)
    yesterday, week = Period("today", TODAY - dt.timedelta(days=1), TODAY), week_through_yesterday(TODAY)
    day, day_before, week_now, week_before = (figures(session, scope, p, tz, now=NOW)
                                              for p in (yesterday, yesterday.previous, week, week.previous))
    members = {e.id: e for e in session.scalars(select(Employee).where(Employee.team_id == team.id,
                                                                       Employee.active.is_(True)))}
    open_ = [f for f in session.scalars(select(FollowUp).where(FollowUp.status == "open"))
             if f.assignee_id in members]
    late: dict[int, list[FollowUp]] = {}
    for f in open_:
        if f.due_date < TODAY:
            late.setdefault(f.assignee_id, []).append(f)
    overdue = sorted((store.digest.PersonOverdue(i, members[i].name, len(fs), min(f.due_date for f in fs))
                      for i, fs in late.items()), key=lambda p: (-p.count, p.name, p.employee_id))
    waiting = []
    for f in sorted((f for f in open_ if f.customer_id is not None), key=lambda f: (f.created_at, f.id))[:5]:
        customer = session.get(Customer, f.customer_id)
        waiting.append(store.digest.WaitingCustomer(
            f.customer_id, store.digest.display_name(customer),
            f.created_at.replace(tzinfo=dt.UTC).astimezone(tz).date(), members[f.assignee_id].name, f.due_date))
    if not (day.interactions or week_now.interactions or overdue or waiting):
        return None
    return TeamDigest(manager.id, team.name, TODAY, day, day_before, week, week_now, week_before, overdue[:8], waiting)


def test_batched_team_digests_match_per_team_reference_with_caps_and_chunks(session_factory, monkeypatch):
    people = build_varied_dataset(session_factory)
    with session_factory.begin() as session:  # a departed member's follow-ups are nobody's to chase
        session.get(Employee, people[3].id).active = False
    managers = [p for p in people if p.role == "manager"]
    assert len({m.team_id for m in managers}) == 3
    with session_factory() as session:
        expected = {m.id: reference_team_digest(session, m, PARIS) for m in managers}
        together = compose_team_digests(session, people, today=TODAY, now=NOW, tz=PARIS)
        monkeypatch.setattr(store.digest, "BATCH_SIZE", 2)  # teams split across chunks
        monkeypatch.setattr(store.kpi, "TEAMS_PER_QUERY", 1)
        chunked = compose_team_digests(session, list(reversed(people)), today=TODAY, now=NOW, tz=PARIS)
    assert {m.id: together[m.id] for m in managers} == expected
    assert chunked == together
    assert all(together[p.id] is None for p in people if p.role != "manager")
    digests = list(expected.values())
    assert all(d is not None and len(d.waiting_longest) == 5 for d in digests)
    assert any(d.yesterday.followups_completed for d in digests) and all(d.week_figures.interactions for d in digests)
