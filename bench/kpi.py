"""KPI and digest benchmark: 10,000,000 interactions, 5,000 employees (SQLite and PostgreSQL).

    .venv/bin/python bench/kpi.py generate --url sqlite:////tmp/kpi.db       # once; minutes (rollup included)
    .venv/bin/python bench/kpi.py rollup --url sqlite:////tmp/kpi.db         # (re)build the rollup only
    .venv/bin/python bench/kpi.py run --url sqlite:////tmp/kpi.db            # /kpi p95 + digests
    .venv/bin/python bench/kpi.py digests --url sqlite:////tmp/kpi.db        # digests only
    .venv/bin/python bench/kpi.py reports --url sqlite:////tmp/kpi.db [--zone Z] ["all month" ...]  # single reports

The world: 100 stores x 5 teams x 10 employees (one manager per team, one admin), 1,000,000
customers attached to a store, one year of interactions ending at --as-of (default DEFAULT_AS_OF) (80% with a customer, who
comes back now and then), 2,000,000 orders and 1,000,000 follow-ups (80% done). Rows are written
in big batches (executemany on SQLite, COPY on PostgreSQL) with the secondary indexes dropped and
rebuilt afterwards, which is many times faster than inserting into indexed tables.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import random
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store.clock import Clock, local_day
from store.db import make_engine, make_session_factory, migrate
# Imported here, as the app imports them when it starts (handlers.kpi.commands): a report asked first in a
# process used to pay the import of store.kpi (tens of ms) inside its timing.
from store.kpi import kpi_report, warm_up
from store.kpi_query import parse_kpi_query
from store.models import Base

ZONE = ZoneInfo("Europe/Paris")  # every bench employee's and the rollup's time zone
# The world ends at this local moment and every report is asked "as of" it, whatever day the bench
# runs: a result can be re-run and compared any day. (It has been this moment since the bench was
# written; --as-of picks another one, the same for `generate` and the measurements.)
DEFAULT_AS_OF = "2026-03-11T10:00"  # Europe/Paris, = 2026-03-11 09:00 UTC
STORES, TEAMS_PER_STORE, TEAM_SIZE = 100, 5, 10
CUSTOMERS = 1_000_000
CHANNELS = ("store", "phone", "email", "chat", "video")
TYPES = ("visit", "call", "complaint", "advice", "return", "purchase", "other")
OUTCOMES = ("resolved", "resolved", "resolved", "follow_up", "escalated", "no_answer", "info")
BATCH = 250_000


def as_of_utc(text_value: str) -> dt.datetime:
    """`--as-of` (local ISO date-time in Europe/Paris, e.g. 2026-03-11T10:00) as naive UTC."""
    local = dt.datetime.fromisoformat(text_value)
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZONE)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _timestamps(rng: np.random.Generator, count: int, days: int, now: dt.datetime) -> np.ndarray:
    start = np.datetime64(now - dt.timedelta(days=days), "us")
    offsets = np.sort(rng.integers(0, days * 86_400_000_000, size=count, dtype=np.int64))
    return start + offsets.astype("timedelta64[us]")


def _as_text(stamps: np.ndarray) -> list[str]:
    return np.char.replace(np.datetime_as_string(stamps, unit="us"), "T", " ").tolist()


def _as_datetimes(stamps: np.ndarray) -> list[dt.datetime]:
    return stamps.astype("datetime64[us]").astype(object).tolist()


class Writer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sqlite = url.startswith("sqlite")

    def rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if self.sqlite:
                marks = ",".join("?" * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)
            else:
                with cursor.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()

    def stamps(self, values: np.ndarray) -> list:
        return _as_text(values) if self.sqlite else _as_datetimes(values)


def generate(url: str, interactions: int, now: dt.datetime, seed: int = 7) -> None:
    started = time.perf_counter()
    migrate(url)
    writer = Writer(url)
    rng = np.random.default_rng(seed)
    tables = ("interactions", "follow_ups", "orders")
    indexes = [ix for t in tables for ix in Base.metadata.tables[t].indexes]
    with writer.engine.begin() as connection:
        for index in indexes:
            connection.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
        if writer.sqlite:
            connection.execute(text("PRAGMA foreign_keys=OFF"))
    employees_total = STORES * TEAMS_PER_STORE * TEAM_SIZE
    writer.rows("stores", ["id", "code", "name", "timezone"],
                [(s, f"S{s:03d}", f"Store {s:03d}", "Europe/Paris") for s in range(1, STORES + 1)])
    writer.rows("teams", ["id", "name", "store_id"],
                [(t, f"Team {t:03d}", (t - 1) // TEAMS_PER_STORE + 1) for t in range(1, STORES * TEAMS_PER_STORE + 1)])
    now_stamp = writer.stamps(np.array([np.datetime64(now, "us")]))[0]
    employee_rows = []
    for e in range(1, employees_total + 1):
        team = (e - 1) // TEAM_SIZE + 1
        role = "admin" if e == 1 else ("manager" if (e - 1) % TEAM_SIZE == 0 else "associate")
        employee_rows.append((e, f"U{e:07d}", f"Employee {e:04d}", role, team, (team - 1) // TEAMS_PER_STORE + 1,
                              "Europe/Paris", "fr", True, False, "0,1,2,3,4", now_stamp, now_stamp))
    writer.rows("employees", ["id", "slack_user_id", "name", "role", "team_id", "store_id", "timezone", "locale",
                              "active", "digest_paused", "digest_weekdays", "created_at", "updated_at"], employee_rows)
    tiers = np.array([None, None, None, "silver", "gold", "platinum"], dtype=object)
    for first in range(1, CUSTOMERS + 1, BATCH):
        ids = np.arange(first, min(first + BATCH, CUSTOMERS + 1))
        tier = tiers[rng.integers(0, len(tiers), size=len(ids))]
        writer.rows("customers", ["id", "status", "first_name", "last_name", "loyalty_tier", "provenance",
                                  "preferred_store_id", "created_at", "updated_at"],
                    [(i, "active", f"First{i}", f"Last{i}", t, "{}", (i - 1) % STORES + 1,
                      now_stamp, now_stamp) for i, t in zip(ids.tolist(), tier.tolist(), strict=True)])
    print(f"people and customers: {time.perf_counter() - started:.0f}s", flush=True)

    per_store = CUSTOMERS // STORES
    written = 0
    while written < interactions:
        count = min(BATCH * 4, interactions - written)
        stamps = writer.stamps(_timestamps(rng, count, 365, now))
        employee = rng.integers(1, employees_total + 1, size=count)
        team = (employee - 1) // TEAM_SIZE + 1
        store = (team - 1) // TEAMS_PER_STORE + 1
        customer = (store - 1) + STORES * rng.integers(0, per_store, size=count) + 1
        known = rng.random(count) < 0.8
        channel, kind, outcome = (rng.integers(0, len(v), size=count) for v in (CHANNELS, TYPES, OUTCOMES))
        writer.rows("interactions", ["id", "customer_id", "employee_id", "store_id", "team_id", "channel", "type",
                                     "outcome", "created_at", "source"],
                    [(written + i + 1, int(customer[i]) if known[i] else None, int(employee[i]), int(store[i]),
                      int(team[i]), CHANNELS[channel[i]], TYPES[kind[i]], OUTCOMES[outcome[i]], stamps[i], "bench")
                     for i in range(count)])
        written += count
        print(f"interactions: {written:,} ({time.perf_counter() - started:.0f}s)", flush=True)

    orders = interactions // 5
    for first in range(0, orders, BATCH * 4):
        count = min(BATCH * 4, orders - first)
        stamps = writer.stamps(_timestamps(rng, count, 365, now))
        customer = rng.integers(1, CUSTOMERS + 1, size=count)
        writer.rows("orders", ["id", "source", "order_number", "customer_id", "ordered_at", "channel", "total_amount",
                               "currency", "status"],
                    [(first + i + 1, "bench", f"B{first + i + 1}", int(customer[i]), stamps[i], "web", 42, "EUR",
                      "completed") for i in range(count)])
    print(f"orders: {orders:,} ({time.perf_counter() - started:.0f}s)", flush=True)

    follow_ups = interactions // 10
    for first in range(0, follow_ups, BATCH * 4):
        count = min(BATCH * 4, follow_ups - first)
        created = _timestamps(rng, count, 365, now)
        done = rng.random(count) < 0.8
        completed = created + rng.integers(3_600, 10 * 86_400, size=count).astype("timedelta64[s]")
        due = (created + rng.integers(0, 14, size=count).astype("timedelta64[D]")).astype("datetime64[D]")
        created_s, completed_s = writer.stamps(created), writer.stamps(completed)
        assignee = rng.integers(1, employees_total + 1, size=count)
        customer = rng.integers(1, CUSTOMERS + 1, size=count)
        writer.rows("follow_ups", ["id", "customer_id", "assignee_id", "due_date", "status", "created_at",
                                   "completed_at", "source"],
                    [(first + i + 1, int(customer[i]), int(assignee[i]),
                      str(due[i]) if writer.sqlite else due[i].astype(object), "done" if done[i] else "open",
                      created_s[i], completed_s[i] if done[i] else None, "bench") for i in range(count)])
    print(f"follow-ups: {follow_ups:,} ({time.perf_counter() - started:.0f}s)", flush=True)

    with writer.engine.begin() as connection:
        for index in indexes:
            index.create(connection)
        connection.execute(text("ANALYZE"))
    print(f"indexes + analyze: done in {time.perf_counter() - started:.0f}s total", flush=True)
    build_rollup(url)


def build_rollup(url: str) -> None:
    """Build the daily KPI rollup the way `frontline migrate` does on an existing database, timed."""
    started, cpu = time.perf_counter(), time.process_time()
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 30 or (done == total and stage == "rollup"):
            last[0] = time.perf_counter()
            print(f"  rollup {stage}: {done:,}/{total:,} ({time.perf_counter() - started:.0f}s)", flush=True)

    migrate(url, kpi_timezone="Europe/Paris", progress=progress)
    engine = make_engine(url)
    # PostgreSQL: VACUUM as autovacuum would soon after a bulk load, so index-only scans (the digests'
    # follow-up indexes) skip the table as they do on a database that has been running a while.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE" if url.startswith("sqlite") else "VACUUM (ANALYZE)"))
        rows = connection.execute(text("SELECT count(*) FROM kpi_daily")).scalar()
    engine.dispose()
    print(f"rollup: {rows:,} daily rows in {time.perf_counter() - started:.0f}s "
          f"(client CPU {time.process_time() - cpu:.0f}s)", flush=True)


def catch_up(url: str) -> None:
    """Bring a world built at the kpi10m branch's revision "0008_kpi10m" (main's 0013: same tables) to
    head without rebuilding its rollup: run the upgrade of every revision it lacks up to 0014 (0008-0012,
    0014: new tables and indexes only, no row of the world touched), stamp 0014, then migrate to head
    as usual. `frontline migrate` alone cannot: it does not know "0008_kpi10m", and going through 0013
    again would empty the rollup."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from store.db import head_revision

    versions = Path(__file__).resolve().parent.parent / "store" / "migrations" / "versions"
    missing = ["0008", "0009", "0010", "0011", "0012", "0014"]
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current != "0008_kpi10m":
            raise SystemExit(f"this database is at {current}, not 0008_kpi10m: use `frontline migrate`")
        context = MigrationContext.configure(connection)
        with Operations.context(context):
            for prefix in missing:
                (path,) = versions.glob(f"{prefix}_*.py")
                spec = importlib.util.spec_from_file_location(f"_catch_up_{prefix}", path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                module.upgrade()
        connection.execute(text("UPDATE alembic_version SET version_num = '0014'"))
    engine.dispose()
    print(f"0008_kpi10m -> 0014: {', '.join(missing)} applied in {time.perf_counter() - started:.1f}s", flush=True)
    migrate(url)  # the revisions after 0014, as `frontline migrate` runs them
    print(f"0014 -> {head_revision()} in {time.perf_counter() - started:.1f}s total")


# ---- measurement -------------------------------------------------------------------------------

def fixed_clock(now: dt.datetime) -> Clock:
    """The product's clock stopped at the world's end: what the app gets from `bot.app` in production."""
    return lambda: now


def ask_kpi(session, viewer, query_text: str, clock: Clock):
    """What the /kpi listener does (handlers/kpi/commands.py): "today" is the viewer's local day on the
    clock, and the report is asked as of the clock's now."""
    now = clock()
    query = parse_kpi_query(query_text, today=local_day(now, ZoneInfo(viewer.timezone)))
    return kpi_report(session, viewer, query, now=now)


def _queries(rng: random.Random) -> list[tuple[int, str]]:
    """(employee id, /kpi text) pairs covering every scope, period and grouping users can ask for."""
    employees_total = STORES * TEAMS_PER_STORE * TEAM_SIZE
    associates = [e for e in range(2, employees_total + 1) if (e - 1) % TEAM_SIZE]
    managers = list(range(11, employees_total + 1, TEAM_SIZE))
    periods = ["today", "week", "month", "last 30 days", "2026-02", "2026-02-01..2026-02-14"]
    groups = ["", "by employee", "by channel", "by type", "by day"]
    result = []
    for period in periods:
        for group in groups:
            result.append((rng.choice(associates), f"me {period} {group}"))
            manager = rng.choice(managers)
            result.append((manager, f"team {period} {group}"))
            result.append((manager, f"<@U{manager + 1:07d}> {period} {group}"))
            result.append((manager, f"store Store {(manager - 1) // (TEAM_SIZE * TEAMS_PER_STORE) + 1:03d} {period} {group}"))
            result.append((1, f"all {period} {group}"))
    return result


def run(url: str, repeat: int, now: dt.datetime, scopes: set[str] | None = None, with_digests: bool = True) -> None:
    from store.models import Employee

    engine = make_engine(url)
    factory = make_session_factory(engine)
    check_world(engine, now)
    clock = fixed_clock(now)
    load_before = _load()
    timings: dict[str, list[float]] = {}
    cpu_times: dict[str, list[float]] = {}
    read_mb: dict[str, list[float]] = {}
    for (employee_id, query_text) in _queries(random.Random(3)) * repeat:
        scope = query_text.split()[0] if not query_text.startswith("<@") else "@someone"
        if scopes and scope not in scopes:
            continue
        with factory() as session:
            employee = session.get(Employee, employee_id)
            viewer = _Viewer(employee.id, employee.role, employee.team_id, employee.store_id, "Europe/Paris")
            server, read = _server_cpu_s(session), _bytes_read(session)
            started, cpu = time.perf_counter(), time.process_time()
            ask_kpi(session, viewer, query_text, clock)
            elapsed = time.perf_counter() - started
            used = time.process_time() - cpu + _server_cpu_s(session) - server
            read = _bytes_read(session) - read
        timings.setdefault(scope, []).append(elapsed)
        cpu_times.setdefault(scope, []).append(used)
        read_mb.setdefault(scope, []).append(read / 1e6)
    everything = [t for values in timings.values() for t in values]
    cpu_times["ALL"] = [t for values in cpu_times.values() for t in values]
    read_mb["ALL"] = [t for values in read_mb.values() for t in values]
    print(f"as of {now} UTC; load average {load_before} before")
    print(f"{'scope':10} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 CPU ms':>11} {'p95 MB read':>12}")
    for scope, values in [*timings.items(), ("ALL", everything)]:
        values.sort()
        at95 = int(len(values) * 0.95) - 1
        cpu_sorted, read_sorted = sorted(cpu_times[scope]), sorted(read_mb[scope])
        print(f"{scope:10} {len(values):7d} {statistics.median(values) * 1000:8.0f} "
              f"{values[at95] * 1000:8.0f} {values[-1] * 1000:8.0f} "
              f"{cpu_sorted[at95] * 1000:11.0f} {read_sorted[at95]:12.1f}")
    print(f"load average {_load()} after; CPU: this process's, plus on PostgreSQL its server backend's; "
          f"MB read: bytes the query read from files (the page cache or the disk), the same way", flush=True)
    if not with_digests:
        return

    digests(url, now)


LONG_REPORTS = [(1, "all last 90 days"), (1, "all last 365 days"), (1, "all last 365 days by employee"),
                (1, "all last 365 days by day"), (11, "team last 365 days"), (11, "store Store 001 last 365 days"),
                (12, "me last 365 days")]


def reports(url: str, zone: str, now: dt.datetime, texts: list[str] | None = None, *, warm: bool = True) -> None:
    """Time single /kpi reports (each twice: a process's first asking, then again), by default the year-long
    ones, for a viewer in `zone`; after the start-up warm-up unless `warm` is False."""
    from store.models import Employee

    engine = make_engine(url)
    check_world(engine, now)
    factory = make_session_factory(engine)
    clock = fixed_clock(now)
    wanted = [(1, text) for text in texts] if texts else LONG_REPORTS
    if warm:
        # What `frontline serve` does in each process before serving (handlers.kpi.commands.warm_up).
        started, cpu = time.perf_counter(), time.process_time()
        with factory() as session:
            warm_up(session, "Europe/Paris", now=clock())
        print(f"start-up warm-up (store.kpi.warm_up): {(time.perf_counter() - started) * 1000:.0f} ms "
              f"(CPU {(time.process_time() - cpu) * 1000:.0f} ms)", flush=True)
    for employee_id, query_text in wanted:
        times = []
        for _ in range(2):
            with factory() as session:
                employee = session.get(Employee, employee_id)
                viewer = _Viewer(employee.id, employee.role, employee.team_id, employee.store_id, zone)
                server = _server_cpu_s(session)
                started, cpu = time.perf_counter(), time.process_time()
                ask_kpi(session, viewer, query_text, clock)
                times.append((time.perf_counter() - started,
                              time.process_time() - cpu + _server_cpu_s(session) - server))
        print(f"{query_text:40} {zone:18} {times[0][0]:6.3f} s, then {times[1][0]:6.3f} s "
              f"(CPU {times[1][1]:.3f} s; load average {_load()})", flush=True)


def digests(url: str, now: dt.datetime, *, teams: bool = True) -> None:
    """Compose every morning digest the way the scheduler does: batches of employees, then batches of managers."""
    from store.digest import compose_employee_digests, compose_team_digests
    from store.models import Employee

    engine = make_engine(url)
    check_world(engine, now)
    factory = make_session_factory(engine)
    tz = ZONE
    today = now.replace(tzinfo=dt.UTC).astimezone(tz).date()
    batch = 200  # bot.scheduler.DIGEST_BATCH
    with factory() as session:
        employees = [_Viewer(e.id, e.role, e.team_id, e.store_id, "Europe/Paris")
                     for e in session.execute(Employee.__table__.select().order_by(Employee.id))]

    def timed(label: str, people: list, compose) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        composed, server = 0, 0.0
        for offset in range(0, len(people), batch):
            with factory() as session:
                server -= _server_cpu_s(session)
                result = compose(session, people[offset:offset + batch], today=today, now=now, tz=tz)
                server += _server_cpu_s(session)
            composed += sum(d is not None for d in result.values())
        on_server = f", server CPU {server:.1f}s" if server else ""
        print(f"{label}: {len(people)} recipients ({composed} non-empty) in {time.perf_counter() - started:.1f}s "
              f"(client CPU {time.process_time() - cpu:.1f}s{on_server}), batches of {batch}; load average {_load()}",
              flush=True)

    timed("employee digests", employees, compose_employee_digests)
    if teams:
        timed("team digests", [e for e in employees if e.role != "associate"], compose_team_digests)
    engine.dispose()


def _server_cpu_s(session) -> float:
    """CPU time so far of the PostgreSQL backend serving this session when it runs on this machine
    (/proc/<pid>/schedstat); 0 for SQLite, whose work is already in this process's CPU time."""
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    pid = session.connection().connection.dbapi_connection.info.backend_pid
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0]) / 1e9
    except OSError:
        return 0.0


