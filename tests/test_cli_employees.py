"""`frontline employees import --sync/--dry-run`, `deactivate`, `reactivate` and `history`, driven as an
admin would, against SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from bot.cli import main

HEADER = "slack_user_id,name,email,role,team,store,locale,timezone\n"
STAFF = (HEADER
         + "U0ADA,Ada Admin,ada@retail.example,admin,Head office,HQ01,fr,Europe/Paris\n"
         + "U0MAX,Max Manager,max@retail.example,manager,Paris floor,PAR01,en,\n"
         + "U0ALI,Ali Associate,,associate,Paris floor,PAR01,,\n")


@pytest.fixture
def staff(frontline, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text(STAFF, encoding="utf-8")
    assert frontline("employees", "import", path)[0] == 0
    return path


def listing(frontline) -> dict[str, list[str]]:
    status, out, _ = frontline("employees", "list")
    assert status == 0
    return {line.split()[0]: line.split() for line in out.splitlines()[2:-1]}


@pytest.mark.parametrize("command", ["deactivate", "reactivate", "history"])
def test_new_commands_have_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["employees", command, "--help"])
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("usage: frontline employees")


def test_deactivate_then_reactivate_is_audited_with_the_os_user(frontline, staff):
    status, out, err = frontline("employees", "deactivate", "u0max")  # typed in lower case: the same person
    assert (status, err) == (0, "")
    assert out == ("Deactivated U0MAX (Max Manager): refused from their next request; "
                   "their history and KPIs are kept.\n")
    assert listing(frontline)["U0MAX"][-1] == "no"
    status, out, _ = frontline("employees", "deactivate", "U0MAX")
    assert (status, out) == (0, "U0MAX (Max Manager) is already deactivated: nothing changed.\n")
    status, out, _ = frontline("employees", "reactivate", "U0MAX")
    assert (status, out) == (0, "Reactivated U0MAX (Max Manager): they may use Frontline again from their next request.\n")
    assert listing(frontline)["U0MAX"][3:5] == ["manager", "Paris"]  # role and team kept
    status, out, err = frontline("employees", "history", "U0MAX")
    assert status == 0 and err == "3 change(s) of access.\n"
    assert [line.split()[2:5] for line in out.splitlines()] == [
        ["cli:it.admin", "register", "U0MAX"], ["cli:it.admin", "deactivate", "U0MAX"],
        ["cli:it.admin", "reactivate", "U0MAX"]]


@pytest.mark.parametrize(("slack_id", "message"), [
    ("U0NOBODY", "frontline: no employee has the Slack id U0NOBODY (`frontline employees list` shows them)\n"),
    ("alice", "frontline: 'alice': not a Slack user id (U or W followed by capitals and digits)\n"),
    ("U" + "9" * 100, "frontline: 'U" + "9" * 39 + "': not a Slack user id (U or W followed by capitals and digits)\n"),
])
def test_deactivating_someone_unknown_is_one_clear_line(frontline, staff, slack_id, message):
    status, out, err = frontline("employees", "deactivate", slack_id)
    assert (status, out, err) == (1, "", message)
    assert all(row[-1] == "yes" for row in listing(frontline).values())


def test_dry_run_sync_lists_who_would_gain_lose_or_change_role_and_changes_nothing(frontline, staff, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "U0ADA,Ada Admin,,admin,,,,\nU0ALI,Ali Associate,,manager,,,,\n"
                      "U0NEW,Nina New,,,,,fr-FR,\n", encoding="utf-8")
    before = listing(frontline)
    status, out, err = frontline("employees", "import", roster, "--sync", "--dry-run")
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "Dry run: nothing was changed. Would be: 3 rows read, 1 created, 2 updated, 0 unchanged, 0 rejected, "
        "1 deactivated",
        "would gain access: U0NEW (Nina New) as associate",
        "would lose access: U0MAX (Max Manager)",
        "would change role: U0ALI (Ali Associate) associate -> manager",
    ]
    assert listing(frontline) == before
    assert frontline("employees", "history")[1].count("\n") == 3  # the three registrations only
    status, out, _ = frontline("employees", "import", roster, "--sync")
    assert status == 0 and out.splitlines()[1:] == [
        "gained access: U0NEW (Nina New) as associate",
        "lost access: U0MAX (Max Manager)",
        "changed role: U0ALI (Ali Associate) associate -> manager",
    ]
    after = listing(frontline)
    assert (after["U0MAX"][-1], after["U0NEW"][-1], after["U0ALI"][3]) == ("no", "yes", "manager")


def test_sync_with_bad_rows_is_refused_and_says_why(frontline, staff, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "U0ADA,Ada Admin,,admin,,,,\nU0ADA,Ada Again,,associate,,,,\n", encoding="utf-8")
    before = listing(frontline)
    status, out, err = frontline("employees", "import", roster, "--sync")
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        "roster.csv:2: U0ADA is on lines 2 and 3: one row per employee (none of these rows was imported)",
        "roster.csv:3: U0ADA is on lines 2 and 3: one row per employee (none of these rows was imported)",
        "roster.csv: --sync: 2 row(s) rejected, so nothing was changed (nobody is deactivated because of a row "
        "that could not be read); fix the file and import again",
    ]
    assert listing(frontline) == before


def test_a_names_only_roster_demotes_nobody_and_warnings_name_their_line(frontline, staff, tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("slack_user_id,name,locale\nU0ADA,Ada Admin,fr-FR\nU0MAX,Max Manager,de-DE\n", encoding="utf-8")
    before = listing(frontline)
    status, out, err = frontline("employees", "import", names)
    assert status == 0 and "0 rejected" in out
    assert err == "names.csv:3: warning: locale 'de-DE' is not available (one of en, fr): en is used\n"
    assert listing(frontline) == before  # roles, teams, stores untouched; locales fold to what they were
