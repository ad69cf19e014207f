"""Finding a customer from Slack: /customer, DMs, mentions and the "Find a customer" shortcut."""
from __future__ import annotations


def register(app) -> None:
    from handlers.lookup import commands

    commands.register(app)
