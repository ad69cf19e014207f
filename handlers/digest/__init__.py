"""Morning digests: `/digest` (settings, preview, send now); sending is scheduled by bot/scheduler.py."""
from __future__ import annotations


def register(app) -> None:
    from handlers.digest import commands

    commands.register(app)
