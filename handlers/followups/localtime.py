"""The employee's local day and time, from the app clock (naive UTC) and their time zone."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_now(utc_now: dt.datetime, timezone: str | None) -> dt.datetime:
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return utc_now.replace(tzinfo=dt.UTC).astimezone(zone)


def local_today(utc_now: dt.datetime, timezone: str | None) -> dt.date:
    return local_now(utc_now, timezone).date()
