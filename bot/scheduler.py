"""The one scheduler registry: APScheduler 3 BackgroundScheduler with named, coalesced jobs.

Every bot process (each gunicorn worker, each host) may run it. Jobs are idempotent ticks over
database state rather than one APScheduler job per person, so schedules survive restarts with no
job store and several processes can run side by side: the "digests" tick claims each digest in the
database before sending it (store.digest_runs), so exactly one process sends it.

Other features add jobs with a one-line edit to JOB_SOURCES: functions
`scheduled_jobs(settings, session_factory, client, clock) -> list[ScheduledJob]` (bot.jobs).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import Counter
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from sqlalchemy import select

from bot import live_jobs, retention_job
from bot.jobs import ScheduledJob
from handlers.digest.blocks import employee_digest_message, team_digest_message
from handlers.i18n import normalise_locale
from store.clock import Clock, local_day, utc_now
from store.digest import compose_employee_digests, compose_team_digests
from store.digest_runs import DueDigest, due_digests, employee_zone, finish, record_manual_send, try_claim
from store.models import Employee
from store.permissions import sees_team
from store.vocabulary import DigestKind, DigestStatus

log = logging.getLogger(__name__)

JobSource = Callable[..., list[ScheduledJob]]
# Every job besides the digests: each source's scheduled_jobs(settings, session_factory, client, clock).
JOB_SOURCES: list[JobSource] = [retention_job.scheduled_jobs, live_jobs.scheduled_jobs]
DIGEST_TICK_SECONDS = 60
# Digests claimed, composed together and sent per round: a few queries per round instead of five per person,
# while a claim stays far younger than store.digest_runs.STALE_CLAIM before its digest goes out.
DIGEST_BATCH = 200

DIGESTS_SENT = Counter("frontline_digests_sent_total", "Digests delivered to Slack, by kind", ["kind"])
DIGESTS_FAILED = Counter("frontline_digest_failures_total", "Digest attempts that failed (retried later)", ["kind"])




def ensure_retry_handlers(client) -> None:
    """Wait out Slack's 429 Retry-After and retry a 5xx, instead of losing a digest."""
    handlers = client.retry_handlers
    if not any(isinstance(h, RateLimitErrorRetryHandler) for h in handlers):
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    if not any(isinstance(h, ServerErrorRetryHandler) for h in handlers):
        handlers.append(ServerErrorRetryHandler(max_retry_count=2))


def _error_code(error: Exception) -> str:
    """What went wrong, without any message text (which could quote customer data)."""
    if isinstance(error, SlackApiError):
        return f"slack:{(error.response or {}).get('error', 'error')}"
    return type(error).__name__


