"""The review queue and the admin commands, through `frontline ...` as an admin types them."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.cli import main
from store.identity import DEFAULT_THRESHOLDS
from store.models import Customer, LinkConstraint, MatchReview, MergeEvent
from store.resolution import relink
from store.review import ReviewError, accept, list_pending, reject
from store.vocabulary import EvidenceField, EvidenceLevel
from tests.store.resolution_fixtures import add_record, customer_of

STRICT = replace(DEFAULT_THRESHOLDS, merge=0.9995, review=0.5)


def _bits_of(score: float) -> float:
    return math.log2(score / (1 - score))


def _likely_pair(session) -> int:
    """Two Sophie Bernards in the same postcode, nothing else in common: queued for a person."""
    add_record(session, "web", "W1", first_name="Sophie", last_name="Bernard", postcode="69003",
               email="sophie.b@example.com")
    add_record(session, "pos", "P1", first_name="Sophie", last_name="Bernard", postcode="69003",
               phone="0622334455")
    relink(session, thresholds=STRICT)
    return session.scalars(select(MatchReview.id)).one()


def test_pending_review_shows_both_records(session_factory):
    with session_factory.begin() as session:
        review_id = _likely_pair(session)
        [pending] = list_pending(session, 10)
    assert pending.id == review_id
    assert {pending.a.source, pending.b.source} == {"web", "pos"}
    assert {pending.a.email, pending.b.phone} == {"sophie.b@example.com", "0622334455"}
    # the evidence behind the score, field by field (what the Slack review and the CLI show)
    fields = {line.field: line for line in pending.evidence}
    assert fields[EvidenceField.FIRST_NAME].level == EvidenceLevel.EXACT and fields[EvidenceField.FIRST_NAME].bits > 0
    assert abs(sum(line.bits for line in pending.evidence) - _bits_of(pending.score)) < 0.05


def test_accept_merges_and_keeps_them_together(session_factory):
    with session_factory.begin() as session:
        review_id = _likely_pair(session)
        event_id = accept(session, review_id, "U-admin")
        assert customer_of(session, "web", "W1") == customer_of(session, "pos", "P1")
        assert session.get(MergeEvent, event_id).reason == "review"
        assert session.scalars(select(LinkConstraint.kind)).all() == ["must_link"]
        assert relink(session, thresholds=STRICT).reviews_queued == 0
        with pytest.raises(ReviewError, match="already accepted"):
            reject(session, review_id, "U-admin")


def test_reject_keeps_them_apart_and_is_not_asked_again(session_factory):
    with session_factory.begin() as session:
        review_id = _likely_pair(session)
        reject(session, review_id, "U-admin")
        # Even with the default (laxer) thresholds that would link them, they stay apart.
        report = relink(session)
        assert report.customers_merged == 0 and report.reviews_queued == 0
        assert customer_of(session, "web", "W1") != customer_of(session, "pos", "P1")
        assert session.get(MatchReview, review_id).status == "rejected"


def test_cli_review_merge_unmerge_and_show(db_url, session_factory, monkeypatch, capsys):
    with session_factory.begin() as session:
        review_id = _likely_pair(session)
        add_record(session, "crm", "C9", first_name="Paul", last_name="Girard", email="paul.g@example.com")
        relink(session, thresholds=STRICT)
        sophie_web, sophie_pos = customer_of(session, "web", "W1"), customer_of(session, "pos", "P1")
        paul = customer_of(session, "crm", "C9")
    monkeypatch.setenv("DATABASE_URL", db_url)

    assert main(["review", "list"]) == 0
    out = capsys.readouterr().out
    assert f"#{review_id}" in out and "web:W1" in out and "pos:P1" in out and "1 of 1 pending" in out
    assert "evidence (bits)" in out and "first_name exact +" in out and "last_name exact +" in out

    assert main(["review", "accept", str(review_id)]) == 0
    assert "merged (merge" in capsys.readouterr().out
    assert main(["review", "accept", str(review_id)]) == 1
    assert "already accepted" in capsys.readouterr().err

    assert main(["merge", str(paul), str(sophie_web)]) == 0
    out = capsys.readouterr().out
    assert f"Customer {sophie_web} merged into {paul}" in out
    with session_factory() as session:
        event_id = session.scalars(select(MergeEvent.id).order_by(MergeEvent.id.desc())).first()

    assert main(["customers", "show", str(paul)]) == 0
    out = capsys.readouterr().out
    # Two records say Sophie Bernard, one says Paul Girard: the names follow the majority, with their source.
    assert "Sophie" in out and "from pos:P1" in out and "email paul.g@example.com" in out
    assert f"Merge {event_id}: {sophie_web} into {paul}, manual" in out

    assert main(["unmerge", str(event_id)]) == 0
    assert "undone" in capsys.readouterr().out
    with session_factory() as session:
        assert session.get(Customer, sophie_web).status == "active"
        assert customer_of(session, "crm", "C9") == paul
        assert {customer_of(session, "web", "W1"), customer_of(session, "pos", "P1")} == {sophie_web}
        assert sophie_pos != sophie_web  # it was absorbed by the review merge
    assert main(["unmerge", str(event_id)]) == 1
    assert "already undone" in capsys.readouterr().err
    assert main(["customers", "show", "999999"]) == 1
