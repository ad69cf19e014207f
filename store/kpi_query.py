"""Parse what follows `/kpi`: scope, period and grouping, in English or French. Pure, no database.

    /kpi [me | team | @someone | store NAME | all] [today | week | month | last N days | YYYY-MM | FROM..TO]
         [by employee | channel | type | day]

Every part is optional (defaults: me, week, no grouping) and they may come in any order. Periods
are local calendar days [start, end) in the viewer's time zone, between FIRST_DAY and LAST_DAY, at most
MAX_PERIOD_DAYS long; store.kpi turns them into UTC. Numbers and dates are ASCII digits. Right after
`store` comes the store, even when its code spells a keyword (`store PAR`).
Errors carry a catalog key and parameters so the handler can explain them in the user's language.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from store.errors import Refused


class ScopeKind(StrEnum):
    """Whose figures: the viewer's, a colleague's, the viewer's team, a store, or everyone (admins)."""

    ME = "me"
    EMPLOYEE = "employee"
    TEAM = "team"
    STORE = "store"
    ALL = "all"


class Grouping(StrEnum):
    """`by ...`: the rows of a report's table."""

    EMPLOYEE = "employee"
    CHANNEL = "channel"
    TYPE = "type"
    DAY = "day"


class PeriodKind(StrEnum):
    """How a period was asked for: `today`, `week`, `month` (to date), `last N days`, `YYYY-MM`, a date or range."""

    TODAY = "today"
    WEEK = "week"
    MONTH = "month"
    LAST_DAYS = "last_days"
    MONTH_OF = "month_of"
    RANGE = "range"


# What `period_for` understands: the running periods, yesterday (a past "today") and the last N days.
PeriodWord = Literal["today", "week", "month", "yesterday", "last_days"]

MAX_PERIOD_DAYS = 366
# Dates a period may cover: nothing was recorded before 2000, and the bound far from `date`'s own limits
# keeps every date arithmetic (previous period, UTC edges) valid: `9999-12` used to crash after the ack.
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
GROUPINGS = tuple(Grouping)

_SCOPE_WORDS = {
    "me": ScopeKind.ME, "moi": ScopeKind.ME, "team": ScopeKind.TEAM, "équipe": ScopeKind.TEAM,
    "equipe": ScopeKind.TEAM, "all": ScopeKind.ALL, "everyone": ScopeKind.ALL, "company": ScopeKind.ALL,
    "tous": ScopeKind.ALL, "tout": ScopeKind.ALL,
}
_STORE_WORDS = {"store", "magasin", "boutique"}
_GROUP_WORDS = {
    "employee": Grouping.EMPLOYEE, "employees": Grouping.EMPLOYEE, "person": Grouping.EMPLOYEE,
    "employé": Grouping.EMPLOYEE, "employe": Grouping.EMPLOYEE, "employés": Grouping.EMPLOYEE,
    "vendeur": Grouping.EMPLOYEE,
    "channel": Grouping.CHANNEL, "canal": Grouping.CHANNEL, "canaux": Grouping.CHANNEL,
    "type": Grouping.TYPE, "types": Grouping.TYPE,
    "day": Grouping.DAY, "days": Grouping.DAY, "jour": Grouping.DAY, "jours": Grouping.DAY,
}
_PERIOD_WORDS: dict[str, PeriodWord] = {
    "today": "today", "aujourd'hui": "today", "aujourdhui": "today", "auj": "today",
    "week": "week", "semaine": "week",
    "month": "month", "mois": "month",
}
_MENTION = re.compile(r"^<@([UW][A-Z0-9_]+)(?:\|[^>]*)?>$")
# ASCII digits only: `\d` also matches other scripts' digits, and `str.isdigit` superscripts (³) that
# int() refuses.
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_RANGE = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})\.\.([0-9]{4}-[0-9]{2}-[0-9]{2})$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class KpiQueryError(Refused, ValueError):
    """Bad input; `key` is a catalog key (handlers/i18n/kpi.py), `params` fill it in."""


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    slack_user_id: str | None = None  # kind "employee", from a <@U…> mention
    name: str | None = None  # kind "employee" typed as @handle, or kind "store"


