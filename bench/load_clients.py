"""Simulated employees for the HTTP load benchmark: each one is a thread doing what a person does in Slack,
one thing at a time, through signed requests shaped as Slack sends them (localslack/slack_requests.py).

Flows: `/customer <email|phone|loyalty card|order number|name with a typo|surname>`; logging an interaction from the
card's button, from `/log <loyalty card>`, or from a blank `/log` with the type-ahead customer select.
A log submission is sometimes resent after its ack (a Slack retry) or sent twice at once (a double click).
"""
from __future__ import annotations

import datetime as dt
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bench.load_slack import Arrival, BenchSlack, answer_in_ack, response_path
from bench.lookup import mistyped
from localslack import slack_requests as sr
from localslack.slack_driver import HttpTransport, find_element, surface_of, view_state
from handlers.i18n import t

ACK_LIMIT_MS = 3000  # Slack's deadline for the HTTP answer
REPLY_TIMEOUT = 10.0  # seconds to wait for a reply before counting the step as failed
TYPES = ("visit", "call", "advice", "purchase", "return", "complaint", "other")
OUTCOMES = ("resolved", "info", "follow_up", "escalated")

# Flow weights. "mixed" is issue 5's load (about a third of the flows log an interaction);
# "lookup" is issue 3's `/customer` bar.
MIXES: dict[str, dict[str, int]] = {
    "mixed": {"lookup:email": 10, "lookup:phone": 8, "lookup:loyalty": 6, "lookup:name": 24, "lookup:surname": 10,
              "log:card": 14, "log:command": 14, "log:typeahead": 8},
    # What an associate types at a till or on the phone: mostly a name (often mistyped), else what the
    # customer hands over (e-mail, phone, card, an order number from a receipt).
    "lookup": {"lookup:email": 15, "lookup:phone": 15, "lookup:loyalty": 10, "lookup:order": 10, "lookup:name": 35,
               "lookup:surname": 15},
}
EXACT_KINDS = ("email", "phone", "loyalty", "order")


@dataclass(frozen=True)
class Target:
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    loyalty_id: str
    order_number: str | None = None  # one of the customer's orders, if any


@dataclass(frozen=True)
class Sample:
    step: str
    ack_ms: float | None  # HTTP response to the signed request
    done_ms: float | None  # what the employee waits for: reply, modal, options, confirmation DM
    error: str | None


@dataclass
class Submission:
    note: str
    follow_up: bool
    copies: int  # 2 when resent as a Slack retry or double-clicked
    outcome: str  # "accepted": one row expected; "refused" (errors shown in time): none; "unknown": 0 or 1


@dataclass
class Ledger:
    """Everything the employees did, shared by their threads."""

    samples: list[Sample] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        if sample.error is None and sample.ack_ms is not None and sample.ack_ms > ACK_LIMIT_MS:
            # Slack gives up after 3 s and shows the employee an error, whatever the bot answers later.
            sample = Sample(sample.step, sample.ack_ms, sample.done_ms, "no ack within 3 s")
        with self.lock:
            self.samples.append(sample)

    def count_request(self) -> None:
        with self.lock:
            self.requests += 1


def _error_prefixes() -> tuple[str, ...]:
    keys = ("common.error_generic", "common.db_unavailable", "common.unknown_action")
    return tuple(t(key, locale, ref="\x00").split("\x00")[0][:40] for key in keys for locale in ("en", "fr"))


ERROR_PREFIXES = _error_prefixes()


def national(e164: str) -> str:
    digits = "0" + e164[3:]
    return " ".join(digits[i:i + 2] for i in range(0, 10, 2))


