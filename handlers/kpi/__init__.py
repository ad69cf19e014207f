"""Team KPIs: `/kpi` with a compact table (ephemeral) and a trend chart sent to the requester's DM."""
from __future__ import annotations


def register(app) -> None:
    from handlers.kpi import commands

    commands.register(app)
