"""The framework floor for the open-loop benchmark: the product's HTTP server (gunicorn with the same
options as `frontline serve --http`, bolt's FrontlineApp, signature check, the answer in the ack, as
`/customer` answers a lookup ready within its ack window) answering `/customer` with a constant message and touching no database.

    DATABASE_URL=sqlite:// SLACK_BOT_TOKEN=... SLACK_SIGNING_SECRET=... SLACK_API_URL=... \\
        .venv/bin/python -m bench.floor --port 3999 --workers 2 --threads 8

Bench-only: nothing in the product imports this module, and it is started only by bench/openloop.py.
How far `/customer` is from this floor is the cost of the lookup itself (database, search, card, audit).
"""
from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import serve_cmd
from bot.app import FrontlineApp, _bolt_logger, make_client
from bot.config import Settings
from bot.logs import configure_logging
from bot.web import FrontlineWeb
from handlers.lookup import blocks
from store.db import make_engine


def build_floor_runtime(settings: Settings, *, scheduler: bool = False):
    """What `serve_cmd.build_runtime` returns, with one constant `/customer` listener and no scheduler.
    The engine is an in-memory SQLite one, used only by /healthz."""
    app = FrontlineApp(client=make_client(settings), signing_secret=settings.slack_signing_secret or "",
                       process_before_response=False, listener_executor=ThreadPoolExecutor(16, "listener"),
                       request_verification_enabled=True, raise_error_for_unhandled_request=False,
                       logger=_bolt_logger())
    # A real product message (the lookup usage help), built once: the floor measures the framework,
    # not Block Kit building.
    text, usage_blocks = blocks.usage("en")

    def constant_customer(ack) -> None:  # answered in the ack, as `/customer` answers a quick lookup
        ack(response_type="ephemeral", text=text, blocks=usage_blocks)

    app.command("/customer")(constant_customer)
    engine = make_engine("sqlite://")
    return engine, app, FrontlineWeb(app, engine, scheduler=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    args.scheduler = False  # the floor sends no digests
    settings = Settings.from_env(dotenv=False)
    configure_logging(settings.log_level)
    # The very gunicorn set-up of `frontline serve --http` (serve_cmd._serve_http: worker class, threads,
    # timeouts, keep-alive, metrics folder), with each worker building the floor runtime instead.
    serve_cmd.build_runtime = build_floor_runtime
    return serve_cmd._serve_http(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
