"""`frontline serve`: run the bot, over Socket Mode (default) or as an HTTP server (`--http`).

Start-up refuses, with one line, a missing or wrong setting, an unreachable database, an unmigrated
schema or a bot or app-level token Slack rejects, before anything listens. SIGTERM or Ctrl-C stops
either mode cleanly, letting the listeners already running finish.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import prometheus_client.values
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger
from prometheus_client import multiprocess
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.app import build_app, make_client
from bot.commands import CommandError, WholeNumber
from bot.ingest import InboxWorkers, appliers_for, group_appliers_for
from bot.ingest_web import IngestRoutes
from bot.scheduler import start_scheduler
from bot.web import FrontlineWeb
from handlers.kpi import commands as kpi_commands
from store.clock import utc_now
from store.db import REQUEST_BUSY_TIMEOUT_MS, SchemaOutdated, ensure_schema_current, make_engine, make_session_factory

log = logging.getLogger(__name__)


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the bot (Socket Mode by default, --http for Slack request URLs)",
        description="Run the bot. Socket Mode needs SLACK_APP_TOKEN; --http serves POST /slack/events, "
                    "GET /healthz and GET /metrics and needs SLACK_SIGNING_SECRET.",
    )
    parser.add_argument("--http", action="store_true", help="serve HTTP request URLs with gunicorn")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument("--ingest-port", type=WholeNumber("port", 1, 65535), default=None,
                        help="Socket Mode: also listen on this port for live data (POST /v1/*, "
                             "/webhooks/{shopify,woocommerce}/<source>) with GET /healthz and /metrics; --http serves them "
                             "on its own port")
    parser.add_argument("--no-scheduler", dest="scheduler", action="store_false",
                        help="answer Slack only: no scheduled jobs (digests, retention) in this process, "
                             "for hosts where another process sends them")
    parser.set_defaults(run=run)


def check_startup(settings, *, socket_mode: bool) -> None:
    """Everything that would make the bot fail later, checked now; raises CommandError/ConfigError."""
    settings.require_slack(socket_mode=socket_mode)
    engine = make_engine(settings.database_url)
    try:
        ensure_schema_current(engine)
    except SchemaOutdated as error:
        raise CommandError(str(error)) from None
    except Exception as error:
        raise CommandError(f"DATABASE_URL: cannot reach the database ({type(error).__name__})") from None
    finally:
        engine.dispose()
    client = make_client(settings)
    token_checks: list[tuple[str, Callable[[], object]]] = [("SLACK_BOT_TOKEN", client.auth_test)]
    if socket_mode:  # the URL it hands out is left unused; connecting asks for a fresh one
        token_checks.append(("SLACK_APP_TOKEN",
                             lambda: client.apps_connections_open(app_token=settings.slack_app_token)))
    for variable, check in token_checks:
        try:
            check()
        except SlackApiError as error:
            raise CommandError(f"{variable} was rejected by Slack ({error.response.get('error')})") from None
        except Exception as error:
            where = settings.slack_api_url or "Slack"
            raise CommandError(f"cannot reach {where} to check {variable} ({type(error).__name__})") from None


def build_runtime(settings, *, scheduler: bool = True):
    """Engine, App, scheduler and WSGI app of one process (a gunicorn worker, or Socket Mode).

    Every process runs the scheduler unless told not to: its jobs claim their work in the database, so
    several workers or hosts never send the same digest twice, and one process dying does not stop the
    digests. Without it, `web.scheduler` is None and /healthz does not report one.
    """
    # A locked SQLite database must answer within Slack's 3 s, not after the CLI's 15 s wait.
    engine = make_engine(settings.database_url, busy_timeout_ms=REQUEST_BUSY_TIMEOUT_MS)
    session_factory = make_session_factory(engine)
    app = build_app(settings, session_factory)
    kpi_commands.warm_up(session_factory, utc_now, settings.default_timezone)  # each process, before it serves
    handle = start_scheduler(settings, session_factory, app.client) if scheduler else None
    workers = InboxWorkers(session_factory, count=settings.ingest_workers, appliers=appliers_for(settings),
                           group_appliers=group_appliers_for(settings)).start()
    ingest = IngestRoutes(session_factory, inbox_bound=settings.inbox_bound, on_stored=workers.wake)
    return engine, app, FrontlineWeb(app, engine, scheduler=handle, ingest=ingest, inbox_workers=workers)


def run(args, settings) -> int:
    if args.http and args.ingest_port is not None:
        raise CommandError("--ingest-port is for Socket Mode: with --http, live data is served on --port")
    check_startup(settings, socket_mode=not args.http)
    if args.http:
        return _serve_http(args, settings)
    return _serve_socket_mode(settings, scheduler=args.scheduler, ingest_port=args.ingest_port, host=args.host)


def _serve_socket_mode(settings, *, scheduler: bool = True, ingest_port: int | None = None,
                       host: str = "127.0.0.1") -> int:
    """Until SIGTERM/SIGINT. Python's default SIGTERM would kill the process at once, losing the replies
    of envelopes already acked (Slack never resends those): stop receiving, then let them finish.
    With `ingest_port`, a small threaded HTTP server takes live data (Socket Mode opens no port for Slack)."""
    engine, app, web = build_runtime(settings, scheduler=scheduler)
    ingest_server = None
    if ingest_port is not None:
        try:
            ingest_server = start_ingest_server(web, host, ingest_port)
        except OSError as error:
            raise CommandError(f"--ingest-port {ingest_port}: cannot listen ({error.strerror})") from None
        log.info("Frontline taking live data on http://%s:%s", host, ingest_port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    handler = SocketModeHandler(app, settings.slack_app_token)
    try:
        log.info("Frontline connecting to Slack over Socket Mode")
        handler.connect()
        stop.wait()
        log.info("Frontline stopping: closing the Socket Mode connection, finishing running listeners")
    finally:
        handler.close()
        if ingest_server is not None:
            ingest_server.shutdown()
            ingest_server.server_close()
        # Listeners already acked must still answer: the pool runs what it holds, then stops.
        app.listener_runner.listener_executor.shutdown(wait=True)
        if web.scheduler is not None:
            web.scheduler.shutdown(wait=True)
        if web.inbox_workers is not None:
            web.inbox_workers.stop()
        engine.dispose()
    return 0


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No access log: the request line of a stranger may carry anything; refusals are logged by the app."""

    def log_message(self, format: str, *args: object) -> None:
        return


