"""Telling the person behind a request something, only them, in the way each kind of Slack request
allows (an ephemeral ack, a modal error, a pushed modal). Used by the access check in `bot` and by
listeners that refuse a request themselves."""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltResponse, Respond
from slack_sdk import WebClient

from handlers import payloads
from handlers.i18n import t

log = logging.getLogger(__name__)


def request_user_id(body: dict[str, Any]) -> str | None:
    """The Slack user behind a request, from the signed body: commands, interactivity or events."""
    if "command" in body and "user_id" in body:
        user_id = body["user_id"]
        return user_id if isinstance(user_id, str) else None
    user = body.get("user")
    if isinstance(user, dict):
        user_id = user.get("id")
        return user_id if isinstance(user_id, str) else None
    event = body.get("event")
    if isinstance(event, dict):
        event_user = event.get("user")
        if event_user is None and isinstance(event.get("assistant_thread"), dict):
            # assistant_thread_started / _context_changed name the person inside the thread object.
            event_user = event["assistant_thread"].get("user_id")
        return event_user if isinstance(event_user, str) else None
    return None


def message_view(text: str, locale: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": t("access.title", locale)},
        "close": {"type": "plain_text", "text": t("common.close", locale)},
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": text}}],
    }


def deliver_notice(body: dict[str, Any], client: WebClient, respond: Respond, text: str, locale: str) -> BoltResponse:
    """Tell the requester `text` only them, in the way each kind of request allows; returns the ack."""
    kind = body.get("type")
    if "command" in body:
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
    if kind == "block_suggestion":
        return BoltResponse(status=200, body={"options": []})
    if kind == "view_submission":
        input_blocks = [b.get("block_id") for b in payloads.dicts(body, "view", "blocks") if b.get("type") == "input"]
        if input_blocks and isinstance(input_blocks[0], str) and input_blocks[0]:
            return BoltResponse(status=200, body={"response_action": "errors", "errors": {input_blocks[0]: text}})
        return BoltResponse(status=200, body={"response_action": "update", "view": message_view(text, locale)})
    try:
        if body.get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
        elif kind in ("block_actions", "shortcut", "message_action") and payloads.text(body, "trigger_id"):
            opener = client.views_push if payloads.text(body, "view", "type") == "modal" else client.views_open
            opener(trigger_id=payloads.text(body, "trigger_id"), view=message_view(text, locale))
    except Exception as error:  # Slack refused or is unreachable: the employee simply sees nothing
        log.warning("could not deliver a notice to %s (%s)", request_user_id(body), type(error).__name__)
    return BoltResponse(status=200, body="")
