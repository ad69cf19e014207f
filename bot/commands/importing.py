"""`frontline import` (source files into the customer store) and `frontline links` (which customer each
source record belongs to). File formats: README.md, "Import formats"."""
from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.commands import CommandError, WholeNumber, open_database
from bot.commands.output import SafeCsvWriter, private_output
from store.importing import (
    IMPORT_KINDS,
    ImportFileError,
    ImportReport,
    batched,
    check_source_name,
    detect_format,
    import_consents,
    import_interactions,
    import_orders,
    import_people,
    import_preferences,
    import_web_signals,
    order_key,
    read_rows,
)
from store.importing.readers import FORMATS, ByteCounter
from store.identity import DEFAULT_THRESHOLDS, Thresholds
from store.models import SourceRecord
from store.resolution import relink, thresholds_from_settings

MAX_BATCH_SIZE = 100_000  # a batch is held in memory and written in one transaction

_CHILD_IMPORTERS = {
    "orders": import_orders,
    "signals": import_web_signals,
    "preferences": import_preferences,
    "consents": import_consents,
    "interactions": import_interactions,
}


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import people, orders, web signals, preferences, consents or interactions from a file",
        description="Import a CSV or JSON Lines file (format from the extension .csv/.jsonl/.ndjson, or --format). "
        "Bad rows are reported on stderr with their line number; the good rows are imported. Re-importing "
        "the same file changes nothing. After people, identity resolution links every record to a customer. "
        "Exit status 1 when some rows were rejected.",
    )
    parser.add_argument("path", help="the file to import")
    parser.add_argument("--kind", choices=IMPORT_KINDS, default="people", help="what the file holds (default people)")
    parser.add_argument(
        "--source",
        help="source system of the person records, e.g. webshop, pos, crm (required for people; for other "
        "kinds, used for rows without a source column)",
    )
    parser.add_argument("--format", choices=FORMATS, help="file format when the extension does not tell")
    parser.add_argument("--batch-size", type=WholeNumber("batch size", 1, MAX_BATCH_SIZE), default=5000,
                        help="rows per transaction (default 5000)")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: only when stderr is a terminal)",
    )
    parser.add_argument(
        "--no-link",
        action="store_true",
        help="people only: skip identity resolution (orders and other files cannot attach until it runs)",
    )
    parser.set_defaults(run=run_import)

    links = subparsers.add_parser(
        "links",
        help="write source,source_id,customer_id as CSV, one row per source record",
        description="Write which customer each imported source record is linked to, as CSV "
        "(source,source_id,customer_id; customer_id empty when not linked yet). A value a spreadsheet would "
        "run as a formula (starting with =, +, -, @) is written with a leading single quote.",
    )
    links.add_argument("--output", "-o", help="write to this new file (created readable by you only) instead of stdout")
    links.add_argument("--force", action="store_true", help="replace the --output file if it exists")
    links.add_argument("--source", help="only the records of this source system")
    links.set_defaults(run=run_links)


class ProgressBar:
    """One line on stderr, redrawn at most ten times a second: bytes read, rows, rows per second."""

    WIDTH = 28

    def __init__(self, stream, counter: ByteCounter, label: str, enabled: bool) -> None:
        self.stream, self.counter, self.label, self.enabled = stream, counter, label, enabled
        self.rows = 0
        self.started = self.drawn_at = time.monotonic()

    def advance(self, rows: int) -> None:
        self.rows += rows
        if self.enabled and time.monotonic() - self.drawn_at >= 0.1:
            self._draw()

    def _draw(self) -> None:
        self.drawn_at = now = time.monotonic()
        share = min(1.0, self.counter.done / self.counter.total) if self.counter.total else 1.0
        rate = self.rows / max(now - self.started, 1e-9)
        filled = int(share * self.WIDTH)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%} "
            f"{self.rows:,} rows {rate:,.0f} rows/s "
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


