"""A worker process for the crash tests: `python -m tests.support.inbox_worker DATABASE_URL [--drain]`.

It runs the real InboxWorkers (bot/ingest.py) with one applier that leaves a trace per application: an
audit row naming the event. Applying an event twice would leave two rows; losing one, none."""
from __future__ import annotations

import datetime as dt
import sys
import threading
import time

from sqlalchemy.orm import Session

from bot.ingest import InboxWorkers
from store.db import make_engine, make_session_factory
from store.clock import utc_now
from store.inbox import APPLIED, Applied, InboxEvent, has_due
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
        # Until nothing is left: a step can claim nothing while events remain (other processes hold them, or
        # their people's earlier events), so an empty step alone does not mean drained.
        session_factory = make_session_factory(engine)
        while True:
            if workers.step().claimed == 0:
                with session_factory() as session:
                    if not has_due(session, utc_now()):
                        return 0
                time.sleep(0.01)
    workers.start()
    print("working", flush=True)
    threading.Event().wait()  # until killed
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--drain" in sys.argv[2:]))
