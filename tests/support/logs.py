"""The production log set-up (JSON lines, the PII masker) at DEBUG, captured for a test to read."""
from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

from bot.logs import configure_logging


@contextlib.contextmanager
def production_logs() -> Iterator[io.StringIO]:
    """The production log setup (JSON lines, the PII masker) at DEBUG, written to a buffer."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
