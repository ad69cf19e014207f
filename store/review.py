"""The review queue: uncertain matches decided by a person.

Accepting records a must_link between the two records and merges their customers (reason "review");
rejecting records a cannot_link so the linker never proposes or makes that link again.

In Slack (`answer`, `undo`, `skip`) each answer is a ReviewDecision row plus an audit row per customer,
in the caller's transaction, and can be undone exactly: "same person" by undoing its merge (and the
constraints the answer and the unmerge wrote between the two sides), "not the same" by removing its
cannot_link; the review is pending again. Whatever a click carries (a review id, a decision id, a
customer id) is checked against the rows: a stale or forged click is a `Refused` that changed nothing.
Who may answer is decided here too: data stewards (and admins) anywhere; on a customer's card, the
employee serving that customer, for that customer's reviews only.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import BindParameter, and_, bindparam, case, delete, func, or_, select, tuple_
from sqlalchemy.orm import Session

from store import audit
from store.clock import utc_now
from store.dialect import Reader
from store.errors import Refused
from store.identity import Evidence, evidence_from_json
from store.merging import MergeError, add_constraints, merge_customers, unmerge
from store.models import (
    Customer,
    Employee,
    EmployeePermission,
    LinkConstraint,
    MatchReview,
    MergeEvent,
    ReviewDecision,
    SourceRecord,
)
from store.permissions import Person, reviews_matches
from store.vocabulary import (
    AuditAction,
    CustomerStatus,
    EvidenceField,
    EvidenceLevel,
    LinkKind,
    MergeReason,
    Permission,
    ReviewAnswer,
    ReviewStatus,
)


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
    street: str | None
    postcode: str | None
    city: str | None
    loyalty_id: str | None

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


# The linker's older reason words (store.identity's `reasons`) -> (field, level).
_OLD_REASONS = {
    "birth_date": ("birth_date", "exact"), "birth_transposed": ("birth_date", "transposed"),
    "birth_typo": ("birth_date", "one_digit"), "birth_conflict": ("birth_date", "differs"),
    "same_email": ("email", "exact"), "email_differs": ("email", "differs"),
    "same_phone": ("phone", "exact"), "phone_differs": ("phone", "differs"),
    "same_loyalty": ("loyalty_id", "exact"), "loyalty_differs": ("loyalty_id", "differs"),
    "postcode": ("postcode", "exact"), "postcode_differs": ("postcode", "differs"),
    "street": ("street", "exact"), "street~": ("street", "close"), "street_differs": ("street", "differs"),
    "city": ("city", "exact"),
}
_WEIGHED = re.compile(r"^([a-z_~]+)([+-]\d+(?:\.\d+)?)$")


def evidence_of(reasons: Iterable[object]) -> tuple[Evidence, ...]:
    """The evidence in a review's `reasons` ("last_name+7.4", "birth_transposed+5.0", ...): the only reader
    of that older shape. Names carry no level there: a weight for is read as exact, one against as differs."""
    found = []
    for reason in reasons:
        match = _WEIGHED.match(reason) if isinstance(reason, str) else None
        if match is None:
            continue
        word, bits = match.group(1), float(match.group(2))
        if word in ("first_name", "last_name"):
            found.append(Evidence(field=EvidenceField(word), level=EvidenceLevel.EXACT if bits >= 0 else EvidenceLevel.DIFFERS,
                                  bits=bits))
        elif word in _OLD_REASONS:
            field, level = _OLD_REASONS[word]
            found.append(Evidence(field=EvidenceField(field), level=EvidenceLevel(level), bits=bits))
    return tuple(found)


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


def list_pending(session: Session, limit: int | None = 20, *, after: int | None = None) -> list[PendingReview]:
    """Pending reviews, most likely matches first (all of them when `limit` is None); with `after`, those
    that come after that review in this order (the next ones once it is skipped)."""
    query = (select(MatchReview.id, MatchReview.score, MatchReview.reasons, MatchReview.evidence, MatchReview.created_at,
                    MatchReview.record_a_id, MatchReview.record_b_id)
             .where(MatchReview.status == ReviewStatus.PENDING).order_by(MatchReview.score.desc(), MatchReview.id))
    if after is not None and 0 < after <= MAX_ID:
        skipped = session.execute(select(MatchReview.score, MatchReview.id).where(MatchReview.id == after)).first()
        if skipped is not None:
            query = query.where(or_(MatchReview.score < skipped.score,
                                    and_(MatchReview.score == skipped.score, MatchReview.id > skipped.id)))
    reviews = session.execute(query.limit(limit)).all()
    return _with_records(session, reviews)


def _with_records(session: Session, reviews: Sequence[Any]) -> list[PendingReview]:
    record_ids = {r.record_a_id for r in reviews} | {r.record_b_id for r in reviews}
    records = {row.id: RecordSummary(**row._asdict()) for row in
               session.execute(select(*_SUMMARY_COLUMNS).where(SourceRecord.id.in_(record_ids)))}
    return [PendingReview(id=r.id, score=r.score, reasons=list(r.reasons or []), created_at=r.created_at,
                          a=records[r.record_a_id], b=records[r.record_b_id],
                          evidence=evidence_from_json(r.evidence) or evidence_of(r.reasons or [])) for r in reviews]


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


# ---- review in Slack ------------------------------------------------------------------------------

def is_steward(session: Session, person: Person) -> bool:
    """May `person` answer the whole queue (/review, App Home)? Admins, and employees granted data_steward."""
    granted = session.scalar(select(func.count()).select_from(EmployeePermission).where(
        EmployeePermission.employee_id == person.id, EmployeePermission.permission == Permission.DATA_STEWARD))
    return reviews_matches(person, steward=bool(granted))


def stewards(session: Session) -> list[tuple[str, str]]:
    """(Slack user id, name) of the employees granted data_steward, by name (admins are stewards anyway)."""
    rows = session.execute(
        select(Employee.slack_user_id, Employee.name)
        .join(EmployeePermission, EmployeePermission.employee_id == Employee.id)
        .where(EmployeePermission.permission == Permission.DATA_STEWARD).order_by(Employee.name, Employee.id))
    return [(row.slack_user_id, row.name) for row in rows]


def set_steward(session: Session, slack_user_id: str, granted: bool, *, actor: str, via: str = "cli") -> bool:
    """Grant or revoke data_steward; True if that changed something. Audited as an access change."""
    employee = session.scalars(select(Employee).where(Employee.slack_user_id == slack_user_id)).one_or_none()
    if employee is None:
        raise ReviewError(f"{slack_user_id} is not a registered employee (`frontline employees` adds people)")
    row = session.get(EmployeePermission, (employee.id, Permission.DATA_STEWARD))
    if (row is not None) == granted:
        return False
    if granted:
        session.add(EmployeePermission(employee_id=employee.id, permission=Permission.DATA_STEWARD,
                                       granted_at=utc_now(), granted_by=actor))
    else:
        session.delete(row)
    audit.record(session, employee_id=None, actor=actor, action=AuditAction.PERMISSION, customer_id=None, via=via,
                 detail={"employee": slack_user_id, "permission": Permission.DATA_STEWARD, "granted": granted})
    session.flush()
    return True


@dataclass(frozen=True)
class PossibleDuplicate:
    """A pending review seen from one customer's card: the other side, to ask the customer about."""

    review_id: int
    customer_id: int  # the card's customer
    other: RecordSummary


