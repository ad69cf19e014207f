"""`frontline-console` end to end: piped input in, readable conversation out."""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import re
import subprocess
import sys
from pathlib import Path

from bot.config import Settings
from localslack.console import run as run_console
from store.clock import utc_now
from store.models import Customer, Interaction
from store.normalize import fold
from tests.support.probe_feature import FEATURE as PROBE
from tests.support.world import add_store_and_team

REPO = Path(__file__).resolve().parents[2]
CONSOLE = str(Path(sys.executable).parent / "frontline-console")  # the installed entry point, as users run it


def _console(db_url: str, script: str, *, user: str | None = None, full_app: bool = False,
             files_dir: Path | None = None) -> str:
    out = io.StringIO()
    settings = Settings(database_url=db_url, default_locale="en", access_contact="Claire (store manager)")
    run_console(argparse.Namespace(user=user), settings, stdin=io.StringIO(script), stdout=out,
                features=None if full_app else [PROBE], files_dir=files_dir)
    return out.getvalue()


def _store_with_figures(session_factory, employee) -> None:
    """A manager, an associate, and a customer whose name holds an `&`, seen three times two days ago."""
    with session_factory.begin() as session:
        store, team = add_store_and_team(session)
        store_id, team_id = store.id, team.id
    lea = employee("U0LEA", "Léa Martin", team_id=team_id, store_id=store_id)
    employee("U0NINA", "Nina Roy", role="manager", team_id=team_id, store_id=store_id)
    with session_factory.begin() as session:
        customer = Customer(first_name="Anne & Marc", last_name="Dupuis", search_name=fold("Anne & Marc Dupuis"),
                            city="Paris")
        session.add(customer)
        session.flush()
        two_days_ago = utc_now() - dt.timedelta(days=2)
        for hours, outcome in ((0, "resolved"), (1, "follow_up"), (2, "resolved")):
            session.add(Interaction(employee_id=lea, customer_id=customer.id, store_id=store_id, team_id=team_id,
                                    channel="store", type="visit", outcome=outcome,
                                    created_at=two_days_ago + dt.timedelta(hours=hours)))


def test_piped_console_runs_commands_buttons_and_modals_through_the_app(db_url, session_factory, employee):
    employee("U0LEA", "Léa Martin", role="admin")
    output = _console(db_url, "\n".join([
        "/probe-card Dupont",
        "select 2 gold",
        "click 1",
        "set 3 hi",
        "submit",
        "set 4 likes blue scarves",
        "submit",
        "bonjour",
    ]) + "\n")
    assert "you are Léa Martin (U0LEA)" in output
    assert "(1) [Add note]  (2) <static_select: Tier> options: Gold, Silver" in output
    assert "tier set to gold" in output
    assert "┌─ Note" in output
    assert "! note: Too short" in output
    assert "note on Dupont saved: likes blue scarves" in output
    assert "you said 'bonjour', Léa Martin" in output
    assert "invalid Block Kit" not in output


def test_console_as_an_unregistered_user_shows_the_refusal(db_url):
    output = _console(db_url, "/probe x\n", user="U0NOBODY")
    assert "Claire (store manager)" in output and "Sorry" in output
    assert "hello" not in output


def test_frontline_console_command_reads_stdin_until_eof(db_url, employee):
    employee("U0LEA", "Léa Martin", role="admin")
    env = dict(os.environ, DATABASE_URL=db_url, FRONTLINE_ACCESS_CONTACT="Claire (store manager)",
               FRONTLINE_LOCALE="en")
    result = subprocess.run([CONSOLE, "--as", "U0STRANGER"],
                            input="/customer dupont\nhelp\n", capture_output=True, text=True, cwd=REPO, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "> /customer dupont" in result.stdout
    assert "Claire (store manager)" in result.stdout
    assert "click N" in result.stdout


def test_console_on_an_unmigrated_database_says_to_migrate(empty_db_url):
    env = dict(os.environ, DATABASE_URL=empty_db_url)
    result = subprocess.run([CONSOLE], input="", capture_output=True, text=True,
                            cwd=REPO, env=env, timeout=60)
    assert result.returncode == 1
    assert "frontline migrate" in result.stderr


def test_console_shows_escaped_text_as_slack_does(db_url, session_factory, employee):
    _store_with_figures(session_factory, employee)
    output = _console(db_url, "/customer dupuis\n", user="U0NINA", full_app=True)
    assert "ANNE & MARC DUPUIS" in output  # the bot sends `Anne &amp; Marc`; Slack (and the console) show `&`
    assert "&amp;" not in output


def test_console_saves_the_uploaded_chart_and_prints_its_path(db_url, session_factory, employee, tmp_path):
    _store_with_figures(session_factory, employee)
    output = _console(db_url, "/kpi team last 7 days\n", user="U0NINA", full_app=True, files_dir=tmp_path)
    shown = re.search(r"\[file\] .+: (\S+\.png)$", output, re.MULTILINE)
    assert shown, output
    chart = Path(shown.group(1))
    assert chart.parent == tmp_path
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_frontline_console_prints_no_matplotlib_log_line(db_url, session_factory, employee, tmp_path):
    """The first chart drawn with an empty matplotlib cache makes matplotlib log that it builds one."""
    _store_with_figures(session_factory, employee)
    env = dict(os.environ, DATABASE_URL=db_url, FRONTLINE_LOCALE="en", MPLCONFIGDIR=str(tmp_path / "mpl"),
               TMPDIR=str(tmp_path))
    result = subprocess.run([CONSOLE, "--as", "U0NINA"], input="/kpi team last 7 days\n", capture_output=True,
                            text=True, cwd=REPO, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "[file] " in result.stdout and ".png" in result.stdout
    assert "matplotlib" not in result.stdout + result.stderr
