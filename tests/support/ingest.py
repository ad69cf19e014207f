"""Live data over real HTTP: the bot's WSGI app with the ingest routes, a Segment source and a Shopify
shop, and a client that speaks the tracking API and signs webhooks like Shopify.

    live = start_live(settings, engine, session_factory, clock=...)
    live.track({...}); live.post("/v1/batch", {...}, gzip=True); live.webhook("orders/create", {...})
    live.work()   # apply every due event now, as the workers would (one transaction a step)
    live.stop()
"""
from __future__ import annotations

import base64
import gzip as gzip_module
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from bot.ingest import InboxWorkers
from bot.ingest_web import IngestRoutes
from store import sources
from store.clock import utc_now
from store.inbox import Appliers, WorkReport
from store.vocabulary import SourceKind
from tests.support.server import BotServer, start_bot_server

SEGMENT_SOURCE = "webshop"
SHOPIFY_SOURCE = "shop"
SHOPIFY_SECRET = "shpss_test_secret_5c1e"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Live:
    server: BotServer
    routes: IngestRoutes
    workers: InboxWorkers
    write_key: str

    @property
    def url(self) -> str:
        return self.server.url

    def post(self, path: str, document: Any = None, *, raw: bytes | None = None, gzip: bool = False,
             key: str | None = "default", headers: dict[str, str] | None = None, method: str = "POST") -> Answer:
        """POST `document` as JSON (or `raw` bytes), authenticated with the write key as Basic user name
        unless `key` is None (or another key)."""
        body = raw if raw is not None else json.dumps(document).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if gzip:
            body = gzip_module.compress(body)
            sent["Content-Encoding"] = "gzip"
        if key is not None:
            user = self.write_key if key == "default" else key
            sent["Authorization"] = "Basic " + base64.b64encode(f"{user}:".encode()).decode()
        return _send(self.url + path, body if method == "POST" else None, sent, method)

    def track(self, message: dict[str, Any], **kwargs: Any) -> Answer:
        return self.post("/v1/track", {"type": "track", **message}, **kwargs)

    def identify(self, message: dict[str, Any], **kwargs: Any) -> Answer:
        return self.post("/v1/identify", {"type": "identify", **message}, **kwargs)

    def webhook(self, topic: str, payload: Any, *, event_id: str | None = None, webhook_id: str | None = None,
                triggered_at: str | None = None, secret: str = SHOPIFY_SECRET, source: str = SHOPIFY_SOURCE,
                signature: str | None = None) -> Answer:
        """A Shopify delivery: the raw body signed with `secret` (X-Shopify-Hmac-Sha256)."""
        body = json.dumps(payload).encode()
        mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic,
                   "X-Shopify-Hmac-Sha256": mac if signature is None else signature,
                   "X-Shopify-Shop-Domain": "demo.myshopify.com", "X-Shopify-API-Version": "2025-01"}
        for name, value in (("X-Shopify-Event-Id", event_id), ("X-Shopify-Webhook-Id", webhook_id),
                            ("X-Shopify-Triggered-At", triggered_at)):
            if value is not None:
                headers[name] = value
        return _send(f"{self.url}/webhooks/shopify/{source}", body, headers, "POST")

    def work(self) -> int:
        """Apply every due event (as many steps as it takes); returns how many were handled."""
        handled = 0
        while (report := self.workers.step()).claimed:
            handled += report.claimed
        return handled

    def stop(self) -> None:
        self.server.stop()


def _send(url: str, body: bytes | None, headers: dict[str, str], method: str) -> Answer:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, _json(response.read()), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Answer(error.code, _json(error.read()), dict(error.headers))


def _json(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError:
        return {"raw": raw.decode("utf-8", "replace")}
    return document if isinstance(document, dict) else {"raw": document}


def start_live(settings, engine, session_factory, *, clock=utc_now, inbox_bound: int = 10_000,
               appliers: Appliers | None = None, on_step=None, group_appliers=None) -> Live:
    with session_factory.begin() as session:
        key = sources.add_source(session, SEGMENT_SOURCE, SourceKind.SEGMENT, secret=None, now=clock())
        sources.add_source(session, SHOPIFY_SOURCE, SourceKind.SHOPIFY, secret=SHOPIFY_SECRET, now=clock())
    assert key is not None
    workers = InboxWorkers(session_factory, count=0, appliers=appliers, clock=clock, on_step=on_step,
                           group_appliers=group_appliers)
    routes = IngestRoutes(session_factory, inbox_bound=inbox_bound, clock=clock)
    server = start_bot_server(settings, engine, session_factory, ingest=routes)
    return Live(server, routes, workers, key)


__all__ = ["Answer", "Live", "WorkReport", "start_live"]
