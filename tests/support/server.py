"""The real WSGI app served over real HTTP on loopback, in a background thread of the test process."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from collections.abc import Sequence
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from sqlalchemy import Engine

from bot.app import Feature, build_app
from bot.web import FrontlineWeb
from localslack.executor import TrackingExecutor, wait_for_listeners


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class BotServer:
    url: str
    app: App
    web: FrontlineWeb
    engine: Engine
    _server: WSGIServer
    _thread: threading.Thread

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every listener the bot started has finished; fails the test if one hangs."""
        assert wait_for_listeners(self.app, timeout), f"bot listeners still running after {timeout}s"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.app.listener_runner.listener_executor.shutdown(wait=True)


def start_bot_server(settings, engine: Engine, session_factory, *, clock=None, scheduler=None,
                     features: Sequence[Feature] | None = None, ingest=None) -> BotServer:
    """`ingest`: the live-data routes (bot.ingest_web.IngestRoutes) to serve as well, if any."""
    kwargs = {"clock": clock} if clock is not None else {}
    # A pool that can tell when its listeners are done, so tests wait on it rather than sleep.
    app = build_app(settings, session_factory, features=features, listener_executor=TrackingExecutor(), **kwargs)
    web = FrontlineWeb(app, engine, scheduler=scheduler, ingest=ingest)
    server = make_server("127.0.0.1", 0, web, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="bot-http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return BotServer(f"http://{host}:{port}", app, web, engine, server, thread)
