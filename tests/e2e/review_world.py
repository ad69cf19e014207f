"""Scenery for possible duplicates in Slack: source records linked by the real resolver with a strict merge
threshold, so two likely pairs wait for a person; an admin, a granted data steward, and associates."""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import func, select

from store.identity import DEFAULT_THRESHOLDS
from store.models import AuditEvent, Customer, LinkConstraint, MatchReview, MergeEvent, ReviewDecision
from store.resolution import relink
from store.review import set_steward
from tests.store.resolution_fixtures import add_record, customer_of

STRICT = replace(DEFAULT_THRESHOLDS, merge=0.9995, review=0.5)
MARIE_EMAIL = "marie.d@example.com"
MARIE_PHONE = "0622334455"


@dataclass(frozen=True)
class ReviewWorld:
    ada: int  # admin: a data steward by role
    sam: int  # associate granted data_steward
    lea: int  # associate, English
    hugo: int  # associate, French
    marie_web: int  # customer of web:W1 (Marie Dupont, Lyon, born 1971, an e-mail)
    marie_pos: int  # customer of pos:P1 (Marie Dupont, Lyon, a phone)
    sophie_web: int
    sophie_pos: int
    marie_review: int
    sophie_review: int
    queue: tuple[int, int]  # the two review ids in queue order (most likely first)


def build_review_world(session_factory, employee) -> ReviewWorld:
    ada = employee("U0ADA", "Ada Admin", role="admin")
    sam = employee("U0SAM", "Sam Steward")
    lea = employee("U0LEA", "Léa Martin")
    hugo = employee("U0HUGO", "Hugo Bernard", locale="fr")
    with session_factory.begin() as session:
        set_steward(session, "U0SAM", True, actor="cli")
        add_record(session, "web", "W1", first_name="Marie", last_name="Dupont", email=MARIE_EMAIL,
                   birth_date="1971-03-04", postcode="69003", city="Lyon")
        add_record(session, "pos", "P1", first_name="Marie", last_name="Dupont", phone=MARIE_PHONE,
                   postcode="69003", city="Lyon")
        add_record(session, "web", "W2", first_name="Sophie", last_name="Bernard", postcode="75011",
                   email="sophie.b@example.com")
        add_record(session, "pos", "P2", first_name="Sophie", last_name="Bernard", postcode="75011",
                   phone="0611223344", birth_date="1985-06-07")
        relink(session, thresholds=STRICT)
        reviews = session.execute(select(MatchReview.id, MatchReview.record_a_id)
                                  .order_by(MatchReview.score.desc(), MatchReview.id)).all()
        customers = [customer_of(session, s, i) for s, i in (("web", "W1"), ("pos", "P1"), ("web", "W2"),
                                                              ("pos", "P2"))]
    assert len(reviews) == 2 and len(set(customers)) == 4, (reviews, customers)
    by_pair = {row.id: row.record_a_id for row in reviews}
    with session_factory() as session:
        marie_record = session.scalar(select(func.min(MatchReview.record_a_id)))
    marie_review = next(i for i, a in by_pair.items() if a == marie_record)
    sophie_review = next(i for i in by_pair if i != marie_review)
    return ReviewWorld(ada, sam, lea, hugo, *customers, marie_review=marie_review, sophie_review=sophie_review,
                       queue=(reviews[0].id, reviews[1].id))


def identity_state(session_factory) -> dict[str, object]:
    """What a review answer changes: to prove that a refused click changed nothing."""
    with session_factory() as session:
        return {
            "reviews": session.execute(select(MatchReview.id, MatchReview.status).order_by(MatchReview.id)).all(),
            "constraints": session.execute(select(LinkConstraint.record_a_id, LinkConstraint.record_b_id,
                                                  LinkConstraint.kind).order_by(LinkConstraint.id)).all(),
            "merges": session.scalar(select(func.count()).select_from(MergeEvent)),
            "decisions": session.execute(select(ReviewDecision.id, ReviewDecision.undone_at)).all(),
            "active": session.scalars(select(Customer.id).where(Customer.status == "active")
                                      .order_by(Customer.id)).all(),
            "audit": session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "review")),
        }
