"""Importing what belongs to a person record: web signals, declared preferences and consents
(orders are in orders.py, past interactions in interactions.py; they share the helpers here).

Every row names its person record by `source` + `source_id`; the row is attached to the customer
that record is linked to, so people must be imported (and linked by relink) first. Each batch looks
up its person records, the existing rows and writes in bulk: never a query per row.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Result, Row as DbRow, select

from sqlalchemy.orm import Session

from store.clock import utc_now
from store.importing.bulk import bulk_insert, bulk_update
from store.importing.fields import (
    RowRejected,
    check_readable,
    choice,
    currency,
    datetime_value,
    flag,
    money,
    required_text,
    text,
)
from store.importing.readers import Row, batched
from store.importing.report import ImportReport
from store.models import (
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    PREFERENCE_CATEGORIES,
    WEB_SIGNAL_KINDS,
    Base,
    Consent,
    DeclaredPreference,
    SourceRecord,
    WebSignal,
)
from store.vocabulary import ConsentChannel

PersonKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class LinkedPerson:
    record_id: int
    customer_id: int


def person_key(row: Row, default_source: str | None = None) -> PersonKey:
    source = text(row, "source", 32) or default_source
    if not source:
        raise RowRejected("missing source (the source system of the person record)")
    return source, required_text(row, "source_id", 128)


def resolve_people(session: Session, keys: Iterable[PersonKey]) -> dict[PersonKey, tuple[int, int | None]]:
    """(source, source_id) -> (source record id, customer id or None) for the keys that exist."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, source_id in keys:
        by_source[source].add(source_id)
    found: dict[PersonKey, tuple[int, int | None]] = {}
    for source, source_ids in by_source.items():
        statement = select(SourceRecord.id, SourceRecord.source_id, SourceRecord.customer_id).where(
            SourceRecord.source == source, SourceRecord.source_id.in_(source_ids)
        )
        for record_id, source_id, customer_id in session.execute(statement):
            found[(source, source_id)] = (record_id, customer_id)
    return found


def linked_person(people: dict[PersonKey, tuple[int, int | None]], key: PersonKey) -> LinkedPerson:
    if key not in people:
        raise RowRejected(f"unknown person record {key[0]}/{key[1]} (import the people file of {key[0]} first)")
    record_id, customer_id = people[key]
    if customer_id is None:
        raise RowRejected(
            f"person record {key[0]}/{key[1]} is not linked to a customer yet (run identity resolution: "
            "`frontline import` of people does it at the end)"
        )
    return LinkedPerson(record_id=record_id, customer_id=customer_id)


# A row of `rows_of`: the named columns only, read by attribute.
PlainRow = DbRow[*tuple[Any, ...]]
# The column values one import row brings (keys are column names: they go to Core inserts as they are).
Values = dict[str, Any]
# A parsed child row: the person it belongs to and the column values it brings.
Parsed = tuple[int, PersonKey, Values]
# A batch ready to write: (line, the customer and record it belongs to, its values).
Ready = list[tuple[int, LinkedPerson, Values]]


def run_batches(
    session: Session,
    rows: Iterable[tuple[int, Row]],
    *,
    kind: str,
    parse: Callable[[Row, str | None], tuple[PersonKey, Values]],
    write: Callable[[Session, Ready, ImportReport], None],
    default_source: str | None,
    batch_size: int,
) -> ImportReport:
    """The common loop: parse every row of a batch, attach it to its customer, then `write` the batch."""
    report = ImportReport(kind=kind)
    for batch in batched(rows, batch_size):
        parsed: list[Parsed] = []
        for line, row in batch:
            report.read += 1
            try:
                check_readable(row)
                key, values = parse(row, default_source)
            except RowRejected as problem:
                report.reject(line, str(problem))
                continue
            parsed.append((line, key, values))
        people = resolve_people(session, {key for _, key, _ in parsed})
        ready: Ready = []
        for line, key, values in parsed:
            try:
                ready.append((line, linked_person(people, key), values))
            except RowRejected as problem:
                report.reject(line, str(problem))
        if ready:
            write(session, ready, report)
    return report.in_line_order()