# The card's possible-duplicate banner is asked on every card: its statements are built once (bound
# parameters, the customer's records as one expanding list), not for each lookup.
_OWN_RECORDS = select(SourceRecord.id).where(SourceRecord.customer_id == bindparam("cid"))
_OWN: BindParameter[int] = bindparam("own", expanding=True)
_OTHER_RECORD = case((MatchReview.record_a_id.in_(_OWN), MatchReview.record_b_id), else_=MatchReview.record_a_id)
_PENDING_WITH = (
    select(MatchReview.id, _OTHER_RECORD.label("other_record"))
    .join(SourceRecord, SourceRecord.id == _OTHER_RECORD)
    .join(Customer, Customer.id == SourceRecord.customer_id)
    .where(or_(MatchReview.record_a_id.in_(_OWN), MatchReview.record_b_id.in_(_OWN)),
           MatchReview.status == ReviewStatus.PENDING, MatchReview.id != bindparam("exclude"),
           Customer.id != bindparam("cid"), Customer.status == CustomerStatus.ACTIVE)
    .order_by(MatchReview.score.desc(), MatchReview.id).limit(bindparam("limit"))
)
_SUMMARIES = select(*_SUMMARY_COLUMNS).where(SourceRecord.id.in_(bindparam("ids", expanding=True)))


