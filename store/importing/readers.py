"""Streaming readers for import files: CSV (comma, semicolon or tab; with or without a UTF-8 BOM)
and JSON Lines. Rows come out one at a time as (line number, {column: value}) so a million-row file
never sits in memory, and every problem can name the line a person would open in an editor.

Hostile or broken files are bounded (limits below, documented in README.md, "Import formats"): a
value, a line, a quoted value spanning lines, the number of columns and JSON nesting all have a
ceiling. A row over a ceiling is reported with its line number and the reader goes on with the next
line; only a file that is not text at all (or whose header is unusable) is refused whole, and that
is found before the first row comes out, so nothing of it is written.
"""
from __future__ import annotations

import codecs
import collections
import csv
import io
import json
import os
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO, runtime_checkable

if TYPE_CHECKING:  # typeshed's name for "any writable buffer"; it exists only for type checkers
    from _typeshed import WriteableBuffer

FORMATS = ("csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# Key of a row the reader could not parse (wrong number of values, broken JSON): the importers
# report it with its line number like any other bad row instead of stopping the whole file.
ROW_ERROR = "\x00row_error"

# The csv module's own default: no column of any import file comes near it (the longest, an
# interaction note, is a few thousand characters), so a longer value is a broken file or an attack.
MAX_FIELD_CHARS = 131_072
# One physical line (a CSV line, or one JSON Lines object); longer lines are skipped without being
# held in memory.
MAX_LINE_CHARS = 1_048_576
# A quoted CSV value may span lines (notes), but not this many: past it, the quote that opened it is
# taken to be a stray one and reading goes on from the next line.
MAX_RECORD_LINES = 1_000
MAX_COLUMNS = 1_000
MAX_JSON_DEPTH = 32

Row = dict[str, Any]

_CHUNK = 1 << 20
# Given to the csv module after the last line: it comes back as a row of its own, unless a quoted
# value is still open, which then swallows it. It holds a NUL, which no accepted file contains.
_END = "\x00end of file\x00"
_NEWLINES = ("\n", "\r")


class ImportFileError(Exception):
    """The file as a whole cannot be read (unknown format, no header, not UTF-8)."""


def detect_format(path: str | os.PathLike[str], explicit: str | None = None) -> str:
    if explicit:
        if explicit not in FORMATS:
            raise ImportFileError(f"unknown format {explicit!r} (use {' or '.join(FORMATS)})")
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise ImportFileError(
            f"cannot tell the format of {Path(path).name} from its extension "
            "(.csv, .jsonl or .ndjson): pass --format csv or --format jsonl"
        )
    return _EXTENSIONS[suffix]


class ByteCounter:
    """How far through the file the reader is, for a progress bar (approximate: reads are buffered)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0


class _CountingRaw(io.RawIOBase):
    def __init__(self, raw: io.RawIOBase, counter: ByteCounter) -> None:
        self._raw = raw
        self._counter = counter

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        count = self._raw.readinto(buffer)
        self._counter.done += count or 0
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)
_SAVE_AS_UTF8 = "save it as UTF-8 (\"CSV UTF-8\" in a spreadsheet)"


def check_text_file(path: str | os.PathLike[str]) -> None:
    """ImportFileError unless the whole file is UTF-8 text without NUL bytes.

    One pass over the bytes before any row is read (UTF-8 decoding runs at memory speed), so that a
    spreadsheet saved as UTF-16, a Latin-1 export or a binary file is refused before anything of it
    is written, rather than after the batches in front of the bad byte were committed.
    """
    name = Path(path).name
    try:
        with open(path, "rb") as raw:
            _check_bytes(raw, name)
    except OSError as error:  # unreadable (permissions), or a folder
        raise ImportFileError(f"cannot read {name}: {error.strerror or error.__class__.__name__}") from None


def _check_bytes(raw: io.BufferedReader, name: str) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    head = raw.read(4)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            raise ImportFileError(f"{name} is {encoding} text, not UTF-8: {_SAVE_AS_UTF8}")
    chunk = head + raw.read(_CHUNK)
    while chunk:
        nul = chunk.find(b"\x00")
        if nul >= 0:
            line += chunk.count(b"\n", 0, nul)
            raise ImportFileError(
                f"{name} is not a text file (a NUL byte on line {line}): export it as CSV or JSON Lines"
            )
        held = len(decoder.getstate()[0])  # bytes of a character cut by the previous chunk's end
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            line += chunk.count(b"\n", 0, max(error.start - held, 0))
            raise ImportFileError(f"{name} is not UTF-8 text (line {line}): {_SAVE_AS_UTF8}") from None
        line += chunk.count(b"\n")
        chunk = raw.read(_CHUNK)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(f"{name} is not UTF-8 text (line {line}): {_SAVE_AS_UTF8}") from None


def read_rows(
    path: str | os.PathLike[str], *, fmt: str | None = None, counter: ByteCounter | None = None
) -> Iterator[tuple[int, Row]]:
    """Yield (line number, row) for every non-blank data row of the file at `path`."""
    fmt = detect_format(path, fmt)
    check_text_file(path)
    # The text wrapper closes the file too; the outer `with` only makes sure of it.
    with open(path, "rb", buffering=0) as file:
        raw: io.RawIOBase = file
        if counter is not None:
            counter.total = os.fstat(file.fileno()).st_size
            raw = _CountingRaw(file, counter)
        # utf-8-sig drops the BOM spreadsheet programs put in front of "CSV UTF-8" exports.
        with io.TextIOWrapper(io.BufferedReader(raw, 1 << 16), encoding="utf-8-sig", newline="") as text:
            rows = csv_rows(text) if fmt == "csv" else jsonl_rows(text)
            try:
                yield from rows
            except UnicodeDecodeError:  # the file changed since check_text_file
                raise ImportFileError(f"{Path(path).name} is not UTF-8 text: {_SAVE_AS_UTF8}") from None


class _LineTooLong(Exception):
    def __init__(self, line: int, length: int) -> None:
        super().__init__(line, length)
        self.line, self.length = line, length


class _RecordTooLong(Exception):
    """A quoted value has spanned more lines or characters than any real one does."""


@runtime_checkable
class _LineSource(Protocol):
    """An open text file or a StringIO: what `_Lines` reads from."""

    def readline(self, size: int = -1, /) -> str: ...


class _Lines:
    """The physical lines of a text, numbered, none longer than MAX_LINE_CHARS (a longer line is read
    through in chunks and reported by _LineTooLong, never held whole).

    For CSV it also keeps the lines of the record being parsed (bounded by MAX_RECORD_LINES and
    MAX_LINE_CHARS characters), so that a record found to hold a stray quote can be given back and
    read again from its second line.
    """

    def __init__(self, text: _LineSource, *, end_marker: str | None = None) -> None:
        self._text = text
        self._given_back: collections.deque[str] = collections.deque()
        self._end_marker = end_marker
        self._ended = False
        self.number = 0  # physical lines read so far
        self.record: list[str] = []
        self.record_chars = 0

    def __iter__(self) -> _Lines:
        return self

    def start_record(self) -> None:
        self.record = []
        self.record_chars = 0

    @property
    def record_start(self) -> int:
        return self.number - len(self.record) + 1

    def give_back(self, lines: list[str]) -> None:
        self._given_back.extendleft(reversed(lines))
        self.number -= len(lines)
        self._ended = False

    def __next__(self) -> str:
        if self._given_back:
            line = self._given_back.popleft()
        else:
            line = self._text.readline(MAX_LINE_CHARS + 1)
            if not line:
                if self._end_marker is None or self._ended:
                    raise StopIteration
                self._ended = True
                return self._end_marker
            if len(line) > MAX_LINE_CHARS and not line.endswith(_NEWLINES):
                length = len(line) + self._skip_rest_of_line()
                self.number += 1
                raise _LineTooLong(self.number, length)
        self.number += 1
        if self._end_marker is not None:
            self.record.append(line)
            self.record_chars += len(line)
            if len(self.record) > MAX_RECORD_LINES or self.record_chars > MAX_LINE_CHARS:
                raise _RecordTooLong
        return line

    def _skip_rest_of_line(self) -> int:
        """Read through the rest of the line; its length without the line break."""
        skipped = 0
        while True:
            part = self._text.readline(_CHUNK)
            if not part or part.endswith(_NEWLINES):
                return skipped + len(part.rstrip("\r\n"))
            skipped += len(part)


def _sniff_delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _header_line(lines: _Lines) -> str:
    try:
        for line in lines:
            if line == _END:
                break
            if line.strip():
                lines.give_back([line])
                lines.start_record()
                return line
    except _LineTooLong as error:
        raise ImportFileError(
            f"the header (line {error.line}) is {error.length:,} characters long, the limit is "
            f"{MAX_LINE_CHARS:,}: is this a CSV file?"
        ) from None
    raise ImportFileError("the file is empty (a header row is expected)")


def _next_record(reader: Iterator[list[str]]) -> list[str] | None:
    # The csv module's field limit is process-wide; raise it only while this reader parses. _Lines
    # already bounds a record to MAX_LINE_CHARS, so the csv module never holds more than that, and
    # a long value is measured and reported here instead of ending in csv.Error.
    previous = csv.field_size_limit(MAX_LINE_CHARS + 1)
    try:
        return next(reader, None)
    finally:
        csv.field_size_limit(previous)


def _check_header(header: list[str]) -> None:
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(f"the header has {len(header):,} columns, the limit is {MAX_COLUMNS:,}")
    counts = collections.Counter(name for name in header if name)
    duplicates = sorted(name for name, seen in counts.items() if seen > 1)
    if duplicates:
        raise ImportFileError(f"the header repeats column(s) {', '.join(duplicates)}")


def csv_rows(text: TextIO | Iterable[str]) -> Iterator[tuple[int, Row]]:
    """Rows of CSV text; the first non-blank line is the header (names trimmed, lower-cased)."""
    source = text if isinstance(text, _LineSource) else io.StringIO("".join(text))
    lines = _Lines(source, end_marker=_END)
    delimiter = _sniff_delimiter(_header_line(lines))
    header: list[str] | None = None
    width = 0
    while True:
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            while (values := _next_record(reader)) is not None:
                line = lines.record_start
                if values == [_END]:
                    return
                if values and values[-1].endswith(_END):
                    if header is None:
                        raise ImportFileError(f"the header (line {line}) opens a quote that is never closed")
                    yield line, _stray_quote(line)
                    lines.give_back(lines.record[1:])
                    lines.start_record()
                    break  # a fresh reader: this one is past the end of its input
                long_values = lines.record_chars > MAX_FIELD_CHARS
                lines.start_record()
                if header is None:
                    header = [name.strip().lower() for name in values]
                    _check_header(header)
                    width = len(header)
                    continue
                if not any(value.strip() for value in values):
                    continue
                if len(values) > width:
                    yield line, {ROW_ERROR: f"{len(values)} values but the header has {width} columns"}
                    continue
                if long_values and (longest := max(map(len, values))) > MAX_FIELD_CHARS:
                    yield line, {ROW_ERROR: _too_long("field", longest, MAX_FIELD_CHARS)}
                    continue
                # Spreadsheets drop trailing empty cells: missing values at the end of a row are empty (and
                # the row still has every column of the header, so "absent column" means the header lacks it).
                values += [""] * (width - len(values))
                yield line, {name: value for name, value in zip(header, values, strict=True) if name}
            else:
                return
        except _RecordTooLong:
            line = lines.record_start
            if header is None:
                raise ImportFileError(f"the header (line {line}) opens a quote that is never closed") from None
            yield line, _stray_quote(line)
            lines.give_back(lines.record[1:])
            lines.start_record()
        except _LineTooLong as error:
            start = error.line - len(lines.record)
            if header is None:
                raise ImportFileError(
                    f"the header (line {start}) is longer than {MAX_LINE_CHARS:,} characters"
                ) from None
            reason = _too_long("line", error.length, MAX_LINE_CHARS)
            yield start, {ROW_ERROR: reason if start == error.line else f"line {error.line}: {reason}"}
            lines.start_record()


def _too_long(what: str, length: int, limit: int) -> str:
    return f"{what} too long ({length:,} characters, the limit is {limit:,})"


def _stray_quote(line: int) -> Row:
    return {ROW_ERROR: (
        f'a quoted value opened on line {line} is not closed before the end of the file or within '
        f'{MAX_RECORD_LINES:,} lines (a stray " ?); reading goes on from the next line'
    )}


def _json_scalar(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [{k: _json_scalar(v) for k, v in item.items()} if isinstance(item, dict) else item for item in value]
    return value


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        pending.extend((child, depth + 1) for child in item)
    return deepest


def _unstorable_text(value: Any) -> str | None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "a value holds a NUL character (\\u0000)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "a value holds an unpaired surrogate escape (\\ud800-\\udfff)"
    return None


def _parse_json_line(text: str) -> Row:
    """The row on one line, or a ROW_ERROR row saying why it cannot be imported."""
    try:
        value = json.loads(text, parse_float=str, parse_int=str)
    except json.JSONDecodeError as error:
        return {ROW_ERROR: f"not valid JSON ({error.msg})"}
    except RecursionError:
        return {ROW_ERROR: f"JSON nested too deeply (the limit is {MAX_JSON_DEPTH} levels)"}
    if not isinstance(value, dict):
        return {ROW_ERROR: "a JSON object is expected on each line"}
    # Counting brackets is an upper bound of the depth: only a line with many pays for the walk.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        return {ROW_ERROR: f"JSON nested too deeply (the limit is {MAX_JSON_DEPTH} levels)"}
    # Escapes can spell what no UTF-8 file holds: a NUL (PostgreSQL refuses it in text) or half a
    # surrogate pair (no encoder accepts it). Refuse the row rather than fail its whole batch.
    if "\\u" in text and (reason := _unstorable_text(value)):
        return {ROW_ERROR: reason}
    return {str(key).strip().lower(): _json_scalar(item) for key, item in value.items()}


def jsonl_rows(text: TextIO | Iterable[str]) -> Iterator[tuple[int, Row]]:
    """Rows of JSON Lines text: one object per line; numbers keep their exact text."""
    source = text if isinstance(text, _LineSource) else io.StringIO("".join(text))
    lines = _Lines(source)
    while True:
        try:
            for line_text in lines:
                if not line_text.strip():
                    continue
                yield lines.number, _parse_json_line(line_text)
            return
        except _LineTooLong as error:
            yield error.line, {ROW_ERROR: _too_long("line", error.length, MAX_LINE_CHARS)}


def batched(
    rows: Iterable[tuple[int, Row]],
    size: int,
    key: Callable[[Row], Hashable] | None = None,
) -> Iterator[list[tuple[int, Row]]]:
    """Lists of up to `size` rows; with `key`, consecutive rows with the same key stay together
    (the lines of one order are never split between two transactions)."""
    batch: list[tuple[int, Row]] = []
    for item in rows:
        if len(batch) >= size and (key is None or key(batch[-1][1]) != key(item[1])):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch
