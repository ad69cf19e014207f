"""The tracking API and the Shopify route over real HTTP: what is accepted is stored once, everything
else is refused with a 4xx that stores nothing and logs no body."""
from __future__ import annotations

import datetime as dt
import gzip
import json
import urllib.request

import pytest
from sqlalchemy import select

from store.models import InboxMessage
from store.vocabulary import InboxState
from tests.support.ingest import SHOPIFY_SECRET, start_live
from tests.support.logs import production_logs

NOW = dt.datetime(2026, 12, 1, 10, 0, 0)
SECRET_TEXT = "Jeanne.Secret-Dupont@example.org"


@pytest.fixture
def live(settings, engine, session_factory):
    world = start_live(settings, engine, session_factory, clock=lambda: NOW, inbox_bound=50)
    yield world
    world.stop()


def _stored(session_factory) -> list[InboxMessage]:
    with session_factory() as session:
        return list(session.scalars(select(InboxMessage).order_by(InboxMessage.id)))


def test_a_track_with_the_write_key_is_stored_with_its_clock_corrected(live, session_factory):
    # The sender's clock is 1 h fast: it says the event happened 5 s before it sent it.
    answer = live.track({"userId": "u1", "event": "Product Viewed", "messageId": "m-1",
                         "properties": {"sku": "SKU-1"}, "timestamp": "2026-12-01T11:00:00Z",
                         "sentAt": "2026-12-01T11:00:05Z"})
    assert (answer.status, answer.body) == (200, {"success": True})
    [row] = _stored(session_factory)
    assert (row.type, row.person_key, row.message_id, row.state) == ("track", "u:u1", "m-1", InboxState.PENDING)
    assert row.event_at == NOW - dt.timedelta(seconds=5)
    assert row.body["properties"] == {"sku": "SKU-1"}


def test_the_write_key_may_come_in_the_body_and_is_not_stored(live, session_factory):
    answer = live.post("/v1/identify", {"userId": "u1", "traits": {"firstName": "Ana"}, "writeKey": live.write_key},
                       key=None)
    assert answer.status == 200
    [row] = _stored(session_factory)
    assert "writeKey" not in row.body and row.body["traits"] == {"firstName": "Ana"}


@pytest.mark.parametrize("key", [None, "flw_not-a-real-key", ""])
def test_without_a_valid_key_nothing_is_stored(live, session_factory, key):
    answer = live.track({"userId": "u1", "event": "Product Viewed"}, key=key)
    assert answer.status == 401
    assert _stored(session_factory) == []


def test_a_malformed_authorization_header_is_refused(live, session_factory):
    answer = live.track({"userId": "u1", "event": "x"}, key=None, headers={"Authorization": "Basic %%%not-base64"})
    assert answer.status == 401
    answer = live.track({"userId": "u1", "event": "x"}, key=None, headers={"Authorization": "Bearer abc"})
    assert answer.status == 401
    assert _stored(session_factory) == []


def test_a_gzipped_batch_is_stored_and_a_bad_message_is_named_by_its_index(live, session_factory):
    batch = {"batch": [
        {"type": "identify", "userId": "u1", "traits": {"email": "ana@example.com"}, "messageId": "a"},
        {"type": "track", "userId": "u1", "event": "Product Added", "messageId": "b"},
        {"type": "track", "userId": "u1", "messageId": "c"},  # no event name
        {"type": "page", "anonymousId": "anon-9", "messageId": "d"},
        {"type": "track", "event": "Product Viewed", "messageId": "e"},  # no person
    ], "sentAt": "2026-12-01T10:00:00Z"}
    answer = live.post("/v1/batch", batch, gzip=True)
    assert answer.status == 400
    assert [bad["index"] for bad in answer.body["rejected"]] == [2, 4]
    assert answer.body["stored"] == 3 and "message 2 of the batch" in answer.body["error"]
    assert [row.message_id for row in _stored(session_factory)] == ["a", "b", "d"]


def test_a_retried_message_is_stored_once(live, session_factory):
    message = {"userId": "u1", "event": "Order Completed", "messageId": "order-1"}
    assert live.track(message).status == 200
    assert live.track(message).status == 200  # the client's retry: acknowledged again, not stored again
    assert live.post("/v1/batch", {"batch": [{"type": "track", **message}]}, gzip=True).status == 200
    assert len(_stored(session_factory)) == 1


def test_oversized_messages_and_requests_are_refused_whole(live, session_factory):
    big = {"userId": "u1", "event": "Product Viewed", "properties": {"blob": "x" * 33_000}}
    answer = live.track(big)
    assert answer.status == 400 and "32 KB" in answer.body["error"]
    request = {"batch": [{"type": "track", "userId": "u1", "event": "e", "messageId": str(i),
                          "properties": {"blob": "y" * 20_000}} for i in range(30)]}
    assert live.post("/v1/batch", request).status == 400
    # A gzip bomb: a small body that inflates past 500 KB.
    bomb = gzip.compress(json.dumps({"batch": [], "pad": "z" * 2_000_000}).encode())
    answer = live.post("/v1/batch", raw=bomb, headers={"Content-Encoding": "gzip"})
    assert answer.status == 400 and "decompressed" in answer.body["error"]
    assert _stored(session_factory) == []


