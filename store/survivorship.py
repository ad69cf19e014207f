"""Survivorship: the golden customer record built from its linked source records.

The rules are documented in README.md, "Identity resolution and survivorship". In short: names and
birth date by agreement (most records), contact details by freshness, the address as one block from
the freshest complete record, the loyalty id from the till/loyalty system, and every golden value
carries its provenance (which record, which source, which source id).

`build_golden` is pure; `rebuild_golden` loads records for a batch of customers, writes only what
changed, and keeps CustomerIdentifier rows in step without renumbering the ones that stay.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Row, Select, Table, Update, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from store import dialect
from store.clock import utc_now
from store.models import Base, Customer, CustomerIdentifier, Order, SourceRecord, Store
from store.namekey import stored_keys, stored_pair_keys, stored_word_variants
from store.normalize import fold, normalise_email, normalise_phone
from store.vocabulary import CustomerStatus, IdentifierKind

# Earlier in a tuple = more trusted for that kind of field. Sources not listed rank after all listed.
DEFAULT_PRIORITY: dict[str, tuple[str, ...]] = {
    # Customer service edits the CRM while talking to the customer; the till is typed from an ID or
    # a loyalty card; web accounts are self-typed (nicknames, all lowercase).
    "name": ("crm", "pos", "web", "webshop"),
    "birth_date": ("crm", "pos", "web", "webshop"),
    # The web shop e-mail is the one order confirmations reach, so it is proven to work.
    "email": ("web", "webshop", "crm", "pos"),
    "phone": ("crm", "pos", "web", "webshop"),
    "address": ("crm", "web", "webshop", "pos"),
    # Only the till / loyalty system issues loyalty cards; other systems hold copies.
    "loyalty": ("pos", "loyalty", "crm", "web", "webshop"),
    # The till knows where the customer actually shops.
    "home_store": ("pos", "loyalty", "crm", "web", "webshop"),
}
LOYALTY_SOURCES = frozenset({"pos", "loyalty"})
# attributes keys read for the fields that are not plain SourceRecord columns.
TIER_KEYS = ("loyalty_tier", "tier")
LANGUAGE_KEYS = ("preferred_language", "language", "locale")
HOME_STORE_KEY = "home_store"  # a store code, checked by the people import
SINCE_KEYS = ("customer_since", "created_at", "registered_at", "enrolled_at", "enrolled_on", "signup_date")
# What tills type when a customer gives no e-mail: never a golden e-mail, never an identifier.
PLACEHOLDER_LOCAL_PARTS = frozenset({"none", "nomail", "noemail", "pasdemail", "sansmail", "aucun",
                                     "unknown", "inconnu", "na", "nobody", "test", "xxx", "x"})

# Their Tables (typed as such, unlike `Model.__table__`): bulk inserts go through Core.
_CUSTOMERS = Base.metadata.tables[Customer.__tablename__]
_IDENTIFIERS = Base.metadata.tables[CustomerIdentifier.__tablename__]

GOLDEN_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date", "street", "postcode", "city",
                 "country", "loyalty_id", "loyalty_tier", "preferred_language", "customer_since",
                 "preferred_store_id")
RECORD_COLUMNS = ("id", "source", "source_id", "customer_id", "first_name", "last_name", "email", "phone",
                  "birth_date", "street", "postcode", "city", "country", "loyalty_id", "attributes",
                  "source_updated_at", "imported_at")


@dataclass(frozen=True)
class RecordValues:
    id: int
    source: str
    source_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: dt.date | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    loyalty_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    source_updated_at: dt.datetime | None = None
    imported_at: dt.datetime | None = None
    customer_id: int | None = None

    @property
    def freshness(self) -> dt.datetime:
        return self.source_updated_at or self.imported_at or dt.datetime.min


@dataclass
class Golden:
    values: dict[str, Any]
    provenance: dict[str, dict[str, Any]]
    search_name: str | None
    identifiers: dict[tuple[str, str], int]  # (kind, value) -> source record id


def _rank(priority: Sequence[str], source: str) -> int:
    return priority.index(source) if source in priority else len(priority)


def _origin(record: RecordValues) -> dict[str, Any]:
    return {"record_id": record.id, "source": record.source, "source_id": record.source_id}


def _by_trust(records: Iterable[RecordValues], priority: Sequence[str]) -> list[RecordValues]:
    """Most trusted first: source priority, then freshness, then the newest record id."""
    ordered = sorted(records, key=lambda r: (r.freshness, r.id), reverse=True)
    return sorted(ordered, key=lambda r: _rank(priority, r.source))


def _by_freshness(records: Iterable[RecordValues], priority: Sequence[str]) -> list[RecordValues]:
    """Freshest first; equal freshness falls back to source priority."""
    return sorted(records, key=lambda r: (r.freshness, -_rank(priority, r.source), r.id), reverse=True)


def _display_quality(value: str) -> int:
    """Prefer "Hélène" to "HELENE" or "helene" among spellings that fold the same."""
    return 0 if value != value.upper() and value != value.lower() else 1


def _pick_by_agreement(records: Sequence[RecordValues], get: Callable[[RecordValues], Any],
                       key: Callable[[Any], Any], priority: Sequence[str]) -> RecordValues | None:
    candidates: list[RecordValues] = []
    keys: dict[int, Any] = {}  # record id -> its key, computed once (folding is the costly part)
    for r in records:
        value = get(r)
        if value is not None and value != "":
            value_key = key(value)
            if value_key:
                candidates.append(r)
                keys[r.id] = value_key
    if len(candidates) < 2:
        return candidates[0] if candidates else None  # most clusters are one record: no vote to hold
    counts = Counter(keys[r.id] for r in candidates)
    ordered = _by_trust(candidates, priority)
    best_trust: dict[Any, int] = {}
    for position, r in enumerate(ordered):
        best_trust.setdefault(keys[r.id], position)
    winner = min(counts, key=lambda k: (-counts[k], best_trust[k]))
    group = [r for r in ordered if keys[r.id] == winner]
    if isinstance(get(group[0]), str):
        group.sort(key=lambda r: _display_quality(get(r)))  # stable: trust order kept within quality
    return group[0]


@lru_cache(maxsize=200_000)  # names repeat a lot across a million records; folding is the costly part
def _name_key(value: str) -> str:
    # "D'Arcy", "DARCY" and "darcy" are one vote: accents, case and punctuation are spelling, not identity.
    folded = fold(value).replace(" ", "")
    return folded if len(folded) > 1 else ""  # an initial loses to a full name


_fold = lru_cache(maxsize=200_000)(fold)


def _valid(normaliser: Callable[[str], str | None], raw: str | None) -> str | None:
    try:
        return normaliser(raw) if raw else None
    except ValueError:
        return None


def is_placeholder_email(email: str) -> bool:
    local = email.split("@", 1)[0]
    return "".join(filter(str.isalnum, local)) in PLACEHOLDER_LOCAL_PARTS


def _valid_email(raw: str | None) -> str | None:
    email = _valid(normalise_email, raw)
    return None if email is None or is_placeholder_email(email) else email


def _valid_phone(raw: str | None) -> str | None:
    if raw and raw[0] == "+" and raw[1:].isdigit() and 8 <= len(raw) <= 16:
        return raw  # already E.164, as the importer stores it
    return _valid(normalise_phone, raw)


def _normal_loyalty(raw: str | None) -> str | None:
    return "".join(raw.split()).upper() if raw and raw.strip() else None


def _first_attribute(record: RecordValues, keys: Sequence[str]) -> Any:
    attributes = record.attributes or {}
    for name in keys:
        if attributes.get(name) not in (None, ""):
            return attributes[name]
    return None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def build_golden(records: Sequence[RecordValues], *, first_order: dt.date | None = None,
                 priority: dict[str, tuple[str, ...]] | None = None,
                 store_ids: Mapping[str, int] | None = None) -> Golden:
    """The golden values of one customer from its records (see README for the rules).

    `store_ids` maps store codes to ids, for the home store; without it no home store is derived.
    """
    prio = {**DEFAULT_PRIORITY, **(priority or {})}
    values: dict[str, Any] = dict.fromkeys(GOLDEN_FIELDS)
    provenance: dict[str, dict[str, Any]] = {}

    def take(name: str, record: RecordValues | None, value: Any) -> None:
        if record is not None and value not in (None, ""):
            values[name] = value
            provenance[name] = _origin(record)

    for name in ("first_name", "last_name"):
        chosen = _pick_by_agreement(records, attrgetter(name), _name_key, prio["name"])
        if chosen is None:  # only initials (or nothing): keep the most trusted initial
            chosen = _pick_by_agreement(records, attrgetter(name), _fold, prio["name"])
        take(name, chosen, chosen and getattr(chosen, name).strip())
    chosen = _pick_by_agreement(records, lambda r: r.birth_date, lambda v: v, prio["birth_date"])
    take("birth_date", chosen, chosen and chosen.birth_date)

    # Normalised once per record: used for the golden value and for the identifiers.
    contacts = {r.id: {"email": _valid_email(r.email), "phone": _valid_phone(r.phone)} for r in records}
    for name in ("email", "phone"):
        for record in _by_freshness(records, prio[name]):
            value = contacts[record.id][name]
            if value:
                take(name, record, value)
                break

    address_parts = ("street", "postcode", "city")
    with_address = [r for r in records if any(getattr(r, p) for p in address_parts)]
    if with_address:
        completeness = {r.id: sum(1 for p in address_parts if getattr(r, p)) for r in with_address}
        best = max(completeness.values())
        chosen = _by_freshness([r for r in with_address if completeness[r.id] == best], prio["address"])[0]
        for part in (*address_parts, "country"):
            raw = getattr(chosen, part)
            take(part, chosen, raw.strip().upper() if part == "country" and raw else raw and raw.strip())

    loyalty_holders = [r for r in records if _normal_loyalty(r.loyalty_id)]
    issued = [r for r in loyalty_holders if r.source in LOYALTY_SOURCES] or loyalty_holders
    if issued:
        chosen = _by_freshness(issued, prio["loyalty"])[0]
        take("loyalty_id", chosen, _normal_loyalty(chosen.loyalty_id))
        tier = _first_attribute(chosen, TIER_KEYS)
        take("loyalty_tier", chosen, str(tier) if tier is not None else None)
    for record in _by_freshness(records, prio["name"]):
        language = _first_attribute(record, LANGUAGE_KEYS)
        if isinstance(language, str) and 2 <= len(language.strip()) <= 8:
            take("preferred_language", record, language.strip().lower()[:2])
            break

    stores = store_ids or {}
    for record in _by_freshness(records, prio["home_store"]) if stores else ():
        store_id = stores.get(str(_first_attribute(record, (HOME_STORE_KEY,)) or ""))
        if store_id is not None:
            take("preferred_store_id", record, store_id)
            break

    since: tuple[dt.date, RecordValues | None] | None = (first_order, None) if first_order else None
    for record in records:
        day = _as_date(_first_attribute(record, SINCE_KEYS)) or _as_date(record.source_updated_at)
        if day and (since is None or day < since[0]):
            since = (day, record)
    if since:
        values["customer_since"] = since[0]
        provenance["customer_since"] = _origin(since[1]) if since[1] else {"record_id": None,
                                                                          "source": "orders",
                                                                          "source_id": None}

    identifiers: dict[tuple[str, str], int] = {}
    for record in sorted(records, key=lambda r: r.id):
        for kind, value in ((IdentifierKind.EMAIL, contacts[record.id]["email"]),
                            (IdentifierKind.PHONE, contacts[record.id]["phone"]),
                            (IdentifierKind.LOYALTY, _normal_loyalty(record.loyalty_id))):
            if value:
                identifiers.setdefault((kind, value), record.id)
    full_name = " ".join(v for v in (values["first_name"], values["last_name"]) if v)
    return Golden(values=values, provenance=provenance, search_name=_fold(full_name) or None, identifiers=identifiers)


# --- database side ----------------------------------------------------------------------------


def _record_columns() -> list[InstrumentedAttribute[Any]]:
    return [getattr(SourceRecord, name) for name in RECORD_COLUMNS]


def load_records(session: Session, customer_ids: Sequence[int]) -> dict[int, list[RecordValues]]:
    by_customer: dict[int, list[RecordValues]] = {cid: [] for cid in customer_ids}
    rows = session.execute(select(*_record_columns()).where(SourceRecord.customer_id.in_(customer_ids)))
    for row in rows:
        by_customer[row.customer_id].append(RecordValues(**row._asdict()))
    return by_customer


def store_ids_by_code(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Store.code, Store.id)).all())


def _first_orders(session: Session, customer_ids: Sequence[int]) -> dict[int, dt.date]:
    rows = session.execute(
        select(Order.customer_id, func.min(Order.ordered_at)).where(Order.customer_id.in_(customer_ids))
        .group_by(Order.customer_id)
    )
    firsts = {cid: _as_date(first) for cid, first in rows}
    return {cid: day for cid, day in firsts.items() if day is not None}


def create_customers(session: Session, groups: Sequence[Sequence[int]],
                     priority: dict[str, tuple[str, ...]] | None = None) -> list[int]:
    """One new customer per group of (unlinked) record ids, born with its golden record and identifiers.

    Inserting the final values (rather than a blank row later updated) matters at import scale:
    search indexes and triggers then work once per customer. Records are not attached here.
    Ids are reserved first so customers and identifiers go in as plain bulk writes (a COPY on PostgreSQL,
    an executemany on SQLite): an INSERT .. RETURNING that must keep parameter order runs one statement
    per row on SQLite. PostgreSQL's name-key triggers run once per statement (revision 0021), SQLite's
    are lifted for big batches (below).
    """
    if not groups:
        return []
    return insert_customers(session, build_customers(read_records(session, groups), groups, store_ids_by_code(session),
                                                     priority))


def read_records(session: Session, groups: Sequence[Sequence[int]]) -> dict[int, RecordValues]:
    """The values of the groups' records, by record id (the read half of create_customers)."""
    by_id = {}
    wanted = [record_id for group in groups for record_id in group]
    for start in range(0, len(wanted), 5000):
        for row in session.execute(select(*_record_columns())
                                   .where(SourceRecord.id.in_(wanted[start:start + 5000]))):
            by_id[row.id] = RecordValues(**row._asdict())
    return by_id


