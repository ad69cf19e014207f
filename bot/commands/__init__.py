"""Subcommands of `frontline`; each module exposes `add_commands(subparsers)`."""
from __future__ import annotations

import sys
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from store.db import SchemaOutdated, ensure_schema_current, make_engine, make_session_factory


def open_database(settings):
    """Engine and session factory for a command, or a one-line CommandError saying what to do."""
    from bot.cli import CommandError

    engine = make_engine(settings.database_url)
    try:
        ensure_schema_current(engine)
    except SchemaOutdated as error:
        engine.dispose()
        raise CommandError(str(error)) from None
    except SQLAlchemyError as error:
        engine.dispose()
        raise CommandError(f"cannot reach the database ({error.__class__.__name__})") from None
    return engine, make_session_factory(engine)


def progress_line(label: str) -> Callable[[str, int, int], None] | None:
    """A `progress(stage, done, total)` that redraws one stderr line, or None when stderr is not a
    terminal (a log file would fill with redraws)."""
    if not sys.stderr.isatty():
        return None

    def show(stage: str, done: int, total: int) -> None:
        sys.stderr.write(f"\r{label}: {stage} {done:,}/{total:,}\x1b[K")
        sys.stderr.flush()
    return show
