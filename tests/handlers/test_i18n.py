"""Dates, amounts, day names and counted nouns as an employee reads them, in English and French (CLDR)."""
import datetime as dt
from decimal import Decimal

import pytest

from handlers.digest.blocks import employee_digest_message
from handlers.i18n import _catalog, t
from handlers.i18n.formats import (
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_weekday_date,
    format_weekdays,
)
from store.digest import CallbackLine, DayLine, EmployeeDigest


@pytest.mark.parametrize("count, locale, expected", [
    (1, "en", "You have 1 open follow-up."),
    (2, "en", "You have 2 open follow-ups."),
    (0, "en", "You have 0 open follow-ups."),
    (1, "fr", "Vous avez 1 suivi en cours."),
    (0, "fr", "Vous avez 0 suivi en cours."),   # French counts zero in the singular
    (3, "fr-FR", "Vous avez 3 suivis en cours."),
    (1_000_000, "fr", "Vous avez 1000000 suivis en cours."),  # CLDR "many": the entry's "other" form
])
def test_counted_nouns_agree_with_the_count_in_each_language(count, locale, expected):
    assert t("followups.fallback", locale, count=count) == expected


def test_a_plural_entry_without_a_count_is_a_bug_caught_by_tests():
    with pytest.raises(TypeError):
        t("followups.fallback", "en")


def test_every_plural_entry_has_an_other_form():
    for key, entry in _catalog().items():
        for language, text in entry.items():
            assert isinstance(text, str) or "other" in text, (key, language)


def test_one_more_order_line_is_singular_in_french():
    assert t("profile.more_lines", "fr", count=1) == "+1 autre"
    assert t("profile.more_lines", "fr", count=4) == "+4 autres"


@pytest.mark.parametrize("locale, date, weekday_date, stamp", [
    ("en", "2 Apr 2019", "Tue, 2 Apr 2019", "2 Apr 2019, 09:05"),
    ("fr", "2 avr. 2019", "mar. 2 avr. 2019", "2 avr. 2019, 09:05"),
    ("de", "2 Apr 2019", "Tue, 2 Apr 2019", "2 Apr 2019, 09:05"),  # unsupported: English
])
def test_dates_read_naturally_in_each_language(locale, date, weekday_date, stamp):
    assert format_date(dt.date(2019, 4, 2), locale) == date
    assert format_weekday_date(dt.date(2019, 4, 2), locale) == weekday_date
    assert format_datetime(dt.datetime(2019, 4, 2, 9, 5), locale) == stamp
    assert format_date(None, locale) == "—"


@pytest.mark.parametrize("amount, currency, locale, expected", [
    (Decimal("1234.5"), "EUR", "en", "€1,234.50"),
    (Decimal("1234.5"), "EUR", "fr", "1\u202f234,50\u00a0€"),  # narrow no-break thousands, symbol after
    (59.9, "EUR", "fr", "59,90\u00a0€"),
    (-12, "GBP", "en", "-£12.00"),
    (20, "USD", "en", "US$20.00"),  # unambiguous next to other dollars
    (20, "USD", "fr", "20,00\u00a0$US"),
])
def test_money_follows_the_readers_conventions(amount, currency, locale, expected):
    assert format_money(amount, currency, locale) == expected


@pytest.mark.parametrize("days, locale, expected", [
    ([0, 1, 2, 3, 4], "en", "Monday–Friday"),
    ([1, 2, 3, 4, 5], "fr", "mardi–samedi"),
    ([0, 2, 4], "fr", "lundi, mercredi, vendredi"),
    ([5, 6], "en", "Saturday, Sunday"),
    ([], "en", ""),
])
def test_digest_days_in_the_readers_language(days, locale, expected):
    assert format_weekdays(days, locale) == expected


def _digest(interactions, customers, done, callbacks):
    line = CallbackLine(customer_id=7, customer_name="Léa Martin", promised_on=dt.date(2026, 3, 2), channel="phone")
    return EmployeeDigest(employee_id=1, local_date=dt.date(2026, 3, 3), due_today=[], due_today_total=0,
                          overdue=[], overdue_total=0, callbacks=[line] * callbacks, vip_issues=[],
                          yesterday=DayLine(interactions=interactions, customers=customers, followups_done=done))


@pytest.mark.parametrize("locale, counts, yesterday, fallback", [
    ("en", (1, 1, 1, 1), "Yesterday: 1 interaction with 1 customer, 1 follow-up done.", "1 call-back."),
    ("en", (5, 3, 0, 2), "Yesterday: 5 interactions with 3 customers, 0 follow-ups done.", "2 call-backs."),
    ("fr", (1, 1, 0, 1), "Hier : 1 échange avec 1 client, 0 suivi terminé.", "1 rappel."),
    ("fr", (4, 2, 2, 3), "Hier : 4 échanges avec 2 clients, 2 suivis terminés.", "3 rappels."),
])
def test_the_digest_counts_agree_with_their_nouns(locale, counts, yesterday, fallback):
    message = employee_digest_message(_digest(*counts), locale)
    assert yesterday in str(message["blocks"])
    assert message["text"].endswith(fallback)


@pytest.mark.parametrize("value, decimals, locale, expected", [
    (12345, 0, "en", "12,345"),
    (12345, 0, "fr", "12\u202f345"),  # CLDR French grouping: narrow no-break space
    (2.5, 1, "fr", "2,5"),
    (3, 1, "en", "3.0"),
])
def test_numbers_follow_the_readers_conventions(value, decimals, locale, expected):
    assert format_number(value, locale, decimals) == expected
