"""The interaction, follow-up and home builders produce payloads Slack accepts, in both languages."""
from __future__ import annotations

import datetime as dt

import pytest

from localslack.block_checks import check_message_payload, check_view
from handlers.followups import blocks as followup_blocks
from handlers.home import blocks as home_blocks
from handlers.interactions import blocks, ids
from store.audit import RecentCustomer
from store.followups import OpenFollowUp
from store.interactions import CustomerChoice, FieldError

TODAY = dt.date(2026, 3, 2)
HELENE = CustomerChoice(42, "Hélène <!channel> Darcy", "Paris", "78")
LOCALES = ["en", "fr"]


def inputs(view):
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


@pytest.mark.parametrize("locale", LOCALES)
def test_log_modal_is_valid_and_prefilled(locale):
    view = blocks.log_modal(locale, me="U_LEA", customer=HELENE, note="x" * 5000, default_channel="store")
    assert check_view(view) == []
    elements = inputs(view)
    assert elements[ids.CUSTOMER]["initial_option"]["value"] == "42"
    assert elements[ids.CUSTOMER]["type"] == "external_select"
    assert elements[ids.CHANNEL]["initial_option"]["value"] == "store"
    assert len(elements[ids.NOTE]["initial_value"]) == 3000
    assert elements[ids.ASSIGNEE]["initial_user"] == "U_LEA"
    assert [o["value"] for o in elements[ids.TYPE]["options"]] == [
        "visit", "call", "complaint", "advice", "return", "purchase", "other"]


def test_blank_log_modal_has_no_customer():
    view = blocks.log_modal("en", me="U_LEA")
    assert check_view(view) == []
    assert "initial_option" not in inputs(view)[ids.CUSTOMER]


def test_customer_option_fits_slack_limit_and_tells_namesakes_apart():
    option = blocks.customer_option(CustomerChoice(1, "A" * 200, "Lyon", "12"))
    assert len(option["text"]["text"]) <= 75
    # Escaped like every text from data (plain_text too: Slack reads the entities back as characters).
    assert blocks.customer_option(HELENE)["text"]["text"] == "Hélène &lt;!channel&gt; Darcy · Paris · ••78"


def test_follow_up_modal_requires_a_due_date():
    view = blocks.follow_up_modal("fr", me="U_LEA", customer=HELENE)
    assert check_view(view) == []
    due = next(b for b in view["blocks"] if b.get("block_id") == ids.DUE)
    assert not due.get("optional")


def test_read_state_reads_every_element_kind():
    state = {
        ids.CUSTOMER: {ids.CUSTOMER_SELECT: {"type": "external_select", "selected_option": {"value": "42"}}},
        ids.CHANNEL: {"c": {"type": "static_select", "selected_option": None}},
        ids.NOTE: {"n": {"type": "plain_text_input", "value": "hi"}},
        ids.DUE: {"d": {"type": "datepicker", "selected_date": "2026-03-05"}},
        ids.ASSIGNEE: {"a": {"type": "users_select", "selected_user": "U_MARC"}},
    }
    assert blocks.read_state(state) == {ids.CUSTOMER: "42", ids.CHANNEL: None, ids.NOTE: "hi",
                                        ids.DUE: "2026-03-05", ids.ASSIGNEE: "U_MARC"}


def test_errors_are_translated_and_land_on_their_block():
    view = blocks.log_modal("fr", me="U_LEA")
    errors = blocks.slack_errors({ids.NOTE: FieldError("interactions.error.note_too_long", {"limit": 3000, "length": 3100}),
                                  "nowhere": FieldError("interactions.error.customer_missing")}, "fr", view["blocks"])
    assert errors == {ids.NOTE: "La note fait 3100 caractères ; limitez-la à 3000.",
                      ids.CUSTOMER: "Choisissez le client."}


@pytest.mark.parametrize("locale", LOCALES)
def test_confirmation_escapes_customer_text(locale):
    text, message = blocks.confirmation(locale, customer_name="<@U1> Bob", type_="advice", channel="store",
                                        outcome="resolved", declared=["shoes 39"], follow_up=("5 Mar 2026", "Marc <x>"))
    assert check_message_payload({"text": text, "blocks": message}) == []
    assert "<@U1>" not in text and "&lt;@U1&gt;" in text and "Marc &lt;x&gt;" in text


def follow_ups(n, overdue=2):
    return [OpenFollowUp(i, 42 if i % 3 else None, "Hélène Darcy" if i % 2 else None, TODAY + dt.timedelta(days=i - overdue),
                         "call back <!here> " * 20, i < overdue, 7) for i in range(n)]


@pytest.mark.parametrize("count", [0, 1, 15, 40])
def test_follow_up_message_stays_under_the_block_limit(count):
    text, message = followup_blocks.follow_up_message(follow_ups(count), TODAY, "fr")
    assert check_message_payload({"text": text, "blocks": message}) == []
    assert "<!here>" not in str(message)


def test_follow_up_shows_overdue_and_offers_done_and_three_snoozes():
    block = followup_blocks.follow_up_block(follow_ups(3)[0], TODAY, "en")
    assert "overdue since 28 Feb 2026" in block["text"]["text"]
    assert [o["value"] for o in block["accessory"]["options"]] == ["0:1", "0:3", "0:7"]
    assert followup_blocks.parse_snooze("12:3") == (12, 3) and followup_blocks.parse_snooze("x") is None


@pytest.mark.parametrize("locale", LOCALES)
def test_home_view_is_valid_with_many_follow_ups(locale):
    recent = [RecentCustomer(i, f"Client {i}", dt.datetime(2026, 3, 1)) for i in range(5)]
    view = home_blocks.home_view(locale, name="Léa Martin", follow_ups=follow_ups(60), recent=recent, today=TODAY,
                                 updated="2 Mar 2026 10:00", notice="Done")
    assert check_view(view) == []
