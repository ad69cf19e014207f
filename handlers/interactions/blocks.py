"""Block Kit for logging interactions: the modals, reading their state, the confirmation. Pure functions."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from handlers.blockkit import MAX_OPTION_TEXT, context, escape, header, plain, section, truncate, trusted
from handlers.i18n import t
from handlers.interactions import ids
from store.interactions import LANGUAGES, MAX_NOTE, CustomerChoice, FieldError
from store.vocabulary import ContactChannel, InteractionChannel, InteractionType, Outcome

MAX_PLAIN_INPUT = 3000  # Slack's max_length for plain_text_input


def customer_option(choice: CustomerChoice) -> dict[str, Any]:
    details = [d for d in (choice.city, f"••{choice.phone_tail}" if choice.phone_tail else None) if d]
    label = choice.name + (f" · {' · '.join(details)}" if details else "")
    return {"text": plain(truncate(label, MAX_OPTION_TEXT), MAX_OPTION_TEXT), "value": str(choice.id)}


def _option(key: str, value: str, locale: str) -> dict[str, Any]:
    return {"text": plain(t(key, locale), MAX_OPTION_TEXT), "value": value}


def _select(action_id: str, prefix: str, values: Iterable[str], locale: str, initial: str | None = None) -> dict[str, Any]:
    options = [_option(f"{prefix}.{v}", v, locale) for v in values]
    element: dict[str, Any] = {"type": "static_select", "action_id": action_id, "options": options}
    chosen = [o for o in options if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return element


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element}
    if optional:
        block["optional"] = True
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text(action_id: str, *, multiline: bool = False, initial: str | None = None, placeholder: str | None = None,
          max_length: int = MAX_PLAIN_INPUT) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline,
                               "max_length": max_length}
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return element


def _customer_input(locale: str, customer: CustomerChoice | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "external_select", "action_id": ids.CUSTOMER_SELECT, "min_query_length": 2,
                               "placeholder": plain(t("interactions.customer_placeholder", locale), 150)}
    if customer is not None:
        element["initial_option"] = customer_option(customer)
    return _input(ids.CUSTOMER, t("interactions.customer", locale), element)


def _follow_up_inputs(locale: str, me: str, *, optional: bool) -> list[dict[str, Any]]:
    return [
        _input(ids.DUE, t("interactions.due", locale), {"type": "datepicker", "action_id": ids.DUE + ".input"},
               optional=optional),
        _input(ids.ASSIGNEE, t("interactions.assignee", locale),
               {"type": "users_select", "action_id": ids.ASSIGNEE + ".input", "initial_user": me}, optional=True),
        _input(ids.FOLLOW_UP_NOTE, t("interactions.follow_up_note", locale),
               _text(ids.FOLLOW_UP_NOTE + ".input", multiline=True, max_length=MAX_NOTE), optional=True),
    ]


def log_modal(locale: str, *, me: str, customer: CustomerChoice | None = None, note: str | None = None,
              default_channel: InteractionChannel | None = None, metadata: dict[str, Any] | None = None,
              unmatched_query: str | None = None, default_type: InteractionType | None = None) -> dict[str, Any]:
    """The "Log interaction" modal. `me` is the employee's Slack id (the default follow-up assignee).

    `unmatched_query`: what was typed after /log when it matched no single customer, echoed so the
    employee knows why the customer field is empty.
    """
    hint = [context(t("interactions.no_single_match", locale, query=escape(truncate(unmatched_query, 80))))] \
        if unmatched_query and customer is None else []
    blocks = [
        *hint,
        _customer_input(locale, customer),
        _input(ids.CHANNEL, t("interactions.channel", locale),
               _select(ids.CHANNEL + ".input", "interactions.channel", InteractionChannel, locale, default_channel)),
        _input(ids.TYPE, t("interactions.type", locale),
               _select(ids.TYPE + ".input", "interactions.type", InteractionType, locale, default_type)),
        _input(ids.OUTCOME, t("interactions.outcome", locale),
               _select(ids.OUTCOME + ".input", "interactions.outcome", Outcome, locale, Outcome.RESOLVED)),
        _input(ids.NOTE, t("interactions.note", locale),
               _text(ids.NOTE + ".input", multiline=True, initial=note, max_length=MAX_NOTE,
                     placeholder=t("interactions.note_placeholder", locale)), optional=True),
        header(t("interactions.declared_header", locale)),
        _input(ids.SIZES, t("interactions.sizes", locale),
               _text(ids.SIZES + ".input", placeholder=t("interactions.sizes_placeholder", locale), max_length=500),
               optional=True),
        _input(ids.BRANDS, t("interactions.brands", locale),
               _text(ids.BRANDS + ".input", placeholder=t("interactions.brands_placeholder", locale), max_length=500),
               optional=True),
        _input(ids.TASTES, t("interactions.tastes", locale),
               _text(ids.TASTES + ".input", placeholder=t("interactions.tastes_placeholder", locale), max_length=500),
               optional=True),
        _input(ids.CONTACT_CHANNEL, t("interactions.contact_channel", locale),
               _select(ids.CONTACT_CHANNEL + ".input", "interactions.contact", ContactChannel, locale), optional=True),
        _input(ids.LANGUAGE, t("interactions.language", locale),
               _select(ids.LANGUAGE + ".input", "interactions.language", LANGUAGES, locale), optional=True),
        header(t("interactions.follow_up_header", locale)),
        context(t("interactions.follow_up_hint", locale)),
        *_follow_up_inputs(locale, me, optional=True),
    ]
    return _modal(ids.LOG_MODAL, t("interactions.modal_title", locale), blocks, locale, metadata)


def follow_up_modal(locale: str, *, me: str, customer: CustomerChoice | None,
                    metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A follow-up without an interaction, opened from a profile card."""
    blocks = [_customer_input(locale, customer), *_follow_up_inputs(locale, me, optional=False)]
    return _modal(ids.FOLLOW_UP_MODAL, t("interactions.follow_up_modal_title", locale), blocks, locale, metadata)


