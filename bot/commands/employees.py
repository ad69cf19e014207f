"""`frontline employees import|list`: who may use Frontline, with their role, team, store, locale, time zone."""
from __future__ import annotations

import sys
from pathlib import Path

from bot.commands import open_database
from store.employees import EMPLOYEE_COLUMNS, import_employees, list_employees
from store.importing import ImportFileError, read_rows
from store.importing.readers import FORMATS


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "employees",
        help="import or list the employees who may use Frontline",
        description="Manage the employees allowed to use Frontline.",
    )
    commands = parser.add_subparsers(title="employee commands", metavar="COMMAND", required=True)
    importing = commands.add_parser(
        "import",
        help="create or update employees from a CSV file",
        description=f"Create or update employees (by slack_user_id) from a CSV file with the header "
        f"{','.join(EMPLOYEE_COLUMNS)}. role: associate, manager or admin; team and store are created by "
        "name / code when new; locale en, fr or empty; timezone an IANA name or empty. Bad rows are reported "
        "with their line number and the others imported (exit status 1 when some rows were rejected).",
    )
    importing.add_argument("path", help="the employees file (CSV, or JSON Lines with the same fields)")
    importing.add_argument("--format", choices=FORMATS, help="file format when the extension does not tell")
    importing.set_defaults(run=run_import)
    listing = commands.add_parser("list", help="show the employees as a table", description="Show the employees.")
    listing.set_defaults(run=run_list)


def run_import(args, settings) -> int:
    from bot.cli import CommandError

    path = Path(args.path)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            report = import_employees(session, rows=read_rows(path, fmt=args.format))
    except ImportFileError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    for problem in report.problems:
        print(f"{path.name}:{problem.line}: {problem.reason}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


def run_list(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory() as session:
            employees = list_employees(session)
    finally:
        engine.dispose()
    if not employees:
        print("No employees yet: add them with `frontline employees import FILE`.")
        return 0
    header = ("Slack ID", "Name", "Role", "Team", "Store", "Locale", "Time zone", "Active")
    rows = [
        (e.slack_user_id, e.name, e.role, e.team or "-", e.store or "-", e.locale or "-", e.timezone or "-",
         "yes" if e.active else "no")
        for e in employees
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths)).rstrip())
    print(f"{len(rows)} employees")
    return 0
