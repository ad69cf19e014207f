"""`frontline serve --http`: the real gunicorn server in a subprocess, and its start-up checks."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bench.pii_scan import find_leaks
from localslack import slack_requests as sr
from localslack.slack_driver import HttpTransport, SlackDriver
from tests.e2e.test_health import writes_locked_by_another_process
from tests.e2e.trust_world import JEANNE_EMAIL, JEANNE_PHONE, build_world

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
               FRONTLINE_LOCALE="en", FRONTLINE_ANSWER_IN_ACK_SECONDS="2.5")  # loaded test machines: see conftest
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


@dataclass
class Served:
    url: str
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def serving(db_url: str, slack, log_path: Path, *extra: str):
    """`frontline serve --http` (gunicorn, 2 workers) until SIGTERM, which must stop it cleanly."""
    port = _free_port()
    with log_path.open("w") as log_file:  # a file, not a pipe: a full pipe would block the server's logging
        process = subprocess.Popen(
            [FRONTLINE, "serve", "--http", "--port", str(port), "--workers", "2", *extra],
            cwd=REPO, env=_env(db_url, slack), stdout=log_file, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for start-up: the workers boot, then /healthz answers
            assert process.poll() is None, served.output()
            try:
                if _get(served.url + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start within 30s"
            time.sleep(0.1)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0, served.output()


@pytest.fixture
def gunicorn_server(db_url, slack, tmp_path):
    with serving(db_url, slack, tmp_path / "serve.log") as served:
        yield served.url


def _reports_locked(status: int, body: str) -> bool:
    """/healthz says writes fail (it also reports the inbox backlog, still readable)."""
    return status == 503 and json.loads(body)["database"] == "writes failing: locked"


def test_gunicorn_serves_signed_slack_requests_health_and_metrics(gunicorn_server, slack):
    slack.add_user("U0STRANGER", "Sam Stranger")
    driver = SlackDriver(HttpTransport(gunicorn_server), slack, SECRET)
    replies = [driver.command("/customer", "dupont", user="U0STRANGER") for _ in range(6)]
    assert {r.status for r in replies} == {200}
    assert all("Claire (store manager)" in r.json["text"] for r in replies)
    assert driver.send("x=1", "application/x-www-form-urlencoded", secret="wrong").status == 401
    status, body = _get(gunicorn_server + "/healthz")
    assert (status, json.loads(body)) == (200, {"database": "ok", "scheduler": "running", "inbox_pending": "0",
                                                "inbox_waiting": "0", "inbox_oldest_pending_seconds": "0.0"})
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


def _post(url: str, body, headers: dict[str, str], **kwargs) -> int:
    return _exchange(url, body, headers, **kwargs)[0]


def _exchange(url: str, body, headers: dict[str, str], **kwargs) -> tuple[int, bytes]:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers, **kwargs)
        response = connection.getresponse()
        return response.status, response.read()
    except (ConnectionResetError, BrokenPipeError):  # refused before it finished sending: fine, and a 4xx
        return 499, b""
    finally:
        connection.close()


def _signed(body: bytes, content_type: str = sr.FORM) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sr.signature(SECRET, timestamp, body.decode())}


def test_gunicorn_refuses_strangers_big_and_garbage_bodies_and_logs_no_body(db_url, slack, session_factory,
                                                                             employee, tmp_path):
    """The non-timed version of bench/flood.py: the bar's timings are measured there."""
    world = build_world(session_factory, employee)
    lookups = [JEANNE_EMAIL, JEANNE_PHONE, "Jeanne Dupont 12 rue de Rivoli", "x" * 40_000 + " " + JEANNE_EMAIL]
    with serving(db_url, slack, tmp_path / "serve.log", "--no-scheduler") as served:
        metrics_before = _get(served.url + "/metrics")[1]
        for text in lookups:  # unsigned, forged, stale: Slack-shaped bodies carrying what an employee typed
            body = sr.slash_command_body(slack.workspace, command="/customer", text=text, user_id="U0LEA",
                                         response_url=slack.new_response_url(), trigger_id=slack.new_trigger_id())
            raw = body.encode()
            assert _post(served.url, raw, {"Content-Type": sr.FORM}) == 401
            assert _post(served.url, raw, dict(_signed(raw), **{"X-Slack-Signature": "v0=" + "0" * 64})) == 401
            stale = sr.sign(body, sr.FORM, SECRET, timestamp=int(time.time()) - 600).headers
            assert _post(served.url, raw, stale) == 401
        megabyte = b"text=" + b"a" * 1_000_000
        assert _post(served.url, megabyte, {"Content-Type": sr.FORM}) in (413, 499)
        # Chunked (no Content-Length): read with a cap, refused past it; a small signed one is served.
        chunks = [b"text=" + b"b" * 500_000] * 3
        assert _post(served.url, iter(chunks), _signed(b"".join(chunks)), encode_chunked=True) in (413, 499)
        command = sr.slash_command_body(slack.workspace, command="/customer", text=JEANNE_EMAIL, user_id="U0LEA",
                                        response_url=slack.new_response_url(), trigger_id=slack.new_trigger_id())
        status, answered = _exchange(served.url, iter([command.encode()]), _signed(command.encode()),
                                     encode_chunked=True)
        assert status == 200 and "Jeanne Dupont" in answered.decode()  # the card, in the ack
        for garbage, content_type in ((b"[" * 1000, sr.JSON), (b"\xff\xfe" * 100, sr.FORM)):
            assert _post(served.url, garbage, {"Content-Type": content_type}) == 401
            assert 400 <= _post(served.url, garbage, _signed_bytes(garbage, content_type)) < 500
        for i in range(300):  # events with invented types: unsigned, or signed
            event = json.dumps(sr.event_envelope(slack.workspace, {"type": f"zz{i:04d}invented", "user": "U0LEA"}))
            headers = _signed(event.encode(), sr.JSON) if i % 30 == 0 else {"Content-Type": sr.JSON}
            _post(served.url, event.encode(), headers)
        for request_line in ("GET /slack/events Jeanne Dupont jeanne.dupont@example.com",
                             "POST /slack/events?text=Jeanne+Dupont+12+rue+de+Rivoli HTTP/9.9"):
            with socket.create_connection(("127.0.0.1", int(served.url.rsplit(":", 1)[1])), timeout=10) as sock:
                sock.sendall(request_line.encode() + b"\r\nHost: x\r\n\r\n")  # gunicorn refuses it itself
                assert sock.recv(64).startswith(b"HTTP/1.1 400")
        metrics_after = _get(served.url + "/metrics")[1]
        assert "invented" not in metrics_after

        def series(text: str) -> set[str]:
            return {line.rsplit(" ", 1)[0] for line in text.splitlines() if not line.startswith("#")}

        assert len(series(metrics_after) - series(metrics_before)) < 40  # a handful of new (kind, status) pairs
        with writes_locked_by_another_process(db_url):  # each worker probes at most every 2 s
            deadline = time.monotonic() + 10
            while not _reports_locked(*_get(served.url + "/healthz")):
                assert time.monotonic() < deadline, "/healthz never reported the write lock"
                time.sleep(0.1)
    written = served.output()
    assert "refused a request to /slack/events: missing signature" in written
    assert "Traceback" not in written and "RecursionError" not in written
    assert find_leaks(written, ["Jeanne", "Dupont", JEANNE_EMAIL, "Rivoli"], [JEANNE_PHONE]) == [], written[-3000:]
    assert world.jeanne


def _signed_bytes(body: bytes, content_type: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + digest}
