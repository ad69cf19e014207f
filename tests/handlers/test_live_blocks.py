"""The card's live website activity: what the associate reads, in English and French, in their time zone."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from handlers.profile import blocks
from handlers.profile.live import when
from localslack.block_checks import check_message_payload
from store.profile import BasketItem, BasketSummary, LiveActivity, WebChange, WebOrder
from tests.handlers.test_profile_blocks import profile

# 09:30 UTC = 10:30 in Paris, 09:30 in London, 04:30 in New York.
AS_OF = dt.datetime(2026, 3, 2, 9, 30)


def live(**changes) -> LiveActivity:
    values = dict(
        as_of=AS_OF, last_seen_at=AS_OF - dt.timedelta(minutes=12), last_seen_source="webshop",
        basket=BasketSummary(items=(BasketItem("Wool coat", 1, Decimal("189.90")), BasketItem("Silk scarf", 2, Decimal("45.00"))),
                             total=Decimal("279.90"), currency="EUR", updated_at=AS_OF - dt.timedelta(hours=3),
                             abandoned=True, checkout_started=False, source="webshop"),
        changes=(WebChange("wishlist_added", "Leather boots", AS_OF - dt.timedelta(hours=1)),
                 WebChange("wishlist_removed", "Rain hat", AS_OF - dt.timedelta(hours=2)),
                 WebChange("searched", "red coat", AS_OF - dt.timedelta(minutes=15))),
        web_order=WebOrder("W-1001", AS_OF - dt.timedelta(hours=2, minutes=30), Decimal("234.90"), "EUR", "webshop"),
    )
    values.update(changes)
    return LiveActivity(**values)


def card_text(locale, timezone="Europe/Paris", **changes):
    rendered = blocks.profile_blocks(profile(live=live(**changes)), locale, timezone)
    check_message_payload({"text": "card", "blocks": rendered})
    web = next(b for b in rendered if b.get("block_id") == "profile.web")
    return web["text"]["text"]


def test_the_card_says_when_the_customer_was_on_the_site_and_from_which_source():
    assert "*On the website* · 12 min ago · source: webshop" in card_text("en")
    assert "*Sur le site* · il y a 12 min · source : webshop" in card_text("fr")


def test_an_abandoned_basket_shows_its_items_total_and_when_it_was_left():
    en = card_text("en")
    assert "Basket: 1× Wool coat, 2× Silk scarf · *€279.90* (⚠️ abandoned, last changed 3 h ago)" in en
    fr = card_text("fr")
    assert "Panier : 1× Wool coat, 2× Silk scarf · *279,90" in fr and "abandonné, modifié il y a 3 h" in fr


def test_a_basket_at_checkout_says_so():
    basket = live().basket
    opened = BasketSummary(items=basket.items, total=basket.total, currency="EUR", updated_at=AS_OF - dt.timedelta(minutes=5),
                           abandoned=False, checkout_started=True, source="webshop")
    assert "(checkout started, changed 5 min ago)" in card_text("en", basket=opened)
    assert "(paiement commencé, modifié il y a 5 min)" in card_text("fr", basket=opened)


def test_an_order_placed_online_this_morning():
    # 03:00 UTC is 04:00 in Paris, six and a half hours before the card was opened: "this morning".
    order = WebOrder("W-1001", dt.datetime(2026, 3, 2, 3, 0), Decimal("234.90"), "EUR", "webshop")
    assert "Ordered online this morning: `W-1001` · *€234.90*" in card_text("en", web_order=order)
    assert "Commande en ligne ce matin : `W-1001` · *234,90" in card_text("fr", web_order=order)
    recent = WebOrder("W-1002", AS_OF - dt.timedelta(hours=2, minutes=30), Decimal("10.00"), "EUR", "webshop")
    assert "Ordered online 2 h ago: `W-1002`" in card_text("en", web_order=recent)


def test_wishlist_changes_and_searches_are_listed():
    en = card_text("en")
    assert "Wishlist changes: + Leather boots, − Rain hat" in en and "Searched: “red coat”" in en
    fr = card_text("fr")
    assert "Favoris modifiés : + Leather boots, − Rain hat" in fr and "A cherché : “red coat”" in fr


def test_the_customers_text_is_escaped():
    hostile = (WebChange("searched", "<!channel> *bold* <@U0BOSS>", AS_OF),)
    rendered = blocks.profile_blocks(profile(live=live(changes=hostile)), "en", "Europe/Paris")
    web = next(b for b in rendered if b.get("block_id") == "profile.web")
    assert "<!channel>" not in web["text"]["text"] and "&lt;!channel&gt;" in web["text"]["text"]


def test_without_profiling_consent_nothing_of_it_is_shown():
    rendered = blocks.profile_blocks(profile(profiling_allowed=False, web_signals=(), live=None), "en", "Europe/Paris")
    web = next(b for b in rendered if b.get("block_id") == "profile.web")
    assert "hidden" in web["text"]["text"] and "Basket" not in web["text"]["text"]


@pytest.mark.parametrize("moment, timezone, en, fr", [
    (AS_OF - dt.timedelta(seconds=20), "Europe/Paris", "just now", "à l'instant"),
    (AS_OF - dt.timedelta(minutes=1), "Europe/Paris", "1 min ago", "il y a 1 min"),
    (AS_OF - dt.timedelta(hours=5), "Europe/Paris", "5 h ago", "il y a 5 h"),
    (dt.datetime(2026, 3, 1, 21, 0), "Europe/Paris", "yesterday", "hier"),  # 22:00 local the day before
    # The same moment is "this evening" for someone in New York (16:00 local): the reader's zone decides.
    (dt.datetime(2026, 3, 1, 21, 0), "America/New_York", "this afternoon", "cet après-midi"),
    (dt.datetime(2026, 2, 20, 9, 0), "Europe/Paris", "on 20 Feb 2026", "le 20 févr. 2026"),
])
def test_relative_times_follow_the_readers_language_and_time_zone(moment, timezone, en, fr):
    as_of = AS_OF if timezone != "America/New_York" else dt.datetime(2026, 3, 2, 3, 0)  # 22:00 the day before in NY
    assert when(moment, as_of, "en", timezone) == en
    assert when(moment, as_of, "fr", timezone) == fr