def build_customers(by_id: Mapping[int, RecordValues], groups: Sequence[Sequence[int]], stores: Mapping[str, int],
                    priority: dict[str, tuple[str, ...]] | None = None) -> list[Golden]:
    """The golden record of each group: pure computation, no database (so a relink can build the next
    chunk while the database writes the last one)."""
    return [build_golden([by_id[r] for r in group if r in by_id], priority=priority, store_ids=stores)
            for group in groups]


def insert_customers(session: Session, goldens: Sequence[Golden]) -> list[int]:
    """One new customer per golden record, with its identifiers; their ids in order (the write half)."""
    connection = session.connection()
    if dialect.is_postgresql(connection):
        rows = customer_rows(connection, goldens, dialect.reserve_ids(connection, "customers", len(goldens)))
        write_customer_rows(connection, rows)
        return rows.ids
    ids = _insert_customers_sqlite(connection, _customer_values(goldens))
    identifier_rows = _identifier_values(goldens, ids)
    if identifier_rows:
        dialect.insert_rows(connection, _IDENTIFIERS.name, *_driver_rows(connection, _IDENTIFIERS, identifier_rows))
    return ids


@dataclass(frozen=True)
class CustomerRows:
    """New customers and their identifiers as the driver writes them (PostgreSQL), ids reserved."""
    ids: list[int]
    customers: tuple[list[str], list[tuple[Any, ...]]]  # column names, rows
    identifiers: tuple[list[str], list[tuple[Any, ...]]]


