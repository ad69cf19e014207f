"""Global middleware: an Events API delivery already handled (by this or another process) is acked
and dropped, so a DM or @mention lookup redelivered by Slack is never answered twice.

Slack resends an event, with X-Slack-Retry-Num, when our 200 came late or got lost. The claim is one
INSERT keyed on event_id (store.slack_events), so it holds across gunicorn workers and hosts. It is
made when the event arrives: a process dying right after the claim loses that one reply (at most
once), which beats answering twice. If the database cannot be reached the event goes through: its
listener will then tell the employee the database is down.
"""
from __future__ import annotations

import logging
from typing import Any
from collections.abc import Callable

from slack_bolt import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from store.slack_events import claim_event

log = logging.getLogger(__name__)


def deduplicate_events(body: dict[str, Any], context, next: Callable[[], None]) -> BoltResponse | None:
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    if not isinstance(event_id, str) or not event_id:
        next()
        return None
    try:
        with context["session_factory"].begin() as session:
            first = claim_event(session, event_id, now=context["clock"]())
    except SQLAlchemyError as error:
        log.warning("could not record event %s as handled (%s); handling it anyway", event_id, type(error).__name__)
        first = True
    if not first:
        log.info("event %s already handled; redelivery dropped", event_id)
        return BoltResponse(status=200, body="")
    next()
    return None
