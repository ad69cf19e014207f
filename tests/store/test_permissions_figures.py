"""The figures rules on their own (pure): whose individual figures each role sees, and which scopes."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from store.permissions import figures_refusal, sees_figures_of


@dataclass(frozen=True)
class P:
    id: int
    role: str
    team_id: int | None
    store_id: int | None


LEA = P(1, "associate", 10, 100)       # Floor, Paris
MARC = P(2, "associate", 10, 100)      # Floor, Paris
NINA = P(3, "manager", 10, 100)        # manages Floor
OMAR = P(4, "manager", 11, 100)        # manages Stock, same store
NOE = P(5, "associate", None, 100)     # no team, Paris
MIA = P(6, "manager", None, 100)       # manager without a team, Paris
ZOE = P(7, "manager", 20, 200)         # manages Lyon
ADA = P(8, "admin", None, None)
EVERYONE = [LEA, MARC, NINA, OMAR, NOE, MIA, ZOE, ADA]


@pytest.mark.parametrize("viewer, sees", [
    (LEA, {LEA}),
    (NINA, {LEA, MARC, NINA, NOE, MIA}),   # her team, and her store's people without a team
    (OMAR, {OMAR, NOE, MIA}),
    (MIA, {MIA, NOE}),
    (ZOE, {ZOE}),
    (ADA, set(EVERYONE)),
])
def test_whose_individual_figures_each_viewer_sees(viewer, sees):
    assert {p for p in EVERYONE if sees_figures_of(viewer, p)} == sees


@pytest.mark.parametrize("viewer, kind, store_id, refusal", [
    (LEA, "me", None, None), (LEA, "team", None, "team_associate"), (LEA, "store", 100, "store_associate"),
    (LEA, "all", None, "all"),
    (NINA, "team", None, None), (NINA, "store", 100, None), (NINA, "store", 200, "not_your_store"),
    (NINA, "all", None, "all"),
    (MIA, "team", None, "no_team"), (MIA, "store", 100, None),
    (ADA, "store", 200, None), (ADA, "all", None, None), (ADA, "team", None, "no_team"),
    (NINA, "galaxy", None, "unknown_scope"),
])
def test_which_scopes_each_role_sees(viewer, kind, store_id, refusal):
    assert figures_refusal(viewer, kind, store_id=store_id) == refusal
