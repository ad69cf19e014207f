"""Typo'd names by path of `store.search`, and the answers to compare two versions of the code.

Runs the load benchmark's typo'd names (bench/load.py targets, bench/lookup.py's `mistyped`) through
`find_customers` in process, one at a time, and reports CPU per lookup (this thread, plus on PostgreSQL
its backend's, from /proc) for the names whose two words are both common (the pair-key path of revision
0017, `_all_words` before it) and for the others. `--answers FILE` writes every query's answer (ids,
scores, whether the card opens directly); `--compare FILE` says how many answers differ from that file.
Run the old code with PYTHONPATH pointing at its worktree (see bench/README.md):

    .venv/bin/python bench/name_paths.py --url sqlite:////tmp/pairkeys-1m.db --answers /tmp/new.json
    PYTHONPATH=/tmp/old .venv/bin/python /tmp/old/bench/name_paths.py --url ... --compare /tmp/new.json
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import pick_targets
from bench.lookup import _server_cpu_ns, mistyped, percentile
from store import search as search_module
from store.db import make_engine, make_session_factory
from store.search import find_customers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--answers", help="write the answers here (JSON)")
    parser.add_argument("--compare", help="count the answers that differ from this file's")
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    session_factory = make_session_factory(engine)
    rng = random.Random(args.seed)
    targets = pick_targets(session_factory, max(2000, args.queries), 7)[:args.queries]
    typed = [(t.id, mistyped(rng, t.first_name, t.last_name)) for t in targets]
    both_common = {"hit": False}
    for name in ("_pair_ids", "_all_words"):  # _pair_ids: this branch; _all_words: the path before it
        original = getattr(search_module, name, None)
        if original is not None:
            def spy(*a, _original=original, **k):
                both_common["hit"] = True
                return _original(*a, **k)
            setattr(search_module, name, spy)
    for _, query in typed[:50]:  # warm-up: statements compiled, word counts and cities cached
        with session_factory() as session:
            find_customers(session, query)
    answers, cpu = {}, {True: [], False: []}
    found = 0
    for customer_id, query in typed:
        both_common["hit"] = False
        started = time.thread_time()
        with session_factory() as session:
            server_started = _server_cpu_ns(session)
            result = find_customers(session, query)
            server_ns = _server_cpu_ns(session) - server_started if server_started else 0
        cpu[both_common["hit"]].append((time.thread_time() - started) * 1000 + server_ns / 1e6)
        answers[query] = {"ids": [c.customer_id for c in result.candidates], "scores": [c.score for c in result.candidates],
                          "exact": result.exact, "suggestions": [c.customer_id for c in result.suggestions]}
        found += customer_id in answers[query]["ids"]
    engine.dispose()
    for common, label in ((True, "both words common"), (False, "the others")):
        values = cpu[common]
        if values:
            print(f"{label}: {len(values)} lookups, CPU per lookup mean {sum(values) / len(values):.1f}, "
                  f"p50 {percentile(values, 50):.1f}, p95 {percentile(values, 95):.1f} ms")
    every = cpu[True] + cpu[False]
    print(f"all {len(every)}: mean {sum(every) / len(every):.1f} ms; right one in top 5 {100 * found / len(typed):.1f}% (namesakes included: not bench/lookup.py's rate); "
          f"load average {os.getloadavg()[0]:.1f} ({engine.dialect.name}, this thread"
          f"{' + its backend' if engine.dialect.name == 'postgresql' else ''})")
    if args.answers:
        Path(args.answers).write_text(json.dumps(answers))
    if args.compare:
        other = json.loads(Path(args.compare).read_text())
        differ = [query for query in answers if other.get(query) != answers[query]]
        print(f"answers differing from {args.compare}: {len(differ)} of {len(answers)}")
        for query in differ[:10]:
            print(f"  {query!r}: {answers[query]} vs {other.get(query)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
