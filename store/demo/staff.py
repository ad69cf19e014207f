"""The demo retailer's stores, teams and ~60 employees with Slack-style user ids."""
from __future__ import annotations

import random
import string
from dataclasses import dataclass

from store.demo import names
from store.normalize import fold
from store.vocabulary import Role


@dataclass(frozen=True)
class DemoStore:
    code: str
    name: str
    city: str
    country: str  # FR | GB
    timezone: str
    share: float  # share of customers whose home store this is
    associates: int


STORES: tuple[DemoStore, ...] = (
    DemoStore(code="PAR", name="Maison Verne Paris Marais", city="Paris", country="FR",
              timezone="Europe/Paris", share=0.30, associates=12),
    DemoStore(code="LYS", name="Maison Verne Lyon Presqu'île", city="Lyon", country="FR",
              timezone="Europe/Paris", share=0.15, associates=6),
    DemoStore(code="BOD", name="Maison Verne Bordeaux Sainte-Catherine", city="Bordeaux", country="FR",
              timezone="Europe/Paris", share=0.12, associates=5),
    DemoStore(code="LIL", name="Maison Verne Lille Vieux-Lille", city="Lille", country="FR",
              timezone="Europe/Paris", share=0.12, associates=5),
    DemoStore(code="LON", name="Maison Verne London Marylebone", city="London", country="GB",
              timezone="Europe/London", share=0.20, associates=8),
    DemoStore(code="MAN", name="Maison Verne Manchester King Street", city="Manchester", country="GB",
              timezone="Europe/London", share=0.11, associates=5),
)
STORE_BY_CODE = {store.code: store for store in STORES}
CALL_CENTER_TEAM = "Service client / Customer care"
HEAD_OFFICE_TEAM = "Siège / Head office"


@dataclass(frozen=True)
class DemoTeam:
    name: str
    store_code: str | None


@dataclass(frozen=True)
class DemoEmployee:
    slack_user_id: str
    name: str
    email: str
    role: Role
    team: str
    store_code: str | None
    locale: str | None  # None: follow Slack
    timezone: str | None


def teams() -> list[DemoTeam]:
    result = []
    for store in STORES:
        if store.code == "PAR":  # the flagship has two floors, each with its own manager
            result += [DemoTeam(name="Paris Marais — Femme", store_code="PAR"),
                       DemoTeam(name="Paris Marais — Homme", store_code="PAR")]
        else:
            result.append(DemoTeam(name=store.name.removeprefix("Maison Verne "), store_code=store.code))
    result += [DemoTeam(name=CALL_CENTER_TEAM, store_code=None), DemoTeam(name=HEAD_OFFICE_TEAM, store_code=None)]
    return result


def _slack_id(rng: random.Random, taken: set[str]) -> str:
    alphabet = string.ascii_uppercase + string.digits
    while True:
        candidate = "U0" + "".join(rng.choice(alphabet) for _ in range(7))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def _person_name(rng: random.Random, french: bool, used: set[str]) -> str:
    while True:
        if french:
            first = rng.choice(rng.choice((names.FR_FEMALE, names.FR_MALE)))
            last = rng.choice(names.FR_LAST)
        else:
            first = rng.choice(rng.choice((names.EN_FEMALE, names.EN_MALE)))
            last = rng.choice(names.EN_LAST)
        full = f"{first} {last}"
        if full not in used:
            used.add(full)
            return full


def _work_email(full_name: str) -> str:
    return fold(full_name).replace(" ", ".") + "@maisonverne.example"


def employees(seed: int) -> list[DemoEmployee]:
    """Managers first in each team, then associates; two head-office admins; ~60 people."""
    rng = random.Random(f"{seed}:staff")
    taken_ids: set[str] = set()
    used_names: set[str] = set()
    result: list[DemoEmployee] = []

    def add(role: Role, team: DemoTeam, *, french: bool, timezone: str | None, locale: str | None) -> None:
        full = _person_name(rng, french, used_names)
        result.append(DemoEmployee(slack_user_id=_slack_id(rng, taken_ids), name=full, email=_work_email(full),
                                   role=role, team=team.name, store_code=team.store_code, locale=locale,
                                   timezone=timezone))

    for team in teams():
        store = STORE_BY_CODE.get(team.store_code or "")
        if store is not None:
            french = store.country == "FR"
            locale = "fr" if french else "en"
            size = store.associates // 2 if store.code == "PAR" else store.associates
            add(Role.MANAGER, team, french=french, timezone=store.timezone, locale=locale)
            for _ in range(size):
                # A few colleagues work in the other language, and some leave it to their Slack settings.
                swapped = rng.random() < 0.1
                member_locale: str | None = ("en" if french else "fr") if swapped else locale
                if rng.random() < 0.1:
                    member_locale = None
                add(Role.ASSOCIATE, team, french=french != swapped, timezone=store.timezone, locale=member_locale)
        elif team.name == CALL_CENTER_TEAM:
            add(Role.MANAGER, team, french=True, timezone="Europe/Paris", locale="fr")
            for index in range(8):
                english = index >= 6  # two agents answer the UK line from Lille
                add(Role.ASSOCIATE, team, french=not english, timezone="Europe/Paris",
                    locale="en" if english else "fr")
        else:
            add(Role.ADMIN, team, french=True, timezone="Europe/Paris", locale="fr")
            add(Role.ADMIN, team, french=False, timezone="Europe/London", locale="en")
    return result
