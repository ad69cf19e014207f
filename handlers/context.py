"""The types of what bolt hands a listener by name besides its own arguments (`ack`, `respond`, `client`:
slack_bolt's Ack, Respond, WebClient): the entries bot/app.py and bot/access.py put in the context.

Protocols, not the classes that fill them: those live in `bot` (the access snapshot, the settings), and
imports only run downwards.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from store.db import SessionFactory

# `session_factory` (store.db.SessionFactory): listeners own their transaction (`with session_factory.begin() as
# session:`); `session_factory.autocommit()` for statements that each stand alone (no BEGIN/COMMIT round trips).
__all__ = ["SessionFactory"]
# `clock`: now, as naive UTC (the storage convention).
Clock = Callable[[], dt.datetime]
# The context key under which bot.web puts when an HTTP request arrived (time.perf_counter()); absent over
# Socket Mode, where the listener's start stands in for it.
RECEIVED_AT = "received_at"


class Requester(Protocol):
    """`employee`: the registered, active employee behind the request (bot.access.EmployeeSnapshot)."""

    id: int
    slack_user_id: str
    name: str
    role: str
    team_id: int | None
    store_id: int | None
    locale: str
    timezone: str


class ListenerSettings(Protocol):
    """`settings`: the part of bot.config.Settings listeners read."""

    @property
    def share_channels(self) -> frozenset[str]: ...
    @property
    def default_timezone(self) -> str: ...
    @property
    def digest_default_time(self) -> str: ...
    @property
    def directory_mapping(self) -> str | None: ...
