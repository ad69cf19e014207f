"""Identity resolution at scale: time and memory of the engine on 1M-10M records, streamed.

    .venv/bin/python bench/link_scale.py --records 1000000                    # the 5-minute / 4 GB bar
    .venv/bin/python bench/link_scale.py --records 10000000 --max-gb 16       # bounded memory, progress bar
    .venv/bin/python bench/link_scale.py --records 100000 --digest            # fingerprint of the result

Unlike bench/linkage.py (which keeps every generated record to score two scorers on them), the
records are generated while the engine reads them and never held here: what is measured is the
engine (store.identity: score_learned + cluster_scored, the learned scorer that relink runs) plus
one 8-byte person id per record for the quality figures. Peak memory is sampled from /proc every
0.2 s with the stage it happened in, and `ru_maxrss` at the end. CPU is the process's user + sys.

`--digest` prints a SHA-256 of the clusters, the review pairs and the links (with their scores to
1e-9): two code versions that print the same digest made the same decisions.
`--max-gb` stops the run (exit 3) if the resident size passes it, before the machine swaps.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import resource
import sys
import threading
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import registry_people, synthetic_people
from store.identity import DEFAULT_MODEL, IdentityRecord, LinkResult, cluster_scored, score_candidates, score_learned

GENERATORS = {"project": (synthetic_people.generate, synthetic_people.RECORDS_PER_PERSON),
              "registry": (registry_people.generate, registry_people.RECORDS_PER_PERSON)}
PAGE = os.sysconf("SC_PAGE_SIZE")


class Memory:
    """Samples this process's resident size; remembers the peak and the stage it was reached in."""

    def __init__(self, limit_bytes: float | None) -> None:
        self.stage = "start"
        self.peak = 0
        self.peak_stage = "start"
        self.limit = limit_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            now = self.rss()
            if now > self.peak:
                self.peak, self.peak_stage = now, self.stage
            if self.limit and now > self.limit:
                sys.stderr.write(f"\nresident size {now / 2**30:.1f} GB passed --max-gb: stopping\n")
                os._exit(3)

    def __enter__(self) -> Memory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Bar:
    """A one-line progress bar on stderr: stage, done/total, rate, resident size, elapsed."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.started = time.monotonic()
        self.last = 0.0
        self.enabled = True

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.memory.stage = stage
        now = time.monotonic()
        if now - self.last < 1.0 and done < total:
            return
        self.last = now
        share = done / total if total else 1.0
        filled = int(share * 30)
        sys.stderr.write(f"\r{stage:<8} [{'#' * filled}{'.' * (30 - filled)}] {done:>11,}/{total:,} "
                         f"RSS {self.memory.rss() / 2**30:5.2f} GB  {now - self.started:7.0f}s\x1b[K")
        sys.stderr.flush()
        if done >= total:
            sys.stderr.write("\n")


class Stream:
    """The generator's records, counted, with the CPU and wall spent generating them (not linking)."""

    def __init__(self, generator: str, people: int, seed: int, expected: int, bar: Bar) -> None:
        self.source = GENERATORS[generator][0](people, seed)
        self.truth = array("q")
        self.expected, self.bar = expected, bar
        self.cpu = self.wall = 0.0

    def __iter__(self) -> Iterator[IdentityRecord]:
        truth, bar = self.truth, self.bar
        while True:
            w, c = time.perf_counter(), time.process_time()
            item = next(self.source, None)
            self.cpu += time.process_time() - c
            self.wall += time.perf_counter() - w
            if item is None:
                break
            truth.append(item[1])
            if len(truth) % 20_000 == 0:
                bar("read", len(truth), max(self.expected, len(truth)))
            yield item[2]
        bar("read", len(truth), len(truth))


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
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def digest(result: LinkResult) -> str:
    sha = hashlib.sha256()
    for cluster in sorted(sorted(c) for c in result.clusters):
        sha.update(repr(cluster).encode())
    for name, decisions in (("review", result.review), ("links", result.links)):
        sha.update(name.encode())
        for d in sorted(decisions, key=lambda d: (min(d.a, d.b), max(d.a, d.b))):
            sha.update(f"{min(d.a, d.b)},{max(d.a, d.b)},{d.score:.9f},{d.kind};".encode())
    return sha.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="about this many source records")
    parser.add_argument("--generator", choices=tuple(GENERATORS), default="project")
    parser.add_argument("--scorer", choices=("new", "old"), default="new", help="new: learned by EM (what relink runs)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--digest", action="store_true", help="print a fingerprint of the decisions")
    parser.add_argument("--max-gb", type=float, help="stop if the resident size passes this")
    args = parser.parse_args(argv)

    people = round(args.records / GENERATORS[args.generator][1])
    load_start = os.getloadavg()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with Memory(args.max_gb * 2**30 if args.max_gb else None) as memory:
        bar = Bar(memory)
        records = Stream(args.generator, people, args.seed, args.records, bar)
        truth = records.truth
        # (a version of the engine without progress reports can be measured too, for comparisons)
        tell = {"progress": bar} if "progress" in inspect.signature(score_learned).parameters else {}
        if args.scorer == "new":
            scored, _ = score_learned(records, **tell)
        else:
            scored = score_candidates(records, model=DEFAULT_MODEL, **tell)
        wall1, cpu1 = time.perf_counter(), time.process_time()
        bar("cluster", 0, 1)
        # as relink runs it: the links' evidence is not kept (reviews' is)
        quiet = {"explain_links": False} if "explain_links" in inspect.signature(cluster_scored).parameters else {}
        result = cluster_scored(scored, **quiet)
        bar("cluster", 1, 1)
        wall2, cpu2 = time.perf_counter(), time.process_time()
        stats = result.stats
        del scored
        memory.stage = "quality"
        precision, recall, f1 = pairwise(result, truth)
        fingerprint = digest(result) if args.digest else None
    load_end = os.getloadavg()
    n = len(truth)
    print(f"{args.generator}/{args.scorer} seed {args.seed}: {n:,} records ({people:,} people), "
          f"{stats.comparisons:,} comparisons ({stats.comparisons / n:.2f}/record), {len(result.clusters):,} clusters, "
          f"{stats.deterministic_links:,} deterministic + {stats.fuzzy_links:,} fuzzy links, "
          f"{len(result.review):,} review pairs")
    print(f"quality: precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}")
    gen_wall, gen_cpu = records.wall, records.cpu
    print(f"time: link {wall2 - wall0 - gen_wall:.1f}s wall / {cpu2 - cpu0 - gen_cpu:.1f}s CPU "
          f"(prepare + estimate + score {wall1 - wall0 - gen_wall:.1f}s wall / {cpu1 - cpu0 - gen_cpu:.1f}s CPU, "
          f"cluster {wall2 - wall1:.1f}s wall / {cpu2 - cpu1:.1f}s CPU); generating the records, not counted: "
          f"{gen_wall:.1f}s wall / {gen_cpu:.1f}s CPU")
    print(f"memory: peak RSS {memory.peak / 2**20:,.0f} MB sampled (in stage '{memory.peak_stage}'), "
          f"ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB, "
          f"{memory.peak / n:,.0f} bytes/record")
    print(f"load average: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} at start, "
          f"{load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} at end")
    if fingerprint:
        print(f"digest: {fingerprint}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
