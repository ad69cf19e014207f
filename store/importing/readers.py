"""Streaming readers for import files: CSV (comma, semicolon or tab; with or without a UTF-8 BOM)
and JSON Lines. Rows come out one at a time as (line number, {column: value}) so a million-row file
never sits in memory, and every problem can name the line a person would open in an editor.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import os
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

FORMATS = ("csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# Key of a row the reader could not parse (wrong number of values, broken JSON): the importers
# report it with its line number like any other bad row instead of stopping the whole file.
ROW_ERROR = "\x00row_error"

Row = dict[str, Any]


class ImportFileError(Exception):
    """The file as a whole cannot be read (unknown format, no header, not UTF-8)."""


def detect_format(path: str | os.PathLike, explicit: str | None = None) -> str:
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
    def __init__(self, raw, counter: ByteCounter) -> None:
        self._raw = raw
        self._counter = counter

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._raw.readinto(buffer)
        self._counter.done += count or 0
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def read_rows(
    path: str | os.PathLike, *, fmt: str | None = None, counter: ByteCounter | None = None
) -> Iterator[tuple[int, Row]]:
    """Yield (line number, row) for every non-blank data row of the file at `path`."""
    fmt = detect_format(path, fmt)
    raw = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the text wrapper below
    if counter is not None:
        counter.total = os.fstat(raw.fileno()).st_size
        raw = _CountingRaw(raw, counter)
    # utf-8-sig drops the BOM spreadsheet programs put in front of "CSV UTF-8" exports.
    with io.TextIOWrapper(io.BufferedReader(raw, 1 << 16), encoding="utf-8-sig", newline="") as text:
        rows = csv_rows(text) if fmt == "csv" else jsonl_rows(text)
        try:
            yield from rows
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{Path(path).name} is not UTF-8 text: save it as UTF-8 (\"CSV UTF-8\" in a spreadsheet)"
            ) from None


def _sniff_delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, Row]]:
    """Rows of CSV text; the first line is the header (names trimmed, lower-cased)."""
    lines = iter(lines)
    header_line = next(lines, None)
    while header_line is not None and not header_line.strip():
        header_line = next(lines, None)
    if header_line is None:
        raise ImportFileError("the file is empty (a header row is expected)")
    reader = csv.reader(itertools.chain([header_line], lines), delimiter=_sniff_delimiter(header_line))
    header = [name.strip().lower() for name in next(reader)]
    duplicates = sorted({name for name in header if header.count(name) > 1 and name})
    if duplicates:
        raise ImportFileError(f"the header repeats column(s) {', '.join(duplicates)}")
    width = len(header)
    last_line = reader.line_num
    for values in reader:
        line, last_line = last_line + 1, reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) > width:
            yield line, {ROW_ERROR: f"{len(values)} values but the header has {width} columns"}
            continue
        # Spreadsheets drop trailing empty cells: missing values at the end of a row are empty (and
        # the row still has every column of the header, so "absent column" means the header lacks it).
        values += [""] * (width - len(values))
        yield line, {name: value for name, value in zip(header, values) if name}


def _json_scalar(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [{k: _json_scalar(v) for k, v in item.items()} if isinstance(item, dict) else item for item in value]
    return value


def jsonl_rows(lines: Iterable[str]) -> Iterator[tuple[int, Row]]:
    """Rows of JSON Lines text: one object per line; numbers keep their exact text."""
    for line, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text, parse_float=str, parse_int=str)
        except json.JSONDecodeError as error:
            yield line, {ROW_ERROR: f"not valid JSON ({error.msg})"}
            continue
        if not isinstance(value, dict):
            yield line, {ROW_ERROR: "a JSON object is expected on each line"}
            continue
        yield line, {str(key).strip().lower(): _json_scalar(item) for key, item in value.items()}


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
