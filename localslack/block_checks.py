"""Block Kit validation with slack_sdk's own models plus the limits Slack enforces.

Used by the local Slack stand-in so that a payload real Slack would reject (or silently mangle) fails
the tests and shows up in the console instead of in production.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_TITLE = 24



def quiet_slack_sdk_block_warnings() -> None:
    """slack_sdk warns on unknown blocks through its logger; we report them ourselves, so keep the test
    and console output quiet. Called when a stand-in starts, never at import: importing a module must
    not change another library's logging."""
    logging.getLogger("slack_sdk.models.blocks.blocks").setLevel(logging.ERROR)


def _missing_keys(original: Any, rebuilt: Any, path: str) -> list[str]:
    """Keys present in what the bot sent but dropped by slack_sdk's model: typos or unsupported fields."""
    problems: list[str] = []
    if isinstance(original, dict) and isinstance(rebuilt, dict):
        for key, value in original.items():
            if key not in rebuilt:
                problems.append(f"{path}.{key} is not a known Block Kit field")
            else:
                problems.extend(_missing_keys(value, rebuilt[key], f"{path}.{key}"))
    elif isinstance(original, list) and isinstance(rebuilt, list):
        for i, (a, b) in enumerate(zip(original, rebuilt, strict=False)):  # compared as far as both go
            problems.extend(_missing_keys(a, b, f"{path}[{i}]"))
    return problems


def check_blocks(blocks: Any, *, limit: int, where: str) -> list[str]:
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return [f"{where}: blocks must be a JSON array"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"{where}: {len(blocks)} blocks, Slack allows at most {limit}")
    block_ids = set()
    for i, raw in enumerate(blocks):
        path = f"{where}.blocks[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{path}: not an object")
            continue
        block_id = raw.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                problems.append(f"{path}: duplicate block_id {block_id!r}")
            block_ids.add(block_id)
        try:
            parsed = Block.parse(dict(raw))
            if parsed is None:
                problems.append(f"{path}: unknown block type {raw.get('type')!r}")
                continue
            rebuilt = parsed.to_dict()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as error:
            problems.append(f"{path}: {error}")
            continue
        problems.extend(_missing_keys(raw, rebuilt, path))
        problems.extend(_action_id_problems(raw, path))
    return problems


def _action_id_problems(block: dict[str, Any], path: str) -> list[str]:
    elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            elements.append(block[key])
    seen: set[str] = set()
    problems = []
    for element in elements:
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id and action_id in seen:
            problems.append(f"{path}: duplicate action_id {action_id!r} in one block")
        if action_id:
            seen.add(action_id)
    return problems


def check_message_payload(args: dict[str, Any], *, require_text: bool = True) -> list[str]:
    problems = []
    text = args.get("text")
    if text is not None and len(str(text)) > MAX_MESSAGE_TEXT:
        problems.append(f"message text is {len(str(text))} characters, Slack truncates at {MAX_MESSAGE_TEXT}")
    blocks = args.get("blocks")
    if require_text and blocks and not text:
        problems.append("blocks without a top-level text fallback (notifications and screen readers show nothing)")
    problems.extend(check_blocks(blocks, limit=MAX_MESSAGE_BLOCKS, where="message"))
    return problems


def check_view(view: dict[str, Any]) -> list[str]:
    view_type = view.get("type")
    if view_type not in ("modal", "home"):
        return [f"view type {view_type!r} must be 'modal' or 'home'"]
    problems = check_blocks(view.get("blocks"), limit=MAX_VIEW_BLOCKS, where=f"{view_type} view")
    if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        problems.append(f"private_metadata longer than {MAX_PRIVATE_METADATA} characters")
    if view_type == "modal":
        title = (view.get("title") or {}).get("text", "")
        if not title:
            problems.append("modal without a title")
        elif len(title) > MAX_VIEW_TITLE:
            problems.append(f"modal title {title!r} longer than {MAX_VIEW_TITLE} characters")
        has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_inputs and not view.get("submit"):
            problems.append("modal with input blocks needs a submit button")
    try:
        View(**{k: v for k, v in view.items() if k not in ("id", "hash", "state", "team_id", "app_id", "bot_id",
                                                         "root_view_id", "previous_view_id", "app_installed_team_id")}
             ).to_dict()
    except (SlackObjectFormationError, TypeError, ValueError) as error:
        problems.append(f"{view_type} view: {error}")
    return problems
