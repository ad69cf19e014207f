"""`frontline migrate`: create or upgrade the database schema."""
from __future__ import annotations

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
    migrate(settings.database_url)
    after = current_revision(engine)
    engine.dispose()
    if before == after:
        print(f"Schema already current ({after}).")
    else:
        print(f"Schema upgraded from {before or 'empty'} to {after} (head {head_revision()}).")
    return 0
