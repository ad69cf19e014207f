"""CPU per `find_customers`, in-process, over the load benchmark's own queries: this process's CPU plus, on
a PostgreSQL server running on this machine, its backends' for this database (bench/openloop.py's
DatabaseBackends).

    .venv/bin/python bench/search_cpu.py --url sqlite:////tmp/lookup1m.db --kind name --warm
    .venv/bin/python bench/search_cpu.py --url postgresql+psycopg://frontline@127.0.0.1:55414/bench --kind name

--warm runs every query once before measuring (per-process caches filled, as in a server that has been
up a while); without it only 20 are. CPU, not wall time: it is the work itself, whatever the load.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import pick_targets
from bench.load_clients import national
from bench.lookup import mistyped, percentile
from bench.openloop import DatabaseBackends
from store.db import make_engine, make_session_factory
from store.search import find_customers


def queries(targets, kind: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    make = {"name": lambda t: mistyped(rng, t.first_name, t.last_name), "surname": lambda t: t.last_name,
            "email": lambda t: t.email, "phone": lambda t: national(t.phone),
            "loyalty": lambda t: t.loyalty_id.lower(), "order": lambda t: t.order_number}[kind]
    return [make(t) for t in targets if kind != "order" or t.order_number][:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--kind", default="name", choices=("name", "surname", "email", "phone", "loyalty", "order"))
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--warm", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    session_factory = make_session_factory(engine)
    typed = queries(pick_targets(session_factory, 2000, 7), args.kind, args.queries, args.seed)
    for query in typed if args.warm else typed[:20]:
        with session_factory() as session:
            find_customers(session, query)
    backends = DatabaseBackends.of(args.url)
    backends_before, own_before = backends.cpu() if backends else 0.0, time.process_time()
    own = []
    for query in typed:
        started = time.process_time()
        with session_factory() as session:
            find_customers(session, query)
        own.append((time.process_time() - started) * 1000)
    own_total = time.process_time() - own_before
    database = (backends.cpu() - backends_before) * 1000 / len(typed) if backends else 0.0
    total = own_total * 1000 / len(typed) + database
    if backends:
        backends.close()
    engine.dispose()
    print(f"{engine.dialect.name}, {len(typed)} {args.kind} queries{' (warm)' if args.warm else ''}: "
          f"CPU per lookup {total:.1f} ms (this process{f' + its PostgreSQL backends {database:.1f}' if backends else ''}); "
          f"this process alone mean {sum(own) / len(own):.1f}, p50 {percentile(own, 50):.1f}, p95 {percentile(own, 95):.1f}, "
          f"p99 {percentile(own, 99):.1f}, max {max(own):.1f} ms; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
