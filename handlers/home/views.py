"""App Home: my follow-ups, the customers I looked at, "Find a customer" and "Log interaction"."""
from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from handlers.context import Clock, Requester, SessionFactory
from handlers.home import ids
from handlers.home.publish import publish_home
from handlers.lookup.commands import open_search as open_lookup_search


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    # The lookup feature's own search modal: its submission DMs the card (or the candidates), audited there.
    app.action(ids.SEARCH)(open_lookup_search)


def home_opened(event: dict[str, Any], client: WebClient, employee: Requester, session_factory: SessionFactory,
                clock: Clock) -> None:
    if event.get("tab") != "home":
        return
    publish_home(client, employee, session_factory, clock)
