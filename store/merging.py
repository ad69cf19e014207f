"""Merging two customers into one, and undoing it exactly.

A merge moves every row that belongs to the absorbed customer (any table with a foreign key to
customers, found from the schema so new tables are covered) to the survivor, keeps the absorbed row
with status "merged", rebuilds the survivor's golden record, and stores in MergeEvent.snapshot what
an unmerge needs: both customer rows before (and the survivor after) the merge, their identifier
rows, the ids of every moved row, and consent rows dropped as duplicates.

Unmerge rules (README, "Identity resolution and survivorship"):
- merges are undone newest first: an unmerge is refused while a later merge involving either
  customer is still in place;
- rows added to the survivor after the merge stay with the survivor; if its source records changed,
  its golden record is rebuilt instead of restored;
- a survivor column changed by someone after the merge keeps its new value;
- a cannot_link constraint between the two sides stops the linker from merging them again.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Numeric, Row, Table, and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from store import audit, kpi_rollup
from store.db import table_of
from store.clock import utc_now
from store.models import (
    Base,
    Consent,
    Customer,
    CustomerIdentifier,
    LinkConstraint,
    MergeEvent,
    SourceRecord,
)
from store.survivorship import rebuild_golden
from store.vocabulary import AuditAction, CustomerStatus, LinkKind, MergeReason

# Tables whose customer reference is handled specially (or is the merge history itself).
_SPECIAL_TABLES = {"customers", "merge_events", "customer_identifiers", "consents"}
# Enough pairs to keep two customers apart through the linker's group propagation, even if one side
# is later split again, without writing records x records rows for big customers.
MAX_CANNOT_LINK_PAIRS = 100


class MergeError(Exception):
    """A merge or unmerge that cannot be done; the message says why in one line."""


def child_references() -> list[tuple[Table, str]]:
    """(table, column) of every foreign key to customers.id that moves with a merge."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in _SPECIAL_TABLES:
            continue
        for column in table.columns:
            if any(fk.column.table.name == "customers" for fk in column.foreign_keys):
                found.append((table, column.name))
    return found


