"""Registry-style people: names, birth dates and addresses only, with known ground truth.

A second generator, written apart from bench/synthetic_people.py and on purpose shaped differently,
so the identity benchmark is not graded only on the data it was tuned with. No e-mail, no phone, no
loyalty card: records as civil, school or health registries hold them, typed by clerks from forms.

The world: households at one address (a couple, children, sometimes a grandparent; twins born the
same day; a son named after his father, living with him), each person filed 1 to 3 times across
registries ("etat_civil", "ecole", "sante"), sometimes at an older address. Every filing is typed
with the errors the registries make: first-name typos (one or two edits), truncated or abbreviated
first names (Math, J.), common nicknames, missing fields, first and last name boxes swapped, birth
dates with day and month swapped or one digit wrong, postcodes with two digits swapped, streets
abbreviated (av, bd, r.), misspelt, with a building added ("résidence B") or written street name
first.

Names come from fixed frequency tables (a long tail built from syllables), so Martins and Lyon 3e
are common and rare surnames stay rare at any size. The same seed gives the same records.

Usage: `for source, person_id, record in generate(people=1000, seed=1): ...`
"""

from __future__ import annotations

import datetime
import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

from store.identity import IdentityRecord

SOURCES = ("etat_civil", "ecole", "sante")

# Common names first, by rough frequency; a generated tail follows.
GIVEN_F = ["Marie", "Jeanne", "Anne", "Camille", "Louise", "Léa", "Manon", "Emma", "Chloé", "Sarah", "Julie",
           "Laura", "Pauline", "Mathilde", "Claire", "Lucie", "Élise", "Alice", "Inès", "Lina", "Rose", "Agathe",
           "Margot", "Juliette", "Elsa", "Nina", "Sophie", "Amandine", "Audrey", "Charlotte", "Clara",
           "Margaux", "Océane", "Morgane", "Estelle", "Noémie", "Héloïse", "Adèle", "Capucine", "Romane",
           "Anaïs", "Gabrielle", "Ophélie", "Lucile", "Solène", "Apolline", "Bérangère", "Ghislaine",
           "Yvette", "Odile", "Colette", "Josette", "Simone", "Huguette", "Mireille", "Annick"]
GIVEN_M = ["Jean", "Louis", "Pierre", "Paul", "Lucas", "Hugo", "Thomas", "Nathan", "Mathieu", "Antoine",
           "Julien", "Nicolas", "Alexandre", "Maxime", "Quentin", "Romain", "Kevin", "Adrien", "Bastien",
           "Baptiste", "Corentin", "Florian", "Jérémy", "Valentin", "Victor", "Arthur", "Jules", "Léon",
           "Gabriel", "Raphaël", "Théo", "Noé", "Sacha", "Timothée", "Gaspard", "Augustin", "Marcel",
           "René", "Roger", "Gilbert", "Lucien", "Albert", "Fernand", "Gérald", "Joseph", "Jacques",
           "François", "Michel", "Alain", "Bernard", "Christian", "Didier", "Dominique", "Pascal"]
# What registry clerks write for a given name besides the name itself.
SHORT = {"Mathieu": ["Math", "Mat"], "Alexandre": ["Alex"], "Maxime": ["Max"], "Nicolas": ["Nico"],
         "Julien": ["Ju"], "Thomas": ["Tom"], "Joseph": ["Jo", "Jos"], "Jeanne": ["Jeannette"],
         "Charlotte": ["Charly"], "Gabrielle": ["Gaby"], "Christian": ["Chris"], "Dominique": ["Dom"],
         "Timothée": ["Tim"], "Baptiste": ["Bap"], "Valentin": ["Val"], "Augustin": ["Gus"],
         "Marie": ["Marie-Jo"], "Anne": ["Anne-Marie"], "Jean": ["Jean-Marc"]}
FAMILY = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
          "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
          "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez",
          "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas",
          "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier",
          "Robin", "Vandenberghe", "Le Bihan", "De Oliveira", "Ben Salah", "Nguyen", "Kowalski", "Da Costa"]
_ROOTS = ["bre", "cal", "dar", "fen", "gou", "har", "jac", "kel", "lau", "mig", "nol", "pra", "quer",
          "ri", "sab", "tor", "vau", "win", "yan", "zor", "bla", "cou", "dou", "fla", "gri", "lou", "mau"]
_ENDS = ["det", "mont", "ville", "court", "val", "ard", "ot", "ier", "ez", "elli", "ac", "on", "eux", "in",
         "berg", "man", "oux", "ais", "and", "ec"]
