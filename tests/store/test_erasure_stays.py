"""After an erasure the person stays erased, and the nightly retention job keeps notes short-lived."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from bot.config import Settings
from bot.retention_job import JOB_ID, run_retention, scheduled_jobs
from bot.scheduler import JOB_SOURCES
from store.gdpr import ERASED_HASH, erase_customer
from store.importing import import_people
from store.models import Customer, Employee, Interaction, ProcessedEvent, SourceRecord
from store.slack_events import claim_event

NOW = dt.datetime(2026, 11, 26, 9, 0)


def _person(session) -> int:
    customer = Customer(first_name="Hélène", last_name="Dupont", email="helene@example.com", search_name="helene dupont")
    session.add(customer)
    session.flush()
    session.add(SourceRecord(source="webshop", source_id="W1", customer_id=customer.id, first_name="Hélène",
                             last_name="Dupont", email="helene@example.com", content_hash="h1"))
    return customer.id


def test_reimporting_an_erased_person_is_refused_and_brings_nothing_back(session_factory):
    with session_factory.begin() as session:
        customer_id = _person(session)
    with session_factory.begin() as session:
        erase_customer(session, customer_id, actor="cli")
    rows = [(2, {"source_id": "W1", "first_name": "Hélène", "last_name": "Dupont", "email": "helene@example.com"}),
            (3, {"source_id": "W2", "first_name": "Paul", "last_name": "Roy"})]
    with session_factory.begin() as session:
        report = import_people(session, source="webshop", rows=rows)
    assert report.created == 1 and report.updated == 0 and report.rejected == 1
    assert [(p.line, p.reason) for p in report.problems] == [(2, "erased on request")]
    with session_factory() as session:
        record = session.scalars(select(SourceRecord).where(SourceRecord.source_id == "W1")).one()
        assert record.content_hash == ERASED_HASH and record.first_name is None and record.email is None
        assert session.scalar(select(func.count()).where(Customer.first_name == "Hélène")) == 0


def test_retention_runs_nightly_from_the_one_registry_and_purges_old_notes(session_factory):
    assert scheduled_jobs in JOB_SOURCES
    settings = Settings(note_retention_days=30)
    [job] = scheduled_jobs(settings, session_factory, None, lambda: NOW)
    assert job.id == JOB_ID and "hour='3'" in str(job.trigger)
    with session_factory.begin() as session:
        agent = Employee(slack_user_id="U0AGENT", name="Agnès", role="associate")
        session.add(agent)
        session.flush()
        session.add_all([
            Interaction(employee_id=agent.id, channel="store", type="advice", outcome="resolved",
                        note="Old note", created_at=NOW - dt.timedelta(days=31)),
            Interaction(employee_id=agent.id, channel="store", type="advice", outcome="resolved",
                        note="Recent note", created_at=NOW - dt.timedelta(days=5)),
        ])
        assert claim_event(session, "Ev-old", now=NOW - dt.timedelta(days=2))
        assert claim_event(session, "Ev-new", now=NOW)
    assert run_retention(settings, session_factory, lambda: NOW) == 1
    with session_factory() as session:
        notes = session.scalars(select(Interaction.note).order_by(Interaction.created_at)).all()
        events = session.scalars(select(ProcessedEvent.event_id)).all()
    assert notes == [None, "Recent note"]
    assert events == ["Ev-new"]
    assert run_retention(settings, session_factory, lambda: NOW) == 0  # a second process the same night: no-op


def test_an_event_id_is_claimed_once(session_factory):
    with session_factory.begin() as session:
        assert claim_event(session, "Ev1", now=NOW)
    with session_factory.begin() as session:
        assert not claim_event(session, "Ev1", now=NOW)
        assert claim_event(session, "Ev2", now=NOW)  # the transaction stays usable after a duplicate
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 2
