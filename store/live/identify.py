"""The `identify` applier: a tracked person's traits become the source's record of that person.

The source's record is keyed by the sender's userId (or "anon:<anonymousId>" for an identify without
one), so an identify with a new e-mail for a known userId updates the same record: the same person.
Traits are partial (a sender sends what changed): each identify is laid over the record, newer values
winning, and the whole goes through the file import's checks (store.importing.people.parse_person).
The record is then linked on arrival (store/arrival.py), with the batch relink's rules, so the same
e-mail under two userIds follows the usual guards (households, shared addresses).

Traits: email, phone, firstName / first_name, lastName / last_name, name (split when first and last are
missing), birthday, address.street / postalCode / city / country (a 2-letter code), plus anything else
kept as raw attributes of the record. An erased person's record is never brought back.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.arrival import link_arrival
from store.clock import utc_now
from store.gdpr import ERASED_HASH
from store.identity import DEFAULT_THRESHOLDS, Thresholds
from store.importing.fields import RowRejected
from store.importing.people import HOME_STORE, PERSON_COLUMNS, parse_person
from store.inbox import APPLIED, Applied, InboxEvent, rejected
from store.models import SourceRecord
from store.survivorship import rebuild_golden

ERASED = "identify.erased"
BAD_TRAITS = "identify.bad_traits"
NO_PERSON = "identify.no_person"
_NAMED = {"email": "email", "phone": "phone", "firstName": "first_name", "first_name": "first_name",
          "lastName": "last_name", "last_name": "last_name", "birthday": "birth_date"}
_ADDRESS = {"street": "street", "postalCode": "postcode", "postal_code": "postcode", "city": "city",
            "country": "country"}
_RECORD_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date", "street", "postcode", "city",
                  "country", "loyalty_id")
_MAX_ATTRIBUTE_CHARS = 500


def source_id_of(body: dict[str, Any]) -> str | None:
    user_id, anonymous_id = body.get("userId"), body.get("anonymousId")
    if user_id not in (None, ""):
        return str(user_id)[:128]
    if anonymous_id not in (None, ""):
        return f"anon:{anonymous_id}"[:128]
    return None


def traits_row(traits: dict[str, Any]) -> dict[str, Any]:
    """The traits as import columns (strings), the unknown ones as attributes."""
    row: dict[str, Any] = {}
    for key, value in traits.items():
        if value is None or isinstance(value, bool | list):
            continue
        if key in _NAMED and isinstance(value, str | int | float):
            column = _NAMED[key]
            row[column] = str(value)[:10] if column == "birth_date" else str(value)
        elif key == "address" and isinstance(value, dict):
            for part, column in _ADDRESS.items():
                if isinstance(value.get(part), str | int):
                    row[column] = str(value[part])
        elif key == "name" and isinstance(value, str):
            continue  # split below, only when the parts are missing
        elif key not in PERSON_COLUMNS and key != HOME_STORE and isinstance(value, str | int | float):
            row[key] = value if not isinstance(value, str) else value[:_MAX_ATTRIBUTE_CHARS]
    name = traits.get("name")
    if isinstance(name, str) and name.strip() and "first_name" not in row and "last_name" not in row:
        first, _, last = name.strip().partition(" ")
        row["first_name"], row["last_name"] = (first, last) if last else (None, first)
    country = row.get("country")
    if isinstance(country, str) and len(country.strip()) != 2:
        row["address_country"] = row.pop("country")  # "France": kept as said, not as an ISO code
    return row


def _record_row(record: SourceRecord) -> dict[str, Any]:
    row: dict[str, Any] = dict(record.attributes or {})
    for name in _RECORD_FIELDS:
        value = getattr(record, name)
        if value is not None:
            row[name] = value.isoformat() if isinstance(value, dt.date) else value
    if record.source_updated_at is not None:
        row["updated_at"] = record.source_updated_at.isoformat()
    return row


def apply_identify(session: Session, event: InboxEvent, now: dt.datetime, *,
                   thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Applied:
    """`thresholds`: the operator's FRONTLINE_MATCH_* (bot.ingest.appliers_for), as the batch relink reads."""
    return apply_identifies(session, [event], now, thresholds=thresholds)[0]


