"""The card and search answers as Block Kit: valid for Slack whatever the customer, never a ping."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from localslack.block_checks import check_message_payload, check_view
from localslack.text_render import visible_text
from handlers.lookup import blocks as lookup_blocks
from handlers.profile import blocks, ids
from store.profile import (
    ConsentState,
    Contact,
    CustomerProfile,
    FollowUpSummary,
    InteractionSummary,
    OrderLineItem,
    OrderSummary,
    Page,
    Preference,
    WebSignalItem,
)
from store.search import Candidate, SearchResult

AT = dt.datetime(2026, 3, 2, 9, 30)
NOTE_10KB = ("Customer wants boots <!channel> & a refund <@U123> " * 200)[:10_240]


def profile(**changes) -> CustomerProfile:
    values = dict(
        customer_id=42, first_name="Jean", last_name="Dupont", city="Lyon", birth_date=dt.date(1980, 5, 1),
        loyalty_id="MV000123456", loyalty_tier="gold", customer_since=dt.date(2019, 4, 2),
        preferred_store="Lyon Part-Dieu", preferred_channel="email", preferred_language="fr",
        contact=Contact("jean.dupont@example.com", "+33612345678"),
        preferences=(Preference("size", "shoes", "43", AT, "frontline"),),
        profiling_allowed=True,
        web_signals=(WebSignalItem("wishlist", "Boots", "B1", Decimal("129.00"), "EUR", AT),),
        orders=Page((OrderSummary(1, "N1", AT, "store", "Lyon Part-Dieu", Decimal("59.90"), "EUR", "completed", "pos",
                                  (OrderLineItem("Boots", 1, "43"),)),), 0, False),
        interactions=Page((InteractionSummary(1, AT, "store", "advice", "resolved", "Léa Martin", "Wants boots", "slack"),),
                          0, False),
        follow_ups=(FollowUpSummary(1, AT.date(), "Call back", "Léa Martin", False),),
        consents=(ConsentState("profiling", "any", True, AT, "web"), ConsentState("marketing", "email", False, AT, "web")),
        provenance={"email": "web", "loyalty_id": "pos"},
    )
    values.update(changes)
    return CustomerProfile(**values)


def huge_profile() -> CustomerProfile:
    """500 orders of 40 lines with long product names, 10 KB notes everywhere, 100 preferences."""
    long_name = "Chaussure de randonnée imperméable <b>&</b> " * 10
    orders = tuple(
        OrderSummary(n, f"ORDER-{n:06d}-" + "X" * 50, AT - dt.timedelta(days=n), "web", "Store " * 30,
                     Decimal("123456.78"), "EUR", "completed", "web",
                     tuple(OrderLineItem(long_name, 3, "XXL" * 10) for _ in range(40)))
        for n in range(500)
    )
    interactions = tuple(
        InteractionSummary(n, AT, "phone", "complaint", "escalated", "Employé " * 40, NOTE_10KB, "slack")
        for n in range(500)
    )
    return profile(
        first_name="<!channel> " * 30, last_name="<@U0BOSS> " * 30,
        preferences=tuple(Preference("other", f"label {n} " * 10, NOTE_10KB, AT, "crm") for n in range(100)),
        web_signals=tuple(WebSignalItem(kind, long_name, "S", Decimal("1.00"), "EUR", AT)
                          for kind in ("wishlist", "viewed", "recommended") for _ in range(5)),
        orders=Page(orders[:5], 0, True), interactions=Page(interactions[:5], 0, True),
        follow_ups=tuple(FollowUpSummary(n, AT.date(), NOTE_10KB, "Someone", True) for n in range(10)),
        consents=tuple(ConsentState("marketing", c, n % 2 == 0, AT, "crm") for n, c in enumerate(
            ("email", "sms", "phone", "post", "any") * 3)),
        provenance={f"field_{n}": "source" * 5 for n in range(30)},
    ), orders, interactions


def message(customer: CustomerProfile, locale="en", revealed=False) -> dict:
    return {"text": blocks.fallback_text(customer, locale),
            "blocks": blocks.profile_blocks(customer, locale, "Europe/Paris", revealed=revealed)}


def all_text(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("revealed", [False, True])
def test_card_is_valid_block_kit(locale, revealed):
    payload = message(profile(), locale, revealed)
    assert check_message_payload(payload) == []


def test_card_of_a_huge_customer_stays_within_slacks_limits():
    customer, orders, interactions = huge_profile()
    for revealed in (False, True):
        payload = message(customer, revealed=revealed)
        assert check_message_payload(payload) == []
        assert len(payload["blocks"]) <= 50
    pages = [blocks.history_page_blocks("orders", 42, "Jean", Page(orders[5:15], 5, True), "fr", "Europe/Paris"),
             blocks.history_page_blocks("interactions", 42, "Jean", Page(interactions[5:55], 5, True), "en", None)]
    for page in pages:
        assert check_message_payload({"text": "more", "blocks": page}) == []


def test_customer_text_can_never_ping_anyone():
    customer, _, _ = huge_profile()
    rendered = all_text(message(customer, revealed=True))
    assert "<!channel>" not in rendered and "<@U" not in rendered and "<b>" not in rendered
    assert "&lt;!channel&gt;" in rendered
    candidate = Candidate(1, "<!here>", "<@U1>", 90, "name", city="<!everyone>")
    text, result_blocks = lookup_blocks.result_blocks(SearchResult("<!here>", "name", (candidate, candidate)), "en")
    rendered = all_text({"text": text, "blocks": result_blocks})
    assert "<!here>" not in rendered and "<!everyone>" not in rendered and "<@U1>" not in rendered


def test_contact_details_are_masked_until_revealed():
    masked = visible_text(message(profile()))
    assert "jean.dupont@example.com" not in masked and "12 34 56" not in masked
    assert "j•••@example.com" in masked and "78" in masked
    assert ids.REVEAL_CONTACT in all_text(message(profile()))
    shown = visible_text(message(profile(), locale="fr", revealed=True))
    assert "jean.dupont@example.com" in shown and "06 12 34 56 78" in shown
    assert ids.REVEAL_CONTACT not in all_text(message(profile(), revealed=True))


def test_web_activity_is_hidden_without_profiling_consent():
    hidden = visible_text(message(profile(profiling_allowed=False, web_signals=())))
    assert "Boots (€129.00)" not in hidden and "no profiling consent" in hidden
    assert "Boots (€129.00)" in visible_text(message(profile()))


def test_buttons_carry_the_customer_id_and_paging_appears_only_with_more_history():
    customer, _, _ = huge_profile()
    values = {e["action_id"]: e["value"] for b in message(customer)["blocks"] if b["type"] == "actions"
              for e in b["elements"]}
    assert values == {ids.LOG_INTERACTION: "42", ids.ADD_FOLLOW_UP: "42", ids.MORE_ORDERS: "42",
                      ids.MORE_INTERACTIONS: "42"}
    small = {e["action_id"] for b in message(profile())["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert small == {ids.LOG_INTERACTION, ids.ADD_FOLLOW_UP}


def test_french_card_speaks_french():
    text = visible_text(message(profile(), locale="fr"))
    assert "Dernières commandes" in text and "client depuis le 2 avr. 2019" in text and "59,90" in text


DECLARED = (Preference("size", "chaussures", "38", AT, "pos"), Preference("size", None, "M", AT, "pos"),
            Preference("brand", None, "Aigle", AT, "crm"), Preference("taste", None, "lin", AT, "web"),
            Preference("channel", None, "phone", AT, "crm"), Preference("language", None, "de", AT, "frontline"),
            Preference("channel", None, "fax", AT, "crm"), Preference("contact", None, "après 18 h", AT, "crm"))


@pytest.mark.parametrize("locale, lines", [
    ("fr", ["• chaussures : 38", "• taille : M", "• marque : Aigle", "• goût : lin", "• canal préféré : téléphone",
            "• langue : allemand", "• canal préféré : fax", "• contact : après 18 h"]),
    ("en", ["• chaussures: 38", "• size: M", "• brand: Aigle", "• taste: lin", "• preferred channel: phone",
            "• language: German", "• preferred channel: fax", "• contact: après 18 h"]),
])
def test_declared_preferences_read_in_the_employees_language(locale, lines):
    """Categories and coded values (channel, language) are translated; what was typed (a size's label, a
    brand, an unknown channel) is shown as typed."""
    shown = visible_text(message(profile(preferences=DECLARED), locale=locale)).splitlines()
    start = shown.index("*Nous a dit*" if locale == "fr" else "*Told us*")
    assert shown[start + 1:start + 1 + len(lines)] == lines


def test_search_answers_are_valid_for_every_outcome():
    candidate = Candidate(7, "Jean", "Dupont", 93, "name", city="Lyon", birth_year=1980, phone_last_digits="78",
                          last_seen=AT)
    outcomes = [SearchResult("", "empty"), SearchResult("dupont", "name", (candidate,) * 5),
                SearchResult("xyz", "name", suggestions=(candidate,)), SearchResult("xyz", "name")]
    for locale in ("en", "fr"):
        for outcome in outcomes:
            text, result_blocks = lookup_blocks.result_blocks(outcome, locale)
            assert check_message_payload({"text": text, "blocks": result_blocks}) == []
        assert check_view(lookup_blocks.search_modal(locale)) == []
    text, result_blocks = lookup_blocks.result_blocks(outcomes[1], "en")
    shown = visible_text({"text": text, "blocks": result_blocks})
    assert "Lyon · born 1980 · ☎ •• •• •• 78 · last seen 2 Mar 2026" in shown


@pytest.mark.parametrize("locale, expected", [
    ("en", "web: name, contact · pos: loyalty, store"),
    ("fr", "web: nom, coordonnées · pos: fidélité, magasin"),
])
def test_sources_say_which_system_each_fact_came_from_in_one_short_line(locale, expected):
    card = blocks.profile_blocks(
        profile(provenance={"first_name": "web", "last_name": "web", "email": "web", "phone": "web",
                            "loyalty_id": "pos", "loyalty_tier": "pos", "preferred_store_id": "pos"}),
        locale,
    )
    assert expected in visible_text({"blocks": card})
