"""Data-subject requests and retention, as a data-protection officer would check them."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import func, select

from bot.cli import main
from store import audit
from store.gdpr import ERASED_HASH, erase_customer, export_customer
from store.models import (
    AuditEvent, Consent, Customer, CustomerIdentifier, DeclaredPreference, Employee, FollowUp,
    Interaction, Order, OrderLine, SourceRecord, WebSignal,
)
from store.retention import purge_old_notes

NOW = dt.datetime(2026, 11, 26, 9, 0)


def _seed(session) -> tuple[int, int]:
    employee = Employee(slack_user_id="U0AGENT01", name="Agnès Martin", role="associate")
    customer = Customer(first_name="Hélène", last_name="Dupont", email="helene@example.com",
                        phone="+33612345678", city="Lyon", search_name="helene dupont")
    absorbed = Customer(first_name="Helene", last_name="Dupont", status="merged")
    session.add_all([employee, customer, absorbed])
    session.flush()
    absorbed.merged_into_id = customer.id
    session.add_all([
        SourceRecord(source="web", source_id="W1", customer_id=customer.id, first_name="Hélène",
                     last_name="Dupont", email="helene@example.com", attributes={"newsletter": "yes"},
                     content_hash="h1"),
        SourceRecord(source="pos", source_id="P1", customer_id=absorbed.id, first_name="Helene",
                     last_name="Dupont", phone="+33612345678", content_hash="h2"),
        CustomerIdentifier(customer_id=customer.id, kind="email", value="helene@example.com"),
        WebSignal(customer_id=customer.id, kind="wishlist", sku="SKU1", product_name="Trench coat",
                  occurred_at=NOW),
        DeclaredPreference(customer_id=customer.id, category="size", label="shoes", value="39"),
        Consent(customer_id=customer.id, purpose="profiling", channel="any", granted=True,
                recorded_at=NOW, source="web"),
    ])
    order = Order(source="web", order_number="W-1001", customer_id=customer.id, ordered_at=NOW,
                  channel="web", total_amount=Decimal("89.90"), currency="EUR")
    order.lines.append(OrderLine(sku="SKU1", product_name="Trench coat", quantity=1, unit_price=Decimal("89.90")))
    session.add(order)
    session.flush()
    session.add_all([
        Interaction(customer_id=customer.id, employee_id=employee.id, channel="store", type="advice",
                    outcome="resolved", note="Wants the trench in beige", created_at=NOW),
        Interaction(customer_id=absorbed.id, employee_id=employee.id, channel="phone", type="call",
                    outcome="follow_up", note="Call back about delivery", created_at=NOW),
        FollowUp(customer_id=customer.id, assignee_id=employee.id, due_date=NOW.date(), note="Call her"),
    ])
    audit.record(session, employee_id=employee.id, actor="U0AGENT01", action="view",
                 customer_id=customer.id, via="/customer")
    return customer.id, absorbed.id


def test_export_holds_everything_including_who_looked(session_factory):
    with session_factory.begin() as session:
        customer_id, _ = _seed(session)
    with session_factory.begin() as session:
        document = export_customer(session, customer_id, actor="cli")
    text = json.dumps(document, ensure_ascii=False)
    assert document["profile"]["first_name"] == "Hélène"
    assert {r["source_id"] for r in document["source_records"]} == {"W1", "P1"}
    assert document["orders"][0]["lines"][0]["product_name"] == "Trench coat"
    assert "Call back about delivery" in text  # notes held on the merged record too
    assert document["access_history"][0]["by"] == "Agnès Martin"
    assert document["access_history"][0]["action"] == "view"
    with session_factory() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.customer_id == customer_id)).all()
    assert "export" in actions


def test_erase_removes_personal_data_but_keeps_anonymous_counts(session_factory):
    with session_factory.begin() as session:
        customer_id, absorbed_id = _seed(session)
    with session_factory.begin() as session:
        report = erase_customer(session, customer_id, actor="cli")
    assert report.customers == 2 and report.source_records == 2
    with session_factory() as session:
        for cid in (customer_id, absorbed_id):
            row = session.get(Customer, cid)
            assert row.status == "erased" and row.first_name is None and row.email is None
        records = session.scalars(select(SourceRecord)).all()
        assert all(r.first_name is None and r.email is None and r.attributes == {} for r in records)
        assert all(r.content_hash == ERASED_HASH for r in records)
        for model in (CustomerIdentifier, WebSignal, DeclaredPreference, Consent):
            assert session.scalar(select(func.count()).select_from(model)) == 0
        # KPIs still count the interactions and the order, anonymously.
        assert session.scalar(select(func.count()).select_from(Interaction)) == 2
        assert session.scalar(select(func.count()).select_from(Interaction).where(Interaction.note.is_not(None))) == 0
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        everything = json.dumps(export_customer(session, customer_id, actor="test"), ensure_ascii=False)
    assert "Hélène" not in everything and "helene@example.com" not in everything and "trench in beige" not in everything


def test_retention_purges_old_notes_only(session_factory):
    with session_factory.begin() as session:
        employee = Employee(slack_user_id="U0AGENT02", name="Tom", role="associate")
        session.add(employee)
        session.flush()
        session.add_all([
            Interaction(employee_id=employee.id, channel="store", type="visit", outcome="resolved",
                        note="old", created_at=NOW - dt.timedelta(days=800)),
            Interaction(employee_id=employee.id, channel="store", type="visit", outcome="resolved",
                        note="recent", created_at=NOW - dt.timedelta(days=10)),
            FollowUp(assignee_id=employee.id, due_date=NOW.date(), note="still to do", status="open",
                     created_at=NOW - dt.timedelta(days=800)),
        ])
    with session_factory.begin() as session:
        assert purge_old_notes(session, older_than_days=730, now=NOW) == 1
    with session_factory() as session:
        assert sorted(n for n in session.scalars(select(Interaction.note)) if n) == ["recent"]
        assert session.scalar(select(FollowUp.note)) == "still to do"


def test_cli_export_erase_and_audit(db_url, monkeypatch, capsys, tmp_path):
    from store.db import make_engine, make_session_factory

    engine = make_engine(db_url)
    with make_session_factory(engine).begin() as session:
        customer_id, _ = _seed(session)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", db_url)

    assert main(["gdpr", "erase", str(customer_id)]) == 1
    assert "--yes" in capsys.readouterr().err

    out_file = tmp_path / "export.json"
    assert main(["gdpr", "export", str(customer_id), "--output", str(out_file)]) == 0
    assert json.loads(out_file.read_text(encoding="utf-8"))["profile"]["last_name"] == "Dupont"

    assert main(["gdpr", "erase", str(customer_id), "--yes"]) == 0
    assert "Erased customer" in capsys.readouterr().out

    assert main(["audit", "--customer", str(customer_id)]) == 0
    out = capsys.readouterr().out
    assert "view" in out and "export" in out and "erase" in out
    assert "Agnès Martin (U0AGENT01)" in out

    assert main(["gdpr", "export", "999999"]) == 1
    assert "no customer with id 999999" in capsys.readouterr().err