_GIVEN_ENDS_F = ["ine", "ette", "elle", "ia", "ane"]
_GIVEN_ENDS_M = ["ien", "ric", "in", "as", "el"]
STREETS = [("rue", "r.", "de la Liberté"), ("rue", "r.", "des Jardins"), ("avenue", "av.", "des Tilleuls"),
           ("allée", "all.", "des Tilleuls"), ("boulevard", "bd", "Carnot"), ("avenue", "av", "Foch"),
           ("rue", "r", "du Four"), ("place", "pl.", "du Marché"), ("chemin", "ch.", "des Vignes"),
           ("rue", "r.", "Saint-Exupéry"), ("impasse", "imp.", "des Mésanges"), ("quai", "q.", "de Saône"),
           ("route", "rte", "de Vienne"), ("rue", "r.", "Paul Bert"), ("cours", "crs", "Lafayette"),
           ("avenue", "av.", "Jean Moulin"), ("rue", "r.", "des Écoles"), ("allée", "all", "des Acacias")]
BUILDINGS = ["résidence B", "bât. 2", "apt 14", "escalier C", "résidence les Pins", "2e étage"]
TOWNS = 4_000  # postcodes


class _Freq:
    """Rank r drawn with weight 1 / (r + 2) ** s."""

    def __init__(self, values: list[str], s: float) -> None:
        self.values = values
        self.cum = list(accumulate(1.0 / (r + 2) ** s for r in range(len(values))))

    def draw(self, rng: random.Random) -> str:
        return self.values[bisect(self.cum, rng.random() * self.cum[-1])]


def _tail(roots: list[str], ends: list[str]) -> list[str]:
    return [(a + b + c).capitalize() for a in roots for b in ("", "a", "o", "e") for c in ends]


SURNAMES = _Freq(FAMILY + _tail(_ROOTS, _ENDS), 0.95)
FIRST = {"F": _Freq(GIVEN_F + _tail(_ROOTS[:12], _GIVEN_ENDS_F), 1.1),
         "M": _Freq(GIVEN_M + _tail(_ROOTS[12:], _GIVEN_ENDS_M), 1.1)}
POSTCODES = _Freq([f"{(d % 95 + 1):02d}{(d * 37) % 1000:03d}" for d in range(TOWNS)], 0.8)


@dataclass
class _Address:
    number: int
    street: tuple[str, str, str]
    postcode: str
    city: str


@dataclass
class _Person:
    pid: int
    first: str
    last: str
    sex: str
    born: datetime.date
    home: _Address
    old_home: _Address | None


def _address(rng: random.Random) -> _Address:
    postcode = POSTCODES.draw(rng)
    return _Address(rng.randint(1, 140), rng.choice(STREETS), postcode, f"Ville {postcode[:2]}-{postcode[2:]}")


def _date(rng: random.Random, year_from: int, year_to: int) -> datetime.date:
    start = datetime.date(year_from, 1, 1).toordinal()
    return datetime.date.fromordinal(rng.randint(start, datetime.date(year_to, 12, 31).toordinal()))


def _households(people: int, rng: random.Random) -> Iterator[_Person]:
    pid = 0
    while pid < people:
        home = _address(rng)
        last = SURNAMES.draw(rng)
        members: list[tuple[str, str, str, datetime.date]] = []  # first, last, sex, born
        kind = rng.random()
        if kind < 0.3:  # alone
            sex = rng.choice("FM")
            members.append((FIRST[sex].draw(rng), last, sex, _date(rng, 1935, 2004)))
        else:
            father_born = _date(rng, 1945, 1990)
            father = FIRST["M"].draw(rng)
            members.append((father, last, "M", father_born))
            # a partner, keeping her own surname one time in four
            mother_last = SURNAMES.draw(rng) if rng.random() < 0.25 else last
            members.append((FIRST["F"].draw(rng), mother_last, "F",
                            father_born + datetime.timedelta(days=rng.randint(-2500, 2500))))
            children = rng.choice((0, 1, 1, 2, 2, 3))
            twins = rng.random() < 0.06
            junior = rng.random() < 0.08  # a son named after his father
            for c in range(children):
                born = father_born + datetime.timedelta(days=rng.randint(22 * 365, 38 * 365))
                sex = rng.choice("FM")
                first = father if junior and c == 0 else FIRST[sex].draw(rng)
                if junior and c == 0:
                    sex = "M"
                members.append((first, last, sex, born))
                if twins and c == 0:
                    twin_sex = rng.choice("FM")
                    twin = FIRST[twin_sex].draw(rng)
                    while twin == first:
                        twin = FIRST[twin_sex].draw(rng)
                    members.append((twin, last, twin_sex, born))
            if rng.random() < 0.05:  # a grandparent at home
                members.append((FIRST["F"].draw(rng), last, "F", father_born - datetime.timedelta(days=rng.randint(
                    20 * 365, 35 * 365))))
        for first, surname, sex, born in members:
            if pid >= people:
                return
            old = _address(rng) if rng.random() < 0.12 else None
            yield _Person(pid, first, surname, sex, born, home, old)
            pid += 1


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _typo(rng: random.Random, word: str, edits: int = 1) -> str:
    for _ in range(edits):
        if len(word) < 3:
            return word
        i = rng.randrange(1, len(word) - 1)  # clerks rarely get the first letter wrong
        kind = rng.random()
        if kind < 0.35:
            word = word[:i] + rng.choice(_LETTERS) + word[i + 1:]
        elif kind < 0.6:
            word = word[:i] + word[i + 1:]
        elif kind < 0.8:
            word = word[:i] + rng.choice(_LETTERS) + word[i:]
        else:
            word = word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
    return word


