"""One arriving record linked (issue 12's bar: p95 <= 20 ms at 1M customers), on a realistic world.

    .venv/bin/python bench/arrival.py --url sqlite:////tmp/arrival-1m.db --build 1000000   # once, ~10 min
    .venv/bin/python bench/arrival.py --url sqlite:////tmp/arrival-1m.db --arrivals 300     # the measure
    .venv/bin/python bench/arrival.py --url postgresql+psycopg://frontline@127.0.0.1:55432/arrival1m --arrivals 300

The world: `--build N` writes the people of bench/synthetic_people.py (N people, about 1.71 source
records each from web / pos / crm, with their typos, shared households, families and common names) as
source records already grouped into one customer per person, so the neighbourhood an arrival reads is
the one a real base of N customers has (many records per birth date, per postcode, per family e-mail).
Held out of the world and used as arrivals: every record of one person in 2,000 (a new customer) and
the later records of another one in 2,000 (a known customer seen in one more source).

The measure: each arrival is added (an ORM object, as the live appliers write it), then `store.arrival.link_arrival` runs on it alone, then the
transaction is rolled back, so every run meets the same world. Reported per arrival: this process's
CPU (user + sys) and, on PostgreSQL, the server backends' CPU, for the link alone (the bar) and with
the insert and the final flush; wall time is shown with the load average (CPU is what load inflates
least). `--profile N` prints the N costliest functions.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from bench.ingest_cpu import server_cpu
from bench.synthetic_people import generate
from store.arrival import link_arrival
from store.db import make_engine, make_session_factory, migrate
from store.identity import IdentityRecord
from store.models import Customer, SourceRecord
from store.vocabulary import CustomerStatus

BUILT_AT = dt.datetime(2024, 5, 1, 10, 0)
CHUNK = 20_000
SEED = 1


def _held(person: int, seen_before: bool) -> bool:
    """Records kept out of the world: a new person's (1 in 2,000), a known person's later ones (1 in 2,000)."""
    return person % 2000 == 1 or (person % 2000 == 2 and seen_before)


def _row(source: str, record: IdentityRecord, customer_id: int | None) -> dict:
    fields = (record.first_name, record.last_name, record.email, record.phone, record.birth_date, record.street,
              record.postcode, record.city, record.country, record.loyalty_id)
    return {"source": f"bench-{source}", "source_id": str(record.key), "customer_id": customer_id,
            "first_name": record.first_name, "last_name": record.last_name, "email": record.email,
            "phone": record.phone, "birth_date": record.birth_date, "street": record.street,
            "postcode": record.postcode, "city": record.city, "country": record.country,
            "loyalty_id": record.loyalty_id, "attributes": {},
            "content_hash": hashlib.sha256(repr(fields).encode()).hexdigest(),
            "source_updated_at": BUILT_AT, "imported_at": BUILT_AT, "updated_at": BUILT_AT}


def build(session_factory, people: int) -> None:
    """Write the world: customers first (one per person, golden fields from their first record), records after."""
    started = time.monotonic()
    customers: list[dict] = []
    records: list[dict] = []
    seen: set[int] = set()
    written = 0
    with session_factory.begin() as session:
        if session.bind.dialect.name == "sqlite":  # index inserts land all over big indexes: keep them cached
            session.execute(text("PRAGMA cache_size = -1048576"))
        for source, person, record in generate(people=people, seed=SEED):
            if _held(person, person in seen):
                seen.add(person)
                continue
            customer_id = person + 1
            if person not in seen:
                seen.add(person)
                customers.append({"id": customer_id, "status": CustomerStatus.ACTIVE, "first_name": record.first_name,
                                  "last_name": record.last_name, "email": record.email, "phone": record.phone,
                                  "birth_date": record.birth_date, "postcode": record.postcode, "city": record.city,
                                  "provenance": {}, "created_at": BUILT_AT, "updated_at": BUILT_AT})
            records.append(_row(source, record, customer_id))
            if len(records) >= CHUNK:
                session.execute(insert(Customer), customers)
                session.execute(insert(SourceRecord), records)
                written += len(records)
                customers, records = [], []
                print(f"\r{written:,} records, {time.monotonic() - started:.0f}s", end="", file=sys.stderr, flush=True)
        if records:
            session.execute(insert(Customer), customers)
            session.execute(insert(SourceRecord), records)
            written += len(records)
        if session.bind.dialect.name == "postgresql":  # ids were given: the sequence must pass them
            session.execute(text("select setval('customers_id_seq', (select max(id) from customers))"))
    print(f"\nbuilt {len(seen):,} people, {written:,} records in {time.monotonic() - started:.0f}s", file=sys.stderr)


def arrivals(people: int, count: int) -> list[tuple[str, IdentityRecord]]:
    """The held-out records, in generation order (new people's and known people's interleaved)."""
    chosen: list[tuple[str, IdentityRecord]] = []
    seen: set[int] = set()
    for source, person, record in generate(people=people, seed=SEED):
        if _held(person, person in seen):
            chosen.append((source, record))
            if len(chosen) == count:
                break
        seen.add(person)
    return chosen


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--build", type=int, default=0, help="write a world of N people first (empty database)")
    parser.add_argument("--people", type=int, default=1_000_000, help="the world's size (to find its held-out records)")
    parser.add_argument("--arrivals", type=int, default=300)
    parser.add_argument("--profile", type=int, default=0)
    args = parser.parse_args()
    migrate(args.url)
    engine = make_engine(args.url)
    session_factory = make_session_factory(engine)
    if args.build:
        build(session_factory, args.build)
        args.people = args.build
    with session_factory() as session:
        customers = session.scalar(text("select count(*) from customers"))
        records = session.scalar(text("select count(*) from source_records"))
    print(f"{args.url.split('@')[-1]}: {customers:,} customers, {records:,} source records; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    chosen = arrivals(args.people, args.arrivals)
    profile = cProfile.Profile() if args.profile else None
    link_cpu, total_cpu, walls = [], [], []
    outcomes: list[tuple[int, object, tuple[int, ...]]] = []
    reviews = 0
    for n, (source, record) in enumerate(chosen):
        session = session_factory()
        try:
            cpu0, server0, wall0 = time.process_time(), server_cpu(session_factory), time.perf_counter()
            row = _row(source, record, None) | {"source": f"arrival-{source}"}
            added = SourceRecord(**row)  # an ORM object, as the appliers write it (store.live.identify)
            session.add(added)
            session.flush()
            record_id = added.id
            cpu1, server1 = time.process_time(), server_cpu(session_factory)
            if profile is not None and n >= 5:
                profile.enable()
            report = link_arrival(session, [record_id])
            session.flush()
            if profile is not None and n >= 5:
                profile.disable()
            cpu2, server2, wall2 = time.process_time(), server_cpu(session_factory), time.perf_counter()
        finally:
            session.rollback()
            session.close()
        # what the link decided (a new customer, or which existing one; merges): equal digests, equal decisions
        joined = report.customer_ids[record_id]
        outcomes.append((n, "new" if joined in report.created else joined, tuple(report.merged)))
        reviews += report.reviews_queued
        if n < 5:
            continue  # warm-up: statement caches, imports
        link_cpu.append(1000 * ((cpu2 - cpu1) + (server2 - server1)))
        total_cpu.append(1000 * ((cpu2 - cpu0) + (server2 - server0)))
        walls.append(1000 * (wall2 - wall0))
    print(f"{len(link_cpu)} arrivals (5 warm-up left out): link CPU p50 {percentile(link_cpu, 0.5):.1f} ms, "
          f"p95 {percentile(link_cpu, 0.95):.1f} ms, max {max(link_cpu):.1f} ms; insert + link CPU p50 "
          f"{percentile(total_cpu, 0.5):.1f} ms, p95 {percentile(total_cpu, 0.95):.1f} ms; wall p50 "
          f"{percentile(walls, 0.5):.1f} ms, p95 {percentile(walls, 0.95):.1f} ms; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    digest = hashlib.sha256(repr(outcomes).encode()).hexdigest()[:16]
    print(f"decisions digest {digest} ({sum(1 for o in outcomes if o[1] == 'new')} new customers, "
          f"{sum(len(o[2]) for o in outcomes)} merges, {reviews} reviews queued)")
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
