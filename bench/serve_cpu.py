"""CPU per `/customer` on the served path, in-process: the WSGI app `frontline serve --http` runs in each
gunicorn worker (signature check, bolt, access middleware, search, card, audit, the answer in the ack
or posted to the response_url), driven with signed Slack-shaped requests, the listener run on the calling thread so that
one thread's CPU time (`time.thread_time`) is the whole request's, and a profiler sees all of it.

    .venv/bin/python bench/serve_cpu.py --url sqlite:////tmp/lookup1m.db
    .venv/bin/python bench/serve_cpu.py --url sqlite:////tmp/lookup1m.db --kind email --profile /tmp/email.prof
    .venv/bin/python bench/serve_cpu.py --url postgresql+psycopg://frontline@127.0.0.1:55414/bench

It prints, per key kind, the median and mean CPU of the request thread and, on a PostgreSQL server running
on this machine, the CPU of its backends serving this database per lookup. What it leaves out: gunicorn's HTTP parsing and socket work
(part of the framework floor, bench/floor.py) and the Slack stand-in's side of the reply (it runs in this
process, on other threads). CPU, not wall time: it is the work itself, whatever the machine load.
bench/openloop.py is the figure of record; this is the microscope.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import BOT_TOKEN, SIGNING_SECRET, pick_targets, register_employees
from bench.load_slack import BenchSlack, answer_in_ack, response_path
from bench.openloop import EXACT, KINDS, MIX, DatabaseBackends, _query
from bot.app import build_app
from bot.config import Settings
from bot.web import FrontlineWeb
from localslack import slack_requests as sr
from localslack.slack_driver import WsgiTransport, find_element
from sqlalchemy import event, text

from store.db import REQUEST_BUSY_TIMEOUT_MS, autocommit_engine, make_engine, make_session_factory


class InlineExecutor(ThreadPoolExecutor):
    """Runs each listener at once on the submitting thread: the request's whole CPU on one thread."""

    def submit(self, fn, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # bolt's runner handles listener errors itself; kept for completeness
            future.set_exception(error)
        return future


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--kind", default="all", choices=("all", *KINDS))
    parser.add_argument("--requests", type=int, default=200, help="per kind")
    parser.add_argument("--warm", type=int, default=100, help="requests of the mix before measuring")
    parser.add_argument("--profile", default=None, help="write cProfile stats of the measured requests here")
    parser.add_argument("--top", type=int, default=45, help="profile lines printed")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--gap", type=float, default=0.0,
                        help="seconds of pause after each measured request: each then starts as cold as at 10/s in the "
                             "served app (caches of the CPU and the database's backend), not hot from the one before")
    parser.add_argument("--answer-in-ack-seconds", default="0.5",
                        help="FRONTLINE_ANSWER_IN_ACK_SECONDS of the served app (0: ack first, answer to the response_url)")
    args = parser.parse_args(argv)
    engine = make_engine(args.url, busy_timeout_ms=REQUEST_BUSY_TIMEOUT_MS)
    session_factory = make_session_factory(engine)
    people = register_employees(session_factory, 50)
    users = [user_id for user_id, _ in people]
    targets = pick_targets(session_factory, 2000, 7)
    with_orders = [t for t in targets if t.order_number]
    database_cpu = DatabaseBackends.of(args.url)  # this database's backends, not the whole (shared) cluster
    # Round trips are what a lookup costs on PostgreSQL beyond its SQL: statements, pooled checkouts (each
    # with SQLAlchemy's pre-ping when it is on) and transactions (BEGIN + COMMIT/ROLLBACK each, counted
    # by the server for this database: the bench's own few queries add well under 0.1 per lookup).
    counts = {"statements": 0, "checkouts": 0, "pings": 0}
    # On PostgreSQL both pools: the lookup's autocommit statements run on an engine of their own
    # (store.db.autocommit_engine).
    for counted in (engine,) if engine.dialect.name == "sqlite" else (engine, autocommit_engine(engine)):
        event.listen(counted, "before_cursor_execute", lambda *_: counts.__setitem__("statements", counts["statements"] + 1))
        event.listen(counted, "checkout", lambda *_: counts.__setitem__("checkouts", counts["checkouts"] + 1))
        dialect_ping = counted.dialect.do_ping

        def counted_ping(dbapi_connection: Any, ping: Any = dialect_ping) -> bool:
            counts["pings"] += 1
            return ping(dbapi_connection)

        counted.dialect.do_ping = counted_ping  # type: ignore[method-assign]  # bench instrumentation only

    def transactions() -> int:
        if engine.dialect.name != "postgresql":
            return 0
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            )).scalar_one())
    rng = random.Random(args.seed)
    with BenchSlack(bot_token=BOT_TOKEN) as slack:
        for user_id, locale in people:
            slack.add_user(user_id, f"Load Tester {user_id[-3:]}", locale="fr-FR" if locale == "fr" else "en-US")
        settings = Settings.from_env({"DATABASE_URL": args.url, "SLACK_API_URL": slack.api_url,
                                      "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                                      "FRONTLINE_LOCALE": "en", "LOG_LEVEL": "WARNING",
                                      "FRONTLINE_ANSWER_IN_ACK_SECONDS": args.answer_in_ack_seconds})
        app = build_app(settings, session_factory, listener_executor=InlineExecutor(max_workers=1))
        transport = WsgiTransport(FrontlineWeb(app, engine))

        def one(kind: str) -> tuple[float, str | None]:
            target = rng.choice(with_orders if kind == "order" else targets)
            url = slack.new_response_url()
            expectation = slack.expect(response_path(url))
            body = sr.slash_command_body(slack.workspace, command="/customer", text=_query(rng, kind, target),
                                         user_id=rng.choice(users), user_name="loadtester", channel_id="C0LOADTEST",
                                         channel_name="floor", response_url=url, trigger_id=slack.new_trigger_id())
            headers = sr.sign(body, sr.FORM, SIGNING_SECRET).headers
            started = time.thread_time()
            reply = transport.send(body, headers)
            spent = time.thread_time() - started
            if reply.status != 200:
                return spent, f"HTTP {reply.status}"
            in_ack = answer_in_ack(reply, time.perf_counter())
            if in_ack is not None:
                slack.forget(response_path(url))
            arrivals = [in_ack] if in_ack is not None else expectation.wait(10)
            if not arrivals:
                return spent, "no reply"
            if kind in EXACT:
                found = find_element(arrivals[0].call.args.get("blocks") or [], "profile.log_interaction")
                if found is None or found[1].get("value") != str(target.id):
                    return spent, "wrong card"
            return spent, None

        mix_kinds, weights = list(MIX), list(MIX.values())
        for _ in range(args.warm):
            one(rng.choices(mix_kinds, weights)[0])
        kinds = KINDS if args.kind == "all" else (args.kind,)
        profiler = cProfile.Profile(time.thread_time) if args.profile else None  # CPU, not waits
        print(f"# /customer served in-process: {engine.dialect.name}, {args.requests} requests per kind"
              f"{f', {args.gap} s apart' if args.gap else ''}, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
        print("| key | CPU ms median | CPU ms mean | CPU ms p95 | DB server CPU ms per lookup "
              "| statements / checkouts / pings / transactions per lookup | errors |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        medians = {}
        for kind in kinds:
            spent, errors = [], []
            database_before = database_cpu.cpu() if database_cpu else 0.0
            counted_before, transactions_before = dict(counts), transactions()
            if profiler:
                profiler.enable()
            for _ in range(args.requests):
                cpu, error = one(kind)
                spent.append(cpu * 1000)
                if error:
                    errors.append(error)
                if args.gap:
                    time.sleep(args.gap)
            if profiler:
                profiler.disable()
            database = (database_cpu.cpu() - database_before) * 1000 / args.requests if database_cpu else None
            per = {key: (counts[key] - counted_before[key] - (1 if key in ("statements", "checkouts") else 0))
                   / args.requests for key in counts}  # less transactions()'s own query and checkout
            per["transactions"] = (transactions() - transactions_before - 1) / args.requests
            medians[kind] = statistics.median(spent)
            ranked = sorted(spent)
            print(f"| {kind} | {medians[kind]:.1f} | {statistics.fmean(spent):.1f} "
                  f"| {ranked[int(0.95 * (len(ranked) - 1))]:.1f} | {'–' if database is None else f'{database:.1f}'} "
                  f"| {per['statements']:.1f} / {per['checkouts']:.1f} / {per['pings']:.1f} / "
                  f"{'–' if database is None else format(per['transactions'], '.1f')} "
                  f"| {len(errors)}{' (' + errors[0] + ')' if errors else ''} |", flush=True)
        if len(kinds) > 1:
            ordered = sorted(kinds, key=lambda k: medians[k])
            half, running = sum(MIX.values()) / 2, 0
            for kind in ordered:
                running += MIX[kind]
                if running >= half:
                    print(f"\nMedian over the mix (weights {MIX}): {medians[kind]:.1f} ms of this process's CPU "
                          f"(+ the database server's on PostgreSQL); load average now {os.getloadavg()[0]:.1f}.")
                    break
        if profiler:
            profiler.dump_stats(args.profile)
            stats = pstats.Stats(profiler).strip_dirs()
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
    if database_cpu:
        database_cpu.close()
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
