"""Where `frontline relink`'s CPU goes: store.resolution.relink on a database, the CPU between its
progress stages (and, with --profile, the costliest functions). It writes: run it on a copy.

    cp /tmp/emspeed-200k-imported.db /tmp/relink-copy.db   # an import of bench/import_people.py --rows 200000 --no-reimport
    .venv/bin/python bench/relink_stages.py sqlite:////tmp/relink-copy.db [--profile]
"""
from __future__ import annotations

import cProfile
import pstats
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from store.resolution import relink


def main() -> None:
    url = sys.argv[1]
    marks: list[tuple[str | None, float]] = []
    last: list = [time.process_time(), None]

    def tell(stage: str, done: int, total: int) -> None:
        if stage != last[1]:
            now = time.process_time()
            marks.append((last[1], now - last[0]))
            last[0], last[1] = now, stage

    profile = cProfile.Profile() if "--profile" in sys.argv else None
    started, wall = time.process_time(), time.monotonic()
    with sessionmaker(create_engine(url)).begin() as session:
        if profile:
            profile.enable()
        report = relink(session, actor="import", via="cli", progress=tell)
        if profile:
            profile.disable()
        marks.append((last[1], time.process_time() - last[0]))
    print(report.summary())
    print(f"cpu {time.process_time() - started:.1f} s (with the commit), wall {time.monotonic() - wall:.1f} s, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    for stage, seconds in marks:
        print(f"  {stage or 'start'}: {seconds:.1f} s CPU")
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
