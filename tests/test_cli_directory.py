"""`frontline employees sync`, driven as an admin would, against the loopback Slack stand-in (users.list,
usergroups.list, usergroups.users.list over HTTP) on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from bot.cli import main

MAPPING = """\
[roles]
admin = { groups = ["frontline-admins"] }
manager = { groups = ["@store-managers"], profile = { title = ["Store Manager"] } }

[[teams]]
group = "paris-floor"
team = "Paris floor"
store = "PAR01"

[[teams]]
group = "lyon-floor"
team = "Lyon floor"
store = "LYO01"
"""


@pytest.fixture
def directory(slack, monkeypatch, tmp_path):
    """A workspace: an admin, a manager by group, a manager by job title, two associates, a guest, a bot,
    and someone in no mapped group; the mapping file path is returned."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    slack.add_user("U0ADA", "Ada Admin", locale="fr-FR", tz="Europe/Paris", email="Ada@Retail.example")
    slack.add_user("U0MAX", "Max Manager", locale="en-GB", tz="Europe/London", email="max@retail.example")
    slack.add_user("U0TIA", "Tia Title", title="store manager")
    slack.add_user("U0ALI", "Ali Associate", locale="de-DE", tz="Europe/Berlin")
    slack.add_user("U0LEA", "Lea Lyon", tz="Not/AZone")
    slack.add_user("U0GUS", "Gus Guest", is_restricted=True)
    slack.add_user("U0BOT", "Some Bot", is_bot=True)
    slack.add_user("U0OUT", "Otto Outside")
    slack.add_usergroup("frontline-admins", ["U0ADA"])
    slack.add_usergroup("store-managers", ["U0MAX"])
    slack.add_usergroup("paris-floor", ["U0MAX", "U0ALI", "U0GUS", "U0BOT"])
    slack.add_usergroup("lyon-floor", ["U0LEA", "U0TIA"])
    slack.add_usergroup("everyone-else", ["U0OUT"])
    path = tmp_path / "directory.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


def listing(frontline) -> dict[str, tuple[str, ...]]:
    """`frontline employees list` read by its columns: Slack id -> (name, role, team, store, locale, zone, active)."""
    status, out, _ = frontline("employees", "list")
    assert status == 0
    if out.startswith("No employees"):
        return {}
    header, _, *rows = out.splitlines()[:-1]
    starts = [header.index(title) for title in ("Slack ID", "Name", "Role", "Team", "Store", "Locale", "Time zone",
                                                "Active")]
    cells = [[row[start:end].strip() for start, end in zip(starts, [*starts[1:], None], strict=True)] for row in rows]
    return {cell[0]: tuple(cell[1:]) for cell in cells}


def roster(frontline) -> dict[str, tuple[str, ...]]:
    """Slack id -> (role, team, store, locale, time zone, active)."""
    return {slack_id: row[1:] for slack_id, row in listing(frontline).items()}


def test_sync_gives_access_by_group_and_title_with_locale_time_zone_and_email(frontline, directory, slack):
    status, out, err = frontline("employees", "sync", "--mapping", directory)
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == ("directory: 8 people read, 5 gained access, 0 lost access, 0 changed role, "
                                   "0 changed team or store")
    assert sorted(out.splitlines()[1:]) == [
        "gained access: U0ADA (Ada Admin) as admin", "gained access: U0ALI (Ali Associate) as associate",
        "gained access: U0LEA (Lea Lyon) as associate", "gained access: U0MAX (Max Manager) as manager",
        "gained access: U0TIA (Tia Title) as manager"]
    assert roster(frontline) == {
        "U0ADA": ("admin", "-", "-", "fr", "Europe/Paris", "yes"),
        "U0MAX": ("manager", "Paris floor", "PAR01", "en", "Europe/London", "yes"),
        "U0TIA": ("manager", "Lyon floor", "LYO01", "en", "Europe/Paris", "yes"),
        # Slack's de-DE is a language Frontline does not speak: English; an unknown zone is left empty.
        "U0ALI": ("associate", "Paris floor", "PAR01", "en", "Europe/Berlin", "yes"),
        "U0LEA": ("associate", "Lyon floor", "LYO01", "en", "-", "yes"),
    }
    # Slack was read the documented way: pages with a limit, locales asked for, only mapped groups' members.
    listed = slack.calls_to("users.list")
    assert listed and all(call.args.get("include_locale") in ("1", "true", True) and call.args.get("limit")
                          for call in listed)
    assert {call.args["usergroup"] for call in slack.calls_to("usergroups.users.list")} == {
        group.id for group in slack.usergroups.values() if group.handle != "everyone-else"}
    status, out, _ = frontline("employees", "history", "U0ADA")
    assert status == 0 and out.split()[2:4] == ["cli:it.admin", "register"]
    # A second sync of the same directory changes nothing.
    status, out, _ = frontline("employees", "sync", "--mapping", directory)
    assert out == "directory: 8 people read, 0 gained access, 0 lost access, 0 changed role, 0 changed team or store\n"


