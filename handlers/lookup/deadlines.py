"""Deadlines for acks that wait for their answer: one daemon thread per process calls each registered
callback once its time has come. Registering never wakes the thread unless the new deadline is the
earliest, and nothing is cancelled: a callback whose work finished in time finds nothing left to do
(AckOrRespond._hold). A lookup answered in time costs a heap push, not a thread of its own (a
threading.Timer per request starts, wakes and joins a thread: measurable CPU at a hundred lookups a
second, bench/README.md).
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# Callbacks due within this much of each other run on one wake-up: up to this early, never late.
_BATCH_SECONDS = 0.05


class Deadlines:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Run `callback` (quick, never raising) on the deadline thread at time.monotonic() `when`."""
        with self._cond:
            if self._thread is None or not self._thread.is_alive():  # first use in this process (or after a fork)
                self._heap.clear()
                self._thread = threading.Thread(target=self._run, name="ack-deadlines", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (when, next(self._order), callback))
            if self._heap[0][2] is callback:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic() + _BATCH_SECONDS:
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                horizon = time.monotonic() + _BATCH_SECONDS
                due = []
                while self._heap and self._heap[0][0] <= horizon:
                    due.append(heapq.heappop(self._heap)[2])
            for callback in due:
                try:
                    callback()
                except Exception as error:  # the other deadlines must still be kept; never the message (PII)
                    log.error("a deadline callback failed: %s", type(error).__name__)


# The process's one deadline thread (started on first use, in each gunicorn worker after the fork).
DEADLINES = Deadlines()
