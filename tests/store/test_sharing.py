"""A share is recorded once per submission key, whoever and however many try at once."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select

from store.models import AuditEvent, Customer, Employee
from store.sharing import record_share, share_key

NOW = dt.datetime(2026, 3, 2, 15, 30)


def _world(session_factory) -> tuple[int, int]:
    with session_factory.begin() as session:
        lea = Employee(slack_user_id="U_LEA", name="Léa Martin", role="associate")
        jeanne = Customer(first_name="Jeanne", last_name="Dupont")
        session.add_all([lea, jeanne])
        session.flush()
        return lea.id, jeanne.id


def _share(session_factory, lea: int, jeanne: int, key: str) -> bool:
    with session_factory.begin() as session:
        return record_share(session, employee_id=lea, actor="U_LEA", customer_id=jeanne, channel="C0SHARE",
                            key=key, via="slack:share", now=NOW)


def _audited(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "share"))


def test_the_same_key_is_recorded_once_and_another_submission_again(session_factory):
    lea, jeanne = _world(session_factory)
    key = share_key(employee_id=lea, submission="V1", channel="C0SHARE", customer_id=jeanne)
    assert _share(session_factory, lea, jeanne, key) is True
    assert _share(session_factory, lea, jeanne, key) is False
    assert _audited(session_factory) == 1
    other = share_key(employee_id=lea, submission="V2", channel="C0SHARE", customer_id=jeanne)
    assert other != key and len(other) <= 64
    assert _share(session_factory, lea, jeanne, other) is True
    assert _audited(session_factory) == 2


def test_concurrent_claims_of_one_key_let_exactly_one_through(session_factory):
    lea, jeanne = _world(session_factory)
    key = share_key(employee_id=lea, submission="V-race", channel="C0SHARE", customer_id=jeanne)
    barrier, results, failures = threading.Barrier(4), [], []

    def claim():
        try:
            barrier.wait()
            results.append(_share(session_factory, lea, jeanne, key))
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(results) == [False, False, False, True]
    assert _audited(session_factory) == 1
