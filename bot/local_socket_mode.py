"""A loopback stand-in for Slack's Socket Mode, served next to the Web API stand-in (bot.local_slack).

Attached to a LocalSlack, it makes `apps.connections.open` (called with the app-level token) hand out a
one-time ws:// URL to its WebSocket server: RFC 6455 over plain TCP, standard library only. Like Slack it
greets each connection with `hello`, answers pings, pushes envelopes (slash commands, Events API,
interactivity) to the newest connection, records the acks the app sends back, and can tell the app to
go away (`disconnect`, then a close frame), as Slack does routinely. What the app does besides acking
(response_url posts, chat.postMessage...) goes through the Web API and is recorded by the LocalSlack.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping
from urllib.parse import parse_qs, parse_qsl, urlparse

from bot import slack_requests as sr
from bot.block_checks import check_message_payload, check_view
from bot.local_slack import LocalSlack

HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_HANDSHAKE_BYTES = 16 * 1024
# Interactive payloads whose ack may carry an answer (options, response_action); Slack flags them.
ANSWERED_IN_ACK = ("block_suggestion", "view_submission")


class _PeerGone(Exception):
    """The app closed the TCP connection, or the stand-in is stopping."""


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    elapsed: float  # seconds from the push to the ack
    connection: int


@dataclass
class Envelope:
    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    pushed_at: float
    connection: int


@dataclass
class Connection:
    """One WebSocket session with the app; `number` counts handshakes from 1."""

    number: int
    sock: socket.socket
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    closing: bool = False  # a close frame went out (or came in): no more envelopes for this one
    closed: bool = False

    def send(self, opcode: int, data: bytes = b"") -> None:
        # Server frames are never masked (RFC 6455 5.1).
        length = len(data)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
        with self.send_lock:
            self.sock.sendall(header + data)

    def send_json(self, message: Mapping[str, Any]) -> None:
        self.send(OP_TEXT, json.dumps(message).encode("utf-8"))

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closing:
            self.closing = True
            self.send(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8"))


def accept_key(client_key: str) -> str:
    return base64.b64encode(hashlib.sha1((client_key + HANDSHAKE_GUID).encode("ascii")).digest()).decode("ascii")


class LocalSocketMode:
    """Thread-safe. `with LocalSocketMode(slack) as socket_mode:`; the app then connects on its own."""

    def __init__(self, slack: LocalSlack) -> None:
        self.slack = slack
        self.connections: list[Connection] = []
        self.envelopes: dict[str, Envelope] = {}
        self.acks: dict[str, Ack] = {}
        self.problems: list[str] = []
        self.pings = 0
        self._tickets: set[str] = set()
        self._cond = threading.Condition()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = False

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self) -> LocalSocketMode:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # lets the accept loop notice stop()
        self._spawn(self._accept_loop, "local-socket-mode")
        self.slack.socket_mode = self
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            connections = list(self.connections)
        for connection in connections:
            _close_quietly(connection.sock)
        with self._cond:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self.slack.socket_mode is self:
            self.slack.socket_mode = None

    def __enter__(self) -> LocalSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def new_url(self) -> str:
        """What apps.connections.open answers: a URL good for one connection."""
        assert self._listener is not None, "LocalSocketMode not started"
        ticket = secrets.token_hex(16)
        with self._cond:
            self._tickets.add(ticket)
        port = self._listener.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={ticket}&app_id={self.slack.workspace.api_app_id}"

    # ---- what Slack sends -------------------------------------------------------------------
    def push(self, kind: str, payload: Mapping[str, Any], *, accepts_response_payload: bool = False,
             retry_attempt: int | None = None) -> str:
        """Send one envelope to the newest open connection, as Slack does; returns its envelope_id."""
        with self._cond:
            connection = next((c for c in reversed(self.connections) if not c.closing), None)
            if connection is None:
                raise AssertionError("no open Socket Mode connection to push to")
            envelope = Envelope(str(uuid.uuid4()), kind, dict(payload), accepts_response_payload,
                                time.monotonic(), connection.number)
            self.envelopes[envelope.envelope_id] = envelope
        message: dict[str, Any] = {"envelope_id": envelope.envelope_id, "type": kind, "payload": envelope.payload,
                                   "accepts_response_payload": accepts_response_payload}
        if kind == "events_api":
            message.update(retry_attempt=retry_attempt or 0, retry_reason="timeout" if retry_attempt else "")
        connection.send_json(message)
        return envelope.envelope_id

    def command(self, command: str, text: str = "", *, user: str, channel_id: str = "C0GENERAL") -> str:
        """A slash command: Slack sends the form fields of the HTTP mode as a JSON object."""
        known = self.slack.users.get(user)
        body = sr.slash_command_body(
            self.slack.workspace, command=command, text=text, user_id=user,
            user_name=known.name.split()[0].lower() if known else user.lower(), channel_id=channel_id,
            response_url=self.slack.new_response_url(), trigger_id=self.slack.new_trigger_id())
        return self.push("slash_commands", dict(parse_qsl(body, keep_blank_values=True)),
                         accepts_response_payload=True)

    def event(self, event: Mapping[str, Any], *, event_id: str | None = None, retry_attempt: int | None = None) -> str:
        return self.push("events_api", sr.event_envelope(self.slack.workspace, event, event_id=event_id),
                         retry_attempt=retry_attempt)

    def interactive(self, payload: Mapping[str, Any]) -> str:
        return self.push("interactive", payload, accepts_response_payload=payload.get("type") in ANSWERED_IN_ACK)

    def disconnect(self, reason: str = "refresh_requested", *, warn: bool = True) -> Connection:
        """Slack retiring a connection: a `disconnect` message (unless warn=False), then a close frame."""
        connection = self.wait_for_connection()
        if warn:
            connection.send_json({"type": "disconnect", "reason": reason,
                                  "debug_info": {"host": "applink-local"}})
        connection.send_close(1001, reason)
        return connection

    # ---- inspection -------------------------------------------------------------------------
    def wait_for_connection(self, number: int | None = None, *, timeout: float = 10.0) -> Connection:
        """The `number`-th connection once its handshake is done (default: the newest open one)."""
        def found() -> Connection | None:
            if number is not None:
                return self.connections[number - 1] if len(self.connections) >= number else None
            return next((c for c in reversed(self.connections) if not c.closing), None)
        return self._wait(found, timeout, f"Socket Mode connection {number or '(open)'}")

    def wait_closed(self, connection: Connection, *, timeout: float = 10.0) -> None:
        self._wait(lambda: connection.closed or None, timeout, f"connection {connection.number} to close")

    def wait_for_ack(self, envelope_id: str, *, timeout: float = 3.0) -> Ack:
        return self._wait(lambda: self.acks.get(envelope_id), timeout, f"ack of envelope {envelope_id}")

    def assert_valid(self) -> None:
        with self._cond:
            problems = list(self.problems)
        assert not problems, "Socket Mode protocol problems: " + "; ".join(problems)

    def _wait(self, condition, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = condition()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {what} within {timeout}s")
                self._cond.wait(remaining)

    def _problem(self, problem: str) -> None:
        with self._cond:
            self.problems.append(problem)
            self._cond.notify_all()

    # ---- server threads -----------------------------------------------------------------------
    def _spawn(self, target, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._cond:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                sock, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            self._spawn(self._serve, "local-socket-mode-connection", sock)

    def _serve(self, sock: socket.socket) -> None:
        reader = _Reader(sock)
        connection: Connection | None = None
        try:
            connection = self._handshake(sock, reader)
            if connection is not None:
                self._converse(connection, reader)
        except _PeerGone:
            pass
        finally:
            _close_quietly(sock)
            if connection is not None:
                with self._cond:
                    connection.closing = connection.closed = True
                    self._cond.notify_all()

    def _handshake(self, sock: socket.socket, reader: _Reader) -> Connection | None:
        request_line, headers = reader.http_head()
        method, target, version = (request_line.split(" ") + ["", "", ""])[:3]
        ticket = (parse_qs(urlparse(target).query).get("ticket") or [""])[0]
        key = headers.get("sec-websocket-key", "")
        problems = []
        if method != "GET" or version != "HTTP/1.1":
            problems.append(f"handshake request line {request_line!r}")
        if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in headers.get("connection", "").lower():
            problems.append("handshake without Upgrade: websocket / Connection: Upgrade")
        if headers.get("sec-websocket-version") != "13":
            problems.append("handshake without Sec-WebSocket-Version: 13")
        try:
            key_ok = len(base64.b64decode(key, validate=True)) == 16
        except ValueError:
            key_ok = False
        if not key_ok:
            problems.append("handshake without a valid Sec-WebSocket-Key")
        with self._cond:
            ticket_ok = ticket in self._tickets
            self._tickets.discard(ticket)
        if problems or not ticket_ok:
            status = "400 Bad Request" if problems else "401 Unauthorized"
            if not ticket_ok:
                problems.append("connection URL not issued by apps.connections.open, or used twice")
            for problem in problems:
                self._problem(problem)
            sock.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            return None
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode("ascii"))
        with self._cond:
            connection = Connection(len(self.connections) + 1, sock)
            connection.send_json({"type": "hello", "num_connections": 1 + sum(not c.closing for c in self.connections),
                                  "debug_info": {"host": "applink-local", "build_number": 1,
                                                 "approximate_connection_time": 18060},
                                  "connection_info": {"app_id": self.slack.workspace.api_app_id}})
            self.connections.append(connection)
            self._cond.notify_all()
        return connection

    def _converse(self, connection: Connection, reader: _Reader) -> None:
        fragments: list[bytes] = []
        while True:
            fin, opcode, data = reader.frame()
            if opcode is None:
                self._problem(f"connection {connection.number}: unmasked frame from the app (RFC 6455 5.1)")
                connection.send_close(1002, "unmasked frame")
                return
            if opcode == OP_PING:
                self.pings += 1
                connection.send(OP_PONG, data)
            elif opcode == OP_PONG:
                continue
            elif opcode == OP_CLOSE:
                connection.send_close(struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1000)
                return
            elif opcode in (OP_TEXT, OP_CONTINUATION):
                fragments.append(data)
                if fin:
                    self._received(connection, b"".join(fragments).decode("utf-8"))
                    fragments = []
            else:
                self._problem(f"connection {connection.number}: unexpected frame opcode {opcode:#x}")

    def _received(self, connection: Connection, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self._problem(f"connection {connection.number}: a text frame that is not JSON")
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._cond:
            envelope = self.envelopes.get(envelope_id or "")
        if envelope is None:
            self._problem(f"connection {connection.number}: a message that acks no envelope we sent")
            return
        payload = message.get("payload")
        problems = _ack_problems(envelope, payload)
        with self._cond:
            if envelope_id in self.acks:
                problems.append(f"envelope {envelope_id} acked twice")
            else:
                self.acks[envelope_id] = Ack(envelope_id, payload, time.monotonic() - envelope.pushed_at,
                                             connection.number)
            self.problems.extend(problems)
            self._cond.notify_all()


def _ack_problems(envelope: Envelope, payload: Any) -> list[str]:
    """An ack's payload is shown to the user only where Slack accepts one; check it as Slack would."""
    if payload in (None, {}):
        return []
    if not envelope.accepts_response_payload:
        return [f"{envelope.type} envelope acked with a payload Slack would ignore"]
    if not isinstance(payload, dict):
        return [f"{envelope.type} ack payload is not a JSON object"]
    if envelope.type == "slash_commands":
        return check_message_payload(payload, require_text=False)
    if isinstance(payload.get("view"), dict):
        return check_view(payload["view"])
    return []


class _Reader:
    """Exact reads from a blocking socket; raises _PeerGone at end of stream."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except OSError:
            raise _PeerGone from None
        if not chunk:
            raise _PeerGone
        self.buffer += chunk

    def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def http_head(self) -> tuple[str, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HANDSHAKE_BYTES:
                raise _PeerGone
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        request_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return request_line, headers

    def frame(self) -> tuple[bool, int | None, bytes]:
        """(fin, opcode, unmasked payload); opcode None for a frame the client failed to mask."""
        first, second = self.exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.exactly(8))
        if not second & 0x80:
            self.exactly(length)
            return True, None, b""
        mask = self.exactly(4)
        data = self.exactly(length)
        unmasked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))
        return bool(first & 0x80), first & 0x0F, unmasked


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
