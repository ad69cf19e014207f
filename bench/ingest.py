"""Live-data ingestion benchmark: senders post mixed identify/track batches to the tracking API, worker
processes apply them; measures the rate accepted, the rate applied, and the time from each event's 2xx
to its being applied.

    .venv/bin/python bench/ingest.py --url sqlite:////tmp/frontline-ingest.db --events 20000
    tests/with_postgres.sh sh -c '.venv/bin/python bench/ingest.py --url "$FRONTLINE_TEST_POSTGRES_URL" --events 20000'
    .venv/bin/python bench/ingest.py ... --rate 500     # open loop: hold 500 events/s instead of sending flat out
    .venv/bin/python bench/ingest.py --url sqlite:////tmp/ingestfast-1m.db --rate 1000 --events 60000 \
        --people 20000 --lookup-employees 20 --lookup-seconds 60 --compare-import   # the issue's whole proof

`--lookup-employees N` runs bench/load.py's `/customer` over HTTP (its own gunicorn server, signed Slack
requests) with N employees on the same database, back to back (the default: the 2 cores' saturation view)
or, with `--lookup-think 3`, each pausing 3 s on average between lookups (the realistic view), while the events
flow (started `--lookup-lead` s before them, for its server's start and warm-up: give `--rate` and `--events`
so the events last at least `--lookup-seconds`). `--compare-import` then writes the same events through
`frontline import` (the identifies as a people file, the views as a signals file) and reports its rate.

The server is a separate process serving the real routes (bot.ingest_web.IngestRoutes) on a threaded WSGI
server; the workers are `frontline ingest work` processes. Senders (threads of this process) send batches
of 100 (gzip, write key as Basic auth, keep-alive), identify for a share of the events (new and known
people: identity on arrival runs) and track for the rest. "2xx to applied" is applied_at - received_at
of every event, read from the inbox table (received_at is stamped when the request stores the batch,
just before its 2xx; applied_at when the worker step has applied it, just before its commit).
"""
from __future__ import annotations

import argparse
import base64
import gzip
import http.client
import itertools
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402 - after the path set-up, as the other benchmarks

from store import sources  # noqa: E402
from store.clock import utc_now  # noqa: E402
from store.db import make_engine, make_session_factory, migrate  # noqa: E402
from store.models import Customer, InboxMessage, LiveSource  # noqa: E402
from store.vocabulary import InboxState, SourceKind  # noqa: E402

