"""A small world for interaction/follow-up tests: one store, two teams, staff, three customers."""
from __future__ import annotations

from dataclasses import dataclass

from store.models import Customer, Employee, Store, Team


@dataclass(frozen=True)
class World:
    store_id: int
    team_id: int
    other_team_id: int
    lea: Employee  # associate, team 1
    marc: Employee  # associate, team 1
    nina: Employee  # manager, team 1
    omar: Employee  # manager, other team
    ada: Employee  # admin
    gone: Employee  # inactive
    helene: int  # customer ids
    paul: int
    erased: int


def build_world(session_factory) -> World:
    with session_factory.begin() as session:
        store = Store(code="PAR1", name="Paris Rivoli")
        session.add(store)
        session.flush()
        team = Team(name="Floor", store_id=store.id)
        other = Team(name="Call centre")
        session.add_all([team, other])
        session.flush()

        def person(uid: str, name: str, role: str = "associate", team_id: int | None = team.id, active=True):
            employee = Employee(slack_user_id=uid, name=name, role=role, team_id=team_id, store_id=store.id,
                                active=active, locale="en", timezone="Europe/Paris")
            session.add(employee)
            return employee

        staff = [person("U_LEA", "Léa Martin"), person("U_MARC", "Marc Petit"),
                 person("U_NINA", "Nina Roy", "manager"), person("U_OMAR", "Omar Said", "manager", other.id),
                 person("U_ADA", "Ada Admin", "admin", None), person("U_GONE", "Gone Away", active=False)]
        customers = [Customer(first_name="Hélène", last_name="Darcy", search_name="helene darcy"),
                     Customer(first_name="Paul", last_name="Durand", search_name="paul durand"),
                     Customer(status="erased")]
        session.add_all(customers)
        session.flush()
        return World(store.id, team.id, other.id, *staff, *(c.id for c in customers))
