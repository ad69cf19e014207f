"""Live website activity end to end: the website sends Segment messages over HTTP to the tracking API
(/v1/track, /v1/page, /v1/alias, /v1/batch, with the write key as Basic user name, gzip as the official
clients send), the inbox worker applies them, and the associate's `/customer` card shows them."""
from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import threading
import urllib.error
import urllib.request
from wsgiref.simple_server import make_server

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.ingest import InboxWorkers
from bot.ingest_web import IngestRoutes
from bot.web import FrontlineWeb
from localslack.executor import TrackingExecutor
from localslack.slack_driver import HttpTransport, SlackDriver
from store import sources
from store.gdpr import erase_customer
from store.models import Customer, CustomerIdentifier, InboxMessage, SourceRecord
from store.vocabulary import SourceKind
from tests.e2e.conftest import SIGNING_SECRET
from tests.support.server import BotServer, _QuietHandler, _ThreadingWSGIServer

SOURCE = "webshop"
CONSENT = {"consent": {"categoryPreferences": {"Personalization": True, "Advertising": False}}}
COAT = {"product_id": "P-COAT", "sku": "COAT-42", "name": "Wool coat", "price": 189.9, "currency": "EUR"}


@pytest.fixture
def live_server(settings, engine, session_factory):
    """The bot's HTTP server with the tracking API mounted, as `frontline serve --http` runs it."""
    app = build_app(settings, session_factory, listener_executor=TrackingExecutor())
    web = FrontlineWeb(app, engine, ingest=IngestRoutes(session_factory, inbox_bound=10_000))
    server = make_server("127.0.0.1", 0, web, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    running = BotServer(f"http://{host}:{port}", app, web, engine, server, thread)
    yield running
    running.stop()


@pytest.fixture
def bot(live_server, slack) -> SlackDriver:
    return SlackDriver(HttpTransport(live_server.url), slack, SIGNING_SECRET, settle=live_server.settle)


@pytest.fixture
def website(live_server, session_factory, employee):
    """Jean Dupont, known to the web shop as user u-1, and the web shop's write key."""
    employee("U0LEA", "Léa Martin", locale="en")
    employee("U0HUGO", "Hugo Bernard", locale="fr")
    with session_factory.begin() as session:
        jean = Customer(first_name="Jean", last_name="Dupont", search_name="jean dupont", city="Lyon",
                        email="jean.dupont@example.com")
        session.add(jean)
        session.flush()
        session.add(CustomerIdentifier(customer_id=jean.id, kind="email", value="jean.dupont@example.com"))
        session.add(SourceRecord(source=SOURCE, source_id="u-1", customer_id=jean.id, content_hash="h"))
        key = sources.add_source(session, SOURCE, SourceKind.SEGMENT, secret=None, now=dt.datetime(2026, 1, 1))
    return {"url": live_server.url, "key": key, "jean": jean.id}


def post(website, path, document, *, compress=False):
    raw = json.dumps(document).encode()
    headers = {"Content-Type": "application/json",
               "Authorization": "Basic " + base64.b64encode(f"{website['key']}:".encode()).decode()}
    if compress:
        raw, headers["Content-Encoding"] = gzip.compress(raw), "gzip"
    request = urllib.request.Request(website["url"] + path, data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def apply_inbox(session_factory):
    """What the serving process's inbox workers do, step by step until nothing is left to claim."""
    workers = InboxWorkers(session_factory, count=0)
    while workers.step().claimed:
        pass


def card(bot, slack, query="jean dupont", user="U0LEA"):
    before = slack.mark()
    bot.command("/customer", query, user=user)
    return slack.wait_for("command_response", since=before)


def test_browsing_sent_to_the_tracking_api_is_on_the_card_within_the_minute(bot, slack, website, session_factory):
    assert post(website, "/v1/page", {"userId": "u-1", "name": "Home", "context": CONSENT}) == (200, {"success": True})
    batch = {"batch": [
        {"type": "track", "userId": "u-1", "event": "Product Viewed", "properties": COAT, "messageId": "m-1"},
        {"type": "track", "userId": "u-1", "event": "Product Added", "properties": {**COAT, "cart_id": "c-1"},
         "messageId": "m-2"},
        {"type": "track", "userId": "u-1", "event": "Products Searched", "properties": {"query": "red coat"},
         "messageId": "m-3"},
    ]}
    assert post(website, "/v1/batch", batch, compress=True)[0] == 200
    apply_inbox(session_factory)

    shown = card(bot, slack)
    assert "On the website" in shown.text and "source: webshop" in shown.text
    assert "Viewed: Wool coat (€189.90)" in shown.text
    assert "Basket: 1× Wool coat" in shown.text and "Searched: “red coat”" in shown.text
    shown_fr = card(bot, slack, user="U0HUGO")
    assert "Sur le site" in shown_fr.text and "Panier : 1× Wool coat" in shown_fr.text


def test_an_order_placed_online_is_on_the_card(bot, slack, website, session_factory):
    order = {"type": "track", "userId": "u-1", "event": "Order Completed", "context": CONSENT, "properties": {
        "order_id": "W-1001", "total": 189.9, "currency": "EUR", "products": [{**COAT, "quantity": 1}]}}
    assert post(website, "/v1/track", order)[0] == 200
    apply_inbox(session_factory)
    shown = card(bot, slack)
    assert "Ordered online" in shown.text and "W-1001" in shown.text
    assert "1× Wool coat" in shown.text  # in the last orders too, like any order


def test_anonymous_browsing_joins_the_customer_at_alias(bot, slack, website, session_factory):
    post(website, "/v1/page", {"userId": "u-1", "name": "Home", "context": CONSENT})
    post(website, "/v1/track", {"anonymousId": "anon-7", "event": "Product Added to Wishlist", "properties": COAT})
    apply_inbox(session_factory)
    assert "Wool coat" not in card(bot, slack).text
    assert post(website, "/v1/alias", {"previousId": "anon-7", "userId": "u-1"})[0] == 200
    apply_inbox(session_factory)
    shown = card(bot, slack)
    assert "Wishlist: Wool coat" in shown.text and "Wishlist changes: + Wool coat" in shown.text


def test_without_profiling_consent_the_card_shows_none_of_it(bot, slack, website, session_factory):
    refused = {"consent": {"categoryPreferences": {"Personalization": False}}}
    post(website, "/v1/page", {"userId": "u-1", "name": "Home", "context": refused})
    post(website, "/v1/track", {"userId": "u-1", "event": "Product Viewed", "properties": COAT})
    apply_inbox(session_factory)
    shown = card(bot, slack)
    assert "Web activity hidden" in shown.text and "Wool coat" not in shown.text


def test_an_erased_persons_events_are_accepted_then_refused_and_kept_out(bot, slack, website, session_factory):
    with session_factory.begin() as session:
        erase_customer(session, website["jean"], actor="test")
    assert post(website, "/v1/track", {"userId": "u-1", "event": "Product Viewed", "properties": COAT})[0] == 200
    apply_inbox(session_factory)
    with session_factory() as session:
        assert session.execute(select(InboxMessage.state, InboxMessage.reason)).all() == [("rejected", "erased")]


def test_browsing_before_signing_up_joins_the_new_customer_at_identify(bot, slack, website, session_factory):
    anonymous = {"anonymousId": "anon-42"}
    post(website, "/v1/track", {**anonymous, "event": "Product Viewed", "properties": COAT})
    post(website, "/v1/track", {**anonymous, "event": "Product Added", "properties": COAT})
    apply_inbox(session_factory)
    identify = {"userId": "u-77", **anonymous, "context": CONSENT,
                "traits": {"email": "claire.morel@example.com", "firstName": "Claire", "lastName": "Morel"}}
    assert post(website, "/v1/identify", identify)[0] == 200
    apply_inbox(session_factory)
    shown = card(bot, slack, "claire.morel@example.com")
    assert "Claire Morel" in shown.text and "Viewed: Wool coat" in shown.text and "Basket: 1× Wool coat" in shown.text


def test_an_identify_without_user_id_names_the_browser(bot, slack, website, session_factory):
    post(website, "/v1/identify", {"anonymousId": "anon-news", "context": CONSENT,
                                   "traits": {"email": "paul.roy@example.com", "firstName": "Paul", "lastName": "Roy"}})
    apply_inbox(session_factory)
    post(website, "/v1/track", {"anonymousId": "anon-news", "event": "Products Searched", "properties": {"query": "boots"}})
    apply_inbox(session_factory)
    assert "Searched: “boots”" in card(bot, slack, "paul.roy@example.com").text
