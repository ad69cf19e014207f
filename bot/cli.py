"""The `frontline` command line.

Each module in COMMAND_MODULES exposes `add_commands(subparsers)` and gives every subcommand a
`run(args, settings) -> int` through `set_defaults(run=...)`. Settings are read once here.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from bot.commands import CommandError  # defined a layer down so that commands need not import this module
from bot.config import ConfigError, Settings
from bot.logs import configure_logging

COMMAND_MODULES = [
    "bot.commands.migrate",
    "bot.commands.importing", "bot.commands.employees",
    "bot.serve_cmd",
    "bot.commands.privacy",
    "bot.commands.demo",
    "bot.commands.customers",
    "bot.commands.digest",
    "bot.commands.kpi",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frontline",
        description="Frontline: the unified customer profile for store associates and call-center agents, in Slack.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(subparsers)
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
        return int(args.run(args, settings) or 0)
    except (CommandError, ConfigError) as error:
        print(f"frontline: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
