"""The one reader of Slack payloads: every listener takes body, view and action fields through it.

A signed payload is still data: Slack's signature proves who sent it, not that it has the shape we
expect (a client bug, a replayed or hand-built request, a future Slack change). So nothing here
indexes blindly. Accessors walk a path and give back a value of the asked type within its bounds, or
None (or an empty dict/list): a field of the wrong type counts as absent. Ids are positive integers a
BIGINT can hold, so a forged 10^23 never reaches the database driver; private_metadata is parsed only
when it is small and shallow, so a 100,000-deep nesting cannot exhaust the stack.

`require_*` raise MalformedPayload when a listener cannot go on without a field (a button click
without trigger_id cannot open a modal): the app's error handler acks those quietly and logs the
reason, which names paths and types, never a value.

`envelope_problem` is the gate run before bolt routes a request: bolt's own matchers index the body
(`body["actions"][0]`, `body["view"]["callback_id"]`), so a shape they would trip on is refused first.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

# INTEGER, the type of every id a Slack payload can carry (customers, follow-ups, interactions, reviews...)
# on PostgreSQL: a larger forged id would make the driver raise instead of finding no row.
MAX_ROW_ID = 2**31 - 1
MAX_TEXT = 10_000  # far above any text Slack sends in one field (a note input is 3,000)
MAX_METADATA = 3_000  # Slack's own limit on private_metadata
MAX_METADATA_DEPTH = 8  # our metadata is a flat object; a little room for nesting, no more
MAX_BODY_DEPTH = 64  # Slack's deepest payloads (a modal's blocks inside a view) nest about 15 levels
# Slack user ids (U…, W… on Enterprise Grid): the asker's id is looked up and logged, so it must be one.
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")


class MalformedPayload(Exception):
    """A payload a listener cannot act on. `reason` names the path and type only, never a value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def at(data: Any, *path: str | int) -> Any:
    """The value at `path` (dict keys and list indexes), or None where the shape differs."""
    node = data
    for step in path:
        if isinstance(step, str) and isinstance(node, dict):
            node = node.get(step)
        elif isinstance(step, int) and isinstance(node, list) and -len(node) <= step < len(node):
            node = node[step]
        else:
            return None
    return node


def mapping(data: Any, *path: str | int) -> dict[str, Any]:
    value = at(data, *path)
    return value if isinstance(value, dict) else {}


def sequence(data: Any, *path: str | int) -> list[Any]:
    value = at(data, *path)
    return value if isinstance(value, list) else []


def dicts(data: Any, *path: str | int) -> list[dict[str, Any]]:
    """The list at `path` without its items that are not objects (blocks, elements, options)."""
    return [item for item in sequence(data, *path) if isinstance(item, dict)]


def text(data: Any, *path: str | int, limit: int = MAX_TEXT) -> str | None:
    """A string of at most `limit` characters at `path`; None for anything else."""
    value = at(data, *path)
    return value if isinstance(value, str) and len(value) <= limit else None


def require_text(data: Any, *path: str | int, limit: int = MAX_TEXT) -> str:
    value = text(data, *path, limit=limit)
    if not value:
        raise MalformedPayload(f"{'.'.join(map(str, path))} missing or not text")
    return value


def parse_id(value: object) -> int | None:
    """A database id from a button value or private_metadata (data typed by nobody we trust): a positive
    integer that fits the id columns, else None (so a forged '9999…9' never reaches the database driver)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ROW_ID else None
    digits = value.strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        return None
    number = int(digits)
    return number if 0 < number <= MAX_ROW_ID else None


def row_id(data: Any, *path: str | int) -> int | None:
    return parse_id(at(data, *path))


def bounded_int(value: object, low: int, high: int) -> int | None:
    """An integer (or its ASCII digits) within [low, high]; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        digits = value.strip()
        if not digits.isascii() or not digits.lstrip("-").isdigit() or len(digits) > 20:
            return None
        value = int(digits)
    return value if isinstance(value, int) and low <= value <= high else None


