"""`frontline serve` in Socket Mode (the default), end to end: the real process, started as users start it,
connects to the loopback Socket Mode stand-in as it would to Slack, acks each envelope within Slack's
3 seconds and answers through the Web API stand-in."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from localslack import slack_requests as sr
from localslack.local_slack import NotSeen
from localslack.local_socket_mode import LocalSocketMode
from store.models import AuditEvent
from tests.e2e.trust_world import JEANNE_EMAIL, build_world, channel_posts

REPO = Path(__file__).resolve().parents[2]
FRONTLINE = str(Path(sys.executable).parent / "frontline")  # the installed entry point, as users run it
ACCESS_CONTACT = "Claire (store manager)"


def _env(db_url: str, slack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PROMETHEUS_"))}
    env.update(DATABASE_URL=db_url, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token,
               SLACK_API_URL=slack.api_url, FRONTLINE_ACCESS_CONTACT=ACCESS_CONTACT, FRONTLINE_LOCALE="en",
               FRONTLINE_ANSWER_IN_ACK_SECONDS="2.5")  # loaded test machines: see tests/e2e/conftest.py
    env.update(extra)
    return env


@dataclass
class Running:
    process: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def socket_mode(slack):
    with LocalSocketMode(slack) as stand_in:
        yield stand_in
    stand_in.assert_valid()


@pytest.fixture
def world(session_factory, employee):
    return build_world(session_factory, employee)


@pytest.fixture
def serve(db_url, slack, socket_mode, world, tmp_path):
    """`frontline serve` running and connected; stopped with SIGTERM, which must end it cleanly.

    Without its scheduler: on the wall clock, the world's morning digests fall due at 08:30 Paris on
    working days, and a digest DM arriving mid-test made the answers depend on the time of day.
    """
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log_file:  # a file, not a pipe: a full pipe would block the bot's logging
        process = subprocess.Popen([FRONTLINE, "serve", "--no-scheduler"], cwd=REPO, env=_env(db_url, slack),
                                   stdout=log_file, stderr=subprocess.STDOUT)
    running = Running(process, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:  # start-up: checks, imports, then the first connection; notice a crash meanwhile
            try:
                socket_mode.wait_for_connection(1, timeout=0.5)
                break
            except NotSeen:
                assert process.poll() is None, running.output()
                assert time.monotonic() < deadline, "no Socket Mode connection within 30s:\n" + running.output()
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("frontline serve did not stop within 30s of SIGTERM:\n" + running.output())
    assert process.returncode == 0, running.output()
    for connection in socket_mode.connections:
        socket_mode.wait_closed(connection)


def profile_views(session_factory) -> list[tuple[int, str]]:
    with session_factory() as session:
        return [tuple(row) for row in session.execute(
            select(AuditEvent.customer_id, AuditEvent.via).where(AuditEvent.action == "view"))]


def test_customer_command_is_acked_at_once_and_the_card_shown_to_the_asker_only(serve, socket_mode, slack, world,
                                                                                session_factory):
    before = slack.mark()
    envelope = socket_mode.command("/customer", JEANNE_EMAIL, user="U0LEA")
    ack = socket_mode.wait_for_ack(envelope, timeout=3.0)
    assert ack.elapsed < 3.0
    card = slack.wait_for("command_response", since=before)
    assert card.args.get("response_type") == "ephemeral"
    assert "Jeanne Dupont" in card.text and "Trench Ultraviolet" in card.text
    assert JEANNE_EMAIL not in card.text  # masked until revealed
    assert channel_posts(slack, before) == []
    assert profile_views(session_factory) == [(world.jeanne, "slack:/customer")]


def test_direct_message_and_mention_are_acked_and_answered(serve, socket_mode, slack, world):
    before = slack.mark()
    dm = socket_mode.event(sr.im_message_event(user_id="U0LEA", text=f"who is {JEANNE_EMAIL}?", channel_id="D0LEA"))
    assert socket_mode.wait_for_ack(dm, timeout=3.0).payload is None
    answer = slack.wait_for("chat.postMessage", since=before, channel="D0LEA")
    assert "Jeanne Dupont" in answer.text
    assert [c.args["channel"] for c in slack.calls_to("chat.postMessage")] == ["D0LEA"]  # nobody else got one

    before = slack.mark()
    mention = socket_mode.event(sr.app_mention_event(user_id="U0LEA", text="find Jeanne Dupont",
                                                     channel_id="C0SHOPFLOOR", bot_user_id=slack.workspace.bot_user_id))
    assert socket_mode.wait_for_ack(mention, timeout=3.0).payload is None
    answer = slack.wait_for("chat.postEphemeral", since=before)
    assert answer.args["user"] == "U0LEA" and answer.args["channel"] == "C0SHOPFLOOR"
    assert "Jeanne Dupont" in answer.text
    assert channel_posts(slack, before) == []


def test_an_unregistered_user_gets_the_polite_refusal_and_no_customer(serve, socket_mode, slack, world):
    slack.add_user("U0STRANGER", "Sam Stranger")
    before = slack.mark()
    envelope = socket_mode.command("/customer", JEANNE_EMAIL, user="U0STRANGER")
    refusal = socket_mode.wait_for_ack(envelope, timeout=3.0).payload
    assert refusal["response_type"] == "ephemeral"
    assert "doesn't know you" in refusal["text"] and ACCESS_CONTACT in refusal["text"]
    seen = json.dumps(refusal) + " ".join(call.text for call in slack.calls_since(before))
    assert "Jeanne" not in seen and "Dupont" not in seen


def test_a_command_acked_just_before_a_restart_is_still_answered(serve, socket_mode, slack, world):
    before = slack.mark()
    envelope = socket_mode.command("/customer", JEANNE_EMAIL, user="U0LEA")
    socket_mode.wait_for_ack(envelope, timeout=3.0)
    serve.process.send_signal(signal.SIGTERM)  # Slack will not resend an acked envelope
    card = slack.wait_for("command_response", since=before, timeout=10.0)
    assert "Jeanne Dupont" in card.text
    assert serve.process.wait(timeout=30) == 0


@pytest.mark.parametrize("warned", [True, False], ids=["disconnect-message", "close-only"])
def test_reconnects_when_slack_closes_the_connection_and_answers_what_comes_next(serve, socket_mode, slack, world,
                                                                                  warned):
    first = socket_mode.wait_for_connection(1)
    urls_issued = len(slack.calls_to("apps.connections.open"))
    socket_mode.disconnect("refresh_requested", warn=warned)
    # Warned, the client reconnects at once; closed without warning, its monitor notices within its
    # 10 s ping interval.
    second = socket_mode.wait_for_connection(2, timeout=3.0 if warned else 15.0)
    socket_mode.wait_closed(first)
    assert len(slack.calls_to("apps.connections.open")) == urls_issued + 1

    before = slack.mark()
    envelope = socket_mode.command("/customer", JEANNE_EMAIL, user="U0LEA")
    assert socket_mode.wait_for_ack(envelope, timeout=3.0).connection == second.number
    card = slack.wait_for("command_response", since=before)
    assert "Jeanne Dupont" in card.text


def test_a_rejected_app_token_stops_start_up_with_one_line(db_url, slack, socket_mode):
    result = subprocess.run([FRONTLINE, "serve"], capture_output=True, text=True, cwd=REPO, timeout=60,
                            env=_env(db_url, slack, SLACK_APP_TOKEN="xapp-1-revoked"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SLACK_APP_TOKEN" in lines[0], result.stderr
    assert socket_mode.connections == []


def _raw_handshake(url: str, key: str) -> tuple[socket.socket, str, bytes]:
    """A hand-made client, to check the stand-in holds apps to RFC 6455 and Slack's one-time URLs."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=5)
    sock.sendall((f"GET {parsed.path}?{parsed.query} HTTP/1.1\r\nHost: {parsed.hostname}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    return sock, head.decode(), rest


def _first_frame(sock: socket.socket, received: bytes) -> bytes:
    """`received` extended until it holds the server's first (short, unmasked) frame: Slack's hello, which
    a client waits for before it says anything."""
    while True:
        if len(received) >= 2:
            length, start = received[1] & 0x7F, 2
            if length == 126 and len(received) >= 4:
                length, start = int.from_bytes(received[2:4], "big"), 4
            if length != 126 and len(received) >= start + length:
                return received
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection before its hello"
        received += chunk


def _frames_until_closed(sock: socket.socket, received: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked frame the server sent until it closed the connection."""
    while chunk := sock.recv(4096):
        received += chunk
    frames = []
    while received:
        opcode, length, start = received[0] & 0x0F, received[1] & 0x7F, 2
        if length == 126:
            length, start = int.from_bytes(received[2:4], "big"), 4
        assert not received[1] & 0x80, "server frames are never masked"
        frames.append((opcode, received[start:start + length]))
        received = received[start + length:]
    return frames


def test_the_stand_in_speaks_rfc_6455_and_refuses_what_slack_refuses(slack):
    with LocalSocketMode(slack) as stand_in:
        url = stand_in.new_url()
        key = base64.b64encode(os.urandom(16)).decode()
        sock, head, rest = _raw_handshake(url, key)
        with sock:
            assert head.startswith("HTTP/1.1 101 ")
            expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
            assert f"Sec-WebSocket-Accept: {expected.decode()}" in head
            rest = _first_frame(sock, rest)
            mask = os.urandom(4)
            sock.sendall(bytes([0x89, 0x80 | 4]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b"beat")))
            sock.sendall(bytes([0x81, 2]) + b"{}")  # unmasked: a protocol error
            (hello, pong, close) = _frames_until_closed(sock, rest)
        assert hello[0] == 0x1 and json.loads(hello[1])["type"] == "hello"
        assert pong == (0xA, b"beat")
        assert close[0] == 0x8 and close[1][:2] == (1002).to_bytes(2, "big")
        stand_in.wait_closed(stand_in.wait_for_connection(1))  # its handler has seen the close too
        assert stand_in.problems == ["connection 1: protocol error by the app: incorrect masking"]

        reused, head, _ = _raw_handshake(url, key)  # each URL is good for one connection
        reused.close()
        assert head.startswith("HTTP/1.1 401 ")
        assert len(stand_in.connections) == 1