def _bytes_read(session) -> int:
    """Bytes read from files so far by this process (SQLite's reads of the database file) plus, on
    PostgreSQL, its server backend's (/proc/<pid>/io `rchar`): what a query needs from the page cache,
    i.e. what it would wait for from the disk with a cold cache."""
    pids = ["self"]
    if session.get_bind().dialect.name == "postgresql":
        pids.append(str(session.connection().connection.dbapi_connection.info.backend_pid))
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/io") as io:
                total += next(int(line.split()[1]) for line in io if line.startswith("rchar"))
        except (OSError, StopIteration):
            pass
    return total


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def check_world(engine, now: dt.datetime) -> None:
    """Stop unless the database was generated as of `now` (its employees were created at that moment):
    measuring another moment than the world's end reads half-empty periods."""
    with engine.connect() as connection:
        created = connection.execute(text("SELECT created_at FROM employees WHERE id = 1")).scalar()
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created)
    if created != now:
        raise SystemExit(f"this database was generated as of {created} UTC, not {now} UTC: pass the same --as-of")


class _Viewer:
    def __init__(self, id, role, team_id, store_id, timezone):
        self.id, self.role, self.team_id, self.store_id, self.timezone = id, role, team_id, store_id, timezone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["generate", "rollup", "catch-up", "run", "reports", "digests"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--employee-digests-only", action="store_true", help="digests: skip the team digests")
    parser.add_argument("--scopes", help="comma-separated /kpi scopes to time (me,team,@someone,store,all); default all")
    parser.add_argument("--no-digests", action="store_true", help="time /kpi only")
    parser.add_argument("--zone", default="Europe/Paris", help="reports: the viewer's time zone")
    parser.add_argument("--as-of", default=DEFAULT_AS_OF,
                        help=f"the world's end and the moment reports are asked, local time in Europe/Paris "
                             f"(default {DEFAULT_AS_OF}); the same for generate and the measurements")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="reports: skip the start-up warm-up `frontline serve` does (store.kpi.warm_up)")
    parser.add_argument("report", nargs="*", help="reports: /kpi texts for the admin (default: year-long reports)")
    args = parser.parse_intermixed_args()
    now = as_of_utc(args.as_of)
    if args.action == "generate":
        generate(args.url, args.interactions, now)
    elif args.action == "reports":
        reports(args.url, args.zone, now, args.report, warm=not args.no_warm_up)
    elif args.action == "rollup":
        build_rollup(args.url)
    elif args.action == "catch-up":
        catch_up(args.url)
    elif args.action == "digests":
        digests(args.url, now, teams=not args.employee_digests_only)
    else:
        run(args.url, args.repeat, now, set(args.scopes.split(",")) if args.scopes else None, not args.no_digests)


if __name__ == "__main__":
    main()
