"""The review queue: uncertain matches decided by a person.

Accepting records a must_link between the two records and merges their customers (reason "review");
rejecting records a cannot_link so the linker never proposes or makes that link again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.clock import utc_now
from store.identity import Evidence, evidence_from_json
from store.merging import MergeError, add_constraints, merge_customers
from store.models import MatchReview, SourceRecord
from store.vocabulary import LinkKind, MergeReason, ReviewStatus


class ReviewError(Exception):
    """A review decision that cannot be made; the message says why in one line."""


@dataclass(frozen=True)
class RecordSummary:
    id: int
    source: str
    source_id: str
    customer_id: int | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: dt.date | None
    postcode: str | None
    city: str | None
    loyalty_id: str | None


@dataclass(frozen=True)
class PendingReview:
    id: int
    score: float
    reasons: list[str]
    created_at: dt.datetime
    a: RecordSummary
    b: RecordSummary
    evidence: tuple[Evidence, ...] = ()  # field by field, with weights; () on rows queued before it existed


_SUMMARY_COLUMNS = [getattr(SourceRecord, name) for name in RecordSummary.__dataclass_fields__]


def count_pending(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(MatchReview).where(MatchReview.status == ReviewStatus.PENDING)) or 0


def list_pending(session: Session, limit: int = 20) -> list[PendingReview]:
    """Pending reviews, most likely matches first."""
    reviews = session.execute(
        select(MatchReview.id, MatchReview.score, MatchReview.reasons, MatchReview.evidence, MatchReview.created_at,
               MatchReview.record_a_id, MatchReview.record_b_id)
        .where(MatchReview.status == ReviewStatus.PENDING).order_by(MatchReview.score.desc(), MatchReview.id).limit(limit)
    ).all()
    record_ids = {r.record_a_id for r in reviews} | {r.record_b_id for r in reviews}
    records = {row.id: RecordSummary(**row._asdict()) for row in
               session.execute(select(*_SUMMARY_COLUMNS).where(SourceRecord.id.in_(record_ids)))}
    return [PendingReview(id=r.id, score=r.score, reasons=list(r.reasons or []), created_at=r.created_at,
                          a=records[r.record_a_id], b=records[r.record_b_id],
                          evidence=evidence_from_json(r.evidence)) for r in reviews]


def _pending(session: Session, review_id: int) -> MatchReview:
    review = session.get(MatchReview, review_id)
    if review is None:
        raise ReviewError(f"review {review_id} does not exist")
    if review.status != ReviewStatus.PENDING:
        raise ReviewError(f"review {review_id} is already {review.status}")
    return review


def _customers(session: Session, review: MatchReview) -> tuple[int | None, int | None]:
    a = session.scalar(select(SourceRecord.customer_id).where(SourceRecord.id == review.record_a_id))
    b = session.scalar(select(SourceRecord.customer_id).where(SourceRecord.id == review.record_b_id))
    return a, b


def _size(session: Session, customer_id: int) -> int:
    return session.scalar(select(func.count()).select_from(SourceRecord)
                          .where(SourceRecord.customer_id == customer_id)) or 0


def accept(session: Session, review_id: int, actor: str, *, via: str = "cli") -> int | None:
    """Same person: link the records and merge their customers. Returns the merge event id, if any."""
    review = _pending(session, review_id)
    pair = (review.record_a_id, review.record_b_id)
    add_constraints(session, [pair], kind=LinkKind.MUST_LINK, actor=actor)
    a, b = _customers(session, review)
    event_id = None
    if a is not None and b is not None and a != b:
        # The customer with more records survives (ties: the older id), as in automatic merges.
        survivor, absorbed = sorted((a, b), key=lambda c: (-_size(session, c), c))
        try:
            event_id = merge_customers(session, survivor_id=survivor, absorbed_id=absorbed, actor=actor,
                                       reason=MergeReason.REVIEW, via=via).id
        except MergeError as error:
            raise ReviewError(str(error)) from None
    review = session.get_one(MatchReview, review_id)
    review.status, review.decided_at, review.decided_by = ReviewStatus.ACCEPTED, utc_now(), actor
    session.flush()
    return event_id


def reject(session: Session, review_id: int, actor: str) -> None:
    """Different people: the linker will keep these two records apart from now on."""
    review = _pending(session, review_id)
    a, b = _customers(session, review)
    if a is not None and a == b:
        raise ReviewError(f"review {review_id}: both records already belong to customer {a}; "
                          "undo that merge with `frontline unmerge` instead")
    add_constraints(session, [(review.record_a_id, review.record_b_id)], kind=LinkKind.CANNOT_LINK, actor=actor)
    review.status, review.decided_at, review.decided_by = ReviewStatus.REJECTED, utc_now(), actor
    session.flush()