def possible_duplicates(session: Reader, customer_id: int, limit: int = 1, *,
                        exclude: int | None = None, own: Sequence[int] | None = None) -> list[PossibleDuplicate]:
    """Pending reviews between one of this customer's records and another active customer's, most likely
    first; `exclude`: a review the employee just skipped on this card; `own`: the customer's source record
    ids when the caller has read them already (the card on PostgreSQL), else they are read here.

    Asked on every card: found from the customer's few records through the indexes on both record
    columns of match_reviews, never by scanning the pending queue."""
    own = list(session.scalars(_OWN_RECORDS, {"cid": customer_id})) if own is None else list(own)
    if not own:
        return []
    found = session.execute(_PENDING_WITH, {"own": own, "cid": customer_id, "exclude": exclude or 0,
                                            "limit": limit}).all()
    if not found:
        return []
    records = {row.id: RecordSummary(**row._asdict())
               for row in session.execute(_SUMMARIES, {"ids": list({row.other_record for row in found})})}
    return [PossibleDuplicate(review_id=row.id, customer_id=customer_id, other=records[row.other_record])
            for row in found]


def _records(session: Session, record_ids: set[int]) -> dict[int, RecordSummary]:
    return {row.id: RecordSummary(**row._asdict()) for row in
            session.execute(select(*_SUMMARY_COLUMNS).where(SourceRecord.id.in_(record_ids)))}


@dataclass(frozen=True)
class Answered:
    decision_id: int
    review_id: int
    answer: ReviewAnswer
    merge_event_id: int | None
    customer_id: int | None  # after "same person": the one customer both records now belong to
    names: tuple[str, str]  # the two records' names, for the confirmation line


# Ids are INTEGER columns: a larger number (a forged button value) is no row, and PostgreSQL would refuse
# to compare it rather than find nothing.
MAX_ID = 2**31 - 1


_Row = TypeVar("_Row", MatchReview, ReviewDecision)


def _row(session: Session, model: type[_Row], row_id: int) -> _Row | None:
    """The row a click names, locked on PostgreSQL: of two people answering at once, the second waits and
    then finds it answered (SQLite has one writer at a time anyway)."""
    return session.get(model, row_id, with_for_update=True) if 0 < row_id <= MAX_ID else None


def _pending_for(session: Session, review_id: int, customer_id: int | None) -> MatchReview:
    """The review a click is about, if it may still be answered; `customer_id`: the card it was shown on."""
    review = _row(session, MatchReview, review_id)
    if review is None:
        raise Refused("review.gone")
    if review.status == ReviewStatus.SUPERSEDED:
        raise Refused("review.gone")  # its records came to share a customer: there is no question left
    if review.status != ReviewStatus.PENDING:
        who = session.scalar(select(Employee.name).where(Employee.slack_user_id == review.decided_by)) \
            if review.decided_by else None
        if who:
            raise Refused("review.already_decided_by", who=who)
        raise Refused("review.already_decided")
    if customer_id is not None and (customer_id > MAX_ID or customer_id not in _customers(session, review)):
        raise Refused("review.gone")  # a forged pairing of a card and a review
    return review


def _record_names(session: Session, review: MatchReview) -> tuple[str, str]:
    records = _records(session, {review.record_a_id, review.record_b_id})
    return records[review.record_a_id].display_name, records[review.record_b_id].display_name


def answer(session: Session, review_id: int, given: ReviewAnswer, *, employee_id: int, actor: str, via: str,
           customer_id: int | None = None) -> Answered:
    """A person's answer to a review (from the queue, or on the card of `customer_id`), audited and undoable."""
    review = _pending_for(session, review_id, customer_id)
    names = _record_names(session, review)
    sides = _customers(session, review)
    try:
        if given == ReviewAnswer.SAME:
            merge_event_id = accept(session, review_id, actor, via=via)
        else:
            merge_event_id = None
            reject(session, review_id, actor)
    except ReviewError:
        raise Refused("review.gone") from None  # both records came to share a customer meanwhile
    except MergeError:
        raise Refused("review.cannot_merge") from None
    decision = ReviewDecision(review_id=review_id, answer=given, merge_event_id=merge_event_id,
                              employee_id=employee_id, actor=actor, via=via, decided_at=utc_now())
    session.add(decision)
    session.flush()
    survivor = session.scalar(select(SourceRecord.customer_id).where(SourceRecord.id == review.record_a_id))
    for side in {c for c in sides if c is not None}:
        audit.record(session, employee_id=employee_id, actor=actor, action=AuditAction.REVIEW, customer_id=side,
                     via=via, detail={"review_id": review_id, "answer": str(given), "decision_id": decision.id,
                                      "merge_event_id": merge_event_id})
    return Answered(decision_id=decision.id, review_id=review_id, answer=given, merge_event_id=merge_event_id,
                    customer_id=survivor if given == ReviewAnswer.SAME else customer_id, names=names)


