"""The card's live website activity as text: when the customer was last on the site, the basket (and
whether it was abandoned), a fresh online order, wishlist changes and searches, in the reader's language
and time zone. Pure functions of the profile's LiveActivity: the "12 min ago" is counted from the
moment the card was built (LiveActivity.as_of), never from a clock read here."""
from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.blockkit import MAX_FALLBACK_TEXT, Mrkdwn, button, escape, section, trusted, truncate
from handlers.i18n import t
from handlers.i18n.formats import format_date, format_money
from store.clock import time_zone, to_local_naive
from handlers.profile import ids
from store.live.notices import DueNotice
from store.profile import BasketSummary, LiveActivity, WebOrder
from store.vocabulary import WebActivityKind, WebNoticeKind

ITEM_CHARS = 40
BASKET_ITEMS = 3


def _short(text: str, limit: int) -> Mrkdwn:
    return escape(truncate(" ".join(text.split()), limit))


def when(moment: dt.datetime, as_of: dt.datetime, locale: str, timezone: str | None) -> Mrkdwn:
    """'just now', '12 min ago', '3 h ago', 'this morning', 'yesterday', 'on 3 Mar 2026' (and in French),
    the part of the day and the day itself in the reader's time zone."""
    elapsed = as_of - moment
    if elapsed < dt.timedelta(minutes=1):
        return t("live.when.just_now", locale)
    if elapsed < dt.timedelta(hours=1):
        return t("live.when.minutes", locale, count=int(elapsed.total_seconds() // 60))
    zone = time_zone(timezone)
    local, today = to_local_naive(moment, zone), to_local_naive(as_of, zone).date()
    if elapsed < dt.timedelta(hours=6) or local.date() > today:
        return t("live.when.hours", locale, count=int(elapsed.total_seconds() // 3600))
    if local.date() == today:
        part = "morning" if local.hour < 12 else "afternoon" if local.hour < 18 else "evening"
        return t(f"live.when.{part}", locale)
    if local.date() == today - dt.timedelta(days=1):
        return t("live.when.yesterday", locale)
    return t("live.when.date", locale, date=format_date(local, locale))


def _basket_line(basket: BasketSummary, as_of: dt.datetime, locale: str, timezone: str | None) -> str:
    items = ", ".join(f"{item.quantity}× {_short(item.product_name, ITEM_CHARS)}" for item in basket.items[:BASKET_ITEMS])
    if len(basket.items) > BASKET_ITEMS:
        items += " " + t("profile.more_lines", locale, count=len(basket.items) - BASKET_ITEMS)
    if basket.total is not None:
        items += f" · *{format_money(basket.total, basket.currency, locale)}*"
    changed = when(basket.updated_at, as_of, locale, timezone)
    state = (t("live.basket_abandoned", locale, when=changed) if basket.abandoned
             else t("live.basket_open", locale, when=changed))
    if basket.checkout_started and not basket.abandoned:
        state = trusted(f"{t('live.basket_checkout', locale)}, {state}")
    elif basket.abandoned:
        state = trusted(f"⚠️ {state}")
    return t("profile.line", locale, title=t("live.basket", locale), value=trusted(f"{items} ({state})"))


def _order_line(order: WebOrder, as_of: dt.datetime, locale: str, timezone: str | None) -> str:
    value = f"`{_short(order.order_number, 30)}`"
    if order.total_amount is not None:
        value += f" · *{format_money(order.total_amount, order.currency, locale)}*"
    return t("profile.line", locale, title=t("live.ordered", locale, when=when(order.ordered_at, as_of, locale, timezone)),
             value=trusted(value))


def live_lines(live: LiveActivity, locale: str, timezone: str | None) -> tuple[str | None, list[str]]:
    """(what follows the section title: '12 min ago · source: webshop', or None; the lines under it)."""
    if live.last_seen_at is None:
        return None, []
    seen = t("live.seen", locale, when=when(live.last_seen_at, live.as_of, locale, timezone),
             source=_short(live.last_seen_source or "", 20))
    lines: list[str] = []
    if live.basket is not None:
        lines.append(_basket_line(live.basket, live.as_of, locale, timezone))
    if live.web_order is not None:
        lines.append(_order_line(live.web_order, live.as_of, locale, timezone))
    wishlist = [("+ " if c.kind == WebActivityKind.WISHLIST_ADDED else "− ") + _short(c.text, ITEM_CHARS)
                for c in live.changes if c.kind != WebActivityKind.SEARCHED]
    if wishlist:
        lines.append(t("profile.line", locale, title=t("live.changes", locale), value=trusted(", ".join(wishlist))))
    searches = [f"“{_short(c.text, ITEM_CHARS)}”" for c in live.changes if c.kind == WebActivityKind.SEARCHED]
    if searches:
        lines.append(t("profile.line", locale, title=t("live.searched", locale), value=trusted(", ".join(searches[:3]))))
    return seen, lines


def notice_message(notice: DueNotice, now: dt.datetime, locale: str) -> dict[str, Any]:
    """The short DM to an employee with an open follow-up: the customer is back on the site, or ordered
    online; with a button opening the card."""
    happened = when(notice.happened_at, now, locale, notice.timezone)
    name = _short(notice.customer_name, 80)
    if notice.kind == WebNoticeKind.ORDERED:
        text = t("live.notice.ordered", locale, name=name, when=happened, number=_short(notice.detail or "—", 30))
    else:
        text = t("live.notice.returned", locale, name=name, when=happened)
    block = section(text)
    block["accessory"] = button(t("live.notice.open", locale), ids.OPEN_CUSTOMER, str(notice.customer_id))
    return {"text": truncate(str(text).replace("*", ""), MAX_FALLBACK_TEXT), "blocks": [block]}  # still escaped