class DigestSender:
    """Composes and sends digests; `tick()` is the scheduled job."""

    def __init__(self, settings, session_factory, client, clock: Clock = utc_now, *,
                 configure_client: bool = True) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.client = client
        self.clock = clock
        if configure_client:  # listeners pass the app's shared client, already set up by bot.app.make_client
            ensure_retry_handlers(client)

    def compose(self, employee_id: int, kind: DigestKind, *, now: dt.datetime) -> tuple[Employee, dict | None]:
        return self.compose_many([employee_id], kind, now=now)[employee_id]

    def compose_many(self, employee_ids: list[int], kind: DigestKind, *,
                     now: dt.datetime) -> dict[int, tuple[Employee, dict | None]]:
        """Rendered digests of several employees: one batch per time zone (employee or team digests)."""
        result: dict[int, tuple[Employee, dict | None]] = {}
        with self.session_factory() as session:
            employees = session.scalars(select(Employee).where(Employee.id.in_(employee_ids))).all()
            by_zone: dict[str, list[Employee]] = {}
            for employee in employees:
                if not employee.active:  # deactivated between the tick's choice and now: nothing is sent
                    result[employee.id] = (employee, None)
                    continue
                by_zone.setdefault(employee_zone(employee, self.settings.default_timezone).key, []).append(employee)
            for zone_key, group in by_zone.items():
                tz = ZoneInfo(zone_key)
                today = local_day(now, tz)
                for employee, message in self._render(session, kind, group, today=today, now=now, tz=tz):
                    result[employee.id] = (employee, message)
            session.expunge_all()  # employees are read after the session closes (slack_user_id)
        return result

    def _render(self, session, kind: str, group: list[Employee], *, today: dt.date, now: dt.datetime,
                tz: ZoneInfo) -> Iterator[tuple[Employee, dict | None]]:
        """(employee, rendered digest or None when there is nothing to say) for one batch of a time zone."""
        if kind == "team":
            team = compose_team_digests(session, group, today=today, now=now, tz=tz)
            for employee in group:
                digest = team[employee.id]
                locale = normalise_locale(employee.locale, self.settings.default_locale)
                yield employee, team_digest_message(digest, locale) if digest else None
        else:
            personal = compose_employee_digests(session, group, today=today, now=now, tz=tz)
            for employee in group:
                mine = personal[employee.id]
                locale = normalise_locale(employee.locale, self.settings.default_locale)
                yield employee, employee_digest_message(mine, locale) if mine else None

    def deliver(self, slack_user_id: str, message: dict) -> None:
        channel = self.client.conversations_open(users=slack_user_id)["channel"]["id"]
        self.client.chat_postMessage(channel=channel, text=message["text"], blocks=message["blocks"],
                                     unfurl_links=False, unfurl_media=False)

    def send_one(self, due: DueDigest, *, now: dt.datetime,
                 composed: tuple[Employee, dict | None] | None = None) -> DigestStatus:
        employee, message = composed or self.compose(due.employee_id, due.kind, now=now)
        if message is None:
            return DigestStatus.EMPTY
        self.deliver(employee.slack_user_id, message)
        DIGESTS_SENT.labels(due.kind).inc()
        return DigestStatus.SENT

    def tick(self) -> dict[str, int]:
        """Send every digest that is due and unclaimed; one person's failure never stops the others."""
        now = self.clock()
        counts = {"sent": 0, "empty": 0, "failed": 0, "skipped": 0}
        with self.session_factory() as session:
            due = due_digests(session, now=now, default_time=self.settings.digest_default_time,
                              default_timezone=self.settings.default_timezone)
        for offset in range(0, len(due), DIGEST_BATCH):
            self._send_round(due[offset:offset + DIGEST_BATCH], now=now, counts=counts)
        if any(counts[k] for k in ("sent", "failed")):
            log.info("digest tick: %s", counts)
        return counts

    def _send_round(self, due: list[DueDigest], *, now: dt.datetime, counts: dict[str, int]) -> None:
        claimed = []
        for item in due:
            try:
                with self.session_factory.begin() as session:
                    if try_claim(session, item, now=now):
                        claimed.append(item)
                    else:
                        counts["skipped"] += 1
            except Exception as error:
                self._failed(item, error, counts)
        composed: dict[tuple[str, int], tuple[Employee, dict | None]] = {}
        for kind in DigestKind:
            ids = [item.employee_id for item in claimed if item.kind == kind]
            if not ids:
                continue
            try:
                composed.update({(kind, i): value for i, value in self.compose_many(ids, kind, now=now).items()})
            except Exception as error:
                log.warning("digest batch failed: kind=%s size=%s error=%s; composing one by one",
                            kind, len(ids), _error_code(error))
        for item in claimed:
            try:
                status = self.send_one(item, now=now, composed=composed.get((item.kind, item.employee_id)))
                with self.session_factory.begin() as session:
                    finish(session, item, status=status, now=self.clock())
                counts[status] += 1
            except Exception as error:
                self._failed(item, error, counts)

    def _failed(self, item: DueDigest, error: Exception, counts: dict[str, int]) -> None:
        counts["failed"] += 1
        DIGESTS_FAILED.labels(item.kind).inc()
        code = _error_code(error)
        log.warning("digest failed: employee_id=%s kind=%s error=%s (retried later)", item.employee_id, item.kind, code)
        try:
            with self.session_factory.begin() as session:
                finish(session, item, status=DigestStatus.FAILED, now=self.clock(), error=code)
        except Exception:
            log.exception("could not record digest failure: employee_id=%s", item.employee_id)

    def send_now(self, employee_id: int, *, dry_run: bool = False) -> list[tuple[str, dict | None]]:
        """Compose (and unless dry_run, send) an employee's digests now; returns (kind, message) pairs.

        A digest sent by hand counts as today's, so the scheduled one does not repeat it.
        """
        return [(kind, message) for _, kind, message in self.send_now_many([employee_id], dry_run=dry_run)]

    def send_now_many(self, employee_ids: list[int], *,
                      dry_run: bool = False) -> Iterator[tuple[int, str, dict | None]]:
        """send_now for many employees, composed DIGEST_BATCH at a time; yields (employee id, kind, message)."""
        now = self.clock()
        for offset in range(0, len(employee_ids), DIGEST_BATCH):
            ids = employee_ids[offset:offset + DIGEST_BATCH]
            personal = self.compose_many(ids, DigestKind.EMPLOYEE, now=now)
            managers = [i for i in ids if i in personal and sees_team(personal[i][0])]
            team = self.compose_many(managers, DigestKind.TEAM, now=now) if managers else {}
            for employee_id in ids:
                if employee_id not in personal:
                    continue
                employee = personal[employee_id][0]
                zone = employee_zone(employee, self.settings.default_timezone)
                today = local_day(now, zone)
                for kind, composed in ((DigestKind.EMPLOYEE, personal[employee_id]),
                                       (DigestKind.TEAM, team.get(employee_id))):
                    if composed is None:
                        continue
                    message = composed[1]
                    if message is not None and not dry_run:
                        self.deliver(employee.slack_user_id, message)
                        DIGESTS_SENT.labels(kind).inc()
                        with self.session_factory.begin() as session:
                            record_manual_send(session, DueDigest(employee_id=employee_id, kind=kind, local_date=today),
                                               now=now)
                    yield employee_id, kind, message


