"""The daily retention job, registered in bot.scheduler's one registry (JOB_SOURCES).

Blanks interaction and closed follow-up notes older than FRONTLINE_NOTE_RETENTION_DAYS
(store.retention), forgets Slack event ids older than a day (store.slack_events) and idle
conversations (store.conversations). Both are plain
UPDATE/DELETE statements over database state, so several processes running it the same night only
repeat work that is already done.
"""
from __future__ import annotations

import logging

from apscheduler.triggers.cron import CronTrigger

from bot.jobs import ScheduledJob
from store.clock import Clock
from store.conversations import forget_idle
from store.retention import purge_old_notes
from store.slack_events import purge_processed_events

log = logging.getLogger(__name__)

JOB_ID = "retention"


def run_retention(settings, session_factory, clock: Clock) -> int:
    now = clock()
    with session_factory.begin() as session:
        notes = purge_old_notes(session, older_than_days=settings.note_retention_days, now=now)
        events = purge_processed_events(session, now=now)
        forget_idle(session, now=now)  # conversations idle for hours (store.conversations)
    log.info("retention: %s notes purged, %s handled Slack events forgotten", notes, events,
             extra={"notes_purged": notes, "events_forgotten": events})
    return notes


def scheduled_jobs(settings, session_factory, client, clock) -> list[ScheduledJob]:
    # At night in the company's time zone, when nobody is logging interactions.
    trigger = CronTrigger(hour=3, minute=15, timezone=settings.default_timezone)
    return [ScheduledJob(id=JOB_ID, func=lambda: run_retention(settings, session_factory, clock), trigger=trigger)]
