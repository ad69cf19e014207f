"""Where `frontline relink`'s time goes: store.resolution.relink on a database, through the engine and
session factory `frontline relink` uses (same PRAGMAs, BEGIN IMMEDIATE), the CPU and wall time between
its progress stages, the commit apart (and, with --profile, the costliest functions). It writes: run it
on a copy.

    cp --reflink=auto /tmp/WORLD.db /tmp/relink-copy.db   # an import of bench/import_people.py --rows N --no-reimport
    .venv/bin/python bench/relink_stages.py sqlite:////tmp/relink-copy.db [--profile] [--statements]
"""
from __future__ import annotations

import cProfile
import gc
import os
import pstats
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from store.db import make_engine, make_session_factory
from store.resolution import relink


def main() -> None:
    url = sys.argv[1]
    marks: list[tuple[str, float, float]] = []  # (stage, CPU s, wall s)
    last: list = [time.process_time(), time.monotonic(), "start"]

    def mark(next_stage: str) -> None:
        cpu, wall = time.process_time(), time.monotonic()
        marks.append((last[2], cpu - last[0], wall - last[1]))
        last[:] = [cpu, wall, next_stage]

    def tell(stage: str, done: int, total: int) -> None:
        if stage != last[2]:
            mark(stage)

    profile = cProfile.Profile() if "--profile" in sys.argv else None
    started, wall = time.process_time(), time.monotonic()
    engine = make_engine(url)
    if "--statements" in sys.argv:
        _time_statements(engine)
    gc_seconds = [0.0, 0.0, 0.0]
    gc_by_stage: dict[str, float] = {}
    gc_started: list[float] = []

    def gc_clock(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started.append(time.process_time())
        else:
            spent = time.process_time() - gc_started.pop()
            gc_seconds[info["generation"]] += spent
            gc_by_stage[last[2]] = gc_by_stage.get(last[2], 0.0) + spent

    gc.callbacks.append(gc_clock)
    with make_session_factory(engine).begin() as session:
        if profile:
            profile.enable()
        report = relink(session, actor="import", via="cli", progress=tell)
        mark("commit")
    mark("end")
    if profile:
        profile.disable()
    engine.dispose()
    print(report.summary())
    print(f"cpu {time.process_time() - started:.1f} s (with the commit), wall {time.monotonic() - wall:.1f} s, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"  garbage collection: {sum(gc_seconds):.1f} s CPU (generations 0/1/2: "
          f"{' / '.join(f'{s:.1f}' for s in gc_seconds)})")
    for stage, cpu, seconds in marks:
        print(f"  {stage}: {cpu:.1f} s CPU ({gc_by_stage.get(stage, 0.0):.1f} s collecting garbage), {seconds:.1f} s wall")
    if "--statements" in sys.argv:
        print("statements (CPU in the database driver, SQLite in-process; PostgreSQL: client side only):")
        for statement, (count, cpu) in sorted(_STATEMENTS.items(), key=lambda item: -item[1][1])[:25]:
            print(f"  {cpu:7.1f} s  {count:6d} x  {statement}")
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(50)


_STATEMENTS: dict[str, list] = {}


def _time_statements(engine) -> None:
    """CPU per statement shape, between the cursor's execute and its return."""
    started: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        started.append(time.process_time())

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        shape = " ".join(statement.split())[:90]
        entry = _STATEMENTS.setdefault(shape, [0, 0.0])
        entry[0] += 1
        entry[1] += time.process_time() - started.pop()


if __name__ == "__main__":
    main()
