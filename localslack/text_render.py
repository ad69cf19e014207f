"""Plain-text rendering of Block Kit messages and views, for the console and for test assertions.

Interactive elements are numbered so the console user can type `click 2` or `select 3 <option>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INTERACTIVE_TYPES = {
    "button", "static_select", "external_select", "users_select", "conversations_select", "channels_select",
    "overflow", "datepicker", "timepicker", "checkboxes", "radio_buttons", "multi_static_select",
    "multi_external_select", "multi_users_select",
}


@dataclass
class Control:
    """One interactive element a user could press or fill."""

    number: int
    element: dict[str, Any]
    block_id: str
    in_input_block: bool = False
    label: str = ""

    @property
    def type(self) -> str:
        return self.element.get("type", "")

    @property
    def action_id(self) -> str:
        return self.element.get("action_id", "")

    @property
    def options(self) -> list[dict[str, Any]]:
        options = list(self.element.get("options") or [])
        for group in self.element.get("option_groups") or []:
            options.extend(group.get("options") or [])
        return options


@dataclass
class Rendered:
    text: str
    controls: list[Control] = field(default_factory=list)


def _text(obj: Any) -> str:
    if obj is None:
        return ""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        if "text" in obj and isinstance(obj["text"], (str, dict)):
            return _text(obj["text"])
        if obj.get("type") in ("rich_text_section", "rich_text_quote", "rich_text_preformatted", "rich_text_list"):
            return "".join(_text(e) for e in obj.get("elements") or [])
        if obj.get("type") == "user":
            return f"@{obj.get('user_id')}"
        if obj.get("type") == "link":
            return obj.get("text") or obj.get("url", "")
    return ""


def _element_label(element: dict[str, Any]) -> str:
    kind = element.get("type", "")
    if kind == "button":
        style = element.get("style")
        return f"[{_text(element.get('text'))}]" + (f" ({style})" if style else "")
    if kind == "overflow":
        return "[… " + " | ".join(_text(o.get("text")) for o in element.get("options") or []) + "]"
    placeholder = _text(element.get("placeholder"))
    initial = element.get("initial_option") or element.get("initial_date") or element.get("initial_value") or ""
    initial_text = _text(initial.get("text")) if isinstance(initial, dict) else str(initial)
    options = [_text(o.get("text")) for o in element.get("options") or []]
    shown = f" options: {', '.join(options)}" if options and len(options) <= 10 else ""
    current = f" = {initial_text}" if initial_text else ""
    return f"<{kind}{': ' + placeholder if placeholder else ''}{current}>{shown}"


class _Renderer:
    def __init__(self, first_number: int = 1) -> None:
        self.lines: list[str] = []
        self.controls: list[Control] = []
        self.next_number = first_number

    def control(self, element: dict[str, Any], block_id: str, *, in_input: bool = False, label: str = "") -> str:
        control = Control(self.next_number, element, block_id, in_input, label)
        self.controls.append(control)
        self.next_number += 1
        return f"({control.number}) {_element_label(element)}"

    def block(self, block: dict[str, Any]) -> None:
        kind = block.get("type")
        block_id = block.get("block_id", "")
        if kind == "header":
            title = _text(block.get("text"))
            # Upper-cased as shown, with Slack's escapes kept as sent (`&amp;`, not `&AMP;`).
            shown = slack_unescape(title).upper()
            self.lines += [_slack_escape(shown), "=" * min(len(shown), 60)]
        elif kind == "section":
            if block.get("text"):
                self.lines.append(_text(block["text"]))
            for f in block.get("fields") or []:
                self.lines.append("  " + _text(f).replace("\n", "  "))
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") in INTERACTIVE_TYPES:
                self.lines.append("    " + self.control(accessory, block_id))
        elif kind == "divider":
            self.lines.append("-" * 40)
        elif kind == "context":
            self.lines.append("  · " + "  ".join(_text(e) or f"[{e.get('alt_text', 'image')}]" for e in block.get("elements") or []))
        elif kind == "actions":
            labels = [self.control(e, block_id) for e in block.get("elements") or [] if e.get("type") in INTERACTIVE_TYPES]
            self.lines.append("  " + "  ".join(labels))
        elif kind == "input":
            label = _text(block.get("label"))
            optional = " (optional)" if block.get("optional") else ""
            element = block.get("element") or {}
            self.lines.append(f"{label}{optional}: " + self.control(element, block_id, in_input=True, label=label))
            if block.get("hint"):
                self.lines.append("    " + _text(block["hint"]))
        elif kind == "image":
            self.lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "rich_text":
            self.lines.append("".join(_text(e) for e in block.get("elements") or []))
        else:
            self.lines.append(f"[{kind} block]")


def render_message(message: dict[str, Any], *, first_number: int = 1) -> Rendered:
    renderer = _Renderer(first_number)
    blocks = message.get("blocks") or []
    if blocks:
        for block in blocks:
            renderer.block(block)
    elif message.get("text"):
        renderer.lines.append(str(message["text"]))
    return Rendered("\n".join(renderer.lines), renderer.controls)


def render_view(view: dict[str, Any], *, first_number: int = 1) -> Rendered:
    renderer = _Renderer(first_number)
    title = _text(view.get("title")) or ("Home" if view.get("type") == "home" else "Modal")
    renderer.lines += [f"┌─ {title} " + "─" * max(2, 36 - len(title))]
    for block in view.get("blocks") or []:
        renderer.block(block)
    buttons = [b for b in (_text(view.get("close")), _text(view.get("submit"))) if b]
    if buttons:
        renderer.lines.append("  ".join(f"[{b}]" for b in buttons) + "   (type `submit` or `close`)")
    renderer.lines.append("└" + "─" * 40)
    return Rendered("\n".join(renderer.lines), renderer.controls)


def slack_unescape(text: str) -> str:
    """What Slack shows for escaped text: the bot sends `&amp;`, `&lt;`, `&gt;` (Slack's three escapes)
    and a user reads `&`, `<`, `>`. `&amp;` last, so that `&amp;lt;` stays the literal `&lt;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def visible_text(args: dict[str, Any]) -> str:
    """Everything a user could read in a message or view payload, joined, as sent (still escaped: tests
    assert on what went over the wire)."""
    parts = [str(args.get("text") or "")]
    if isinstance(args.get("view"), dict):
        parts.append(render_view(args["view"]).text)
    if args.get("blocks"):
        parts.append(render_message({"blocks": args["blocks"]}).text)
    return "\n".join(p for p in parts if p)
