"""bolt's dispatch with the request thread woken by the ack (bot.ack_wait): what Slack gets back, and when
the listener's work goes on after it. Over signed HTTP the same paths run in tests/e2e (test_lookup,
test_plumbing's crashing listener)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
import json
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.app import FrontlineApp


@pytest.fixture
def app(slack):
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="listener")
    client = WebClient(token=slack.bot_token, base_url=slack.api_url.rstrip("/") + "/")  # bolt's auth.test
    built = FrontlineApp(client=client,
                         signing_secret="", process_before_response=False, listener_executor=executor,
                         request_verification_enabled=False, token_verification_enabled=False,
                         raise_error_for_unhandled_request=False)
    yield built
    executor.shutdown(wait=True)


def command(name: str) -> BoltRequest:
    body = urlencode({"command": name, "text": "Dupont", "team_id": "T0TEST", "user_id": "U0LEA",
                      "channel_id": "C0TEST", "response_url": "http://127.0.0.1:9/respond", "trigger_id": "1.2.3"})
    return BoltRequest(body=body, headers={"content-type": "application/x-www-form-urlencoded"})


def test_the_ack_is_the_response_while_the_listener_goes_on(app):
    release, finished = threading.Event(), threading.Event()

    def slow(ack) -> None:
        ack(text="Looking for Dupont…", response_type="ephemeral")
        release.wait(10)  # the work after the ack: Slack has its answer already
        finished.set()

    app.command("/slow")(slow)
    response = app.dispatch(command("/slow"))
    assert response.status == 200 and "Looking for Dupont" in response.body
    assert not finished.is_set()
    release.set()
    assert finished.wait(10)


def test_a_listener_failing_before_its_ack_answers_with_the_error_handlers_reply(app):
    def crash(ack) -> None:
        raise RuntimeError("boom")

    app.command("/crash")(crash)
    app.error(lambda error: BoltResponse(status=200, body=f"sorry: {type(error).__name__}"))
    response = app.dispatch(command("/crash"))
    assert (response.status, response.body) == (200, "sorry: RuntimeError")


def test_a_listener_failing_after_its_ack_keeps_the_ack(app):
    failed = threading.Event()

    def crash_late(ack) -> None:
        ack(text="On it")
        raise RuntimeError("boom")

    app.command("/late")(crash_late)
    app.error(lambda error: failed.set())
    response = app.dispatch(command("/late"))
    assert (response.status, response.body) == (200, "On it")
    assert failed.wait(10)


def test_a_listener_that_never_acks_frees_the_request_when_it_ends(app):
    ran = threading.Event()

    def silent(ack) -> None:
        ran.set()

    app.command("/silent")(silent)
    app._listeners[-1].ack_timeout = 3600  # bolt would poll for an ack until this passes
    answered: list[BoltResponse] = []
    dispatching = threading.Thread(target=lambda: answered.append(app.dispatch(command("/silent"))), daemon=True)
    dispatching.start()
    dispatching.join(30)
    assert ran.is_set() and answered, "the request waited for an ack that could not come"
    assert (answered[0].status, answered[0].body) == (200, "")  # acknowledged quietly, as any unhandled request


def test_events_are_acknowledged_at_once_and_handled_after(app):
    release, handled = threading.Event(), threading.Event()

    def on_mention(event) -> None:
        release.wait(10)
        handled.set()

    app.event("app_mention")(on_mention)
    body = {"type": "event_callback", "team_id": "T0TEST", "event_id": "Ev1",
            "event": {"type": "app_mention", "user": "U0LEA", "text": "hi", "channel": "C0TEST", "ts": "1.2"}}
    response = app.dispatch(BoltRequest(body=json.dumps(body), headers={"content-type": "application/json"}))
    assert response.status == 200 and not handled.is_set()
    release.set()
    assert handled.wait(10)