def test_deleted_removed_from_every_group_promoted_and_moved_are_applied_and_audited(frontline, directory, slack):
    assert frontline("employees", "sync", "--mapping", directory)[0] == 0
    slack.add_user("U0MAX", "Max Manager", locale="en-GB", tz="Europe/London", deleted=True)
    slack.add_usergroup("paris-floor", ["U0MAX", "U0GUS", "U0BOT"])  # Ali taken out of his only group
    slack.add_usergroup("store-managers", ["U0MAX", "U0LEA"])  # Lea promoted
    slack.add_usergroup("lyon-floor", ["U0LEA"])
    slack.add_usergroup("paris-floor", ["U0MAX", "U0GUS", "U0BOT", "U0TIA"])  # Tia moves to Paris
    status, out, err = frontline("employees", "sync", "--mapping", directory)
    assert (status, err) == (0, "")
    assert sorted(out.splitlines()[1:]) == [
        "changed role: U0LEA (Lea Lyon) associate -> manager",
        "lost access: U0ALI (Ali Associate)",
        "lost access: U0MAX (Max Manager)",
        "moved: U0TIA (Tia Title) (team, store)",
    ]
    after = roster(frontline)
    assert after["U0MAX"][-1] == after["U0ALI"][-1] == "no"
    assert after["U0MAX"][:3] == ("manager", "Paris floor", "PAR01")  # kept as they were, for the history
    assert after["U0TIA"][:3] == ("manager", "Paris floor", "PAR01")
    assert "U0GUS" not in after and "U0BOT" not in after and "U0OUT" not in after
    status, out, _ = frontline("employees", "history")
    actions = {(line.split()[4], line.split()[3]) for line in out.splitlines()}
    assert {("U0MAX", "deactivate"), ("U0ALI", "deactivate"), ("U0LEA", "role"), ("U0TIA", "team"),
            ("U0TIA", "store")} <= actions


def test_a_guest_gets_access_only_when_the_mapping_allows_guests(frontline, directory):
    assert frontline("employees", "sync", "--mapping", directory)[0] == 0
    assert "U0GUS" not in roster(frontline)
    directory.write_text("allow_guests = true\n" + MAPPING, encoding="utf-8")
    status, out, _ = frontline("employees", "sync", "--mapping", directory)
    assert status == 0 and "gained access: U0GUS (Gus Guest) as associate" in out.splitlines()
    directory.write_text(MAPPING, encoding="utf-8")
    status, out, _ = frontline("employees", "sync", "--mapping", directory)
    assert status == 0 and "lost access: U0GUS (Gus Guest)" in out.splitlines()


def test_dry_run_shows_the_changes_and_changes_nothing(frontline, directory, slack):
    assert frontline("employees", "sync", "--mapping", directory)[0] == 0
    before = listing(frontline)
    slack.add_user("U0ALI", "Ali Associate", deleted=True)
    slack.add_usergroup("frontline-admins", ["U0ADA", "U0MAX"])
    slack.add_user("U0NEW", "Nina New", locale="fr-FR")
    slack.add_usergroup("lyon-floor", ["U0LEA", "U0TIA", "U0NEW"])
    status, out, err = frontline("employees", "sync", "--dry-run", "--mapping", directory)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "Dry run: nothing was changed. Would be: 9 people read, 1 gained access, 1 lost access, 1 changed role, "
        "0 changed team or store",
        "would gain access: U0NEW (Nina New) as associate",
        "would lose access: U0ALI (Ali Associate)",
        "would change role: U0MAX (Max Manager) manager -> admin",
    ]
    assert listing(frontline) == before
    status, out, _ = frontline("employees", "history")
    assert "deactivate" not in out and "U0NEW" not in out


