"""`frontline employees import|sync|list|deactivate|reactivate|history`: who may use Frontline, with their role,
team, store, locale and time zone, and who changed that."""
from __future__ import annotations

import sys
from pathlib import Path

from bot.commands import CommandError, access_lines, cli_actor, open_database, who
from bot.commands.directory import add_sync_command
from store.employees import (
    EMPLOYEE_COLUMNS,
    EmployeeRefused,
    UnknownEmployee,
    access_history,
    import_employees,
    list_employees,
    set_active,
)
from store.importing import ImportFileError, read_rows
from store.importing.readers import FORMATS

VIA = "cli"


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "employees",
        help="import, list, deactivate or reactivate the employees who may use Frontline",
        description="Manage the employees allowed to use Frontline. Every change of access is audited.",
    )
    commands = parser.add_subparsers(title="employee commands", metavar="COMMAND", required=True)
    importing = commands.add_parser(
        "import",
        help="create or update employees from a CSV file",
        description=f"Create or update employees (by slack_user_id) from a CSV file with some or all of the "
        f"columns {','.join(EMPLOYEE_COLUMNS)}. Only slack_user_id is required (and name for someone new); a "
        "column the file does not have leaves that field unchanged. role: associate, manager or admin; team "
        "and store are created by name / code when new; locale en, fr, or a Slack locale such as fr-FR; "
        "timezone an IANA name; active true/false (yes/no, oui/non, 1/0). A Slack id on two rows is an error. "
        "Bad rows are reported with their line number and the others imported (exit status 1 when some rows "
        "were rejected).",
    )
    importing.add_argument("path", help="the employees file (CSV, or JSON Lines with the same fields)")
    importing.add_argument("--format", choices=FORMATS, help="file format when the extension does not tell")
    importing.add_argument("--sync", action="store_true",
                           help="the file is the whole roster: deactivate every employee missing from it "
                           "(refused, changing nothing, when any row is rejected)")
    importing.add_argument("--dry-run", action="store_true",
                           help="show who would gain access, lose access or change role, and change nothing")
    importing.set_defaults(run=run_import)
    listing = commands.add_parser("list", help="show the employees as a table", description="Show the employees.")
    listing.set_defaults(run=run_list)
    for name, active, help_text in (
        ("deactivate", False, "take access away: refused from their next request, history kept"),
        ("reactivate", True, "give a deactivated employee their access back"),
    ):
        command = commands.add_parser(name, help=help_text, description=f"{help_text[0].upper()}{help_text[1:]}.")
        command.add_argument("slack_user_id", metavar="SLACK_ID", help="the employee's Slack user id (U…)")
        command.set_defaults(run=run_set_active, active=active)
    history = commands.add_parser("history", help="who registered, deactivated, reactivated or moved whom",
                                  description="Print the audited changes of access, oldest first.")
    history.add_argument("slack_user_id", metavar="SLACK_ID", nargs="?", help="only this employee")
    history.set_defaults(run=run_history)
    add_sync_command(commands)


def run_import(args, settings) -> int:
    path = Path(args.path)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    engine, session_factory = open_database(settings)
    try:
        # The import owns one transaction: a dry run (or a refused sync) rolls it all back, so it shows
        # exactly what the real import would do, through the same code.
        with session_factory() as session:
            report = import_employees(session, rows=read_rows(path, fmt=args.format), sync=args.sync,
                                      actor=cli_actor(), via=VIA)
            if args.dry_run or report.refused:
                session.rollback()
            else:
                session.commit()
    except ImportFileError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    for problem in report.problems:
        print(f"{path.name}:{problem.line}: {problem.reason}", file=sys.stderr)
    for warning in report.warnings:
        print(f"{path.name}:{warning.line}: warning: {warning.reason}", file=sys.stderr)
    if report.refused:
        print(f"{path.name}: {report.refused}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(f"Dry run: nothing was changed. {report.summary().replace('employees: ', 'Would be: ', 1)}")
    else:
        print(report.summary())
    for line in access_lines(report, dry_run=args.dry_run):
        print(line)
    return 0 if report.ok else 1


def run_set_active(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            # Slack ids are capitals; an id typed in lower case is still the same person.
            change = set_active(session, args.slack_user_id.strip().upper(), args.active, actor=cli_actor(), via=VIA)
    except EmployeeRefused as error:
        raise CommandError(f"{args.slack_user_id[:40]!r}: {error}") from None
    except UnknownEmployee:
        raise CommandError(f"no employee has the Slack id {args.slack_user_id} "
                           "(`frontline employees list` shows them)") from None
    finally:
        engine.dispose()
    if not change.changed:
        state = "active" if change.active else "deactivated"
        print(f"{who(change)} is already {state}: nothing changed.")
    elif change.active:
        print(f"Reactivated {who(change)}: they may use Frontline again from their next request.")
    else:
        print(f"Deactivated {who(change)}: refused from their next request; their history and KPIs are kept.")
    return 0


def run_history(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory() as session:
            events = access_history(session, args.slack_user_id)
    finally:
        engine.dispose()
    for event in events:
        detail = " ".join(f"{key}={value}" for key, value in event.detail.items())
        print(f"{event.at:%Y-%m-%d %H:%M:%S}  {event.actor:<20} {event.action:<10} {event.employee:<12} {detail}".rstrip())
    print(f"{len(events)} change(s) of access.", file=sys.stderr)
    return 0


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
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
    print(f"{len(rows)} employees")
    return 0
