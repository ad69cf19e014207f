"""Small builders for test data that many tests need."""
from __future__ import annotations

from store.models import Store, Team


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