def _first_name(rng: random.Random, first: str) -> str | None:
    r = rng.random()
    if r < 0.03:
        return None
    if r < 0.09:
        return _typo(rng, first, 1 if rng.random() < 0.8 else 2)
    if r < 0.12:
        return first[0] + ("." if rng.random() < 0.5 else "")
    if r < 0.15 and first in SHORT:
        return rng.choice(SHORT[first])
    if r < 0.17 and len(first) > 5:
        return first[:rng.randint(3, 4)]  # truncated in a short form box
    return first


def _birth(rng: random.Random, born: datetime.date) -> datetime.date | None:
    r = rng.random()
    if r < 0.04:
        return None
    if r < 0.07 and born.day <= 12 and born.day != born.month:
        return born.replace(day=born.month, month=born.day)
    if r < 0.10:
        part = rng.random()
        try:
            if part < 0.4:
                return born.replace(day=(born.day + rng.choice((1, 9, 10, -10))) % 28 + 1)
            if part < 0.7:
                return born.replace(month=(born.month % 12) + 1)
            return born.replace(year=born.year + rng.choice((-10, -1, 1, 10)))
        except ValueError:
            return born
    return born


def _postcode(rng: random.Random, postcode: str) -> str | None:
    r = rng.random()
    if r < 0.03:
        return None
    if r < 0.06:
        i = rng.randrange(2, 4)
        swapped = postcode[:i] + postcode[i + 1] + postcode[i] + postcode[i + 2:]
        return swapped
    if r < 0.08:
        i = rng.randrange(2, 5)
        return postcode[:i] + str((int(postcode[i]) + 1) % 10) + postcode[i + 1:]
    return postcode if rng.random() < 0.9 else postcode[:2] + " " + postcode[2:]


def _street(rng: random.Random, home: _Address) -> str | None:
    r = rng.random()
    if r < 0.04:
        return None
    kind, short, name = home.street
    words = name
    if rng.random() < 0.08:
        words = " ".join(_typo(rng, w) if len(w) > 4 else w for w in name.split())
    if rng.random() < 0.3:
        kind = short
    if rng.random() < 0.5:
        words = words.replace("é", "e").replace("è", "e").replace("É", "E")
    text = f"{home.number} {kind} {words}"
    if rng.random() < 0.05:
        text = f"{home.number} {words} {kind}"  # written street name first
    if rng.random() < 0.06:
        text += " " + rng.choice(BUILDINGS)
    if rng.random() < 0.1:
        text = text.upper()
    return text


def _record(rng: random.Random, key: int, p: _Person) -> IdentityRecord:
    home = p.old_home if p.old_home and rng.random() < 0.5 else p.home
    first: str | None = _first_name(rng, p.first)
    last: str | None = p.last
    r = rng.random()
    if r < 0.04:
        last = _typo(rng, p.last)
    elif r < 0.05:
        last = None  # a blank box
    if rng.random() < 0.02 and first and last:
        first, last = last, first  # boxes swapped
    if rng.random() < 0.3 and last:
        last = last.upper()
    city = home.city if rng.random() < 0.9 else None
    return IdentityRecord(key=key, first_name=first, last_name=last, email=None, phone=None,
                          birth_date=_birth(rng, p.born), street=_street(rng, home),
                          postcode=_postcode(rng, home.postcode), city=city, country="FR", loyalty_id=None)


def generate(people: int, seed: int = 1) -> Iterator[tuple[str, int, IdentityRecord]]:
    """(source, person id, record) for `people` people filed 1 to 3 times, keys 0, 1, 2, ..."""
    rng = random.Random(f"registry-{seed}")
    key = 0
    for person in _households(people, rng):
        filings = rng.choices((1, 2, 3), weights=(0.3, 0.45, 0.25))[0]
        for source in rng.sample(SOURCES, filings):
            yield source, person.pid, _record(rng, key, person)
            key += 1


RECORDS_PER_PERSON = 1.95  # the filings' mean
