"""The daily retention job, registered in bot.scheduler's one registry (JOB_SOURCES).

Blanks interaction and closed follow-up notes older than FRONTLINE_NOTE_RETENTION_DAYS
(store.retention), forgets Slack event ids older than a day (store.slack_events) and idle
conversations (store.conversations), and deletes live-data inbox events applied more than
FRONTLINE_INBOX_RETENTION_DAYS ago (store.inbox.purge_done, a transaction per chunk). All are plain
UPDATE/DELETE statements over database state, so several processes running it the same night only
repeat work that is already done.
"""
from __future__ import annotations

import datetime as dt
import logging

from apscheduler.triggers.cron import CronTrigger

from bot.jobs import ScheduledJob
from store.clock import Clock
from store.conversations import forget_idle
from store.inbox import purge_done
from store.retention import purge_old_notes
from store.slack_events import purge_processed_events

log = logging.getLogger(__name__)

JOB_ID = "retention"
INBOX_CHUNK = 5_000


def run_retention(settings, session_factory, clock: Clock) -> int:
    now = clock()
    with session_factory.begin() as session:
        notes = purge_old_notes(session, older_than_days=settings.note_retention_days, now=now)
        events = purge_processed_events(session, now=now)
        forget_idle(session, now=now)  # conversations idle for hours (store.conversations)
    inbox_events = purge_inbox(settings, session_factory, now)
    log.info("retention: %s notes purged, %s handled Slack events forgotten, %s applied inbox events deleted",
             notes, events, inbox_events,
             extra={"notes_purged": notes, "events_forgotten": events, "inbox_purged": inbox_events})
    return notes


def purge_inbox(settings, session_factory, now: dt.datetime) -> int:
    """The live-data inbox's applied events past their retention, a chunk per transaction (short
    transactions: the ingest routes and workers keep writing meanwhile)."""
    if settings.inbox_retention_days == 0:
        return 0
    older_than = dt.timedelta(days=settings.inbox_retention_days)
    total = 0
    while True:
        with session_factory.begin() as session:
            deleted = purge_done(session, now=now, older_than=older_than, limit=INBOX_CHUNK)
        total += deleted
        if deleted < INBOX_CHUNK:
            return total


def scheduled_jobs(settings, session_factory, client, clock) -> list[ScheduledJob]:
    # At night in the company's time zone, when nobody is logging interactions.
    trigger = CronTrigger(hour=3, minute=15, timezone=settings.default_timezone)
    return [ScheduledJob(id=JOB_ID, func=lambda: run_retention(settings, session_factory, clock), trigger=trigger)]
