"""`frontline kpi check | rebuild`: the daily KPI rollup behind company-wide /kpi (store/kpi_rollup.py)."""
from __future__ import annotations

import sys
import time

from bot.commands import CommandError, open_database, progress_line
from store import kpi_rollup


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser("kpi", help="the daily KPI rollup", description="The daily KPI rollup.")
    actions = parser.add_subparsers(metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="recompute the rollup from the raw rows and report any difference",
        description="Recompute every interaction's contribution and every daily total from the raw rows, "
                    "and compare with the rollup. Exit status 1 when they differ.")
    check.set_defaults(run=run_check)
    rebuild = actions.add_parser(
        "rebuild", help="build the rollup again from the raw rows",
        description="Build the rollup from scratch, with local days in FRONTLINE_TIMEZONE. `frontline migrate` "
                    "does this when the rollup is missing or was built for another time zone.")
    rebuild.set_defaults(run=run_rebuild)


def run_check(args, settings) -> int:
    engine, session_factory = open_database(settings)
    try:
        with session_factory() as session:
            zone = kpi_rollup.rollup_zone(session)
            found = kpi_rollup.verify(session)
    finally:
        engine.dispose()
    if found is None or zone is None:
        raise CommandError("there is no KPI rollup: run `frontline migrate` (or `frontline kpi rebuild`)")
    if not found.none:
        print(f"KPI rollup differs from the raw rows: {found.facts} interaction(s), {found.rollup} daily row(s), "
              f"{found.follow_up_facts} follow-up(s), {found.follow_up_rows} follow-up daily row(s). "
              "Run `frontline kpi rebuild`.")
        return 1
    note = "" if zone.key == settings.default_timezone else (
        f" Note: FRONTLINE_TIMEZONE is {settings.default_timezone}; run `frontline migrate` to follow it.")
    print(f"KPI rollup matches the raw rows (local days in {zone.key}).{note}")
    return 0


def run_rebuild(args, settings) -> int:
    engine, session_factory = open_database(settings)
    started = time.monotonic()
    progress = progress_line("KPI rollup")
    try:
        with session_factory.begin() as session:
            counted = kpi_rollup.rebuild(session, settings.default_timezone, progress=progress)
    finally:
        engine.dispose()
    if progress:
        sys.stderr.write("\n")
    print(f"KPI rollup rebuilt: {counted:,} interactions, local days in {settings.default_timezone} "
          f"({time.monotonic() - started:.1f} s).")
    return 0