def apply_identifies(session: Session, events: Sequence[InboxEvent], now: dt.datetime, *,
                     thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Applied]:
    """Several identifies (in id order): each laid over its record, then every changed record linked in ONE
    pass of identity on arrival (one neighbourhood read, one scoring, each touched customer's golden
    record rebuilt once), instead of one pass per identify. Records that arrive together are scored with
    each other, as a relink scores every record."""
    outcomes: list[Applied] = []
    changed: list[SourceRecord] = []
    restamped: list[SourceRecord] = []
    # The group's records in one read, and one flush for all the writes (each record's own read flushed
    # the previous one's: most of an identify's cost outside linking).
    records = _records_of(session, events)
    for event in events:
        written = _write(session, event, records)
        if isinstance(written, tuple):
            record, relink = written
            (changed if relink else restamped).append(record)
            written = _applied(event.body)
        outcomes.append(written)
    session.flush()
    linked = {record.id for record in changed}
    if linked:
        link_arrival(session, sorted(linked), thresholds=thresholds)
    # A record whose matching fields did not change (a site sends the same traits again on every visit, only
    # the timestamp moves) cannot change any link: relink scores those fields alone. Its customer's golden
    # record is rebuilt (survivorship reads the recency), without reading and scoring a neighbourhood.
    golden = {record.customer_id for record in restamped if record.id not in linked and record.customer_id}
    if golden:
        rebuild_golden(session, sorted(golden))
    return outcomes


_Records = dict[tuple[str, str], SourceRecord]


def _records_of(session: Session, events: Sequence[InboxEvent]) -> _Records:
    """(source, source id) -> the existing record, for these events' people."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        source_id = source_id_of(event.body)
        if source_id is not None:
            wanted.setdefault(event.source, set()).add(source_id)
    records: _Records = {}
    for source, ids in wanted.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            for record in session.scalars(select(SourceRecord).where(
                    SourceRecord.source == source, SourceRecord.source_id.in_(ordered[start:start + 500]))):
                records[(source, record.source_id)] = record
    return records


def _write(session: Session, event: InboxEvent, records: _Records) -> Applied | tuple[SourceRecord, bool]:
    """The identify laid over the source's record of the person (`records`: the group's, a new one added):
    (the record, whether it must be linked) when it is new or changed, else the event's outcome. A linked
    record whose matching fields are unchanged (only its timestamp or raw attributes moved) need not be."""
    body = event.body
    source_id = source_id_of(body)
    if source_id is None:
        return rejected(NO_PERSON)
    traits = body.get("traits")
    if not isinstance(traits, dict):
        context = body.get("context")
        traits = context.get("traits") if isinstance(context, dict) else None
    new = traits_row(traits if isinstance(traits, dict) else {})
    record = records.get((event.source, source_id))
    if record is not None and record.content_hash == ERASED_HASH:
        return rejected(ERASED)
    if record is None:
        row = {**new, "updated_at": event.timestamp.isoformat()}
    elif record.source_updated_at is not None and event.timestamp < record.source_updated_at:
        row = {**new, **_record_row(record)}  # an older identify only fills what the record lacks
    else:
        row = {**_record_row(record), **new, "updated_at": event.timestamp.isoformat()}
    row["source_id"] = source_id
    try:
        values = parse_person(row, today=event.timestamp.date())
    except RowRejected:
        return rejected(BAD_TRAITS)
    stamp = utc_now()
    if record is None:
        record = SourceRecord(source=event.source, imported_at=stamp, updated_at=stamp, **values)
        session.add(record)
        records[(event.source, source_id)] = record
    elif record.content_hash != values["content_hash"]:
        relink = record.customer_id is None or any(getattr(record, name) != values.get(name)
                                                   for name in _RECORD_FIELDS)
        for name, value in values.items():
            if getattr(record, name) != value:  # the unit of work then tracks only what moved
                setattr(record, name, value)
        record.updated_at = stamp
        return record, relink
    elif record.customer_id is not None:
        return _applied(body)  # nothing new
    return record, True


def _applied(body: dict[str, Any]) -> Applied:
    """Applied; the anonymous id's waiting events (browsing before signing in) may now resolve."""
    anonymous_id = body.get("anonymousId")
    if body.get("userId") not in (None, "") and anonymous_id not in (None, ""):
        return Applied(APPLIED.state, wake=(f"a:{anonymous_id}",))
    return APPLIED
