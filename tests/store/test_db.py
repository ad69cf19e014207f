"""Sessions in autocommit (`SessionFactory.autocommit`): each statement commits as it runs, and on PostgreSQL
their connections keep what psycopg prepared even while ordinary sessions of the same factory roll back."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from store.db import autocommit_engine, make_engine, make_session_factory
from store.models import AuditEvent, Employee
from store.vocabulary import AuditAction

# A statement of the lookup's kind: the same text every time, so psycopg prepares it after 5 runs.
_EMPLOYEE_BY_SLACK_ID = select(Employee.id).where(Employee.slack_user_id == "UNOBODY")


def _prepared_here(session) -> int:
    return session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))


def test_an_autocommit_write_is_committed_by_its_own_statement(session_factory):
    with session_factory.autocommit() as session:
        session.add(AuditEvent(actor="it.admin", action=AuditAction.VIEW, via="test", detail={}))
        session.flush()
        session.rollback()  # too late: on PostgreSQL the INSERT committed as it ran
    with session_factory() as session:
        written = session.scalar(select(func.count()).select_from(AuditEvent))
    assert written == (0 if session_factory.kw["bind"].dialect.name == "sqlite" else 1)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_prepared_statements_survive_ordinary_sessions_rolling_back(session_factory):
    for _ in range(6):
        with session_factory.autocommit() as session:
            session.execute(_EMPLOYEE_BY_SLACK_ID).all()
    with session_factory.autocommit() as session:
        prepared = _prepared_here(session)
    assert prepared >= 1
    for _ in range(3):  # a worker's poll: BEGIN, SELECT, ROLLBACK (psycopg deallocates all it prepared)
        with session_factory() as session:
            session.execute(_EMPLOYEE_BY_SLACK_ID).all()
    with session_factory.autocommit() as session:
        assert _prepared_here(session) == prepared
        session.execute(_EMPLOYEE_BY_SLACK_ID).all()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_disposing_the_engine_closes_the_autocommit_connections(db_url):
    engine = make_engine(db_url)
    session_factory = make_session_factory(engine)
    with session_factory.autocommit() as session:
        session.execute(_EMPLOYEE_BY_SLACK_ID).all()
    assert autocommit_engine(engine).pool.checkedin() == 1
    engine.dispose()
    assert autocommit_engine(engine).pool.checkedin() == 0
