"""Can this process write to the database right now? `/healthz` asks, and gets an answer within a bound.

Reading can work while every write fails: another process holding SQLite's write lock, a PostgreSQL
table locked by a migration or a `LOCK TABLE`, a server that became read-only after a failover. The
probe takes the lock a write would take and rolls back at once: nothing is written, and it waits at
most `timeout_ms` for the lock instead of the request path's 2 s.
"""
from __future__ import annotations

import sqlite3

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from store import dialect
from store.write_turn import write_turn

# The tables every request writes: each profile view is audited, each log an interaction.
_WRITTEN_BY_REQUESTS = "audit_events, interactions"
_PG_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :timeout, true), "
                        "set_config('statement_timeout', :statement_timeout, true)")
_PG_TAKE_WRITE_LOCKS = text(f"LOCK TABLE {_WRITTEN_BY_REQUESTS} IN ROW EXCLUSIVE MODE")


def write_problem(engine: Engine, *, timeout_ms: int = 250) -> str | None:
    """None when a write could start now; otherwise a short reason without any data ("locked"...)."""
    try:
        if dialect.is_sqlite(engine):
            _probe_sqlite(engine, timeout_ms)
        else:
            _probe_postgresql(engine, timeout_ms)
    except DBAPIError as error:
        return _reason(error)
    except Exception as error:
        return type(error).__name__
    return None


def _probe_sqlite(engine: Engine, timeout_ms: int) -> None:
    # In the write turn, as every write (store.write_turn): inbox workers stepping back to back leave SQLite's
    # lock free for microseconds only between two steps, which the busy handler's sleeps would mostly miss
    # ("locked" while ingesting); announced, the probe goes once the step under way commits.
    with write_turn(engine.url.database).writing(timeout_ms / 1000), engine.connect() as connection:
        raw = connection.connection.driver_connection  # autocommit (store.db turns pysqlite's BEGIN off)
        if not isinstance(raw, sqlite3.Connection):  # SQLAlchemy types it Any | None; pysqlite's is this
            raise TypeError(f"unexpected SQLite driver connection {type(raw).__name__}")
        previous = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        try:
            raw.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, as every write transaction takes it
            raw.execute("ROLLBACK")
        except Exception as error:
            raise DBAPIError("BEGIN IMMEDIATE", None, error) from error
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(previous)}")


def _probe_postgresql(engine: Engine, timeout_ms: int) -> None:
    with engine.connect() as connection, connection.begin() as transaction:
        connection.execute(_PG_LOCK_TIMEOUT, {"timeout": f"{int(timeout_ms)}ms",
                                              "statement_timeout": f"{int(timeout_ms) * 4}ms"})
        connection.execute(_PG_TAKE_WRITE_LOCKS)  # what INSERT/UPDATE take; refused when read-only
        transaction.rollback()


def _reason(error: DBAPIError) -> str:
    message = str(error.orig or error).lower()
    if "locked" in message or "lock timeout" in message or "busy" in message:
        return "locked"
    if "read-only" in message or "read only" in message or "recovery" in message:
        return "read-only"
    if "statement timeout" in message or "canceling statement" in message:
        return "timeout"
    return "failing"
