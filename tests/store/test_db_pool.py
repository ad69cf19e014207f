"""Pooled PostgreSQL connections: checked after sitting idle, not on every checkout (store/db.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from store import db
from store.db import make_engine, make_session_factory

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url(_postgres_databases):
    """A pool of server connections: PostgreSQL only (SQLite has no server to lose)."""
    url = _postgres_databases.create(from_template=True)
    yield url
    _postgres_databases.drop(url)


def _backend_pid(session_factory) -> int:
    with session_factory() as session:
        return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _kill(url: str, pid: int) -> None:
    # Another engine: what a database restart or a firewall dropping an idle connection does.
    other = make_engine(url)
    with other.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    other.dispose()


def test_an_idle_connection_killed_by_the_server_is_replaced_before_use(postgres_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every returned connection counts as idle
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    session_factory = make_session_factory(engine)
    try:
        killed = _backend_pid(session_factory)
        _kill(postgres_url, killed)
        assert _backend_pid(session_factory) != killed  # a fresh connection answered, no error
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(postgres_url, monkeypatch):
    """The other side of the trade: within the idle window there is no check (no extra round trip per
    checkout), so a connection killed in between fails that one request, then the pool recovers."""
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    session_factory = make_session_factory(engine)
    try:
        killed = _backend_pid(session_factory)
        _kill(postgres_url, killed)
        with pytest.raises(OperationalError):
            _backend_pid(session_factory)
        assert _backend_pid(session_factory) != killed
    finally:
        engine.dispose()
