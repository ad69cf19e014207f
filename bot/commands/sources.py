"""`frontline sources add|list|rotate|remove` (who may send live events) and `frontline ingest work`
(extra processes applying the inbox, besides the workers of `frontline serve`).

A write key is printed once, alone on the last line of stdout (so `KEY=$(frontline sources add ... |
tail -1)` works), and never again: only its hash is kept. A Shopify secret passed as `--secret -` is
read from stdin, which keeps it out of the process list and the shell history.
"""
from __future__ import annotations

import signal
import sys
import threading

from bot.commands import CommandError, WholeNumber, open_database
from bot.ingest import InboxWorkers, appliers_for, group_appliers_for
from store import sources
from store.clock import utc_now
from store.inbox import backlog
from store.sources import SourceError
from store.vocabulary import SourceKind


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser("sources", help="live data sources: tracking write keys, Shopify shops")
    actions = parser.add_subparsers(metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a source; prints a Segment source's write key on the last line",
                             description="Add a live source. --kind segment (the default): prints its new write "
                                         "key, alone on the last line, shown once. --kind shopify or woocommerce: "
                                         "needs the webhooks' shared secret (--secret S, or --secret - to read it from stdin).")
    add.add_argument("name", help="source name, also the `source` of every fact it sends (e.g. webshop)")
    add.add_argument("--kind", choices=[str(kind) for kind in SourceKind], default=str(SourceKind.SEGMENT))
    add.add_argument("--secret", help="the shop's webhook secret, Shopify or WooCommerce ('-': read it from stdin)")
    add.set_defaults(run=run_add)
    listing = actions.add_parser("list", help="list sources (never their keys)")
    listing.set_defaults(run=run_list)
    rotate = actions.add_parser("rotate", help="replace a source's write key (the old one stops working) or "
                                               "Shopify secret")
    rotate.add_argument("name")
    rotate.add_argument("--secret", help="the shop's new webhook secret ('-': read it from stdin)")
    rotate.set_defaults(run=run_rotate)
    remove = actions.add_parser("remove", help="remove a source and its events still in the inbox")
    remove.add_argument("name")
    remove.set_defaults(run=run_remove)

    ingest = subparsers.add_parser("ingest", help="the live-data inbox")
    ingest_actions = ingest.add_subparsers(metavar="ACTION", required=True)
    work = ingest_actions.add_parser(
        "work", help="apply received events until stopped (more processes besides `frontline serve`)",
        description="Apply the inbox until SIGTERM/Ctrl-C; each step is one transaction, so stopping or killing "
                    "the process loses nothing and applies nothing twice.")
    work.add_argument("--threads", type=WholeNumber("thread count", 1, 64), default=1)
    work.add_argument("--drain", action="store_true", help="stop once nothing is due (instead of waiting for more)")
    work.set_defaults(run=run_work)
    status = ingest_actions.add_parser("status", help="events pending and waiting, the oldest one's age")
    status.set_defaults(run=run_status)


def _secret(value: str | None) -> str | None:
    if value == "-":
        return sys.stdin.readline().strip() or None
    return value


def run_add(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            key = sources.add_source(session, args.name, args.kind, secret=_secret(args.secret), now=utc_now())
    except SourceError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    if key is None:
        shop = "WooCommerce" if args.kind == SourceKind.WOOCOMMERCE else "Shopify"
        print(f"{shop} source {args.name} added: POST /webhooks/{args.kind}/{args.name}")
        return 0
    print(f"Source {args.name} added. Its write key, shown this once (keep it secret; `frontline sources "
          f"rotate {args.name}` replaces it):")
    print(key)
    return 0


def run_rotate(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            key = sources.rotate_source(session, args.name, secret=_secret(args.secret), now=utc_now())
    except SourceError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    if key is None:
        print(f"Source {args.name}: new shared secret saved.")
        return 0
    print(f"Source {args.name}: new write key (the old one no longer works):")
    print(key)
    return 0


def run_remove(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory.begin() as session:
            removed = sources.remove_source(session, args.name)
    except SourceError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    print(f"Source {args.name} removed, with {removed:,} events of its inbox. Facts it already wrote stay.")
    return 0


def run_list(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory() as session:
            rows = sources.list_sources(session)
    finally:
        engine.dispose()
    if not rows:
        print("No live source. Add one: frontline sources add webshop --kind segment")
        return 0
    for row in rows:
        rotated = f", key rotated {row.rotated_at:%Y-%m-%d %H:%M} UTC" if row.rotated_at else ""
        print(f"{row.name}  {row.kind}  added {row.created_at:%Y-%m-%d %H:%M} UTC{rotated}  "
              f"{row.events:,} events in the inbox")
    return 0


def run_status(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory() as session:
            state = backlog(session, utc_now())
    finally:
        engine.dispose()
    print(f"{state.pending:,} pending (oldest {state.oldest_pending_seconds:.1f} s), {state.waiting:,} waiting")
    return 0


def run_work(args, settings) -> int:
    engine, session_factory = open_database(settings)
    workers = InboxWorkers(session_factory, count=args.threads, appliers=appliers_for(settings),
                            group_appliers=group_appliers_for(settings))
    try:
        if args.drain:
            applied = 0
            while (report := workers.step()).claimed:
                applied += report.claimed
            print(f"{applied:,} events handled; nothing else due.")
            return 0
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        workers.start()
        stop.wait()
        workers.stop()
        return 0
    finally:
        engine.dispose()