def customer_rows(connection: Connection, goldens: Sequence[Golden], ids: list[int]) -> CustomerRows:
    """The rows for `goldens`, carrying `ids` (reserved by store.dialect.reserve_ids). No database work: a
    relink makes the next chunk's rows while the connection writes the last (store.resolution)."""
    customers = [{"id": cid, **row} for row, cid in zip(_customer_values(goldens), ids, strict=True)]
    identifiers = _identifier_values(goldens, ids)
    return CustomerRows(ids, _driver_rows(connection, _CUSTOMERS, customers),
                        _driver_rows(connection, _IDENTIFIERS, identifiers) if identifiers else ([], []))


def write_customer_rows(connection: Connection, rows: CustomerRows) -> None:
    """COPY the customers, then their identifiers (PostgreSQL; the name-key triggers run once per statement)."""
    dialect.insert_rows(connection, _CUSTOMERS.name, *rows.customers)
    if rows.identifiers[1]:
        dialect.insert_rows(connection, _IDENTIFIERS.name, *rows.identifiers)


def _customer_values(goldens: Sequence[Golden]) -> list[dict[str, Any]]:
    now = utc_now()
    return [{"status": CustomerStatus.ACTIVE, "merged_into_id": None, "preferred_store_id": None,
             "preferred_channel": None, **g.values, "provenance": g.provenance, "search_name": g.search_name,
             "created_at": now, "updated_at": now} for g in goldens]


