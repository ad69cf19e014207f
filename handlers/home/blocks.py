"""Block Kit for App Home and its customer search. Pure functions."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from handlers.blockkit import MAX_BLOCKS_VIEW, actions, button, context, divider, escape, header, mrkdwn, plain, section
from handlers.followups.blocks import follow_up_blocks
from handlers.home import ids
from handlers.i18n import t
from handlers.interactions.blocks import customer_option
from store.audit import RecentCustomer
from store.followups import OpenFollowUp
from store.interactions import CustomerChoice


def home_view(locale: str, *, name: str, follow_ups: list[OpenFollowUp], recent: list[RecentCustomer],
              today: dt.date, updated: str, notice: str | None = None) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        section(t("home.greeting", locale, name=escape(name.split()[0] if name else ""))),
        actions(button(t("home.search", locale), ids.SEARCH, style="primary"),
                button(t("home.log", locale), ids.LOG), block_id="home.actions"),
    ]
    if notice:
        blocks.append(context("✓ " + notice))
    blocks += [divider(), *follow_up_blocks(follow_ups, today, locale, max_items=30), divider(),
               header(t("home.recent", locale))]
    if not recent:
        blocks.append(context(t("home.recent_none", locale)))
    for customer in recent:
        blocks.append({"type": "section", "block_id": f"recent.{customer.customer_id}",
                       "text": mrkdwn(f"*{escape(customer.display_name)}*"),
                       "accessory": button(t("home.log", locale), ids.RECENT_LOG, str(customer.customer_id))})
    blocks.append(context(t("home.updated", locale, time=updated)))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS_VIEW]}


def search_modal(locale: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.SEARCH_MODAL,
        "title": plain(t("interactions.search_modal_title", locale), 24),
        "submit": plain(t("interactions.search_submit", locale), 24),
        "close": plain(t("common.cancel", locale), 24),
        "private_metadata": json.dumps({}),
        "blocks": [{"type": "input", "block_id": ids.SEARCH_BLOCK,
                    "label": plain(t("interactions.search_label", locale), 2000),
                    "element": {"type": "plain_text_input", "action_id": ids.SEARCH_QUERY, "max_length": 200}}],
    }


def search_results(locale: str, query: str, choices: list[CustomerChoice]) -> tuple[str, list[dict[str, Any]]]:
    """The search result as a DM: one line per customer with a "Log interaction" button."""
    if not choices:
        text = t("interactions.search_none", locale, query=escape(query))
        return text, [section(text)]
    text = t("interactions.search_results", locale, query=escape(query))
    blocks: list[dict[str, Any]] = [section(text)]
    for choice in choices[:10]:
        label = customer_option(choice)["text"]["text"]
        blocks.append({"type": "section", "block_id": f"customer.{choice.id}", "text": mrkdwn(f"*{escape(label)}*"),
                       "accessory": button(t("interactions.button_log", locale), ids.RECENT_LOG, str(choice.id))})
    return text, blocks
