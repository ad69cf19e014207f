"""`/customer`'s ack window without Slack: the deadline thread and AckOrRespond's one-ack rule. (Over
signed HTTP, both paths are in tests/e2e/test_lookup.py and the locked database in tests/e2e/test_faults.py.)"""
from __future__ import annotations

import threading
import time

from handlers.lookup.commands import AckOrRespond
from handlers.lookup.deadlines import DEADLINES, Deadlines


class Recorder:
    def __init__(self) -> None:
        self.acks: list[dict] = []
        self.responds: list[dict] = []
        self.acked = threading.Event()

    def ack(self, **kwargs) -> None:
        self.acks.append(kwargs)
        self.acked.set()

    def respond(self, **kwargs) -> None:
        self.responds.append(kwargs)


def test_due_callbacks_run_once_each_in_deadline_order_and_a_failing_one_does_not_stop_the_others():
    deadlines, ran, done = Deadlines(), [], threading.Event()
    holding, release = threading.Event(), threading.Event()
    now = time.monotonic()

    def fail() -> None:
        raise RuntimeError("boom")

    def hold() -> None:
        holding.set()
        release.wait(5)

    # Hold the deadline thread inside a callback while the rest is registered: registered before it runs,
    # a callback could be taken in the same wake-up as the holder and run ahead of earlier deadlines.
    deadlines.call_at(now - 1, hold)
    assert holding.wait(5)
    deadlines.call_at(now - 0.2, lambda: ran.append("second"))
    deadlines.call_at(now - 0.3, lambda: ran.append("first"))
    deadlines.call_at(now - 0.25, fail)
    deadlines.call_at(now - 0.1, done.set)
    release.set()
    assert done.wait(5)
    assert ran == ["first", "second"]


def test_an_answer_ready_in_the_window_is_the_ack_and_nothing_else_is_sent():
    slack = Recorder()
    reply = AckOrRespond(slack.ack, slack.respond, window=60, holding="Looking for…")
    reply.deliver({"text": "Jean Dupont", "blocks": []})
    assert slack.acks == [{"response_type": "ephemeral", "text": "Jean Dupont", "blocks": []}]
    assert slack.responds == []


def test_past_the_window_the_ack_holds_and_the_answer_goes_to_the_response_url():
    slack = Recorder()
    reply = AckOrRespond(slack.ack, slack.respond, window=0.01, holding="Looking for…")
    assert slack.acked.wait(5)  # the deadline thread acked while the lookup was still running
    reply.deliver({"text": "Jean Dupont"})
    assert slack.acks == [{"text": "Looking for…", "response_type": "ephemeral"}]
    assert slack.responds == [{"response_type": "ephemeral", "replace_original": False, "text": "Jean Dupont"}]


def test_a_failed_lookup_leaves_the_ack_to_the_error_handler():
    slack = Recorder()
    reply = AckOrRespond(slack.ack, slack.respond, window=0.01, holding="Looking for…")
    reply.abandon()
    done = threading.Event()
    DEADLINES.call_at(time.monotonic() + 0.05, done.set)  # after the window's deadline, on the same thread
    assert done.wait(5)
    assert slack.acks == [] and slack.responds == []
