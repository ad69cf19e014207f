"""The memory of a conversation: one per employee and thread, short-lived, gone with the customer."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from store.conversations import IDLE, REFRESH, Draft, Memory, ThreadKey, forget_idle, recall, remember
from store.gdpr import erase_customer
from store.models import ConversationCandidate, ConversationThread, Customer, Employee

NOW = dt.datetime(2026, 11, 26, 9, 0)


def _people(session) -> tuple[int, int, int, int]:
    lea = Employee(slack_user_id="U0LEA", name="Léa Martin", role="associate")
    hugo = Employee(slack_user_id="U0HUGO", name="Hugo Bernard", role="associate")
    jean = Customer(first_name="Jean", last_name="Dupont", search_name="jean dupont")
    marie = Customer(first_name="Marie", last_name="Dupont", search_name="marie dupont")
    session.add_all([lea, hugo, jean, marie])
    session.flush()
    return lea.id, hugo.id, jean.id, marie.id


def test_a_thread_remembers_the_customer_candidates_and_draft_for_its_employee_only(session_factory):
    with session_factory.begin() as session:
        lea, hugo, jean, marie = _people(session)
        key = ThreadKey(lea, "D0LEA", "1700000000.000100")
        draft = Draft(customer_id=jean, channel="phone", type="call", note="wants the coat in 40")
        remember(session, key, Memory(customer_id=jean, candidates=(jean, marie), draft=draft), now=NOW)
    with session_factory() as session:
        remembered = recall(session, key, now=NOW + dt.timedelta(minutes=5))
        assert remembered == Memory(customer_id=jean, candidates=(jean, marie), draft=draft)
        assert remembered.last_used == NOW
        assert recall(session, ThreadKey(hugo, "D0LEA", "1700000000.000100"), now=NOW) == Memory()
        assert recall(session, ThreadKey(lea, "D0LEA", ""), now=NOW) == Memory()  # another thread of the DM


def test_remembering_again_replaces_the_candidates(session_factory):
    with session_factory.begin() as session:
        lea, _, jean, marie = _people(session)
        key = ThreadKey(lea, "D0LEA", "")
        remember(session, key, Memory(candidates=(jean, marie)), now=NOW)
        remember(session, key, Memory(customer_id=marie), now=NOW)
    with session_factory() as session:
        assert recall(session, key, now=NOW) == Memory(customer_id=marie)
        assert session.scalar(select(func.count()).select_from(ConversationCandidate)) == 0


def test_an_idle_thread_forgets_and_the_nightly_purge_removes_it(session_factory):
    with session_factory.begin() as session:
        lea, _, jean, _ = _people(session)
        key = ThreadKey(lea, "D0LEA", "")
        remember(session, key, Memory(customer_id=jean), now=NOW)
    with session_factory() as session:
        assert recall(session, key, now=NOW + IDLE).customer_id == jean
        assert recall(session, key, now=NOW + IDLE + dt.timedelta(seconds=1)) == Memory()
    with session_factory.begin() as session:
        assert forget_idle(session, now=NOW + IDLE - dt.timedelta(seconds=1)) == 0
        assert forget_idle(session, now=NOW + IDLE + dt.timedelta(seconds=1)) == 1
        assert session.scalar(select(func.count()).select_from(ConversationThread)) == 0


def test_erasing_a_customer_erases_every_thread_that_mentions_them(session_factory):
    with session_factory.begin() as session:
        lea, hugo, jean, marie = _people(session)
        remember(session, ThreadKey(lea, "D0LEA", ""), Memory(customer_id=jean), now=NOW)
        remember(session, ThreadKey(hugo, "D0HUGO", ""), Memory(candidates=(marie, jean)), now=NOW)
        remember(session, ThreadKey(hugo, "D0HUGO", "1.2"),
                 Memory(customer_id=marie, draft=Draft(customer_id=marie, channel=None, type=None, note="x")), now=NOW)
    with session_factory.begin() as session:
        erase_customer(session, jean, actor="dpo")
    with session_factory() as session:
        kept = session.execute(select(ConversationThread.employee_id, ConversationThread.thread_ts)).all()
        assert kept == [(hugo, "1.2")]
        assert session.scalar(select(func.count()).select_from(ConversationCandidate)) == 0


def test_a_thread_in_use_restarts_its_idle_clock_without_a_write_per_question():
    used = Memory(customer_id=7, last_used=NOW)
    assert Memory(customer_id=7) == used  # when it was used is not part of what is remembered
    assert not Memory(customer_id=7).worth_keeping(used, now=NOW + REFRESH - dt.timedelta(seconds=1))
    assert Memory(customer_id=7).worth_keeping(used, now=NOW + REFRESH)
    assert Memory(customer_id=8).worth_keeping(used, now=NOW)
    assert not Memory().worth_keeping(Memory(), now=NOW)  # nothing to remember, nothing written
