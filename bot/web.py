"""The WSGI application: Slack's request URL, health and metrics.

POST /slack/events  -> the bolt App, once the request has proved it comes from Slack
GET  /healthz       -> {"database": ..., "scheduler": ...}, 200 when all is well, 503 otherwise
GET  /metrics       -> Prometheus text format
POST /v1/*, /webhooks/{shopify,woocommerce}/<source> -> live data (bot/ingest_web.py), when the server takes it

Anyone on the network can reach /slack/events, so a request must prove it comes from Slack before it
costs anything: the signature headers are checked first (a missing or stale one is refused without
reading the body), the body is read with a cap (Content-Length over the cap: refused unread), its HMAC
checked on the raw bytes, and only then is it decoded, parsed, labelled for metrics or handed to bolt.
A refused request is logged as one line saying why, its size and the path, never its body, and at most
once per reason every few seconds so a flood cannot fill the disk. Metric labels come from closed sets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import traceback
from http import HTTPStatus
from typing import Any, Protocol
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import parse_qs, unquote

from slack_bolt import App
from slack_bolt.request import BoltRequest
from sqlalchemy import Engine

from bot.metrics import SLACK_ERRORS, SLACK_LATENCY, SLACK_REFUSED, SLACK_REQUESTS, render_metrics
from handlers.context import RECEIVED_AT
from store.db import ping
from store.health import write_problem

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
MAX_BODY = 1_000_000  # Slack payloads are far smaller; refuse anything that is not Slack
SIGNATURE_MAX_AGE = 5 * 60  # Slack's rule: a request signed more than 5 minutes ago may be a replay
_READ_CHUNK = 64 * 1024
_HEX = frozenset("0123456789abcdef")

_INVALID = json.dumps({"error": "invalid request"}).encode()

# Metric label values: closed sets, whatever a request says about itself.
INTERACTIVE_KINDS = frozenset({"block_actions", "view_submission", "view_closed", "shortcut", "message_action",
                               "block_suggestion", "url_verification", "interactive_message"})
EVENT_KINDS = frozenset({"message", "app_mention", "app_home_opened", "app_uninstalled", "tokens_revoked"})
KINDS = frozenset({"command", "other", "event:other"} | INTERACTIVE_KINDS | {f"event:{e}" for e in EVENT_KINDS})
# The statuses this server answers with; any other (from bolt) is counted as "other".
STATUSES = frozenset(str(status.value) for status in (
    HTTPStatus.OK, HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND,
    HTTPStatus.METHOD_NOT_ALLOWED, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.INTERNAL_SERVER_ERROR,
    HTTPStatus.SERVICE_UNAVAILABLE))


def request_kind(body: Any) -> str:
    """A label from KINDS: command, block_actions, view_submission, event:app_mention... or other."""
    if not isinstance(body, dict):
        return "other"
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        event_type = event.get("type") if isinstance(event, dict) else None
        return f"event:{event_type}" if isinstance(event_type, str) and event_type in EVENT_KINDS else "event:other"
    return kind if isinstance(kind, str) and kind in INTERACTIVE_KINDS else "other"


def _kind_of(raw: str, content_type: str) -> str:
    """The metric label of a signed body: `request_kind` of it parsed, never an exception. A slash command's
    form is told by its field names alone: decoding each of its values (the text typed, the response_url...)
    only to find `command` among the names cost more than anything else in the label."""
    if not content_type.startswith("application/json"):
        names = _form_names(raw)
        if "command" in names and "payload" not in names:
            return "command"
    return request_kind(_parse_for_kind(raw, content_type))


def _form_names(raw: str) -> set[str]:
    """The field names `parse_qs(raw)` keeps (those given a non-empty value), no value decoded."""
    names = set()
    for field in raw.split("&"):
        name, equals, value = field.partition("=")
        if equals and value:
            names.add(unquote(name.replace("+", " ")))
    return names


def _parse_for_kind(raw: str, content_type: str) -> Any:
    """The signed body, parsed only to pick its metric label: any shape, never an exception."""
    try:
        if content_type.startswith("application/json"):
            return json.loads(raw)
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        return json.loads(form["payload"]) if "payload" in form else form
    except (ValueError, KeyError, RecursionError):
        return {}


class Refused(Exception):
    """A request answered with a 4xx before it reached bolt; `reason` is a label of SLACK_REFUSED."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def read_bounded_body(environ: dict[str, Any], length: int | None, cap: int, *,
                      refuse: Callable[[int, str], Exception], too_large: tuple[int, str],
                      on_chunk: Callable[[bytes], object] | None = None) -> list[bytes]:
    """The request body in chunks, never more than `cap` bytes read into memory (Slack's endpoint and the
    live-data routes both read through here). Without a Content-Length, only a body the server frames
    itself (chunked, `wsgi.input_terminated`) is read; otherwise HTTP says there is none. Failures raise
    `refuse(status, reason)`: `too_large` over the cap, 400 for an unreadable or short body."""
    stream = environ["wsgi.input"]
    if length is None and not environ.get("wsgi.input_terminated"):
        return []
    limit = cap + 1 if length is None else length
    chunks: list[bytes] = []
    received = 0
    while received < limit:
        try:
            chunk = stream.read(min(_READ_CHUNK, limit - received))
        except Exception:
            raise refuse(HTTPStatus.BAD_REQUEST, "unreadable body") from None
        if not chunk:
            break
        if on_chunk is not None:
            on_chunk(chunk)
        chunks.append(chunk)
        received += len(chunk)
    if received > cap:
        raise refuse(*too_large)
    if length is not None and received < length:
        raise refuse(HTTPStatus.BAD_REQUEST, "body shorter than its content-length")
    return chunks


