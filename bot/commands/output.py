"""Files the commands write. Everything a command writes holds customer data (a GDPR export, which
record is which customer), so one helper decides how such a file is made:

- never over an existing file unless the admin says --force (a typo must not destroy last week's
  export), and a missing folder or a refused permission is one line, not a traceback;
- readable by its owner only (0600) from the moment it exists, also when --force replaces a file:
  the new content goes to a private temporary file that is then renamed over the old one, so no
  reader ever sees half a file or a moment of wider permissions;
- a CSV cell a spreadsheet would run as a formula (OWASP "CSV injection": =, +, -, @, tab, CR first)
  is written with a leading single quote, so a source id of =HYPERLINK(...) stays text.
"""
from __future__ import annotations

import contextlib
import csv
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from bot.commands import CommandError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """The value, with a leading ' when it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """csv.writer whose every cell goes through spreadsheet_safe: the only CSV writer of the product."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_safe(value) for value in row])


def _refusal(path: str, error: OSError) -> CommandError:
    folder = Path(path).parent
    if isinstance(error, FileExistsError):
        return CommandError(f"{path} already exists: add --force to replace it")
    if isinstance(error, FileNotFoundError):
        return CommandError(f"cannot write {path}: the folder {folder} does not exist")
    if isinstance(error, IsADirectoryError):
        return CommandError(f"cannot write {path}: it is a folder")
    return CommandError(f"cannot write {path}: {error.strerror or error.__class__.__name__}")


@contextlib.contextmanager
def private_output(path: str | None, *, force: bool = False) -> Iterator[TextIO]:
    """A text stream to write a command's output to: stdout without `path`, else a new 0600 file.

    The file is complete only when the block ends without an exception; on an exception it is
    removed (without --force) or the previous file is left untouched (with --force). Refusals
    (exists, no folder, no permission) are raised before the block runs, so a command can open its
    output first and do its work after.
    """
    if path is None:
        yield sys.stdout
        return
    target = Path(path)
    if target.is_dir():
        raise CommandError(f"cannot write {path}: it is a folder")
    if force:
        try:
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        except OSError as error:
            raise _refusal(path, error) from None
    else:
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as error:
            raise _refusal(path, error) from None
        temporary = None
    unfinished = temporary or target
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        if temporary is not None:
            os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(unfinished)
        if isinstance(error, OSError):  # a full disk, a vanished folder: one line, not a traceback
            raise _refusal(path, error) from None
        raise
