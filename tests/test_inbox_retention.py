"""The nightly retention job deletes live-data inbox events applied more than FRONTLINE_INBOX_RETENTION_DAYS
ago (a chunk per transaction), and nothing that still has work ahead of it or tells an operator why an
event was refused. On both databases."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot import retention_job
from bot.config import ConfigError, Settings
from bot.retention_job import run_retention
from store import inbox, sources
from store.inbox import APPLIED, rejected, waiting
from store.live.segment import parse_message
from store.models import InboxMessage, LiveSource
from store.vocabulary import InboxState, SourceKind

DAY0 = dt.datetime(2026, 11, 1, 10, 0, 0)


def _message(message_id: str, user: str, kind: str = "track") -> object:
    body = {"type": kind, "userId": user, "messageId": message_id}
    if kind == "track":
        body["event"] = "Product Viewed"
    if kind == "group":
        body["groupId"] = "g1"
    return parse_message(body, received_at=DAY0)


def _applier(session, event, now):
    # What each test person's events come to: applied, waiting for their person, refused.
    user = event.body.get("userId")
    return {"wait": waiting("not_linked"), "bad": rejected("bad_sku")}.get(user, APPLIED)


@pytest.fixture
def inbox_world(session_factory):
    """Five events received on day 0 and worked on: two applied, one ignored (no applier for `group`), one
    waiting, one rejected; then one more received on day 8 and still pending."""
    with session_factory.begin() as session:
        sources.add_source(session, "web", SourceKind.SEGMENT, secret=None, now=DAY0)
    with session_factory() as session:
        source_id = session.scalars(select(LiveSource.id)).one()
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [
            _message("m1", "u1"), _message("m2", "u2"), _message("m3", "u3", kind="group"),
            _message("m4", "wait"), _message("m5", "bad")], DAY0)
    with session_factory.begin() as session:
        inbox.apply_due(session, {(SourceKind.SEGMENT, "track"): _applier}, DAY0)
    with session_factory.begin() as session:
        inbox.store_events(session, source_id, [_message("m6", "u1")], DAY0 + dt.timedelta(days=8))
    return source_id


def _left(session_factory) -> dict[str, str]:
    with session_factory() as session:
        rows = session.execute(select(InboxMessage.message_id, InboxMessage.state))
        return {str(message_id): str(state) for message_id, state in rows}


def test_events_applied_longer_ago_than_the_retention_are_deleted_and_nothing_else(inbox_world, session_factory,
                                                                                     db_url):
    assert _left(session_factory) == {"m1": InboxState.APPLIED, "m2": InboxState.APPLIED, "m3": InboxState.IGNORED,
                                      "m4": InboxState.WAITING, "m5": InboxState.REJECTED, "m6": InboxState.PENDING}
    settings = Settings(database_url=db_url)
    assert settings.inbox_retention_days == 7
    # Six days on: within the retention, everything is kept.
    run_retention(settings, session_factory, lambda: DAY0 + dt.timedelta(days=6))
    assert len(_left(session_factory)) == 6
    # Eight days on: the applied and the ignored ones go; the waiting, the refused and the pending stay.
    run_retention(settings, session_factory, lambda: DAY0 + dt.timedelta(days=8))
    assert _left(session_factory) == {"m4": InboxState.WAITING, "m5": InboxState.REJECTED, "m6": InboxState.PENDING}


def test_a_big_backlog_goes_a_chunk_per_transaction_until_none_is_left(inbox_world, session_factory, db_url,
                                                                        monkeypatch):
    monkeypatch.setattr(retention_job, "INBOX_CHUNK", 1)
    deleted = retention_job.purge_inbox(Settings(database_url=db_url), session_factory, DAY0 + dt.timedelta(days=30))
    assert deleted == 3 and set(_left(session_factory)) == {"m4", "m5", "m6"}


def test_zero_keeps_the_inbox_forever_and_a_retention_shorter_than_the_senders_retries_is_refused(
        inbox_world, session_factory, db_url):
    keep = Settings.from_env({"DATABASE_URL": db_url, "FRONTLINE_INBOX_RETENTION_DAYS": "0"}, dotenv=False)
    run_retention(keep, session_factory, lambda: DAY0 + dt.timedelta(days=400))
    assert len(_left(session_factory)) == 6
    for days in ("1", "-3", "soon"):
        with pytest.raises(ConfigError, match="FRONTLINE_INBOX_RETENTION_DAYS"):
            Settings.from_env({"DATABASE_URL": db_url, "FRONTLINE_INBOX_RETENTION_DAYS": days}, dotenv=False)
