"""A small hand-checked dataset for the KPI tests (Paris time zone, week of Monday 9 March 2026)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from store.models import Customer, Employee, FollowUp, Interaction, Order, Store, Team
from tests.support.world import count_written_history

NOW = dt.datetime(2026, 3, 11, 10, 0)  # Wednesday 11 March 2026, 11:00 in Paris
TODAY = dt.date(2026, 3, 11)


@dataclass(frozen=True)
class Viewer:
    id: int
    role: str
    team_id: int | None
    store_id: int | None
    timezone: str = "Europe/Paris"


@dataclass(frozen=True)
class Dataset:
    store_id: int
    other_store_id: int
    team_id: int
    other_team_id: int
    lea: Viewer
    marc: Viewer
    nina: Viewer
    omar: Viewer
    ada: Viewer


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def build_dataset(session_factory) -> Dataset:
    with session_factory.begin() as s:
        store, other_store = Store(code="PAR1", name="Paris Rivoli"), Store(code="LYO1", name="Lyon Part-Dieu")
        s.add_all([store, other_store])
        s.flush()
        team, other = Team(name="Floor", store_id=store.id), Team(name="Call centre", store_id=other_store.id)
        s.add_all([team, other])
        s.flush()

        def person(uid, name, role, team_id, store_id):
            e = Employee(slack_user_id=uid, name=name, role=role, team_id=team_id, store_id=store_id,
                         timezone="Europe/Paris", locale="en")
            s.add(e)
            s.flush()
            return e

        lea = person("U_LEA", "Léa Martin", "associate", team.id, store.id)
        marc = person("U_MARC", "Marc Petit", "associate", team.id, store.id)
        nina = person("U_NINA", "Nina Roy", "manager", team.id, store.id)
        omar = person("U_OMAR", "Omar Said", "manager", other.id, other_store.id)
        ada = person("U_ADA", "Ada Admin", "admin", None, None)
        helene, paul = Customer(first_name="Hélène", last_name="Darcy"), Customer(first_name="Paul", last_name="Durand")
        s.add_all([helene, paul])
        s.flush()

        def interaction(who, customer, when, outcome="resolved", channel="store", type_="visit"):
            s.add(Interaction(employee_id=who.id, customer_id=customer.id if customer else None,
                              store_id=who.store_id, team_id=who.team_id, channel=channel, type=type_,
                              outcome=outcome, created_at=at(when)))

        interaction(lea, helene, "2026-03-09T23:30")  # i1: Tue 10 Mar 00:30 Paris, first contact, resolved
        interaction(lea, helene, "2026-03-10T09:00", "follow_up", "phone", "call")  # i2: repeat (i1)
        interaction(marc, paul, "2026-03-08T22:59")  # i3: Sun 8 Mar 23:59 Paris: before the week
        interaction(marc, paul, "2026-03-08T23:00", "info")  # i4: Mon 9 Mar 00:00 Paris: in, repeat (i3)
        interaction(marc, None, "2026-03-10T12:00", "info", "phone", "call")  # i5: no customer
        interaction(lea, paul, "2026-03-03T10:00")  # i6: previous period, first contact, resolved
        interaction(omar, helene, "2026-03-02T23:00")  # i7: other team; 7 d 30 min before i1
        s.add_all([
            Order(source="web", order_number="W1", customer_id=helene.id, ordered_at=at("2026-03-16T23:30"),
                  channel="web", total_amount=Decimal("10")),  # exactly 7 days after i1: counts
            Order(source="web", order_number="W2", customer_id=paul.id, ordered_at=at("2026-03-10T10:00"),
                  channel="web", total_amount=Decimal("10")),  # after i4, and exactly 7 days after i6
            Order(source="web", order_number="W3", customer_id=helene.id, ordered_at=at("2026-03-10T10:00"),
                  channel="web", total_amount=Decimal("10"), status="cancelled"),
        ])

        def follow_up(who, created, due, status="open", completed=None):
            s.add(FollowUp(assignee_id=who.id, customer_id=helene.id, created_at=at(created),
                           due_date=dt.date.fromisoformat(due), status=status,
                           completed_at=at(completed) if completed else None))

        follow_up(lea, "2026-03-09T08:00", "2026-03-10")  # f1: overdue now
        follow_up(marc, "2026-03-02T08:00", "2026-03-03", "done", "2026-03-10T08:00")  # f2: 192 h
        follow_up(lea, "2026-03-10T10:00", "2026-03-20", "done", "2026-03-10T16:00")  # f3: 6 h
        follow_up(marc, "2026-03-09T09:00", "2026-03-11")  # f4: due today: not overdue
        follow_up(lea, "2026-02-20T08:00", "2026-03-01", "cancelled")  # f5: never counts

        count_written_history(s)

        def viewer(e):
            return Viewer(id=e.id, role=e.role, team_id=e.team_id, store_id=e.store_id)

        return Dataset(store_id=store.id, other_store_id=other_store.id, team_id=team.id, other_team_id=other.id,
                       lea=viewer(lea), marc=viewer(marc), nina=viewer(nina), omar=viewer(omar), ada=viewer(ada))
