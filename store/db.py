"""Engine, sessions and schema checks.

SQLite is the embedded default and is tuned for several processes at once (WAL, busy timeout,
foreign keys on); PostgreSQL is the production database.
"""
from __future__ import annotations

import contextlib
import functools
import select
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, CursorResult, Engine, Executable, Table, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from store import kpi_rollup
from store.models import Base
from store.write_turn import SqliteWriteTurn, write_turn

from store import dialect

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaOutdated(Exception):
    """The database schema is missing or older than this code."""


# The long wait suits batch work (imports, CLI) queueing behind another writer. The bot's request
# path passes a short one so a locked database answers within Slack's 3-second window.
DEFAULT_BUSY_TIMEOUT_MS = 15_000
REQUEST_BUSY_TIMEOUT_MS = 2_000


def make_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    # Database errors quote their SQL parameters (names, emails, notes) and get logged with tracebacks.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {})
        kwargs["connect_args"].setdefault("timeout", busy_timeout_ms / 1000)
        kwargs["connect_args"].setdefault("check_same_thread", False)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", functools.partial(_tune_sqlite, busy_timeout_ms=busy_timeout_ms))
        event.listen(engine, "begin", _begin_sqlite)
        _SQLITE_BUSY_TIMEOUTS[engine] = busy_timeout_ms / 1000
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _tune_postgresql)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _replace_if_closed_by_server)
    if kwargs.get("isolation_level") != "AUTOCOMMIT":
        _AUTOCOMMIT_RECIPES[engine] = functools.partial(
            make_engine, url, busy_timeout_ms=busy_timeout_ms, **{**kwargs, "isolation_level": "AUTOCOMMIT",
                                                                  "pool_use_lifo": True})
    return engine


# The busy timeout of each SQLite engine made above, in seconds: also how long its writers wait for their turn.
_SQLITE_BUSY_TIMEOUTS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()
# How to make the autocommit engine of each PostgreSQL engine made above (`autocommit_engine`), and the ones made.
_AUTOCOMMIT_RECIPES: weakref.WeakKeyDictionary[Engine, Callable[[], Engine]] = weakref.WeakKeyDictionary()
_AUTOCOMMIT_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_AUTOCOMMIT_LOCK = threading.Lock()


def autocommit_engine(engine: Engine) -> Engine:
    """The engine of `engine`'s database whose every statement is its own transaction (PostgreSQL), with a pool
    of its own.

    Its own pool, not `engine` with an autocommit execution option, because of psycopg's prepared statements:
    psycopg prepares a statement on the server once a connection has run it 5 times, and forgets all of them
    (DEALLOCATE ALL) on every ROLLBACK. A connection shared with ordinary sessions rolls back whenever one of
    them closes (an inbox worker's poll, twice a second, is enough), so the lookup's statements were planned
    anew on nearly every execution (bench/README.md, branch lookuppg).
    A connection of this pool is never in a transaction: rollbacks are no-ops, and what it prepared stays
    prepared. LIFO, so that the same few connections serve a steady flow and keep their statements warm;
    disposed with `engine`. An engine not made by `make_engine` gets the shared-pool form."""
    sibling = _AUTOCOMMIT_ENGINES.get(engine)
    if sibling is not None:
        return sibling
    with _AUTOCOMMIT_LOCK:  # a new process's first lookups ask at once from several threads: one pool, not several
        sibling = _AUTOCOMMIT_ENGINES.get(engine)
        if sibling is not None:
            return sibling
        recipe = _AUTOCOMMIT_RECIPES.get(engine)
        if recipe is None:
            sibling = engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            sibling = recipe()
            disposed = weakref.ref(sibling)
            event.listen(engine, "engine_disposed", lambda _engine: _dispose_if_alive(disposed))
        _AUTOCOMMIT_ENGINES[engine] = sibling
        return sibling


def _dispose_if_alive(sibling: weakref.ref[Engine]) -> None:
    engine = sibling()
    if engine is not None:
        engine.dispose()


