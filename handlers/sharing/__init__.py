"""Sharing a reduced customer card to an admin-allowed channel (explicit, audited)."""
from __future__ import annotations


def register(app) -> None:
    from handlers.sharing import actions

    actions.register(app)