def test_paging_across_many_pages_with_a_429_in_the_middle(frontline, directory, slack):
    people = [f"U1{index:05d}" for index in range(2000)]
    for slack_id in people:
        slack.add_user(slack_id, f"Person {slack_id}")
    slack.add_usergroup("lyon-floor", ["U0LEA", "U0TIA", *people])
    slack.fail("users.list", status=429, retry_after=1, after=4)
    status, out, err = frontline("employees", "sync", "--mapping", directory)
    # The only thing on stderr is slack_sdk's log line saying it waited Slack's Retry-After and retried.
    assert status == 0 and len(err.splitlines()) == 1
    assert "RateLimitErrorRetryHandler" in err and "users.list" in err
    assert out.splitlines()[0].startswith("directory: 2008 people read, 2005 gained access")
    calls = slack.calls_to("users.list")
    assert [call.status for call in calls].count(429) == 1 and calls[4].status == 429
    answered = [call for call in calls if call.status == 200]
    assert len(answered) == 11  # 2,008 people, 200 a page
    # Each page asked for the cursor the previous one gave, the retried one included.
    cursors = [call.args.get("cursor") for call in calls]
    assert cursors[0] is None and cursors[4] == cursors[5]
    assert [call.response["response_metadata"]["next_cursor"] for call in answered][:-1] == [
        call.args["cursor"] for call in answered[1:]]
    assert len([row for row in listing(frontline).values() if row[-1] == "yes"]) == 2005


@pytest.mark.parametrize(("text", "message"), [
    ("[roles\nadmin = 1", "directory.toml: not valid TOML: "),
    ("[roles]\nboss = { groups = [\"a\"] }\n", "directory.toml: roles.boss: unknown role (one of associate, manager, admin)"),
    ("allow_guests = \"yes\"\n[roles]\nadmin = { groups = [\"a\"] }\n", "directory.toml: allow_guests must be true or false"),
    ("[[teams]]\ngroup = \"paris-floor\"\n", "directory.toml: teams[1].team must be a team name (at most 120 characters)"),
    ("", "directory.toml: maps no user group and no profile field: it would take everyone's access away"),
])
def test_a_malformed_mapping_is_one_clear_line_and_changes_nothing(frontline, directory, slack, text, message):
    assert frontline("employees", "sync", "--mapping", directory)[0] == 0
    before = listing(frontline)
    slack.add_user("U0ADA", "Ada Admin", deleted=True)
    mark = slack.mark()
    directory.write_text(text, encoding="utf-8")
    status, out, err = frontline("employees", "sync", "--mapping", directory)
    assert (status, out) == (1, "")
    assert err.startswith("frontline: " + message) and err.count("\n") == 1
    assert listing(frontline) == before
    assert slack.calls_since(mark) == []  # refused before Slack is even asked


def test_the_mapping_file_comes_from_the_environment_or_is_asked_for(frontline, directory, monkeypatch):
    status, out, err = frontline("employees", "sync")
    assert (status, out) == (1, "")
    assert err == "frontline: no mapping file: pass --mapping FILE or set FRONTLINE_DIRECTORY_MAPPING\n"
    monkeypatch.setenv("FRONTLINE_DIRECTORY_MAPPING", str(directory))
    status, out, _ = frontline("employees", "sync")
    assert status == 0 and "5 gained access" in out


def test_a_mapped_group_slack_does_not_have_is_a_warning(frontline, directory):
    directory.write_text(MAPPING + '\n[[teams]]\ngroup = "nantes-floor"\nteam = "Nantes"\n', encoding="utf-8")
    status, _, err = frontline("employees", "sync", "--mapping", directory)
    assert (status, err) == (0, "warning: the mapping names @nantes-floor, which is not a user group in Slack\n")


def test_sync_has_help(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["employees", "sync", "--help"])
    assert stop.value.code == 0 and "--dry-run" in capsys.readouterr().out
