"""When digests are due, and who sends each one: schedule settings and exactly-once claims.

Schedules are rows, not jobs: Employee.digest_time / digest_weekdays / digest_paused, and one
DigestRun per (employee, kind, local day). A digest is due once the employee's local time has passed
their digest time on one of their working days, while it is still relevant that day (before 18:00
local, or two hours after a later digest time). So a digest missed during downtime goes out once
when the bot is back that day, and never several times.

Exactly-once across processes: a sender must CLAIM the run first. The claim is an
INSERT ... ON CONFLICT DO NOTHING on the unique (employee_id, kind, local_date) key; only the process
whose insert went in (rowcount 1) sends. A failed run is claimed again by a conditional UPDATE after
a back-off, up to MAX_ATTEMPTS; a claim whose process died (status still "claimed" after
STALE_CLAIM) is taken over the same way. Both are compare-and-set in one statement, so two
processes can never both win.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from store.db import affected_rows
from store.clock import time_zone, to_local_naive
from store.dialect import insert_for
from store.models import DigestRun, Employee
from store.permissions import sees_team
from store.vocabulary import DigestKind, DigestStatus

RELEVANT_UNTIL = dt.time(18, 0)
LATE_GRACE = dt.timedelta(hours=2)
STALE_CLAIM = dt.timedelta(minutes=10)
RETRY_BACKOFF = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 3
DEFAULT_WEEKDAYS = "0,1,2,3,4"
FINISHED = (DigestStatus.SENT, DigestStatus.EMPTY)

_DAY_NAMES = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "lun": 0, "mar": 1, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6,
}


def parse_time(text: str) -> str | None:
    """'8:30', '08h30', '8h' -> '08:30' / '08:00'; None if not a time of day."""
    match = re.fullmatch(r"([01]?\d|2[0-3])(?:[:hH]([0-5]\d)?)?", text.strip())
    if not match:
        return None
    return f"{int(match.group(1)):02d}:{match.group(2) or '00'}"


def parse_weekdays(text: str) -> str | None:
    """'mon-fri', 'lun-ven', 'mon,wed,fri', 'tue-sat', 'every day'/'tous' -> '0,1,2,3,4'; None if invalid."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned in ("everyday", "daily", "all", "tous", "touslesjours", "mon-sun", "lun-dim"):
        return "0,1,2,3,4,5,6"
    days: set[int] = set()
    for part in filter(None, cleaned.split(",")):
        ends = part.split("-")
        if len(ends) > 2 or any(e[:3] not in _DAY_NAMES for e in ends):
            return None
        first, last = _DAY_NAMES[ends[0][:3]], _DAY_NAMES[ends[-1][:3]]
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return ",".join(str(d) for d in sorted(days)) if days else None


def weekdays_of(stored: str | None) -> set[int]:
    return {int(d) for d in (stored if stored is not None else DEFAULT_WEEKDAYS).split(",") if d.strip().isdigit()}


class Zoned(Protocol):
    """An employee row or the few columns of one that `due_digests` selects."""

    @property
    def timezone(self) -> str | None: ...


def employee_zone(employee: Zoned, default_timezone: str) -> ZoneInfo:
    return time_zone(employee.timezone, default_timezone)


def digest_time_of(employee: Employee, default_time: str) -> dt.time:
    return dt.time.fromisoformat(employee.digest_time or default_time)


@dataclass(frozen=True)
class DueDigest:
    employee_id: int
    kind: DigestKind
    local_date: dt.date


def _is_due(local_now: dt.datetime, at: dt.time, weekdays: set[int]) -> bool:
    if local_now.weekday() not in weekdays or local_now.time() < at:
        return False
    day = local_now.date()
    until = max(dt.datetime.combine(day, RELEVANT_UNTIL), dt.datetime.combine(day, at) + LATE_GRACE)
    return local_now < until  # a late digest time may run to midnight, never into the next day


