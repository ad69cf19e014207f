"""Every difference between SQLite and PostgreSQL that store code needs, in one place.

The rest of store/ writes portable SQLAlchemy and asks this module when the two databases must be
spoken to differently: which INSERT can say ON CONFLICT, how to pass thousands of ids as one bound
parameter, how to reserve ids ahead of a bulk insert, how to stream a bulk insert (COPY on PostgreSQL),
how to lift a SQLite trigger for a bulk write.
Only SQLite and PostgreSQL are supported (store/db.py).

Migrations keep frozen copies of what they need: a migration must not change when this module does.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import sql as pg_sql
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    String,
    any_,
    bindparam,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Alias, FromClause, TableClause

Bind = Session | Connection | Engine
# What a store function that only runs statements (Core selects, a statement's own writes) takes: a session, or a
# Core connection where a Session's set-up and unit of work would cost more than the statements (the lookup).
Reader = Session | Connection


def url_of(bind: Reader) -> str:
    """The database's URL (a key of per-database caches)."""
    return str((bind.engine if isinstance(bind, Connection) else bind.get_bind().engine).url)


def name(bind: Bind) -> str:
    """"sqlite" or "postgresql"."""
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def is_postgresql(bind: Bind) -> bool:
    return name(bind) == "postgresql"


def is_sqlite(bind: Bind) -> bool:
    return name(bind) == "sqlite"


def try_lock_keys(session: Session, space: int, keys: Sequence[str]) -> set[str]:
    """Of `keys`, those this transaction now holds a lock on (PostgreSQL: transaction-level advisory locks
    on (space, hashtext(key)), taken without waiting, released at commit, rollback or when the connection
    dies; a key another transaction holds is left out). SQLite: all of them, its one write lock already
    excludes every other writer. Two keys of one hash share a lock: at worst one waits a turn needlessly."""
    if not keys:
        return set()
    if not is_postgresql(session):
        return set(keys)
    return set(session.scalars(_TRY_LOCK_KEYS, {"space": space, "keys": list(keys)}))


_TRY_LOCK_KEYS = text("SELECT k FROM unnest(CAST(:keys AS text[])) AS k "
                      "WHERE pg_try_advisory_xact_lock(:space, hashtext(k))")


def limit_lock_waits(session: Session, milliseconds: int) -> None:
    """PostgreSQL: for the rest of this transaction, a statement that waits longer than this for a lock fails
    (`is_lock_conflict`) instead of waiting on. SQLite: nothing (its busy timeout governs the one write lock)."""
    if is_postgresql(session):
        session.execute(_LOCK_TIMEOUT, {"milliseconds": f"{int(milliseconds)}ms"})


_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :milliseconds, true)")  # true: this transaction only


# lock_not_available (lock_timeout, NOWAIT), deadlock_detected
_LOCK_CONFLICTS = frozenset({"55P03", "40P01"})


def is_lock_conflict(error: BaseException) -> bool:
    """Whether a database error says another transaction held a lock this one needed (PostgreSQL: a lock wait
    over `limit_lock_waits`'s limit, or a deadlock)."""
    return getattr(getattr(error, "orig", error), "sqlstate", None) in _LOCK_CONFLICTS


def insert_for(bind: Bind, table: FromClause) -> sqlite.Insert | postgresql.Insert:
    """An INSERT into `table` (a model's `__table__`) that can take `.on_conflict_do_update()` /
    `.on_conflict_do_nothing()` (an upsert, an insert-or-ignore): both databases spell it the same, from
    their own dialect's insert."""
    if not isinstance(table, TableClause):
        raise TypeError(f"not a table: {table!r}")
    return postgresql.insert(table) if is_postgresql(bind) else sqlite.insert(table)


def id_among(bind: Bind, column: InstrumentedAttribute[int], ids: Sequence[int]) -> ColumnElement[bool]:
    """`column` is one of `ids`, as a single bound parameter (an array on PostgreSQL, a JSON list on
    SQLite). As an IN list of thousands of parameters, rendering and sending the statement would cost
    more than the lookup itself."""
    if is_postgresql(bind):
        return column == any_(literal(list(ids), ARRAY(Integer)))
    values = func.json_each(literal(json.dumps(list(ids)))).table_valued("value")
    return column.in_(select(values.c.value))


