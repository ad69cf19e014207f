"""Source records written straight into the database, and full dumps to compare customers exactly."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import select

from store.merging import child_references
from store.models import Base, Customer, CustomerIdentifier, SourceRecord
from store.normalize import normalise_email, normalise_phone

IDENTITY_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date", "street", "postcode", "city", "country",
                   "loyalty_id")


def add_record(session, source: str, source_id: str, *, updated: str | None = "2024-01-01T00:00:00",
               **fields) -> int:
    """Insert one source record as the importer would; returns its id."""
    for name in ("birth_date",):
        if isinstance(fields.get(name), str):
            fields[name] = dt.date.fromisoformat(fields[name])
    content = json.dumps({"source": source, "id": source_id, **fields}, default=str, sort_keys=True)
    record = SourceRecord(source=source, source_id=source_id, attributes=fields.pop("attributes", {}),
                          content_hash=hashlib.sha256(content.encode()).hexdigest(),
                          source_updated_at=dt.datetime.fromisoformat(updated) if updated else None,
                          **fields)
    session.add(record)
    session.flush()
    return record.id


def as_imported(record) -> dict:
    """A synthetic record's (bench.synthetic_people) fields as the importer stores them (e-mail and phone
    normalised)."""
    fields = {name: getattr(record, name) for name in IDENTITY_FIELDS}
    for name, normalise in (("email", normalise_email), ("phone", lambda raw: normalise_phone(raw, "FR"))):
        try:
            fields[name] = normalise(fields[name])
        except ValueError:
            fields[name] = None
    return fields


def customer_of(session, source: str, source_id: str) -> int | None:
    return session.scalar(select(SourceRecord.customer_id).where(SourceRecord.source == source,
                                                                 SourceRecord.source_id == source_id))


def active_customers(session) -> list[Customer]:
    return list(session.scalars(select(Customer).where(Customer.status == "active").order_by(Customer.id)))


def dump_world(session) -> dict:
    """Every customer row, identifier row and customer-owned row of the database, as plain data."""
    session.flush()
    dump = {}
    tables = {t.name for t, _ in child_references()} | {"customers", "customer_identifiers", "consents"}
    for table in Base.metadata.sorted_tables:
        if table.name in tables:
            rows = session.execute(select(table).order_by(table.c.id)).mappings().all()
            dump[table.name] = [dict(row) for row in rows]
    return dump


def identifiers(session, customer_id: int) -> set[tuple[str, str]]:
    return {tuple(row) for row in session.execute(select(CustomerIdentifier.kind, CustomerIdentifier.value)
                               .where(CustomerIdentifier.customer_id == customer_id)).all()}