def _apply(session: Session, model: type[Base], inserts: list[Values], updates: list[Values],
           report: ImportReport) -> None:
    bulk_insert(session, model, inserts)
    bulk_update(session, model, updates)
    report.created += len(inserts)
    report.updated += len(updates)


# --- web signals --------------------------------------------------------------------------------


def _parse_signal(row: Row, default_source: str | None) -> tuple[PersonKey, Values]:
    key = person_key(row, default_source)
    return key, {
        "kind": choice(row, "kind", WEB_SIGNAL_KINDS),
        "sku": required_text(row, "sku", 64),
        "product_name": required_text(row, "product_name", 200),
        "price": money(row, "price"),
        "currency": currency(row),
        "occurred_at": datetime_value(row, "occurred_at", required=True),
    }


_SIGNAL_COLUMNS = ("id", "source_record_id", "kind", "sku", "occurred_at", "customer_id", "product_name",
                   "price", "currency")


def _write_signals(session: Session, ready: Ready, report: ImportReport) -> None:
    record_ids = {person.record_id for _, person, _ in ready}
    existing = {
        (s.source_record_id, s.kind, s.sku, s.occurred_at): s
        for s in rows_of(session, WebSignal, _SIGNAL_COLUMNS, WebSignal.source_record_id.in_(record_ids))
    }
    wanted: dict[tuple[int, str, str, dt.datetime], Values] = {}
    for _, person, values in ready:
        key = (person.record_id, values["kind"], values["sku"], values["occurred_at"])
        if key in wanted:
            report.superseded += 1
        wanted[key] = {**values, "customer_id": person.customer_id, "source_record_id": person.record_id}
    inserts: list[Values] = []
    updates: list[Values] = []
    for key, values in wanted.items():
        current = existing.get(key)
        if current is None:
            inserts.append(values)
        elif _differs(current, values, ("customer_id", "product_name", "price", "currency")):
            updates.append({**values, "id": current.id})
        else:
            report.unchanged += 1
    _apply(session, WebSignal, inserts, updates, report)


def rows_of(
    session: Session, model: type[Base], names: Iterable[str], *where: ColumnElement[bool]
) -> Result[*tuple[Any, ...]]:
    """Plain rows (not ORM objects: nothing piles up in the session) of the given columns."""
    return session.execute(select(*(getattr(model, name) for name in names)).where(*where))


def _differs(current: PlainRow, values: Values, names: Iterable[str]) -> bool:
    return any(getattr(current, name) != values[name] for name in names)


def import_web_signals(
    session: Session, *, rows: Iterable[tuple[int, Row]], batch_size: int = 5000, default_source: str | None = None
) -> ImportReport:
    """Wishlist / viewed / recommended products; key: person record, kind, sku, occurred_at."""
    return run_batches(session, rows, kind="signals", parse=_parse_signal, write=_write_signals,
                       default_source=default_source, batch_size=batch_size)


# --- declared preferences -----------------------------------------------------------------------


def _parse_preference(row: Row, default_source: str | None) -> tuple[PersonKey, Values]:
    key = person_key(row, default_source)
    return key, {
        "category": choice(row, "category", PREFERENCE_CATEGORIES),
        "label": text(row, "label", 64),
        "value": required_text(row, "value", 200),
        "recorded_at": datetime_value(row, "recorded_at"),
        "source": key[0],
    }


_PREFERENCE_COLUMNS = ("id", "source_record_id", "category", "label", "value", "customer_id", "recorded_at")