def _to_json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def dump_row(table: Table, row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    return {column.name: _to_json(row._mapping[column.name]) for column in table.columns}


def load_row(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in table.columns:
        value = data.get(column.name)
        if value is not None and isinstance(column.type, DateTime):
            value = dt.datetime.fromisoformat(value)
        elif value is not None and isinstance(column.type, Date):
            value = dt.date.fromisoformat(value)
        elif value is not None and isinstance(column.type, Numeric) and column.type.asdecimal:
            value = Decimal(value)
        values[column.name] = value
    return values


def _customer_row(session: Session, customer_id: int) -> dict[str, Any]:
    table = table_of(Customer)
    row = session.execute(select(table).where(table.c.id == customer_id)).first()
    if row is None:
        raise MergeError(f"customer {customer_id} does not exist")
    return dump_row(table, row)


def _identifier_rows(session: Session, customer_id: int) -> list[dict[str, Any]]:
    table = table_of(CustomerIdentifier)
    rows = session.execute(select(table).where(table.c.customer_id == customer_id).order_by(table.c.id))
    return [dump_row(table, row) for row in rows]


def _record_ids(session: Session, customer_id: int) -> list[int]:
    return list(session.scalars(select(SourceRecord.id).where(SourceRecord.customer_id == customer_id)
                                .order_by(SourceRecord.id)))


def merge_customers(session: Session, *, survivor_id: int, absorbed_id: int, actor: str, reason: MergeReason,
                    via: str = "cli") -> MergeEvent:
    """Merge `absorbed_id` into `survivor_id` (reason: auto, review or manual)."""
    if survivor_id == absorbed_id:
        raise MergeError("a customer cannot be merged into itself")
    session.flush()
    survivor = _customer_row(session, survivor_id)
    absorbed = _customer_row(session, absorbed_id)
    for row in (survivor, absorbed):
        if row["status"] != CustomerStatus.ACTIVE:
            raise MergeError(f"customer {row['id']} is {row['status']}, only active customers can be merged")
    snapshot: dict[str, Any] = {
        "survivor": survivor,
        "absorbed": absorbed,
        "identifiers": {"survivor": _identifier_rows(session, survivor_id),
                        "absorbed": _identifier_rows(session, absorbed_id)},
        "survivor_records": _record_ids(session, survivor_id),
        "records": [
            {"id": r.id, "content_hash": r.content_hash, "updated_at": _to_json(r.updated_at)}
            for r in session.execute(select(SourceRecord.id, SourceRecord.content_hash, SourceRecord.updated_at)
                                     .where(SourceRecord.customer_id == absorbed_id).order_by(SourceRecord.id))
        ],
        "moved": {},
        "dropped_consents": [],
    }
    for table, column in child_references():
        ids = list(session.scalars(select(table.c.id).where(table.c[column] == absorbed_id)
                                   .order_by(table.c.id)))
        if not ids:
            continue
        snapshot["moved"].setdefault(table.name, {})[column] = ids
        values: dict[str, Any] = {column: survivor_id}
        if "updated_at" in table.c:
            values["updated_at"] = table.c.updated_at  # a move is not an edit of the row
        session.execute(update(table).where(table.c.id.in_(ids)).values(**values))
    _merge_consents(session, survivor_id, absorbed_id, snapshot)
    session.execute(update(CustomerIdentifier).where(CustomerIdentifier.customer_id == absorbed_id)
                    .values(customer_id=survivor_id))
    now = utc_now()
    session.execute(update(Customer).where(Customer.id == absorbed_id)
                    .values(status=CustomerStatus.MERGED, merged_into_id=survivor_id, updated_at=now))
    rebuild_golden(session, [survivor_id])
    kpi_rollup.refresh(session, customer_ids=[survivor_id, absorbed_id])  # their contacts are one history now
    snapshot["survivor_after"] = _customer_row(session, survivor_id)
    event = MergeEvent(survivor_id=survivor_id, absorbed_id=absorbed_id, at=now, actor=actor,
                       reason=reason, snapshot=snapshot)
    session.add(event)
    session.flush()
    audit.record(session, employee_id=None, actor=actor, action=AuditAction.MERGE, customer_id=survivor_id, via=via,
                 detail={"merge_event_id": event.id, "absorbed_id": absorbed_id, "reason": reason})
    session.expire_all()  # rows changed behind the ORM's back
    return event


def _merge_consents(session: Session, survivor_id: int, absorbed_id: int, snapshot: dict[str, Any]) -> None:
    """One consent per purpose and channel: the most recently recorded one wins."""
    table = table_of(Consent)
    kept = {(r.purpose, r.channel): r for r in session.execute(select(table).where(table.c.customer_id == survivor_id))}
    moved = []
    for row in session.execute(select(table).where(table.c.customer_id == absorbed_id).order_by(table.c.id)).all():
        rival = kept.get((row.purpose, row.channel))
        if rival is not None:
            loser, winner = (rival, row) if row.recorded_at > rival.recorded_at else (row, rival)
            snapshot["dropped_consents"].append(dump_row(table, loser))
            session.execute(delete(table).where(table.c.id == loser.id))
            if winner is rival:
                continue
        moved.append(row.id)
    if moved:
        snapshot["moved"].setdefault("consents", {})["customer_id"] = moved
        session.execute(update(table).where(table.c.id.in_(moved)).values(customer_id=survivor_id))


def blocking_merges(session: Session, event: MergeEvent) -> list[int]:
    """Later merges still in place that involve either customer of `event`."""
    sides = (event.survivor_id, event.absorbed_id)
    return list(session.scalars(
        select(MergeEvent.id).where(MergeEvent.id > event.id, MergeEvent.undone_at.is_(None),
                                    or_(MergeEvent.survivor_id.in_(sides), MergeEvent.absorbed_id.in_(sides)))
        .order_by(MergeEvent.id)))


def unmerge(session: Session, *, merge_event_id: int, actor: str, via: str = "cli") -> None:
    session.flush()
    event = session.get(MergeEvent, merge_event_id)
    if event is None:
        raise MergeError(f"merge {merge_event_id} does not exist")
    if event.undone_at is not None:
        raise MergeError(f"merge {merge_event_id} was already undone")
    later = blocking_merges(session, event)
    if later:
        raise MergeError(f"merge {merge_event_id} has later merges of the same customers; "
                         f"undo them first (newest first): {', '.join(map(str, reversed(later)))}")
    snapshot = event.snapshot
    survivor_id, absorbed_id = event.survivor_id, event.absorbed_id
    if _customer_row(session, survivor_id)["status"] != CustomerStatus.ACTIVE:
        raise MergeError(f"customer {survivor_id} is no longer active, merge {merge_event_id} cannot be undone")
    tables = {table.name: table for table in Base.metadata.sorted_tables}

    for table_name, columns in snapshot["moved"].items():
        table = tables[table_name]
        for column, ids in columns.items():
            values: dict[str, Any] = {column: absorbed_id}
            if "updated_at" in table.c:
                values["updated_at"] = table.c.updated_at
            session.execute(update(table).where(table.c.id.in_(ids), table.c[column] == survivor_id)
                            .values(**values))
    records = table_of(SourceRecord)
    for record in snapshot["records"]:  # a record re-imported since keeps its newer timestamp
        session.execute(update(records).where(records.c.id == record["id"],
                                              records.c.content_hash == record["content_hash"])
                        .values(updated_at=dt.datetime.fromisoformat(record["updated_at"])))
    consents = table_of(Consent)
    for data in snapshot["dropped_consents"]:
        row = load_row(consents, data)
        taken = session.execute(select(consents.c.id).where(
            consents.c.customer_id == row["customer_id"], consents.c.purpose == row["purpose"],
            consents.c.channel == row["channel"])).first()
        if taken is None:
            session.execute(insert(consents).values(**row))

    identifiers = table_of(CustomerIdentifier)
    session.execute(delete(identifiers).where(identifiers.c.customer_id.in_((survivor_id, absorbed_id))))
    restored = snapshot["identifiers"]["survivor"] + snapshot["identifiers"]["absorbed"]
    if restored:
        session.execute(insert(identifiers), [load_row(identifiers, r) for r in restored])

    customers = table_of(Customer)
    session.execute(update(customers).where(customers.c.id == absorbed_id)
                    .values(**load_row(customers, snapshot["absorbed"])))
    before = load_row(customers, snapshot["survivor"])
    after = load_row(customers, snapshot["survivor_after"])
    current = load_row(customers, _customer_row(session, survivor_id))
    # Three-way restore: what nobody touched since the merge goes back, later edits stay.
    restore = {name: before[name] for name in before if current[name] == after[name]}
    session.execute(update(customers).where(customers.c.id == survivor_id).values(**restore))
    if _record_ids(session, survivor_id) != snapshot["survivor_records"]:
        rebuild_golden(session, [survivor_id])

    _separate(session, snapshot["survivor_records"], [r["id"] for r in snapshot["records"]], actor)
    kpi_rollup.refresh(session, customer_ids=[survivor_id, absorbed_id])
    event.undone_at = utc_now()
    event.undone_by = actor
    audit.record(session, employee_id=None, actor=actor, action=AuditAction.UNMERGE, customer_id=survivor_id, via=via,
                 detail={"merge_event_id": event.id, "absorbed_id": absorbed_id})
    session.flush()
    session.expire_all()


def _separate(session: Session, side_a: list[int], side_b: list[int], actor: str) -> None:
    """Replace must_link between the two sides by cannot_link, so the linker keeps them apart."""
    if not side_a or not side_b:
        return
    session.execute(delete(LinkConstraint).where(
        LinkConstraint.kind == LinkKind.MUST_LINK,
        or_(and_(LinkConstraint.record_a_id.in_(side_a), LinkConstraint.record_b_id.in_(side_b)),
            and_(LinkConstraint.record_a_id.in_(side_b), LinkConstraint.record_b_id.in_(side_a)))))
    pairs = [(min(a, b), max(a, b)) for a in side_a for b in side_b][:MAX_CANNOT_LINK_PAIRS]
    add_constraints(session, pairs, kind=LinkKind.CANNOT_LINK, actor=actor)


def add_constraints(session: Session, pairs: list[tuple[int, int]], *, kind: LinkKind, actor: str) -> int:
    """Insert the (a, b) pairs (stored with a < b) that are not already constraints of this kind."""
    wanted = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
    if not wanted:
        return 0
    ids = {x for pair in wanted for x in pair}
    existing = {(a, b) for a, b in session.execute(
        select(LinkConstraint.record_a_id, LinkConstraint.record_b_id)
        .where(LinkConstraint.kind == kind, LinkConstraint.record_a_id.in_(ids)))}
    new = sorted(wanted - existing)
    if new:
        session.execute(insert(LinkConstraint), [
            {"record_a_id": a, "record_b_id": b, "kind": kind, "created_by": actor, "created_at": utc_now()}
            for a, b in new])
    return len(new)
