"""Signed Slack requests built exactly as Slack sends them.

`frontline-console` drives the real app with these, and the tests do too.
Shapes follow Slack's documented payloads for slash commands, interactivity (`payload=` form field
holding JSON) and the Events API (JSON envelopes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class Workspace:
    """The fixed identity of the (fake or real) workspace requests claim to come from."""

    team_id: str = "T0FRONTLINE"
    team_domain: str = "frontline-demo"
    api_app_id: str = "A0FRONTLINE"
    bot_user_id: str = "U0FRONTBOT"
    verification_token: str = "legacy-verification-token"


@dataclass(frozen=True)
class SignedRequest:
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def new_id(prefix: str, length: int = 10) -> str:
    return prefix + secrets.token_hex(length)[:length].upper()


def signature(signing_secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def sign(body: str, content_type: str, signing_secret: str, *, timestamp: int | None = None) -> SignedRequest:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return SignedRequest(
        body=body,
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature(signing_secret, ts, body),
        },
    )


def _user_object(ws: Workspace, user_id: str, user_name: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": ws.team_id}


def _team_object(ws: Workspace) -> dict[str, Any]:
    return {"id": ws.team_id, "domain": ws.team_domain}


def _interactive_envelope(ws: Workspace, kind: str, user_id: str, user_name: str) -> dict[str, Any]:
    return {
        "type": kind,
        "token": ws.verification_token,
        "team": _team_object(ws),
        "user": _user_object(ws, user_id, user_name),
        "api_app_id": ws.api_app_id,
        "enterprise": None,
        "is_enterprise_install": False,
    }


def payload_form(payload: Mapping[str, Any]) -> str:
    """Interactivity bodies: one form field `payload` holding the JSON document."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


# ---- slash commands ---------------------------------------------------------------------------


def slash_command_body(
    ws: Workspace,
    *,
    command: str,
    text: str,
    user_id: str,
    user_name: str = "user",
    channel_id: str = "C0GENERAL",
    channel_name: str = "general",
    response_url: str,
    trigger_id: str,
) -> str:
    fields = {
        "token": ws.verification_token,
        "team_id": ws.team_id,
        "team_domain": ws.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": ws.api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields)


# ---- interactivity ----------------------------------------------------------------------------


def block_actions_payload(
    ws: Workspace,
    *,
    user_id: str,
    user_name: str = "user",
    action: Mapping[str, Any],
    trigger_id: str,
    response_url: str | None = None,
    channel_id: str | None = None,
    message: Mapping[str, Any] | None = None,
    view: Mapping[str, Any] | None = None,
    is_ephemeral: bool = False,
) -> dict[str, Any]:
    """A click/selection on an element of a message (pass message+channel_id) or a view (pass view)."""
    payload = _interactive_envelope(ws, "block_actions", user_id, user_name)
    full_action = {"action_ts": f"{time.time():.6f}", **action}
    payload.update({"trigger_id": trigger_id, "actions": [full_action]})
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = dict(view)
        payload["state"] = view.get("state", {"values": {}})
    else:
        message = dict(message or {})
        payload["container"] = {
            "type": "message",
            "message_ts": message.get("ts"),
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": "channel"}
        if not is_ephemeral:
            payload["message"] = message
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url
    return payload


def view_submission_payload(
    ws: Workspace,
    *,
    user_id: str,
    user_name: str = "user",
    view: Mapping[str, Any],
    state_values: Mapping[str, Any],
    trigger_id: str,
) -> dict[str, Any]:
    payload = _interactive_envelope(ws, "view_submission", user_id, user_name)
    submitted = dict(view)
    submitted["state"] = {"values": dict(state_values)}
    payload.update({"trigger_id": trigger_id, "view": submitted, "response_urls": []})
    return payload


def view_closed_payload(ws: Workspace, *, user_id: str, user_name: str = "user", view: Mapping[str, Any]) -> dict[str, Any]:
    payload = _interactive_envelope(ws, "view_closed", user_id, user_name)
    payload.update({"view": dict(view), "is_cleared": False})
    return payload


def message_shortcut_payload(
    ws: Workspace,
    *,
    callback_id: str,
    user_id: str,
    user_name: str = "user",
    channel_id: str,
    message: Mapping[str, Any],
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    payload = _interactive_envelope(ws, "message_action", user_id, user_name)
    payload.update(
        {
            "callback_id": callback_id,
            "trigger_id": trigger_id,
            "action_ts": f"{time.time():.6f}",
            "channel": {"id": channel_id, "name": "channel"},
            "message_ts": message.get("ts"),
            "message": dict(message),
            "response_url": response_url,
        }
    )
    return payload


def global_shortcut_payload(
    ws: Workspace, *, callback_id: str, user_id: str, user_name: str = "user", trigger_id: str
) -> dict[str, Any]:
    payload = _interactive_envelope(ws, "shortcut", user_id, user_name)
    payload.update({"callback_id": callback_id, "trigger_id": trigger_id, "action_ts": f"{time.time():.6f}"})
    return payload


def block_suggestion_payload(
    ws: Workspace,
    *,
    user_id: str,
    user_name: str = "user",
    action_id: str,
    block_id: str,
    value: str,
    view: Mapping[str, Any] | None = None,
    channel_id: str | None = None,
    message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An external select asking for options while the user types."""
    payload = _interactive_envelope(ws, "block_suggestion", user_id, user_name)
    payload.update({"action_id": action_id, "block_id": block_id, "value": value})
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = dict(view)
    else:
        payload["container"] = {"type": "message", "message_ts": (message or {}).get("ts"), "channel_id": channel_id}
        payload["channel"] = {"id": channel_id, "name": "channel"}
        payload["message"] = dict(message or {})
    return payload


# ---- Events API -------------------------------------------------------------------------------


def event_envelope(ws: Workspace, event: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    now = time.time()
    full_event = {"event_ts": f"{now:.6f}", **event}
    return {
        "token": ws.verification_token,
        "team_id": ws.team_id,
        "api_app_id": ws.api_app_id,
        "event": full_event,
        "type": "event_callback",
        "event_id": event_id or new_id("Ev", 12),
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_hex(16),
    }


def message_ts() -> str:
    return f"{time.time():.6f}"


def im_message_event(*, user_id: str, text: str, channel_id: str, thread_ts: str | None = None) -> dict[str, Any]:
    ts = message_ts()
    event = {
        "type": "message",
        "channel": channel_id,
        "user": user_id,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "im",
        "client_msg_id": secrets.token_hex(16),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def assistant_thread_started_event(*, user_id: str, channel_id: str, thread_ts: str) -> dict[str, Any]:
    """A user opened a new thread with the app in Slack's assistant surface."""
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {"user_id": user_id, "context": {}, "channel_id": channel_id, "thread_ts": thread_ts},
        "event_ts": message_ts(),
    }


def app_mention_event(*, user_id: str, text: str, channel_id: str, bot_user_id: str,
                      thread_ts: str | None = None) -> dict[str, Any]:
    ts = message_ts()
    mention_text = text if f"<@{bot_user_id}>" in text else f"<@{bot_user_id}> {text}"
    event = {
        "type": "app_mention",
        "user": user_id,
        "text": mention_text,
        "ts": ts,
        "channel": channel_id,
        "event_ts": ts,
        "client_msg_id": secrets.token_hex(16),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_home_opened_event(*, user_id: str, channel_id: str, tab: str = "home") -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user_id, "channel": channel_id, "tab": tab, "event_ts": message_ts()}


def url_verification_body(ws: Workspace, challenge: str) -> dict[str, Any]:
    return {"token": ws.verification_token, "challenge": challenge, "type": "url_verification"}