class SimulatedEmployee(threading.Thread):
    def __init__(self, user_id: str, *, slack: BenchSlack, server_url: str, signing_secret: str,
                 targets: list[Target], mix: str, deadline: float, ledger: Ledger, run_id: str, seed: int,
                 think: float = 0.0, retry_rate: float = 0.1, double_rate: float = 0.05,
                 follow_up_rate: float = 0.2) -> None:
        self._acked = 0.0  # perf_counter when the last slash command's HTTP response was read
        super().__init__(name=f"employee-{user_id}", daemon=True)
        self.user_id, self.slack, self.secret = user_id, slack, signing_secret
        self.transport = HttpTransport(server_url)
        self.targets, self.deadline, self.ledger, self.run_id = targets, deadline, ledger, run_id
        self.order_targets = [target for target in targets if target.order_number] or targets
        self.rng = random.Random(seed)
        flows = MIXES[mix]
        self.flows, self.weights = list(flows), list(flows.values())
        self.think, self.retry_rate, self.double_rate = think, retry_rate, double_rate
        self.follow_up_rate = follow_up_rate
        self.workspace = slack.workspace
        self.submitted = 0

    # ---- plumbing -----------------------------------------------------------------------------
    def run(self) -> None:
        while time.perf_counter() < self.deadline:
            flow = self.rng.choices(self.flows, self.weights)[0]
            try:
                self.do(flow)
            except Exception as error:  # a bug in the bench must show up as an error, not kill the thread
                self.ledger.add(Sample(flow, None, None, f"client crashed: {type(error).__name__}: {error}"))
            if self.think > 0:
                pause = min(self.rng.expovariate(1 / self.think), max(0.0, self.deadline - time.perf_counter()))
                time.sleep(pause)

    def do(self, flow: str) -> None:
        group, kind = flow.split(":")
        if group == "lookup":
            self.lookup(kind)
        else:
            getattr(self, "log_via_" + kind)()

    def send(self, body: str, content_type: str = sr.FORM, *, retry: int = 0):
        headers = sr.sign(body, content_type, self.secret).headers
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        self.ledger.count_request()
        return self.transport.send(body, headers)

    def fail(self, step: str, ack: float | None, error: str) -> None:
        self.ledger.add(Sample(step, ack, None, error))

    def _command(self, command: str, text: str, expect_key: str | None = None):
        """(reply, ack_ms, started, expectation) for a slash command; the expectation is on its response_url
        unless `expect_key` names another one ('trigger' for a modal)."""
        url, trigger = self.slack.new_response_url(), self.slack.new_trigger_id()
        key = "trigger:" + trigger if expect_key == "trigger" else response_path(url)
        expectation = self.slack.expect(key)
        body = sr.slash_command_body(self.workspace, command=command, text=text, user_id=self.user_id,
                                     user_name=self.user_id.lower(), channel_id="C0LOADTEST", channel_name="floor",
                                     response_url=url, trigger_id=trigger)
        started = time.perf_counter()
        reply = self.send(body)
        self._acked = time.perf_counter()
        return reply, (self._acked - started) * 1000, started, expectation, key

    def _arrival(self, step: str, expectation, key: str, ack: float, reply: Any = None) -> Arrival | None:
        in_ack = answer_in_ack(reply, self._acked) if reply is not None else None
        if in_ack is not None:  # answered in the ack: nothing more comes to the response_url
            self.slack.forget(key)
            return in_ack
        arrivals = expectation.wait(REPLY_TIMEOUT)
        if not arrivals:
            self.slack.forget(key)
            self.fail(step, ack, f"nothing arrived within {REPLY_TIMEOUT:.0f}s")
            return None
        return arrivals[0]

    # ---- lookups ------------------------------------------------------------------------------
    def query(self, kind: str, target: Target) -> str:
        if kind == "email":
            return target.email.upper() if self.rng.random() < 0.3 else target.email
        if kind == "phone":
            return national(target.phone)
        if kind == "loyalty":
            return target.loyalty_id.lower()
        if kind == "order":
            return target.order_number or ""
        if kind == "name":
            return mistyped(self.rng, target.first_name, target.last_name)
        return target.last_name

    def lookup(self, kind: str) -> Arrival | None:
        step = "lookup:" + kind
        target = self.rng.choice(self.order_targets if kind == "order" else self.targets)
        reply, ack, started, expectation, key = self._command("/customer", self.query(kind, target))
        if reply.status != 200:
            self.slack.forget(key)
            self.fail(step, ack, f"HTTP {reply.status}")
            return None
        arrival = self._arrival(step, expectation, key, ack, reply)
        if arrival is None:
            return None
        done = (arrival.at - started) * 1000
        error = self.check_message(arrival)
        if error is None and kind in EXACT_KINDS:
            found = find_element(arrival.call.args.get("blocks") or [], "profile.log_interaction")
            if found is None or found[1].get("value") != str(target.id):
                error = "exact lookup did not open the right card"
        self.ledger.add(Sample(step, ack, done, error))
        return arrival if error is None else None

    @staticmethod
    def check_message(arrival: Arrival) -> str | None:
        if arrival.problems:
            return "invalid Block Kit: " + arrival.problems[0][:120]
        text = str(arrival.call.args.get("text") or "")
        if text.startswith(ERROR_PREFIXES):
            return "error reply: " + text[:80]
        return None

    # ---- logging an interaction ---------------------------------------------------------------
    def log_via_card(self) -> None:
        card = self.lookup("email")
        if card is None:
            return
        surface = surface_of(card.call)
        block_id, element = find_element(surface["message"].get("blocks") or [], "profile.log_interaction")
        trigger = self.slack.new_trigger_id()
        expectation = self.slack.expect("trigger:" + trigger)
        action = {"action_id": element["action_id"], "block_id": block_id, "type": "button",
                  "text": element.get("text"), "value": element.get("value")}
        payload = sr.block_actions_payload(
            self.workspace, user_id=self.user_id, user_name=self.user_id.lower(), action=action, trigger_id=trigger,
            response_url=self.slack.new_response_url(), channel_id=surface["channel_id"],
            message=surface["message"], is_ephemeral=True)
        started = time.perf_counter()
        reply = self.send(sr.payload_form(payload))
        self._opened("open:card button", reply, started, expectation, "trigger:" + trigger)

    def log_via_command(self) -> None:
        target = self.rng.choice(self.targets)
        reply, _ack, started, expectation, key = self._command("/log", target.loyalty_id, expect_key="trigger")
        self._opened("open:/log <card>", reply, started, expectation, key)

    def log_via_typeahead(self) -> None:
        target = self.rng.choice(self.targets)
        reply, ack, started, expectation, key = self._command("/log", "", expect_key="trigger")
        view = self._modal("open:/log", reply, started, expectation, key)
        if view is None:
            return
        found = find_element(view.get("blocks") or [], "interactions.customer")
        payload = sr.block_suggestion_payload(
            self.workspace, user_id=self.user_id, user_name=self.user_id.lower(), action_id="interactions.customer",
            block_id=found[0] if found else "", value=f"{target.first_name} {target.last_name}", view=view)
        started = time.perf_counter()
        reply = self.send(sr.payload_form(payload))
        ack = (time.perf_counter() - started) * 1000
        options = (reply.json or {}).get("options") if reply.status == 200 else None
        if not options:
            self.fail("suggest customers", ack, f"HTTP {reply.status}" if reply.status != 200 else "no options")
            return
        self.ledger.add(Sample("suggest customers", ack, ack, None))
        chosen = next((o for o in options if o.get("value") == str(target.id)), options[0])
        self.submit(view, {"interactions.customer": chosen})

    def _modal(self, step: str, reply, started: float, expectation, key: str) -> dict[str, Any] | None:
        ack = (time.perf_counter() - started) * 1000 if reply.elapsed is None else reply.elapsed * 1000
        if reply.status != 200:
            self.slack.forget(key)
            self.fail(step, ack, f"HTTP {reply.status}")
            return None
        arrival = self._arrival(step, expectation, key, ack)
        if arrival is None:
            return None
        if arrival.problems or not arrival.call.ok:
            self.fail(step, ack, "views.open failed: " + (arrival.problems[0][:100] if arrival.problems
                                                          else str(arrival.call.response.get("error"))))
            return None
        self.ledger.add(Sample(step, ack, (arrival.at - started) * 1000, None))
        return arrival.call.response["view"]

    def _opened(self, step: str, reply, started: float, expectation, key: str) -> None:
        view = self._modal(step, reply, started, expectation, key)
        if view is not None:
            self.submit(view, {})

    def submit(self, view: dict[str, Any], values: dict[str, Any]) -> None:
        self.submitted += 1
        note = f"load {self.run_id} {self.user_id} {self.submitted}"
        values = dict(values, **{"type.input": self.rng.choice(TYPES), "outcome.input": self.rng.choice(OUTCOMES),
                                 "note.input": note})
        follow_up = self.rng.random() < self.follow_up_rate
        if follow_up:
            values["follow_up_due.input"] = (dt.date.today() + dt.timedelta(days=3)).isoformat()
            values["follow_up_note.input"] = note
        payload = sr.view_submission_payload(self.workspace, user_id=self.user_id, user_name=self.user_id.lower(),
                                             view=view, state_values=view_state(view, values),
                                             trigger_id=self.slack.new_trigger_id())
        body = sr.payload_form(payload)
        roll = self.rng.random()
        double = roll < self.double_rate
        retry = not double and roll < self.double_rate + self.retry_rate
        copies = 2 if (double or retry) else 1
        expectation = self.slack.expect("dm:" + self.user_id, copies)
        twin: dict[str, Any] = {}
        if double:  # a double click: the same submission twice, at the same moment
            sender = threading.Thread(target=lambda: twin.update(reply=self.send(body)), daemon=True)
            sender.start()
        started = time.perf_counter()
        reply = self.send(body)
        ack = (time.perf_counter() - started) * 1000
        error = self._submission_error(reply)
        twin_error = None
        if double:
            sender.join(REPLY_TIMEOUT * 3)
            twin_error = self._submission_error(twin["reply"]) if "reply" in twin else "no answer"
            self.ledger.add(Sample("submit (double click twin)", twin["reply"].elapsed * 1000 if "reply" in twin
                                   else None, None, twin_error))
        if retry and error is None:
            resent = time.perf_counter()
            again = self.send(body, retry=1)
            self.ledger.add(Sample("submit (Slack retry)", (time.perf_counter() - resent) * 1000, None,
                                   self._submission_error(again)))
        outcomes = {self._outcome(reply, error)}
        if double:
            outcomes.add(self._outcome(twin.get("reply"), twin_error))
        outcome = "accepted" if "accepted" in outcomes else "refused" if outcomes == {"refused"} else "unknown"
        with self.ledger.lock:
            self.ledger.submissions.append(Submission(note, follow_up, copies, outcome))
        if error is not None:
            self.slack.forget("dm:" + self.user_id)
            self.fail("submit", ack, error)
            return
        arrivals = expectation.wait(REPLY_TIMEOUT)
        if len(arrivals) < copies:
            self.slack.forget("dm:" + self.user_id)
        if not arrivals:
            self.fail("submit", ack, "no confirmation DM")
            return
        problem = self.check_message(arrivals[0])
        self.ledger.add(Sample("submit", ack, (arrivals[0].at - started) * 1000, problem))

    @staticmethod
    def _outcome(reply, error: str | None) -> str:
        if reply is None or reply.status != 200 or reply.elapsed * 1000 > ACK_LIMIT_MS:
            return "unknown"  # Slack showed a timeout: the row may or may not have been written
        return "accepted" if error is None else "refused"

    @staticmethod
    def _submission_error(reply) -> str | None:
        if reply.status != 200:
            return f"HTTP {reply.status}"
        if reply.body:
            return "modal answered with errors: " + reply.body[:160]
        return None
