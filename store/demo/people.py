"""True persons of the demo retailer, and how each source system (web shop, store POS/loyalty, call-center
CRM) recorded them: with typos, missing fields, swapped names, other phone formats, dropped accents,
uppercase tills, old addresses, second accounts. The truth is kept so tests can check the resolution.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from unidecode import unidecode

from store.demo import names
from store.demo.catalogue import size_choices
from store.demo.staff import STORES, DemoStore
from store.normalize import fold, normalise_email

SOURCES = ("web", "pos", "crm")
TIERS = ("Silver", "Gold", "Platinum")

# Short forms people give on the phone or at a till; each one is known to store.normalize's nicknames.
NICKNAMES = {
    "Frédéric": "Fred", "Frédérique": "Fred", "Nicolas": "Nico", "Stéphanie": "Steph",
    "Stéphane": "Steph", "Isabelle": "Isa", "Valérie": "Val", "Florence": "Flo", "Maxime": "Max",
    "Sébastien": "Seb", "Catherine": "Cathy", "Katherine": "Kate", "Elizabeth": "Liz",
    "Élisabeth": "Babeth", "Robert": "Bob", "William": "Will", "James": "Jim", "Thomas": "Tom",
    "Matthew": "Matt", "Alexandre": "Alex", "Alexander": "Alex", "Christophe": "Chris",
    "Christopher": "Chris", "Benjamin": "Ben", "Daniel": "Dan", "Edward": "Ed", "Andrew": "Andy",
    "Rebecca": "Becky", "Victoria": "Vicky", "Margaret": "Maggie", "Michael": "Mike",
    "Samuel": "Sam", "Anthony": "Tony", "Peter": "Pete",
}


@dataclass(frozen=True)
class Address:
    street: str
    postcode: str
    city: str
    country: str


@dataclass
class Person:
    key: int
    gender: str  # f | m
    language: str  # fr | en
    first_name: str
    last_name: str
    birth_date: dt.date
    email: str
    phone: str  # E.164
    address: Address
    old_address: Address | None  # where they lived before moving (older records still say so)
    old_email: str | None
    home_store: str
    customer_since: dt.date
    household: int | None = None  # key of the person they live with
    sizes: dict[str, str] = field(default_factory=dict)
    loyalty_tier: str | None = None


@dataclass
class SourceRecord:
    """One person row as a source system exports it (import format keys) plus the truth behind it."""

    source: str
    source_id: str
    person_key: int
    row: dict[str, str | None]
    updated_at: dt.datetime


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


def _pick_store(rng: random.Random) -> DemoStore:
    return rng.choices(STORES, [store.share for store in STORES])[0]


def _address(rng: random.Random, store: DemoStore) -> Address:
    towns = (names.FR_TOWNS if store.country == "FR" else names.UK_TOWNS)[store.city]
    town, postcodes = towns[0] if rng.random() < 0.6 else rng.choice(towns)
    postcode = rng.choice(postcodes)
    if store.country == "FR":
        kind = _weighted(rng, names.FR_STREET_TYPES)
        number = rng.randint(1, 140)
        suffix = " bis" if rng.random() < 0.04 else ""
        street = f"{number}{suffix} {kind} {rng.choice(names.FR_STREET_NAMES)}"
    else:
        kind = _weighted(rng, names.EN_STREET_TYPES)
        flat = f"Flat {rng.randint(1, 24)}, " if rng.random() < 0.2 else ""
        street = f"{flat}{rng.randint(1, 220)} {rng.choice(names.EN_STREET_NAMES)} {kind}"
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        postcode = f"{postcode} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    return Address(street=street, postcode=postcode, city=town, country=store.country)


def _phone(rng: random.Random, store: DemoStore, taken: set[str]) -> str:
    while True:
        if store.country == "FR":
            number = f"+33{rng.choice('6667')}{rng.randint(0, 99_999_999):08d}"
        else:
            # UK mobiles are 07 followed by 4, 5, 7, 8 or 9 (076 is pagers, not phones).
            number = f"+447{rng.choice('45789')}{rng.randint(0, 99_999_999):08d}"
        if number not in taken:
            taken.add(number)
            return number


def _email(rng: random.Random, first: str, last: str, birth: dt.date, country: str, taken: set[str]) -> str:
    f, l = fold(first).replace(" ", ""), fold(last).replace(" ", "")
    domains = names.FR_EMAIL_DOMAINS if country == "FR" else names.UK_EMAIL_DOMAINS
    patterns = (f"{f}.{l}", f"{f}{l}", f"{f[0]}.{l}", f"{f}.{l}{birth.year % 100:02d}", f"{f}_{l}",
                f"{l}.{f}", f"{f}{birth.year}")
    for attempt in range(50):
        local = rng.choice(patterns) if attempt < 5 else f"{f}.{l}{rng.randint(2, 999)}"
        email = f"{local}@{_weighted(rng, domains)}"
        if email not in taken:
            taken.add(email)
            return email
    raise RuntimeError("no free e-mail address")  # unreachable with 997 numbered forms


def _family_email(rng: random.Random, last: str, country: str, taken: set[str]) -> str:
    family = fold(last).replace(" ", "")
    local = f"famille.{family}" if country == "FR" else f"the{family}s"
    domains = names.FR_EMAIL_DOMAINS if country == "FR" else names.UK_EMAIL_DOMAINS
    for number in ("", *range(1, 100)):
        email = f"{local}{number}@{_weighted(rng, domains)}"
        if email not in taken:
            taken.add(email)
            return email
    raise RuntimeError("no free family e-mail address")


def _birth_date(rng: random.Random, today: dt.date) -> dt.date:
    age = min(85, max(18, int(rng.gauss(42, 14))))
    return today - dt.timedelta(days=age * 365 + rng.randint(0, 364))


def _sizes(rng: random.Random, gender: str) -> dict[str, str]:
    """Usual sizes, consistent with each other: one body build plus a little noise per kind."""
    build = rng.gauss(0, 0.8)
    centre = {"f": {"top": 1.3, "trousers": 2.0, "dress": 2.0, "shoes": 2.3},
              "m": {"top": 2.4, "trousers": 3.0, "shoes": 3.0}}[gender]

    def around(kind: str) -> str:
        choices = size_choices(kind, gender)
        index = round(centre[kind] + build + rng.gauss(0, 0.4))
        return choices[min(len(choices) - 1, max(0, index))]

    return {kind: around(kind) for kind in centre}


def _name(rng: random.Random, gender: str, language: str) -> tuple[str, str]:
    if language == "fr":
        return rng.choice(names.FR_FEMALE if gender == "f" else names.FR_MALE), rng.choice(names.FR_LAST)
    return rng.choice(names.EN_FEMALE if gender == "f" else names.EN_MALE), rng.choice(names.EN_LAST)


def make_persons(count: int, *, seed: int, today: dt.date) -> list[Person]:
    """`count` distinct people; about one in twelve lives with another one (same address, shared ids)."""
    rng = random.Random(f"{seed}:persons")
    emails: set[str] = set()
    phones: set[str] = set()
    persons: list[Person] = []
    for key in range(1, count + 1):
        partner = persons[-1] if persons and persons[-1].household is None and rng.random() < 0.09 else None
        store = next(s for s in STORES if s.code == partner.home_store) if partner else _pick_store(rng)
        gender = rng.choice("fm") if partner is None else ("m" if partner.gender == "f" else "f")
        foreign = rng.random() < (0.05 if store.country == "FR" else 0.08)
        language = ("en" if store.country == "FR" else "fr") if foreign else ("fr" if store.country == "FR" else "en")
        if partner is not None:
            language = partner.language
        first, last = _name(rng, gender, language)
        if partner is not None and rng.random() < 0.75:
            last = partner.last_name
        birth = _birth_date(rng, today)
        if partner is not None:
            birth = partner.birth_date + dt.timedelta(days=rng.randint(-2500, 2500))
        if partner is not None and rng.random() < 0.3:
            email = _family_email(rng, last, store.country, emails)
            partner.email = email  # a family address both use
        else:
            email = _email(rng, first, last, birth, store.country, emails)
        phone = _phone(rng, store, phones)
        address = partner.address if partner else _address(rng, store)
        moved = rng.random() < 0.12
        person = Person(
            key=key, gender=gender, language=language, first_name=first, last_name=last, birth_date=birth,
            email=email, phone=phone, address=address,
            old_address=_address(rng, store) if moved else None,
            old_email=_email(rng, first, last, birth, store.country, emails) if rng.random() < 0.1 else None,
            home_store=store.code, customer_since=today - dt.timedelta(days=rng.randint(30, 365 * 9)),
            household=partner.key if partner else None, sizes=_sizes(rng, gender),
        )
        if partner is not None:
            partner.household = key
        persons.append(person)
    return persons


# --- how the source systems mangle a person --------------------------------------------------------


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip: two letters swapped, one dropped or doubled, or a vowel changed."""
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(4)
    if kind == 0 and text[i].isalpha() and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 1:
        return text[:i] + text[i + 1:]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    vowels = "aeiou"
    if text[i].lower() in vowels:
        return text[:i] + rng.choice(vowels.replace(text[i].lower(), "")) + text[i + 1:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def phone_as_typed(rng: random.Random, e164: str) -> str:
    """The same number in one of the ways people and systems write it."""
    if e164.startswith("+33"):
        digits = "0" + e164[3:]
        pairs = " ".join(digits[i:i + 2] for i in range(0, 10, 2))
        return rng.choice((pairs, digits, pairs.replace(" ", "."), "+33 " + pairs[1:], e164,
                           "0033" + e164[3:], pairs.replace(" ", "-")))
    national = "0" + e164[3:]
    return rng.choice((f"{national[:5]} {national[5:]}", national, f"+44 {e164[3:7]} {e164[7:]}", e164,
                       f"0044 {e164[3:7]} {e164[7:]}"))


def _name_as_typed(rng: random.Random, text: str, *, accents: float, upper: float, typo_rate: float) -> str:
    if rng.random() < accents:
        text = unidecode(text)
    if rng.random() < typo_rate:
        text = typo(rng, text)
    if rng.random() < upper:
        text = text.upper()
    return text


def _compound_variant(rng: random.Random, last: str) -> str:
    if "-" in last and rng.random() < 0.5:
        return last.split("-")[0] if rng.random() < 0.5 else last.replace("-", " ")
    if last.lower().startswith(("de ", "d'")) and rng.random() < 0.5:
        return last.replace(" ", "").replace("'", "").capitalize()
    return last


def _email_variant(rng: random.Random, email: str) -> str:
    """The address with a dot dropped or a slip in it, still well formed (the importers check)."""
    local, domain = email.split("@")
    if rng.random() < 0.5 and "." in local:
        return local.replace(".", "", 1) + "@" + domain
    for _ in range(10):
        variant = typo(rng, local) + "@" + domain
        try:
            if variant != email and normalise_email(variant):
                return variant
        except ValueError:
            continue
    return local + "1@" + domain


def _when(rng: random.Random, today: dt.date, *, oldest_days: int, newest_days: int = 1) -> dt.datetime:
    day = today - dt.timedelta(days=rng.randint(newest_days, oldest_days))
    return dt.datetime.combine(day, dt.time(rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59)))


