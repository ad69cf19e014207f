"""Subcommands of `frontline`; each module exposes `add_commands(subparsers)`."""
from __future__ import annotations

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
