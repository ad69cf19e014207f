"""Identity-resolution benchmark: quality (pairwise precision/recall/F1), speed and memory.

    .venv/bin/python bench/linkage.py --people 100000 --seed 1             # both generators, old vs new
    .venv/bin/python bench/linkage.py --people 100000 --generator project --scorer new --sweep
    .venv/bin/python bench/linkage.py --records 1000000 --generator project --scorer new

Two generators: `project` (bench/synthetic_people.py, retail sources with e-mails, phones, loyalty
cards) and `registry` (bench/registry_people.py, written apart: names, birth dates, addresses only).
Two scorers: `old`, the hand-set parameters (DEFAULT_MODEL), and `new`, m/u estimated by EM on the
records being linked (store.identity.estimate_model). Everything asked runs in the same process on
the same records.

Pairwise metrics: a "pair" is two records in one cluster. True pairs come from the generator's
person ids; precision = correct predicted pairs / predicted pairs, recall = correct / true pairs.
"merged or queued": the true pairs either merged or whose two customers are offered for review.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import registry_people, synthetic_people
from store.identity import (
    DEFAULT_MODEL,
    DEFAULT_THRESHOLDS,
    IdentityRecord,
    LinkResult,
    Thresholds,
    cluster_scored,
    score_candidates,
    score_learned,
)

GENERATORS: dict[str, tuple[Callable[[int, int], Iterator[tuple[str, int, IdentityRecord]]], float]] = {
    "project": (synthetic_people.generate, synthetic_people.RECORDS_PER_PERSON),
    "registry": (registry_people.generate, registry_people.RECORDS_PER_PERSON),
}


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


def merged_or_queued(result: LinkResult, truth: array) -> float:
    """Share of true pairs merged, or whose two customers have a pending review between them."""
    cluster_of = array("q", bytes(8 * len(truth)))
    for c, members in enumerate(result.clusters):
        for key in members:
            cluster_of[key] = c
    queued = {frozenset((cluster_of[d.a], cluster_of[d.b])) for d in result.review}
    return share_merged_or_queued(cluster_of, truth, queued)


def share_merged_or_queued(cluster_of: Sequence[int], person_of: Sequence[int], queued: set[frozenset[int]]) -> float:
    """Share of true pairs (two records, index i, of one `person_of[i]`) in one cluster, or in two clusters
    that `queued` holds as a pending review between them."""
    records_of: dict[int, list[int]] = {}
    for i, person in enumerate(person_of):
        records_of.setdefault(person, []).append(i)
    found = total = 0
    for records in records_of.values():
        for n, a in enumerate(records):
            for b in records[n + 1:]:
                total += 1
                ca, cb = cluster_of[a], cluster_of[b]
                found += ca == cb or frozenset((ca, cb)) in queued
    return found / total if total else 1.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run(name: str, people: int, seed: int, scorers: list[str], sweep: bool) -> None:
    generate = GENERATORS[name][0]
    started = time.perf_counter()
    records: list[IdentityRecord] = []
    truth, sources = array("l"), Counter[str]()
    for source, person_id, record in generate(people, seed):
        records.append(record)
        truth.append(person_id)
        sources[source] += 1
    print(f"\n## {name}: people={people:,} records={len(records):,} sources={dict(sources)} "
          f"generated in {time.perf_counter() - started:.1f}s", flush=True)
    floor = 0.3 if sweep else DEFAULT_THRESHOLDS.review
    rows = []
    for scorer in scorers:
        load_start = os.getloadavg()[0]
        t0, cpu0 = time.perf_counter(), time.process_time()
        # the new scorer learns its parameters while it reads the records: its time includes the EM
        if scorer == "new":
            scored, found = score_learned(records, floor=floor)
        else:
            scored, found = score_candidates(records, floor=floor, model=DEFAULT_MODEL), None
        t1 = time.perf_counter()
        result = cluster_scored(scored)
        t2, cpu2 = time.perf_counter(), time.process_time()
        precision, recall, f1 = pairwise(result, truth)
        either = merged_or_queued(result, truth)
        stats = result.stats
        elapsed = t2 - t0
        # CPU time is reported too: on a shared machine wall time also measures the neighbours
        print(f"[{name}/{scorer}] wall {elapsed:.1f}s (score {t1 - t0:.1f}s, "
              f"cluster {t2 - t1:.1f}s), cpu {cpu2 - cpu0:.1f}s, {stats.records / (cpu2 - cpu0):,.0f} records/cpu-s, "
              f"peak RSS {peak_rss_mb():,.0f} MB, load avg {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end")
        print(f"[{name}/{scorer}] comparisons={stats.comparisons:,} det_links={stats.deterministic_links:,} "
              f"fuzzy_links={stats.fuzzy_links:,} refused_conflict={stats.refused_conflict:,} "
              f"review={len(result.review):,} clusters={len(result.clusters):,}", flush=True)
        if found is not None:
            print(f"[{name}/new] estimated: {found.describe()}")
        rows.append((scorer, precision, recall, f1, either, len(result.review), cpu2 - cpu0))
        if sweep:
            print("\n| merge | review | precision | recall | F1 | merged or queued | review pairs |")
            print("|---|---|---|---|---|---|---|")
            for merge in (0.5, 0.7, 0.8, 0.9, 0.95, 0.98):
                for review in sorted({0.3, 0.5, min(merge, 0.7)}):
                    if review > merge:
                        continue
                    swept = cluster_scored(scored, thresholds=Thresholds(merge=merge, review=review))
                    p, r, f = pairwise(swept, truth)
                    print(f"| {merge} | {review} | {p:.4f} | {r:.4f} | {f:.4f} | {merged_or_queued(swept, truth):.4f} "
                          f"| {len(swept.review):,} |", flush=True)
        del scored, result
    print("\n| generator | scorer | merge precision | merge recall | F1 | merged or queued | review pairs | cpu s |")
    print("|---|---|---|---|---|---|---|---|")
    for scorer, precision, recall, f1, either, reviews, cpu in rows:
        print(f"| {name} {people:,} people | {scorer} | {precision:.4f} | {recall:.4f} | {f1:.4f} | {either:.4f} "
              f"| {reviews:,} | {cpu:.1f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--people", type=int, default=100_000)
    size.add_argument("--records", type=int, help="size the run by source records instead of people")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--generator", choices=("project", "registry", "both"), default="both")
    parser.add_argument("--scorer", choices=("old", "new", "both"), default="both")
    parser.add_argument("--sweep", action="store_true", help="also report a merge/review threshold sweep")
    args = parser.parse_args(argv)
    names = ["project", "registry"] if args.generator == "both" else [args.generator]
    scorers = ["old", "new"] if args.scorer == "both" else [args.scorer]
    for name in names:
        people = round(args.records / GENERATORS[name][1]) if args.records else args.people
        run(name, people, args.seed, scorers, args.sweep)


if __name__ == "__main__":
    main()