def _modal(callback_id: str, title: str, blocks: list[dict[str, Any]], locale: str,
           metadata: dict[str, Any] | None, submit_key: str = "interactions.submit") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(truncate(title, 24), 24),
        "submit": plain(t(submit_key, locale), 24),
        "close": plain(t("common.cancel", locale), 24),
        "private_metadata": json.dumps(metadata or {}, separators=(",", ":"))[:3000],
        "blocks": blocks,
    }


def read_state(state_values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """{block_id: value} from a submitted view's state (as handlers.payloads.state_values reads it): option
    values, text, dates, user ids."""
    values: dict[str, Any] = {}
    for block_id, actions in state_values.items():
        for action in actions.values():
            if not isinstance(action, dict):
                continue
            kind = action.get("type")
            if kind in ("static_select", "external_select"):
                option = action.get("selected_option")
                value = option.get("value") if isinstance(option, dict) else None
            elif kind == "datepicker":
                value = action.get("selected_date")
            elif kind == "users_select":
                value = action.get("selected_user")
            else:
                value = action.get("value")
            # Anything but text (a forged or broken payload) counts as not filled in.
            values[block_id] = value if isinstance(value, str) else None
    return values


def slack_errors(errors: dict[str, FieldError], locale: str, view_blocks: list[dict[str, Any]]) -> dict[str, str]:
    """Field errors as `response_action: errors`; an error without a matching input goes on the first one
    (on its own field name when the submitted view has no input at all: a forged view)."""
    input_ids = [b["block_id"] for b in view_blocks if b.get("type") == "input" and isinstance(b.get("block_id"), str)]
    shown: dict[str, str] = {}
    for field_name, error in errors.items():
        block_id = field_name if field_name in input_ids or not input_ids else input_ids[0]
        text = t(error.key, locale, **error.params)
        shown[block_id] = f"{shown[block_id]} {text}" if block_id in shown else text
    return shown


def confirmation(locale: str, *, customer_name: str, type_: InteractionType, channel: InteractionChannel,
                 outcome: Outcome,
                 declared: list[str], follow_up: tuple[str, str] | None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) telling the employee what was saved. `follow_up` = (due text, assignee)."""
    lines = [t("interactions.logged", locale, name=escape(customer_name), type=t(f"interactions.type.{type_}", locale),
               channel=t(f"interactions.channel.{channel}", locale),
               outcome=t(f"interactions.outcome.{outcome}", locale))]
    if declared:
        lines.append(t("interactions.logged_declared", locale, items=escape(", ".join(declared))))
    if follow_up:
        lines.append(t("interactions.logged_follow_up", locale, due=follow_up[0], assignee=escape(follow_up[1])))
    text = trusted("\n").join(lines)
    return text, [section(text)]


def follow_up_added(locale: str, *, customer_name: str, due: str, assignee: str) -> tuple[str, list[dict[str, Any]]]:
    text = t("interactions.follow_up_added", locale, name=escape(customer_name), due=due, assignee=escape(assignee))
    return text, [section(text)]
