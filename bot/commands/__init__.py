"""Subcommands of `frontline`; each module exposes `add_commands(subparsers)`.

Shared here: the one-line user-facing error, opening the database, and the argparse types every
command uses for ids and counts (so that no command reaches the database, or a traceback, with an
id the database cannot hold).
"""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from store.db import SchemaOutdated, ensure_schema_current, make_engine, make_session_factory
from store.employees import AccessChanges, EmployeeChange

# Ids are INTEGER columns: 4 bytes on PostgreSQL (SQLite would take 8, but the product runs on both).
MAX_ID = 2**31 - 1


class CommandError(Exception):
    """A user-facing failure of a command: printed as one line, exit status 1."""


class WholeNumber:
    """argparse type: a whole number between `low` and `high`, or a one-line usage error (exit 2)."""

    def __init__(self, what: str, low: int, high: int) -> None:
        self.what, self.low, self.high = what, low, high
        self.__name__ = what  # argparse names the type by it in its messages

    def __call__(self, text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:  # not digits, or thousands of them (int refuses past 4,300)
            value = None
        if value is None or not self.low <= value <= self.high:
            shown = text if len(text) <= 24 else text[:21] + "..."
            raise argparse.ArgumentTypeError(
                f"{shown!r} is not a valid {self.what} (a whole number from {self.low:,} to {self.high:,})"
            )
        return value


def cli_actor() -> str:
    """Who ran the command, for the audit trail: the operating-system user, or "cli" when there is none."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (some containers)
        return "cli"
    return f"cli:{user}"[:64] if user else "cli"


def record_id(what: str = "id") -> WholeNumber:
    """argparse type for the id of a customer, merge, review...: positive and within the database's range."""
    return WholeNumber(what, 1, MAX_ID)


def open_database(settings):
    """Engine and session factory for a command, or a one-line CommandError saying what to do."""
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


def who(change: EmployeeChange) -> str:
    return f"{change.slack_user_id} ({change.name})"


def access_lines(report: AccessChanges, *, dry_run: bool, moves: bool = False) -> list[str]:
    """One line per person who gains access, loses it, changes role and, with `moves`, changes team or
    store: the output of a roster import and of a directory sync."""
    gain, lose, role, move = (("would gain access", "would lose access", "would change role", "would move")
                              if dry_run else ("gained access", "lost access", "changed role", "moved"))
    lines = [f"{gain}: {who(change)} as {change.role}" for change in report.gained_access]
    lines += [f"{lose}: {who(change)}" for change in report.lost_access]
    lines += [f"{role}: {who(change)} {change.old_role} -> {change.role}" for change in report.role_changes]
    lines += [f"kept deactivated: {who(change)} (an admin deactivated them: `frontline employees reactivate "
              f"{change.slack_user_id}` gives access back)" for change in report.held]
    if moves:
        lines += [f"{move}: {who(change)} ({', '.join(name for name in change.changed if name in ('team', 'store'))})"
                  for change in report.moves if not change.created]
    return lines