def deeper_than(data: Any, limit: int) -> bool:
    """True when lists/objects in `data` nest more than `limit` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _json_depth_exceeds(raw: str, limit: int) -> bool:
    """Bracket depth of JSON text (outside strings) beyond `limit`, found before json.loads recurses."""
    depth, in_string, escaped = 0, False, False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def metadata(view: Any) -> dict[str, Any]:
    """A view's private_metadata as an object; {} when absent, too long, too deep or not an object."""
    raw = text(view, "private_metadata", limit=MAX_METADATA)
    if not raw or _json_depth_exceeds(raw, MAX_METADATA_DEPTH):
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def state_values(view: Any) -> dict[str, dict[str, Any]]:
    """A submitted view's `state.values` ({block_id: {action_id: element state}}), entries of the wrong
    shape left out: a view without state reads as an empty form."""
    return {block_id: actions for block_id, actions in mapping(view, "state", "values").items()
            if isinstance(actions, dict)}


# --- the gate before bolt routes a request -----------------------------------------------------------

_VIEW_KINDS = ("view_submission", "view_closed")
_CALLBACK_KINDS = ("shortcut", "message_action", "interactive_message", "dialog_submission",
                   "dialog_cancellation", "dialog_suggestion", "workflow_step_edit")


def is_user_id(value: Any) -> bool:
    return isinstance(value, str) and SLACK_USER_ID.fullmatch(value) is not None


def _problem_with_user(body: dict[str, Any]) -> str | None:
    if "command" in body:
        return None if is_user_id(body.get("user_id")) else "user_id is not a Slack user id"
    if "user" in body and not is_user_id(at(body, "user", "id")):
        return "user is not an object with a Slack user id"
    event_user = at(body, "event", "user")
    if event_user is not None and not isinstance(event_user, dict) and not is_user_id(event_user):
        return "event.user is not a Slack user id"
    return None


def envelope_problem(body: Any) -> str | None:
    """Why bolt could not route `body` safely (a short reason without values), or None when it can.

    Checks what bolt's matchers and context builder index without looking: the kind of request, the
    user, and per kind the fields a listener is matched on.
    """
    if not isinstance(body, dict):
        return "body is not an object"
    if deeper_than(body, MAX_BODY_DEPTH):
        return f"body nested deeper than {MAX_BODY_DEPTH}"
    kind = body.get("type")
    if "command" in body:
        if not isinstance(body["command"], str):
            return "command is not text"
    elif kind is not None and not isinstance(kind, str):
        return "type is not text"
    for key in ("team", "channel", "enterprise", "message"):
        if key in body and not isinstance(body[key], (dict, str, type(None))):
            return f"{key} is neither an object nor text"
    for key in ("event", "view", "state", "container"):
        if key in body and not isinstance(body[key], (dict, type(None))):
            return f"{key} is not an object"
    for key in ("authorizations", "response_urls"):
        items = body.get(key)
        if items is not None and (not isinstance(items, list) or not all(isinstance(i, dict) for i in items)):
            return f"{key} is not a list of objects"
    if (problem := _problem_with_user(body)) is not None:
        return problem
    if "response_url" in body and not isinstance(body["response_url"], str):
        return "response_url is not text"
    if not all(isinstance(item.get("response_url", ""), str) for item in dicts(body, "response_urls")):
        return "response_urls[].response_url is not text"
    if kind == "event_callback" and (not isinstance(body.get("event"), dict)
                                     or not isinstance(at(body, "event", "type"), str)):
        return "event is not an object with a text type"
    if kind == "workflow_step_edit" and "callback_id" in body and not isinstance(body.get("workflow_step"), dict):
        return "workflow_step is not an object"
    if (kind == "interactive_message" and "callback_id" in body) or (kind == "block_actions" and "actions" in body):
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return "actions is not a list of objects"
        for key in ("action_id", "block_id"):
            if key in actions[0] and not isinstance(actions[0][key], str):
                return f"actions[0].{key} is not text"
    view = body.get("view")
    if kind in _VIEW_KINDS and not (isinstance(view, dict) and isinstance(view.get("type"), str)):
        return "view is not an object with a text type"
    if isinstance(view, dict):
        for key in ("callback_id", "type", "id"):
            if key in view and not isinstance(view[key], str):
                return f"view.{key} is not text"
    if kind in _CALLBACK_KINDS and "callback_id" in body and not isinstance(body["callback_id"], str):
        return "callback_id is not text"
    if kind == "block_suggestion":
        for key in ("action_id", "block_id", "value"):
            if key in body and not isinstance(body[key], str):
                return f"{key} is not text"
    return None
