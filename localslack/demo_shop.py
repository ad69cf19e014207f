"""The demo retailer's web shop, live: while `frontline-console --live-shop` is open, a few demo customers
browse the website and their browser sends Segment messages (page, Product Viewed, Product Added,
Products Searched, Order Completed...) over loopback HTTP to the real tracking API (/v1/batch with the
write key, the production IngestRoutes), applied by the real inbox workers. `/customer <name>` then
shows activity minutes old, and the console employee gets the DM when a customer of one of their open
follow-ups comes back.

Demo machinery (localslack/): the product never imports it. It gives the demo database's `web` source a
fresh write key each start (a demo database only: it would replace a real source's key).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import random
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from socketserver import ThreadingMixIn

from slack_bolt import App
from sqlalchemy import Engine, exists, select

from bot.app import make_client
from bot.config import Settings
from bot.ingest import InboxWorkers
from bot.ingest_web import IngestRoutes
from bot.live_jobs import run_baskets, run_notices
from bot.web import FrontlineWeb
from store import sources
from store.clock import utc_now
from store.db import SessionFactory
from store.demo.catalogue import PRODUCTS, Product
from store.models import Consent, Customer, Employee, FollowUp, LiveSource, SourceRecord
from store.vocabulary import CustomerStatus, SourceKind

log = logging.getLogger(__name__)

SOURCE = "web"  # the demo's web shop: its people records are source "web"
SEARCHES = {"fr": ("manteau", "bottines", "robe en lin", "pull"), "en": ("coat", "boots", "linen dress", "jumper")}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass(frozen=True)
class Shopper:
    user_id: str  # the web shop's id of the person (its source record)
    name: str
    language: str
    currency: str
    follows_up: bool  # the console employee has an open follow-up with this customer


class DemoWebShop:
    def __init__(self, settings: Settings, session_factory: SessionFactory, engine: Engine, app: App, *,
                 employee_slack_id: str | None, every: float = 20.0, workers: int = 1, seed: int | None = None,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.settings, self.session_factory, self.engine, self.app = settings, session_factory, engine, app
        self.employee_slack_id = employee_slack_id
        self.every, self.clock = every, clock
        self.rng = random.Random(seed)
        self.workers = InboxWorkers(session_factory, count=workers)
        self.shoppers: list[Shopper] = []
        self.url = ""
        self._key = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: WSGIServer | None = None

    # ---- life cycle ----------------------------------------------------------------------------
    def start(self) -> DemoWebShop:
        self._key = self._write_key()
        routes = IngestRoutes(self.session_factory, inbox_bound=self.settings.inbox_bound, on_stored=self.workers.wake)
        web = FrontlineWeb(self.app, self.engine, ingest=routes, serve_slack=False)
        self._server = make_server("127.0.0.1", 0, web, server_class=_Server, handler_class=_Quiet)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self._spawn(lambda: self._server.serve_forever(0.1) if self._server else None, "demo-shop-http")
        self.workers.start()
        self.shoppers = self._pick_shoppers()
        if self.shoppers:
            self.burst()
            self._spawn(self._browse, "demo-shop-browsing")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.workers.stop()
        for thread in self._threads:
            thread.join(5)

    def _spawn(self, target: Callable[[], Any], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def announcement(self) -> str:
        if not self.shoppers:
            return "(live web shop: no demo customer with a web account and profiling consent, nothing to send)"
        names = ", ".join(s.name + (" (your follow-up)" if s.follows_up else "") for s in self.shoppers)
        return (f"The demo web shop is live ({self.url}/v1, the real tracking API): {names} are on the website. "
                f"Try /customer {self.shoppers[0].name}")

    # ---- who browses -----------------------------------------------------------------------------
    def _write_key(self) -> str:
        now = self.clock()
        with self.session_factory.begin() as session:
            exists_already = session.scalar(select(LiveSource.id).where(LiveSource.name == SOURCE)) is not None
            key = (sources.rotate_source(session, SOURCE, secret=None, now=now) if exists_already
                   else sources.add_source(session, SOURCE, SourceKind.SEGMENT, secret=None, now=now))
        assert key is not None  # a Segment source always gets a write key
        return key

    def _pick_shoppers(self, count: int = 4) -> list[Shopper]:
        consented = exists().where(Consent.customer_id == Customer.id, Consent.purpose == "profiling",
                                   Consent.granted.is_(True))
        base = (select(SourceRecord.source_id, Customer.first_name, Customer.last_name, Customer.preferred_language,
                       Customer.country)
                .join(Customer, Customer.id == SourceRecord.customer_id)
                .where(SourceRecord.source == SOURCE, Customer.status == CustomerStatus.ACTIVE, consented))
        with self.session_factory() as session:
            mine: list[Any] = []
            if self.employee_slack_id:
                followed = exists().where(FollowUp.customer_id == Customer.id, FollowUp.status == "open",
                                          FollowUp.assignee_id == select(Employee.id).where(
                                              Employee.slack_user_id == self.employee_slack_id).scalar_subquery())
                mine = list(session.execute(base.where(followed).order_by(SourceRecord.id).limit(1)).all())
            others = session.execute(base.order_by(SourceRecord.id).limit(200)).all()
        pool = [r for r in others if r not in mine]
        picked = list(mine) + self.rng.sample(pool, min(count - len(mine), len(pool)))
        return [Shopper(user_id=r.source_id, name=" ".join(p for p in (r.first_name, r.last_name) if p),
                        language="fr" if (r.preferred_language or "fr").startswith("fr") else "en",
                        currency="GBP" if r.country == "GB" else "EUR", follows_up=r in mine)
                for r in picked]

    # ---- what they do ------------------------------------------------------------------------------
    def _product(self, shopper: Shopper, product: Product, **extra: Any) -> dict[str, Any]:
        return {"product_id": product.sku, "sku": product.sku, "name": product.name(shopper.language),
                "brand": product.brand, "category": product.category,
                "price": float(product.price(shopper.currency)), "currency": shopper.currency, **extra}

    def _message(self, shopper: Shopper, minutes_ago: float, kind: str, **fields: Any) -> dict[str, Any]:
        at = self.clock() - dt.timedelta(minutes=minutes_ago)
        return {"type": kind, "userId": shopper.user_id, "timestamp": at.isoformat() + "Z",
                "context": {"locale": shopper.language, "library": {"name": "demo-web-shop"}}, **fields}

    def _visit(self, shopper: Shopper, start: float, *, story: str) -> list[dict[str, Any]]:
        """A few minutes on the website, `start` minutes ago, ending in `story`: basket, abandoned, order."""
        first, second = self.rng.sample(PRODUCTS, 2)
        cart = f"cart-{shopper.user_id}"
        messages = [
            self._message(shopper, start, "page", name="Home", properties={"path": "/"}),
            self._message(shopper, start - 1, "track", event="Products Searched",
                          properties={"query": self.rng.choice(SEARCHES[shopper.language])}),
            self._message(shopper, start - 2, "track", event="Product Viewed", properties=self._product(shopper, first)),
            self._message(shopper, start - 3, "track", event="Product Viewed", properties=self._product(shopper, second)),
            self._message(shopper, start - 4, "track", event="Product Added to Wishlist",
                          properties=self._product(shopper, first)),
            self._message(shopper, start - 5, "track", event="Product Added",
                          properties=self._product(shopper, second, quantity=1, cart_id=cart)),
        ]
        if story == "order":
            price = float(second.price(shopper.currency))
            messages.append(self._message(shopper, start - 7, "track", event="Order Completed", properties={
                "order_id": f"WEB-{self.rng.randrange(100000, 999999)}", "total": price, "revenue": price,
                "currency": shopper.currency, "cart_id": cart, "products": [self._product(shopper, second, quantity=1)]}))
        return messages

    def burst(self) -> None:
        """The shoppers' last minutes, sent at once: the card has something minutes old right away."""
        stories = ["basket", "order", "abandoned", "basket"]
        messages: list[dict[str, Any]] = []
        for shopper, story in zip(self.shoppers, stories, strict=False):  # fewer shoppers than stories: fine
            start = 90.0 if story == "abandoned" else self.rng.uniform(8, 20)
            messages += self._visit(shopper, start, story=story)
        self.send({"batch": messages})

    def step(self) -> None:
        """One more thing one shopper does now."""
        shopper = self.rng.choice(self.shoppers)
        product = self.rng.choice(PRODUCTS)
        event = self.rng.choice(("Product Viewed", "Product Viewed", "Product Added", "Product Added to Wishlist"))
        extra = {"cart_id": f"cart-{shopper.user_id}", "quantity": 1} if event == "Product Added" else {}
        self.send({"batch": [self._message(shopper, 0, "track", event=event,
                                           properties=self._product(shopper, product, **extra))]})

    def send(self, document: dict[str, Any]) -> int:
        document = {**document, "sentAt": self.clock().isoformat() + "Z"}
        request = urllib.request.Request(
            self.url + "/v1/batch", data=json.dumps(document).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": "Basic " + base64.b64encode(f"{self._key}:".encode()).decode()})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)

    def _browse(self) -> None:
        client = make_client(self.settings)
        while not self._stop.wait(self.every):
            try:
                self.step()
                run_baskets(self.settings, self.session_factory, self.clock)
                run_notices(self.settings, self.session_factory, client, self.clock)
            except Exception as error:  # the demo goes on; the console keeps working
                log.warning("demo web shop: %s", type(error).__name__)
