"""`frontline import`, `frontline links` and `frontline employees` driven as an operator would."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bot.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def links(frontline) -> list[dict[str, str]]:
    status, out, _ = frontline("links")
    assert status == 0
    return list(csv.DictReader(io.StringIO(out)))


@pytest.mark.parametrize(
    "command",
    [[], ["import"], ["links"], ["employees"], ["employees", "import"], ["employees", "list"]],
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: frontline")
    if not command:
        for name in ("import", "links", "employees"):
            assert f"    {name}" in out


def test_import_people_then_links_shows_one_customer_per_person(frontline):
    status, out, err = frontline("import", FIXTURES / "people_webshop.csv", "--source", "webshop")
    assert status == 1  # some rows were rejected
    assert "people: 6 rows read, 3 created, 0 updated, 0 unchanged, 3 rejected" in out
    assert err.splitlines() == [
        "people_webshop.csv:4: birth_date is not a real date",
        "people_webshop.csv:5: malformed email",
        "people_webshop.csv:6: missing source_id",
    ]
    assert "identity resolution" in out
    status, _, _ = frontline("import", FIXTURES / "people_pos.jsonl", "--source", "pos")
    rows = links(frontline)
    assert [(row["source"], row["source_id"]) for row in rows] == [
        ("pos", "P-1"), ("pos", "P-2"), ("webshop", "W-1001"), ("webshop", "W-1002"), ("webshop", "W-1005")]
    customer = {(row["source"], row["source_id"]): row["customer_id"] for row in rows}
    assert all(customer.values())
    # Same phone and name on the till and the web shop, same e-mail for Jean: one customer each.
    assert customer[("pos", "P-1")] == customer[("webshop", "W-1001")]
    assert customer[("pos", "P-2")] == customer[("webshop", "W-1002")]
    assert len(set(customer.values())) == 3


def test_reimport_changes_nothing_and_links_stay(frontline, tmp_path):
    frontline("import", FIXTURES / "people_webshop.csv", "--source", "webshop")
    before = links(frontline)
    status, out, _ = frontline("import", FIXTURES / "people_webshop.csv", "--source", "webshop")
    assert "0 created, 0 updated, 3 unchanged" in out
    assert links(frontline) == before
    status, _, _ = frontline("links", "--output", tmp_path / "links.csv", "--source", "webshop")
    assert status == 0
    assert (tmp_path / "links.csv").read_text().splitlines()[0] == "source,source_id,customer_id"
    assert len((tmp_path / "links.csv").read_text().splitlines()) == 4


def test_a_clean_file_exits_zero_and_children_attach(frontline, tmp_path):
    people = tmp_path / "crm.ndjson"
    people.write_text('{"source_id": "C1", "first_name": "Léa", "last_name": "Roux", "email": "lea@example.fr"}\n')
    status, out, err = frontline("import", people, "--source", "crm")
    assert (status, err) == (0, "")
    prefs = tmp_path / "prefs.csv"
    prefs.write_text("source_id,category,label,value\nC1,size,dress,36\n")
    status, out, err = frontline("import", prefs, "--kind", "preferences", "--source", "crm")
    assert (status, err) == (0, "")
    assert "preferences: 1 rows read, 1 created" in out


def test_all_kinds_import_from_the_fixtures(frontline):
    frontline("employees", "import", FIXTURES / "employees.csv")
    frontline("import", FIXTURES / "people_webshop.csv", "--source", "webshop")
    frontline("import", FIXTURES / "people_pos.jsonl", "--source", "pos")
    expected = {
        "orders": "orders: 7 rows read, 2 created",
        "signals": "signals: 3 rows read, 2 created",
        "preferences": "preferences: 3 rows read, 2 created",
        "consents": "consents: 4 rows read, 2 created",
        "interactions": "interactions: 3 rows read, 2 created",
    }
    for kind, summary in expected.items():
        status, out, err = frontline("import", FIXTURES / f"{kind}.csv", "--kind", kind)
        assert status == 1 and summary in out, (kind, out)
        assert err.startswith(f"{kind}.csv:")
    status, out, _ = frontline("import", FIXTURES / "orders.jsonl", "--kind", "orders")
    assert status == 0 and "orders: 1 rows read, 1 created" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "PEOPLE"], "--source is required for people"),
        (["import", "missing.csv", "--source", "web"], "no such file: missing.csv"),
        (["import", "people.txt", "--source", "web"], "pass --format csv or --format jsonl"),
        (["import", "PEOPLE", "--source", "web shop!"], "--source: a source name is"),
    ],
)
def test_operator_mistakes_get_one_line(frontline, tmp_path, args, message):
    (tmp_path / "people.txt").write_text("source_id\nW1\n")
    args = [str(FIXTURES / "people_webshop.csv") if arg == "PEOPLE" else arg for arg in args]
    status, _out, err = frontline(*args)
    assert status == 1
    assert err.startswith("frontline: ") and message in err and len(err.splitlines()) == 1


def test_progress_bar_only_on_request(frontline):
    _, _, err = frontline("import", FIXTURES / "people_pos.jsonl", "--source", "pos", "--progress")
    assert "\rpeople [" in err and "100%" in err and "rows/s" in err
    _, _, err = frontline("import", FIXTURES / "people_pos.jsonl", "--source", "pos")
    assert "rows/s" not in err  # stderr is not a terminal under pytest


def test_employees_import_and_list(frontline, tmp_path):
    status, out, _ = frontline("employees", "list")
    assert status == 0 and "No employees yet" in out
    status, out, err = frontline("employees", "import", FIXTURES / "employees.csv")
    assert status == 1
    assert "employees: 5 rows read, 3 created, 0 updated, 0 unchanged, 2 rejected" in out
    assert err.splitlines() == [
        "employees.csv:4: unknown role 'supervisor' (one of associate, manager, admin)",
        "employees.csv:5: unknown time zone 'Mars/Olympus' (an IANA name such as Europe/Paris)",
    ]
    fixed = tmp_path / "fix.csv"
    fixed.write_text("slack_user_id,name,email,role,team,store,locale,timezone\n"
                     "U0CARL,Carl Dumas,,associate,Lyon floor,LYO01,fr,Europe/Paris\n"
                     "U0BOB,Bob Lee,bob@retail.example,manager,Paris Opéra floor,PAR01,en,\n")
    status, out, _ = frontline("employees", "import", fixed)
    assert status == 0 and "1 created, 1 updated" in out
    status, out, _ = frontline("employees", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["Slack", "ID", "Name", "Role", "Team", "Store", "Locale", "Time", "zone", "Active"]
    bob = next(line for line in lines if line.startswith("U0BOB"))
    assert "manager" in bob and "PAR01" in bob
    assert any(line.startswith("U0CARL") and "LYO01" in line for line in lines)
    assert lines[-1] == "4 employees"
