"""The one clock: stored moments are naive UTC, local days follow the zone's own calendar (DST included)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from store.clock import local_day, local_midnight_utc, local_today, time_zone, to_local_naive, to_utc, utc_now

PARIS = ZoneInfo("Europe/Paris")


def test_now_is_naive_utc():
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    now = utc_now()
    assert now.tzinfo is None
    assert before <= now <= dt.datetime.now(dt.UTC).replace(tzinfo=None)


def test_a_late_evening_in_utc_is_already_tomorrow_in_paris():
    moment = dt.datetime(2026, 6, 30, 22, 30)  # 00:30 on 1 July in Paris (UTC+2)
    assert local_day(moment, PARIS) == dt.date(2026, 7, 1)
    assert to_local_naive(moment, PARIS) == dt.datetime(2026, 7, 1, 0, 30)
    assert local_day(moment, time_zone("UTC")) == dt.date(2026, 6, 30)


def test_local_midnight_moves_with_daylight_saving():
    assert local_midnight_utc(dt.date(2026, 1, 15), PARIS) == dt.datetime(2026, 1, 14, 23, 0)
    assert local_midnight_utc(dt.date(2026, 7, 15), PARIS) == dt.datetime(2026, 7, 14, 22, 0)
    # The day the clocks go forward has 23 hours.
    spring = dt.date(2026, 3, 29)
    assert local_midnight_utc(spring + dt.timedelta(days=1), PARIS) - local_midnight_utc(spring, PARIS) == dt.timedelta(hours=23)


def test_an_unknown_or_missing_zone_falls_back_instead_of_failing():
    assert time_zone("Mars/Olympus_Mons").key == "UTC"
    assert time_zone(None, "Europe/Paris").key == "Europe/Paris"
    assert time_zone("Not/AZone", "Europe/Paris").key == "Europe/Paris"
    assert local_today(dt.datetime(2026, 6, 30, 23, 0), "Nowhere/Land") == dt.date(2026, 6, 30)
    assert local_today(dt.datetime(2026, 6, 30, 23, 0), "Europe/Paris") == dt.date(2026, 7, 1)


def test_an_aware_moment_is_stored_as_naive_utc():
    assert to_utc(dt.datetime(2026, 7, 1, 0, 30, tzinfo=PARIS)) == dt.datetime(2026, 6, 30, 22, 30)
