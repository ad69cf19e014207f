"""The import pipeline on a real database (SQLite and PostgreSQL): what an operator importing exports
from the web shop, the tills and the CRM would notice."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.importing import (
    ImportFileError,
    import_consents,
    import_interactions,
    import_orders,
    import_people,
    import_preferences,
    import_web_signals,
    read_rows,
)
from store.employees import import_employees
from store.importing.readers import check_text_file
from store.models import Consent, Customer, DeclaredPreference, FollowUp, Interaction, Order, SourceRecord, WebSignal

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"

PEOPLE_HEADER = "source_id,first_name,last_name,email,phone,birth_date,city,country,loyalty_tier\n"


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def import_file(session_factory, path: Path, *, source: str = "webshop", **kwargs):
    with session_factory.begin() as session:
        return import_people(session, source=source, rows=read_rows(path), **kwargs)


def records(session_factory, source: str = "webshop") -> dict[str, SourceRecord]:
    with session_factory() as session:
        found = session.scalars(select(SourceRecord).where(SourceRecord.source == source))
        return {record.source_id: record for record in found}


def relink_all(session_factory) -> None:
    from store.resolution import relink

    with session_factory.begin() as session:
        relink(session)


def problems(report) -> list[tuple[int, str]]:
    return [(problem.line, problem.reason) for problem in report.problems]


# --- people -------------------------------------------------------------------------------------


def test_people_are_normalised_and_extra_columns_kept(session_factory, tmp_path):
    path = write(tmp_path, "web.csv", PEOPLE_HEADER + "W1,Hélène,Darcy,Helene.Darcy@Example.COM,06 12 34 56 78,"
                 "1984-03-12,Paris,fr,gold\n")
    report = import_file(session_factory, path)
    assert (report.read, report.created, report.rejected) == (1, 1, 0)
    record = records(session_factory)["W1"]
    assert record.email == "helene.darcy@example.com"
    assert record.phone == "+33612345678"
    assert record.birth_date == dt.date(1984, 3, 12)
    assert record.country == "FR"
    assert record.attributes == {"loyalty_tier": "gold"}
    assert record.customer_id is None  # import_people leaves linking to relink


def test_reimporting_the_same_file_changes_nothing(session_factory, tmp_path):
    path = FIXTURES / "people_webshop.csv"
    first = import_file(session_factory, path)
    before = {key: (r.updated_at, r.content_hash) for key, r in records(session_factory).items()}
    second = import_file(session_factory, path)
    assert first.created == 3 and second.created == 0 and second.updated == 0
    assert second.unchanged == 3
    assert {key: (r.updated_at, r.content_hash) for key, r in records(session_factory).items()} == before


def test_an_updated_row_updates_its_record_and_customer(session_factory, tmp_path):
    old = write(tmp_path, "v1.csv", PEOPLE_HEADER + "W1,Jean,Martin,jean@example.org,,,Lyon,FR,\n"
                "W2,Ana,Lopez,ana@example.org,,,Lyon,FR,\n")
    import_file(session_factory, old)
    relink_all(session_factory)
    new = write(tmp_path, "v2.csv", PEOPLE_HEADER + "W1,Jean,Martin,jean.martin@example.org,,,Lyon,FR,\n"
                "W2,Ana,Lopez,ana@example.org,,,Lyon,FR,\n")
    report = import_file(session_factory, new)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    relink_all(session_factory)
    record = records(session_factory)["W1"]
    assert record.email == "jean.martin@example.org"
    with session_factory() as session:
        assert session.get(Customer, record.customer_id).email == "jean.martin@example.org"


def test_bad_rows_are_reported_by_line_and_good_rows_imported(session_factory):
    report = import_file(session_factory, FIXTURES / "people_webshop.csv")
    assert problems(report) == [
        (4, "birth_date is not a real date"),
        (5, "malformed email"),
        (6, "missing source_id"),
    ]
    assert (report.read, report.created, report.rejected) == (6, 3, 3)
    assert sorted(records(session_factory)) == ["W-1001", "W-1002", "W-1005"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("W1,A,B,,123,,,,", "malformed phone number"),
        ("W1,A,B,,,2999-01-01,,,", "birth_date is in the future or before 1900"),
        ("W1,A,B,,,12/03/1984,,,", "birth_date is not a date written YYYY-MM-DD"),
        ("W1,A,B,,,,,France,", "country must be a 2-letter ISO code such as FR"),
        ("W1,A,B,,,,,,,surplus", "10 values but the header has 9 columns"),
    ],
)
def test_each_kind_of_bad_person_row_says_why(session_factory, tmp_path, row, reason):
    path = write(tmp_path, "bad.csv", PEOPLE_HEADER + row + "\n")
    report = import_file(session_factory, path)
    assert problems(report) == [(2, reason)]
    assert records(session_factory) == {}


def test_jsonl_and_semicolon_csv_with_bom_import_alike(session_factory):
    jsonl = import_file(session_factory, FIXTURES / "people_pos.jsonl", source="pos")
    assert problems(jsonl) == [(3, "malformed phone number"), (4, "not valid JSON (Expecting value)")]
    pos = records(session_factory, "pos")
    assert pos["P-1"].phone == "+33612345678" and pos["P-2"].email == "jean.martin@example.org"
    assert pos["P-1"].attributes == {"store": "PAR01", "points": "120"}
    csv_report = import_file(session_factory, FIXTURES / "people_webshop.csv")  # ';' and a UTF-8 BOM
    assert csv_report.created == 3
    assert records(session_factory)["W-1001"].first_name == "Hélène"  # the BOM did not eat the first column


def test_line_numbers_count_physical_lines_of_quoted_multiline_values(session_factory, tmp_path):
    path = write(tmp_path, "multi.csv", "source_id,first_name,note\nW1,Ann,\"two\nlines\"\n\nW2,Bob,x\n,Cy,\n")
    report = import_file(session_factory, path)
    assert problems(report) == [(6, "missing source_id")]
    assert records(session_factory)["W1"].attributes == {"note": "two\nlines"}


def test_batches_and_repeated_ids_last_row_wins(session_factory, tmp_path):
    rows = "".join(f"W{i},N{i},L,n{i}@example.com,,,,FR,\n" for i in range(5)) + "W1,Late,L,late@example.com,,,,FR,\n"
    seen = []
    report = import_file(session_factory, write(tmp_path, "b.csv", PEOPLE_HEADER + rows), batch_size=2,
                         progress=seen.append)
    assert seen == [2, 2, 2]
    assert (report.read, report.created, report.updated) == (6, 5, 1)
    assert records(session_factory)["W1"].first_name == "Late"


def test_a_file_that_is_not_utf8_is_refused_whole(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("source_id,first_name\nW1,Hélène\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match="not UTF-8"):
        list(read_rows(path))


# --- files that belong to people ---------------------------------------------------------------


@pytest.fixture
def linked(session_factory):
    """The fixture people and employees, imported and linked to customers."""
    import_file(session_factory, FIXTURES / "people_webshop.csv")
    import_file(session_factory, FIXTURES / "people_pos.jsonl", source="pos")
    with session_factory.begin() as session:
        import_employees(session, rows=read_rows(FIXTURES / "employees.csv"))
    relink_all(session_factory)
    return session_factory


def import_child(session_factory, importer, path: Path, **kwargs):
    with session_factory.begin() as session:
        return importer(session, rows=read_rows(path), **kwargs)


def customer_of(session_factory, source: str, source_id: str) -> int:
    return records(session_factory, source)[source_id].customer_id


def test_orders_group_lines_and_a_bad_line_drops_its_whole_order(linked):
    report = import_child(linked, import_orders, FIXTURES / "orders.csv")
    assert problems(report) == [
        (6, "quantity must be a whole number of at least 1 (order WEB-2 not imported)"),
        (7, "unknown person record webshop/W-9999 (import the people file of webshop first) (order WEB-3 not imported)"),
        (8, "unknown channel 'drone' (one of web, store, phone) (order WEB-4 not imported)"),
    ]
    assert report.created == 2
    with linked() as session:
        orders = {o.order_number: o for o in session.scalars(select(Order))}
        assert sorted(orders) == ["POS-77", "WEB-1"]
        web = orders["WEB-1"]
        assert web.total_amount == Decimal("280.00")  # 189 + 2 x 45.50, computed when amount is empty
        assert web.ordered_at == dt.datetime(2024, 3, 1, 9, 15)  # +01:00 stored as UTC
        assert [(line.sku, line.quantity) for line in web.lines] == [("SKU-1", 1), ("SKU-2", 2)]
        assert web.customer_id == customer_of(linked, "webshop", "W-1001")
        assert orders["POS-77"].lines[0].unit_price == Decimal("59.90")  # decimal comma
        assert orders["POS-77"].store.code == "PAR01"


def test_orders_reimport_is_idempotent_and_a_changed_order_is_replaced(linked, tmp_path):
    import_child(linked, import_orders, FIXTURES / "orders.jsonl")
    again = import_child(linked, import_orders, FIXTURES / "orders.jsonl")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    changed = write(tmp_path, "o.csv", "source,source_id,order_number,ordered_at,channel,status,sku,product_name,"
                    "unit_price\nwebshop,W-1005,WEB-10,2024-06-01T09:00:00Z,web,returned,SKU-7,Raincoat,99.00\n")
    report = import_child(linked, import_orders, changed)
    assert (report.created, report.updated) == (0, 1)
    with linked() as session:
        order = session.scalar(select(Order).where(Order.order_number == "WEB-10"))
        assert [(line.sku, line.unit_price) for line in order.lines] == [("SKU-7", Decimal("99.00"))]
        assert order.total_amount == Decimal("99.00")
        assert order.status == "returned"


def test_child_rows_of_a_person_not_linked_yet_are_refused(session_factory, tmp_path):
    import_file(session_factory, FIXTURES / "people_webshop.csv")  # no relink
    report = import_child(session_factory, import_web_signals, FIXTURES / "signals.csv")
    assert report.created == 0
    assert problems(report)[0] == (
        2, "person record webshop/W-1001 is not linked to a customer yet (run identity resolution: "
           "`frontline import` of people does it at the end)")


def test_signals_and_preferences_import_once(linked):
    for importer, name, model, expected in (
        (import_web_signals, "signals.csv", WebSignal, [(4, "unknown kind 'liked' (one of wishlist, viewed, recommended)")]),
        (import_preferences, "preferences.csv", DeclaredPreference,
         [(4, "unknown person record crm/C-404 (import the people file of crm first)")]),
    ):
        first = import_child(linked, importer, FIXTURES / name)
        second = import_child(linked, importer, FIXTURES / name)
        assert problems(first) == expected
        assert (first.created, second.created, second.unchanged) == (2, 0, 2)
        with linked() as session:
            assert session.scalar(select(func.count()).select_from(model)) == 2
            owners = set(session.scalars(select(model.customer_id)))
            assert owners == {customer_of(linked, "webshop", "W-1001")}


def test_the_latest_consent_wins_and_an_older_file_does_not_override(linked, tmp_path):
    report = import_child(linked, import_consents, FIXTURES / "consents.csv")
    assert problems(report) == [(5, "unknown channel 'carrier-pigeon' (one of email, sms, phone, post, any)")]
    older = write(tmp_path, "old.csv", "source,source_id,purpose,channel,granted,recorded_at\n"
                  "webshop,W-1001,marketing,email,yes,2023-06-01\n")
    assert import_child(linked, import_consents, older).unchanged == 1
    with linked() as session:
        consent = session.scalar(select(Consent).where(Consent.customer_id == customer_of(linked, "webshop", "W-1001")))
        assert (consent.purpose, consent.channel, consent.granted) == ("marketing", "email", False)
        assert consent.recorded_at == dt.datetime(2024, 2, 1)


def test_interactions_with_follow_ups_import_once_and_update(linked, tmp_path):
    report = import_child(linked, import_interactions, FIXTURES / "interactions.csv")
    assert problems(report) == [(4, "unknown employee U0NOBODY (import employees first)")]
    assert report.created == 2
    assert import_child(linked, import_interactions, FIXTURES / "interactions.csv").unchanged == 2
    done = write(tmp_path, "i.csv", (FIXTURES / "interactions.csv").read_text().splitlines()[0]
                 + ",follow_up_completed_at\n"
                 "webshop,W-1001,CRM-1,U0ALICE,store,advice,follow_up,Wants the trench in beige,"
                 "2024-06-10T15:00:00+02:00,2024-06-20,U0BOB,done,2024-06-12T09:30:00+02:00\n")
    assert import_child(linked, import_interactions, done).updated == 1
    with linked() as session:
        interaction = session.scalar(select(Interaction).where(Interaction.source_ref == "CRM-1"))
        assert interaction.employee.slack_user_id == "U0ALICE"
        assert interaction.store_id is not None  # where Alice works
        assert interaction.created_at == dt.datetime(2024, 6, 10, 13, 0)
        follow_up = session.scalar(select(FollowUp))
        assert (follow_up.interaction_id, follow_up.status, follow_up.assignee.slack_user_id) == (
            interaction.id, "done", "U0BOB")
        assert follow_up.completed_at == dt.datetime(2024, 6, 12, 7, 30)  # +02:00 stored as UTC
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 1


# --- when an imported follow-up was completed -----------------------------------------------------

INTERACTIONS_HEADER = ("source,source_id,external_id,employee_slack_id,channel,type,outcome,note,created_at,"
                       "follow_up_due,follow_up_assignee,follow_up_status,follow_up_completed_at\n")


def interaction_row(ref: str, created_at: str, status: str, completed_at: str = "", source_id: str = "W-1001") -> str:
    return (f"webshop,{source_id},{ref},U0ALICE,phone,call,follow_up,,{created_at},2024-06-20,U0BOB,{status},"
            f"{completed_at}\n")


@pytest.mark.parametrize(
    ("status", "completed_at", "reason"),
    [
        ("done", "", "follow_up_completed_at is needed when follow_up_status is done: "
                     "KPIs count a completion on that date"),
        ("open", "2024-06-12T09:00:00Z", "follow_up_completed_at is only for a done follow-up "
                                         "(follow_up_status is open)"),
        ("cancelled", "2024-06-12T09:00:00Z", "follow_up_completed_at is only for a done follow-up "
                                              "(follow_up_status is cancelled)"),
        # 11:59 in Paris is 09:59 UTC, a minute before the interaction.
        ("done", "2024-06-10T11:59:00+02:00", "follow_up_completed_at is earlier than created_at"),
        ("done", "12/06/2024", "follow_up_completed_at is not an ISO 8601 date-time (e.g. 2024-03-01T14:30:00Z)"),
    ],
)
def test_a_follow_up_completion_time_that_does_not_fit_its_status_is_refused(linked, tmp_path, status,
                                                                              completed_at, reason):
    path = write(tmp_path, "i.csv", INTERACTIONS_HEADER
                 + interaction_row("CRM-1", "2024-06-10T10:00:00Z", status, completed_at)
                 + interaction_row("CRM-2", "2024-06-10T10:00:00Z", "done", "2024-06-10T10:00:00Z"))
    report = import_child(linked, import_interactions, path)
    assert problems(report) == [(2, reason)]
    assert report.created == 1
    with linked() as session:
        assert list(session.scalars(select(Interaction.source_ref))) == ["CRM-2"]
        assert list(session.scalars(select(FollowUp.source_ref))) == ["CRM-2"]


def kpi_of_team(session_factory, manager_slack_id: str):
    """What `/kpi team 2024-06-01..2024-06-30` shows the manager."""
    from store.kpi import kpi_report
    from store.kpi_query import KpiQuery, Period, Scope
    from store.models import Employee
    from tests.store.kpi_fixtures import Viewer

    with session_factory() as session:
        manager = session.scalar(select(Employee).where(Employee.slack_user_id == manager_slack_id))
        viewer = Viewer(manager.id, manager.role, manager.team_id, manager.store_id)
        query = KpiQuery(Scope("team"), Period("range", dt.date(2024, 6, 1), dt.date(2024, 7, 1)), None)
        return kpi_report(session, viewer, query, now=dt.datetime(2024, 7, 1, 12, 0)).current


def test_imported_completions_count_in_kpis_and_a_reimport_moves_them(linked, tmp_path):
    first = write(tmp_path, "i.csv", INTERACTIONS_HEADER
                  # 13:00 UTC -> 07:30 UTC two days later: 42.5 h
                  + interaction_row("CRM-1", "2024-06-10T15:00:00+02:00", "done", "2024-06-12T09:30:00+02:00")
                  # 6 h
                  + interaction_row("CRM-2", "2024-06-11T10:00:00Z", "done", "2024-06-11T16:00:00Z", "W-1002")
                  + interaction_row("CRM-3", "2024-06-11T10:00:00Z", "open", "", "W-1002"))
    assert import_child(linked, import_interactions, first).created == 3
    figures = kpi_of_team(linked, "U0ALICE")
    assert (figures.followups_created, figures.followups_completed) == (3, 2)
    assert figures.median_completion_hours == (42.5 + 6) / 2

    # The CRM export a day later says CRM-1 was completed on the 11th at 13:00 UTC: 24 h.
    second = write(tmp_path, "i2.csv", INTERACTIONS_HEADER
                   + interaction_row("CRM-1", "2024-06-10T15:00:00+02:00", "done", "2024-06-11T13:00:00Z")
                   + interaction_row("CRM-2", "2024-06-11T10:00:00Z", "done", "2024-06-11T16:00:00Z", "W-1002"))
    report = import_child(linked, import_interactions, second)
    assert (report.updated, report.unchanged) == (1, 1)
    with linked() as session:
        completed = session.scalar(select(FollowUp.completed_at).where(FollowUp.source_ref == "CRM-1"))
        assert completed == dt.datetime(2024, 6, 11, 13, 0)
    figures = kpi_of_team(linked, "U0ALICE")
    assert figures.followups_completed == 2
    assert figures.median_completion_hours == (24 + 6) / 2


def test_a_bad_byte_after_the_first_mebibyte_is_reported_on_its_line(tmp_path):
    # The check reads 4 + 1 MiB bytes first: the two bytes of "é" straddle that read.
    path = tmp_path / "big.csv"
    first = b"source_id\n" + b"W" * ((1 << 20) - 7) + "é".encode()
    assert first.index("é".encode()) == 4 + (1 << 20) - 1
    path.write_bytes(first + b"\nW2\nW\xe93\n")  # a Latin-1 byte on line 4
    with pytest.raises(ImportFileError, match=r"big.csv is not UTF-8 text \(line 4\)"):
        check_text_file(path)
    path.write_bytes(first + b"\nW2\n")
    check_text_file(path)  # the cut character is whole once the next read completes it
