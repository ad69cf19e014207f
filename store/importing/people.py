"""Importing person records of one source system (web shop, POS/loyalty, CRM) into SourceRecord.

Each batch is validated row by row, then written with one lookup of the existing records and bulk
inserts/updates, never a query per row. Identity resolution (store.resolution.relink) is NOT run
here: the caller runs it once after the last batch.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.clock import utc_now
from store.importing.bulk import bulk_insert, bulk_update
from store.importing.fields import RowRejected, check_readable, date_value, datetime_value, required_text, text
from store.importing.readers import Row, batched
from store.importing.report import ImportReport
from store.gdpr import ERASED_HASH
from store.models import SourceRecord, Store
from store.normalize import normalise_email, normalise_phone

# Columns with a meaning; every other non-empty column is kept verbatim in SourceRecord.attributes.
PERSON_COLUMNS = (
    "source_id", "first_name", "last_name", "email", "phone", "birth_date",
    "street", "postcode", "city", "country", "loyalty_id", "updated_at",
)
# A store code (stores.code, from `frontline employees import`): survivorship makes it the customer's
# preferred store.
HOME_STORE = "home_store"
_LENGTHS = {"first_name": 120, "last_name": 120, "street": 200, "postcode": 16, "city": 120, "loyalty_id": 64}
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_OLDEST_BIRTH = dt.date(1900, 1, 1)


def check_source_name(source: str) -> str:
    source = (source or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", source):
        raise ValueError("a source name is 1-32 letters, digits, '-', '_' or '.' (e.g. webshop, pos, crm)")
    return source


def parse_person(row: Row, *, today: dt.date | None = None) -> dict[str, Any]:
    """The SourceRecord column values of one row (without source), or RowRejected."""
    check_readable(row)
    values: dict[str, Any] = {"source_id": required_text(row, "source_id", 128)}
    for name, length in _LENGTHS.items():
        values[name] = text(row, name, length)
    country = text(row, "country", 64)
    if country is not None and not _COUNTRY.fullmatch(country):
        raise RowRejected("country must be a 2-letter ISO code such as FR")
    values["country"] = country.upper() if country else None
    try:
        values["email"] = normalise_email(text(row, "email", 320))
    except ValueError:
        raise RowRejected("malformed email") from None
    try:
        values["phone"] = normalise_phone(text(row, "phone", 40), values["country"] or "FR")
    except ValueError:
        raise RowRejected("malformed phone number") from None
    birth_date = date_value(row, "birth_date")
    if birth_date is not None and not _OLDEST_BIRTH <= birth_date <= (today or dt.date.today()):
        raise RowRejected("birth_date is in the future or before 1900")
    values["birth_date"] = birth_date
    values["source_updated_at"] = datetime_value(row, "updated_at")
    # Kept as the store code in the attributes (like loyalty_tier); _import_batch checks it exists.
    text(row, HOME_STORE, 32)
    attributes = {}
    for name, value in row.items():
        if name in PERSON_COLUMNS or not name:
            continue
        if isinstance(value, str):
            value = value.strip()
        if value not in ("", None, [], {}):
            attributes[name] = value
    values["attributes"] = attributes
    values["content_hash"] = _content_hash(values)
    return values


_HASHED = tuple(name for name in (*PERSON_COLUMNS, "source_updated_at") if name != "updated_at")


def _content_hash(values: dict[str, Any]) -> str:
    # repr of plain str/date/datetime values is stable across runs and much cheaper than JSON.
    canonical = repr([values[name] for name in _HASHED]) + repr(sorted(values["attributes"].items()))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


ERASED_REASON = "erased on request"


def import_people(
    session: Session,
    *,
    source: str,
    rows: Iterable[tuple[int, Row]],
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Create or update the SourceRecord of every good row; report the others by line number.

    Idempotent: a row whose content is unchanged since the last import is left alone.
    `progress`, when given, is called with the number of rows of each batch once it is written.
    """
    source = check_source_name(source)
    report = ImportReport(kind="people")
    today = dt.date.today()
    for batch in batched(rows, batch_size):
        _import_batch(session, source, batch, report, today)
        if progress is not None:
            progress(len(batch))
    return report.in_line_order()


def _import_batch(
    session: Session, source: str, batch: list[tuple[int, Row]], report: ImportReport, today: dt.date
) -> None:
    parsed: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    good: list[tuple[int, dict[str, Any]]] = []
    for line, row in batch:
        report.read += 1
        try:
            good.append((line, parse_person(row, today=today)))
        except RowRejected as problem:
            report.reject(line, str(problem))
    codes = {values["attributes"][HOME_STORE] for _, values in good if HOME_STORE in values["attributes"]}
    known = set(session.scalars(select(Store.code).where(Store.code.in_(codes)))) if codes else set()
    for line, values in good:
        code = values["attributes"].get(HOME_STORE)
        if code is not None and code not in known:
            report.reject(line, f"unknown home_store {code!r} (stores come from `frontline employees import`)")
            continue
        if values["source_id"] in parsed:
            report.superseded += 1
        parsed[values["source_id"]] = values
        lines[values["source_id"]] = line
    if not parsed:
        return
    existing = {
        source_id: (record_id, content_hash)
        for record_id, source_id, content_hash in session.execute(
            select(SourceRecord.id, SourceRecord.source_id, SourceRecord.content_hash).where(
                SourceRecord.source == source, SourceRecord.source_id.in_(list(parsed))
            )
        )
    }
    now = utc_now()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for source_id, values in parsed.items():
        found = existing.get(source_id)
        if found is not None and found[1] == ERASED_HASH:
            # The person asked to be erased: a later export from the source system must not bring them back.
            report.reject(lines[source_id], ERASED_REASON)
        elif found is None:
            inserts.append({**values, "source": source, "imported_at": now, "updated_at": now})
        elif found[1] == values["content_hash"]:
            report.unchanged += 1
        else:
            updates.append({**values, "id": found[0], "updated_at": now})
    bulk_insert(session, SourceRecord, inserts)
    bulk_update(session, SourceRecord, updates)
    report.created += len(inserts)
    report.updated += len(updates)