def _tune_postgresql(dbapi_connection: Any, _record: object) -> None:
    # No JIT compilation: PostgreSQL compiles a plan once its estimated cost passes jit_above_cost, which
    # the company-wide rollup sums (a month of 5,000 employees' days) do, and compiles it again in every
    # parallel worker, for one execution: the compile time is a large part of such a report and never pays
    # back on queries this short (bench/README, "KPIs at 10M"). Once per pooled connection.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET jit = off")
    finally:
        cursor.close()
    dbapi_connection.commit()


def _replace_if_closed_by_server(dbapi_connection: Any, _record: object, _proxy: object) -> None:
    # Instead of SQLAlchemy's pre-ping (a round trip per checkout, three per Slack lookup): a server that
    # ended the connection (restart, failover, pg_terminate_backend) has sent its goodbye and closed the
    # socket, so an idle pooled connection whose socket has something to read is suspect. Only then is it
    # pinged; DisconnectionError makes the pool replace it with a fresh one. Something else waiting on the
    # socket (a notice, TLS bookkeeping) passes the ping and the connection is kept. A server that vanished
    # without closing the socket is found by the next statement, whose error reaches the caller's
    # "database unavailable" path and makes the pool drop its connections.
    fileno = getattr(dbapi_connection, "fileno", None)
    try:
        if getattr(dbapi_connection, "closed", False):
            raise DisconnectionError("connection closed")
        if fileno is not None and not select.select([fileno()], [], [], 0)[0]:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()  # the ping's implicit transaction, not left open in the pool
    except DisconnectionError:
        raise
    except Exception as error:
        raise DisconnectionError(str(error)) from error


