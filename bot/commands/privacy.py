"""Privacy commands for admins: `gdpr export|erase`, `audit`, `retention purge`."""
from __future__ import annotations

import datetime as dt
import json
import sys

from sqlalchemy import select

from bot.commands import CommandError, WholeNumber, open_database, record_id
from bot.commands.output import private_output
from store.clock import utc_now
from store.gdpr import CustomerNotFound, erase_customer, export_customer
from store.models import AuditEvent, Employee
from store.retention import purge_old_notes


def add_commands(subparsers) -> None:
    gdpr = subparsers.add_parser("gdpr", help="data-subject requests: export or erase a customer's data")
    gdpr_commands = gdpr.add_subparsers(metavar="ACTION", required=True)
    export = gdpr_commands.add_parser("export", help="write everything held about a customer as readable JSON")
    export.add_argument("customer", type=record_id("customer id"), help="customer id")
    export.add_argument("--output", "-o",
                        help="write to this new file instead of stdout (created readable by you only, 0600)")
    export.add_argument("--force", action="store_true", help="replace the --output file if it exists")
    export.set_defaults(run=run_export)
    erase = gdpr_commands.add_parser(
        "erase", help="remove a customer's personal data everywhere (KPIs keep anonymous counts)"
    )
    erase.add_argument("customer", type=record_id("customer id"), help="customer id")
    erase.add_argument("--yes", action="store_true", help="confirm: erasure cannot be undone")
    erase.set_defaults(run=run_erase)

    audit = subparsers.add_parser("audit", help="print the audit trail: who viewed or changed which customer")
    scope = audit.add_mutually_exclusive_group()
    scope.add_argument("--customer", type=record_id("customer id"), help="only this customer id")
    scope.add_argument("--employee", help="only this employee (Slack user id)")
    audit.add_argument("--since", type=dt.date.fromisoformat, help="from this date (YYYY-MM-DD)")
    audit.add_argument("--limit", type=WholeNumber("limit", 1, 10_000_000), default=1000,
                       help="at most this many rows (default 1000)")
    audit.set_defaults(run=run_audit)

    retention = subparsers.add_parser("retention", help="apply the note retention period now")
    retention_commands = retention.add_subparsers(metavar="ACTION", required=True)
    purge = retention_commands.add_parser(
        "purge", help="remove interaction notes older than FRONTLINE_NOTE_RETENTION_DAYS"
    )
    purge.set_defaults(run=run_purge)


def run_export(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        # The output is opened (or refused) before the export is read and audited, so a refused export
        # is not recorded; it is written after the audit commits, so no export leaves unrecorded.
        with private_output(args.output, force=args.force) as out:
            with session_factory.begin() as session:
                document = export_customer(session, args.customer, actor="cli")
            out.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    except CustomerNotFound as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    if args.output:
        print(f"Exported customer {document['customer_id']} to {args.output}.", file=sys.stderr)
    return 0


def run_erase(args, settings) -> int:
    if not args.yes:
        raise CommandError("erasure cannot be undone: add --yes to confirm")
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            report = erase_customer(session, args.customer, actor="cli")
    except CustomerNotFound as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    print(
        f"Erased customer {report.customer_id}: {report.customers} customer row(s) anonymised, "
        f"{report.source_records} source record(s) emptied, {report.notes_removed} note(s) removed, "
        f"{report.rows_deleted} row(s) deleted."
    )
    return 0


def run_audit(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory() as session:
            query = (
                select(AuditEvent, Employee.slack_user_id, Employee.name)
                .outerjoin(Employee, Employee.id == AuditEvent.employee_id)
                .order_by(AuditEvent.at, AuditEvent.id)
                .limit(args.limit)
            )
            if args.customer is not None:
                query = query.where(AuditEvent.customer_id == args.customer)
            if args.employee:
                query = query.where(Employee.slack_user_id == args.employee)
            if args.since:
                query = query.where(AuditEvent.at >= dt.datetime.combine(args.since, dt.time()))
            rows = session.execute(query).all()
    finally:
        engine.dispose()
    print(f"{'when (UTC)':<20} {'who':<28} {'action':<10} {'customer':>9}  through")
    for event, slack_id, name in rows:
        who = f"{name} ({slack_id})" if slack_id else event.actor
        customer = "" if event.customer_id is None else str(event.customer_id)
        print(f"{event.at:%Y-%m-%d %H:%M:%S} {who[:28]:<28} {event.action:<10} {customer:>9}  {event.via}")
    print(f"{len(rows)} event(s).", file=sys.stderr)
    return 0


def run_purge(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            purged = purge_old_notes(session, older_than_days=settings.note_retention_days, now=utc_now())
    finally:
        engine.dispose()
    if settings.note_retention_days == 0:
        print("Retention is off (FRONTLINE_NOTE_RETENTION_DAYS=0): nothing purged.")
    else:
        print(f"Purged {purged} note(s) older than {settings.note_retention_days} days.")
    return 0
