"""A customer's home store from the people files (`home_store`), on SQLite and PostgreSQL: what the profile
card and the morning digest of the store's staff rely on."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from store.digest import compose_employee_digests
from store.employees import import_employees
from store.importing import import_interactions, import_people, read_rows
from store.models import Customer, Employee, SourceRecord, Store
from store.resolution import relink
from store.survivorship import RecordValues, build_golden

HEADER = "source_id,first_name,last_name,email,updated_at,loyalty_id,loyalty_tier,home_store\n"


@pytest.fixture
def staffed(session_factory, tmp_path):
    """Stores PAR01 (Alice, Bob) and LYO01 (Carl), from an employees file."""
    path = tmp_path / "employees.csv"
    path.write_text("slack_user_id,name,role,team,store\n"
                    "U0ALICE,Alice Moreau,manager,Paris floor,PAR01\n"
                    "U0BOB,Bob Lee,associate,Paris floor,PAR01\n"
                    "U0CARL,Carl Dumas,associate,Lyon floor,LYO01\n", encoding="utf-8")
    with session_factory.begin() as session:
        assert import_employees(session, rows=read_rows(path)).rejected == 0
    return session_factory


def import_people_file(session_factory, tmp_path: Path, source: str, rows: str):
    path = tmp_path / f"{source}.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    with session_factory.begin() as session:
        report = import_people(session, source=source, rows=read_rows(path))
        relink(session)
    return report


def store_id(session, code: str) -> int:
    return session.scalar(select(Store.id).where(Store.code == code))


def customer_of(session, source: str, source_id: str) -> Customer:
    record = session.scalar(select(SourceRecord).where(SourceRecord.source == source,
                                                       SourceRecord.source_id == source_id))
    return session.get(Customer, record.customer_id)


def origin(session, source: str, source_id: str) -> dict:
    record = session.scalar(select(SourceRecord).where(SourceRecord.source == source,
                                                       SourceRecord.source_id == source_id))
    return {"record_id": record.id, "source": source, "source_id": source_id}


def test_the_freshest_home_store_becomes_the_preferred_store_with_its_provenance(staffed, tmp_path):
    import_people_file(staffed, tmp_path, "webshop", "W1,Hélène,Darcy,helene@example.com,2024-01-01,,,LYO01\n")
    import_people_file(staffed, tmp_path, "pos", "P1,HELENE,DARCY,helene@example.com,2024-05-01,L-1,gold,PAR01\n")
    with staffed() as session:
        customer = customer_of(session, "pos", "P1")
        assert customer.id == customer_of(session, "webshop", "W1").id
        assert customer.preferred_store_id == store_id(session, "PAR01")
        assert customer.provenance["preferred_store_id"] == origin(session, "pos", "P1")

    # She switches her click-and-collect store on the web shop later on.
    report = import_people_file(staffed, tmp_path, "webshop",
                                "W1,Hélène,Darcy,helene@example.com,2024-06-01,,,LYO01\n")
    assert report.updated == 1
    with staffed() as session:
        customer = customer_of(session, "webshop", "W1")
        assert customer.preferred_store_id == store_id(session, "LYO01")
        assert customer.provenance["preferred_store_id"] == origin(session, "webshop", "W1")


def test_an_unknown_home_store_rejects_its_row_by_line(staffed, tmp_path):
    report = import_people_file(staffed, tmp_path, "pos", "P1,Jean,Martin,jean@example.org,,,,PAR01\n"
                                                          "P2,Ana,Lopez,ana@example.org,,,,NOPE\n")
    assert [(p.line, p.reason) for p in report.problems] == [
        (3, "unknown home_store 'NOPE' (stores come from `frontline employees import`)")]
    assert (report.created, report.rejected) == (1, 1)
    with staffed() as session:
        assert list(session.scalars(select(SourceRecord.source_id))) == ["P1"]


def test_a_store_set_by_hand_stays_until_a_record_gives_one(staffed, tmp_path):
    import_people_file(staffed, tmp_path, "crm", "C1,Jean,Martin,jean@example.org,2024-01-01,,,\n")
    with staffed.begin() as session:
        customer = customer_of(session, "crm", "C1")
        session.execute(update(Customer).where(Customer.id == customer.id)
                        .values(preferred_store_id=store_id(session, "LYO01")))
    import_people_file(staffed, tmp_path, "crm", "C1,Jean,Martin,jean.martin@example.org,2024-02-01,,,\n")
    with staffed() as session:
        customer = customer_of(session, "crm", "C1")
        assert customer.email == "jean.martin@example.org"  # the golden record was rebuilt
        assert customer.preferred_store_id == store_id(session, "LYO01")

    import_people_file(staffed, tmp_path, "crm", "C1,Jean,Martin,jean.martin@example.org,2024-03-01,,,PAR01\n")
    with staffed() as session:
        assert customer_of(session, "crm", "C1").preferred_store_id == store_id(session, "PAR01")
    # The CRM stops sending it: a value that came from a record goes with it, like any golden value.
    import_people_file(staffed, tmp_path, "crm", "C1,Jean,Martin,jean.martin@example.org,2024-04-01,,,\n")
    with staffed() as session:
        customer = customer_of(session, "crm", "C1")
        assert customer.preferred_store_id is None
        assert "preferred_store_id" not in customer.provenance


def test_home_store_rule_freshest_record_then_till_first():
    stores = {"PAR01": 1, "LYO01": 2}

    def record(record_id, source, code, day):
        return RecordValues(id=record_id, source=source, source_id=f"{source}{record_id}",
                            attributes={"home_store": code} if code else {},
                            source_updated_at=dt.datetime(2024, 1, day))

    fresher_web = build_golden([record(1, "pos", "PAR01", 1), record(2, "web", "LYO01", 2)], store_ids=stores)
    assert fresher_web.values["preferred_store_id"] == 2
    same_day = build_golden([record(1, "web", "LYO01", 1), record(2, "pos", "PAR01", 1)], store_ids=stores)
    assert (same_day.values["preferred_store_id"], same_day.provenance["preferred_store_id"]["source"]) == (1, "pos")
    gone = build_golden([record(1, "pos", "CLOSED", 3), record(2, "crm", "LYO01", 1)], store_ids=stores)
    assert gone.values["preferred_store_id"] == 2  # a code no longer among the stores is skipped
    assert build_golden([record(1, "pos", None, 1)], store_ids=stores).values["preferred_store_id"] is None


def test_the_stores_morning_digest_lists_its_vip_with_an_open_issue(staffed, tmp_path):
    import_people_file(staffed, tmp_path, "pos", "P1,Hélène,Darcy,helene@example.com,2024-05-01,L-1,gold,PAR01\n"
                                                 "P2,Jean,Martin,jean@example.com,2024-05-01,L-2,platinum,LYO01\n")
    path = tmp_path / "interactions.csv"
    path.write_text("source,source_id,external_id,employee_slack_id,channel,type,outcome,note,created_at,"
                    "follow_up_due,follow_up_assignee,follow_up_status\n"
                    "pos,P1,CRM-1,U0BOB,store,complaint,follow_up,Zip broken,2024-06-10T10:00:00Z,2024-06-20,U0BOB,"
                    "open\n"
                    # A Lyon customer's complaint, taken and followed up in Paris.
                    "pos,P2,CRM-2,U0BOB,phone,complaint,follow_up,Wrong size,2024-06-11T10:00:00Z,2024-06-18,U0BOB,"
                    "open\n", encoding="utf-8")
    with staffed.begin() as session:
        assert import_interactions(session, rows=read_rows(path)).created == 2
    with staffed() as session:
        helene, jean = customer_of(session, "pos", "P1"), customer_of(session, "pos", "P2")
        assert (helene.preferred_store_id, jean.preferred_store_id) == (store_id(session, "PAR01"),
                                                                        store_id(session, "LYO01"))
        staff = {e.slack_user_id: e for e in session.scalars(select(Employee))}
        digests = compose_employee_digests(session, [staff["U0ALICE"], staff["U0CARL"]], today=dt.date(2024, 6, 15),
                                           now=dt.datetime(2024, 6, 15, 6, 0), tz=ZoneInfo("Europe/Paris"))
    # Paris: both issues its staff handles, earliest due first.
    assert [(v.customer_id, v.customer_name, v.tier, v.assignee_name) for v in digests[staff["U0ALICE"].id].vip_issues] \
        == [(jean.id, "Jean Martin", "platinum", "Bob Lee"), (helene.id, "Hélène Darcy", "gold", "Bob Lee")]
    # Lyon: its own VIP's issue, although Paris handles it; nothing of Paris' customers.
    assert [(v.customer_id, v.assignee_name) for v in digests[staff["U0CARL"].id].vip_issues] == [(jean.id, "Bob Lee")]
