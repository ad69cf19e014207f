"""The customer card: Block Kit builder and its buttons."""
from __future__ import annotations


def register(app) -> None:
    from handlers.profile import actions

    actions.register(app)
