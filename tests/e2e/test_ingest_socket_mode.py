"""`frontline serve --ingest-port N` in Socket Mode: the real process takes live data on its own port (Socket
Mode opens none for Slack), applies it with its inbox workers, reports the backlog, and stops cleanly."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from sqlalchemy import select

from localslack.local_slack import NotSeen
from store import sources
from store.clock import utc_now
from store.models import InboxMessage, SourceRecord
from store.vocabulary import InboxState, SourceKind
from tests.e2e.test_socket_mode import FRONTLINE, REPO, _env, socket_mode  # noqa: F401 - fixture
from tests.support.ingest import _send


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_socket_mode_takes_live_data_on_the_ingest_port(db_url, slack, socket_mode, session_factory, tmp_path):  # noqa: F811
    with session_factory.begin() as session:
        key = sources.add_source(session, "webshop", SourceKind.SEGMENT, secret=None, now=utc_now())
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen([FRONTLINE, "serve", "--no-scheduler", "--ingest-port", str(port)], cwd=REPO,
                                   env=_env(db_url, slack), stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90  # start-up on a loaded 2-core machine
        while True:
            try:
                socket_mode.wait_for_connection(1, timeout=0.5)
                break
            except NotSeen:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
        url = f"http://127.0.0.1:{port}"
        body = json.dumps({"userId": "u-1", "traits": {"firstName": "Hélène", "lastName": "Marchal"},
                           "writeKey": key}).encode()
        answer = _send(url + "/v1/identify", body, {"Content-Type": "application/json"}, "POST")
        assert answer.status == 200
        deadline = time.monotonic() + 30
        while True:  # the process's own workers apply it
            with session_factory() as session:
                if session.scalar(select(InboxMessage.state)) == InboxState.APPLIED:
                    assert session.scalar(select(SourceRecord.last_name)) == "Marchal"
                    break
            assert time.monotonic() < deadline, "not applied within 30 s:\n" + log_path.read_text()
            time.sleep(0.05)
        with urllib.request.urlopen(url + "/healthz", timeout=10) as response:
            assert json.loads(response.read())["inbox_pending"] == "0"
        try:
            urllib.request.urlopen(url + "/slack/events", data=b"{}", timeout=10)
            raise AssertionError("Slack's endpoint answered on the ingest port")
        except urllib.error.HTTPError as error:
            assert error.code == 404
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log_path.read_text()
