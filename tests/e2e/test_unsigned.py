"""Requests that do not prove they come from Slack cost nothing, change nothing and leak nothing.

The real WSGI app over real HTTP, with the production log setup at DEBUG: unsigned, forged, stale,
oversized and malformed requests carrying a customer's name, e-mail, phone and street (as Slack would
encode them) get a 4xx; the logs say why in one line with the size and path, and hold none of that data
in any encoding; /metrics does not grow with what strangers send. Timings are in bench/flood.py.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import re
import secrets
import socket
import time
from urllib.parse import urlparse

import pytest
from slack_bolt.request import BoltRequest

from bench.pii_scan import find_leaks
from localslack import slack_requests as sr
from bot.web import KINDS
from tests.e2e.conftest import SIGNING_SECRET
from tests.support.logs import production_logs
from tests.e2e.trust_world import build_world, row_counts
from tests.support.server import start_bot_server

NAME, EMAIL, PHONE, STREET = "Frédéric Vasseur", "frederic.vasseur@orange.example", "06 39 00 13 11", "rue des Lilas"
PERSONAL = [NAME, "Frédéric", "Vasseur", EMAIL, STREET]


def _command_body(slack, text: str) -> str:
    return sr.slash_command_body(slack.workspace, command="/customer", text=text, user_id="U0LEA", user_name="lea",
                                 channel_id="C0GENERAL", channel_name="general",
                                 response_url=slack.new_response_url(), trigger_id=slack.new_trigger_id())


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _signed_headers(body: bytes, content_type: str, *, secret: str = SIGNING_SECRET,
                    timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest}


def _get(url: str) -> str:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request("GET", parsed.path)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


@pytest.fixture
def world(session_factory, employee):
    return build_world(session_factory, employee)


@pytest.fixture
def served(settings, engine, session_factory, world):
    """The bot served with production logging at DEBUG set up first, as `frontline serve` does."""
    with production_logs() as logs:
        server = start_bot_server(settings, engine, session_factory)
        try:
            yield server, logs
        finally:
            server.stop()


REFUSALS = {
    "missing signature": lambda body: {"Content-Type": sr.FORM},
    "stale timestamp": lambda body: _signed_headers(body, sr.FORM, timestamp=int(time.time()) - 10 * 60),
    "bad signature": lambda body: _signed_headers(body, sr.FORM, secret="a-rotated-secret"),
    "malformed signature": lambda body: dict(_signed_headers(body, sr.FORM), **{"X-Slack-Signature": "v0=zz"}),
    "malformed timestamp": lambda body: dict(_signed_headers(body, sr.FORM), **{"X-Slack-Request-Timestamp": "1e9"}),
}


@pytest.mark.parametrize("reason", list(REFUSALS))
def test_a_refused_request_is_one_line_with_why_size_and_path_and_none_of_its_body(
        served, slack, session_factory, reason):
    server, logs = served
    counts, before = row_counts(session_factory), slack.mark()
    lookups = [EMAIL, PHONE, f"{NAME} 12 {STREET}", "x" * 40_000 + " " + EMAIL]
    for text in lookups:
        body = _command_body(slack, text).encode()
        status, answer = _post(server.url, body, REFUSALS[reason](body))
        assert status == 401 and json.loads(answer) == {"error": "invalid request"}
    written = logs.getvalue()
    refusals = [json.loads(line) for line in written.splitlines() if "refused a request" in line]
    # The first says why, how big and where; the next three within seconds are counted, not written.
    assert len(refusals) == 1, written
    assert refusals[0]["refused"] == reason and refusals[0]["path"] == "/slack/events"
    assert refusals[0]["size"] == len(_command_body(slack, EMAIL).encode()) or refusals[0]["size"] > 0
    assert find_leaks(written, PERSONAL, [PHONE]) == []
    assert "token=" not in written and "command" not in written
    assert slack.calls_since(before) == [] and row_counts(session_factory) == counts


def test_signature_headers_of_any_shape_are_refused_not_crashed_on(bot_server, slack):
    body = _command_body(slack, EMAIL).encode()
    good = _signed_headers(body, sr.FORM)
    for signature in ("v0=" + "é" * 64, "v0=" + "G" * 64, "v0=" + good["X-Slack-Signature"][3:].upper(), "v1=" + "0" * 64,
                      "v0=", "v0=" + "0" * 6400):
        headers = dict(good, **{"X-Slack-Signature": signature})
        assert _post(bot_server.url, body, {k: v.encode("latin-1") for k, v in headers.items()})[0] == 401
    for timestamp in ("-1", "١٢٣٤", "9" * 40, " 1"):
        headers = dict(good, **{"X-Slack-Request-Timestamp": timestamp})
        assert _post(bot_server.url, body, {k: v.encode() for k, v in headers.items()})[0] == 401
    assert _post(bot_server.url, body, good)[0] == 200  # the same body, signed, goes through


def test_an_oversized_request_is_refused_before_its_body_is_read(bot_server, slack):
    parsed = urlparse(bot_server.url)
    for headers in ({}, _signed_headers(b"", sr.FORM)):  # unsigned, or signed for what it claims
        with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as sock:
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            # Headers announce 50 MB and no byte of body follows: an answer proves nothing waited for it.
            sock.sendall(f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n{head}\r\n".encode())
            answer = sock.recv(4096).decode()
        assert answer.startswith(("HTTP/1.0 413", "HTTP/1.1 413")), answer


MALFORMED = [
    (b"[" * 1000, sr.JSON),
    (b'{"a":' * 1000, sr.JSON),
    (("payload=" + "%5B" * 1000).encode(), sr.FORM),
    (b"text=\xff\xfe\xc3(", sr.FORM),  # not UTF-8
    ("text=Fr%C3%A9d%C3%A9ric".encode("utf-16"), sr.FORM),
    (b"\x00" * 2000, sr.JSON),
]


@pytest.mark.parametrize(("body", "content_type"), MALFORMED, ids=["brackets", "objects", "payload", "latin",
                                                                    "utf16", "nul"])
def test_malformed_bodies_get_a_4xx_and_no_traceback_signed_or_not(served, slack, session_factory,
                                                                    body, content_type):
    server, logs = served
    counts, before = row_counts(session_factory), slack.mark()
    assert _post(server.url, body, {"Content-Type": content_type})[0] == 401
    status, _ = _post(server.url, body, _signed_headers(body, content_type))
    server.settle()
    assert status < 500
    assert "Traceback" not in logs.getvalue() and "RecursionError" not in logs.getvalue()
    assert slack.calls_since(before) == [] and row_counts(session_factory) == counts


def _kinds_in(metrics: str) -> set[str]:
    return set(re.findall(r'frontline_slack_(?:requests_total|ack_seconds_count)\{kind="([^"]*)"', metrics))


def test_metrics_do_not_grow_with_event_types_strangers_or_slack_make_up(bot_server, slack, world):
    invented = [f"evt{secrets.token_hex(6)}" for _ in range(200)]
    _get(bot_server.url + "/metrics")
    for i, event_type in enumerate(invented):
        body = json.dumps(sr.event_envelope(slack.workspace, {"type": event_type, "user": "U0LEA"})).encode()
        # Unsigned, and every tenth one signed: a label comes from a closed set either way.
        headers = _signed_headers(body, sr.JSON) if i % 10 == 0 else {"Content-Type": sr.JSON}
        assert _post(bot_server.url, body, headers)[0] in (200, 401)
    bot_server.settle()
    metrics = _get(bot_server.url + "/metrics")
    assert not any(event_type in metrics for event_type in invented)
    assert _kinds_in(metrics) <= KINDS and "event:other" in _kinds_in(metrics)
    assert 'frontline_slack_refused_total{reason="missing signature"}' in metrics


def test_bolts_own_signature_check_logs_no_body_through_any_handler(served, slack, caplog):
    """Behind bot.web's check, bolt checks again; its refusal must not quote the body even to a handler
    (pytest's here) that is not the production one."""
    body = _command_body(slack, f"{NAME} {EMAIL}")
    request = BoltRequest(body=body, headers={"content-type": sr.FORM, "x-slack-request-timestamp": str(int(time.time())),
                                              "x-slack-signature": "v0=" + "0" * 64})
    with caplog.at_level(logging.DEBUG):
        assert served[0].app.dispatch(request).status == 401
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "bad signature" in logged
    assert find_leaks(logged, PERSONAL) == [] and "token=" not in logged
