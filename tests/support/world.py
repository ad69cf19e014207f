"""Small builders for test data that many tests need."""
from __future__ import annotations

from sqlalchemy import select

from store import kpi_rollup
from store.models import FollowUp, Interaction, Store, Team


def add_store_and_team(session, *, code: str = "PAR1", name: str = "Paris Rivoli",
                       team: str = "Floor") -> tuple[Store, Team]:
    """A store and one team in it, flushed so both have ids."""
    store = Store(code=code, name=name)
    session.add(store)
    session.flush()
    floor = Team(name=team, store_id=store.id)
    session.add(floor)
    session.flush()
    return store, floor


def count_written_history(session) -> None:
    """Interactions, orders and follow-ups added directly as rows (as history) enter the KPI rollup,
    the way the importers make them enter it."""
    session.flush()
    kpi_rollup.refresh(session, interaction_ids=list(session.scalars(select(Interaction.id))))
    kpi_rollup.refresh_follow_ups(session, list(session.scalars(select(FollowUp.id))))
