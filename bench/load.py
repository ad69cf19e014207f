"""HTTP load benchmark: simulated employees use the real server (`frontline serve --http`, gunicorn, several
workers) through signed Slack requests, with the Slack stand-in on loopback; bounded in time.

    .venv/bin/python bench/load.py --customers 100000 --employees 50 --duration 120 --workers 2
    .venv/bin/python bench/load.py --url sqlite:////tmp/frontline-load-1m.db --customers 1000000 \\
        --mix lookup --employees 20 --duration 60
    tests/with_postgres.sh sh -c '.venv/bin/python bench/load.py --url "$FRONTLINE_TEST_POSTGRES_URL" ...'

The database is the lookup benchmark's (bench/lookup.py: same generator, reused when big enough; on
PostgreSQL in its own database, --pg-database). Reports per step: count, rate, ack latency (the HTTP
answer) and the latency the employee sees (ephemeral reply, modal opened, options shown, confirmation DM),
errors, and whether every logged interaction and follow-up is in the database exactly once.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load_clients import Ledger, SimulatedEmployee, Target
from bench.load_report import Report, verify_once
from bench.load_slack import BenchSlack

SIGNING_SECRET = "bench-signing-secret-5d1e"
BOT_TOKEN = "xoxb-bench"
EMPLOYEE_PREFIX = "U0LOAD"
KPI_TIMEZONE = "Europe/Paris"  # the server's FRONTLINE_TIMEZONE default


# ---- database -----------------------------------------------------------------------------------

def bench_database(url: str, name: str | None) -> str:
    """On PostgreSQL, a database of our own next to the one in `url` (created when missing)."""
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    if not name or not parsed.drivername.startswith("postgresql") or parsed.database == name:
        return url
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def prepare_database(url: str, customers: int, seed: int) -> int:
    """Migrated, with at least `customers` customers (bench/lookup.py's generator); returns how many."""
    from sqlalchemy import text

    from bench.lookup import load
    from store import kpi_rollup
    from store.db import make_engine, make_session_factory, migrate

    migrate(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        present = connection.execute(text("SELECT count(*) FROM customers")).scalar()
    loaded = present < customers
    if loaded:
        print(f"loading {customers:,} customers (bench/lookup.py generator)…", file=sys.stderr)
        load(url, customers, seed)
        present = customers
        if engine.dialect.name == "postgresql":  # the generator writes employee 1 with an explicit id
            with engine.begin() as connection:
                connection.execute(text("SELECT setval(pg_get_serial_sequence('employees', 'id'), "
                                        "(SELECT max(id) FROM employees))"))
    # Logged interactions keep the KPI rollup up to date, as in production; the generator writes its
    # rows directly, so the rollup is built after it.
    with make_session_factory(engine).begin() as session:
        if loaded:
            kpi_rollup.rebuild(session, KPI_TIMEZONE)
        else:
            kpi_rollup.ensure(session, KPI_TIMEZONE)
    engine.dispose()
    return present


def register_employees(session_factory, count: int) -> list[tuple[str, str]]:
    """Employees U0LOAD000… (half French, half English) in one store and team; (slack id, locale)."""
    from sqlalchemy import select

    from store.models import Employee, Store, Team

    wanted = [(f"{EMPLOYEE_PREFIX}{n:03d}", "fr" if n % 2 else "en") for n in range(count)]
    with session_factory.begin() as session:
        store = session.scalars(select(Store).where(Store.code == "LOAD")).one_or_none()
        if store is None:
            store = Store(code="LOAD", name="Load test store", city="Lyon")
            session.add(store)
            session.flush()
        team = session.scalars(select(Team).where(Team.name == "Load test floor")).one_or_none()
        if team is None:
            team = Team(name="Load test floor", store_id=store.id)
            session.add(team)
            session.flush()
        known = set(session.scalars(select(Employee.slack_user_id).where(
            Employee.slack_user_id.in_([w[0] for w in wanted]))))
        session.add_all(Employee(slack_user_id=user_id, name=f"Load Tester {user_id[-3:]}", role="associate",
                                 locale=locale, timezone="Europe/Paris", active=True, store_id=store.id,
                                 team_id=team.id) for user_id, locale in wanted if user_id not in known)
    return wanted


def pick_targets(session_factory, count: int, seed: int) -> list[Target]:
    from sqlalchemy import func, select

    from store.models import Customer, Order

    rng = random.Random(seed)
    first_order = select(func.min(Order.order_number)).where(Order.customer_id == Customer.id).scalar_subquery()
    with session_factory() as session:
        top = session.scalar(select(func.max(Customer.id)))
        ids = rng.sample(range(1, top + 1), min(top, count * 2))
        rows = session.execute(select(Customer.id, Customer.first_name, Customer.last_name, Customer.email,
                                      Customer.phone, Customer.loyalty_id, first_order)
                               .where(Customer.id.in_(ids), Customer.status == "active",
                                      Customer.email.is_not(None), Customer.phone.is_not(None),
                                      Customer.loyalty_id.is_not(None), Customer.first_name.is_not(None))).all()
    return [Target(*row) for row in rows[:count]]


# ---- the server -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`frontline serve --http` as a subprocess (gunicorn master + workers)."""

    def __init__(self, url: str, slack: BenchSlack, *, workers: int, threads: int, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        frontline = Path(sys.executable).with_name("frontline")
        command = [str(frontline), "serve", "--http", "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", str(workers), "--threads", str(threads)]
        env = dict(os.environ, DATABASE_URL=url, SLACK_API_URL=slack.api_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                   SLACK_SIGNING_SECRET=SIGNING_SECRET, FRONTLINE_LOCALE="en", LOG_LEVEL="WARNING")
        # The server writes to its own copy of the log file's descriptor; ours closes once it started.
        # cwd: a folder without a .env file, so only the settings above apply.
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(command, env=env, cwd=tempfile.gettempdir(), stdout=log,
                                            stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited ({self.process.returncode}): see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"the server was not healthy within {timeout:.0f}s: see {self.log_path}")

    def pids(self) -> list[int]:
        """The master and its workers."""
        found = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


# ---- a run ------------------------------------------------------------------------------------------

def run_phase(slack: BenchSlack, server_url: str, employees, targets, *, mix: str, seconds: float, run_id: str,
              seed: int, think: float, retry_rate: float, double_rate: float) -> Ledger:
    ledger = Ledger()
    deadline = time.perf_counter() + seconds
    threads = [SimulatedEmployee(user_id, slack=slack, server_url=server_url, signing_secret=SIGNING_SECRET,
                                 targets=targets, mix=mix, deadline=deadline, ledger=ledger, run_id=run_id,
                                 seed=seed * 1000 + n, think=think, retry_rate=retry_rate,
                                 double_rate=double_rate)
               for n, (user_id, _locale) in enumerate(employees)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return ledger


def measure(url: str, *, customers: int, employees: int, duration: float, warmup: float, workers: int,
            threads: int, mix: str, think: float, seed: int, retry_rate: float = 0.1, double_rate: float = 0.05,
            log_dir: Path | None = None) -> Report:
    """The core: prepare, serve, load, verify. Used by main() and by tests/test_load_smoke.py."""
    from store.db import make_engine, make_session_factory

    present = prepare_database(url, customers, seed)
    engine = make_engine(url)
    session_factory = make_session_factory(engine)
    people = register_employees(session_factory, employees)
    targets = pick_targets(session_factory, 2000, seed)
    run_id = secrets.token_hex(4)
    log_path = (log_dir or Path(tempfile.gettempdir())) / f"frontline-load-{run_id}.log"
    with BenchSlack(bot_token=BOT_TOKEN) as slack:
        for user_id, locale in people:
            slack.add_user(user_id, f"Load Tester {user_id[-3:]}", locale="fr-FR" if locale == "fr" else "en-US")
        server = Server(url, slack, workers=workers, threads=threads, log_path=log_path)
        try:
            server.wait_healthy()
            phases = {}
            if warmup > 0:
                phases["warm-up"] = run_phase(slack, server.url, people, targets, mix=mix, seconds=warmup,
                                              run_id=run_id + "w", seed=seed + 1, think=think,
                                              retry_rate=retry_rate, double_rate=double_rate)
            loads, stop = [], threading.Event()

            def sample_load() -> None:
                while not stop.wait(2.0):
                    loads.append(os.getloadavg()[0])

            sampler = threading.Thread(target=sample_load, daemon=True)
            sampler.start()
            failed_before, invalid_before = Counter(slack.failed_calls), len(slack.validation_failures)
            pids = server.pids()
            server_cpu, client_cpu = cpu_seconds(pids), os.times()
            started = time.perf_counter()
            phases["measured"] = run_phase(slack, server.url, people, targets, mix=mix, seconds=duration,
                                           run_id=run_id, seed=seed, think=think, retry_rate=retry_rate,
                                           double_rate=double_rate)
            elapsed = time.perf_counter() - started
            server_after, client_after = cpu_seconds(pids), os.times()
            stop.set()
            time.sleep(0.5)  # let late answers (after the deadline) land before counting
        finally:
            server.stop()
        once = verify_once(session_factory, [s for ledger in phases.values() for s in ledger.submissions])
        report = Report(
            dialect=engine.dialect.name, customers=present, employees=employees, workers=workers, threads=threads,
            mix=mix, think=think, duration=elapsed, ledger=phases["measured"], once=once,
            stand_in_failures=dict(slack.failed_calls - failed_before), validation_failures=len(slack.validation_failures) - invalid_before,
            unexpected=dict(slack.unexpected), loads=loads or [os.getloadavg()[0]],
            server_cpu=sum(server_after.get(p, 0) - server_cpu.get(p, 0) for p in pids),
            client_cpu=(client_after.user + client_after.system) - (client_cpu.user + client_cpu.system),
            server_log=log_path)
    engine.dispose()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:////tmp/frontline-load.db")
    parser.add_argument("--pg-database", default="frontline_load",
                        help="on PostgreSQL, run in this database of the server in --url (created if missing)")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--employees", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before measuring")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--mix", choices=("mixed", "lookup"), default="mixed")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause between an employee's actions, seconds (0: back to back)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--readme", action="store_true", help="record the results in bench/README.md")
    args = parser.parse_args(argv)
    url = bench_database(args.url, args.pg_database)
    report = measure(url, customers=args.customers, employees=args.employees, duration=args.duration,
                     warmup=args.warmup, workers=args.workers, threads=args.threads, mix=args.mix, think=args.think,
                     seed=args.seed)
    print(report.markdown())
    if args.readme:
        report.write_readme(Path(__file__).with_name("README.md"), command_line(argv))
    return 0 if report.passed else 1


def command_line(argv: list[str] | None) -> str:
    words = list(sys.argv[1:] if argv is None else argv)
    pg = os.environ.get("FRONTLINE_TEST_POSTGRES_URL")
    shown = " ".join('"$FRONTLINE_TEST_POSTGRES_URL"' if pg and w == pg else w for w in words)
    line = f".venv/bin/python bench/load.py {shown}".strip()
    return f"tests/with_postgres.sh sh -c '{line}'" if pg and pg in words else line


if __name__ == "__main__":
    raise SystemExit(main())
