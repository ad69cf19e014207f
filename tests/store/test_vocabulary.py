"""The typed vocabulary keeps the stored words: rows written before the enums existed still read as
their member, and a member is written as its plain word (never "Role.MANAGER"), on both databases."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from store import audit
from store.followups import complete, open_follow_ups
from store.models import Customer, Employee, FollowUp
from store.permissions import acts_for, is_admin
from store.vocabulary import (
    AuditAction,
    ConsentChannel,
    CustomerStatus,
    DigestKind,
    DigestStatus,
    FollowUpStatus,
    IdentifierKind,
    InteractionChannel,
    InteractionType,
    LinkKind,
    MergeReason,
    Outcome,
    PreferenceCategory,
    ReviewStatus,
    Role,
)

NOW = dt.datetime(2026, 3, 2, 9, 0)


def test_the_words_are_those_already_stored():
    # Renaming a value would orphan every row holding the old word: these sets are the data's, not the code's.
    assert [r.value for r in Role] == ["associate", "manager", "admin"]
    assert {s.value for s in CustomerStatus} == {"active", "merged", "erased"}
    assert {s.value for s in FollowUpStatus} == {"open", "done", "cancelled"}
    assert {c.value for c in InteractionChannel} == {"store", "phone", "email", "chat", "video"}
    assert {t.value for t in InteractionType} == {"visit", "call", "complaint", "advice", "return", "purchase", "other"}
    assert {o.value for o in Outcome} == {"resolved", "follow_up", "escalated", "no_answer", "info"}
    assert {c.value for c in PreferenceCategory} == {"size", "brand", "taste", "contact", "channel", "language",
                                                     "other"}
    assert {k.value for k in IdentifierKind} == {"email", "phone", "loyalty"}
    assert {s.value for s in ReviewStatus} == {"pending", "accepted", "rejected", "superseded"}
    assert {k.value for k in LinkKind} == {"cannot_link", "must_link"}
    assert {r.value for r in MergeReason} == {"auto", "review", "manual"}
    assert {k.value for k in DigestKind} == {"employee", "team"}
    assert {s.value for s in DigestStatus} == {"claimed", "sent", "empty", "failed"}
    assert ConsentChannel.ANY == "any"
    assert {a.value for a in AuditAction} >= {"view", "reveal", "change", "share", "export", "erase", "merge",
                                               "unmerge", "register", "deactivate", "reactivate", "role"}


def test_a_member_is_written_as_its_plain_word(session_factory):
    with session_factory.begin() as session:
        session.add(Employee(slack_user_id="U_MGR", name="Marc", role=Role.MANAGER))
        audit.record(session, employee_id=None, actor="test", action=AuditAction.REVEAL, customer_id=None,
                     via="test", detail={"status": FollowUpStatus.DONE}, at=NOW)
    with session_factory() as session:
        role = session.execute(text("SELECT role FROM employees WHERE slack_user_id = 'U_MGR'")).scalar_one()
        action = session.execute(text("SELECT action FROM audit_events")).scalar_one()
        assert (role, action) == ("manager", "reveal")
        assert type(role) is str


def test_rows_holding_plain_words_work_with_the_members(session_factory):
    # Written with plain SQL, as every row from before the enums was.
    with session_factory.begin() as session:
        session.execute(text(
            "INSERT INTO employees (slack_user_id, name, role, active, digest_paused, digest_weekdays, created_at,"
            " updated_at) VALUES ('U_ADM', 'Alice', 'admin', :yes, :no, '0,1,2,3,4', :now, :now),"
            " ('U_ASC', 'Paul', 'associate', :yes, :no, '0,1,2,3,4', :now, :now)"), {"yes": True, "no": False, "now": NOW})
        session.execute(text(
            "INSERT INTO customers (status, provenance, created_at, updated_at)"
            " VALUES ('active', '{}', :now, :now)"), {"now": NOW})
    with session_factory.begin() as session:
        admin = session.scalars(select(Employee).where(Employee.role == Role.ADMIN)).one()
        associate = session.scalars(select(Employee).where(Employee.slack_user_id == "U_ASC")).one()
        customer = session.scalars(select(Customer).where(Customer.status == CustomerStatus.ACTIVE)).one()
        assert is_admin(admin) and acts_for(admin, associate) and not acts_for(associate, admin)
        session.add(FollowUp(customer_id=customer.id, assignee_id=associate.id, due_date=NOW.date(),
                             status="open", created_at=NOW))
    with session_factory.begin() as session:
        associate = session.scalars(select(Employee).where(Employee.slack_user_id == "U_ASC")).one()
        associate_id = associate.id
        [open_one] = open_follow_ups(session, associate_id, today=NOW.date())
        complete(session, open_one.id, employee=associate, now=NOW)
    with session_factory() as session:
        assert session.execute(text("SELECT status FROM follow_ups")).scalar_one() == "done"
        assert open_follow_ups(session, associate_id, today=NOW.date()) == []
