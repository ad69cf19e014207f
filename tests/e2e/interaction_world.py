"""Shared scenery for the logging / follow-up / home end-to-end tests."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from store.models import Customer, FollowUp
from tests.support.world import add_store_and_team
from tests.support.people import employee_today


@dataclass(frozen=True)
class Scene:
    lea: int  # employee ids
    marc: int
    helene: int  # customer ids
    paul: int


def build_scene(session_factory, employee) -> Scene:
    with session_factory.begin() as session:
        store, team = add_store_and_team(session)
        store_id, team_id = store.id, team.id
        helene = Customer(first_name="Hélène", last_name="Darcy", city="Paris", phone="+33612345678",
                          search_name="helene darcy")
        paul = Customer(first_name="Paul", last_name="Durand", city="Lyon", search_name="paul durand")
        session.add_all([helene, paul])
        session.flush()
        customers = helene.id, paul.id
    lea = employee("U0LEA", "Léa Martin", store_id=store_id, team_id=team_id)
    marc = employee("U0MARC", "Marc Petit", store_id=store_id, team_id=team_id)
    return Scene(lea, marc, *customers)


def count(session_factory, model) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def add_follow_up(session_factory, *, assignee: int, customer: int, days_from_today: int, note: str) -> int:
    with session_factory.begin() as session:
        row = FollowUp(customer_id=customer, assignee_id=assignee, created_by_id=assignee, note=note,
                       due_date=employee_today(days=days_from_today))
        session.add(row)
        session.flush()
        return row.id