def skip(session: Session, review_id: int, *, employee_id: int, actor: str, via: str,
         customer_id: int | None = None) -> None:
    """Not now: nothing changes but the trail (who saw the pair and passed)."""
    review = _pending_for(session, review_id, customer_id)
    for side in {c for c in _customers(session, review) if c is not None}:
        audit.record(session, employee_id=employee_id, actor=actor, action=AuditAction.REVIEW, customer_id=side,
                     via=via, detail={"review_id": review_id, "answer": "skip"})


@dataclass(frozen=True)
class Undone:
    review_id: int
    answer: ReviewAnswer
    customer_ids: tuple[int, ...]  # the customers the two records belong to again


def undo(session: Session, decision_id: int, *, employee_id: int, actor: str, via: str, steward: bool) -> Undone:
    """Reverse an answer exactly; the review waits for an answer again. The person who answered may undo
    it, and so may any data steward."""
    decision = _row(session, ReviewDecision, decision_id)
    if decision is None:
        raise Refused("review.gone")
    if decision.undone_at is not None:
        raise Refused("review.already_undone")
    if decision.employee_id != employee_id and not steward:
        raise Refused("review.undo_not_yours")
    review = session.get_one(MatchReview, decision.review_id)
    pair = (min(review.record_a_id, review.record_b_id), max(review.record_a_id, review.record_b_id))
    if decision.answer == ReviewAnswer.SAME and decision.merge_event_id is not None:
        event = session.get_one(MergeEvent, decision.merge_event_id)
        if event.undone_at is not None:
            raise Refused("review.merge_undone")  # `frontline unmerge` got there first
        sides = [event.snapshot["survivor_records"], [r["id"] for r in event.snapshot["records"]]]
        apart_before = _cannot_links(session, sides)
        try:
            unmerge(session, merge_event_id=event.id, actor=actor, via=via)
        except MergeError:
            raise Refused("review.cannot_undo") from None
        # The unmerge wrote cannot_links between the sides, as for an admin's "these are two people": this
        # undo takes the question back instead, so only the constraints that were there before stay.
        added = _cannot_links(session, sides) - apart_before
        _delete_constraints(session, added, LinkKind.CANNOT_LINK)
    _delete_constraints(session, {pair}, LinkKind.MUST_LINK if decision.answer == ReviewAnswer.SAME
                        else LinkKind.CANNOT_LINK)
    review = session.get_one(MatchReview, decision.review_id)
    review.status, review.decided_at, review.decided_by = ReviewStatus.PENDING, None, None
    decision.undone_at, decision.undone_by = utc_now(), actor
    session.flush()
    customers = tuple(sorted({c for c in _customers(session, review) if c is not None}))
    for side in customers:
        audit.record(session, employee_id=employee_id, actor=actor, action=AuditAction.REVIEW, customer_id=side,
                     via=via, detail={"review_id": review.id, "answer": "undo", "decision_id": decision.id})
    return Undone(review_id=review.id, answer=ReviewAnswer(decision.answer), customer_ids=customers)


def _cannot_links(session: Session, sides: list[list[int]]) -> set[tuple[int, int]]:
    a, b = sides
    if not a or not b:
        return set()
    rows = session.execute(select(LinkConstraint.record_a_id, LinkConstraint.record_b_id).where(
        LinkConstraint.kind == LinkKind.CANNOT_LINK,
        or_(and_(LinkConstraint.record_a_id.in_(a), LinkConstraint.record_b_id.in_(b)),
            and_(LinkConstraint.record_a_id.in_(b), LinkConstraint.record_b_id.in_(a)))))
    return {(row.record_a_id, row.record_b_id) for row in rows}


def _delete_constraints(session: Session, pairs: set[tuple[int, int]], kind: LinkKind) -> None:
    if pairs:
        session.execute(delete(LinkConstraint).where(
            LinkConstraint.kind == kind, tuple_(LinkConstraint.record_a_id, LinkConstraint.record_b_id).in_(pairs)))


def record_shown(session: Session, review: PendingReview, *, employee_id: int, actor: str, via: str) -> None:
    """A steward was shown both records of a review: a view of each customer, audited like opening a card."""
    for customer_id in sorted({c for c in (review.a.customer_id, review.b.customer_id) if c is not None}):
        audit.record(session, employee_id=employee_id, actor=actor, action=AuditAction.VIEW, customer_id=customer_id,
                     via=via, detail={"review_id": review.id})
