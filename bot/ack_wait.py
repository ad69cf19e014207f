"""The request thread wakes when a listener acks, instead of bolt's polling every 10 ms.

With process_before_response=False (bot.app), bolt runs the listener on its thread pool and the thread
that received the request waits for `ack()`: bolt's own runner checks `ack.response` every 10 ms
(`time.sleep(0.01)`) for up to the listener's ack_timeout (3 s). Every request then waits at least one
such nap after its ack (a constant reply took 11-12 ms), and a longer listener wakes the waiting thread a
hundred times a second, each wake a trip through the GIL. Here the ack is an Event: the waiting thread
sleeps until `ack()` is called, or the listener ends without one, or the ack timeout passes, whichever
comes first. What happens then is bolt's: the same response returned, the same error handling.

Lazy listeners (bolt's FaaS feature, unused here), process_before_response and requests bolt re-runs for a
lazy function go through bolt's runner unchanged.
"""

from __future__ import annotations

import threading
import time

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.context.ack import Ack
from slack_bolt.listener import Listener
from slack_bolt.listener.thread_runner import ThreadListenerRunner
from slack_bolt.logger.messages import warning_did_not_call_ack


class SignallingAck(Ack):
    """bolt's Ack, which also says when its response was set (by `ack()` or by bolt's error path)."""

    def __init__(self) -> None:
        self.settled = threading.Event()  # set by an ack, or by the listener's end
        self._response: BoltResponse | None = None
        super().__init__()

    @property  # bolt declares a plain attribute: a property keeps its reads and writes
    def response(self) -> BoltResponse | None:
        return self._response

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        self._response = value
        if value is not None:
            self.settled.set()


class AckWaitingRunner(ThreadListenerRunner):
    """bolt's ThreadListenerRunner, waiting on the ack's Event instead of polling. Requests whose ack is not a
    SignallingAck (built elsewhere than FrontlineApp.dispatch) take bolt's path."""

    @classmethod
    def replacing(cls, runner: ThreadListenerRunner) -> AckWaitingRunner:
        return cls(logger=runner.logger, process_before_response=runner.process_before_response,
                   listener_error_handler=runner.listener_error_handler,
                   listener_start_handler=runner.listener_start_handler,
                   listener_completion_handler=runner.listener_completion_handler,
                   listener_executor=runner.listener_executor, lazy_listener_runner=runner.lazy_listener_runner)

    def run(self, request: BoltRequest, response: BoltResponse, listener_name: str, listener: Listener,
            starting_time: float | None = None) -> BoltResponse | None:
        ack = request.context.ack
        if (self.process_before_response or request.lazy_only or listener.lazy_functions
                or not isinstance(ack, SignallingAck)):
            return super().run(request, response, listener_name, listener, starting_time)
        deadline = time.monotonic() + listener.ack_timeout
        if listener.auto_acknowledgement:
            ack()  # events are acknowledged at once; the listener runs after
        outcome: dict[str, BoltResponse | None] = {"response": response}
        self.listener_executor.submit(self._run_listener, request, response, listener, ack, outcome)
        ack.settled.wait(max(0.0, deadline - time.monotonic()))
        final = outcome["response"]
        if final is not None:
            return final
        if ack.response is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
        return ack.response

    def _run_listener(self, request: BoltRequest, response: BoltResponse, listener: Listener, ack: SignallingAck,
                      outcome: dict[str, BoltResponse | None]) -> None:
        """On the listener pool: bolt's asynchronous listener run, then wake the request thread."""
        try:
            self.listener_start_handler.handle(request=request, response=response)
            listener.run_ack_function(request=request, response=response)
        except Exception as error:
            if listener.auto_acknowledgement:  # acked already: the error handler answers some other way
                self.listener_error_handler.handle(error=error, request=request, response=response)
            else:
                # bolt's rule: a 500 the error handler may rewrite (our handler answers the employee), sent as
                # the ack unless the listener had acked already. Unlike bolt's runner, an ack already sent is
                # never reset to None here: bolt's poller, had it not looked yet, would wait out the ack
                # timeout and answer nothing.
                acked = ack.response is not None
                failed = response if response is not None else BoltResponse(status=500)
                failed.status = 500
                answer = None if acked else failed
                self.listener_error_handler.handle(error=error, request=request, response=answer)
                outcome["response"] = answer  # once the handler has written it: the request thread may read it now
                if not acked:
                    ack.response = answer
        finally:
            self.listener_completion_handler.handle(request=request, response=outcome["response"])
            ack.settled.set()  # a listener that ended without an ack frees the request thread now, not in 3 s
