"""The live website activity's jobs, registered in bot.scheduler's one registry (JOB_SOURCES):

- `live.baskets` (every minute): baskets untouched for FRONTLINE_BASKET_ABANDONED_MINUTES become
  abandoned; browsing of anonymous visitors nobody named in 30 days is forgotten, and website activity
  older than 90 days;
- `live.notices` (every minute): the DMs owed to employees with an open follow-up when their customer
  ordered online or came back to the site (store.live.notices: once per customer per day, never at night).

Both are idempotent ticks over database state: several processes may run them side by side. A notice is
claimed in the database (its day's unique key) before its DM goes out, so two processes never both send
it; a DM Slack refused is given back and tried at the next tick.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from bot.jobs import ScheduledJob
from handlers.i18n import normalise_locale
from handlers.profile.live import notice_message
from store.clock import Clock
from store.live.commerce import forget_anonymous, forget_old_activity, mark_abandoned_baskets
from store.live.notices import claim, due_notices, release

log = logging.getLogger(__name__)

ANONYMOUS_RETENTION = dt.timedelta(days=30)
ACTIVITY_RETENTION = dt.timedelta(days=90)


def run_baskets(settings: Any, session_factory: Any, clock: Clock) -> int:
    now = clock()
    with session_factory.begin() as session:
        abandoned = mark_abandoned_baskets(session, now=now, after=dt.timedelta(minutes=settings.basket_abandoned_minutes))
        forgotten = forget_anonymous(session, now=now, older_than=ANONYMOUS_RETENTION)
        forget_old_activity(session, now=now, older_than=ACTIVITY_RETENTION)
    if abandoned or forgotten:
        log.info("live baskets: %s abandoned, %s anonymous visitors forgotten", abandoned, forgotten)
    return abandoned


def run_notices(settings: Any, session_factory: Any, client: Any, clock: Clock) -> dict[str, int]:
    """Send the DMs that are due; one employee's failure never stops the others."""
    now = clock()
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    with session_factory.begin() as session:
        due = due_notices(session, now=now, default_timezone=settings.default_timezone)
    for notice in due:
        try:
            with session_factory.begin() as session:
                if not claim(session, notice, now=now):
                    counts["skipped"] += 1
                    continue
            message = notice_message(notice, now, normalise_locale(notice.locale, settings.default_locale))
            channel = client.conversations_open(users=notice.slack_user_id)["channel"]["id"]
            client.chat_postMessage(channel=channel, text=message["text"], blocks=message["blocks"],
                                    unfurl_links=False, unfurl_media=False)
            counts["sent"] += 1
        except Exception as error:  # Slack down, a lock: logged without any customer data, tried next tick
            counts["failed"] += 1
            log.warning("live notice failed: notice_id=%s employee_id=%s error=%s (retried)", notice.id,
                        notice.employee_id, type(error).__name__)
            try:
                with session_factory.begin() as session:
                    release(session, notice.id)
            except Exception:
                log.exception("could not release live notice %s", notice.id)
    if counts["sent"] or counts["failed"]:
        log.info("live notices: %s", counts)
    return counts


def scheduled_jobs(settings: Any, session_factory: Any, client: Any, clock: Clock) -> list[ScheduledJob]:
    return [
        ScheduledJob(id="live.baskets", func=lambda: run_baskets(settings, session_factory, clock),
                     trigger=IntervalTrigger(minutes=1)),
        ScheduledJob(id="live.notices", func=lambda: run_notices(settings, session_factory, client, clock),
                     trigger=IntervalTrigger(minutes=1)),
    ]