@dataclass(frozen=True)
class Period:
    """Local days [start, end); `previous` is the period it is compared with (same length)."""

    kind: PeriodKind
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def previous(self) -> Period:
        # Week-to-date is compared with the same weekdays of last week (Monday-to-Wednesday against
        # Monday-to-Wednesday); every other period with the days just before it.
        shift = dt.timedelta(days=7 if self.kind == PeriodKind.WEEK else self.days)
        return Period(kind=self.kind, start=self.start - shift, end=self.end - shift)

    def local_days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True)
class KpiQuery:
    scope: Scope
    period: Period
    group_by: Grouping | None


def period_for(kind: PeriodWord, today: dt.date, *, days: int = 30) -> Period:
    tomorrow = today + dt.timedelta(days=1)
    if kind == "today":
        return Period(kind=PeriodKind.TODAY, start=today, end=tomorrow)
    if kind == "week":
        return Period(kind=PeriodKind.WEEK, start=today - dt.timedelta(days=today.weekday()), end=tomorrow)
    if kind == "month":
        return Period(kind=PeriodKind.MONTH, start=today.replace(day=1), end=tomorrow)
    if kind == "yesterday":
        return Period(kind=PeriodKind.TODAY, start=today - dt.timedelta(days=1), end=today)
    if kind == "last_days":
        return Period(kind=PeriodKind.LAST_DAYS, start=tomorrow - dt.timedelta(days=days), end=tomorrow)
    raise ValueError(kind)


def _out_of_range() -> KpiQueryError:
    return KpiQueryError("kpi.error.out_of_range", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())


def _month(year: int, month: int) -> Period:
    if not 1 <= month <= 12:
        raise KpiQueryError("kpi.error.bad_month", value=f"{year:04d}-{month:02d}")
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise _out_of_range()
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return Period(kind=PeriodKind.MONTH_OF, start=start, end=end)


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise KpiQueryError("kpi.error.bad_date", value=text) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _out_of_range()
    return day


