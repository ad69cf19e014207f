"""Sharing a reduced customer card to a channel: recorded once per submission, whoever receives it.

A modal submitted twice (a double click, Slack's retry, two deliveries reaching two processes) must
post the card once. The submission's key is claimed with one INSERT into the table of handled
deliveries (store.slack_events), in the same transaction as the audit row: the unique key makes the
claim atomic across processes (PostgreSQL waits for the first claimant's commit, SQLite's write lock
serialises), and a failure rolls both back, so a share is audited if and only if it will be posted.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy.orm import Session

from store import audit
from store.interactions import begin_write
from store.slack_events import claim_event
from store.vocabulary import AuditAction

SHARED_FIELDS = ("name", "loyalty_tier", "preferences")


def share_key(*, employee_id: int, submission: str, channel: str, customer_id: int) -> str:
    """One key per (who, which submission, where, whom); hashed to fit the claim table's 64 characters."""
    parts = json.dumps([employee_id, submission, channel, customer_id], separators=(",", ":"))
    return "share:" + hashlib.sha256(parts.encode()).hexdigest()[:40]


def record_share(session: Session, *, employee_id: int, actor: str, customer_id: int, channel: str, key: str,
                 via: str, now: dt.datetime) -> bool:
    """Claim `key` and audit the share; False (and nothing written) when the key was already claimed."""
    begin_write(session)
    if not claim_event(session, key, now=now):
        return False
    audit.record(session, employee_id=employee_id, actor=actor, action=AuditAction.SHARE, customer_id=customer_id, via=via,
                 at=now, detail={"channel": channel, "fields": list(SHARED_FIELDS)})
    return True
