"""The one clock: what "now" is, and how a stored moment becomes an employee's local day.

Storage convention: every datetime in the database is naive UTC. `utc_now()` is the only definition of
"now" in the product; the app and the scheduler receive it as a `Clock` (tests pass a fixed one), and
the models use it as the default of their timestamp columns. Local days and times are computed at the
edges, with the employee's (or the KPI rollup's) time zone, by the helpers below.

Migrations keep frozen copies of what they need: a migration must not change when this module does.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], dt.datetime]
"""Returns now as naive UTC."""

UTC_ZONE = ZoneInfo("UTC")


def utc_now() -> dt.datetime:
    """Now, as naive UTC: the convention of every stored datetime."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def time_zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The time zone called `name`; `default` when it is unset or unknown (an employee's Slack profile may
    carry a zone this machine's tz database lacks: showing UTC beats failing). `default` must exist."""
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def to_local(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A stored (naive UTC) moment as an aware datetime in `tz`."""
    return moment.replace(tzinfo=dt.UTC).astimezone(tz)


def to_local_naive(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A stored (naive UTC) moment as the wall-clock time in `tz`, without its zone (for formatting and
    comparing with local times of day)."""
    return to_local(moment, tz).replace(tzinfo=None)


def local_day(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The day in `tz` a stored (naive UTC) moment falls on."""
    return to_local(moment, tz).date()


def to_utc(moment: dt.datetime) -> dt.datetime:
    """An aware datetime as a stored moment (naive UTC)."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def local_time_utc(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """When the wall clock in `tz` shows `time` on `day`, as a stored moment (naive UTC)."""
    return to_utc(dt.datetime.combine(day, time, tzinfo=tz))


def local_midnight_utc(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The start of `day` in `tz`, as a stored moment (naive UTC): the lower bound of that local day."""
    return local_time_utc(day, dt.time(0), tz)


def local_now(moment: dt.datetime, timezone: str | None) -> dt.datetime:
    """A stored (naive UTC) moment, aware, in the employee's time zone (UTC when unset or unknown)."""
    return to_local(moment, time_zone(timezone))


def local_today(moment: dt.datetime, timezone: str | None) -> dt.date:
    """The employee's day at a stored (naive UTC) moment (UTC when their zone is unset or unknown)."""
    return local_now(moment, timezone).date()
