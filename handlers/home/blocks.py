"""Block Kit for App Home. Pure functions."""
from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.blockkit import (
    MAX_BLOCKS_VIEW, actions, button, context, divider, escape, header, mrkdwn, section, trusted,
)
from handlers.followups.blocks import follow_up_blocks
from handlers.home import ids
from handlers.profile.ids import OPEN_CUSTOMER
from handlers.i18n import t
from store.audit import RecentCustomer
from store.followups import OpenFollowUp


def home_view(locale: str, *, name: str, follow_ups: list[OpenFollowUp], recent: list[RecentCustomer],
              today: dt.date, updated: str, notice: str | None = None,
              review: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`review`: a data steward's possible-duplicates panel (handlers.review.blocks.queue_blocks)."""
    blocks: list[dict[str, Any]] = [
        section(t("home.greeting", locale, name=escape(name.split()[0] if name else ""))),
        actions(button(t("home.search", locale), ids.SEARCH, style="primary"),
                button(t("home.log", locale), ids.LOG), block_id="home.actions"),
    ]
    if notice:
        blocks.append(context("✓ " + notice))
    if review:
        blocks += [divider(), *review]
    blocks += [divider(), *follow_up_blocks(follow_ups, today, locale, max_items=30), divider(),
               header(t("home.recent", locale))]
    if not recent:
        blocks.append(context(t("home.recent_none", locale)))
    for customer in recent:
        customer_id = str(customer.customer_id)
        blocks.append({"type": "section", "block_id": f"recent.{customer_id}",
                       "text": mrkdwn(trusted(f"*{escape(customer.display_name)}*")),
                       "accessory": button(t("home.open", locale), OPEN_CUSTOMER, customer_id)})
        blocks.append(actions(button(t("home.log", locale), ids.RECENT_LOG, customer_id),
                              block_id=f"recent.{customer_id}.actions"))
    blocks.append(context(t("home.updated", locale, time=updated)))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS_VIEW]}
