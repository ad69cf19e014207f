"""The Segment-compatible tracking API's messages: checked, keyed and dated, before they are stored.

Pure functions, no database. A message is refused with a short reason that never quotes it (a reason
reaches logs and HTTP answers). What is checked is what Frontline relies on later: a known type, a
person (userId or anonymousId), an event name for track, objects where objects are expected, the size
limit, and readable times. Everything else the sender put in the message is kept as sent.

Time: Segment corrects the sender's clock the same way: the event happened `sentAt - timestamp` before
the message left, and it arrived at `received_at` by our clock, so it happened at
`received_at - (sentAt - timestamp)` by our clock.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from store.clock import to_utc
from store.vocabulary import SegmentType

MAX_MESSAGE_BYTES = 32 * 1024  # Segment's limit per message
MAX_BATCH_BYTES = 500 * 1024  # Segment's limit per batch request
MAX_ID_LENGTH = 150
MAX_MESSAGE_ID_LENGTH = 128
TYPES = frozenset(SegmentType)


class BadMessage(ValueError):
    """The message cannot be stored; the reason says why without quoting it."""


@dataclass(frozen=True)
class NewEvent:
    """A message ready for the inbox (store.inbox.store_events)."""

    message_id: str
    type: str
    person_key: str | None
    body: dict[str, Any]
    event_at: dt.datetime


def person_key(user_id: str | None, anonymous_id: str | None) -> str | None:
    """The key that orders a person's events: the sender's user id, else its anonymous id."""
    if user_id:
        return f"u:{user_id}"
    if anonymous_id:
        return f"a:{anonymous_id}"
    return None


def parse_time(value: Any, field: str) -> dt.datetime | None:
    """An ISO 8601 time as naive UTC (a time without a zone is taken as UTC); None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise BadMessage(f"{field} is not an ISO 8601 time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadMessage(f"{field} is not an ISO 8601 time") from None
    return to_utc(moment) if moment.tzinfo is not None else moment


def corrected_time(timestamp: dt.datetime | None, sent_at: dt.datetime | None,
                   received_at: dt.datetime) -> dt.datetime:
    """When the event happened by our clock (see the module docstring)."""
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    return received_at - (sent_at - timestamp)


def _identifier(message: Mapping[str, Any], field: str) -> str | None:
    value = message.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadMessage(f"{field} must be a string")
    text = str(value).strip()
    if len(text) > MAX_ID_LENGTH:
        raise BadMessage(f"{field} is longer than {MAX_ID_LENGTH} characters")
    return text or None


def _object(message: Mapping[str, Any], field: str) -> None:
    value = message.get(field)
    if value is not None and not isinstance(value, dict):
        raise BadMessage(f"{field} must be an object")


def message_size(message: Any) -> int:
    return len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def parse_message(message: Any, *, received_at: dt.datetime, type_from_path: str | None = None,
                  batch_sent_at: dt.datetime | None = None,
                  batch_context: Mapping[str, Any] | None = None) -> NewEvent:
    """One message of /v1/<type> (`type_from_path`) or of a /v1/batch, ready to store, or BadMessage."""
    if not isinstance(message, dict):
        raise BadMessage("a message must be a JSON object")
    if message_size(message) > MAX_MESSAGE_BYTES:
        raise BadMessage("message over 32 KB")
    kind = message.get("type", type_from_path)
    if type_from_path is not None and kind != type_from_path:
        raise BadMessage(f"type must be {type_from_path} on /v1/{type_from_path}")
    if not isinstance(kind, str) or kind not in TYPES:
        raise BadMessage("type must be one of " + ", ".join(sorted(TYPES)))
    user_id = _identifier(message, "userId")
    anonymous_id = _identifier(message, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise BadMessage("userId or anonymousId is required")
    for field in ("traits", "properties", "context", "integrations"):
        _object(message, field)
    if kind == SegmentType.TRACK:
        event = message.get("event")
        if not isinstance(event, str) or not event.strip() or len(event) > 200:
            raise BadMessage("track needs an event name (a string up to 200 characters)")
    if kind == SegmentType.ALIAS and (user_id is None or _identifier(message, "previousId") is None):
        raise BadMessage("alias needs userId and previousId")
    if kind == SegmentType.GROUP and _identifier(message, "groupId") is None:
        raise BadMessage("group needs groupId")
    timestamp = parse_time(message.get("timestamp") or message.get("originalTimestamp"), "timestamp")
    sent_at = parse_time(message.get("sentAt"), "sentAt") or batch_sent_at
    body = dict(message)
    body["type"] = kind
    body.pop("writeKey", None)  # a credential is not an event's content
    if batch_context and "context" not in body:
        body["context"] = dict(batch_context)
    message_id = _identifier(message, "messageId")
    if message_id is None:
        # Without an id from the sender, its retries of the same message must still be stored once.
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        message_id = f"sha256:{digest[:64]}"
    elif len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise BadMessage(f"messageId is longer than {MAX_MESSAGE_ID_LENGTH} characters")
    return NewEvent(message_id=message_id, type=kind, person_key=person_key(user_id, anonymous_id), body=body,
                    event_at=corrected_time(timestamp, sent_at, received_at))