def active_employee_ids(session_factory, slack_user_id: str | None = None) -> list[int]:
    with session_factory() as session:
        query = select(Employee.id).where(Employee.active.is_(True)).order_by(Employee.id)
        if slack_user_id:
            query = query.where(Employee.slack_user_id == slack_user_id)
        return list(session.scalars(query))


class SchedulerHandle:
    """What the web server keeps: `alive()` for /healthz, `shutdown()` on exit."""

    def __init__(self, scheduler: BackgroundScheduler, digests: DigestSender) -> None:
        self.scheduler = scheduler
        self.digests = digests

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def alive(self) -> bool:
        return self.running and self.scheduler.get_job("digests") is not None

    is_alive = alive

    def shutdown(self, wait: bool = True) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)


def start_scheduler(settings, session_factory, client, *, clock: Clock = utc_now,
                    tick_seconds: int = DIGEST_TICK_SECONDS) -> SchedulerHandle:
    scheduler = BackgroundScheduler(timezone=dt.UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                   "misfire_grace_time": tick_seconds})
    digests = DigestSender(settings, session_factory, client, clock)
    # First tick right away: digests missed while the bot was down go out as soon as it is back.
    scheduler.add_job(digests.tick, IntervalTrigger(seconds=tick_seconds), id="digests", name="morning digests",
                      replace_existing=True, coalesce=True, max_instances=1, next_run_time=dt.datetime.now(dt.UTC))
    for scheduled_jobs in JOB_SOURCES:
        for job in scheduled_jobs(settings, session_factory, client, clock):
            scheduler.add_job(job.func, job.trigger, id=job.id, name=job.id, replace_existing=True,
                              coalesce=True, max_instances=1)
    scheduler.start()
    return SchedulerHandle(scheduler, digests)