def start_ingest_server(web: FrontlineWeb, host: str, port: int) -> WSGIServer:
    """The Socket Mode process's live-data port: the same routes, /healthz and /metrics, no /slack/events."""
    ingest_web = FrontlineWeb(web.app, web.engine, scheduler=web.scheduler, ingest=web.ingest, serve_slack=False,
                              inbox_workers=web.inbox_workers)
    server = make_server(host, port, ingest_web, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, args=(0.2,), name="ingest-http", daemon=True).start()
    return server


def _serve_http(args, settings) -> int:
    metrics_dir = tempfile.mkdtemp(prefix="frontline-metrics-")
    # Workers count separately; prometheus_client adds them up through files in this folder.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    # prometheus_client chose its value class when first imported (before the variable was set): choose again,
    # so that metric children created in the workers write to the shared folder.
    prometheus_client.values.ValueClass = prometheus_client.values.get_value_class()
    try:
        FrontlineGunicorn(settings, scheduler=args.scheduler, options={
            "bind": f"{args.host}:{args.port}",
            "workers": args.workers,
            "worker_class": "gthread",
            "threads": args.threads,
            # Slack gives 3 s to ack; a request still running after 30 s is stuck.
            "timeout": 30,
            "graceful_timeout": 20,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "logger_class": JsonGunicornLogger,
            "loglevel": settings.log_level.lower(),
            "preload_app": False,
            "child_exit": _worker_exited,
            "worker_exit": _stop_inbox_workers,
            "proc_name": "frontline",
        }).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _worker_exited(_server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)


def _stop_inbox_workers(_server, worker) -> None:
    """In a gunicorn worker that is exiting: let its inbox workers finish their step and stop. Left running, a
    daemon thread is frozen wherever it is when the interpreter finalizes, holding whatever it holds until the
    process is gone: on SQLite the write turn, or the write lock itself, for seconds (every writer of the
    database waited: a 5.7 s stop of all ingestion when bench/ingest.py's lookup server stopped)."""
    web = getattr(worker, "wsgi", None)
    inbox_workers = getattr(web, "inbox_workers", None)
    if inbox_workers is not None:
        inbox_workers.stop()


class JsonGunicornLogger(GunicornLogger):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's own lines through the same JSON handler as everything else: masked, cut to length, with
    Slack libraries' bodies withheld. Its "Invalid request" warnings quote the request line and headers a
    stranger sent, which may carry a lookup (`?text=jean.dupont%40...`)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        handlers = list(logging.getLogger().handlers)
        if handlers:  # configured by bot.logs (the CLI does it first); else keep gunicorn's own
            self.error_log.handlers[:] = handlers
        if not any(isinstance(f, _InvalidRequestFilter) for f in self.error_log.filters):
            self.error_log.addFilter(_InvalidRequestFilter())


class _InvalidRequestFilter(logging.Filter):
    """"Invalid request from ip=1.2.3.4: Invalid HTTP request line: 'GET Jeanne Dupont...'" keeps what was
    wrong, not the text: a name survives any masker."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Invalid request from"):
            where, _, error = message.partition(": ")
            what = error.split(":", 1)[0].split("(", 1)[0].split("'", 1)[0].split('"', 1)[0].strip()[:80]
            record.msg, record.args = f"{where}: {what} (the request's text withheld)", ()
        return True


class FrontlineGunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn, configured in code; each worker builds its own App, engine and thread pool after fork."""

    def __init__(self, settings, *, options: dict, scheduler: bool = True) -> None:
        self.settings = settings
        self.options = options
        self.scheduler = scheduler
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None or key == "accesslog":
                self.cfg.set(key, value)

    def load(self):
        _engine, _app, web = build_runtime(self.settings, scheduler=self.scheduler)
        return web