def ids_parameter(postgresql: bool, column: ColumnElement[int], name: str = "ids") -> ColumnElement[bool]:
    """`id_among` for a statement built once: the ids come at execution, in parameter `name`, as
    `ids_value` makes it (an array on PostgreSQL, a JSON list on SQLite)."""
    if postgresql:
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    values = func.json_each(bindparam(name, type_=String)).table_valued("value")
    return column.in_(select(values.c.value))


def ids_value(postgresql: bool, ids: Sequence[int]) -> object:
    return list(ids) if postgresql else json.dumps(list(ids))


def strings_parameter(postgresql: bool, column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """`column` is one of the strings given at execution in parameter `name` (a list): one array parameter on
    PostgreSQL (the same statement text however many strings, nothing to render per execution), an IN list on
    SQLite."""
    if postgresql:
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


def reserve_ids(connection: Connection, table: str, count: int) -> list[int]:
    """PostgreSQL: `count` fresh ids from the table's serial sequence, ascending, so a bulk insert can
    carry its ids (and its children can point at them) in one executemany."""
    return sorted(connection.execute(  # one array, not a row per id
        text("SELECT array_agg(nextval(pg_get_serial_sequence(:table, 'id'))) FROM generate_series(1, :n)"),
        {"table": table, "n": count}).scalar_one() or [])


def insert_rows(connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows (tuples of `columns`' values, as the driver takes them: bind-processed) as one bulk write.

    PostgreSQL: COPY FROM STDIN, one stream of rows: no statement to render, send, parse and plan per batch
    of rows (an executemany of INSERTs is a thousand-row VALUES statement at a time). Triggers fire as for
    an INSERT (statement-level ones once). SQLite: the driver's executemany (in-process, nothing to stream).
    Table and column names are written in code, never input."""
    if is_postgresql(connection):
        statement = pg_sql.SQL("COPY {} ({}) FROM STDIN").format(
            pg_sql.Identifier(table), pg_sql.SQL(", ").join(map(pg_sql.Identifier, columns)))
        driver: Any = connection.connection.driver_connection  # psycopg's connection, in this transaction
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    connection.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                               list(rows))


@contextmanager
def sqlite_trigger_off(connection: Connection, trigger: str) -> Iterator[bool]:
    """SQLite: drop the trigger for the duration of the block, then create it again; yields whether it
    existed. SQLite DDL is transactional: other connections never see the table without its trigger,
    and a failure rolls both back. The name must be a trigger name written in code, never input."""
    sql = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (trigger,)).scalar()
    if sql is None:
        yield False
        return
    connection.exec_driver_sql(f"DROP TRIGGER {trigger}")
    try:
        yield True
    finally:
        connection.exec_driver_sql(sql)


class _IndexedAlias(Alias):
    """An alias that SQLite reads through a named index (`INDEXED BY`); other databases ignore it.
    SQLAlchemy's `with_hint` renders nothing on SQLite, hence this element."""

    inherit_cache = True
    index_name = ""


@compiles(_IndexedAlias)
def _alias(element: _IndexedAlias, compiler: SQLCompiler, **kw: Any) -> str:
    return str(Alias._compiler_dispatch(element, compiler, **kw))


@compiles(_IndexedAlias, "sqlite")
def _alias_indexed_by(element: _IndexedAlias, compiler: SQLCompiler, **kw: Any) -> str:
    sql = str(Alias._compiler_dispatch(element, compiler, **kw))
    return f"{sql} INDEXED BY {element.index_name}" if kw.get("asfrom") else sql


@functools.cache
def _indexed_alias_class(index: str) -> type[_IndexedAlias]:
    # One class per index: the class is part of SQLAlchemy's statement cache key, the instance is not.
    return type(f"_IndexedBy_{index}", (_IndexedAlias,), {"index_name": index, "inherit_cache": True})


def sqlite_indexed_by(table: FromClause, alias: str, index: str) -> Alias:
    """`table AS alias`, read on SQLite through `index` (where its planner would pick another one)."""
    return _indexed_alias_class(index)._construct(table, name=alias)