def _tune_sqlite(dbapi_connection: sqlite3.Connection, _record: object, *, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling sends BEGIN only before an INSERT/UPDATE/DELETE: a SAVEPOINT
    # issued first becomes the outermost transaction and its RELEASE commits behind the caller's back,
    # and reads run outside any transaction. Turn it off; `_begin_sqlite` sends BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while one writer writes; the busy timeout makes writers queue
    # instead of failing at once when another process holds the lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # Write transactions (session_factory.begin()) take the write lock up front with BEGIN IMMEDIATE:
    # a deferred transaction that read first and writes later fails at once (SQLITE_BUSY_SNAPSHOT,
    # no busy wait) if another connection committed in between. Read sessions stay deferred.
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


SQLITE_BEGIN_OPTION = "frontline_sqlite_begin"


class SessionFactory(sessionmaker[Session]):
    """`factory()` opens a session for reading; `factory.begin()` a transaction meant to write.

    On SQLite the latter starts with BEGIN IMMEDIATE (see `_begin_sqlite`); elsewhere they are the same.
    """

    def begin(self) -> contextlib.AbstractContextManager[Session]:
        return self._write_session()

    def autocommit(self) -> Session:
        """On PostgreSQL, a session whose every statement is its own transaction (committed as it runs): no
        BEGIN and COMMIT/ROLLBACK round trips around them. For reads that need no common snapshot (each
        statement is consistent on its own) and single-statement writes. Its connections come from a pool of
        their own, where psycopg's prepared statements survive (`autocommit_engine`). On SQLite an ordinary
        session."""
        bind = self.kw.get("bind")
        if isinstance(bind, Engine) and not dialect.is_sqlite(bind):
            return self(bind=autocommit_engine(bind))
        return self()

    _immediate: tuple[Engine, Engine] | None = None

    def _writer(self, bind: Any) -> Any:
        """The bind of write transactions: on SQLite the engine with BEGIN IMMEDIATE, made once (an engine with
        options of its own costs its set-up on every write otherwise)."""
        if isinstance(bind, Engine) and dialect.is_sqlite(bind):
            if self._immediate is None or self._immediate[0] is not bind:
                self._immediate = (bind, bind.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}))
            return self._immediate[1]
        return bind

    def write_turn(self) -> SqliteWriteTurn | None:
        """The write turn of this factory's SQLite file (store.write_turn), which its write transactions take; None
        on PostgreSQL, where writers lock rows, not the database."""
        bind = self.kw.get("bind")
        if isinstance(bind, Engine) and dialect.is_sqlite(bind):
            return write_turn(bind.url.database)
        return None

    def _turn(self, bind: Any) -> contextlib.AbstractContextManager[None]:
        """On a SQLite file, the writer's turn around a write transaction (store.write_turn: it goes before the
        inbox workers' next step instead of polling SQLite's lock); elsewhere nothing."""
        turn = self.write_turn()
        if turn is None:
            return contextlib.nullcontext()
        return turn.writing(_SQLITE_BUSY_TIMEOUTS.get(bind, DEFAULT_BUSY_TIMEOUT_MS / 1000))

    @contextlib.contextmanager
    def _write_session(self) -> Iterator[Session]:
        bind = self.kw.get("bind")
        with self._turn(bind), self(bind=self._writer(bind)) as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in a write transaction (BEGIN IMMEDIATE on SQLite), committed on leaving: for a write
        of plain statements only (the audit row of a card shown), where a Session's set-up and unit of work cost
        several times the write itself."""
        bind = self.kw.get("bind")
        if not isinstance(bind, Engine):
            raise TypeError("write_connection needs a session factory bound to an engine")
        with self._turn(bind), self._writer(bind).begin() as connection:
            yield connection

    def read_connection(self) -> contextlib.AbstractContextManager[Connection]:
        """A Core connection on the bind of `autocommit()` (on PostgreSQL every statement its own transaction), for
        a read of plain statements where a Session's set-up and close cost more than the read itself (the access
        check, on every request). Leaving it returns the connection to the pool (a factory bound to a connection
        lends that connection, left open)."""
        bind = self.kw.get("bind")
        if isinstance(bind, Connection):
            return contextlib.nullcontext(bind)
        if not isinstance(bind, Engine):
            raise TypeError("read_connection needs a session factory bound to an engine or a connection")
        return (bind if dialect.is_sqlite(bind) else autocommit_engine(bind)).connect()


def make_session_factory(engine: Engine) -> SessionFactory:
    return SessionFactory(bind=engine, expire_on_commit=False)


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head", *, kpi_timezone: str | None = None,
            progress: kpi_rollup.Progress | None = None) -> bool:
    """Create or upgrade the schema to `revision`; with `kpi_timezone`, also build the daily KPI rollup
    for that zone unless it exists (store/kpi_rollup.py). True when the rollup was (re)built."""
    command.upgrade(_alembic_config(url), revision)
    if kpi_timezone is None:
        return False
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            return kpi_rollup.ensure(session, kpi_timezone, progress=progress)
    finally:
        engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    if head is None:  # only when the versions folder is missing from the install
        raise SchemaOutdated("No migrations are installed with this version of Frontline.")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_schema_current(engine: Engine) -> None:
    current = current_revision(engine)
    if current != head_revision():
        state = "has no Frontline schema" if current is None else f"is at schema {current}"
        raise SchemaOutdated(
            f"The database {state}, this version needs {head_revision()}: run `frontline migrate`."
        )


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def affected_rows(session: Session, statement: Executable) -> int:
    """Run an UPDATE/DELETE/INSERT without RETURNING and say how many rows it touched.

    `Session.execute` is typed to return a plain `Result` (the ORM cannot promise a cursor for every
    statement), but a DML statement without RETURNING always runs on a cursor: the cast says so once here.
    """
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def table_of(model: type[Base]) -> Table:
    """The Core table a model maps, for statements that work on plain rows (merges, bulk updates).

    Declarative types `__table__` as any FromClause (a class may map a join); every Frontline model
    maps one table, and this checks it instead of silencing the type.
    """
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} does not map a single table")
    return table
