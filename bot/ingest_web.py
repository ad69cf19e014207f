"""The HTTP side of live data: the Segment-compatible tracking API, Shopify's and WooCommerce's webhooks.

POST /v1/batch, /v1/identify, /v1/track, /v1/page, /v1/screen, /v1/alias, /v1/group
    Segment's HTTP API as its official clients (and RudderStack's, Jitsu's) speak it: the write key as
    the HTTP Basic user name (empty password) or `writeKey` in the body; gzip bodies; 32 KB a message,
    500 KB a request; 200 {"success": true} once every message is stored.
POST /webhooks/shopify/<source>
    Shopify's webhooks, signed with the shop's shared secret (X-Shopify-Hmac-Sha256).
POST /webhooks/woocommerce/<source>
    WooCommerce's webhooks, signed with the webhook's secret (X-WC-Webhook-Signature); the unsigned ping
    WooCommerce sends when a webhook is saved is answered 200 and stores nothing.

A 2xx means the events are in the inbox table (store/inbox.py), committed; the workers apply them
later, off this path. Refusals, each a 4xx before anything is stored, and logged as one line with the
reason, size and path, never the body: 401 no or wrong key / bad signature; 400 too large, not gzip,
not JSON, a malformed message (in a batch: the index of each bad message, the good ones stored); 429
with Retry-After while the inbox holds more pending events than its bound (the clients retry later).
A store that fails answers 503, which the clients also retry: nothing is acknowledged unless kept.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.metrics import INGEST_EVENTS, INGEST_REFUSED
from bot.web import read_bounded_body
from bot.web import RefusalLog
from store import inbox, sources
from store.clock import Clock, utc_now
from store.db import SessionFactory
from store.live import shopify, woocommerce
from store.live.segment import MAX_BATCH_BYTES, BadMessage, NewEvent, parse_message, parse_time
from store.vocabulary import SegmentType, SourceKind

log = logging.getLogger(__name__)

SEGMENT_PREFIX = "/v1/"
SHOPIFY_PREFIX = "/webhooks/shopify/"
WOOCOMMERCE_PREFIX = "/webhooks/woocommerce/"
SEGMENT_PATHS = frozenset({"batch"} | {str(kind) for kind in SegmentType})
MAX_BATCH_MESSAGES = 10_000
MAX_WEBHOOK_BYTES = 1_000_000  # an order with hundreds of lines stays well under it
RETRY_AFTER_SECONDS = 5
MAX_DRAIN_BYTES = 4 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_TOPIC = re.compile(r"[a-z_]{1,30}/[a-z_]{1,30}")
# WooCommerce's topics are resource.event (order.created); one Frontline has no applier for (product.updated)
# is stored and ignored, as Shopify's are: a refusal would make WooCommerce disable the webhook.
_WOO_TOPIC = re.compile(r"[a-z_]{1,30}\.[a-z_]{1,30}")


class Refusal(Exception):
    """A request answered with a 4xx/5xx; `reason` is short, closed-ish and never quotes the request."""

    def __init__(self, status: int, reason: str, *, headers: Iterable[tuple[str, str]] = (),
                 detail: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headers, self.detail = status, reason, list(headers), detail


class PendingCount:
    """The number of pending events, asked of the database at most once per `every` seconds: the bound
    is a guard against a runaway backlog, it need not be exact to the event."""

    def __init__(self, session_factory: SessionFactory, every: float = 1.0) -> None:
        self._session_factory = session_factory
        self._every = every
        self._lock = threading.Lock()
        self._value: tuple[float, int] | None = None

    def __call__(self) -> int:
        cached = self._value
        if cached is not None and time.monotonic() - cached[0] < self._every:
            return cached[1]
        with self._lock:
            cached = self._value
            if cached is None or time.monotonic() - cached[0] >= self._every:
                with self._session_factory() as session:
                    cached = (time.monotonic(), inbox.pending_count(session))
                self._value = cached
        return cached[1]


class IngestRoutes:
    """WSGI handler of the live-data paths. `on_stored` is called after events are committed (it wakes
    this process's inbox workers); `inbox_bound` is the pending backlog above which senders get 429."""

    def __init__(self, session_factory: SessionFactory, *, inbox_bound: int, clock: Clock = utc_now,
                 on_stored: Callable[[], None] | None = None, refusals: RefusalLog | None = None) -> None:
        self.session_factory = session_factory
        self.inbox_bound = inbox_bound
        self.clock = clock
        self.on_stored = on_stored
        self.refusals = refusals or RefusalLog()
        self.pending = PendingCount(session_factory)

    def backlog(self) -> inbox.Backlog:
        with self.session_factory() as session:
            return inbox.backlog(session, self.clock())

    def health_fields(self) -> dict[str, str]:
        """/healthz's view of the inbox: events pending and waiting, and the oldest pending one's age."""
        try:
            backlog = self.backlog()
        except SQLAlchemyError:
            return {"inbox": "unknown"}
        return {"inbox_pending": str(backlog.pending), "inbox_waiting": str(backlog.waiting),
                "inbox_oldest_pending_seconds": f"{backlog.oldest_pending_seconds:.1f}"}

    def metrics_text(self) -> bytes:
        """The backlog as gauges, read from the database at scrape time (it is shared by every process)."""
        try:
            backlog = self.backlog()
        except SQLAlchemyError:
            return b""
        # Written out here rather than as prometheus_client gauges: under gunicorn those are per-process
        # files summed by the collector, and this figure is the database's, the same for every process.
        lines = []
        for name, text, value in (
                ("frontline_inbox_pending", "Received events not applied yet", backlog.pending),
                ("frontline_inbox_waiting", "Events waiting for their person to be resolvable", backlog.waiting),
                ("frontline_inbox_oldest_pending_seconds", "Age of the oldest pending event",
                 backlog.oldest_pending_seconds)):
            lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge", f"{name} {float(value)}"]
        return ("\n".join(lines) + "\n").encode()

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith((SEGMENT_PREFIX, SHOPIFY_PREFIX, WOOCOMMERCE_PREFIX))

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        size: int | None = None
        kind = (SourceKind.SHOPIFY if path.startswith(SHOPIFY_PREFIX)
                else SourceKind.WOOCOMMERCE if path.startswith(WOOCOMMERCE_PREFIX) else SourceKind.SEGMENT)
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise Refusal(HTTPStatus.METHOD_NOT_ALLOWED, "POST only")
            size = _declared_length(environ)
            if kind == SourceKind.SHOPIFY:
                status, payload = self._shopify(environ, path[len(SHOPIFY_PREFIX):], size)
            elif kind == SourceKind.WOOCOMMERCE:
                status, payload = self._woocommerce(environ, path[len(WOOCOMMERCE_PREFIX):], size)
            else:
                status, payload = self._segment(environ, path[len(SEGMENT_PREFIX):], size)
        except Refusal as refusal:
            INGEST_REFUSED.labels(kind, refusal.reason if refusal.status != HTTPStatus.BAD_REQUEST
                                  or refusal.detail is None else "bad message").inc()
            label = path if kind == SourceKind.SEGMENT else f"/webhooks/{kind}/<source>"
            self.refusals.refused(refusal.reason, status=refusal.status, size=size, path=label[:60])
            body = {"success": False, "error": refusal.reason, **(refusal.detail or {})}
            return _reply(start_response, refusal.status, body, refusal.headers)
        return _reply(start_response, status, payload, [])

    # ---- Segment ---------------------------------------------------------------------------------
    def _segment(self, environ: dict[str, Any], route: str, size: int | None) -> tuple[int, dict[str, Any]]:
        if route not in SEGMENT_PATHS:
            raise Refusal(HTTPStatus.NOT_FOUND, "no such endpoint")
        if size is not None and size > MAX_BATCH_BYTES:
            _discard(environ, size)
            raise Refusal(HTTPStatus.BAD_REQUEST, "request over 500 KB")
        source = None
        header_key = _basic_user(environ.get("HTTP_AUTHORIZATION"))
        if header_key is not None:  # checked before the body is even read
            source = self._by_key(header_key)
        raw = _inflate(environ, _read_body(environ, size, MAX_BATCH_BYTES), MAX_BATCH_BYTES)
        document = _json_object(raw)
        if source is None:
            body_key = document.get("writeKey")
            source = self._by_key(body_key if isinstance(body_key, str) else "")
        self._check_room()
        received_at = self.clock()
        events, bad = self._segment_events(document, route, received_at)
        stored = self._store(source.id, events, received_at)
        INGEST_EVENTS.labels(SourceKind.SEGMENT, "stored").inc(stored)
        INGEST_EVENTS.labels(SourceKind.SEGMENT, "duplicate").inc(len(events) - stored)
        if bad:
            INGEST_EVENTS.labels(SourceKind.SEGMENT, "refused").inc(len(bad))
            first = bad[0]
            reason = (f"message {first['index']} of the batch: {first['reason']}" if route == "batch"
                      else str(first["reason"]))
            raise Refusal(HTTPStatus.BAD_REQUEST, reason, detail={"stored": len(events), "rejected": bad})
        return HTTPStatus.OK, {"success": True}

    def _segment_events(self, document: dict[str, Any], route: str,
                        received_at: Any) -> tuple[list[NewEvent], list[dict[str, Any]]]:
        if route != "batch":
            try:
                return [parse_message(document, received_at=received_at, type_from_path=route)], []
            except BadMessage as error:
                return [], [{"index": 0, "reason": str(error)}]
        messages = document.get("batch")
        if not isinstance(messages, list) or not messages:
            raise Refusal(HTTPStatus.BAD_REQUEST, "batch must be a non-empty array of messages")
        if len(messages) > MAX_BATCH_MESSAGES:
            raise Refusal(HTTPStatus.BAD_REQUEST, f"batch over {MAX_BATCH_MESSAGES} messages")
        context = document.get("context")
        try:
            sent_at = parse_time(document.get("sentAt"), "sentAt")
        except BadMessage as error:
            raise Refusal(HTTPStatus.BAD_REQUEST, str(error)) from None
        events, bad = [], []
        for index, message in enumerate(messages):
            try:
                events.append(parse_message(message, received_at=received_at, batch_sent_at=sent_at,
                                            batch_context=context if isinstance(context, dict) else None))
            except BadMessage as error:
                bad.append({"index": index, "reason": str(error)})
        return events, bad

    def _by_key(self, write_key: str) -> sources.SourceRef:
        if not write_key:
            raise Refusal(HTTPStatus.UNAUTHORIZED, "no write key")
        try:
            with self.session_factory() as session:
                source = sources.by_write_key(session, write_key)
        except SQLAlchemyError:
            raise Refusal(HTTPStatus.SERVICE_UNAVAILABLE, "database unavailable",
                          headers=[("Retry-After", str(RETRY_AFTER_SECONDS))]) from None
        if source is None:
            raise Refusal(HTTPStatus.UNAUTHORIZED, "unknown write key")
        return source

    # ---- Shopify ---------------------------------------------------------------------------------
    def _shopify(self, environ: dict[str, Any], name: str, size: int | None) -> tuple[int, dict[str, Any]]:
        signature = environ.get("HTTP_X_SHOPIFY_HMAC_SHA256", "")
        if not signature:
            raise Refusal(HTTPStatus.UNAUTHORIZED, "missing signature")
        if size is not None and size > MAX_WEBHOOK_BYTES:
            _discard(environ, size)
            raise Refusal(HTTPStatus.BAD_REQUEST, "request over 1 MB")
        source, raw = self._signed_webhook(environ, name, size, SourceKind.SHOPIFY, signature)
        topic = environ.get("HTTP_X_SHOPIFY_TOPIC", "")
        if not _TOPIC.fullmatch(topic):
            raise Refusal(HTTPStatus.BAD_REQUEST, "missing or malformed X-Shopify-Topic")
        document = _json_object(_inflate(environ, raw, MAX_WEBHOOK_BYTES))
        self._check_room()
        received_at = self.clock()
        try:
            triggered_at = parse_time(environ.get("HTTP_X_SHOPIFY_TRIGGERED_AT") or None, "X-Shopify-Triggered-At")
        except BadMessage as error:
            raise Refusal(HTTPStatus.BAD_REQUEST, str(error)) from None
        event = NewEvent(message_id=_shopify_delivery(environ, topic, raw), type=topic,
                         person_key=_shopify_person(topic, document), body=document,
                         event_at=triggered_at or received_at)
        stored = self._store(source.id, [event], received_at)
        INGEST_EVENTS.labels(SourceKind.SHOPIFY, "stored" if stored else "duplicate").inc()
        return HTTPStatus.OK, {"success": True}

    # ---- WooCommerce -----------------------------------------------------------------------------
    def _woocommerce(self, environ: dict[str, Any], name: str, size: int | None) -> tuple[int, dict[str, Any]]:
        if size is not None and size > MAX_WEBHOOK_BYTES:
            _discard(environ, size)
            raise Refusal(HTTPStatus.BAD_REQUEST, "request over 1 MB")
        signature = environ.get("HTTP_X_WC_WEBHOOK_SIGNATURE", "")
        if not signature:
            # Saving a webhook sends an unsigned `webhook_id=<n>` ping, and the save fails without a 2xx.
            # Answered whatever the source (it stores nothing, and says no more than a 401 would).
            if size is not None and size <= 64 and woocommerce.is_ping(_read_body(environ, size, 64)):
                return HTTPStatus.OK, {"success": True}
            raise Refusal(HTTPStatus.UNAUTHORIZED, "missing signature")
        source, raw = self._signed_webhook(environ, name, size, SourceKind.WOOCOMMERCE, signature)
        topic = environ.get("HTTP_X_WC_WEBHOOK_TOPIC", "")
        if not _WOO_TOPIC.fullmatch(topic):
            raise Refusal(HTTPStatus.BAD_REQUEST, "missing or malformed X-WC-Webhook-Topic")
        document = _json_object(raw)
        self._check_room()
        received_at = self.clock()
        key = woocommerce.dedupe_key(topic, environ.get("HTTP_X_WC_WEBHOOK_ID"),
                                     environ.get("HTTP_X_WC_WEBHOOK_DELIVERY_ID"))
        event = NewEvent(message_id=key or f"{topic}:sha256:{hashlib.sha256(raw).hexdigest()}", type=topic,
                         person_key=woocommerce.person_key(topic, document), body=document, event_at=received_at)
        stored = self._store(source.id, [event], received_at)
        INGEST_EVENTS.labels(SourceKind.WOOCOMMERCE, "stored" if stored else "duplicate").inc()
        return HTTPStatus.OK, {"success": True}

    # ---- shared ----------------------------------------------------------------------------------
    def _signed_webhook(self, environ: dict[str, Any], name: str, size: int | None, kind: SourceKind,
                        signature: str) -> tuple[sources.SourceRef, bytes]:
        """The shop source named in the path and the raw body, once the body's base64 HMAC-SHA256 matches
        its secret (Shopify and WooCommerce sign the same way)."""
        try:
            with self.session_factory() as session:
                source = sources.by_name(session, name, kind) if len(name) <= 32 else None
        except SQLAlchemyError:
            raise Refusal(HTTPStatus.SERVICE_UNAVAILABLE, "database unavailable",
                          headers=[("Retry-After", str(RETRY_AFTER_SECONDS))]) from None
        raw = _read_body(environ, size, MAX_WEBHOOK_BYTES)
        # An unknown source and a bad signature get the same answer: the path reveals no shop names.
        if source is None or not shopify.verify_hmac((source.secret or "").encode(), raw, signature):
            raise Refusal(HTTPStatus.UNAUTHORIZED, "bad signature")
        return source, raw

    def _check_room(self) -> None:
        try:
            full = self.pending() >= self.inbox_bound
        except SQLAlchemyError:
            full = True  # cannot tell: the store below would most likely fail too
        if full:
            raise Refusal(HTTPStatus.TOO_MANY_REQUESTS, "inbox full",
                          headers=[("Retry-After", str(RETRY_AFTER_SECONDS))])

    def _store(self, source_id: int, events: list[NewEvent], received_at: Any) -> int:
        if not events:
            return 0
        try:
            with self.session_factory.begin() as session:
                stored = inbox.store_events(session, source_id, events, received_at)
        except SQLAlchemyError as error:
            log.error("storing %d received events failed: %s", len(events), type(error).__name__)
            raise Refusal(HTTPStatus.SERVICE_UNAVAILABLE, "could not store the events",
                          headers=[("Retry-After", str(RETRY_AFTER_SECONDS))]) from None
        if stored and self.on_stored is not None:
            self.on_stored()
        return stored


def _shopify_delivery(environ: dict[str, Any], topic: str, raw: bytes) -> str:
    """The deduplication key (store.live.shopify.dedupe_key: the event id, else the delivery id), else the
    body itself."""
    key = shopify.dedupe_key(topic, environ.get("HTTP_X_SHOPIFY_EVENT_ID"), environ.get("HTTP_X_SHOPIFY_WEBHOOK_ID"))
    return key or f"{topic}:sha256:{hashlib.sha256(raw).hexdigest()}"


def _shopify_person(topic: str, document: dict[str, Any]) -> str | None:
    """Orders a Shopify customer's deliveries: the customer id (the payload's own for customers/*)."""
    customer = document if topic.startswith("customers/") else document.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else None
    if isinstance(customer_id, int | str) and not isinstance(customer_id, bool) and str(customer_id):
        return f"shopify:{str(customer_id)[:64]}"
    return None


def _basic_user(header: str | None) -> str | None:
    """The user name of an HTTP Basic Authorization header (Segment's write key); None without one."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or len(token) > 1024:
        raise Refusal(HTTPStatus.UNAUTHORIZED, "malformed authorization")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise Refusal(HTTPStatus.UNAUTHORIZED, "malformed authorization") from None
    return decoded.partition(":")[0]


def _declared_length(environ: dict[str, Any]) -> int | None:
    declared = environ.get("CONTENT_LENGTH") or ""
    if not declared:
        return None
    if not (declared.isascii() and declared.isdigit()) or len(declared) > 12:
        raise Refusal(HTTPStatus.BAD_REQUEST, "bad content-length")
    return int(declared)


def _discard(environ: dict[str, Any], length: int) -> None:
    """Read and drop a body too large to take, when it is small enough to drain: the sender then gets the
    400 that says why (a client that is still sending when the connection closes sees a broken pipe and
    retries the same oversized batch). Anything larger is left unread and the connection dropped."""
    if length > MAX_DRAIN_BYTES:
        return
    stream, left = environ["wsgi.input"], length
    try:
        while left > 0 and (chunk := stream.read(min(_READ_CHUNK, left))):
            left -= len(chunk)
    except Exception:  # the sender went away: nothing to answer
        return


def _read_body(environ: dict[str, Any], length: int | None, cap: int) -> bytes:
    """At most `cap` bytes (bot.web's bounded reader, with this API's refusals)."""
    return b"".join(read_bounded_body(environ, length, cap, refuse=Refusal,
                                      too_large=(HTTPStatus.BAD_REQUEST, f"request over {cap // 1024} KB")))


def _inflate(environ: dict[str, Any], raw: bytes, cap: int) -> bytes:
    """The body, gunzipped when it says so, never past `cap` bytes (a small bomb stays small)."""
    encoding = (environ.get("HTTP_CONTENT_ENCODING") or "identity").strip().lower()
    if encoding == "identity":
        return raw
    if encoding != "gzip":
        raise Refusal(HTTPStatus.BAD_REQUEST, "unsupported content-encoding (gzip or none)")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(raw, cap + 1)
    except zlib.error:
        raise Refusal(HTTPStatus.BAD_REQUEST, "body is not valid gzip") from None
    if len(inflated) > cap or inflater.unconsumed_tail:
        raise Refusal(HTTPStatus.BAD_REQUEST, f"request over {cap // 1024} KB once decompressed")
    if not inflater.eof:
        raise Refusal(HTTPStatus.BAD_REQUEST, "body is not valid gzip")
    return inflated


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refusal(HTTPStatus.BAD_REQUEST, "body is not JSON") from None
    if not isinstance(document, dict):
        raise Refusal(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
    return document


def _reply(start_response: Callable, status: int, body: dict[str, Any],
           headers: list[tuple[str, str]]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(f"{status} {HTTPStatus(status).phrase}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *headers])
    return [payload]