def _write_preferences(session: Session, ready: Ready, report: ImportReport) -> None:
    record_ids = {person.record_id for _, person, _ in ready}
    existing = {
        (p.source_record_id, p.category, p.label or "", p.value.casefold()): p
        for p in rows_of(session, DeclaredPreference, _PREFERENCE_COLUMNS,
                         DeclaredPreference.source_record_id.in_(record_ids))
    }
    wanted: dict[tuple[int, str, str, str], Values] = {}
    for _, person, values in ready:
        key = (person.record_id, values["category"], values["label"] or "", values["value"].casefold())
        if key in wanted:
            report.superseded += 1
        wanted[key] = {**values, "customer_id": person.customer_id, "source_record_id": person.record_id}
    inserts: list[Values] = []
    updates: list[Values] = []
    now = utc_now()
    for key, values in wanted.items():
        current = existing.get(key)
        if current is None:
            inserts.append({**values, "recorded_at": values["recorded_at"] or now})
            continue
        # No recorded_at in the file: keep the time of the first import rather than "now" every time.
        values = {**values, "recorded_at": values["recorded_at"] or current.recorded_at}
        if _differs(current, values, ("customer_id", "recorded_at", "value")):
            updates.append({**values, "id": current.id})
        else:
            report.unchanged += 1
    _apply(session, DeclaredPreference, inserts, updates, report)


def import_preferences(
    session: Session, *, rows: Iterable[tuple[int, Row]], batch_size: int = 5000, default_source: str | None = None
) -> ImportReport:
    """What customers declared (sizes, brands...); key: person record, category, label, value."""
    return run_batches(session, rows, kind="preferences", parse=_parse_preference, write=_write_preferences,
                       default_source=default_source, batch_size=batch_size)


# --- consents -----------------------------------------------------------------------------------


def _parse_consent(row: Row, default_source: str | None) -> tuple[PersonKey, Values]:
    key = person_key(row, default_source)
    return key, {
        "purpose": choice(row, "purpose", CONSENT_PURPOSES),
        "channel": choice(row, "channel", CONSENT_CHANNELS, default=ConsentChannel.ANY),
        "granted": flag(row, "granted"),
        "recorded_at": datetime_value(row, "recorded_at", required=True),
        "source": key[0],
    }


def write_consents(session: Session, ready: Ready, report: ImportReport) -> None:
    """Write consent statements (purpose, channel, granted, recorded_at, source) of linked people: the
    one rule for files and the live tracking API (store/live/commerce.py)."""
    # Consent is a state, not a history: per customer, purpose and channel the latest statement
    # wins, whichever file or Slack action it came from. An older export never overrides a newer one.
    customer_ids = {person.customer_id for _, person, _ in ready}
    existing = {
        (c.customer_id, c.purpose, c.channel): c
        for c in rows_of(session, Consent, ("id", "customer_id", "purpose", "channel", "granted", "recorded_at"),
                         Consent.customer_id.in_(customer_ids))
    }
    latest: dict[tuple[int, str, str], Values] = {}
    for _, person, values in ready:
        key = (person.customer_id, values["purpose"], values["channel"])
        values = {**values, "customer_id": person.customer_id, "source_record_id": person.record_id}
        if key in latest:
            report.superseded += 1
            if latest[key]["recorded_at"] > values["recorded_at"]:
                continue
        latest[key] = values
    inserts: list[Values] = []
    updates: list[Values] = []
    for key, values in latest.items():
        current = existing.get(key)
        if current is None:
            inserts.append(values)
        elif current.recorded_at > values["recorded_at"] or (
            current.recorded_at == values["recorded_at"] and current.granted == values["granted"]
        ):
            report.unchanged += 1
        else:
            updates.append({**values, "id": current.id})
    _apply(session, Consent, inserts, updates, report)


def import_consents(
    session: Session, *, rows: Iterable[tuple[int, Row]], batch_size: int = 5000, default_source: str | None = None
) -> ImportReport:
    """Marketing / profiling consent per channel; the latest recorded_at wins."""
    return run_batches(session, rows, kind="consents", parse=_parse_consent, write=write_consents,
                       default_source=default_source, batch_size=batch_size)


__all__ = [
    "import_consents",
    "import_preferences",
    "import_web_signals",
    "linked_person",
    "person_key",
    "resolve_people",
    "run_batches",
    "write_consents",
]
