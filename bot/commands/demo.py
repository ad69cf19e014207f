"""`frontline demo`: fill the database with a believable retailer so a newcomer can try the bot at once."""
from __future__ import annotations

import argparse
import sys
import time

from bot.commands import CommandError, open_database
from store.demo.builder import DEFAULT_CUSTOMERS, DEFAULT_SEED, DemoAlreadyThere, build_demo
from store.clock import utc_now
from store.resolution import thresholds_from_settings


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="fill the database with a demo retailer (stores, employees, customers, orders...)",
        description="Build a demo retailer through the real import pipeline: 6 stores in France and the UK, "
        "~60 employees with Slack user ids, customers known to a web shop, store tills and a call-center CRM "
        "(with duplicates for identity resolution), two years of orders, web signals, preferences, consents, "
        "interactions and follow-ups. Does nothing when the database already holds data, unless --reset.",
    )
    parser.add_argument("--customers", type=_positive, default=DEFAULT_CUSTOMERS,
                        help=f"number of real people behind the source records (default {DEFAULT_CUSTOMERS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed: the same seed builds the same data (default {DEFAULT_SEED})")
    parser.add_argument("--reset", action="store_true",
                        help="delete ALL rows of every Frontline table first (not only demo data)")
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args, settings) -> int:
    try:
        thresholds = thresholds_from_settings(settings)
    except ValueError as error:
        raise CommandError(str(error)) from None
    engine, session_factory = open_database(settings)
    started = time.monotonic()
    interactive = sys.stderr.isatty()

    def progress(stage: str) -> None:
        if interactive:
            print(f"\r\033[K{time.monotonic() - started:5.1f}s {stage}...", end="", file=sys.stderr, flush=True)

    try:
        with session_factory.begin() as session:
            build = build_demo(session, customers=args.customers, seed=args.seed, today=utc_now().date(),
                               reset=args.reset, thresholds=thresholds, progress=progress)
    except DemoAlreadyThere as reason:
        print(f"Nothing done: {reason} (frontline demo --reset empties the database and builds it again).")
        return 0
    finally:
        if interactive:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        engine.dispose()
    print(f"Demo retailer built in {time.monotonic() - started:.1f}s (seed {args.seed}).")
    for line in build.summary.lines():
        print(line)
    return 0
