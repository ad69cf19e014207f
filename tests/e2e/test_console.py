"""`frontline console` end to end: piped input in, readable conversation out."""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

from bot.config import Settings
from bot.console import run as run_console
from tests.support.probe_feature import FEATURE as PROBE

REPO = Path(__file__).resolve().parents[2]
FRONTLINE = str(Path(sys.executable).parent / "frontline")  # the installed entry point, as users run it


def _console(db_url: str, script: str, *, user: str | None = None) -> str:
    out = io.StringIO()
    settings = Settings(database_url=db_url, default_locale="en", access_contact="Claire (store manager)")
    run_console(argparse.Namespace(user=user), settings, stdin=io.StringIO(script), stdout=out, features=[PROBE])
    return out.getvalue()


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
    result = subprocess.run([FRONTLINE, "console", "--as", "U0STRANGER"],
                            input="/customer dupont\nhelp\n", capture_output=True, text=True, cwd=REPO, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "> /customer dupont" in result.stdout
    assert "Claire (store manager)" in result.stdout
    assert "click N" in result.stdout


def test_console_on_an_unmigrated_database_says_to_migrate(empty_db_url):
    env = dict(os.environ, DATABASE_URL=empty_db_url)
    result = subprocess.run([FRONTLINE, "console"], input="", capture_output=True, text=True,
                            cwd=REPO, env=env, timeout=60)
    assert result.returncode == 1
    assert "frontline migrate" in result.stderr