def _record_row(rng: random.Random, person: Person, today: dt.date, *, names_style: dict,
                email: float, phone: float, birth: float, address: float, stale_address: float,
                swap: float, nickname: float, no_first: float = 0.0) -> tuple[dict, dt.datetime]:
    first = person.first_name
    if rng.random() < nickname and first in NICKNAMES:
        first = NICKNAMES[first]
    elif "-" in first and rng.random() < 0.15:
        first = first.replace("-", " ")
    first = _name_as_typed(rng, first, **names_style)
    last = _name_as_typed(rng, _compound_variant(rng, person.last_name), **names_style)
    if rng.random() < swap:
        first, last = last, first
    if rng.random() < no_first:
        first = None
    place = person.address
    stale = person.old_address is not None and rng.random() < stale_address
    if stale:
        place = person.old_address
    updated = _when(rng, today, oldest_days=1400 if stale else 700, newest_days=400 if stale else 1)
    has_address = rng.random() < address
    row = {
        "first_name": first,
        "last_name": last,
        "email": person.email if rng.random() < email else None,
        "phone": phone_as_typed(rng, person.phone) if rng.random() < phone else None,
        "birth_date": person.birth_date.isoformat() if rng.random() < birth else None,
        "street": place.street if has_address else None,
        "postcode": place.postcode if has_address else None,
        "city": place.city if has_address else None,
        "country": place.country,
        "loyalty_id": None,
        "updated_at": updated.isoformat(sep=" "),
    }
    return row, updated