FIRST = ["Hélène", "Jean", "Marie", "Lucas", "Chloé", "Hugo", "Léa", "Louis", "Emma", "Gabriel", "Inès", "Paul"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier"]
PRODUCTS = [(f"SKU-{n:04d}", f"Product {n}") for n in range(500)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- the server process ------------------------------------------------------------------------

def serve(url: str, port: int, bound: int) -> None:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from bot.ingest_web import IngestRoutes
    from store.db import REQUEST_BUSY_TIMEOUT_MS

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, format, *args):
            return

    engine = make_engine(url, busy_timeout_ms=REQUEST_BUSY_TIMEOUT_MS)
    routes = IngestRoutes(make_session_factory(engine), inbox_bound=bound)
    server = make_server("127.0.0.1", port, routes, server_class=Server, handler_class=Quiet)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("serving", flush=True)
    server.serve_forever(0.1)


# ---- the senders -------------------------------------------------------------------------------

def person(n: int) -> tuple[str, str, str]:
    """Person n's first name, last name and postcode: no two people of a run share all three (below 48,000
    people), as few people in a real customer base do. (Until 2026-12-02 the names were FIRST x LAST alone and
    the postcodes 20: people n and n + 240 were namesakes in the same postcode, so every identify was linked
    against its namesakes' records and their customers' golden records rebuilt, and two worker processes
    deadlocked on those shared customers: an artefact of the bench, not of a customer base. The number then
    added to the last name did not separate them: the matcher compares names without their digits, so people
    n and n + 600 were still merged into one customer, four web accounts per customer at 2,400 people.) Here
    the 240 first x last names each come once in a postcode (person n = 240 q + r has name r, postcode q + r
    mod 200). 200 postcodes: about a hundred bench people in each, as a French postcode holds ~170 of a million
    customers."""
    q, r = divmod(n, len(FIRST) * len(LAST))
    return FIRST[r % len(FIRST)], f"{LAST[r // len(FIRST)]}{n % 997}", f"{69000 + (q + r) % 200:05d}"


def make_batch(rng: random.Random, size: int, people: int, identify_share: float,
               keep: list[dict] | None = None) -> bytes:
    messages: list[dict] = [] if keep is None else keep
    for _ in range(size):
        n = rng.randrange(people)
        user = f"bench-{n}"
        if rng.random() < identify_share:
            first, last, postcode = person(n)
            messages.append({"type": "identify", "userId": user, "messageId": str(uuid.uuid4()),
                             "traits": {"firstName": first, "lastName": last, "email": f"{user}@example.com",
                                        "address": {"postalCode": postcode, "city": "Lyon"}},
                             "timestamp": utc_now().isoformat() + "Z"})
        else:
            sku, name = rng.choice(PRODUCTS)
            messages.append({"type": "track", "userId": user, "event": "Product Viewed",
                             "messageId": str(uuid.uuid4()), "properties": {"product_id": sku, "name": name,
                                                                             "price": 49.9, "currency": "EUR"},
                             "timestamp": utc_now().isoformat() + "Z"})
    document = {"batch": messages[-size:], "sentAt": utc_now().isoformat() + "Z"}
    return gzip.compress(json.dumps(document).encode())


class Sender(threading.Thread):
    def __init__(self, port: int, key: str, batches: int, args, seed: int, pace: float | None) -> None:
        super().__init__(daemon=True)
        self.port, self.batches, self.args, self.pace = port, batches, args, pace
        self.rng = random.Random(seed)
        self.auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        self.accepted = self.throttled = self.failed = 0
        self.request_seconds: list[float] = []
        self.sent: list[dict] | None = [] if args.compare_import else None  # what was accepted, for the import

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.monotonic()
        for number in range(self.batches):
            if self.pace is not None:  # open loop: this sender's share of the target rate
                delay = started + number * self.pace - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            body = make_batch(self.rng, self.args.batch, self.args.people, self.args.identify_share, self.sent)
            while True:
                sent = time.perf_counter()
                try:
                    connection.request("POST", "/v1/batch", body, {
                        "Authorization": self.auth, "Content-Type": "application/json", "Content-Encoding": "gzip"})
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    self.failed += 1
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    continue
                self.request_seconds.append(time.perf_counter() - sent)
                if response.status in (429, 503):  # as the clients do: wait, send the same batch again
                    self.throttled += 1
                    time.sleep(min(5.0, float(response.getheader("Retry-After") or 1)) / 5)
                    continue
                if response.status != 200:
                    self.failed += 1
                else:
                    self.accepted += self.args.batch
                break
        connection.close()


def start_lookups(url: str, customers: int, args) -> subprocess.Popen:
    """bench/load.py's `/customer` over HTTP (its own gunicorn server, signed Slack requests, the Slack stand-in)
    by `--lookup-employees` employees back to back, on the same database, while the events flow."""
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--url", url, "--pg-database=", "--mix", "lookup",
               "--customers", str(customers), "--employees", str(args.lookup_employees),
               "--duration", str(args.lookup_seconds), "--warmup", "5", "--workers", "2",
               "--think", str(args.lookup_think)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"})


def compare_import(url: str, messages: list[dict], name: str) -> None:
    """The same events written through `frontline import` (what a nightly export does today): the identifies as
    a people file (each person's last traits), the Product Viewed as a signals file, under a source of their own.
    Prints each import's wall and CPU time (the child processes')."""
    people: dict[str, dict] = {}
    signals = []
    for message in messages:
        if message["type"] == "identify":
            traits = message["traits"]
            people[message["userId"]] = {"source_id": message["userId"], "first_name": traits["firstName"],
                                         "last_name": traits["lastName"], "email": traits["email"],
                                         "postcode": traits["address"]["postalCode"], "city": traits["address"]["city"]}
        else:
            props = message["properties"]
            signals.append({"source_id": message["userId"], "kind": "viewed", "sku": props["product_id"],
                            "product_name": props["name"], "price": props["price"], "currency": props["currency"],
                            "occurred_at": message["timestamp"].rstrip("Z")})
    # A Product Viewed about a userId never identified in this run waits in the inbox ("track waiting"); the import
    # refuses a signal about an unknown person record and stops there: leave those out of the file, and say so.
    unknown = sum(1 for row in signals if row["source_id"] not in people)
    signals = [row for row in signals if row["source_id"] in people]
    if unknown:
        print(f"signals about people never identified in this run, left out of the import: {unknown:,}")
    folder = Path(tempfile.mkdtemp(prefix="frontline-ingest-import-"))
    source = f"{name}-import"
    files = {"people": folder / "people.jsonl", "signals": folder / "signals.jsonl"}
    files["people"].write_text("".join(json.dumps(row) + "\n" for row in people.values()))
    files["signals"].write_text("".join(json.dumps(row) + "\n" for row in signals))
    frontline = str(Path(sys.executable).with_name("frontline"))
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    total_wall = total_cpu = 0.0
    for kind, rows in (("people", len(people)), ("signals", len(signals))):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        done = subprocess.run([frontline, "import", "--kind", kind, "--source", source, "--no-progress",
                               str(files[kind])], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"frontline import --kind {kind}: {rows:,} rows in {wall:.1f} s wall ({rows / wall:,.0f} rows/s), "
              f"CPU {cpu:.1f} s (exit {done.returncode}; {done.stderr.strip().splitlines()[-1:] or ''})")
    written = len(people) + len(signals)
    print(f"frontline import, both files: {written:,} rows (from {len(messages):,} events) in {total_wall:.1f} s "
          f"= {written / total_wall:,.0f} rows/s, CPU {1000 * total_cpu / max(written, 1):.2f} ms/row "
          f"(load average {os.getloadavg()[0]:.1f})")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"{len(values):,} events: p50 {statistics.median(values):.2f} s, p95 {percentile(values, 0.95):.2f} s, "
            f"max {max(values):.2f} s")


