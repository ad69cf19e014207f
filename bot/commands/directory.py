"""`frontline employees sync [--dry-run] [--mapping FILE]`: who may use Frontline, read from Slack's directory.

Here only Slack's side: reading `users.list` page by page (cursor and limit), the user groups the mapping
names (`usergroups.list`, `usergroups.users.list`), and printing. Who gets which access is decided by
store.directory and applied through store.employees.apply_employee, like the CSV roster.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app import make_client
from bot.commands import CommandError, access_lines, cli_actor, open_database
from handlers.directory.users import directory_user
from store.directory import DirectoryMapping, DirectoryUser, MappingError, load_mapping, sync_directory

VIA = "directory"
# Slack suggests at most 200 per page of users.list (tier 2: about 20 calls a minute, 429 past that;
# the client's RateLimitErrorRetryHandler waits the Retry-After Slack sends).
PAGE_SIZE = 200


def add_sync_command(commands: Any) -> None:
    """Adds `sync` under `frontline employees` (called from bot.commands.employees.add_commands)."""
    sync = commands.add_parser(
        "sync",
        help="give or take access from Slack's directory and its user groups, as the mapping file says",
        description="Read Slack's users and user groups and bring the employees in line with them, as the "
        "mapping file says (README, \"Slack's directory\"). Deleted users, bots, guests (unless the mapping "
        "allows them) and whoever is in no mapped group lose access. Every change of access is audited.",
    )
    sync.add_argument("--mapping", metavar="FILE",
                      help="the mapping file (TOML); default: FRONTLINE_DIRECTORY_MAPPING")
    sync.add_argument("--dry-run", action="store_true",
                      help="show who would gain access, lose it, or change role, team or store, and change nothing")
    sync.set_defaults(run=run_sync)


def read_mapping(path: str | None) -> DirectoryMapping:
    """The mapping file, parsed, or a one-line CommandError naming the file and the problem."""
    if not path:
        raise CommandError("no mapping file: pass --mapping FILE or set FRONTLINE_DIRECTORY_MAPPING")
    try:
        return load_mapping(path)
    except MappingError as error:
        raise CommandError(str(error)) from None


def read_users(client: WebClient) -> Iterator[DirectoryUser]:
    """Every user of the workspace, one page at a time (memory holds one page of Slack's JSON)."""
    cursor = ""
    while True:
        page = client.users_list(limit=PAGE_SIZE, cursor=cursor or None, include_locale=True)
        for entry in page.get("members") or []:
            yield directory_user(entry)
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return


def read_members(client: WebClient, handles: frozenset[str]) -> tuple[dict[str, list[str]], list[str]]:
    """The user ids of each mapped group, by handle, and the mapped handles Slack has no group for."""
    groups = client.usergroups_list(include_disabled=False).get("usergroups") or []
    id_of = {str(group.get("handle", "")).lower(): str(group["id"]) for group in groups if group.get("id")}
    members = {handle: list(client.usergroups_users_list(usergroup=id_of[handle]).get("users") or [])
               for handle in sorted(handles) if handle in id_of}
    return members, sorted(handles - id_of.keys())


def run_sync(args, settings) -> int:
    mapping = read_mapping(args.mapping or settings.directory_mapping)
    if not settings.slack_bot_token:
        raise CommandError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-..., with users:read, "
                           "users:read.email and usergroups:read)")
    client = make_client(settings)
    engine, session_factory = open_database(settings)
    try:
        members, missing = read_members(client, mapping.groups)
        # One transaction for the whole directory: a dry run rolls it back, so it shows exactly what the
        # sync would do, through the same code; a failure half-way changes nothing.
        with session_factory() as session:
            report = sync_directory(session, read_users(client), members, mapping, actor=cli_actor(), via=VIA)
            if args.dry_run:
                session.rollback()
            else:
                session.commit()
    except SlackApiError as error:
        raise CommandError(f"Slack refused {error.response.get('error', 'the call')} "
                           f"(the token needs users:read, users:read.email and usergroups:read)") from None
    except SlackClientError as error:
        raise CommandError(f"cannot reach Slack ({error.__class__.__name__})") from None
    finally:
        engine.dispose()
    for handle in missing:
        print(f"warning: the mapping names @{handle}, which is not a user group in Slack", file=sys.stderr)
    for slack_user_id, reason in report.refused:
        print(f"{slack_user_id}: {reason}", file=sys.stderr)
    if args.dry_run:
        print(f"Dry run: nothing was changed. {report.summary().replace('directory: ', 'Would be: ', 1)}")
    else:
        print(report.summary())
    for line in access_lines(report, dry_run=args.dry_run, moves=True):
        print(line)
    return 0 if not report.refused else 1