def _number(text: str) -> int | None:
    """A count typed in ASCII digits (at most 6 of them: no period is longer), else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


def parse_kpi_query(text: str, *, today: dt.date) -> KpiQuery:
    """Parse `/kpi` arguments; raises KpiQueryError with a precise reason."""
    tokens = (text or "").replace("…", "..").split()
    scope: Scope | None = None
    period: Period | None = None
    group_by: Grouping | None = None

    def set_scope(value: Scope) -> None:
        nonlocal scope
        if scope is not None:
            raise KpiQueryError("kpi.error.two_scopes")
        scope = value

    def set_period(value: Period) -> None:
        nonlocal period
        if period is not None:
            raise KpiQueryError("kpi.error.two_periods")
        if value.days > MAX_PERIOD_DAYS:
            raise KpiQueryError("kpi.error.too_long", days=MAX_PERIOD_DAYS)
        period = value

    i = 0
    while i < len(tokens):
        token = tokens[i]
        word = token.lower().rstrip(",")
        following = [t.lower() for t in tokens[i + 1:i + 3]]
        if word in _SCOPE_WORDS:
            set_scope(Scope(kind=_SCOPE_WORDS[word]))
        elif mention := _MENTION.match(token):
            set_scope(Scope(kind=ScopeKind.EMPLOYEE, slack_user_id=mention.group(1)))
        elif word.startswith("@") and len(word) > 1:
            set_scope(Scope(kind=ScopeKind.EMPLOYEE, name=token[1:]))
        elif word in _STORE_WORDS:
            name_tokens: list[str] = []
            # Right after `store` comes the store: its code wins over a keyword it happens to spell
            # (`store PAR` is the store PAR, not "by"), unless it starts a grouping (`store par jour`).
            if i + 1 < len(tokens) and not _starts_grouping(tokens, i + 1):
                i += 1
                name_tokens.append(tokens[i])
            while name_tokens and i + 1 < len(tokens) and not _starts_other_part(tokens, i + 1):
                i += 1
                name_tokens.append(tokens[i])
            if not name_tokens:
                raise KpiQueryError("kpi.error.store_name_missing")
            set_scope(Scope(kind=ScopeKind.STORE, name=" ".join(name_tokens)))
        elif word in _PERIOD_WORDS:
            set_period(period_for(_PERIOD_WORDS[word], today))
        elif word in ("yesterday", "hier"):
            set_period(period_for("yesterday", today))
        elif word in ("last", "derniers") or (word.isdigit() and following[:1] in (["derniers"], ["dernier"])):
            i += _parse_last_days(tokens, i, today, set_period)
        elif word in ("by", "par"):
            if i + 1 >= len(tokens) or tokens[i + 1].lower() not in _GROUP_WORDS:
                raise KpiQueryError("kpi.error.bad_group", value=tokens[i + 1] if i + 1 < len(tokens) else "",
                                    choices=", ".join(GROUPINGS))
            if group_by is not None:
                raise KpiQueryError("kpi.error.two_groups")
            i += 1
            group_by = _GROUP_WORDS[tokens[i].lower()]
        elif month_match := _MONTH.match(word):
            year, month = month_match.groups()
            set_period(_month(int(year), int(month)))
        elif range_match := _RANGE.match(word):
            first, last = (_date(part) for part in range_match.groups())
            if last < first:
                raise KpiQueryError("kpi.error.range_backwards", start=first.isoformat(), end=last.isoformat())
            set_period(Period(kind=PeriodKind.RANGE, start=first, end=last + dt.timedelta(days=1)))
        elif _DATE.match(word):
            day = _date(word)
            set_period(Period(kind=PeriodKind.RANGE, start=day, end=day + dt.timedelta(days=1)))
        elif ".." in word:
            raise KpiQueryError("kpi.error.bad_range", value=token)
        else:
            raise KpiQueryError("kpi.error.unknown_word", value=token)
        i += 1
    return KpiQuery(scope=scope or Scope(kind=ScopeKind.ME), period=period or period_for("week", today),
                    group_by=group_by)


def _parse_last_days(tokens: list[str], i: int, today: dt.date, set_period: Callable[[Period], None]) -> int:
    """`last 30 days` / `last 7 days` / `30 derniers jours`; returns how many extra tokens were used."""
    words = [t.lower() for t in tokens[i:i + 3]]
    number: int | None
    if words[0] == "last" and len(words) == 3 and words[1].isdigit() and words[2] in ("days", "day"):
        number = _number(words[1])
    elif words[0] == "last" and len(words) >= 2 and words[1] in ("week", "month"):
        number = 7 if words[1] == "week" else 30
        set_period(period_for("last_days", today, days=number))
        return 1
    elif len(words) == 3 and words[0].isdigit() and words[1] in ("derniers", "dernier") and words[2] in ("jours", "jour"):
        number = _number(words[0])
    else:
        raise KpiQueryError("kpi.error.bad_last", value=" ".join(tokens[i:i + 3]))
    if number is None and words[0 if words[0] != "last" else 1].isascii():
        raise KpiQueryError("kpi.error.too_long", days=MAX_PERIOD_DAYS)  # seven digits or more
    if number is None or number < 1:
        raise KpiQueryError("kpi.error.bad_last", value=" ".join(tokens[i:i + 3]))
    if number > MAX_PERIOD_DAYS:
        raise KpiQueryError("kpi.error.too_long", days=MAX_PERIOD_DAYS)
    set_period(period_for("last_days", today, days=number))
    return 2


def _starts_grouping(tokens: list[str], i: int) -> bool:
    """`by`/`par` is the grouping keyword only when a grouping follows it; otherwise it is a name (`PAR`)."""
    return (tokens[i].lower() in ("by", "par") and i + 1 < len(tokens)
            and tokens[i + 1].lower() in _GROUP_WORDS)


def _starts_other_part(tokens: list[str], i: int) -> bool:
    word = tokens[i].lower()
    return (
        _starts_grouping(tokens, i)
        or word in _PERIOD_WORDS or word in ("last", "yesterday", "hier") or word in _SCOPE_WORDS
        or bool(_MONTH.match(word) or _RANGE.match(word) or _DATE.match(word) or _MENTION.match(tokens[i]))
        or (word.isdigit() and i + 1 < len(tokens) and tokens[i + 1].lower() in ("derniers", "dernier"))
    )