def due_digests(session: Session, *, now: dt.datetime, default_time: str, default_timezone: str) -> list[DueDigest]:
    """Digests whose time has come and that nobody has sent, is sending, or gave up on."""
    employees = session.execute(
        select(Employee.id, Employee.role, Employee.team_id, Employee.timezone, Employee.digest_time,
               Employee.digest_weekdays)
        .where(Employee.active.is_(True), Employee.digest_paused.is_(False))
    ).all()
    candidates: list[DueDigest] = []
    for row in employees:
        tz = employee_zone(row, default_timezone)
        local_now = to_local_naive(now, tz)
        if not _is_due(local_now, dt.time.fromisoformat(row.digest_time or default_time), weekdays_of(row.digest_weekdays)):
            continue
        candidates.append(DueDigest(employee_id=row.id, kind=DigestKind.EMPLOYEE, local_date=local_now.date()))
        if sees_team(row):
            candidates.append(DueDigest(employee_id=row.id, kind=DigestKind.TEAM, local_date=local_now.date()))
    if not candidates:
        return []
    dates = {c.local_date for c in candidates}
    runs = {
        (r.employee_id, r.kind, r.local_date): r
        for r in session.scalars(select(DigestRun).where(DigestRun.local_date.in_(dates)))
    }
    return [c for c in candidates if _claimable(runs.get((c.employee_id, c.kind, c.local_date)), now)]


def _claimable(run: DigestRun | None, now: dt.datetime) -> bool:
    if run is None:
        return True
    if run.attempts >= MAX_ATTEMPTS or run.status in FINISHED:
        return False
    if run.status == DigestStatus.FAILED:
        return run.claimed_at <= now - RETRY_BACKOFF
    return run.claimed_at <= now - STALE_CLAIM  # claimed by a process that may have died


def try_claim(session: Session, due: DueDigest, *, now: dt.datetime) -> bool:
    """True if this caller now owns the digest; commit right after so other processes see the claim."""
    inserted = session.execute(
        insert_for(session, DigestRun.__table__).values(employee_id=due.employee_id, kind=due.kind, local_date=due.local_date,
                                status="claimed", attempts=1, claimed_at=now)
        .on_conflict_do_nothing(index_elements=["employee_id", "kind", "local_date"])
        .returning(DigestRun.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return True
    retaken = affected_rows(
        session,
        update(DigestRun)
        .where(DigestRun.employee_id == due.employee_id, DigestRun.kind == due.kind,
               DigestRun.local_date == due.local_date, DigestRun.attempts < MAX_ATTEMPTS,
               or_(and_(DigestRun.status == DigestStatus.FAILED, DigestRun.claimed_at <= now - RETRY_BACKOFF),
                   and_(DigestRun.status == DigestStatus.CLAIMED, DigestRun.claimed_at <= now - STALE_CLAIM)))
        .values(status=DigestStatus.CLAIMED, attempts=DigestRun.attempts + 1, claimed_at=now, error=None)
        .execution_options(synchronize_session=False),
    )
    return retaken == 1


def finish(session: Session, due: DueDigest, *, status: DigestStatus, now: dt.datetime, error: str | None = None) -> None:
    session.execute(
        update(DigestRun)
        .where(DigestRun.employee_id == due.employee_id, DigestRun.kind == due.kind,
               DigestRun.local_date == due.local_date)
        .values(status=status, finished_at=now, error=(error or None) and error[:200])
        .execution_options(synchronize_session=False)
    )


def record_manual_send(session: Session, due: DueDigest, *, now: dt.datetime) -> None:
    """A digest sent by hand counts as today's: the scheduled one is then not sent again."""
    session.execute(
        insert_for(session, DigestRun.__table__).values(employee_id=due.employee_id, kind=due.kind, local_date=due.local_date,
                                status="sent", attempts=1, claimed_at=now, finished_at=now)
        .on_conflict_do_nothing(index_elements=["employee_id", "kind", "local_date"])
    )


def last_run(session: Session, employee_id: int, local_date: dt.date, kind: DigestKind = DigestKind.EMPLOYEE) -> DigestRun | None:
    return session.scalars(select(DigestRun).where(
        DigestRun.employee_id == employee_id, DigestRun.kind == kind, DigestRun.local_date == local_date)).first()
