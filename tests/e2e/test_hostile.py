"""Hostile input through the real HTTP server, built by hypothesis.

Realistic Slack requests (slash commands, button clicks, modal submissions, events, shortcuts, options
requests) are mutated at random: fields deleted or replaced by other types, ids far beyond any column,
private_metadata and bodies nested thousands deep, huge and odd strings, customer e-mails, phones and
names in every field, other content types and encodings. Then every request, signed or not:

- gets an answer below 500 (Slack shows a 5xx as an error and retries it);
- leaves no traceback in the logs (nothing crashed; a malformed payload is logged as one short line);
- leaves no customer's e-mail, phone, name or street in any log line, plain or URL-encoded;
- changes no row. The only rows a request may add are the Events API de-duplication claim and a "view"
  audit row when a registered employee's lookup finds a customer: reading a card is audited, and the
  conversation's memory of who is being discussed (store/conversations.py).

The world (one server, one database) lives for a whole test; each example is checked on its own.
"""
from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import re
import time
from typing import Any
from collections.abc import Iterator
from urllib.parse import quote, quote_plus, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from localslack import slack_requests as sr
from localslack.slack_driver import HttpTransport, SlackDriver
from handlers.payloads import MAX_ROW_ID, parse_id
from store.models import AuditEvent, Base, Customer, CustomerIdentifier
from store.normalize import fold
from tests.e2e.conftest import SIGNING_SECRET
from tests.e2e.trust_world import JEANNE_EMAIL, JEANNE_PHONE, build_world
from tests.support.server import start_bot_server
from tests.support.logs import production_logs

# A customer whose details need escaping in every encoding: accents, an apostrophe-free street, a
# French mobile. Jeanne Dupont (trust_world) is the other.
FRED_FIRST, FRED_LAST = "Frédéric", "Légaré"
FRED_EMAIL = "frederic.legare@orange.example"
FRED_PHONE = "+33639001311"
FRED_STREET = "7 allée des Peupliers"

# What may appear in a request (an employee typing it) and must never appear in a log line.
SECRETS = [JEANNE_EMAIL, JEANNE_PHONE, "06 11 22 33 44", "0611223344", "Jeanne Dupont", "12 rue de Rivoli",
           FRED_EMAIL, FRED_PHONE, "06 39 00 13 11", f"{FRED_FIRST} {FRED_LAST}", FRED_STREET]
# What is searched for in the logs: distinctive pieces of the above, in every encoding a log could hold.
_PIECES = ["jeanne.dupont", "611223344", "11 22 33 44", "Jeanne", "Dupont", "rue de Rivoli", "frederic.legare",
           "639001311", "39 00 13 11", FRED_FIRST, FRED_LAST, "Peupliers"]
LOG_NEEDLES = sorted({form.lower() for piece in _PIECES
                      for form in (piece, quote(piece), quote_plus(piece), json.dumps(piece)[1:-1])})
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")

USERS = ["U0LEA", "U0NINA", "U0ADA", "U0GONE", "U0NOBODY"]  # associate, manager, admin, deactivated, stranger
HUGE_IDS = [0, -1, 2**63, 2**63 - 1, 10**23, -(10**23), "9" * 40, "9" * 5000, "1e23", "0x10", "١٢", " 1", "1:99999999",
            "1:-1", "99999999999999999999999:1"]
ACTION_IDS = ["customer.open", "profile.reveal_contact", "profile.more_orders", "profile.more_interactions",
              "profile.log_interaction", "profile.add_follow_up", "profile.share", "followups.done",
              "followups.snooze", "home.search", "home.log_interaction", "no.such.action"]
