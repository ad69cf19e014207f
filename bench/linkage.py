"""Identity-resolution benchmark: quality (pairwise precision/recall/F1), speed and memory.

    .venv/bin/python bench/linkage.py --people 100000 --seed 1 --sweep
    .venv/bin/python bench/linkage.py --records 1000000 --seed 1

Pairwise metrics: a "pair" is two records in one cluster. True pairs come from the generator's
person ids; precision = correct predicted pairs / predicted pairs, recall = correct / true pairs.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic_people import RECORDS_PER_PERSON, generate
from store.identity import (
    DEFAULT_THRESHOLDS,
    LinkResult,
    Thresholds,
    cluster_scored,
    score_candidates,
)


def pairwise(result: LinkResult, truth: array) -> tuple[float, float, float]:
    def pairs(sizes: Iterable[int]) -> int:
        return sum(n * (n - 1) // 2 for n in sizes)

    cluster_of = array("q", bytes(8 * len(truth)))
    for c, members in enumerate(result.clusters):
        for key in members:
            cluster_of[key] = c
    predicted = pairs(len(m) for m in result.clusters)
    actual = pairs(Counter(truth).values())
    correct = pairs(Counter(zip(cluster_of, truth, strict=True)).values())
    precision = correct / predicted if predicted else 1.0
    recall = correct / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--people", type=int, default=100_000)
    size.add_argument("--records", type=int, help="size the run by source records instead of people")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sweep", action="store_true", help="also report a merge/review threshold sweep")
    args = parser.parse_args(argv)
    people = round(args.records / RECORDS_PER_PERSON) if args.records else args.people

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    records, truth, sources = [], array("l"), Counter()
    for source, person_id, record in generate(people, args.seed):
        records.append(record)
        truth.append(person_id)
        sources[source] += 1
    generated = time.perf_counter()
    print(f"people={people:,} records={len(records):,} sources={dict(sources)} "
          f"generated in {generated - started:.1f}s", flush=True)

    floor = 0.3 if args.sweep else DEFAULT_THRESHOLDS.review
    t0, cpu0 = time.perf_counter(), time.process_time()
    scored = score_candidates(records, floor=floor)
    del records  # the engine keeps its own normalised copy; count only what linking needs
    t1 = time.perf_counter()
    result = cluster_scored(scored)
    t2, cpu2 = time.perf_counter(), time.process_time()
    precision, recall, f1 = pairwise(result, truth)
    elapsed = t2 - t0
    stats = result.stats
    # CPU time is reported too: on a shared machine wall time also measures the neighbours
    print(f"link: wall {elapsed:.1f}s (score {t1 - t0:.1f}s, cluster {t2 - t1:.1f}s), cpu {cpu2 - cpu0:.1f}s, "
          f"{stats.records / elapsed:,.0f} records/s wall, {stats.records / (cpu2 - cpu0):,.0f} records/cpu-s, "
          f"peak RSS {peak_rss_mb():,.0f} MB, load avg {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print(f"comparisons={stats.comparisons:,} ({stats.comparisons / max(stats.records, 1):.1f}/record) "
          f"blocks={stats.blocks:,} junk={stats.junk_blocks} windowed={stats.windowed_blocks} "
          f"det_links={stats.deterministic_links:,} fuzzy_links={stats.fuzzy_links:,} "
          f"refused_conflict={stats.refused_conflict:,} review={len(result.review):,} "
          f"clusters={len(result.clusters):,}")
    print(f"defaults merge={DEFAULT_THRESHOLDS.merge} review={DEFAULT_THRESHOLDS.review}: "
          f"precision={precision:.4f} recall={recall:.4f} F1={f1:.4f}")

    if args.sweep:
        print("\n| merge | review | precision | recall | F1 | review pairs |")
        print("|---|---|---|---|---|---|")
        for merge in (0.5, 0.7, 0.8, 0.9, 0.95, 0.98):
            for review in sorted({0.3, 0.5, min(merge, 0.7)}):
                if review > merge:
                    continue
                t = Thresholds(merge=merge, review=review)
                swept = cluster_scored(scored, thresholds=t)
                p, r, f = pairwise(swept, truth)
                print(f"| {merge} | {review} | {p:.4f} | {r:.4f} | {f:.4f} | {len(swept.review):,} |", flush=True)


if __name__ == "__main__":
    main()
