"""Importing orders: CSV with one row per order line (the order columns repeated on each line), or
JSON Lines with one order per line and its lines nested in "lines".

An order is identified by its source + order_number: re-importing it replaces it when anything
changed and leaves it alone otherwise. An order with a bad line is not imported at all (a
half-imported order would show a wrong total), and the lines of one order must be on consecutive
rows so a batch never splits them.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store import kpi_rollup
from store.db import table_of
from store.importing.bulk import bulk_insert, bulk_update
from store.importing.children import (
    LinkedPerson,
    PersonKey,
    PlainRow,
    Values,
    linked_person,
    person_key,
    resolve_people,
    rows_of,
)
from store.importing.fields import (
    RowRejected,
    check_readable,
    choice,
    count,
    currency,
    datetime_value,
    money,
    required_text,
    text,
)
from store.importing.readers import Row, batched
from store.importing.report import ImportReport
from store.models import ORDER_CHANNELS, Order, OrderLine, Store

OrderKey = tuple[str, str]  # source, order_number
LineValues = tuple[str, str, int, Decimal, str | None]  # sku, product name, quantity, unit price, size
# KPIs leave cancelled orders out of sales; returned ones stay visible on the profile.
ORDER_STATUSES = ("completed", "returned", "cancelled")


def order_key(row: Row) -> tuple[Any, Any]:
    return (row.get("source"), row.get("order_number"))


def _header(row: Row) -> dict[str, Any]:
    return {
        "ordered_at": datetime_value(row, "ordered_at", required=True),
        "channel": choice(row, "channel", ORDER_CHANNELS),
        "store": text(row, "store", 32),
        "amount": money(row, "amount"),
        "currency": currency(row),
        "status": choice(row, "status", ORDER_STATUSES, default="completed"),
    }


def _line(row: Row) -> LineValues:
    return (
        required_text(row, "sku", 64),
        required_text(row, "product_name", 200),
        count(row, "quantity", default=1),
        money(row, "unit_price", required=True),
        text(row, "size", 16),
    )


def _lines(row: Row) -> list[LineValues]:
    nested = row.get("lines")
    if nested is None or nested == "":
        return [_line(row)]
    if not isinstance(nested, list) or not nested or not all(isinstance(item, dict) for item in nested):
        raise RowRejected("lines must be a non-empty list of objects")
    lines: list[LineValues] = []
    for number, item in enumerate(nested, start=1):
        try:
            lines.append(_line({k.lower(): v for k, v in item.items()}))
        except RowRejected as problem:
            raise RowRejected(f"order line {number}: {problem}") from None
    return lines


class _Draft:
    __slots__ = ("header", "line", "lines", "person")

    def __init__(self, line: int, person: PersonKey, header: Values) -> None:
        self.line = line
        self.person = person
        self.header = header
        self.lines: list[LineValues] = []


def import_orders(
    session: Session, *, rows: Iterable[tuple[int, Row]], batch_size: int = 5000, default_source: str | None = None
) -> ImportReport:
    report = ImportReport(kind="orders")
    for batch in batched(rows, batch_size, key=order_key):
        drafts = _parse_batch(batch, report, default_source)
        if drafts:
            _write_batch(session, drafts, report)
    return report.in_line_order()


def write_order(session: Session, *, person: PersonKey, order_number: str, header: Values,
                lines: list[LineValues]) -> ImportReport:
    """One order of a linked person record, written by the import's rules (replaced when it changed,
    left alone otherwise, KPIs refreshed): the live tracking API's orders (store/live/commerce.py).
    `header`: ordered_at, channel, store (code or None), amount (None: the sum of the lines), currency,
    status."""
    report = ImportReport(kind="orders")
    draft = _Draft(0, person, header)
    draft.lines.extend(lines)
    _write_batch(session, {(person[0], order_number): draft}, report)
    return report


def _parse_batch(batch: list[tuple[int, Row]], report: ImportReport, default_source: str | None) -> dict[OrderKey, _Draft]:
    drafts: dict[OrderKey, _Draft] = {}
    failed: set[OrderKey] = set()
    for line, row in batch:
        report.read += 1
        key: OrderKey | None = None
        try:
            check_readable(row)
            person = person_key(row, default_source)
            key = (person[0], required_text(row, "order_number", 64))
            header = _header(row)
            lines = _lines(row)
            draft = drafts.get(key)
            if draft is None:
                draft = drafts[key] = _Draft(line, person, header)
            elif draft.person != person or draft.header != header:
                raise RowRejected(f"order details differ from line {draft.line} of the same order")
            draft.lines.extend(lines)
        except RowRejected as problem:
            reason = str(problem)
            if key is not None:
                failed.add(key)
                reason += f" (order {key[1]} not imported)"
            report.reject(line, reason)
    for key in failed:
        drafts.pop(key, None)
    return drafts


def _write_batch(session: Session, drafts: dict[OrderKey, _Draft], report: ImportReport) -> None:
    people = resolve_people(session, {draft.person for draft in drafts.values()})
    codes = {draft.header["store"] for draft in drafts.values() if draft.header["store"]}
    stores = dict(session.execute(select(Store.code, Store.id).where(Store.code.in_(codes))).all())
    wanted: dict[OrderKey, dict[str, Any]] = {}
    wanted_lines: dict[OrderKey, list[LineValues]] = {}
    for key, draft in drafts.items():
        try:
            person: LinkedPerson = linked_person(people, draft.person)
            store_code = draft.header["store"]
            if store_code and store_code not in stores:
                raise RowRejected(f"unknown store {store_code!r} (stores come from `frontline employees import`)")
        except RowRejected as problem:
            report.reject(draft.line, f"{problem} (order {key[1]} not imported)")
            continue
        total = draft.header["amount"]
        if total is None:
            total = sum((quantity * price for _, _, quantity, price, _ in draft.lines), Decimal("0.00"))
        wanted[key] = {
            "source": key[0],
            "order_number": key[1],
            "customer_id": person.customer_id,
            "source_record_id": person.record_id,
            "ordered_at": draft.header["ordered_at"],
            "channel": draft.header["channel"],
            "store_id": stores.get(store_code) if store_code else None,
            "total_amount": total,
            "currency": draft.header["currency"],
            "status": draft.header["status"],
        }
        wanted_lines[key] = draft.lines
    if not wanted:
        return
    existing, existing_lines = _existing(session, wanted)
    inserts: list[Values] = []
    updates: list[Values] = []
    replaced: list[int] = []
    for key, values in wanted.items():
        current = existing.get(key)
        if current is None:
            inserts.append(values)
        elif any(getattr(current, name) != value for name, value in values.items()) or (
            existing_lines.get(current.id, []) != wanted_lines[key]
        ):
            updates.append({**values, "id": current.id})
            replaced.append(current.id)
        else:
            report.unchanged += 1
    line_rows: list[Values] = []
    if inserts:
        table = table_of(Order)
        created = session.execute(
            table.insert().returning(table.c.id, table.c.source, table.c.order_number, sort_by_parameter_order=True),
            inserts,
        )
        for order_id, source, number in created:
            line_rows.extend(_line_values(order_id, wanted_lines[(source, number)]))
    if updates:
        bulk_update(session, Order, updates)
        session.execute(delete(OrderLine).where(OrderLine.order_id.in_(replaced)))
        for values in updates:
            line_rows.extend(_line_values(values["id"], wanted_lines[(values["source"], values["order_number"])]))
    bulk_insert(session, OrderLine, line_rows)
    # Purchases within 7 days of an interaction: the order's customer (before and after) may change.
    moved_from = [existing[(values["source"], values["order_number"])].customer_id for values in updates]
    kpi_rollup.refresh(session, customer_ids=[values["customer_id"] for values in inserts + updates] + moved_from)
    report.created += len(inserts)
    report.updated += len(updates)


def _line_values(order_id: int, lines: list[LineValues]) -> list[Values]:
    return [
        {"order_id": order_id, "sku": sku, "product_name": name, "quantity": quantity, "unit_price": price, "size": size}
        for sku, name, quantity, price, size in lines
    ]


def _existing(
    session: Session, wanted: dict[OrderKey, Values]
) -> tuple[dict[OrderKey, PlainRow], dict[int, list[LineValues]]]:
    numbers_by_source: dict[str, set[str]] = defaultdict(set)
    for source, number in wanted:
        numbers_by_source[source].add(number)
    existing: dict[OrderKey, PlainRow] = {}
    columns = ("id", "source", "order_number", "customer_id", "source_record_id", "ordered_at", "channel",
               "store_id", "total_amount", "currency", "status")
    for source, numbers in numbers_by_source.items():
        for order in rows_of(session, Order, columns, Order.source == source, Order.order_number.in_(numbers)):
            existing[(order.source, order.order_number)] = order
    lines: dict[int, list[LineValues]] = defaultdict(list)
    if existing:
        ids = [order.id for order in existing.values()]
        statement = (
            select(OrderLine.order_id, OrderLine.sku, OrderLine.product_name, OrderLine.quantity,
                   OrderLine.unit_price, OrderLine.size)
            .where(OrderLine.order_id.in_(ids))
            .order_by(OrderLine.id)
        )
        for order_id, sku, name, quantity, price, size in session.execute(statement):
            lines[order_id].append((sku, name, quantity, price, size))
    return existing, lines