COMMANDS = ["/customer", "/kpi", "/followups", "/log", "/digest", "/nope"]
# /digest words that change settings or send now are left out: from a registered employee they are writes.
DIGEST_TEXTS = ["", "see", "help", "voir", "time", "days", "x time 25:00", "x days mon-fri"]


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40), st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(SECRETS), st.sampled_from(HUGE_IDS),
    st.sampled_from(["", " ", "\x00", "\u202e", "<!channel>", "%", "'; DROP TABLE customers; --", "x" * 40_000]),
    st.integers(1, 3000).map(_deep),  # JSON text nested deep, e.g. as private_metadata
)
JUNK = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=10)
# Where a request names a customer: anything but the id of one that exists (an existing one would make a
# well-formed request a legitimate write). The log form also lacks its outcome, a second thing to break.
NOT_AN_ID = (st.sampled_from(HUGE_IDS) | JUNK).filter(lambda value: (parse_id(value) or MAX_ROW_ID) > 10_000)


# ---- the world and what is checked after each request -------------------------------------------------




def checksum(engine) -> str:
    """Every row of every table, except what a harmless request legitimately adds (see module docstring)."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in ("processed_events", "conversation_threads", "conversation_candidates"):
                continue
            query = select(table).order_by(*table.primary_key.columns)
            if table.name == AuditEvent.__tablename__:
                query = query.where(table.c.action != "view")
            for row in connection.execute(query):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def add_fred(session_factory) -> None:
    with session_factory.begin() as session:
        fred = Customer(first_name=FRED_FIRST, last_name=FRED_LAST, search_name=fold(f"{FRED_FIRST} {FRED_LAST}"),
                        email=FRED_EMAIL, phone=FRED_PHONE, street=FRED_STREET, postcode="69003", city="Lyon",
                        country="FR")
        session.add(fred)
        session.flush()
        session.add_all([CustomerIdentifier(customer_id=fred.id, kind="email", value=FRED_EMAIL),
                         CustomerIdentifier(customer_id=fred.id, kind="phone", value=FRED_PHONE)])


class Harness:
    """One served bot, its log buffer and the database checksum; `check` runs after every example."""

    def __init__(self, server, driver: SlackDriver, logs: io.StringIO, engine) -> None:
        self.server, self.driver, self.logs, self.engine = server, driver, logs, engine
        self.baseline = checksum(engine)

    def send(self, body: str, content_type: str | None, *, signed: str) -> int:
        headers = {"Content-Type": content_type} if content_type else {}
        if signed == "good":
            headers = dict(sr.sign(body, content_type or "", SIGNING_SECRET).headers)
        elif signed == "stale":  # a server clock 10 minutes off, or a replay
            headers = dict(sr.sign(body, content_type or "", SIGNING_SECRET, timestamp=_stale()).headers)
        elif signed == "wrong":  # a rotated or guessed secret
            headers = dict(sr.sign(body, content_type or "", "not-the-secret").headers)
        reply = self.driver.transport.send(body, headers)
        # Generous: until the unsigned path stops logging bodies, the log masker can hold the GIL for
        # seconds on a 40,000-character one (see docs/trust.md); speed is the benchmarks' business.
        self.server.settle(timeout=60)
        return reply.status

    def check(self, status: int, label: str, *, pii: bool = True) -> None:
        written = self.logs.getvalue()
        self.logs.seek(0)
        self.logs.truncate()
        assert status < 500, (status, label)
        crashed = [line for line in written.splitlines() if TRACEBACK.search(line)]
        assert crashed == [], (label, crashed[:2])
        if pii:
            lowered = written.lower()
            leaks = [needle for needle in LOG_NEEDLES if needle in lowered]
            assert leaks == [], (label, leaks, [line for line in written.splitlines()
                                                if any(n in line.lower() for n in leaks)][:2])
        assert checksum(self.engine) == self.baseline, label


def _stale() -> int:
    return int(time.time()) - 600


@pytest.fixture
def hostile(settings, engine, session_factory, slack, employee):
    build_world(session_factory, employee)
    add_fred(session_factory)
    with production_logs() as logs:
        # A share channel allowed, so that share submissions get as far as their private_metadata.
        server = start_bot_server(settings.with_overrides(share_channels=frozenset({"C0SHARE"})), engine,
                                  session_factory)
        try:
            yield Harness(server, SlackDriver(HttpTransport(server.url), slack, SIGNING_SECRET), logs, engine)
        finally:
            server.stop()


# ---- realistic requests to start from -----------------------------------------------------------------


def _button_message(action_id: str, value: Any) -> dict[str, Any]:
    return {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": "x"}}]}]}


def _log_view(value: Any) -> dict[str, Any]:
    return {"id": "V0LOG", "type": "modal", "callback_id": "interactions.log_modal", "private_metadata": "{}",
            "blocks": [{"type": "input", "block_id": "customer_id", "element": {"type": "external_select",
                                                                                 "action_id": "interactions.customer"}},
                       {"type": "input", "block_id": "note", "element": {"type": "plain_text_input",
                                                                          "action_id": "note.input"}}],
            "state": {"values": {
                "customer_id": {"interactions.customer": {"type": "external_select",
                                                          "selected_option": {"value": value}}},
                "type": {"type.input": {"type": "static_select", "selected_option": {"value": "advice"}}},
                "channel": {"channel.input": {"type": "static_select", "selected_option": {"value": "store"}}},
                "note": {"note.input": {"type": "plain_text_input", "value": JEANNE_EMAIL}}}}}


def _share_view(metadata: Any) -> dict[str, Any]:
    return {"id": "V0SHARE", "type": "modal", "callback_id": "sharing.modal", "private_metadata": metadata,
            "blocks": [{"type": "input", "block_id": "sharing.channel", "element": {
                "type": "conversations_select", "action_id": "sharing.channel_select"}}],
            "state": {"values": {"sharing.channel": {"sharing.channel_select": {
                "type": "conversations_select", "selected_conversation": "C0SHARE"}}}}}


@st.composite
def interactive_payloads(draw, slack) -> dict[str, Any]:
    ws, response_url, trigger_id = slack.workspace, slack.new_response_url(), slack.new_trigger_id()
    user = draw(st.sampled_from(USERS))
    kind = draw(st.sampled_from(["block_actions", "view_submission", "view_closed", "shortcut", "message_action",
                                 "block_suggestion"]))
    junk_id = draw(NOT_AN_ID)
    if kind == "block_actions":
        action_id = draw(st.sampled_from(ACTION_IDS))
        value = junk_id if action_id != "followups.snooze" else f"{draw(st.sampled_from(HUGE_IDS))}:1"
        return sr.block_actions_payload(ws, user_id=user, action={"action_id": action_id, "block_id": "b",
                                                                  "type": "button", "value": value},
                                        trigger_id=trigger_id, response_url=response_url,
                                        channel_id="C0GENERAL", message=_button_message(action_id, value))
    if kind in ("view_submission", "view_closed"):
        view = draw(st.sampled_from([_log_view(junk_id), _share_view(draw(st.sampled_from([
            json.dumps({"customer_id": junk_id}) if not isinstance(junk_id, str) else junk_id,
            '{"customer_id": ' + _deep(100_000) + "}", _deep(100_000), '{"customer_id": 1e400}']))),
            _share_view('{"customer_id": 100000000000000000000000}')]))
        if kind == "view_closed":
            return sr.view_closed_payload(ws, user_id=user, view=view)
        return sr.view_submission_payload(ws, user_id=user, view=view, state_values=view["state"]["values"],
                                          trigger_id=trigger_id)
    if kind == "shortcut":
        return sr.global_shortcut_payload(ws, callback_id=draw(st.sampled_from(["find_customer", "nope"])),
                                          user_id=user, trigger_id=trigger_id)
    if kind == "message_action":
        return sr.message_shortcut_payload(ws, callback_id="log_message_as_interaction", user_id=user,
                                           channel_id="C0GENERAL", message={"ts": "1.1", "text": draw(SCALARS)},
                                           trigger_id=trigger_id, response_url=response_url)
    return sr.block_suggestion_payload(ws, user_id=user, action_id="interactions.customer", block_id="customer_id",
                                       value=draw(st.sampled_from(SECRETS) | st.text(max_size=60)),
                                       view=_log_view(None))


@st.composite
def event_payloads(draw, ws: sr.Workspace) -> dict[str, Any]:
    user = draw(st.sampled_from(USERS))
    typed = draw(st.sampled_from(SECRETS) | st.text(max_size=80))
    event = draw(st.sampled_from([
        sr.im_message_event(user_id=user, text=typed, channel_id="D0LEA"),
        sr.app_mention_event(user_id=user, text=typed, channel_id="C0GENERAL", bot_user_id=ws.bot_user_id),
        sr.app_home_opened_event(user_id=user, channel_id="D0LEA"),
        {"type": draw(st.text(max_size=20)), "user": user},
    ]))
    return sr.event_envelope(ws, event)


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into a payload (dict keys, list indexes), the payload itself first."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@st.composite
def mutated(draw, payloads: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any] | list | str:
    """A realistic payload with 0 to 3 fields deleted, replaced by junk, or wrapped in lists."""
    payload: Any = copy.deepcopy(draw(payloads))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(list(_paths(payload))))
        replacement = draw(JUNK)
        if not path:
            return replacement
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        operation = draw(st.sampled_from(["replace", "delete", "wrap"]))
        if operation == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = [parent[path[-1]]] if operation == "wrap" else replacement
    return payload


def _encode(draw, payload: Any, *, form_field: str | None) -> tuple[str, str | None]:
    """The payload as Slack would encode it, or in another way a broken client might."""
    try:
        document = json.dumps(payload, separators=(",", ":"))
    except ValueError:  # a float NaN or infinity drawn into a place json refuses
        document = "{}"
    how = draw(st.sampled_from(["slack", "json", "text", "none", "latin-1"]))
    if how == "slack":
        return (sr.payload_form(payload) if form_field else document), (sr.FORM if form_field else sr.JSON)
    if how == "json":
        return document, sr.JSON
    if how == "latin-1":
        return document.encode("utf-8").decode("latin-1"), sr.FORM + "; charset=latin-1"
    return document, "text/plain" if how == "text" else None


SIGNED = st.sampled_from(["good", "good", "good", "stale", "wrong", "none"])
HOSTILE = settings(max_examples=120, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                          HealthCheck.data_too_large])
SMALL = settings(HOSTILE, max_examples=30)


def _budget(db_url: str):
    return HOSTILE if db_url.startswith("sqlite") else SMALL


def _run_interactive(hostile: Harness, data, signed: str) -> None:
    payload = data.draw(mutated(interactive_payloads(hostile.driver.slack)))
    body, content_type = _encode(data.draw, payload, form_field="payload")
    hostile.check(hostile.send(body, content_type, signed=signed), f"{signed} {body[:300]}",
                  pii=signed in ("good",))


def _run_event(hostile: Harness, data, signed: str) -> None:
    payload = data.draw(mutated(event_payloads(hostile.driver.workspace)))
    body, content_type = _encode(data.draw, payload, form_field=None)
    hostile.check(hostile.send(body, content_type, signed=signed), f"{signed} {body[:300]}",
                  pii=signed in ("good",))


def _run_command(hostile: Harness, data, signed: str) -> None:
    command = data.draw(st.sampled_from(COMMANDS))
    text = data.draw(st.sampled_from(DIGEST_TEXTS) if command == "/digest" else
                     st.sampled_from(SECRETS) | st.text(max_size=200) | st.sampled_from(["x" * 40_000, "9" * 5000]))
    fields = {"token": "t", "team_id": "T0TEAM", "team_domain": "x", "channel_id": "C0GENERAL", "channel_name": "g",
              "user_id": data.draw(st.sampled_from(USERS) | st.text(max_size=20)), "user_name": "u",
              "command": command, "text": text, "api_app_id": "A0APP", "is_enterprise_install": "false",
              "response_url": hostile.driver.slack.new_response_url(),
              "trigger_id": hostile.driver.slack.new_trigger_id()}
    for key in data.draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        del fields[key]  # a field missing
    extra = data.draw(st.dictionaries(st.sampled_from(["payload", "type", "user", "actions", "view", "event", "x"]),
                                      JUNK.map(json.dumps), max_size=2))
    as_json = data.draw(st.booleans())
    body = json.dumps({**fields, **extra}) if as_json else urlencode({**fields, **extra})
    hostile.check(hostile.send(body, sr.JSON if as_json else sr.FORM, signed=signed), f"{signed} {body[:300]}",
                  pii=signed in ("good",))


def _run_raw(hostile: Harness, data, signed: str) -> None:
    """Bodies that are not Slack's at all: random bytes, deep nesting, broken JSON and forms."""
    body = data.draw(st.one_of(
        st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="surrogateescape").encode(
            "utf-8", errors="replace").decode("utf-8", errors="replace")),
        st.integers(1, 100_000).map(lambda n: "[" * n),
        st.integers(1, 100_000).map(lambda n: "payload=" + "%5B" * n),
        st.integers(1, 5_000).map(lambda n: '{"type":"block_actions","actions":' + _deep(n) + "}"),
        st.sampled_from(["{", "[]", "null", "1e999", '"x"', "payload=", "payload=%7B", "&&&==", "payload=null",
                         '{"type": {"a": 1}, "user": "U0LEA"}', '{"type": "event_callback", "event": []}'])))
    content_type = data.draw(st.sampled_from([sr.FORM, sr.JSON, "text/plain", None]))
    hostile.check(hostile.send(body, content_type, signed=signed), f"{signed} {body[:300]}",
                  pii=signed in ("good",))