class RefusalLog:
    """One line per reason at most every `every` seconds, counting the refusals it did not write."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def refused(self, reason: str, *, status: int, size: int | None, path: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(reason, -self.every) < self.every:
                self._unlogged[reason] = self._unlogged.get(reason, 0) + 1
                return
            self._last[reason] = now
            unlogged = self._unlogged.pop(reason, 0)
        size_text = "unknown size" if size is None else f"{size} bytes"
        more = f"; {unlogged} more refused for this reason since the last such line" if unlogged else ""
        log.warning("refused a request to %s: %s (HTTP %s, %s)%s", path, reason, status, size_text, more,
                    extra={"refused": reason, "status": status, "size": size, "path": path})


class LiveRoutes(Protocol):
    """The live-data endpoints (bot.ingest_web.IngestRoutes), seen from here."""

    def handles(self, path: str) -> bool: ...

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]: ...

    def health_fields(self) -> dict[str, str]: ...

    def metrics_text(self) -> bytes: ...


class FrontlineWeb:
    """WSGI callable. `scheduler` is anything with `running` (APScheduler) or `is_alive()`, or None.

    `signing_secret` defaults to the App's; without one every Slack request is refused.
    The write probe behind /healthz runs at most every `write_probe_every` seconds (a /healthz flood
    does not hammer the database) and waits at most `write_probe_timeout_ms` for the write lock.
    """

    def __init__(self, app: App, engine: Engine, *, scheduler: Any | None = None, signing_secret: str | None = None,
                 write_probe_every: float = 2.0, write_probe_timeout_ms: int = 250,
                 clock: Callable[[], float] = time.time, ingest: LiveRoutes | None = None,
                 serve_slack: bool = True, inbox_workers: Any | None = None) -> None:
        self.app = app
        self.inbox_workers = inbox_workers  # this process's inbox workers (bot.ingest.InboxWorkers), to stop
        self.ingest = ingest
        # False on the Socket Mode ingest port: Slack reaches that process over its socket, not here.
        self.serve_slack = serve_slack
        self.engine = engine
        self.scheduler = scheduler
        secret = signing_secret if signing_secret is not None else getattr(app, "signing_secret", "")
        self._secret = (secret or "").encode()
        self._clock = clock
        self.refusals = RefusalLog()
        self._probe_every = write_probe_every
        self._probe_timeout_ms = write_probe_timeout_ms
        self._probe_lock = threading.Lock()
        self._probed: tuple[float, str | None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SLACK_PATH and self.serve_slack:
            if method != "POST":
                return self._reply(start_response, HTTPStatus.METHOD_NOT_ALLOWED, b"POST only", "text/plain")
            return self._slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            status, body = self.health()
            return self._reply(start_response, status, json.dumps(body).encode(), "application/json")
        if path == "/metrics" and method == "GET":
            payload, content_type = render_metrics()
            if self.ingest is not None:
                payload += self.ingest.metrics_text()
            return self._reply(start_response, HTTPStatus.OK, payload, content_type)
        if self.ingest is not None and self.ingest.handles(path):
            return self.ingest(environ, start_response)
        return self._reply(start_response, HTTPStatus.NOT_FOUND, b"Not Found", "text/plain")

    # ---- health ------------------------------------------------------------------------------
    def health(self) -> tuple[int, dict[str, str]]:
        """"database": "ok", "unreachable", or "writes failing: <why>" (reads work, writes do not)."""
        if not ping(self.engine):
            body = {"database": "unreachable"}
        else:
            problem = self._write_problem()
            body = {"database": "ok" if problem is None else f"writes failing: {problem}"}
        healthy = body["database"] == "ok"
        if self.scheduler is not None:
            alive = self.scheduler.is_alive() if hasattr(self.scheduler, "is_alive") else bool(
                getattr(self.scheduler, "running", False))
            body["scheduler"] = "running" if alive else "stopped"
            healthy = healthy and alive
        if self.ingest is not None and body["database"] != "unreachable":
            body.update(self.ingest.health_fields())  # reported, not judged: a backlog is not an outage
        return (HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE), body

    def _write_problem(self) -> str | None:
        """The last write probe's answer if recent, else a new probe (one at a time per process)."""
        probed = self._probed
        if probed is not None and time.monotonic() - probed[0] < self._probe_every:
            return probed[1]
        with self._probe_lock:
            probed = self._probed  # another thread may have probed while this one waited
            if probed is None or time.monotonic() - probed[0] >= self._probe_every:
                probed = (time.monotonic(), write_problem(self.engine, timeout_ms=self._probe_timeout_ms))
                self._probed = probed
        return probed[1]

    # ---- Slack -------------------------------------------------------------------------------
    def _slack(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        size: int | None = None
        try:
            size = self._declared_length(environ)
            timestamp = self._check_signature_headers(environ)
            mac = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":", hashlib.sha256)
            chunks = self._read_body(environ, size, mac)
            size = sum(len(chunk) for chunk in chunks)
            if not hmac.compare_digest("v0=" + mac.hexdigest(), environ.get("HTTP_X_SLACK_SIGNATURE", "")):
                raise Refused(HTTPStatus.UNAUTHORIZED, "bad signature")
            body = b"".join(chunks)  # only a body Slack signed is ever assembled
            try:
                raw = body.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(HTTPStatus.BAD_REQUEST, "body not UTF-8") from None
        except Refused as refusal:
            SLACK_REFUSED.labels(refusal.reason).inc()
            SLACK_REQUESTS.labels("other", str(refusal.status)).inc()
            self.refusals.refused(refusal.reason, status=refusal.status, size=size, path=SLACK_PATH)
            payload = _INVALID if refusal.status == HTTPStatus.UNAUTHORIZED else refusal.reason.encode()
            return self._reply(start_response, refusal.status, payload,
                               "application/json" if refusal.status == HTTPStatus.UNAUTHORIZED else "text/plain")
        return self._dispatch(environ, raw, start_response, started)

    def _check_signature_headers(self, environ: dict[str, Any]) -> str:
        """The request timestamp, once the headers could belong to a request Slack signed just now."""
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not self._secret:
            raise Refused(HTTPStatus.UNAUTHORIZED, "no signing secret configured")
        if not timestamp or not signature:
            raise Refused(HTTPStatus.UNAUTHORIZED, "missing signature")
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            raise Refused(HTTPStatus.UNAUTHORIZED, "malformed timestamp")
        if abs(self._clock() - int(timestamp)) > SIGNATURE_MAX_AGE:
            raise Refused(HTTPStatus.UNAUTHORIZED, "stale timestamp")
        if not (signature.startswith("v0=") and len(signature) == 67 and signature.isascii()
                and all(c in _HEX for c in signature[3:])):
            raise Refused(HTTPStatus.UNAUTHORIZED, "malformed signature")
        return timestamp

    @staticmethod
    def _declared_length(environ: dict[str, Any]) -> int | None:
        declared = environ.get("CONTENT_LENGTH") or ""
        if not declared:
            return None
        if not (declared.isascii() and declared.isdigit()):
            raise Refused(HTTPStatus.BAD_REQUEST, "bad content-length")
        length = int(declared)
        if length > MAX_BODY:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
        return length

    @staticmethod
    def _read_body(environ: dict[str, Any], length: int | None, mac: hmac.HMAC) -> list[bytes]:
        """At most MAX_BODY bytes, fed to `mac` as they arrive."""
        return read_bounded_body(environ, length, MAX_BODY, refuse=Refused, on_chunk=mac.update,
                                 too_large=(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large"))

    def _dispatch(self, environ: dict[str, Any], raw: str, start_response: Callable,
                  started: float) -> Iterable[bytes]:
        headers: dict[str, str | Sequence[str]] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        content_type = environ.get("CONTENT_TYPE", "")
        headers["content-type"] = content_type
        kind = _kind_of(raw, content_type)
        try:
            # When the request arrived: a listener that answers in its ack (handlers.lookup) counts its
            # window from here, not from when a pool thread got to it.
            request = BoltRequest(body=raw, query=environ.get("QUERY_STRING", ""), headers=headers,
                                  context={RECEIVED_AT: started})
        except (ValueError, TypeError, AttributeError, LookupError, RecursionError):  # signed, yet not a Slack shape
            SLACK_REQUESTS.labels(kind, str(HTTPStatus.BAD_REQUEST.value)).inc()
            return self._reply(start_response, HTTPStatus.BAD_REQUEST, b"malformed body", "text/plain")
        try:
            response = self.app.dispatch(request)
            status, body = response.status, (response.body or "").encode("utf-8")
            response_type = (response.headers.get("content-type") or ["text/plain;charset=utf-8"])[0]
        except Exception as error:
            log.error("dispatching a %s request failed: %s\n%s", kind, type(error).__name__,
                      "".join(traceback.format_tb(error.__traceback__)))
            status, body, response_type = HTTPStatus.INTERNAL_SERVER_ERROR, b"", "text/plain"
        if status >= 500:
            SLACK_ERRORS.labels("http").inc()
        SLACK_REQUESTS.labels(kind, str(status) if str(status) in STATUSES else "other").inc()
        SLACK_LATENCY.labels(kind).observe(time.perf_counter() - started)
        return self._reply(start_response, status, body, response_type)

    @staticmethod
    def _reply(start_response: Callable, status: int, body: bytes, content_type: str) -> list[bytes]:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:  # a code http.HTTPStatus does not know: the status line still needs a phrase
            phrase = "Status"
        start_response(f"{status} {phrase}",
                       [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]
