"""Answers to possible duplicates (store.review: answer, skip, undo, stewards) and `frontline review list --csv`,
on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from store.errors import Refused
from store.employees import access_history
from store.merging import merge_customers, unmerge
from store.models import Employee, LinkConstraint, MatchReview
from store.review import (
    Evidence, ReviewError, answer, evidence_of, is_steward, possible_duplicates, set_steward, skip, stewards, undo,
)
from store.vocabulary import MergeReason, ReviewAnswer
from tests.e2e.review_world import build_review_world, identity_state
from tests.store.resolution_fixtures import customer_of, dump_world
from tests.support.people import add_employee


@pytest.fixture
def world(session_factory, slack):
    def employee(slack_user_id, name, **kwargs):
        return add_employee(session_factory, slack, slack_user_id, name, **kwargs)
    return build_review_world(session_factory, employee)


def _employee(session, employee_id):
    return session.get_one(Employee, employee_id)


def test_evidence_is_read_field_by_field_with_its_weight():
    reasons = ["same_email", "name~0.98", "weight=9.2", "last_name+7.4", "first_name-1.5", "birth_transposed+5.0",
               "street~+2.5", "postcode_differs-4.0", "unknown_thing+3.0", 42, "first_name+x"]
    assert evidence_of(reasons) == (
        Evidence("last_name", "exact", 7.4), Evidence("first_name", "differs", -1.5),
        Evidence("birth_date", "transposed", 5.0), Evidence("street", "close", 2.5),
        Evidence("postcode", "differs", -4.0))


def test_admins_and_granted_employees_are_stewards_and_grants_are_audited(session_factory, world):
    with session_factory.begin() as session:
        assert is_steward(session, _employee(session, world.ada))
        assert is_steward(session, _employee(session, world.sam))
        assert not is_steward(session, _employee(session, world.lea))
        assert set_steward(session, "U0LEA", True, actor="cli")
        assert not set_steward(session, "U0LEA", True, actor="cli")  # already granted: nothing to change
        assert is_steward(session, _employee(session, world.lea))
        assert [u for u, _ in stewards(session)] == ["U0LEA", "U0SAM"]
        assert set_steward(session, "U0LEA", False, actor="cli")
        assert not is_steward(session, _employee(session, world.lea))
        with pytest.raises(ReviewError, match="not a registered employee"):
            set_steward(session, "U0NOBODY", True, actor="cli")
        history = [(e.action, e.employee, e.detail.get("granted")) for e in access_history(session, "U0LEA")]
    assert history == [("permission", "U0LEA", True), ("permission", "U0LEA", False)]


def test_same_person_then_undo_gives_back_the_world_as_it_was(session_factory, world):
    with session_factory() as session:
        before = dump_world(session)
    with session_factory.begin() as session:
        done = answer(session, world.marie_review, ReviewAnswer.SAME, employee_id=world.ada, actor="U0ADA",
                      via="test")
        assert done.merge_event_id is not None
        assert customer_of(session, "web", "W1") == customer_of(session, "pos", "P1") == done.customer_id
    with session_factory.begin() as session:
        undone = undo(session, done.decision_id, employee_id=world.ada, actor="U0ADA", via="test", steward=True)
        assert set(undone.customer_ids) == {world.marie_web, world.marie_pos}
        assert session.scalars(select(LinkConstraint)).all() == []
        assert session.get_one(MatchReview, world.marie_review).status == "pending"
    with session_factory() as session:
        after = dump_world(session)
    for table, rows in before.items():
        drop = {"updated_at"}
        assert [{k: v for k, v in r.items() if k not in drop} for r in after[table]] == \
               [{k: v for k, v in r.items() if k not in drop} for r in rows], table


def test_an_undo_blocked_by_a_later_merge_is_refused_and_changes_nothing(session_factory, world):
    with session_factory.begin() as session:
        done = answer(session, world.marie_review, ReviewAnswer.SAME, employee_id=world.ada, actor="U0ADA",
                      via="test")
        merge_customers(session, survivor_id=done.customer_id, absorbed_id=world.sophie_web, actor="cli",
                        reason=MergeReason.MANUAL)
    state = identity_state(session_factory)
    with session_factory.begin() as session, pytest.raises(Refused) as refused:
        undo(session, done.decision_id, employee_id=world.ada, actor="U0ADA", via="test", steward=True)
    assert refused.value.key == "review.cannot_undo"
    assert identity_state(session_factory) == state


def test_an_undo_of_a_merge_already_undone_from_the_command_line_changes_nothing(session_factory, world):
    with session_factory.begin() as session:
        done = answer(session, world.marie_review, ReviewAnswer.SAME, employee_id=world.ada, actor="U0ADA",
                      via="test")
        unmerge(session, merge_event_id=done.merge_event_id, actor="cli")
    state = identity_state(session_factory)
    with session_factory.begin() as session, pytest.raises(Refused) as refused:
        undo(session, done.decision_id, employee_id=world.ada, actor="U0ADA", via="test", steward=True)
    assert refused.value.key == "review.merge_undone"
    assert identity_state(session_factory) == state


def test_a_review_whose_records_came_together_meanwhile_is_gone(session_factory, world):
    with session_factory.begin() as session:
        merge_customers(session, survivor_id=world.marie_web, absorbed_id=world.marie_pos, actor="cli",
                        reason=MergeReason.MANUAL)
    state = identity_state(session_factory)
    with session_factory.begin() as session, pytest.raises(Refused) as refused:
        answer(session, world.marie_review, ReviewAnswer.APART, employee_id=world.ada, actor="U0ADA", via="test")
    assert refused.value.key == "review.gone"
    assert identity_state(session_factory) == state


def test_answers_check_the_review_the_card_and_who_undoes(session_factory, world):
    with session_factory.begin() as session:
        with pytest.raises(Refused) as refused:  # a real review shown on a card it does not belong to
            answer(session, world.marie_review, ReviewAnswer.APART, employee_id=world.lea, actor="U0LEA",
                   via="test", customer_id=world.sophie_web)
        assert refused.value.key == "review.gone"
        done = answer(session, world.marie_review, ReviewAnswer.APART, employee_id=world.lea, actor="U0LEA",
                      via="test", customer_id=world.marie_pos)
        with pytest.raises(Refused) as refused:
            skip(session, world.marie_review, employee_id=world.hugo, actor="U0HUGO", via="test")
        assert refused.value.key == "review.already_decided_by" and refused.value.params == {"who": "Léa Martin"}
        with pytest.raises(Refused) as refused:
            undo(session, done.decision_id, employee_id=world.hugo, actor="U0HUGO", via="test", steward=False)
        assert refused.value.key == "review.undo_not_yours"
        for bad in (0, -3, 999_999, 2**40):
            with pytest.raises(Refused):
                undo(session, bad, employee_id=world.ada, actor="U0ADA", via="test", steward=True)
            with pytest.raises(Refused):
                answer(session, bad, ReviewAnswer.SAME, employee_id=world.ada, actor="U0ADA", via="test")
        undo(session, done.decision_id, employee_id=world.lea, actor="U0LEA", via="test", steward=False)


def test_a_card_shows_the_other_side_of_its_pending_reviews_only(session_factory, world):
    with session_factory.begin() as session:
        [duplicate] = possible_duplicates(session, world.marie_pos)
        assert (duplicate.review_id, duplicate.other.source, duplicate.other.source_id) == (
            world.marie_review, "web", "W1")
        assert possible_duplicates(session, world.marie_pos, exclude=world.marie_review) == []
        assert possible_duplicates(session, world.marie_web)[0].other.source_id == "P1"
        answer(session, world.marie_review, ReviewAnswer.APART, employee_id=world.ada, actor="U0ADA", via="test")
        assert possible_duplicates(session, world.marie_pos) == []


# --- frontline review list --csv --------------------------------------------------------------------------


def test_review_list_csv_prints_one_row_per_pending_review(frontline, session_factory, world):
    code, out, err = frontline("review", "list", "--csv")
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["review_id", "score", "source_a", "source_id_a", "source_b", "source_id_b"]
    assert [(int(r[0]), r[2], r[3], r[4], r[5]) for r in rows[1:]] == [
        (world.queue[0], *(("web", "W1", "pos", "P1") if world.queue[0] == world.marie_review
                           else ("web", "W2", "pos", "P2"))),
        (world.queue[1], *(("web", "W2", "pos", "P2") if world.queue[0] == world.marie_review
                           else ("web", "W1", "pos", "P1")))]
    assert all(0.0 <= float(r[1]) <= 1.0 for r in rows[1:])
    code, out, _ = frontline("review", "list", "--csv", "--limit", "1")
    assert len(out.splitlines()) == 2


def test_review_list_csv_with_nothing_pending_is_the_header_alone(frontline):
    code, out, _ = frontline("review", "list", "--csv")
    assert code == 0 and out == "review_id,score,source_a,source_id_a,source_b,source_id_b\n"


def test_stewards_commands(frontline, world):
    assert frontline("review", "stewards", "add", "U0LEA")[1] == "U0LEA is now a data steward.\n"
    code, out, _ = frontline("review", "stewards", "list")
    assert "U0LEA  Léa Martin" in out and "U0SAM  Sam Steward" in out
    assert frontline("review", "stewards", "remove", "U0LEA")[1] == "U0LEA is no longer a data steward.\n"
    code, _, err = frontline("review", "stewards", "add", "U0NOBODY")
    assert code == 1 and "not a registered employee" in err


def test_review_list_csv_into_a_closed_pipe_ends_quietly(db_url, world, tmp_path):
    """`frontline review list --csv | head -1` with the reader gone: no traceback, the shell's status 141."""
    frontline_bin = Path(sys.executable).parent / "frontline"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([str(frontline_bin), "review", "list", "--csv"], env={**os.environ, "DATABASE_URL": db_url},
                              cwd=tmp_path, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr == "" and done.returncode == 141