WEB_STYLE = {"accents": 0.15, "upper": 0.03, "typo_rate": 0.02}
POS_STYLE = {"accents": 0.55, "upper": 0.6, "typo_rate": 0.05}
CRM_STYLE = {"accents": 0.35, "upper": 0.05, "typo_rate": 0.05}
PLACEHOLDER_EMAIL = "pas.de.mail@maisonverne.example"  # what some tills type when a customer gives none


def make_source_records(persons: list[Person], *, seed: int, today: dt.date) -> list[SourceRecord]:
    """Every person appears in at least one source; many in two or three, a few twice in one."""
    rng = random.Random(f"{seed}:sources")
    drafts: list[tuple[str, int, dict, dt.datetime, str | None]] = []  # source, person, row, updated, tier
    for person in persons:
        in_web, in_pos, in_crm = rng.random() < 0.55, rng.random() < 0.62, rng.random() < 0.28
        if not (in_web or in_pos or in_crm):
            in_web, in_pos = (True, False) if rng.random() < 0.4 else (False, True)
        if in_pos:
            person.loyalty_tier = rng.choices(TIERS, (70, 22, 8))[0]
        if in_web:
            for second_account in (False, True) if rng.random() < 0.04 else (False,):
                row, updated = _record_row(rng, person, today, names_style=WEB_STYLE, email=1.0, phone=0.65,
                                           birth=0.45, address=0.85, stale_address=0.35, swap=0.0, nickname=0.0)
                if second_account:
                    row["email"] = person.old_email or _email_variant(rng, person.email)
                    row["phone"] = None if rng.random() < 0.5 else row["phone"]
                elif rng.random() < 0.02:
                    row["email"] = _email_variant(rng, person.email)
                row["language"] = person.language
                drafts.append(("web", person.key, row, updated, None))
        if in_pos:
            for new_card in (False, True) if rng.random() < 0.03 else (False,):
                row, updated = _record_row(rng, person, today, names_style=POS_STYLE, email=0.55, phone=0.85,
                                           birth=0.7, address=0.45, stale_address=0.5, swap=0.04, nickname=0.06)
                if row["email"] and rng.random() < 0.06:
                    row["email"] = _email_variant(rng, row["email"])
                if row["email"] is None and rng.random() < 0.05:
                    row["email"] = PLACEHOLDER_EMAIL
                row["store"] = person.home_store
                row["enrolled_on"] = person.customer_since.isoformat()
                drafts.append(("pos", person.key, row, updated, person.loyalty_tier))
        if in_crm:
            row, updated = _record_row(rng, person, today, names_style=CRM_STYLE, email=0.55, phone=0.95,
                                       birth=0.25, address=0.65, stale_address=0.6, swap=0.03, nickname=0.1,
                                       no_first=0.04)
            if row["email"] and person.old_email and rng.random() < 0.5:
                row["email"] = person.old_email
            elif row["email"] and rng.random() < 0.05:
                row["email"] = _email_variant(rng, row["email"])
            row["language"] = person.language
            drafts.append(("crm", person.key, row, updated, None))
    return _assign_ids(rng, drafts)


