"""What the demo customers did and what the retailer knows about them: orders with lines, web signals,
declared preferences, consents, and past interactions with follow-ups handled by employees.

Everything is generated from the true persons and attached to one of their source records, the way
each source system would export it. Pure: plain dicts and dataclasses, dates relative to `today`.
"""
from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from store.demo.catalogue import BRANDS, Product, products_for, size_choices
from store.demo.people import Person, SourceRecord
from store.demo.staff import CALL_CENTER_TEAM, STORE_BY_CODE, STORES, DemoEmployee

HISTORY_DAYS = 730
CHANNEL_OF_SOURCE = {"web": "web", "pos": "store", "crm": "phone"}
ORDERS_BY_TIER = {None: 1.6, "Silver": 3.0, "Gold": 6.0, "Platinum": 12.0}
_UTC = ZoneInfo("UTC")


@dataclass
class DemoOrderLine:
    sku: str
    product_name: str
    quantity: int
    unit_price: Decimal
    size: str | None


@dataclass
class DemoOrder:
    source: str
    source_id: str  # the person record the order belongs to
    order_number: str
    ordered_at: dt.datetime  # naive UTC
    channel: str
    store_code: str | None
    currency: str
    status: str
    lines: list[DemoOrderLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0.00"))


@dataclass
class DemoInteraction:
    ref: str
    source: str
    source_id: str
    employee: str  # Slack user id
    channel: str
    type: str
    outcome: str
    note: str
    created_at: dt.datetime  # naive UTC
    follow_up: DemoFollowUp | None = None


@dataclass
class DemoFollowUp:
    ref: str
    assignee: str  # Slack user id
    due_date: dt.date
    note: str
    status: str  # open | done | cancelled
    completed_at: dt.datetime | None


@dataclass
class Activity:
    orders: list[DemoOrder]
    signals: list[dict]
    preferences: list[dict]
    consents: list[dict]
    interactions: list[DemoInteraction]


def _utc(local_day: dt.date, hour: int, minute: int, timezone: str) -> dt.datetime:
    local = dt.datetime.combine(local_day, dt.time(hour, minute), tzinfo=ZoneInfo(timezone))
    return local.astimezone(_UTC).replace(tzinfo=None)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(sep=" ")


def _currency(country: str) -> str:
    return "GBP" if country == "GB" else "EUR"


def _size_for(rng: random.Random, person: Person, product: Product) -> str | None:
    if product.size_kind is None:
        return None
    choices = size_choices(product.size_kind, person.gender)
    usual = person.sizes.get(product.size_kind) or choices[len(choices) // 2]
    if rng.random() < 0.1:  # a gift, or a different fit
        index = choices.index(usual) + rng.choice((-1, 1))
        return choices[min(len(choices) - 1, max(0, index))]
    return usual


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, k, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def make_activity(persons: list[Person], records: list[SourceRecord], employees: list[DemoEmployee], *,
                  seed: int, today: dt.date) -> Activity:
    records_of: dict[int, dict[str, list[SourceRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        records_of[record.person_key][record.source].append(record)
    orders = _orders(random.Random(f"{seed}:orders"), persons, records_of, today)
    signals = _signals(random.Random(f"{seed}:signals"), persons, records_of, today)
    preferences = _preferences(random.Random(f"{seed}:preferences"), persons, records_of, today)
    consents = _consents(random.Random(f"{seed}:consents"), persons, records_of, today)
    interactions = _interactions(random.Random(f"{seed}:interactions"), persons, records_of, employees, today,
                                 orders)
    orders.sort(key=lambda order: order.ordered_at)
    return Activity(orders=orders, signals=signals, preferences=preferences, consents=consents,
                    interactions=interactions)


# --- orders -------------------------------------------------------------------------------------


def _orders(rng, persons, records_of, today) -> list[DemoOrder]:
    orders: list[DemoOrder] = []
    counters = {"web": 0, "pos": 0, "crm": 0}
    for person in persons:
        held = records_of[person.key]
        sources = [s for s in ("web", "pos", "crm") if held.get(s)]
        weights = [{"web": 5, "pos": 4, "crm": 1}[s] for s in sources]
        catalogue = products_for(person.gender)
        home = STORE_BY_CODE[person.home_store]
        currency = _currency(person.address.country)
        for _ in range(_poisson(rng, ORDERS_BY_TIER[person.loyalty_tier])):
            source = rng.choices(sources, weights)[0]
            record = rng.choice(held[source])
            channel = CHANNEL_OF_SOURCE[source]
            day = today - dt.timedelta(days=rng.randint(1, HISTORY_DAYS))
            store = None
            if channel == "store":
                store = home if rng.random() < 0.85 else rng.choice([s for s in STORES if s.country == home.country])
                ordered_at = _utc(day, rng.randint(10, 18), rng.randint(0, 59), store.timezone)
            else:
                ordered_at = _utc(day, rng.randint(8, 22), rng.randint(0, 59), home.timezone)
            counters[source] += 1
            number = {"web": f"W{day:%y}{counters['web']:07d}",
                      "pos": f"{store.code if store else 'POS'}-{counters['pos']:07d}",
                      "crm": f"TEL-{counters['crm']:06d}"}[source]
            order_currency = _currency(store.country) if store else currency
            status = rng.choices(("completed", "returned", "cancelled"), (93, 5, 2))[0]
            order = DemoOrder(source=source, source_id=record.source_id, order_number=number, ordered_at=ordered_at,
                              channel=channel, store_code=store.code if store else None, currency=order_currency,
                              status=status)
            for product in rng.sample(catalogue, rng.choices((1, 2, 3, 4), (55, 28, 12, 5))[0]):
                price = product.price(order_currency)
                if rng.random() < 0.15:  # bought in the sales
                    price = (price * Decimal("0.7")).quantize(Decimal("1")) - Decimal("0.01")
                quantity = 2 if product.sku == "MV-TSH-108" and rng.random() < 0.3 else 1
                order.lines.append(DemoOrderLine(sku=product.sku, product_name=product.name(person.language),
                                                 quantity=quantity, unit_price=price,
                                                 size=_size_for(rng, person, product)))
            orders.append(order)
    orders.sort(key=lambda order: order.ordered_at)
    return orders


# --- web signals, preferences, consents ------------------------------------------------------------


def _signals(rng, persons, records_of, today) -> list[dict]:
    rows: list[dict] = []
    for person in persons:
        web = records_of[person.key].get("web")
        if not web:
            continue
        record = web[0]
        catalogue = products_for(person.gender)
        currency = _currency(person.address.country)
        plan = (("wishlist", rng.choice((0, 0, 1, 2, 3, 4)), 180),
                ("viewed", rng.choice((0, 0, 1, 3, 5, 8)), 45),
                ("recommended", rng.choice((0, 3, 3, 4)), 7))
        for kind, how_many, within_days in plan:
            for product in rng.sample(catalogue, min(how_many, len(catalogue))):
                moment = dt.datetime.combine(today - dt.timedelta(days=rng.randint(1, within_days)),
                                             dt.time(rng.randint(7, 22), rng.randint(0, 59)))
                rows.append({"source": "web", "source_id": record.source_id, "kind": kind, "sku": product.sku,
                             "product_name": product.name(person.language),
                             "price": str(product.price(currency)), "currency": currency,
                             "occurred_at": _iso(moment)})
    return rows


TASTES = {
    "fr": ("couleurs sobres", "lin et matières naturelles", "coupes amples", "imprimés fleuris",
           "tailleur classique", "cuir naturel", "style minimaliste", "tons pastel"),
    "en": ("muted colours", "linen and natural fabrics", "relaxed fits", "floral prints",
           "classic tailoring", "natural leather", "minimalist style", "pastel shades"),
}
CONTACT_NOTES = {
    "fr": ("pas d'appel avant 10 h", "préfère un SMS à un appel", "joignable le soir uniquement"),
    "en": ("no calls before 10am", "prefers a text to a call", "reachable in the evening only"),
}
SIZE_LABELS = {"fr": {"top": "haut", "trousers": "pantalon", "shoes": "chaussures", "dress": "robe"},
               "en": {"top": "top", "trousers": "trousers", "shoes": "shoes", "dress": "dress"}}


def _preferences(rng, persons, records_of, today) -> list[dict]:
    rows: list[dict] = []
    for person in persons:
        if rng.random() > 0.45:
            continue
        held = records_of[person.key]
        source = rng.choice([s for s in ("pos", "crm", "web") if held.get(s)])
        record = held[source][0]
        recorded = dt.datetime.combine(today - dt.timedelta(days=rng.randint(1, HISTORY_DAYS)),
                                       dt.time(rng.randint(9, 19), rng.randint(0, 59)))

        def add(category: str, value: str, label: str | None = None) -> None:
            rows.append({"source": source, "source_id": record.source_id, "category": category,
                         "label": label, "value": value, "recorded_at": _iso(recorded)})

        language = person.language
        for kind in rng.sample(sorted(person.sizes), rng.randint(1, len(person.sizes))):
            add("size", person.sizes[kind], SIZE_LABELS[language][kind])
        if rng.random() < 0.5:
            add("brand", rng.choice(BRANDS))
        for taste in rng.sample(TASTES[language], rng.choice((0, 1, 1, 2))):
            add("taste", taste)
        if rng.random() < 0.4:
            add("channel", rng.choices(("email", "sms", "phone", "store"), (4, 3, 1, 3))[0])
        if rng.random() < 0.1:
            add("contact", rng.choice(CONTACT_NOTES[language]))
    return rows


def _consents(rng, persons, records_of, today) -> list[dict]:
    """Marketing per channel and profiling, as each system asked; a realistic share refuse profiling."""
    rows: list[dict] = []
    asked = {"web": (("marketing", "email"), ("profiling", "any")),
             "pos": (("marketing", "sms"), ("marketing", "email"), ("profiling", "any")),
             "crm": (("marketing", "phone"), ("marketing", "post"))}
    for person in persons:
        if rng.random() < 0.08:  # never asked anywhere
            continue
        refuses_profiling = rng.random() < 0.3
        likes_marketing = rng.random() < 0.6
        for source, questions in asked.items():
            for record in records_of[person.key].get(source, ()):
                recorded = dt.datetime.combine(today - dt.timedelta(days=rng.randint(1, HISTORY_DAYS)),
                                               dt.time(rng.randint(8, 21), rng.randint(0, 59)))
                for purpose, channel in questions:
                    if purpose == "profiling":
                        granted = not refuses_profiling
                    else:
                        granted = likes_marketing and rng.random() < 0.85
                    rows.append({"source": source, "source_id": record.source_id, "purpose": purpose,
                                 "channel": channel, "granted": "true" if granted else "false",
                                 "recorded_at": _iso(recorded)})
    return rows


# --- interactions and follow-ups -------------------------------------------------------------------

NOTES = {
    "advice": {"fr": "Conseillé(e) sur {product} en {size} ; hésite entre deux coloris.",
               "en": "Advised on the {product} in {size}; torn between two colours."},
    "visit": {"fr": "Passage en boutique pour essayer {product} ; reviendra samedi.",
              "en": "Came in to try the {product}; will be back on Saturday."},
    "call": {"fr": "Appel pour la disponibilité de {product} en {size}.",
             "en": "Called about availability of the {product} in {size}."},
    "complaint": {"fr": "Couture défaite sur {product} après deux lavages ; demande un échange.",
                  "en": "Seam came undone on the {product} after two washes; wants an exchange."},
    "return": {"fr": "Retour de {product} (taille trop petite), échangé en {size}.",
               "en": "Returned the {product} (too small), exchanged for {size}."},
    "purchase": {"fr": "Achat de {product}, veut être prévenu(e) des nouveautés {brand}.",
                 "en": "Bought the {product}; wants to hear about new {brand} pieces."},
    "other": {"fr": "Question sur la carte de fidélité et les points.",
              "en": "Question about the loyalty card and points."},
}
FOLLOW_UP_NOTES = {
    "fr": ("Rappeler quand {product} en {size} est de retour en stock.", "Envoyer une photo du coloris marine.",
           "Confirmer que la retouche est prête.", "Proposer un rendez-vous essayage."),
    "en": ("Call back when the {product} in {size} is back in stock.", "Send a photo of the navy colourway.",
           "Confirm the alteration is ready.", "Offer a fitting appointment."),
}
# Which interaction channels each kind of colleague handles.
STORE_CHANNELS = (("store", 8), ("phone", 1), ("video", 1))
CALL_CENTER_CHANNELS = (("phone", 6), ("email", 3), ("chat", 2))
TYPES_BY_CHANNEL = {
    "store": (("visit", 3), ("advice", 4), ("purchase", 3), ("return", 2), ("complaint", 1)),
    "video": (("advice", 1),),
}
REMOTE_TYPES = (("call", 4), ("complaint", 2), ("advice", 1), ("return", 1), ("other", 1))


def _pick(rng, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


def _interactions(rng, persons, records_of, employees, today, orders) -> list[DemoInteraction]:
    """Past contacts; a purchase in a store (loyalty card scanned) also adds that order to `orders`."""
    staff_of_store = defaultdict(list)
    agents = {"fr": [], "en": []}
    for employee in employees:
        if employee.role == "admin":
            continue
        if employee.team == CALL_CENTER_TEAM:
            agents[employee.locale or "fr"].append(employee)
        elif employee.store_code:
            staff_of_store[employee.store_code].append(employee)
    result: list[DemoInteraction] = []
    for person in persons:
        if rng.random() > 0.3:
            continue
        held = records_of[person.key]
        record = next(held[s][0] for s in ("crm", "pos", "web") if held.get(s))
        catalogue = products_for(person.gender)
        for _ in range(rng.choices((1, 2, 3, 4), (50, 28, 14, 8))[0]):
            remote = rng.random() < 0.4
            if remote:
                employee = rng.choice(agents[person.language] or agents["fr"])
                channel = _pick(rng, CALL_CENTER_CHANNELS)
                kind = _pick(rng, REMOTE_TYPES)
            else:
                employee = rng.choice(staff_of_store[person.home_store])
                channel = _pick(rng, STORE_CHANNELS)
                kind = _pick(rng, TYPES_BY_CHANNEL.get(channel, REMOTE_TYPES))
            # A steadily growing clienteling habit: recent weeks are busier than last year, without a
            # cliff that would make this month's KPIs jump against the last.
            days_ago = min(540, 1 + int(rng.expovariate(1 / 120)))
            timezone = STORE_BY_CODE[employee.store_code].timezone if employee.store_code else "Europe/Paris"
            created = _utc(today - dt.timedelta(days=days_ago), rng.randint(9, 18), rng.randint(0, 59), timezone)
            sized = kind in ("advice", "call", "return")
            product = rng.choice([p for p in catalogue if p.size_kind] if sized else catalogue)
            size = _size_for(rng, person, product) or "one size"
            language = employee.locale or "fr"  # colleagues write notes in their own language
            size = size if size[0].isdigit() or len(size) <= 3 else ("taille unique" if language == "fr" else "one size")
            words = {"product": product.name(language).lower() if language == "fr" else product.name(language),
                     "size": size, "brand": product.brand}
            outcome = _pick(rng, (("resolved", 5), ("follow_up", 3), ("info", 2), ("escalated", 1),
                                  ("no_answer", 1 if remote else 0)))
            if kind == "purchase" and channel == "store" and held.get("pos"):
                store = STORE_BY_CODE[employee.store_code]
                currency = _currency(store.country)
                price = product.price(currency)
                orders.append(DemoOrder(
                    source="pos", source_id=held["pos"][0].source_id, order_number=f"{store.code}-C{len(result) + 1:06d}",
                    ordered_at=created + dt.timedelta(minutes=rng.randint(5, 40)), channel="store",
                    store_code=store.code, currency=currency, status="completed",
                    lines=[DemoOrderLine(sku=product.sku, product_name=product.name(person.language), quantity=1,
                                         unit_price=price, size=_size_for(rng, person, product))]))
            interaction = DemoInteraction(
                ref=f"demo-i{len(result) + 1:06d}", source=record.source, source_id=record.source_id,
                employee=employee.slack_user_id, channel=channel, type=kind, outcome=outcome,
                note=NOTES[kind][language].format(**words), created_at=created)
            if outcome in ("follow_up", "escalated"):
                interaction.follow_up = _follow_up(rng, interaction, employee, language, words, today)
            result.append(interaction)
    result.sort(key=lambda interaction: interaction.created_at)
    return result


def _follow_up(rng, interaction, employee, language, words, today) -> DemoFollowUp:
    created_day = interaction.created_at.date()
    due = created_day + dt.timedelta(days=rng.randint(1, 14))
    status, completed = "open", None
    if due < today:
        # Most past follow-ups were done on time; some slipped and are still open (overdue).
        status = rng.choices(("done", "cancelled", "open"), (78, 5, 17 if (today - due).days < 45 else 2))[0]
        if status != "open":
            done_day = min(today - dt.timedelta(days=1), due + dt.timedelta(days=rng.randint(-3, 2)))
            done_day = max(done_day, created_day)
            completed = dt.datetime.combine(done_day, dt.time(rng.randint(8, 18), rng.randint(0, 59)))
            completed = max(completed, interaction.created_at)
    note = rng.choice(FOLLOW_UP_NOTES[language]).format(**words)
    return DemoFollowUp(ref=f"demo-f{interaction.ref[6:]}", assignee=employee.slack_user_id, due_date=due, note=note,
                        status=status, completed_at=completed)
