"""CPU of the customer card's reads (`store.profile.build_profile`), alone, in process: this thread's CPU and,
on a PostgreSQL server running on this machine, the CPU of the one backend serving it, per card; and the
statements per card (each a round trip on PostgreSQL). The card is read for customers who have orders, as a
lookup that opens a card would; nothing is written.

    .venv/bin/python bench/card_reads.py --url postgresql+psycopg://frontline@127.0.0.1:55432/lookup1m
    .venv/bin/python bench/card_reads.py --url sqlite:////tmp/search-1m.db

`bench/serve_cpu.py` measures the whole `/customer` request; this isolates the card, whose cost is below that
bench's noise on a loaded machine. CPU, not wall time: the work itself, whatever the load (printed).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select, text

from store.db import make_engine, make_session_factory
from store.models import Order
from store.profile import build_profile

AS_OF = dt.datetime(2026, 3, 11, 10, 0)


@dataclass(frozen=True)
class Viewer:
    id: int = 1


def _backend_cpu(pid: int | None) -> float:
    """Seconds of CPU the backend `pid` has used (user + system, /proc), 0 without one."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the same customers (the first warms)")
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    session_factory = make_session_factory(engine)
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    with session_factory() as session:
        customers = list(dict.fromkeys(session.scalars(select(Order.customer_id).order_by(Order.id).limit(2 * args.cards))))
        customers = customers[:args.cards]
        pid = None
        if engine.dialect.name == "postgresql":
            pid = int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            if not Path(f"/proc/{pid}/stat").exists():
                pid = None  # a server on another machine: its CPU is left out
        event.listen(engine, "before_cursor_execute", count)
        print(f"# {len(customers)} cards, {engine.dialect.name}, load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs\n")
        print("| round | client CPU ms median | client CPU ms mean | backend CPU ms per card | statements per card |")
        print("|---|---:|---:|---:|---:|")
        for round_number in range(args.rounds):
            spent: list[float] = []
            statements[0], backend_before = 0, _backend_cpu(pid)
            for customer_id in customers:
                started = time.thread_time()
                build_profile(session, customer_id, viewer=Viewer(), clock=lambda: AS_OF)
                spent.append((time.thread_time() - started) * 1000)
            backend = (_backend_cpu(pid) - backend_before) * 1000 / len(customers)
            label = "warm-up" if round_number == 0 and args.rounds > 1 else str(round_number)
            print(f"| {label} | {statistics.median(spent):.3f} | {statistics.fmean(spent):.3f} "
                  f"| {'–' if pid is None else f'{backend:.3f}'} | {statements[0] / len(customers):.2f} |", flush=True)
            session.rollback()
        event.remove(engine, "before_cursor_execute", count)
    print(f"\nload average now {os.getloadavg()[0]:.1f}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
