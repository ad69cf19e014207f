"""A listener thread pool that can say when every listener started so far has finished.

Production gives bolt a plain ThreadPoolExecutor. The console and the tests pass this one to
`build_app(listener_executor=...)` and wait on it instead of sleeping: after the ack the listener is
still running; `wait_idle()` returns once it (and anything it queued) is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_bolt import App


class TrackingExecutor(ThreadPoolExecutor):
    def __init__(self, max_workers: int = 16) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="listener")
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any] | None) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)


def wait_for_listeners(app: App, timeout: float = 10.0) -> bool:
    """True once every listener this app started has finished; an app built without a TrackingExecutor
    cannot tell, and is taken as idle."""
    executor = app.listener_runner.listener_executor
    return executor.wait_idle(timeout) if isinstance(executor, TrackingExecutor) else True
