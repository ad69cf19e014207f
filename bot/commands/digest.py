"""`frontline digest send [--employee SLACK_ID] [--dry-run]`: run digests by hand and print them."""
from __future__ import annotations

from typing import Any

from bot.app import make_client
from bot.commands import CommandError
from bot.scheduler import DigestSender, active_employee_ids
from store.db import ensure_schema_current, make_engine, make_session_factory


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser("digest", help="morning digests", description="Morning digests.")
    actions = parser.add_subparsers(metavar="ACTION", required=True)
    send = actions.add_parser(
        "send", help="compose today's digests now, print them, and send them (unless --dry-run)",
        description="Compose today's digest(s) for one employee or everyone, print them, and send them by DM. "
                    "A digest sent by hand counts as today's: the scheduled one is not sent again.",
    )
    send.add_argument("--employee", metavar="SLACK_ID", help="only this employee (Slack user id, e.g. U012ABC)")
    send.add_argument("--dry-run", action="store_true", help="print only; send nothing, record nothing")
    send.set_defaults(run=run_send)


def run_send(args, settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        ensure_schema_current(engine)
        session_factory = make_session_factory(engine)
        employee_ids = active_employee_ids(session_factory, args.employee)
        if not employee_ids:
            raise CommandError(f"no active employee with Slack id {args.employee}" if args.employee
                               else "no active employees")
        client = None
        if not args.dry_run:
            if not settings.slack_bot_token:
                raise CommandError("SLACK_BOT_TOKEN is not set: use --dry-run to print without sending")
            client = make_client(settings)
        sender = DigestSender(settings, session_factory, client, configure_client=client is not None)
        composed = sent = 0
        for employee_id, kind, message in sender.send_now_many(employee_ids, dry_run=args.dry_run):
            if message is None:
                continue
            composed += 1
            sent += not args.dry_run
            print(f"--- {kind} digest, employee #{employee_id} ---")
            print(readable(message))
            print()
        verb = "composed (dry run, nothing sent)" if args.dry_run else "sent"
        print(f"{composed} digest(s) {verb} for {len(employee_ids)} employee(s); the others had nothing to say.")
        return 0
    finally:
        engine.dispose()


def readable(message: dict[str, Any]) -> str:
    """The digest as a terminal shows it: its fallback text, then each block's text (headers, sections
    and their fields, context lines)."""
    lines = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        texts = [block.get("text"), *(block.get("fields") or [])]
        if block.get("type") == "context":
            texts += list(block.get("elements") or [])
        lines += [str(part.get("text") or "") for part in texts if isinstance(part, dict)]
    return "\n".join(line for line in lines if line)