def _assign_ids(rng: random.Random, drafts) -> list[SourceRecord]:
    """Source ids in each system's own style, in an order unrelated to the person keys."""
    by_source: dict[str, list] = {source: [] for source in SOURCES}
    for draft in drafts:
        by_source[draft[0]].append(draft)
    records: list[SourceRecord] = []
    for source in SOURCES:
        batch = by_source[source]
        numbers = rng.sample(range(100_000, 10_000_000), len(batch))
        numbers.sort()
        rng.shuffle(batch)
        for number, (_, person_key, row, updated, tier) in zip(numbers, batch):
            if source == "web":
                source_id = str(number)
            elif source == "pos":
                source_id = f"MV{number:09d}"
                row["loyalty_id"] = source_id
                row["loyalty_tier"] = tier
            else:
                source_id = f"CRM-{number:07d}"
            records.append(SourceRecord(source=source, source_id=source_id, person_key=person_key, row=row,
                                        updated_at=updated))
    # The call center often notes the loyalty card number the customer reads out.
    cards: dict[int, str] = {}
    for record in records:
        if record.source == "pos":
            cards.setdefault(record.person_key, record.source_id)
    for record in records:
        if record.source == "crm" and record.person_key in cards and rng.random() < 0.35:
            record.row["loyalty_id"] = cards[record.person_key]
    records.sort(key=lambda record: (SOURCES.index(record.source), record.source_id))
    return records