# ---- the tests ----------------------------------------------------------------------------------------
# Unsigned and badly signed requests are checked for everything but PII in the logs here; that last
# check for them is test_refused_requests_log_no_pii below.


@pytest.mark.parametrize("runner", [_run_interactive, _run_event, _run_command, _run_raw],
                         ids=["interactive", "event", "command", "raw"])
def test_hostile_requests_never_crash_leak_or_write(hostile, db_url, runner):
    @_budget(db_url)
    @given(data=st.data(), signed=SIGNED)
    def run(data, signed):
        runner(hostile, data, signed)

    run()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_refused_requests_log_no_pii(hostile):
    """Unsigned, stale or badly signed requests carrying customer data: refused, and the data is in no
    log line (bolt's own refusal message would carry the whole body)."""
    for signed in ("none", "stale", "wrong"):
        for secret in SECRETS:
            body = sr.slash_command_body(hostile.driver.workspace, command="/customer", text=secret, user_id="U0LEA",
                                         response_url="http://127.0.0.1:9/r", trigger_id="T0TRIGGER")
            status = hostile.send(body, sr.FORM, signed=signed)
            assert status in (400, 401), (signed, status)
            hostile.check(status, f"{signed} /customer {secret}")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_checks_can_fail(hostile):
    """The harness notices what it is there to notice: a logged e-mail, a traceback, a written row."""
    # A street has no pattern the log masker could catch: only the harness stands between it and the log.
    logging.getLogger("test").info("typed %s", quote_plus(FRED_STREET))
    with pytest.raises(AssertionError):
        hostile.check(200, "leak")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("test").exception("crash")
    with pytest.raises(AssertionError):
        hostile.check(200, "traceback")
    with hostile.engine.begin() as connection:
        connection.execute(text("UPDATE customers SET city = 'Nantes' WHERE city = 'Lyon'"))
    with pytest.raises(AssertionError):
        hostile.check(200, "write")
