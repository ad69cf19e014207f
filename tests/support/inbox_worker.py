"""A worker process for the crash tests: `python -m tests.support.inbox_worker DATABASE_URL [--drain]`.

It runs the real InboxWorkers (bot/ingest.py) with one applier that leaves a trace per application: an
audit row naming the event. Applying an event twice would leave two rows; losing one, none."""
from __future__ import annotations

import datetime as dt
import sys
import threading

from sqlalchemy.orm import Session

from bot.ingest import InboxWorkers
from store.db import make_engine, make_session_factory
from store.inbox import APPLIED, Applied, InboxEvent
from store.models import AuditEvent
from store.vocabulary import SegmentType, SourceKind

TRACE = "inbox-crash-test"


def apply_traced(session: Session, event: InboxEvent, now: dt.datetime) -> Applied:
    session.add(AuditEvent(actor=TRACE, action="view", via=TRACE,
                           detail={"event": event.id, "person": event.person_key}))
    return APPLIED


APPLIERS = {(SourceKind.SEGMENT, SegmentType.TRACK): apply_traced}


def main(url: str, drain: bool) -> int:
    engine = make_engine(url)
    workers = InboxWorkers(make_session_factory(engine), count=2, appliers=APPLIERS, batch=50)
    if drain:
        while workers.step().claimed:
            pass
        return 0
    workers.start()
    print("working", flush=True)
    threading.Event().wait()  # until killed
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--drain" in sys.argv[2:]))
