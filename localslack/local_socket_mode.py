"""A loopback stand-in for Slack's Socket Mode, served next to the Web API stand-in (localslack.local_slack).

Attached to a LocalSlack, it makes `apps.connections.open` (called with the app-level token) hand out a
one-time ws:// URL to its WebSocket server. The WebSocket protocol itself (RFC 6455: handshake, masking,
ping/pong, close) is the `websockets` library's; what is Slack's is here. Like Slack it greets each
connection with `hello`, pushes envelopes (slash commands, Events API, interactivity) to the newest
connection, records the acks the app sends back, and can tell the app to go away (`disconnect`, then a
close frame), as Slack does routinely. What the app does besides acking (response_url posts,
chat.postMessage...) goes through the Web API and is recorded by the LocalSlack.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qs, parse_qsl, urlparse

from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from localslack import slack_requests as sr
from localslack.block_checks import check_message_payload, check_view
from localslack.local_slack import InvalidPayloads, LocalSlack, NotSeen, NotStarted

# Interactive payloads whose ack may carry an answer (options, response_action); Slack flags them.
ANSWERED_IN_ACK = ("block_suggestion", "view_submission")

T = TypeVar("T")


class NoConnection(RuntimeError):
    """Asked to push an envelope while the app has no open connection."""


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
    websocket: ServerConnection
    closing: bool = False  # a close frame went out (or came in): no more envelopes for this one
    closed: bool = False
    _closer: threading.Thread | None = field(default=None, repr=False)

    def send_json(self, message: Mapping[str, Any]) -> None:
        self.websocket.send(json.dumps(message))

    def send_close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake and return at once; `websockets` waits for the app's answer (or
        drops the TCP connection after its close timeout) on a thread of its own."""
        if not self.closing:
            self.closing = True
            self._closer = threading.Thread(target=self.websocket.close, args=(code, reason),
                                            name=f"local-socket-mode-close-{self.number}", daemon=True)
            self._closer.start()