def _identifier_values(goldens: Sequence[Golden], ids: Sequence[int]) -> list[dict[str, Any]]:
    return [{"customer_id": cid, "kind": kind, "value": value, "source_record_id": record_id}
            for cid, golden in zip(ids, goldens, strict=True)
            for (kind, value), record_id in golden.identifiers.items()]


def _driver_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Rows (all with the same keys, every column they need given) as the driver takes them for a bulk write
    (store.dialect.insert_rows: COPY on PostgreSQL, the driver's executemany on SQLite), each value converted by
    its column type's own bind processor (what SQLAlchemy stores: dates, JSON...): SQLAlchemy's per-row
    parameter handling cost more than SQLite's insert in a relink of a million records, and PostgreSQL parsed
    a thousand-row INSERT for every thousand customers. Reads only the dialect: no database work."""
    names = list(rows[0])
    processors = [table.c[name].type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
                  for name in names]
    converting = [(i, process) for i, process in enumerate(processors) if process is not None]
    values = []
    for row in rows:
        line = [row[name] for name in names]
        for i, process in converting:
            line[i] = process(line[i])
        values.append(tuple(line))
    return names, values


def _insert_customers_sqlite(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert customer rows (all with the same keys), returning their ids in order."""
    table = _CUSTOMERS
    # SQLite: the first row takes SQLite's write lock and the next free id: no other writer can come
    # between, and every id above the one SQLite just chose (max(id) + 1) is free.
    first = connection.execute(insert(table).returning(table.c.id), rows[0]).scalar_one()
    ids = list(range(first, first + len(rows)))
    rest = [{**row, "id": cid} for row, cid in zip(rows[1:], ids[1:], strict=True)]
    if len(rest) < NAME_KEYS_BY_HAND_FROM:
        if rest:
            connection.execute(insert(table), rest)
        return ids
    with (dialect.sqlite_trigger_off(connection, "customers_name_keys_insert") as trigger_off,
          dialect.sqlite_trigger_off(connection, "customers_name_pair_keys_insert") as pair_trigger_off):
        dialect.insert_rows(connection, table.name, *_driver_rows(connection, table, rest))
        named = [(row["id"], row["search_name"]) for row in rest if row["search_name"]]
        # The driver's executemany over tuples: millions of keys in a relink, where SQLAlchemy's
        # per-row parameter handling would cost more than SQLite's insert.
        if trigger_off:
            keys = sorted({(key, cid) for cid, name in named for key in stored_keys(name)})
            connection.exec_driver_sql(
                "INSERT OR IGNORE INTO customer_name_keys (key, customer_id) VALUES (?, ?)", keys)
        if pair_trigger_off:
            pair_keys = sorted({(key, cid) for cid, name in named for key in stored_pair_keys(name)})
            connection.exec_driver_sql(
                "INSERT OR IGNORE INTO customer_name_pair_keys (key, customer_id) VALUES (?, ?)", pair_keys)
            words = sorted({variant for _, name in named for variant in stored_word_variants(name)})
            connection.exec_driver_sql(
                "INSERT OR IGNORE INTO customer_name_words (variant, word) VALUES (?, ?)", words)
    return ids


# On SQLite the name-key triggers (revisions 0002 and 0017) cost more than the rest of a customer insert:
# they unpack the name with json_each for every row. For big batches the same keys (store/namekey.py) are
# made here and inserted in key order while the trigger is lifted (store.dialect.sqlite_trigger_off).
NAME_KEYS_BY_HAND_FROM = 500


def _keep_store_not_from_records(golden: Golden, current: Row[Any]) -> None:
    """A preferred store no source record gives (set by hand) is left alone, with its provenance; one
    that came from a record that no longer gives it goes, like any other golden value."""
    origin = (current.provenance or {}).get("preferred_store_id")
    if isinstance(origin, dict) and origin.get("record_id") is not None:
        return
    golden.values["preferred_store_id"] = current.preferred_store_id
    if origin is not None:
        golden.provenance["preferred_store_id"] = origin


def rebuild_golden(session: Session, customer_ids: Iterable[int], *, batch_size: int = 1000,
                   priority: dict[str, tuple[str, ...]] | None = None) -> int:
    """Recompute golden fields, provenance, search name and identifiers of these customers.

    Every customer given is written (updated_at moves, which tells relink its records are digested), but
    only a customer whose golden record came out different has its golden columns written: a site sends
    the same traits on every visit, and most rebuilds change nothing but the time. Identifiers are diffed
    so the ones that stay keep their ids. Returns the number of customers.
    """
    ids = sorted(set(customer_ids))
    written = 0
    session.flush()  # the reads below go through the connection, which does not autoflush
    connection = session.connection()
    postgresql = dialect.is_postgresql(connection)
    stores: dict[str, int] | None = None  # read once, and only when a record names a store
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        parameter = {"ids": dialect.ids_value(postgresql, batch)}
        records: dict[int, list[RecordValues]] = {cid: [] for cid in batch}
        for row in connection.execute(_records_statement(postgresql), parameter):
            records[row.customer_id].append(RecordValues(**row._asdict()))
        if stores is None and any(_first_attribute(r, (HOME_STORE_KEY,)) is not None
                                  for group in records.values() for r in group):
            stores = store_ids_by_code(session)
        # the customers' golden records as stored (to write only what moved), with their first order's day
        current = {row.id: row for row in connection.execute(_golden_statement(postgresql), parameter)}
        existing: dict[int, dict[tuple[str, str], tuple[int, int | None]]] = {cid: {} for cid in batch}
        for row in connection.execute(_identifiers_statement(postgresql), parameter):
            existing[row.customer_id][(row.kind, row.value)] = (row.id, row.source_record_id)
        updates: list[dict[str, Any]] = []
        renamed: list[dict[str, Any]] = []
        untouched: list[int] = []
        to_delete: list[int] = []
        to_insert: list[dict[str, Any]] = []
        to_repoint: list[dict[str, Any]] = []
        now = utc_now()
        for cid in batch:
            if not records[cid]:
                continue  # no source record (e.g. created by hand): nothing to derive, keep as is
            stored = current.get(cid)
            golden = build_golden(records[cid], first_order=_as_date(stored.first_order) if stored is not None else None,
                                  priority=priority, store_ids=stores)
            if golden.values["preferred_store_id"] is None and stored is not None \
                    and stored.preferred_store_id is not None:
                _keep_store_not_from_records(golden, stored)
            if stored is not None and _same_golden(golden, stored):
                untouched.append(cid)  # only updated_at moves
            elif stored is None or stored.search_name != golden.search_name:
                # only then is search_name written: name-search triggers/indexes follow it
                renamed.append({"b_id": cid, **golden.values, "provenance": golden.provenance,
                                "search_name": golden.search_name, "updated_at": now})
            else:
                updates.append({"b_id": cid, **golden.values, "provenance": golden.provenance, "updated_at": now})
            have = existing[cid]
            for key, (identifier_id, record_id) in have.items():
                wanted = golden.identifiers.get(key)
                if wanted is None:
                    to_delete.append(identifier_id)
                elif wanted != record_id:
                    to_repoint.append({"b_id": identifier_id, "source_record_id": wanted})
            for (kind, value), record_id in golden.identifiers.items():
                if (kind, value) not in have:
                    to_insert.append({"customer_id": cid, "kind": kind, "value": value,
                                      "source_record_id": record_id})
        if to_repoint:
            connection.execute(_REPOINT_IDENTIFIER, to_repoint)
        if to_delete:
            connection.execute(delete(_IDENTIFIERS).where(_IDENTIFIERS.c.id.in_(to_delete)))
        if to_insert:
            connection.execute(insert(_IDENTIFIERS), to_insert)
        if untouched:
            connection.execute(_touch_statement(postgresql),
                               {"ids": dialect.ids_value(postgresql, untouched), "updated_at": now})
        if updates:
            connection.execute(_WRITE_GOLDEN, updates)
        if renamed:
            connection.execute(_WRITE_GOLDEN_RENAMED, renamed)
        written += len(updates) + len(renamed) + len(untouched)
        _expire_loaded(session, [cid for cid in batch if records[cid]])
    return written


_GOLDEN_COLUMNS = (*GOLDEN_FIELDS, "provenance", "search_name")
_WRITE_GOLDEN = (update(_CUSTOMERS).where(_CUSTOMERS.c.id == bindparam("b_id"))
                 .values({name: bindparam(name) for name in (*GOLDEN_FIELDS, "provenance", "updated_at")}))
_WRITE_GOLDEN_RENAMED = (update(_CUSTOMERS).where(_CUSTOMERS.c.id == bindparam("b_id"))
                         .values({name: bindparam(name) for name in (*_GOLDEN_COLUMNS, "updated_at")}))
_REPOINT_IDENTIFIER = (update(_IDENTIFIERS).where(_IDENTIFIERS.c.id == bindparam("b_id"))
                       .values(source_record_id=bindparam("source_record_id")))


@lru_cache(maxsize=2)
def _touch_statement(postgresql: bool) -> Update:
    return (update(_CUSTOMERS).where(dialect.ids_parameter(postgresql, _CUSTOMERS.c.id))
            .values(updated_at=bindparam("updated_at")))


@lru_cache(maxsize=2)
def _records_statement(postgresql: bool) -> Select[Any]:
    records = Base.metadata.tables[SourceRecord.__tablename__]
    return select(*(records.c[name] for name in RECORD_COLUMNS)).where(
        dialect.ids_parameter(postgresql, records.c.customer_id))


@lru_cache(maxsize=2)
def _golden_statement(postgresql: bool) -> Select[Any]:
    orders = Base.metadata.tables[Order.__tablename__]
    first_order = (select(func.min(orders.c.ordered_at)).where(orders.c.customer_id == _CUSTOMERS.c.id)
                   .scalar_subquery())
    return select(_CUSTOMERS.c.id, *(_CUSTOMERS.c[name] for name in _GOLDEN_COLUMNS),
                  first_order.label("first_order")).where(dialect.ids_parameter(postgresql, _CUSTOMERS.c.id))


@lru_cache(maxsize=2)
def _identifiers_statement(postgresql: bool) -> Select[Any]:
    table = _IDENTIFIERS
    return select(table.c.id, table.c.customer_id, table.c.kind, table.c.value, table.c.source_record_id).where(
        dialect.ids_parameter(postgresql, table.c.customer_id))


def _same_golden(golden: Golden, stored: Row[Any]) -> bool:
    """Whether the stored golden record is this one, value for value (provenance and search name too)."""
    return (all(golden.values[name] == getattr(stored, name) for name in GOLDEN_FIELDS)
            and golden.provenance == (stored.provenance or {}) and golden.search_name == stored.search_name)


def _expire_loaded(session: Session, customer_ids: Sequence[int]) -> None:
    """Customers loaded as objects in this session read their new golden values on next access (the
    writes above went around the ORM)."""
    for cid in customer_ids:
        loaded = session.identity_map.get(session.identity_key(Customer, cid))
        if loaded is not None:
            session.expire(loaded)
