"""The inbox workers' CPU per event, without HTTP: what caps the rate applied (issue 11).

Stores events straight into the inbox (store.inbox.store_events, as the routes do), then drains it in
this process with the real worker step (bot.ingest.InboxWorkers.step: the real appliers, batch of 100,
the step's time budget), and reports this process's CPU time per event applied, with the database
server's CPU on PostgreSQL when it runs on this machine (the backends' /proc/<pid>/stat). Two phases:

1. `--people` new people identify themselves (identity on arrival: each is linked, most as new customers);
2. a mixed stream about them: `--identify-share` identifies (a changed phone: a known person's record
   changes and is relinked; with `--same-traits`, phase 1's traits again, only the timestamp later, as
   bench/ingest.py sends them), the rest `Product Viewed` tracks (recently viewed on the card);
3. with `--single N`: N new people identify one at a time, each in its own step (one arriving record
   linked: p50/p95 of the step's wall and CPU time).

    .venv/bin/python bench/ingest_cpu.py --url sqlite:////tmp/ingest-cpu.db --people 2000 --events 5000
    .venv/bin/python bench/ingest_cpu.py --url sqlite:////tmp/ingestfast-1m.db ...   # a copy of a 1M world
    .venv/bin/python bench/ingest_cpu.py ... --profile 30       # the 30 costliest functions (cProfile, CPU clock)

The database is migrated to head first (a new SQLite file is created).
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402 - after the path set-up, as the other benchmarks

from bench.ingest import person  # noqa: E402
from bot.ingest import InboxWorkers  # noqa: E402
from store import inbox, sources  # noqa: E402
from store.clock import utc_now  # noqa: E402
from store.db import make_engine, make_session_factory, migrate  # noqa: E402
from store.live.segment import parse_message  # noqa: E402
from store.models import InboxMessage, LiveSource  # noqa: E402
from store.vocabulary import InboxState, SourceKind  # noqa: E402

def identify(run: str, n: int, at: dt.datetime, phone: str | None = None) -> dict:
    # Person n as bench/ingest.py names them (no two alike in name and postcode). Until 2026-12-02 this bench had
    # its own names in 20 postcodes: people n and n + 240 were near-namesakes in one postcode, linked as one
    # customer, so each repeated identify moved that customer's golden record from one to the other.
    first, last, postcode = person(n)
    traits = {"firstName": first, "lastName": last, "email": f"{run}-{n}@example.com",
              "address": {"postalCode": postcode, "city": "Lyon"}}
    if phone:
        traits["phone"] = phone
    return {"type": "identify", "userId": f"{run}-{n}", "messageId": str(uuid.uuid4()), "traits": traits,
            "timestamp": at.isoformat() + "Z"}


def track(run: str, n: int, rng: random.Random, at: dt.datetime) -> dict:
    sku = rng.randrange(500)
    return {"type": "track", "userId": f"{run}-{n}", "event": "Product Viewed", "messageId": str(uuid.uuid4()),
            "properties": {"product_id": f"SKU-{sku:04d}", "name": f"Product {sku}", "price": 49.9,
                           "currency": "EUR"}, "timestamp": at.isoformat() + "Z"}


def server_cpu(session_factory) -> float:
    """CPU seconds of every backend of this database's server, when it runs here (PostgreSQL)."""
    with session_factory() as session:
        if session.bind.dialect.name != "postgresql":
            return 0.0
        pids = list(session.scalars(text("select pid from pg_stat_activity where datname = current_database()")))
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def drain(workers: InboxWorkers, session_factory, profile: cProfile.Profile | None) -> tuple[int, float, float, float]:
    """Applies everything due; returns (events handled, wall s, this process's CPU s, server CPU s)."""
    handled = 0
    server_before = server_cpu(session_factory)
    wall, cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    while (report := workers.step()).claimed:
        handled += report.claimed
    if profile is not None:
        profile.disable()
    return (handled, time.perf_counter() - wall, time.process_time() - cpu,
            server_cpu(session_factory) - server_before)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--identify-share", type=float, default=0.2)
    parser.add_argument("--same-traits", action="store_true",
                        help="phase 2's identifies repeat phase 1's traits (as bench/ingest.py's, and sites on every "
                             "visit) instead of a changed phone")
    parser.add_argument("--profile", type=int, default=0,
                        help="print the N costliest functions of phase 2 (cProfile on this process's CPU clock: "
                             "time waiting on the database server is not counted)")
    parser.add_argument("--profile-out", help="also save phase 2's profile there (pstats)")
    parser.add_argument("--single", type=int, default=0,
                        help="phase 3: N identifies of new people, each alone in its step (p50/p95 per record)")
    args = parser.parse_args()
    migrate(args.url)  # to head; nothing to do when it is there
    engine = make_engine(args.url)
    session_factory = make_session_factory(engine)
    run = uuid.uuid4().hex[:6]  # new people on every run: the database may be reused
    now = utc_now()
    with session_factory.begin() as session:
        name = f"cpu-{run}"
        sources.add_source(session, name, SourceKind.SEGMENT, secret=None, now=now)
        source_id = session.scalars(select(LiveSource.id).where(LiveSource.name == name)).one()
    with session_factory() as session:
        customers = session.scalar(text("select count(*) from customers"))
    workers = InboxWorkers(session_factory, count=0)
    rng = random.Random(7)
    print(f"{args.url.split('@')[-1]}: {customers:,} customers before; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    def store(messages: list[dict]) -> None:
        at = utc_now()
        for start in range(0, len(messages), 100):  # batches of 100, as the senders post them
            with session_factory.begin() as session:
                inbox.store_events(session, source_id, [parse_message(m, received_at=at)
                                                        for m in messages[start:start + 100]], at)

    store([identify(run, n, now) for n in range(args.people)])
    handled, wall, cpu, server = drain(workers, session_factory, None)
    print(f"phase 1, {handled:,} new people identify: {handled / wall:,.0f}/s wall, "
          f"CPU {1000 * cpu / handled:.2f} ms/event here + {1000 * server / handled:.2f} ms server")

    mixed = []
    for _ in range(args.events):
        n = rng.randrange(args.people)
        if rng.random() < args.identify_share:
            if args.same_traits:  # the site identifies again on a visit: the same traits, a later timestamp
                mixed.append(identify(run, n, now + dt.timedelta(seconds=1 + len(mixed))))
            else:
                mixed.append(identify(run, n, now, phone=f"06{rng.randrange(10**8):08d}"))
        else:
            mixed.append(track(run, n, rng, now))
    store(mixed)
    profile = cProfile.Profile(time.process_time) if args.profile or args.profile_out else None
    handled, wall, cpu, server = drain(workers, session_factory, profile)
    handled = max(handled, 1)  # --events 0: phase 3 only
    with session_factory() as session:
        states = dict(session.execute(select(InboxMessage.state, func.count()).where(
            InboxMessage.source_id == source_id).group_by(InboxMessage.state)).all())
    print(f"phase 2, {handled:,} mixed events ({args.identify_share:.0%} identify): {handled / wall:,.0f}/s wall, "
          f"CPU {1000 * cpu / handled:.2f} ms/event here + {1000 * server / handled:.2f} ms server; "
          f"states {states}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if profile is not None and args.profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
    if profile is not None and args.profile_out:
        profile.dump_stats(args.profile_out)
    if args.single:
        # One arriving record linked alone (issue 12's bar, the same code path): its step's wall and CPU time,
        # claim and commit included.
        walls, cpus = [], []
        for n in range(args.people, args.people + args.single):
            store([identify(run, n, now)])
            handled, wall, cpu, server = drain(workers, session_factory, None)
            assert handled == 1
            walls.append(wall * 1000)
            cpus.append((cpu + server) * 1000)
        walls.sort()
        cpus.sort()
        p95 = min(len(walls) - 1, int(0.95 * len(walls)))
        print(f"phase 3, {args.single} identifies of new people, each alone: wall p50 {walls[len(walls) // 2]:.1f} ms, "
              f"p95 {walls[p95]:.1f} ms; CPU (here + server) p50 {cpus[len(cpus) // 2]:.1f} ms, p95 {cpus[p95]:.1f} ms; "
              f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    assert set(states) <= {InboxState.APPLIED}, states
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
