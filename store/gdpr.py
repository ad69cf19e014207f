"""Data-subject requests: export everything held about a person, or erase it.

Erasure keeps anonymous rows (the customer id, interaction and order facts without content) so
that KPIs stay correct as anonymous counts, and keeps each source record as an empty tombstone so
that a later import of the same source id is refused instead of bringing the person back.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, inspect, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from store import audit
from store.db import affected_rows
from store.clock import utc_now
from store.conversations import forget_customer
from store.models import (
    AuditEvent,
    Base,
    Consent,
    Customer,
    CustomerIdentifier,
    DeclaredPreference,
    Employee,
    FollowUp,
    Interaction,
    LinkConstraint,
    MatchReview,
    MergeEvent,
    Order,
    SourceRecord,
    WebActivity,
    Basket,
    WebNotice,
    WebSignal,
    WebVisitor,
)
from store.vocabulary import AuditAction, CustomerStatus

ERASED_HASH = "erased"
_PERSON_FIELDS = (
    "first_name", "last_name", "email", "phone", "birth_date", "street", "postcode", "city", "country", "loyalty_id",
)


class CustomerNotFound(LookupError):
    pass


def _row(obj: Base, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A model row as plain JSON-ready values."""
    out: dict[str, Any] = {}
    for column in inspect(obj).mapper.column_attrs:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        out[column.key] = value
    return out


def _customer_ids(session: Session, customer_id: int) -> list[int]:
    """The customer and every customer merged into it (directly or through a chain)."""
    ids, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = list(session.scalars(select(Customer.id).where(Customer.merged_into_id.in_(frontier))))
        ids.extend(frontier)
    return ids


