"""Block Kit for the follow-up list, shared by /followups and App Home. Pure functions."""
from __future__ import annotations

import datetime as dt
from typing import Any

from handlers import payloads
from handlers.blockkit import context, escape, header, mrkdwn, plain, section, truncate, trusted
from handlers.followups import ids
from handlers.i18n import t
from handlers.i18n.formats import format_date
from store.followups import SNOOZE_DAYS, OpenFollowUp

NOTE_EXCERPT = 120


def _due_text(item: OpenFollowUp, today: dt.date, locale: str) -> str:
    if item.overdue:
        return "⚠️ *" + t("followups.overdue", locale, date=format_date(item.due_date, locale)) + "*"
    if item.due_date == today:
        return t("followups.due_today", locale)
    return t("followups.due", locale, date=format_date(item.due_date, locale))


def follow_up_block(item: OpenFollowUp, today: dt.date, locale: str) -> dict[str, Any]:
    """One follow-up: customer, due date, note excerpt; Done button and a Snooze menu in one section."""
    if item.customer_id is None:
        name = t("followups.no_customer", locale)
    else:
        name = escape(item.customer_name) if item.customer_name else t("followups.erased_customer", locale)
    lines = [f"*{name}* · {_due_text(item, today, locale)}"]
    if item.note:
        lines.append(escape(truncate(" ".join(item.note.split()), NOTE_EXCERPT)))
    snooze = {
        "type": "overflow",
        "action_id": ids.SNOOZE,
        "options": [{"text": plain(t(f"followups.snooze.{days}", locale), 75), "value": f"{item.id}:{days}"}
                    for days in SNOOZE_DAYS],
    }
    return {"type": "section", "block_id": f"{ids.BLOCK_PREFIX}{item.id}", "text": mrkdwn(trusted("\n".join(lines))),  # escaped parts
            "accessory": snooze}


def follow_up_blocks(items: list[OpenFollowUp], today: dt.date, locale: str, *, max_items: int = 15
                     ) -> list[dict[str, Any]]:
    """Header then, per follow-up, a section (with the Snooze menu) and a Done button: two blocks each."""
    out: list[dict[str, Any]] = [header(t("followups.title", locale, count=len(items)))]
    if not items:
        out.append(section(t("followups.none", locale)))
        return out
    for item in items[:max_items]:
        out.append(follow_up_block(item, today, locale))
        out.append({"type": "actions", "block_id": f"{ids.BLOCK_PREFIX}{item.id}.actions", "elements": [
            {"type": "button", "action_id": ids.DONE, "value": str(item.id), "style": "primary",
             "text": plain(t("followups.done", locale), 75)}]})
    if len(items) > max_items:
        out.append(context(t("followups.more", locale, count=len(items) - max_items)))
    return out


def follow_up_message(items: list[OpenFollowUp], today: dt.date, locale: str) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for /followups: at most 15 items keeps it under Slack's 50 blocks."""
    return t("followups.fallback", locale, count=len(items)), follow_up_blocks(items, today, locale)


def parse_snooze(value: str | None) -> tuple[int, int] | None:
    """'12:3' -> (follow-up 12, 3 days); None unless a storable id and 1 to 366 days."""
    raw_id, _, raw_days = (value or "").partition(":")
    follow_up_id, days = payloads.parse_id(raw_id), payloads.bounded_int(raw_days, 1, 366)
    if follow_up_id is None or days is None:
        return None
    return follow_up_id, days