def latency_causes(rows: list) -> None:
    """Where the 2xx -> applied time went, from the inbox rows alone (type, state, received_at, applied_at,
    person_key, attempts, id):
    - events applied at their first try, and those that waited for their person's identify (a track about a
      userId not identified yet: `unknown_person`, by design), the latter also measured from the 2xx of the
      identify that made them appliable (the fact's own 2xx is then not the system's latency);
    - the queue: a step stamps every event it applied with one applied_at, so the steps, their sizes and the
      gaps between their commits are read back from the table;
    - by time of arrival (10 s windows), to tell a steady queue from bursts."""
    applied = [row for row in rows if row[1] == InboxState.APPLIED and row[3] is not None]
    if not applied:
        return
    first_identify: dict[str, object] = {}
    for kind, _, received, _, person, _, _ in sorted(applied, key=lambda r: r[6]):
        if kind == "identify" and person is not None and person not in first_identify:
            first_identify[person] = received
    direct = [(a - r).total_seconds() for _, _, r, a, _, attempts, _ in applied if attempts <= 1]
    waited = [row for row in applied if row[5] > 1]
    print(f"  applied at the first try: {_quantiles(direct)}")
    if waited:
        since_identify = [(a - max(r, first_identify.get(p, r))).total_seconds() for _, _, r, a, p, _, _ in waited]
        print(f"  waited for their person's identify (tried again): {_quantiles([(a - r).total_seconds() for _, _, r, a, *_ in waited])}; "
              f"from that identify's 2xx: {_quantiles(since_identify)}")
        everything = direct + since_identify
        print(f"  2xx -> on the card (all, the waited ones from their identify's 2xx: a track about a userId not "
              f"identified yet cannot be on a card before that): {_quantiles(everything)}")
    for kind in sorted({row[0] for row in applied}):
        print(f"  {kind} at the first try: "
              f"{_quantiles([(a - r).total_seconds() for k, _, r, a, _, n, _ in applied if k == kind and n <= 1])}")
    steps: dict[object, int] = {}
    for row in applied:
        steps[row[3]] = steps.get(row[3], 0) + 1
    ends = sorted(steps)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(ends)]
    sizes = [steps[end] for end in ends]
    print(f"  steps (one applied_at each): {len(ends):,}, events per step p50 {statistics.median(sizes):.0f}, "
          f"mean {statistics.mean(sizes):.1f}, max {max(sizes)}; between commits p50 {statistics.median(gaps or [0]) * 1000:.0f} ms, "
          f"p95 {percentile(gaps, 0.95) * 1000:.0f} ms, max {max(gaps or [0]) * 1000:.0f} ms; "
          f"gaps over 0.5 s: {sum(1 for g in gaps if g > 0.5)} ({sum(g for g in gaps if g > 0.5):.1f} s)")
    start = min(row[2] for row in applied)
    windows: dict[int, list[float]] = {}
    for _, _, received, done, _, attempts, _ in applied:
        if attempts <= 1:
            windows.setdefault(int((received - start).total_seconds() // 10), []).append((done - received).total_seconds())
    print("  at the first try, by arrival (10 s windows): " + "; ".join(
        f"{10 * w}s p50 {statistics.median(v):.1f}/p95 {percentile(v, 0.95):.1f}" for w, v in sorted(windows.items())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="`frontline ingest work` processes")
    parser.add_argument("--people", type=int, default=5_000, help="distinct userIds the events are about")
    parser.add_argument("--identify-share", type=float, default=0.2)
    parser.add_argument("--rate", type=float, default=None, help="events/s to hold (default: as fast as possible)")
    parser.add_argument("--bound", type=int, default=100_000, help="FRONTLINE_INBOX_MAX of the server")
    parser.add_argument("--lookup-employees", type=int, default=0,
                        help="this many employees look customers up (/customer over HTTP, bench/load.py) meanwhile")
    parser.add_argument("--lookup-think", type=float, default=0.0,
                        help="mean pause between an employee's lookups, s (0: back to back, the default; 3: the realistic "
                             "view, the mean pause of the project's other HTTP bar)")
    parser.add_argument("--lookup-seconds", type=float, default=60.0, help="measured seconds of those lookups")
    parser.add_argument("--lookup-lead", type=float, default=25.0,
                        help="seconds between starting the lookups and the first event (their server's start, warm-up)")
    parser.add_argument("--compare-import", action="store_true",
                        help="then write the same events through `frontline import` and report its rate")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='frontline-ingest-')}/ingest.db"
    if args.serve:
        serve(url, args.port, args.bound)
        return 0

    migrate(url)
    engine = make_engine(url)
    session_factory = make_session_factory(engine)
    name = f"bench{int(time.time()) % 10_000_000}"
    with session_factory.begin() as session:
        key = sources.add_source(session, name, SourceKind.SEGMENT, secret=None, now=utc_now())
        source_id = session.scalar(select(LiveSource.id).where(LiveSource.name == name))
    assert key is not None

    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--url", url, "--port", str(port),
                               "--bound", str(args.bound)], env=env, stdout=subprocess.PIPE)
    assert server.stdout is not None and server.stdout.readline().strip() == b"serving"
    frontline = str(Path(sys.executable).with_name("frontline"))
    workers = [subprocess.Popen([frontline, "ingest", "work", "--threads", "1"], env=env)
               for _ in range(args.workers)]
    lookups = None
    if args.lookup_employees:
        with session_factory() as session:
            customers = int(session.scalar(select(func.count()).select_from(Customer)) or 0)
        lookups = start_lookups(url, customers, args)
        time.sleep(args.lookup_lead)
    load_before = os.getloadavg()
    batches = args.events // args.batch
    pace = None if args.rate is None else args.senders * args.batch / args.rate
    senders = [Sender(port, key, batches // args.senders + (1 if n < batches % args.senders else 0), args, n, pace)
               for n in range(args.senders)]
    cpu_self = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    sent = time.monotonic()
    total = sum(s.accepted for s in senders)
    deadline = time.monotonic() + 600
    with session_factory() as session:
        while True:
            # whether any is left, not how many: counting a big backlog 20 times a second took a good part of a
            # core from the processes measured (the bench process's CPU, 18-50 s in a loaded 30,000-event run)
            # in the order of the (state, due_at, id) index: a bare LIMIT 1 was planned as a scan of the whole
            # inbox (the pending rows, few at the end, found last: 35 ms a poll at 40,000 rows, on the server)
            left = session.scalar(select(InboxMessage.id).where(
                InboxMessage.state == InboxState.PENDING, InboxMessage.source_id == source_id)
                .order_by(InboxMessage.due_at, InboxMessage.id).limit(1))
            session.rollback()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    applied_all = time.monotonic()
    load_after = os.getloadavg()
    cpu = {"server": cpu_seconds(server.pid), "workers": sum(cpu_seconds(w.pid) for w in workers)}
    after_self = resource.getrusage(resource.RUSAGE_SELF)
    cpu["senders (bench process)"] = (after_self.ru_utime + after_self.ru_stime
                                      - cpu_self.ru_utime - cpu_self.ru_stime)
    for process in (server, *workers):
        process.send_signal(signal.SIGTERM)
    for process in (server, *workers):
        process.wait(60)
    with session_factory() as session:
        rows = list(session.execute(select(InboxMessage.type, InboxMessage.state, InboxMessage.received_at,
                                           InboxMessage.applied_at, InboxMessage.person_key, InboxMessage.attempts,
                                           InboxMessage.id).where(InboxMessage.source_id == source_id)))
    engine.dispose()
    latencies = [(applied - received).total_seconds() for _, state, received, applied, *_ in rows
                 if state == InboxState.APPLIED and applied is not None]
    states: dict[str, int] = {}
    for kind, state, *_ in rows:
        states[f"{kind} {state}"] = states.get(f"{kind} {state}", 0) + 1
    requests = [r for s in senders for r in s.request_seconds]
    parsed = urlparse(url)
    print(f"database: {parsed.scheme}  events: {total:,} accepted in batches of {args.batch} "
          f"({args.identify_share:.0%} identify, {args.people:,} people), {args.senders} senders, "
          f"{args.workers} worker processes, rate target: {args.rate or 'none (flat out)'}")
    print(f"stored rows: {len(rows):,}  states: {dict(sorted(states.items()))}")
    print(f"accepted: {total / (sent - started):,.0f} events/s over {sent - started:.1f} s "
          f"(429/503 retried: {sum(s.throttled for s in senders)}, errors: {sum(s.failed for s in senders)}); "
          f"request p50 {percentile(requests, 0.5) * 1000:.0f} ms, p95 {percentile(requests, 0.95) * 1000:.0f} ms")
    print(f"applied: all {total:,} within {applied_all - started:.1f} s of the first send "
          f"= {total / (applied_all - started):,.0f} events/s sustained")
    if latencies:
        print(f"2xx -> applied: p50 {statistics.median(latencies):.2f} s, p95 {percentile(latencies, 0.95):.2f} s, "
              f"max {max(latencies):.2f} s")
    latency_causes(rows)
    print("CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    if lookups is not None:
        output, _ = lookups.communicate(timeout=args.lookup_seconds + 600)
        pace = ("back to back (no pause)" if not args.lookup_think
                else f"mean pause {args.lookup_think:g} s between lookups (realistic view)")
        print(f"/customer over HTTP meanwhile (bench/load.py, {args.lookup_employees} employees, {pace}, "
              f"exit {lookups.returncode}):")
        print(output.strip())
    if args.compare_import:
        compare_import(url, [m for s in senders for m in (s.sent or [])], name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
