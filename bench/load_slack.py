"""The Slack stand-in as the load benchmark needs it: the product's LocalSlack (same answers, same Block Kit
validation), plus arrival times correlated with the request that caused them, and no call log kept in
memory (a 2-minute run makes tens of thousands of calls).

Correlation keys: a slash command's or click's unique response_url; a views.open/push by the trigger_id the
request carried; a DM by the employee's user id (each simulated employee does one thing at a time).
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from handlers.i18n import t
from localslack.block_checks import check_message_payload
from localslack.local_slack import (
    COMMAND_RESPONSE_METHOD, RESPONSE_URL_METHOD, LocalSlack, SlackCall, ValidationFailure,
)
from localslack.slack_driver import Reply

# How `/customer`'s holding ack begins ("looking for…": the answer follows through the response_url).
_HOLDING = tuple(t("lookup.searching", locale, query="\0").split("\0", 1)[0] for locale in ("en", "fr"))


@dataclass(frozen=True)
class Arrival:
    at: float  # time.perf_counter() when the stand-in had read and validated the call
    call: SlackCall
    problems: tuple[str, ...]


@dataclass
class Expectation:
    needed: int = 1
    arrivals: list[Arrival] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float) -> list[Arrival]:
        self.done.wait(timeout)
        return list(self.arrivals)


def correlation_key(method: str, args: dict[str, Any]) -> str | None:
    if method == RESPONSE_URL_METHOD:
        return "url:" + str(args.get("response_url", ""))
    if method in ("views.open", "views.push"):
        return "trigger:" + str(args.get("trigger_id", ""))
    if method == "chat.postMessage":
        return "dm:" + str(args.get("channel", ""))
    return None


def answer_in_ack(reply: Reply, at: float) -> Arrival | None:
    """A slash command answered in its HTTP response (what Slack shows at once), as an arrival at `at`
    (perf_counter when the response was read); None for an empty ack or a holding one."""
    shown = reply.json if reply.status == 200 else None
    if not isinstance(shown, dict) or not ("text" in shown or "blocks" in shown):
        return None
    if "blocks" not in shown and str(shown.get("text", "")).startswith(_HOLDING):
        return None
    problems = tuple(check_message_payload(shown, require_text=False))
    return Arrival(at, SlackCall(COMMAND_RESPONSE_METHOD, shown, time.time(), 200, {"ok": True}), problems)


def response_path(response_url: str) -> str:
    return "url:" + response_url[response_url.index("/response/"):]


class BenchSlack(LocalSlack):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counts: Counter[str] = Counter()
        self.failed_calls: Counter[str] = Counter()  # calls the stand-in answered ok=false
        self.unexpected: Counter[str] = Counter()  # arrivals nobody was waiting for
        self._expected: dict[str, Expectation] = {}

    def expect(self, key: str, count: int = 1) -> Expectation:
        """Register before sending the request, so a fast answer cannot slip past."""
        expectation = Expectation(count)
        with self._cond:
            self._expected[key] = expectation
        return expectation

    def forget(self, key: str) -> None:
        with self._cond:
            self._expected.pop(key, None)

    def _record(self, method: str, args: dict[str, Any], status: int, response: dict[str, Any],
                problems: list[str]) -> None:
        arrival = Arrival(time.perf_counter(), SlackCall(method, args, time.time(), status, response), tuple(problems))
        key = correlation_key(method, args)
        with self._cond:
            self.counts[method] += 1
            if status != 200 or not response.get("ok"):
                self.failed_calls[f"{method}: {response.get('error', status)}"] += 1
            self.validation_failures.extend(ValidationFailure(method, p) for p in problems)
            expectation = self._expected.get(key) if key else None
            if expectation is None:
                self.unexpected[method] += 1
                return
            expectation.arrivals.append(arrival)
            if len(expectation.arrivals) >= expectation.needed:
                del self._expected[key]
                expectation.done.set()
