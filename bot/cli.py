"""The `frontline` command line.

Each command module exposes `add_commands(subparsers)`, listed in COMMANDS, and gives every subcommand
a `run(args, settings) -> int` through `set_defaults(run=...)`. Settings are read once here. A new
command: a module in bot/commands/, imported below and its add_commands appended to COMMANDS.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from bot import serve_cmd
from bot.commands import (
    CommandError,
    customers,
    demo,
    digest,
    employees,
    importing,
    kpi,
    migrate,
    privacy,
    sources,
)
from bot.config import ConfigError, Settings
from bot.logs import configure_logging

# argparse's subparsers object: its class is private (argparse._SubParsersAction).
AddCommands = Callable[[Any], None]

# In the order `frontline --help` lists them.
COMMANDS: list[AddCommands] = [
    migrate.add_commands,
    importing.add_commands,
    employees.add_commands,
    serve_cmd.add_commands,
    privacy.add_commands,
    demo.add_commands,
    customers.add_commands,
    digest.add_commands,
    kpi.add_commands,
    sources.add_commands,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frontline",
        description="Frontline: the unified customer profile for store associates and call-center agents, in Slack.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for add_commands in COMMANDS:
        add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"frontline: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        status = int(args.run(args, settings) or 0)
        sys.stdout.flush()  # here, so that a reader gone away is noticed below and not at exit
        return status
    except (CommandError, ConfigError) as error:
        print(f"frontline: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return 130


# What a shell reports for a process killed by SIGPIPE (128 + 13): the usual status of `cmd | head`'s cmd.
EXIT_BROKEN_PIPE = 141


def _reader_gone() -> int:
    """The reader of our output went away (`frontline review list | head -1`): stop quietly, like any Unix tool.
    stdout now points at /dev/null, so that Python's flush at exit cannot raise (and print) the same error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