class _Aborted(Exception):
    """The import stopped before the end of the file; `message` says where and what was kept."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def run_import(args, settings) -> int:
    path = Path(args.path)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    try:
        file_format = detect_format(path, args.format)
    except ImportFileError as error:
        raise CommandError(str(error)) from None
    try:
        source = check_source_name(args.source) if args.source else None
    except ValueError as error:
        raise CommandError(f"--source: {error}") from None
    if args.kind == "people":
        if source is None:
            raise CommandError("--source is required for people (the system the file comes from, e.g. webshop)")
        importer = partial(import_people, source=source, batch_size=args.batch_size)
    else:
        importer = partial(_CHILD_IMPORTERS[args.kind], default_source=source, batch_size=args.batch_size)
    link = args.kind == "people" and not args.no_link
    try:
        # A wrong setting stops the command before the import rather than after it.
        thresholds = thresholds_from_settings(settings) if link else DEFAULT_THRESHOLDS
    except ValueError as error:
        raise CommandError(str(error)) from None

    show = args.progress if args.progress is not None else sys.stderr.isatty()
    report = ImportReport(kind=args.kind)
    engine, session_factory = open_database(settings)
    try:
        try:
            _import_batches(path, file_format, args, importer, session_factory, report, show)
        except _Aborted as abort:
            # Batches committed before the abort are linked now, so that no record is left without a
            # customer (unfindable) until somebody thinks of running relink: the database ends as it
            # was, or with every record written so far linked, never in between.
            written = report.created + report.updated
            print(f"frontline: {abort.message}", file=sys.stderr)
            if link and written:
                _link(session_factory, thresholds, written, show)
                print(f"frontline: the {written} records written before the stop are linked to customers",
                      file=sys.stderr)
            return abort.status
        print(report.summary())
        if link:
            _link(session_factory, thresholds, report.created + report.updated, show)
    finally:
        engine.dispose()
    return 0 if report.ok else 1


def _import_batches(path, file_format, args, importer, session_factory, report, show) -> None:
    """Import the file batch by batch into `report`; _Aborted when it stops before the end."""
    counter = ByteCounter(0)
    bar = ProgressBar(sys.stderr, counter, f"{args.kind}", show)
    try:
        _write_batches(path, file_format, args, importer, session_factory, report, bar, counter)
    except BaseException:
        if bar.enabled:
            sys.stderr.write("\r\x1b[K")  # the message that follows starts on a clean line
        raise


def _write_batches(path, file_format, args, importer, session_factory, report, bar, counter) -> None:
    batch: list = []
    try:
        rows = read_rows(path, fmt=file_format, counter=counter)
        for batch in batched(rows, args.batch_size, key=order_key if args.kind == "orders" else None):
            with session_factory.begin() as session:
                batch_report = importer(session, rows=batch)
            _print_problems(path.name, batch_report, bar)
            report.absorb(batch_report)
            bar.advance(len(batch))
        bar.finish()
    except ImportFileError as error:
        raise _Aborted(f"{error}{_kept(report)}") from None
    except SQLAlchemyError as error:
        # The batch was rolled back as a whole; the message never carries row values (PII).
        where = f"lines {batch[0][0]}-{batch[-1][0]}" if batch else "the first batch"
        raise _Aborted(f"{where} could not be written ({error.__class__.__name__}){_kept(report)}") from None
    except KeyboardInterrupt:
        raise _Aborted(f"interrupted{_kept(report)}", status=130) from None
    except Exception as error:  # a bug: still link what was committed; the class only, values may be PII
        raise _Aborted(f"stopped by an unexpected {error.__class__.__name__}{_kept(report)}") from error


def _kept(report: ImportReport) -> str:
    written = report.created + report.updated
    if not written:
        return "; nothing was written"
    return (f"; the {written} rows of the batches before that point were written, the rest were not "
            "(importing the file again is safe)")


def _link(session_factory, thresholds: Thresholds, written: int, show: bool) -> None:
    """Identity resolution after the import; relink is one transaction, so when it fails or is
    interrupted the records are all left unlinked, and the message says how to link them."""
    try:
        _relink(session_factory, thresholds, show_progress=show)
    except (SQLAlchemyError, KeyboardInterrupt) as error:
        what = "interrupted" if isinstance(error, KeyboardInterrupt) else f"failed, {error.__class__.__name__}"
        raise CommandError(
            f"identity resolution {what}: the {written} records written are not linked to customers yet; "
            "`frontline relink` (or importing a people file again) links them"
        ) from None


def _print_problems(file_name: str, report: ImportReport, bar: ProgressBar) -> None:
    if not report.problems:
        return
    if bar.enabled:
        sys.stderr.write("\r\x1b[K")
    for problem in sorted(report.problems, key=lambda problem: problem.line):
        print(f"{file_name}:{problem.line}: {problem.reason}", file=sys.stderr)
    hidden = report.rejected - len(report.problems)
    if hidden > 0:
        print(f"{file_name}: ... and {hidden} more bad rows in this batch", file=sys.stderr)


def _relink(session_factory, thresholds: Thresholds, *, show_progress: bool) -> None:
    started = time.monotonic()

    def tell(stage: str, done: int, total: int) -> None:
        sys.stderr.write(f"\ridentity resolution: {stage} {done:,}/{total:,}\x1b[K")
        sys.stderr.flush()

    with session_factory.begin() as session:
        result = relink(session, thresholds=thresholds, actor="import", progress=tell if show_progress else None)
    if show_progress:
        sys.stderr.write("\n")
    print(f"identity resolution ({time.monotonic() - started:.1f}s): {result.summary()}")


def run_links(args, settings) -> int:
    statement = select(SourceRecord.source, SourceRecord.source_id, SourceRecord.customer_id).order_by(
        SourceRecord.source, SourceRecord.source_id
    )
    if args.source:
        statement = statement.where(SourceRecord.source == args.source)
    engine, session_factory = open_database(settings)
    try:
        with private_output(args.output, force=args.force) as out, session_factory() as session:
            writer = SafeCsvWriter(out)
            writer.writerow(("source", "source_id", "customer_id"))
            for source, source_id, customer_id in session.execute(statement.execution_options(yield_per=10_000)):
                writer.writerow((source, source_id, "" if customer_id is None else customer_id))
    finally:
        engine.dispose()
    return 0