@pytest.mark.parametrize(("raw", "headers"), [
    (b"not json at all", {}),
    (b"[1, 2, 3]", {}),
    (b"\x1f\x8b\x08 broken gzip", {"Content-Encoding": "gzip"}),
    (b'{"userId": "u1"}', {"Content-Encoding": "br"}),
    (b'{"batch": "nope"}', {}),
])
def test_malformed_bodies_get_400(live, session_factory, raw, headers):
    path = "/v1/batch" if b"batch" in raw else "/v1/track"
    assert live.post(path, raw=raw, headers=headers).status == 400
    assert _stored(session_factory) == []


def test_wrong_method_and_unknown_endpoint(live):
    assert live.post("/v1/track", method="GET").status == 405
    assert live.post("/v1/nothing", {"userId": "u1"}).status == 404


def test_a_full_inbox_answers_429_with_retry_after(live, session_factory):
    batch = {"batch": [{"type": "track", "userId": f"u{i}", "event": "e", "messageId": str(i)} for i in range(50)]}
    assert live.post("/v1/batch", batch).status == 200
    live.routes.pending._value = None  # the cached count is at most a second old; do not wait for it
    answer = live.track({"userId": "u1", "event": "e", "messageId": "one-more"})
    assert answer.status == 429 and int(answer.headers["Retry-After"]) > 0
    assert len(_stored(session_factory)) == 50
    live.work()  # applied (here: ignored, no applier) -> room again
    live.routes.pending._value = None
    assert live.track({"userId": "u1", "event": "e", "messageId": "one-more"}).status == 200


def test_backlog_on_healthz_and_metrics(live):
    live.track({"userId": "u1", "event": "e"})
    with_backlog = json.loads(_get(live.url + "/healthz"))
    assert with_backlog["inbox_pending"] == "1" and with_backlog["inbox_waiting"] == "0"
    metrics = _get(live.url + "/metrics")
    assert "frontline_inbox_pending 1.0" in metrics and "frontline_inbox_oldest_pending_seconds" in metrics


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


# ---- Shopify -------------------------------------------------------------------------------------

ORDER = {"id": 820982911946154508, "email": "jon@example.com", "customer": {"id": 115310627314723954},
         "updated_at": "2026-12-01T09:59:00-05:00", "line_items": []}


def test_a_signed_webhook_is_stored_once_per_event(live, session_factory):
    first = live.webhook("orders/create", ORDER, event_id="ev-1", webhook_id="wh-1",
                         triggered_at="2026-12-01T09:59:58Z")
    retry = live.webhook("orders/create", ORDER, event_id="ev-1", webhook_id="wh-2")
    assert (first.status, retry.status) == (200, 200)
    [row] = _stored(session_factory)
    assert (row.type, row.person_key, row.body["id"]) == ("orders/create", "shopify:115310627314723954", ORDER["id"])
    assert row.event_at == dt.datetime(2026, 12, 1, 9, 59, 58)


def test_a_webhook_without_event_id_is_deduplicated_on_its_delivery_id(live, session_factory):
    assert live.webhook("customers/update", {"id": 7}, webhook_id="wh-9").status == 200
    assert live.webhook("customers/update", {"id": 7}, webhook_id="wh-9").status == 200
    assert len(_stored(session_factory)) == 1


@pytest.mark.parametrize("forgery", ["bad signature", "other secret", "unknown shop", "no signature"])
def test_a_forged_webhook_is_refused(live, session_factory, forgery):
    kwargs = {"bad signature": {"signature": "AAAA"}, "other secret": {"secret": "guess"},
              "unknown shop": {"source": "other-shop"}, "no signature": {"signature": ""}}[forgery]
    assert live.webhook("orders/create", ORDER, event_id="ev-1", **kwargs).status == 401
    assert _stored(session_factory) == []


def test_a_webhook_with_a_bad_topic_is_refused(live, session_factory):
    assert live.webhook("../../etc", ORDER, event_id="ev-1").status == 400
    assert _stored(session_factory) == []


def test_refusals_log_no_body(live, session_factory):
    with production_logs() as logs:
        live.track({"userId": SECRET_TEXT, "event": "x"}, key="wrong")
        live.post("/v1/batch", {"batch": [{"type": "track", "userId": SECRET_TEXT}]})
        live.post("/v1/track", raw=SECRET_TEXT.encode())
        live.webhook("orders/create", {**ORDER, "email": SECRET_TEXT}, secret="wrong")
        live.webhook("orders/create", {**ORDER, "email": SECRET_TEXT}, signature="x" + SHOPIFY_SECRET)
    written = logs.getvalue()
    assert "refused" in written  # the refusals are logged...
    assert "Jeanne" not in written and "example.org" not in written  # ...without what was sent
