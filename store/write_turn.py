"""Whose turn it is to write a SQLite file, across threads and processes: a Slack request's short write goes
before the inbox workers' next step, and writes as soon as the current one commits.

SQLite has one write lock, and its busy handler does not queue the connections waiting for it: each sleeps
and tries again, up to 100 ms apart. Inbox workers that take the lock again a few milliseconds after each
commit can leave a card's audit write sleeping through every gap until its busy timeout ("not reachable"),
and a write that does get in waits, on average, half its last sleep longer than it had to. Two lock files
beside the database set the order instead:

- `<database>-write.lock`, the turn (an exclusive flock): every write transaction of a SessionFactory holds it
  around the transaction. A writer waiting for it tries every millisecond, so it goes as soon as the holder
  is done; SQLite's own lock is then free and its busy handler never sleeps.
- `<database>-writers.lock` (a shared flock): the writers that are not inbox workers (Slack requests, the
  tracking API's inbox INSERT, jobs) hold it while they wait for the turn and while they write. An inbox
  worker takes the turn for its next step only when nobody holds this one (`applying`): between two steps,
  every waiting writer goes first. A worker never waits long for the lock either: one step at most.

A flock is released by the kernel when its holder's file is closed or its process dies (kill -9 included),
and each turn opens its own file, so that threads of one process exclude each other as processes do.
Processes that write without a SessionFactory (none in Frontline) still wait in SQLite's busy handler.
A database in memory is one process's: a thread lock orders its workers, and its writers take no turn.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import IO

log = logging.getLogger(__name__)

POLL_SECONDS = 0.001  # how often a waiting writer tries the turn, and a yielding worker looks for writers


class SqliteWriteTurn:
    """The turn of one SQLite file (see the module docstring). One instance per file and process
    (`write_turn`): a thread that holds the turn (an inbox worker's step) opens its write transactions
    without taking it again."""

    def __init__(self, database: str | None) -> None:
        self.turn_path = f"{database}-write.lock" if database else None
        self.writers_path = f"{database}-writers.lock" if database else None
        self._memory = threading.Lock()  # the turn of a database in memory: its one process's threads
        self._held = threading.local()
        self._warned = False

    def holds(self) -> bool:
        """Whether this thread holds the turn (re-entrant: its own write transactions go on)."""
        return bool(getattr(self._held, "depth", 0))

    @contextlib.contextmanager
    def writing(self, timeout: float) -> Iterator[None]:
        """A writer's turn (not an inbox worker's): announced at once, so that no worker starts another step,
        then taken as soon as the current holder is done. After `timeout` (the busy timeout) without it, the
        write goes on to SQLite's own lock and busy timeout, as it would without turns."""
        if self.holds() or self.turn_path is None or self.writers_path is None:
            with self._entered():
                yield
            return
        with contextlib.ExitStack() as files:
            # Opened in this order, closed in the other: the announcement ends before the turn, so that a worker
            # waiting for the turn finds no writer left when it gets it.
            turn = self._open(self.turn_path, files)
            announced = self._open(self.writers_path, files)
            if announced is not None:
                fcntl.flock(announced, fcntl.LOCK_SH)  # blocks only while a worker looks (microseconds)
            if turn is not None:
                deadline = time.monotonic() + timeout
                while not _try_lock(turn, fcntl.LOCK_EX) and time.monotonic() < deadline:
                    time.sleep(POLL_SECONDS)
            with self._entered():
                yield

    @contextlib.contextmanager
    def applying(self, max_yield: float) -> Iterator[None]:
        """An inbox worker's turn for one step: taken once no writer is waiting (they go first, for at most
        `max_yield` seconds: a stream of writers does not stop ingestion), then held until the step commits.
        A thread that holds the turn already (a writer's transaction calling a worker's step) goes on."""
        if self.holds():
            with self._entered():
                yield
            return
        if self.turn_path is None or self.writers_path is None:
            with self._memory, self._entered():
                yield
            return
        with contextlib.ExitStack() as files:
            writers = self._open(self.writers_path, files)
            turn = self._open(self.turn_path, files)
            deadline = time.monotonic() + max_yield
            while True:
                while writers is not None and self._writers_waiting(writers) and time.monotonic() < deadline:
                    time.sleep(POLL_SECONDS)
                if turn is not None:
                    fcntl.flock(turn, fcntl.LOCK_EX)  # a writer's turn or a worker's step: short either way
                # A writer that came while this one waited for the turn goes first too.
                if turn is None or writers is None or not self._writers_waiting(writers) or time.monotonic() >= deadline:
                    break
                fcntl.flock(turn, fcntl.LOCK_UN)
            with self._entered():
                yield

    def writers_waiting(self) -> bool:
        """Whether a writer other than an inbox worker waits for the turn or holds it now."""
        if self.writers_path is None:
            return False
        with contextlib.ExitStack() as files:
            writers = self._open(self.writers_path, files)
            return writers is not None and self._writers_waiting(writers)

    @staticmethod
    def _writers_waiting(writers: IO[bytes]) -> bool:
        if _try_lock(writers, fcntl.LOCK_EX):  # nobody holds it shared: no writer announced
            fcntl.flock(writers, fcntl.LOCK_UN)
            return False
        return True

    @contextlib.contextmanager
    def _entered(self) -> Iterator[None]:
        self._held.depth = getattr(self._held, "depth", 0) + 1
        try:
            yield
        finally:
            self._held.depth -= 1

    def _open(self, path: str, files: contextlib.ExitStack) -> IO[bytes] | None:
        """The lock file, closed (and so unlocked) when `files` closes; None where it cannot be created (a
        read-only folder): writers then wait in SQLite's busy handler, as without turns."""
        try:
            return files.enter_context(open(path, "a+b"))  # closed by the ExitStack
        except OSError as error:
            if not self._warned:
                self._warned = True
                log.warning("no write turn file next to the database (%s): writers wait in SQLite's busy handler",
                            type(error).__name__)
            return None


def _try_lock(handle: IO[bytes], mode: int) -> bool:
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


_TURNS: dict[str | None, SqliteWriteTurn] = {}
_TURNS_LOCK = threading.Lock()


def write_turn(database: str | None) -> SqliteWriteTurn:
    """The turn of this SQLite file in this process (one per file, whichever engine opens it: a thread holding
    it must be known as its holder by every session factory of the file). `database`: the URL's path; None or
    ":memory:" for a database in memory."""
    key = None if not database or database == ":memory:" else os.path.abspath(database)
    with _TURNS_LOCK:
        turn = _TURNS.get(key)
        if turn is None:
            turn = _TURNS[key] = SqliteWriteTurn(key)
        return turn
