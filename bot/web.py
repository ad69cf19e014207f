"""The WSGI application: Slack's request URL, health and metrics.

POST /slack/events  -> the bolt App (signature checked by bolt; 401 when missing, wrong or stale)
GET  /healthz       -> {"database": ..., "scheduler": ...}, 200 when all is well, 503 otherwise
GET  /metrics       -> Prometheus text format
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.request import BoltRequest
from sqlalchemy import Engine

from bot.metrics import SLACK_ERRORS, SLACK_LATENCY, SLACK_REQUESTS, render_metrics
from store.db import ping

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
MAX_BODY = 1_000_000  # Slack payloads are far smaller; refuse anything that is not Slack

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


def request_kind(body: dict[str, Any]) -> str:
    """A low-cardinality label for metrics: command, block_actions, view_submission, event:app_mention..."""
    if not isinstance(body, dict):
        return "other"
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        return "event:" + str(event.get("type", "unknown") if isinstance(event, dict) else "unknown")[:40]
    if kind in ("block_actions", "view_submission", "view_closed", "shortcut", "message_action",
                "block_suggestion", "url_verification", "interactive_message"):
        return kind
    return "other"


def _parse_for_kind(raw: str, content_type: str) -> dict[str, Any]:
    try:
        if content_type.startswith("application/json"):
            return json.loads(raw)
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        return json.loads(form["payload"]) if "payload" in form else form
    except (ValueError, KeyError, RecursionError):
        return {}


class FrontlineWeb:
    """WSGI callable. `scheduler` is anything with `running` (APScheduler) or `is_alive()`, or None."""

    def __init__(self, app: App, engine: Engine, *, scheduler: Any | None = None) -> None:
        self.app = app
        self.engine = engine
        self.scheduler = scheduler

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SLACK_PATH:
            if method != "POST":
                return self._reply(start_response, 405, b"POST only", "text/plain")
            return self._slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            status, body = self.health()
            return self._reply(start_response, status, json.dumps(body).encode(), "application/json")
        if path == "/metrics" and method == "GET":
            payload, content_type = render_metrics()
            return self._reply(start_response, 200, payload, content_type)
        return self._reply(start_response, 404, b"Not Found", "text/plain")

    def health(self) -> tuple[int, dict[str, str]]:
        body = {"database": "ok" if ping(self.engine) else "unreachable"}
        healthy = body["database"] == "ok"
        if self.scheduler is not None:
            alive = self.scheduler.is_alive() if hasattr(self.scheduler, "is_alive") else bool(
                getattr(self.scheduler, "running", False))
            body["scheduler"] = "running" if alive else "stopped"
            healthy = healthy and alive
        return (200 if healthy else 503), body

    def _slack(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return self._reply(start_response, 413, b"too large", "text/plain")
        raw = environ["wsgi.input"].read(length).decode("utf-8", errors="replace") if length else ""
        headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        content_type = environ.get("CONTENT_TYPE", "")
        headers["content-type"] = content_type
        kind = request_kind(_parse_for_kind(raw, content_type))
        try:
            request = BoltRequest(body=raw, query=environ.get("QUERY_STRING", ""), headers=headers)
        except (ValueError, TypeError, AttributeError, LookupError, RecursionError):  # a body bolt cannot parse
            SLACK_REQUESTS.labels(kind, "400").inc()
            return self._reply(start_response, 400, b"malformed body", "text/plain")
        try:
            response = self.app.dispatch(request)
            status, body = response.status, (response.body or "").encode("utf-8")
            response_type = (response.headers.get("content-type") or ["text/plain;charset=utf-8"])[0]
        except Exception:
            log.exception("dispatching a %s request failed", kind)
            status, body, response_type = 500, b"", "text/plain"
        if status >= 500:
            SLACK_ERRORS.labels("http").inc()
        SLACK_REQUESTS.labels(kind, str(status)).inc()
        SLACK_LATENCY.labels(kind).observe(time.perf_counter() - started)
        return self._reply(start_response, status, body, response_type)

    @staticmethod
    def _reply(start_response: Callable, status: int, body: bytes, content_type: str) -> list[bytes]:
        start_response(f"{status} {_REASONS.get(status, 'Status')}",
                       [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]
