"""Block Kit of sharing: the channel picker modal and the reduced card posted in the channel.

The reduced card is built from an explicit allow-list of fields (name, loyalty tier, declared
preferences) so that nothing added to the full card later can leak into a channel by accident.
"""
from __future__ import annotations

import json
from typing import Any

from handlers import payloads
from handlers.blockkit import context, escape, header, mrkdwn, plain, section, truncate, trusted
from handlers.i18n import t
from handlers.profile.blocks import preference_line

MODAL_CALLBACK = "sharing.modal"
CHANNEL_BLOCK = "sharing.channel"
CHANNEL_INPUT = "sharing.channel_select"


def share_modal(locale: str, *, customer_id: int, name: str, allowed: list[str]) -> dict[str, Any]:
    # Channel links are our markup; the ids come from configuration and are escaped all the same.
    channels = trusted(", ".join(f"<#{escape(c)}>" for c in allowed))
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": json.dumps({"customer_id": customer_id}),
        "title": plain(t("privacy.share.title", locale), 24),
        "submit": plain(t("privacy.share.submit", locale), 24),
        "close": plain(t("common.cancel", locale), 24),
        "blocks": [
            section(t("privacy.share.intro", locale, name=escape(truncate(name, 120)))),
            {"type": "input", "block_id": CHANNEL_BLOCK, "label": plain(t("privacy.share.channel", locale), 2000),
             "element": {"type": "conversations_select", "action_id": CHANNEL_INPUT,
                         "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                         **({"initial_conversation": allowed[0]} if len(allowed) == 1 else {})}},
            context(t("privacy.share.allowed", locale, channels=channels)),
        ],
    }


def reduced_card(locale: str, *, name: str, loyalty_tier: str | None,
                 preferences: list[tuple[str | None, str, str]], shared_by: str) -> dict[str, Any]:
    """Message arguments for the channel: `preferences` are (label, category, value) triples."""
    lines = [preference_line(category, label, value, locale) for label, category, value in preferences[:12]]
    facts = [t("profile.tier", locale, tier=escape(truncate(loyalty_tier, 30)))] if loyalty_tier else []
    blocks = [header(escape(truncate(name, 150)))]
    if facts:
        blocks.append(context(*facts))
    blocks.append({"type": "section", "text": mrkdwn(trusted("\n".join(  # lines: escaped parts
        [t("profile.preferences", locale), *(lines or [t("profile.no_preferences", locale)])])))})
    blocks.append(context(t("privacy.share.shared_by", locale, name=escape(truncate(shared_by, 60)))))
    return {"text": t("privacy.share.fallback", locale, name=escape(truncate(name, 150))), "blocks": blocks,
            "unfurl_links": False, "unfurl_media": False}


def read_channel(view: dict[str, Any]) -> str | None:
    return payloads.text(payloads.state_values(view), CHANNEL_BLOCK, CHANNEL_INPUT, "selected_conversation",
                         limit=40) or None


def read_customer_id(view: dict[str, Any]) -> int | None:
    return payloads.row_id(payloads.metadata(view), "customer_id")
