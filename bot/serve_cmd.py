"""`frontline serve`: run the bot, over Socket Mode (default) or as an HTTP server (`--http`).

Start-up refuses, with one line, a missing or wrong setting, an unreachable database, an unmigrated
schema or a bot token Slack rejects, before anything listens.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

from gunicorn.app.base import BaseApplication

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
    parser.set_defaults(run=run)


def check_startup(settings, *, socket_mode: bool) -> None:
    """Everything that would make the bot fail later, checked now; raises CommandError/ConfigError."""
    from slack_sdk.errors import SlackApiError

    from bot.app import make_client
    from bot.cli import CommandError
    from store.db import SchemaOutdated, ensure_schema_current, make_engine

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
    try:
        make_client(settings).auth_test()
    except SlackApiError as error:
        raise CommandError(f"SLACK_BOT_TOKEN was rejected by Slack ({error.response.get('error')})") from None
    except Exception as error:
        where = settings.slack_api_url or "Slack"
        raise CommandError(f"cannot reach {where} to check SLACK_BOT_TOKEN ({type(error).__name__})") from None


def build_runtime(settings):
    """Engine, App, scheduler and WSGI app of one process (a gunicorn worker, or Socket Mode).

    Every process runs the scheduler: its jobs claim their work in the database, so several workers
    or hosts never send the same digest twice, and one process dying does not stop the digests.
    """
    from bot.app import build_app
    from bot.scheduler import start_scheduler
    from bot.web import FrontlineWeb
    from store.db import REQUEST_BUSY_TIMEOUT_MS, make_engine, make_session_factory

    # A locked SQLite database must answer within Slack's 3 s, not after the CLI's 15 s wait.
    engine = make_engine(settings.database_url, busy_timeout_ms=REQUEST_BUSY_TIMEOUT_MS)
    session_factory = make_session_factory(engine)
    app = build_app(settings, session_factory)
    scheduler = start_scheduler(settings, session_factory, app.client)
    return engine, app, FrontlineWeb(app, engine, scheduler=scheduler)


def run(args, settings) -> int:
    check_startup(settings, socket_mode=not args.http)
    if args.http:
        return _serve_http(args, settings)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    _engine, app, _web = build_runtime(settings)
    log.info("Frontline connecting to Slack over Socket Mode")
    SocketModeHandler(app, settings.slack_app_token).start()
    return 0


def _serve_http(args, settings) -> int:
    metrics_dir = tempfile.mkdtemp(prefix="frontline-metrics-")
    # Workers count separately; prometheus_client adds them up through files in this folder.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    import prometheus_client.values

    prometheus_client.values.ValueClass = prometheus_client.values.get_value_class()
    try:
        FrontlineGunicorn(settings, {
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
            "loglevel": settings.log_level.lower(),
            "preload_app": False,
            "child_exit": _worker_exited,
            "proc_name": "frontline",
        }).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _worker_exited(_server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class FrontlineGunicorn(BaseApplication):
    """gunicorn, configured in code; each worker builds its own App, engine and thread pool after fork."""

    def __init__(self, settings, options: dict) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None or key == "accesslog":
                self.cfg.set(key, value)

    def load(self):
        _engine, _app, web = build_runtime(self.settings)
        return web