class LocalSocketMode:
    """Thread-safe. `with LocalSocketMode(slack) as socket_mode:`; the app then connects on its own."""

    def __init__(self, slack: LocalSlack) -> None:
        self.slack = slack
        self.connections: list[Connection] = []
        self.envelopes: dict[str, Envelope] = {}
        self.acks: dict[str, Ack] = {}
        self.problems: list[str] = []
        self._tickets: set[str] = set()
        self._cond = threading.Condition()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self) -> LocalSocketMode:
        self._server = serve(
            self._converse, "127.0.0.1", 0,
            process_request=self._check_ticket, process_response=self._note_refusal,
            # Slack offers no compression and the app's client asks for none; Slack pings, the client
            # answers, but the tests drive every exchange themselves.
            compression=None, ping_interval=None, server_header=None,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-socket-mode", daemon=True)
        self._thread.start()
        self.slack.socket_mode = self
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # closes what is still open (1001 going away), waits for handlers
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.slack.socket_mode is self:
            self.slack.socket_mode = None

    def __enter__(self) -> LocalSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def new_url(self) -> str:
        """What apps.connections.open answers: a URL good for one connection."""
        if self._server is None:
            raise NotStarted("LocalSocketMode not started")
        ticket = secrets.token_hex(16)
        with self._cond:
            self._tickets.add(ticket)
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={ticket}&app_id={self.slack.workspace.api_app_id}"

    # ---- what Slack sends -------------------------------------------------------------------
    def push(self, kind: str, payload: Mapping[str, Any], *, accepts_response_payload: bool = False,
             retry_attempt: int | None = None) -> str:
        """Send one envelope to the newest open connection, as Slack does; returns its envelope_id."""
        with self._cond:
            connection = next((c for c in reversed(self.connections) if not c.closing), None)
            if connection is None:
                raise NoConnection("no open Socket Mode connection to push to")
            envelope = Envelope(envelope_id=str(uuid.uuid4()), type=kind, payload=dict(payload),
                                accepts_response_payload=accepts_response_payload, pushed_at=time.monotonic(),
                                connection=connection.number)
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
        with self._cond:
            connection.send_close(CloseCode.GOING_AWAY, reason)
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
        """Raises InvalidPayloads listing every protocol problem the app caused."""
        with self._cond:
            problems = list(self.problems)
        if problems:
            raise InvalidPayloads("Socket Mode protocol problems: " + "; ".join(problems))

    def _wait(self, condition: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = condition()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NotSeen(f"no {what} within {timeout}s")
                self._cond.wait(remaining)

    def _problem(self, problem: str) -> None:
        with self._cond:
            self.problems.append(problem)
            self._cond.notify_all()

    # ---- the server side (websockets' threads) -------------------------------------------------
    def _check_ticket(self, websocket: ServerConnection, request: Request) -> Response | None:
        """Each URL apps.connections.open handed out opens one connection; any other is refused."""
        ticket = (parse_qs(urlparse(request.path).query).get("ticket") or [""])[0]
        with self._cond:
            known = ticket in self._tickets
            self._tickets.discard(ticket)
        if known:
            return None  # websockets goes on with the handshake (and refuses a malformed one itself)
        self._problem("connection URL not issued by apps.connections.open, or used twice")
        return websocket.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")

    def _note_refusal(self, websocket: ServerConnection, request: Request, response: Response) -> None:
        """A handshake websockets refused (not a WebSocket upgrade, wrong version, bad key) is the app's fault."""
        if response.status_code not in (HTTPStatus.SWITCHING_PROTOCOLS, HTTPStatus.UNAUTHORIZED):
            self._problem(f"handshake refused: {response.status_code} {response.reason_phrase}")

    def _converse(self, websocket: ServerConnection) -> None:
        with self._cond:  # numbered, greeted and listed at once: nothing is pushed to it before its hello
            connection = Connection(len(self.connections) + 1, websocket)
            # Suppressed: the app broke the protocol before its hello went out; recorded below.
            with contextlib.suppress(ConnectionClosed):
                connection.send_json({"type": "hello",
                                      "num_connections": 1 + sum(not c.closing for c in self.connections),
                                      "debug_info": {"host": "applink-local", "build_number": 1,
                                                     "approximate_connection_time": 18060},
                                      "connection_info": {"app_id": self.slack.workspace.api_app_id}})
            self.connections.append(connection)
            self._cond.notify_all()
        try:
            for message in websocket:
                if isinstance(message, str):
                    self._received(connection, message)
                else:
                    self._problem(f"connection {connection.number}: a binary message (Slack sends and takes JSON text)")
        except ConnectionClosedError as closed:
            # websockets closes with 1002 on a protocol error by the app (an unmasked frame...).
            if closed.sent is not None and closed.sent.code == CloseCode.PROTOCOL_ERROR:
                self._problem(f"connection {connection.number}: protocol error by the app: {closed.sent.reason}")
        finally:
            with self._cond:
                connection.closing = connection.closed = True
                self._cond.notify_all()

    def _received(self, connection: Connection, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self._problem(f"connection {connection.number}: a text message that is not JSON")
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._cond:
            envelope = self.envelopes.get(envelope_id or "")
        if envelope is None or not isinstance(message, dict):
            self._problem(f"connection {connection.number}: a message that acks no envelope we sent")
            return
        payload = message.get("payload")
        problems = _ack_problems(envelope, payload)
        if (envelope.type == "slash_commands" and not problems and isinstance(payload, dict)
                and ("text" in payload or "blocks" in payload)):
            self.slack.record_command_response(payload)  # what Slack shows the user, as over HTTP
        with self._cond:
            if envelope.envelope_id in self.acks:
                problems.append(f"envelope {envelope.envelope_id} acked twice")
            else:
                self.acks[envelope.envelope_id] = Ack(envelope.envelope_id, payload,
                                                      time.monotonic() - envelope.pushed_at, connection.number)
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
