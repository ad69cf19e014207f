"""`frontline migrate`: create or upgrade the database schema."""
from __future__ import annotations

import sys

from bot.commands import progress_line
from store.db import current_revision, head_revision, make_engine, migrate


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="create or upgrade the schema of the database in DATABASE_URL",
        description="Create the schema of an empty database, or upgrade an older one to this version.",
    )
    parser.set_defaults(run=run)


def run(args, settings) -> int:
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    # Building the KPI rollup of a large existing history takes minutes: show where it is.
    progress = progress_line("KPI rollup")
    rebuilt = migrate(settings.database_url, kpi_timezone=settings.default_timezone, progress=progress)
    if rebuilt and progress:
        sys.stderr.write("\n")
    after = current_revision(engine)
    engine.dispose()
    if before == after:
        print(f"Schema already current ({after}).")
    else:
        print(f"Schema upgraded from {before or 'empty'} to {after} (head {head_revision()}).")
    if rebuilt:
        print(f"KPI daily rollup built for local days in {settings.default_timezone}.")
    return 0
