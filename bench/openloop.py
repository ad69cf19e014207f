"""Open-loop `/customer` benchmark: lookups arrive at a fixed rate (Poisson arrivals) whatever the server
answers, so a slow server meets the same load as a fast one (a closed loop of simulated employees slows
down with the server and hides saturation). One command per database, bounded in time (~6 min):

    .venv/bin/python bench/openloop.py --url sqlite:////tmp/lookup1m.db
    .venv/bin/python bench/openloop.py --url postgresql+psycopg://frontline@127.0.0.1:55414/bench

In one run, against the real server (`frontline serve --http`, gunicorn, 2 workers x 8 threads) and the
Slack stand-in on loopback, with signed Slack-shaped requests:
1. server CPU per lookup for each key kind alone (typo'd name, surname, e-mail, phone, loyalty card,
   order number) at a fixed rate: CPU of the gunicorn processes, plus the PostgreSQL server's when it
   runs on this machine, divided by the lookups answered;
2. the sweep: the realistic mix at each offered rate (default 10, 25, 50, 100, 150 per second);
3. the framework floor: the same sweep against the same gunicorn + bolt set-up answering `/customer`
   with a constant message and no database (bench/floor.py);
4. the closed loop as a second view: 20 employees back to back (bench/load.py's simulated employees).

*ack* is the HTTP answer to the signed request; *seen* is what the employee waits for, from sending the
request to the answer: the ack itself when it carries the answer (`/customer` answers in its ack when it
is ready within FRONTLINE_ANSWER_IN_ACK_SECONDS), else the reply arriving at the response_url. Every figure is printed with the rate achieved, the
load average and the CPU time of the server, the database and the machine during its phase.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import (
    BOT_TOKEN, SIGNING_SECRET, Server, bench_database, free_port, pick_targets, prepare_database,
    register_employees, run_phase,
)
from bench.load_clients import ACK_LIMIT_MS, REPLY_TIMEOUT, SimulatedEmployee, Target, national
from bench.load_slack import BenchSlack, answer_in_ack, response_path
from bench.lookup import mistyped, percentile
from localslack import slack_requests as sr
from localslack.slack_driver import HttpTransport, find_element

KINDS = ("name", "surname", "email", "phone", "loyalty", "order")
# The share of each kind in the mix (bench/load_clients.py MIXES["lookup"], the closed loop's mix).
MIX = {"name": 35, "surname": 15, "email": 15, "phone": 15, "loyalty": 10, "order": 10}
EXACT = ("email", "phone", "loyalty", "order")
BAR_MS = 250.0


# ---- CPU and load -----------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_cpu(root: int | None) -> float:
    """CPU seconds of a process and its children, including children that exited and were waited for
    (their time is in the parent's cutime/cstime): PostgreSQL backends come and go."""
    if root is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    fields = _stat(root)
    if fields is None:
        return 0.0
    total = sum(int(fields[i]) for i in (11, 12, 13, 14))
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = _stat(int(entry.name))
            if child is not None and int(child[1]) == root:
                total += int(child[11]) + int(child[12])
    return total / ticks


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (/proc/stat): how busy the others kept it."""
    ticks = os.sysconf("SC_CLK_TCK")
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / ticks, sum(values) / ticks


class DatabaseBackends:
    """CPU of the PostgreSQL backends serving the bench's database, when the server runs on this machine.

    Only this database's backends (pg_stat_activity), not the whole cluster: a shared benchmark cluster
    also serves other databases (a build, another bench) whose work is not this server's. Each backend's
    CPU is read from /proc when asked; `cpu()` is called every 2 s during a phase, so a backend that exits
    mid-phase keeps its last reading (the pool keeps its connections: few do)."""

    def __init__(self, engine: Any) -> None:
        self._connection = engine.connect()
        self._lock = threading.Lock()
        self._seen: dict[int, float] = {}

    @classmethod
    def of(cls, url: str) -> DatabaseBackends | None:
        from sqlalchemy import create_engine, text

        if not url.startswith("postgresql"):
            return None
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
            if pid is None or _stat(int(pid)) is None:  # not on this machine: its CPU cannot be read
                engine.dispose()
                return None
            return cls(engine)
        except Exception:  # a server we cannot ask: its CPU is left out, and the report says so
            engine.dispose()
            return None

    def cpu(self) -> float:
        from sqlalchemy import text

        ticks = os.sysconf("SC_CLK_TCK")
        with self._lock:
            pids = self._connection.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).scalars().all()
            self._connection.rollback()
            for pid in pids:
                fields = _stat(int(pid))
                if fields is not None:
                    self._seen[int(pid)] = (int(fields[11]) + int(fields[12])) / ticks
            return sum(self._seen.values())

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            self._connection.engine.dispose()


@dataclass
class Usage:
    """CPU and load over one phase."""

    seconds: float = 0.0
    server: float = 0.0  # gunicorn master + workers
    database: float | None = None  # the PostgreSQL server, when local
    client: float = 0.0  # this process: request senders and the Slack stand-in
    machine_busy: float = 0.0  # all processes of the machine
    machine_total: float = 0.0
    loads: list[float] = field(default_factory=list)

    @property
    def load_text(self) -> str:
        loads = self.loads or [os.getloadavg()[0]]
        return f"{min(loads):.1f}–{max(loads):.1f}"

    @property
    def machine_percent(self) -> float:
        return 100 * self.machine_busy / self.machine_total if self.machine_total else 0.0


class Meter:
    def __init__(self, server_pid: int, database: DatabaseBackends | None) -> None:
        self.server_pid, self.database = server_pid, database

    def __enter__(self) -> Meter:
        self.usage = Usage()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._start = (time.perf_counter(), tree_cpu(self.server_pid),
                       self.database.cpu() if self.database else None, _own_cpu(), machine_cpu())
        self._sampler.start()
        return self

    def _sample(self) -> None:
        self.usage.loads.append(os.getloadavg()[0])
        while not self._stop.wait(2.0):
            self.usage.loads.append(os.getloadavg()[0])
            if self.database:
                self.database.cpu()  # keeps each backend's latest reading

    def __exit__(self, *exc) -> None:
        self._stop.set()
        started, server, database, client, (busy, total) = self._start
        now_busy, now_total = machine_cpu()
        usage = self.usage
        usage.seconds = time.perf_counter() - started
        usage.server = tree_cpu(self.server_pid) - server
        usage.database = self.database.cpu() - database if self.database and database is not None else None
        usage.client = _own_cpu() - client
        usage.machine_busy, usage.machine_total = now_busy - busy, now_total - total


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


# ---- open-loop requests ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Planned:
    at: float  # seconds after the phase starts
    kind: str
    user_id: str
    query: str
    expected: int | None  # the customer whose card an exact lookup must open


@dataclass(frozen=True)
class Outcome:
    kind: str
    lag_ms: float  # how late the request left compared with its planned arrival (client saturation)
    ack_ms: float | None
    seen_ms: float | None
    error: str | None
    finished: float  # perf_counter when it was answered (or failed)


def _query(rng: random.Random, kind: str, target: Target) -> str:
    """What an employee types to find `target` by `kind`."""
    if kind == "email":
        return target.email.upper() if rng.random() < 0.3 else target.email
    if kind == "phone":
        return national(target.phone)
    if kind == "loyalty":
        return target.loyalty_id.lower()
    if kind == "order":
        return target.order_number or ""
    if kind == "name":
        return mistyped(rng, target.first_name, target.last_name)
    if kind == "surname":
        return target.last_name
    raise KeyError(kind)


def plan(rng: random.Random, rate: float, seconds: float, mix: dict[str, int], targets: list[Target],
         users: list[str]) -> list[Planned]:
    """Poisson arrivals: exponential gaps of mean 1/rate, each a lookup of a kind drawn from the mix."""
    with_orders = [t for t in targets if t.order_number] or targets
    kinds, weights = list(mix), list(mix.values())
    planned, at = [], rng.expovariate(rate)
    while at < seconds:
        kind = rng.choices(kinds, weights)[0]
        target = rng.choice(with_orders if kind == "order" else targets)
        query = _query(rng, kind, target)
        planned.append(Planned(at, kind, rng.choice(users), query, target.id if kind in EXACT else None))
        at += rng.expovariate(rate)
    return planned


class OpenLoop:
    """Sends planned requests on time from a large thread pool, whatever the server answers."""

    def __init__(self, slack: BenchSlack, server_url: str, *, check_cards: bool, senders: int = 300) -> None:
        self.slack, self.server_url, self.check_cards = slack, server_url, check_cards
        self.pool = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="sender")
        self.local = threading.local()

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def run(self, planned: list[Planned]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        lock = threading.Lock()
        futures = []
        start = time.perf_counter()
        for request in planned:
            delay = start + request.at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(self.pool.submit(self._one, request, start + request.at, outcomes, lock))
        for future in futures:
            future.result()
        return outcomes

    def _one(self, request: Planned, due: float, outcomes: list[Outcome], lock: threading.Lock) -> None:
        try:
            outcome = self._send(request, due)
        except Exception as error:  # a bench bug shows up as an error, it does not stop the run
            outcome = Outcome(request.kind, 0.0, None, None, f"client crashed: {type(error).__name__}: {error}",
                              time.perf_counter())
        with lock:
            outcomes.append(outcome)

    def _send(self, request: Planned, due: float) -> Outcome:
        slack = self.slack
        url, trigger = slack.new_response_url(), slack.new_trigger_id()
        key = response_path(url)
        expectation = slack.expect(key)
        body = sr.slash_command_body(slack.workspace, command="/customer", text=request.query,
                                     user_id=request.user_id, user_name=request.user_id.lower(),
                                     channel_id="C0LOADTEST", channel_name="floor", response_url=url,
                                     trigger_id=trigger)
        headers = sr.sign(body, sr.FORM, SIGNING_SECRET).headers
        started = time.perf_counter()
        lag = (started - due) * 1000
        reply = HttpTransport(self.server_url).send(body, headers)
        acked = time.perf_counter()
        ack = (acked - started) * 1000
        if reply.status != 200:
            slack.forget(key)
            return Outcome(request.kind, lag, ack, None, f"HTTP {reply.status}", time.perf_counter())
        arrival = answer_in_ack(reply, acked)  # the answer in the ack, or it comes to the response_url
        if arrival is not None:
            slack.forget(key)
        else:
            arrivals = expectation.wait(REPLY_TIMEOUT)
            if not arrivals:
                slack.forget(key)
                return Outcome(request.kind, lag, ack, None, f"no reply within {REPLY_TIMEOUT:.0f}s",
                               time.perf_counter())
            arrival = arrivals[0]
        error = SimulatedEmployee.check_message(arrival)
        if error is None and ack > ACK_LIMIT_MS:
            error = "no ack within 3 s"
        if error is None and self.check_cards and request.expected is not None:
            found = find_element(arrival.call.args.get("blocks") or [], "profile.log_interaction")
            if found is None or found[1].get("value") != str(request.expected):
                error = "exact lookup did not open the right card"
        return Outcome(request.kind, lag, ack, (arrival.at - started) * 1000, error, arrival.at)


# ---- phases ----------------------------------------------------------------------------------------

@dataclass
class Phase:
    label: str
    offered: float  # requests per second planned (0 for the closed loop)
    seconds: float  # planned duration (the window rates are computed over)
    outcomes: list[Outcome]
    usage: Usage
    started: float = 0.0  # perf_counter at the first planned arrival

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is None]

    @property
    def errors(self) -> list[str]:
        return [o.error for o in self.outcomes if o.error]

    def seen(self, p: float) -> float:
        values = [o.seen_ms for o in self.ok]
        return percentile(values, p) if values else float("inf")

    def ack(self, p: float) -> float:
        values = [o.ack_ms for o in self.outcomes if o.ack_ms is not None]
        return percentile(values, p) if values else float("inf")

    def lag(self, p: float) -> float:
        values = [o.lag_ms for o in self.outcomes]
        return percentile(values, p) if values else 0.0

    @property
    def achieved(self) -> float:
        """Lookups answered correctly per second, from the phase's start to its last answer (a server
        falling behind stretches the window, so it cannot look faster than it is)."""
        last = max((o.finished for o in self.ok), default=0.0)
        return len(self.ok) / max(self.seconds, last - self.started if self.started else 0.0)

    @property
    def held(self) -> bool:
        return bool(self.outcomes) and not self.errors and self.seen(95) <= BAR_MS

    def cpu_ms(self, part: str = "all") -> float:
        usage, answered = self.usage, max(1, len(self.ok))
        seconds = {"server": usage.server, "database": usage.database or 0.0,
                   "all": usage.server + (usage.database or 0.0)}[part]
        return 1000 * seconds / answered


def open_phase(loop: OpenLoop, meter: Meter, label: str, rate: float, seconds: float, mix: dict[str, int],
               targets, users, seed: int) -> Phase:
    planned = plan(random.Random(seed), rate, seconds, mix, targets, users)
    with meter as measuring:
        started = time.perf_counter()
        outcomes = loop.run(planned)
    return Phase(label, rate, seconds, outcomes, measuring.usage, started)


def sweep(loop: OpenLoop, meter: Meter, label: str, rates: list[float], seconds: float, targets, users,
          seed: int, log) -> list[Phase]:
    phases = []
    for n, rate in enumerate(rates):
        phase = open_phase(loop, meter, label, rate, seconds, MIX, targets, users, seed + n)
        phases.append(phase)
        log(sweep_row(phase))
        if phase.seen(50) > 2000 or len(phase.errors) > 0.2 * max(1, len(phase.outcomes)):
            log(f"  ({label}: stopping the sweep, {rate:g}/s is far past saturation)")
            break
    return phases


def closed_phase(slack: BenchSlack, server_url: str, meter: Meter, employees, targets, seconds: float,
                 seed: int) -> Phase:
    with meter as measuring:
        ledger = run_phase(slack, server_url, employees, targets, mix="lookup", seconds=seconds,
                           run_id=f"closed{seed}", seed=seed, think=0.0, retry_rate=0.0, double_rate=0.0)
    outcomes = [Outcome(s.step.split(":")[-1], 0.0, s.ack_ms, s.done_ms, s.error, 0.0) for s in ledger.samples]
    return Phase("closed loop", 0.0, seconds, outcomes, measuring.usage, 0.0)


# ---- report ----------------------------------------------------------------------------------------

SWEEP_HEADER = ("| server | offered /s | answered /s | ack p50 | ack p95 | seen p50 | seen p95 | seen p99 | errors "
                "| sender lag p95 | server CPU (cores) | DB CPU (cores) | CPU ms per lookup | bench CPU (cores) "
                "| machine busy | load avg |\n"
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def _ms(value: float) -> str:
    return "–" if value == float("inf") else f"{value:.0f}"


def sweep_row(phase: Phase) -> str:
    u = phase.usage
    database = "–" if u.database is None else f"{u.database / u.seconds:.2f}"
    offered = f"{phase.offered:g}" if phase.offered else "– (closed)"
    return (f"| {phase.label} | {offered} | {phase.achieved:.1f} | {_ms(phase.ack(50))} | {_ms(phase.ack(95))} "
            f"| {_ms(phase.seen(50))} | {_ms(phase.seen(95))} | {_ms(phase.seen(99))} | {len(phase.errors)} "
            f"| {phase.lag(95):.0f} | {u.server / u.seconds:.2f} | {database} | {phase.cpu_ms():.1f} "
            f"| {u.client / u.seconds:.2f} | {u.machine_percent:.0f}% | {u.load_text} |")


def held_rate(phases: list[Phase]) -> str:
    held = [p.offered for p in phases if p.held]
    return f"{max(held):g}/s" if held else "none of the rates"


def at_rest(meter: Meter, seconds: float) -> Usage:
    """The server's (and its database's) CPU while no request arrives: what it spends per second whatever
    the traffic. At the per-key phases' 10 lookups a second it is a visible share of each lookup's CPU."""
    with meter as measuring:
        time.sleep(seconds)
    return measuring.usage


def rest_share_ms(rest: Usage | None, phase: Phase) -> float | None:
    """The CPU the server (and database) would have spent at rest over the phase, per lookup answered."""
    if rest is None or rest.seconds <= 0:
        return None
    per_second = (rest.server + (rest.database or 0.0)) / rest.seconds
    return 1000 * per_second * phase.usage.seconds / max(1, len(phase.ok))


def weighted_median(values: dict[str, float], weights: dict[str, int]) -> float:
    ordered = sorted(values, key=values.get)
    total, running = sum(weights[k] for k in ordered), 0
    for kind in ordered:
        running += weights[kind]
        if running >= total / 2:
            return values[kind]
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--pg-database", default=None,
                        help="on PostgreSQL, run in this database of the server in --url (default: --url's)")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rates", default="10,25,50,100,150", help="offered requests per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="per offered rate, real server")
    parser.add_argument("--floor-seconds", type=float, default=10.0, help="per offered rate, floor server")
    parser.add_argument("--per-key-rate", type=float, default=10.0)
    parser.add_argument("--per-key-seconds", type=float, default=10.0)
    parser.add_argument("--kinds", default=",".join(KINDS), help="key kinds measured alone (comma-separated)")
    parser.add_argument("--closed-employees", type=int, default=20)
    parser.add_argument("--closed-seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds at 20/s before measuring")
    parser.add_argument("--rest-seconds", type=float, default=10.0,
                        help="seconds with no request, after the warm-up: the server's CPU at rest (0: not measured)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--users", type=int, default=200, help="employees the requests come from")
    parser.add_argument("--skip", default="", help="phases to leave out: perkey,sweep,floor,closed")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",") if r]
    skip = set(filter(None, args.skip.split(",")))
    url = bench_database(args.url, args.pg_database)

    def log(line: str) -> None:
        print(line, flush=True)

    from store.db import make_engine, make_session_factory

    began = time.perf_counter()
    present = prepare_database(url, args.customers, args.seed)
    engine = make_engine(url)
    dialect = engine.dialect.name
    session_factory = make_session_factory(engine)
    people = register_employees(session_factory, max(args.users, args.closed_employees))
    users = [user_id for user_id, _ in people[:args.users]]
    targets = pick_targets(session_factory, 2000, args.seed)
    engine.dispose()
    database_cpu = DatabaseBackends.of(url)
    log(f"# /customer open loop: {dialect}, {present:,} customers, {args.workers} workers × {args.threads} threads, "
        f"{os.cpu_count()} CPUs; load average at start {os.getloadavg()[0]:.1f}")
    if dialect == "postgresql" and database_cpu is None:
        log("(the PostgreSQL server's CPU could not be read: DB CPU is left out)")
    log_dir = Path(tempfile.gettempdir())
    results: dict[str, object] = {}
    with BenchSlack(bot_token=BOT_TOKEN) as slack:
        for user_id, locale in people:
            slack.add_user(user_id, f"Load Tester {user_id[-3:]}", locale="fr-FR" if locale == "fr" else "en-US")
        server = Server(url, slack, workers=args.workers, threads=args.threads,
                        log_path=log_dir / f"frontline-openloop-{os.getpid()}.log")
        loop = OpenLoop(slack, server.url, check_cards=True)
        try:
            server.wait_healthy()
            meter = Meter(server.process.pid, database_cpu)
            if args.warmup > 0:
                open_phase(loop, meter, "warm-up", 20.0, args.warmup, MIX, targets, users, args.seed + 99)
            rest = at_rest(meter, args.rest_seconds) if args.rest_seconds > 0 and "perkey" not in skip else None
            if rest is not None:
                database = "" if rest.database is None else f" + database {1000 * rest.database / rest.seconds:.1f}"
                log(f"\nAt rest ({rest.seconds:.0f} s, no request): server {1000 * rest.server / rest.seconds:.1f} ms of "
                    f"CPU per second{database} (background work: inbox polls, scheduler, gunicorn), load "
                    f"{rest.load_text}. In the per-key table it is the 'at rest' share of each lookup's CPU.")
            if "perkey" not in skip:
                log(f"\n## Server CPU per lookup, each kind alone at {args.per_key_rate:g}/s for "
                    f"{args.per_key_seconds:g} s\n")
                log("| key | answered /s | seen p50 | seen p95 | errors | server CPU ms per lookup "
                    "| of which DB | of which at rest | load avg | machine busy |\n"
                    "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
                per_key, net = {}, {}
                for n, kind in enumerate(k for k in args.kinds.split(",") if k):
                    phase = open_phase(loop, meter, kind, args.per_key_rate, args.per_key_seconds, {kind: 1},
                                       targets, users, args.seed + 10 + n)
                    per_key[kind] = phase.cpu_ms()
                    share = rest_share_ms(rest, phase)
                    net[kind] = per_key[kind] - (share or 0.0)
                    database = "–" if phase.usage.database is None else f"{phase.cpu_ms('database'):.1f}"
                    log(f"| {kind} | {phase.achieved:.1f} | {_ms(phase.seen(50))} | {_ms(phase.seen(95))} "
                        f"| {len(phase.errors)} | {phase.cpu_ms():.1f} | {database} "
                        f"| {'–' if share is None else f'{share:.1f}'} | {phase.usage.load_text} "
                        f"| {phase.usage.machine_percent:.0f}% |")
                median = weighted_median(per_key, {k: MIX[k] for k in per_key})
                mean = sum(per_key[k] * MIX[k] for k in per_key) / sum(MIX[k] for k in per_key)
                log(f"\nServer CPU per lookup over the mix ({', '.join(f'{k} {w}%' for k, w in MIX.items())}): "
                    f"median {median:.1f} ms, mean {mean:.1f} ms (bar: median ≤ 7 ms)"
                    + (f"; less the server's CPU at rest: median {weighted_median(net, {k: MIX[k] for k in net}):.1f} ms."
                       if rest is not None else "."))
                results["perkey"] = per_key
            if "sweep" not in skip:
                log(f"\n## Open loop, the mix, {args.seconds:g} s per rate\n\n{SWEEP_HEADER}")
                results["sweep"] = sweep(loop, meter, f"/customer ({dialect})", rates, args.seconds, targets,
                                         users, args.seed + 20, log)
            if "closed" not in skip:
                phase = closed_phase(slack, server.url, meter, people[:args.closed_employees], targets,
                                     args.closed_seconds, args.seed + 30)
                log(f"\n## Closed loop: {args.closed_employees} employees back to back, {args.closed_seconds:g} s\n\n"
                    f"{SWEEP_HEADER}\n{sweep_row(phase)}")
                results["closed"] = phase
        finally:
            loop.close()
            server.stop()
            if database_cpu:
                database_cpu.close()
        if "floor" not in skip:
            floor = FloorServer(slack, workers=args.workers, threads=args.threads,
                                log_path=log_dir / f"frontline-floor-{os.getpid()}.log")
            loop = OpenLoop(slack, floor.url, check_cards=False)
            try:
                floor.wait_healthy()
                meter = Meter(floor.process.pid, None)
                open_phase(loop, meter, "warm-up", 20.0, 3.0, MIX, targets, users, args.seed + 98)
                log(f"\n## Framework floor: constant `/customer` reply, no database, {args.floor_seconds:g} s per rate"
                    f"\n\n{SWEEP_HEADER}")
                results["floor"] = sweep(loop, meter, "floor (constant reply)", rates, args.floor_seconds, targets,
                                         users, args.seed + 40, log)
            finally:
                loop.close()
                floor.stop()
    log("\n## Summary\n")
    if "sweep" in results:
        log(f"- /customer ({dialect}): highest offered rate held (p95 seen ≤ {BAR_MS:.0f} ms, 0 errors): "
            f"{held_rate(results['sweep'])} (bar ≥ 100/s).")
    if "floor" in results:
        log(f"- framework floor: highest offered rate held: {held_rate(results['floor'])}.")
    if "closed" in results:
        phase = results["closed"]
        log(f"- closed loop, {args.closed_employees} employees back to back: seen p95 {_ms(phase.seen(95))} ms at "
            f"{phase.achieved:.1f} lookups/s answered, {len(phase.errors)} errors (bar p95 ≤ {BAR_MS:.0f} ms); "
            f"server CPU {phase.cpu_ms():.1f} ms per lookup.")
    log(f"- whole run {time.perf_counter() - began:.0f} s; load average now {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs.")
    return 0


class FloorServer(Server):
    """bench/floor.py as a subprocess: Server's start-up, health check, pids and stop."""

    def __init__(self, slack: BenchSlack, *, workers: int, threads: int, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        command = [sys.executable, "-m", "bench.floor", "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", str(workers), "--threads", str(threads)]
        env = dict(os.environ, DATABASE_URL="sqlite://", SLACK_API_URL=slack.api_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                   SLACK_SIGNING_SECRET=SIGNING_SECRET, FRONTLINE_LOCALE="en", LOG_LEVEL="WARNING",
                   PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        with open(log_path, "w") as log:  # the server keeps its own copy of the descriptor
            self.process = subprocess.Popen(command, env=env, cwd=tempfile.gettempdir(), stdout=log,
                                            stderr=subprocess.STDOUT)


if __name__ == "__main__":
    raise SystemExit(main())
