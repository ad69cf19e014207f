"""The one scheduler registry: APScheduler 3 BackgroundScheduler with named, coalesced jobs.

Every bot process (each gunicorn worker, each host) may run it. Jobs are idempotent ticks over
database state rather than one APScheduler job per person, so schedules survive restarts with no
job store and several processes can run side by side: the "digests" tick claims each digest in the
database before sending it (store.digest_runs), so exactly one process sends it.

Other features add jobs with a one-line edit to JOB_MODULES: modules exposing
`scheduled_jobs(settings, session_factory, client, clock) -> list[ScheduledJob]`.
"""
from __future__ import annotations

import datetime as dt
import importlib
import logging
from dataclasses import dataclass
from typing import Any, Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import Counter
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from sqlalchemy import select

from handlers.digest.blocks import employee_digest_message, team_digest_message
from handlers.i18n import normalise_locale
from store.digest import compose_employee_digest, compose_team_digest
from store.digest_runs import DueDigest, due_digests, employee_zone, finish, record_manual_send, try_claim
from store.models import Employee
from store.permissions import sees_team

log = logging.getLogger(__name__)

JOB_MODULES: list[str] = ["bot.retention_job"]
DIGEST_TICK_SECONDS = 60

DIGESTS_SENT = Counter("frontline_digests_sent_total", "Digests delivered to Slack, by kind", ["kind"])
DIGESTS_FAILED = Counter("frontline_digest_failures_total", "Digest attempts that failed (retried later)", ["kind"])


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    func: Callable[[], Any]
    trigger: BaseTrigger


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

    def __init__(self, settings, session_factory, client, clock: Callable[[], dt.datetime] = system_clock, *,
                 configure_client: bool = True) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.client = client
        self.clock = clock
        if configure_client:  # listeners pass the app's shared client, already set up by bot.app.make_client
            ensure_retry_handlers(client)

    def compose(self, employee_id: int, kind: str, *, now: dt.datetime) -> tuple[Employee, dict | None]:
        with self.session_factory() as session:
            employee = session.get(Employee, employee_id)
            tz = employee_zone(employee, self.settings.default_timezone)
            today = now.replace(tzinfo=dt.UTC).astimezone(tz).date()
            locale = normalise_locale(employee.locale, self.settings.default_locale)
            if kind == "team":
                digest = compose_team_digest(session, employee, today=today, now=now, tz=tz)
                return employee, team_digest_message(digest, locale) if digest else None
            digest = compose_employee_digest(session, employee, today=today, now=now, tz=tz)
            return employee, employee_digest_message(digest, locale) if digest else None

    def deliver(self, slack_user_id: str, message: dict) -> None:
        channel = self.client.conversations_open(users=slack_user_id)["channel"]["id"]
        self.client.chat_postMessage(channel=channel, text=message["text"], blocks=message["blocks"],
                                     unfurl_links=False, unfurl_media=False)

    def send_one(self, due: DueDigest, *, now: dt.datetime) -> str:
        employee, message = self.compose(due.employee_id, due.kind, now=now)
        if message is None:
            return "empty"
        self.deliver(employee.slack_user_id, message)
        DIGESTS_SENT.labels(due.kind).inc()
        return "sent"

    def tick(self) -> dict[str, int]:
        """Send every digest that is due and unclaimed; one person's failure never stops the others."""
        now = self.clock()
        counts = {"sent": 0, "empty": 0, "failed": 0, "skipped": 0}
        with self.session_factory() as session:
            due = due_digests(session, now=now, default_time=self.settings.digest_default_time,
                              default_timezone=self.settings.default_timezone)
        for item in due:
            try:
                with self.session_factory.begin() as session:
                    if not try_claim(session, item, now=now):
                        counts["skipped"] += 1
                        continue
                status = self.send_one(item, now=now)
                with self.session_factory.begin() as session:
                    finish(session, item, status=status, now=self.clock())
                counts[status] += 1
            except Exception as error:  # noqa: BLE001 - isolate each recipient
                counts["failed"] += 1
                DIGESTS_FAILED.labels(item.kind).inc()
                code = _error_code(error)
                log.warning("digest failed: employee_id=%s kind=%s error=%s (retried later)",
                            item.employee_id, item.kind, code)
                try:
                    with self.session_factory.begin() as session:
                        finish(session, item, status="failed", now=self.clock(), error=code)
                except Exception:  # noqa: BLE001 - the stale-claim timeout recovers it
                    log.exception("could not record digest failure: employee_id=%s", item.employee_id)
        if any(counts[k] for k in ("sent", "failed")):
            log.info("digest tick: %s", counts)
        return counts

    def send_now(self, employee_id: int, *, dry_run: bool = False) -> list[tuple[str, dict | None]]:
        """Compose (and unless dry_run, send) an employee's digests now; returns (kind, message) pairs.

        A digest sent by hand counts as today's, so the scheduled one does not repeat it.
        """
        now = self.clock()
        results = []
        with self.session_factory() as session:
            employee = session.get(Employee, employee_id)
            kinds = ["employee"] + (["team"] if sees_team(employee) else [])
            today = now.replace(tzinfo=dt.UTC).astimezone(employee_zone(employee, self.settings.default_timezone)).date()
        for kind in kinds:
            employee, message = self.compose(employee_id, kind, now=now)
            results.append((kind, message))
            if message is not None and not dry_run:
                self.deliver(employee.slack_user_id, message)
                DIGESTS_SENT.labels(kind).inc()
                with self.session_factory.begin() as session:
                    record_manual_send(session, DueDigest(employee_id, kind, today), now=now)
        return results


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


def start_scheduler(settings, session_factory, client, *, clock: Callable[[], dt.datetime] = system_clock,
                    tick_seconds: int = DIGEST_TICK_SECONDS) -> SchedulerHandle:
    scheduler = BackgroundScheduler(timezone=dt.UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                   "misfire_grace_time": tick_seconds})
    digests = DigestSender(settings, session_factory, client, clock)
    # First tick right away: digests missed while the bot was down go out as soon as it is back.
    scheduler.add_job(digests.tick, IntervalTrigger(seconds=tick_seconds), id="digests", name="morning digests",
                      replace_existing=True, coalesce=True, max_instances=1, next_run_time=dt.datetime.now(dt.UTC))
    for module_name in JOB_MODULES:
        for job in importlib.import_module(module_name).scheduled_jobs(settings, session_factory, client, clock):
            scheduler.add_job(job.func, job.trigger, id=job.id, name=job.id, replace_existing=True,
                              coalesce=True, max_instances=1)
    scheduler.start()
    return SchedulerHandle(scheduler, digests)
