"""`frontline serve --http`: the real gunicorn server in a subprocess, and its start-up checks."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.slack_driver import HttpTransport, SlackDriver

REPO = Path(__file__).resolve().parents[2]
FRONTLINE = str(Path(sys.executable).parent / "frontline")  # the installed entry point, as users run it
SECRET = "serve-test-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(db_url: str, slack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PROMETHEUS_"))}
    env.update(DATABASE_URL=db_url, SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=SECRET,
               SLACK_API_URL=slack.api_url, FRONTLINE_ACCESS_CONTACT="Claire (store manager)",
               FRONTLINE_LOCALE="en")
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _frontline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([FRONTLINE, *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=60)


@pytest.fixture
def gunicorn_server(db_url, slack):
    port = _free_port()
    process = subprocess.Popen(
        [FRONTLINE, "serve", "--http", "--port", str(port), "--workers", "2"],
        cwd=REPO, env=_env(db_url, slack), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:  # wait for start-up: the workers boot, then /healthz answers
        assert process.poll() is None, process.stdout.read()
        try:
            if _get(url + "/healthz")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "gunicorn did not start within 30s"
        time.sleep(0.1)
    yield url
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output


def test_gunicorn_serves_signed_slack_requests_health_and_metrics(gunicorn_server, slack):
    slack.add_user("U0STRANGER", "Sam Stranger")
    driver = SlackDriver(HttpTransport(gunicorn_server), slack, SECRET)
    replies = [driver.command("/customer", "dupont", user="U0STRANGER") for _ in range(6)]
    assert {r.status for r in replies} == {200}
    assert all("Claire (store manager)" in r.json["text"] for r in replies)
    assert driver.send("x=1", "application/x-www-form-urlencoded", secret="wrong").status == 401
    status, body = _get(gunicorn_server + "/healthz")
    assert (status, json.loads(body)) == (200, {"database": "ok", "scheduler": "running"})
    status, metrics = _get(gunicorn_server + "/metrics")
    # Counted across both workers (multiprocess mode): all 6 commands, whichever worker took them.
    assert 'frontline_slack_requests_total{kind="command",status="200"} 6.0' in metrics


def test_serve_refuses_an_unmigrated_database(empty_db_url, slack):
    result = _frontline("serve", "--http", "--port", str(_free_port()), env=_env(empty_db_url, slack))
    assert result.returncode == 1
    assert "run `frontline migrate`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("SLACK_SIGNING_SECRET", "", "SLACK_SIGNING_SECRET"),
    ("SLACK_BOT_TOKEN", "", "SLACK_BOT_TOKEN"),
    ("SLACK_BOT_TOKEN", "xoxb-wrong", "SLACK_BOT_TOKEN"),
    ("FRONTLINE_TIMEZONE", "Mars/Olympus", "FRONTLINE_TIMEZONE"),
])
def test_serve_stops_with_one_line_naming_a_bad_setting(db_url, slack, variable, value, named):
    result = _frontline("serve", "--http", "--port", str(_free_port()), env=_env(db_url, slack, **{variable: value}))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr


def test_socket_mode_needs_an_app_token(db_url, slack):
    result = _frontline("serve", env=_env(db_url, slack))
    assert result.returncode != 0
    assert "SLACK_APP_TOKEN" in result.stderr