def _resolve(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(f"no customer with id {customer_id}")
    while customer.status == CustomerStatus.MERGED and customer.merged_into_id:
        customer = session.get_one(Customer, customer.merged_into_id)  # a foreign key: the row exists
    return customer


def export_customer(session: Session, customer_id: int, *, actor: str, via: str = "cli") -> dict[str, Any]:
    """Everything held about one person, readable by that person. The export itself is audited."""
    customer = _resolve(session, customer_id)
    ids = _customer_ids(session, customer.id)
    # Keyed by `int | None` so a row without an employee (system, erased) reads as None.
    employee_names: dict[int | None, str] = dict(session.execute(select(Employee.id, Employee.name)).all())

    orders = session.scalars(select(Order).where(Order.customer_id.in_(ids)).order_by(Order.ordered_at)).all()
    interactions = session.scalars(
        select(Interaction).where(Interaction.customer_id.in_(ids)).order_by(Interaction.created_at)
    ).all()
    follow_ups = session.scalars(select(FollowUp).where(FollowUp.customer_id.in_(ids)).order_by(FollowUp.created_at)).all()
    access = session.scalars(
        select(AuditEvent).where(AuditEvent.customer_id.in_(ids)).order_by(AuditEvent.at)
    ).all()

    def by_customer(
        model: type[WebSignal | DeclaredPreference | Consent], order_column: InstrumentedAttribute[dt.datetime]
    ) -> list[dict[str, Any]]:
        return [
            _row(r, skip=("customer_id",))
            for r in session.scalars(select(model).where(model.customer_id.in_(ids)).order_by(order_column))
        ]

    document = {
        "about": "Everything Frontline holds about this person, and who accessed it.",
        "generated_at": utc_now().isoformat() + "Z",
        "customer_id": customer.id,
        "profile": _row(customer, skip=("search_name",)),
        "merged_customer_records": [
            _row(session.get_one(Customer, other), skip=("search_name",)) for other in ids if other != customer.id
        ],
        "source_records": [
            _row(r, skip=("customer_id", "content_hash"))
            for r in session.scalars(select(SourceRecord).where(SourceRecord.customer_id.in_(ids)).order_by(SourceRecord.id))
        ],
        "orders": [
            {**_row(o, skip=("customer_id",)), "lines": [_row(line, skip=("order_id",)) for line in o.lines]}
            for o in orders
        ],
        "website_signals": by_customer(WebSignal, WebSignal.occurred_at),
        "website_activity": [
            _row(a, skip=("customer_id", "visitor_id"))
            for a in session.scalars(select(WebActivity).where(WebActivity.customer_id.in_(ids))
                                     .order_by(WebActivity.occurred_at))
        ],
        "baskets": [
            _row(b, skip=("customer_id", "visitor_id"))
            for b in session.scalars(select(Basket).where(Basket.customer_id.in_(ids)).order_by(Basket.updated_at))
        ],
        "declared_preferences": by_customer(DeclaredPreference, DeclaredPreference.recorded_at),
        "consents": by_customer(Consent, Consent.recorded_at),
        "interactions": [
            {**_row(i, skip=("customer_id",)), "employee": employee_names.get(i.employee_id)} for i in interactions
        ],
        "follow_ups": [
            {**_row(f, skip=("customer_id",)), "assignee": employee_names.get(f.assignee_id)} for f in follow_ups
        ],
        "access_history": [
            {
                "at": e.at.isoformat() + "Z",
                "action": e.action,
                "by": employee_names.get(e.employee_id, e.actor),
                "through": e.via,
            }
            for e in access
        ],
    }
    audit.record(session, employee_id=None, actor=actor, action=AuditAction.EXPORT, customer_id=customer.id, via=via)
    return document


@dataclass(frozen=True)
class ErasureReport:
    customer_id: int
    customers: int
    source_records: int
    notes_removed: int
    rows_deleted: int


def erase_customer(session: Session, customer_id: int, *, actor: str, via: str = "cli") -> ErasureReport:
    customer = _resolve(session, customer_id)
    ids = _customer_ids(session, customer.id)
    record_ids = list(session.scalars(select(SourceRecord.id).where(SourceRecord.customer_id.in_(ids))))

    deleted = 0
    for model in (CustomerIdentifier, WebSignal, DeclaredPreference, Consent, WebActivity, Basket, WebNotice):
        deleted += affected_rows(session, delete(model).where(model.customer_id.in_(ids))) or 0
    if record_ids:
        # The person's browsers: forgotten with what they did, so a later anonymous visit starts afresh.
        deleted += affected_rows(session, delete(WebVisitor).where(WebVisitor.source_record_id.in_(record_ids))) or 0
        deleted += affected_rows(
            session,
            delete(MatchReview).where(or_(MatchReview.record_a_id.in_(record_ids), MatchReview.record_b_id.in_(record_ids))),
        ) or 0
        deleted += affected_rows(
            session,
            delete(LinkConstraint).where(
                or_(LinkConstraint.record_a_id.in_(record_ids), LinkConstraint.record_b_id.in_(record_ids))
            ),
        ) or 0
        # Tombstones: the id stays so a re-import of the same record is recognised and refused.
        session.execute(
            update(SourceRecord)
            .where(SourceRecord.id.in_(record_ids))
            .values({**dict.fromkeys(_PERSON_FIELDS), "attributes": {}, "content_hash": ERASED_HASH})
        )
    notes = affected_rows(
        session,
        update(Interaction).where(Interaction.customer_id.in_(ids), Interaction.note.is_not(None)).values(note=None),
    ) or 0
    notes += affected_rows(
        session, update(FollowUp).where(FollowUp.customer_id.in_(ids), FollowUp.note.is_not(None)).values(note=None)
    ) or 0
    # A conversation about the person remembers who they are and may hold a drafted note.
    deleted += forget_customer(session, ids)
    # Merge snapshots hold copies of the person's data; without them an unmerge is no longer possible.
    session.execute(
        update(MergeEvent)
        .where(or_(MergeEvent.survivor_id.in_(ids), MergeEvent.absorbed_id.in_(ids)))
        .values(snapshot={"erased": True})
    )
    session.execute(
        update(Customer)
        .where(Customer.id.in_(ids))
        .values(
            {
                **dict.fromkeys(_PERSON_FIELDS),
                "loyalty_tier": None,
                "preferred_language": None,
                "preferred_channel": None,
                "preferred_store_id": None,
                "provenance": {},
                "search_name": None,
                "status": CustomerStatus.ERASED,
                "updated_at": utc_now(),
            }
        )
    )
    audit.record(
        session, employee_id=None, actor=actor, action=AuditAction.ERASE, customer_id=customer.id, via=via,
        detail={"customers": len(ids), "source_records": len(record_ids)},
    )
    return ErasureReport(
        customer_id=customer.id, customers=len(ids), source_records=len(record_ids), notes_removed=notes,
        rows_deleted=deleted,
    )
