"""Why true pairs are missed: a diagnostic of identity resolution on the benchmark generators.

    .venv/bin/python bench/linkage_misses.py --people 20000 --seed 1 --generator registry
    .venv/bin/python bench/linkage_misses.py --people 20000 --seed 1 --generator project --examples 20

Runs the learned scorer as bench/linkage.py does (every comparison kept, whatever its score, so that
a pair's fate can be read), then sorts:
- the true pairs neither merged nor queued: never compared (a blocking miss; which fields differ), or
  compared and scored below the review threshold (score band, and each field's comparison level);
- the false negatives (true pairs not merged): also queued for review, and why (below the merge
  threshold, demoted by the ambiguity guard, refused as a conflict, or not compared);
- the false positives (pairs merged that are two people): merged directly or through a chain, and
  the direct edge's evidence.
The generators' person ids are read here only; no rule of the product reads them.
"""

from __future__ import annotations

import argparse
import sys
from array import array
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.linkage import GENERATORS, merged_or_queued, pairwise, share_merged_or_queued
from store.identity import (
    DEFAULT_THRESHOLDS,
    IdentityRecord,
    _ambiguous_edges,
    _hard_conflict,
    _Prep,
    _score,
    cluster_scored,
    score_learned,
)


def _differs(p: _Prep, q: _Prep) -> str:
    """Which fields differ between two records, as a short tag ('-' missing on a side, '!' differs)."""
    tags = []
    for name, a, b in (("first", p.first, q.first), ("last", p.last, q.last), ("birth", p.birth, q.birth),
                       ("postcode", p.postcode, q.postcode), ("street", p.street, q.street)):
        if not a or not b:
            tags.append(f"{name}-")
        elif a != b:
            tags.append(f"{name}!")
    return " ".join(tags) or "all equal"


def _describe(p: _Prep) -> str:
    return f"{p.first or '_'} {p.last or '_'} {p.birth or '_'} {p.postcode or '_'} [{p.street or '_'}]"


def _levels(p: _Prep, q: _Prep, prior: float, model: object) -> tuple[float, str]:
    score, _, _, evidence, total = _score(p, q, True, prior, model)  # type: ignore[arg-type]
    return score, " ".join(f"{e.field}:{e.level}{'(cap)' if e.capped else ''}={e.bits:+.1f}"
                           for e in evidence[1:]) + f" total={total:+.1f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--generator", choices=tuple(GENERATORS), default="registry")
    parser.add_argument("--examples", type=int, default=12, help="examples printed per class")
    args = parser.parse_args(argv)
    thresholds = DEFAULT_THRESHOLDS
    records: list[IdentityRecord] = []
    truth = array("l")
    for _, person, record in GENERATORS[args.generator][0](args.people, args.seed):
        records.append(record)
        truth.append(person)
    scored, _ = score_learned(records, floor=0.0)  # floor 0: every comparison's score is kept
    result = cluster_scored(scored, thresholds=thresholds)
    precision, recall, f1 = pairwise(result, truth)
    print(f"{args.generator} people={args.people:,} seed={args.seed} records={len(records):,} "
          f"comparisons={scored.stats.comparisons:,} ({scored.stats.comparisons / len(records):.2f} per record)")
    print(f"P {precision:.4f} R {recall:.4f} F1 {f1:.4f} merged-or-queued {merged_or_queued(result, truth):.4f}")
    preps = scored.preps
    index = {p.key: i for i, p in enumerate(preps)}
    person = [truth[p.key] for p in preps]  # generators give keys 0..n-1 in order
    cluster = [0] * len(preps)
    for c, members in enumerate(result.clusters):
        for key in members:
            cluster[index[key]] = c
    queued = {frozenset((cluster[index[d.a]], cluster[index[d.b]])) for d in result.review}
    edge = {(i, j): (score, deterministic) for score, deterministic, i, j in scored.edges}
    demoted = _ambiguous_edges(scored, thresholds)

    # what a lower review threshold would cost: the pairs below it that would be queued, and how many
    # of them are one person
    bands: Counter[float] = Counter()
    bands_true: Counter[float] = Counter()
    for score, _, i, j in scored.edges:
        if score < thresholds.review and cluster[i] != cluster[j]:
            band = next(b for b in (0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.0) if score >= b)
            bands[band] += 1
            bands_true[band] += person[i] == person[j]
    print(f"\n## below the review threshold, by score band: pairs that would be queued, of which one person "
          f"(review pairs now {len(result.review):,})")
    for band in sorted(bands, reverse=True):
        print(f"  >= {band:<5} {bands[band]:8,} {bands_true[band]:7,} ({bands_true[band] / bands[band]:.2f})")

    # a rule that would queue each record's best remaining candidate: for a record without any
    # review pair, its best-scoring compared record in another cluster that it does not conflict with
    reviewed = {index[k] for d in result.review for k in (d.a, d.b)}
    best: dict[int, tuple[float, int]] = {}
    for score, _, i, j in scored.edges:
        if score >= thresholds.review or cluster[i] == cluster[j]:
            continue
        for a, b in ((i, j), (j, i)):
            if a not in reviewed and score > best.get(a, (-1.0, 0))[0] and not _hard_conflict(preps[a], preps[b]):
                best[a] = (score, b)
    for floor in (0.001, 0.01, 0.02, 0.05, 0.1):
        added = {frozenset((cluster[a], cluster[b])) for a, (score, b) in best.items() if score >= floor}
        print(f"  best candidate of an unreviewed record, floor {floor}: {len(added):,} cluster pairs queued, "
              f"merged or queued {share_merged_or_queued(cluster, person, queued | added):.4f}")

    records_of: dict[int, list[int]] = {}
    for i, who in enumerate(person):
        records_of.setdefault(who, []).append(i)
    total = 0
    missed: Counter[str] = Counter()
    not_merged: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}

    def example(kind: str, text: str) -> None:
        shown = examples.setdefault(kind, [])
        if len(shown) < args.examples:
            shown.append(text)

    for members in records_of.values():
        for n, i in enumerate(members):
            for j in members[n + 1:]:
                total += 1
                if cluster[i] == cluster[j]:
                    continue
                p, q = preps[i], preps[j]
                found = edge.get((i, j))
                if found is None:
                    why = "never compared"
                else:
                    score = found[0]
                    if score < thresholds.review:
                        why = f"scored {int(score * 10) / 10:.1f}-{int(score * 10) / 10 + 0.1:.1f}"
                    elif (i, j) in demoted:
                        why = "ambiguity guard (review)"
                    elif _hard_conflict(p, q):
                        why = "hard conflict (review)"
                    elif score < thresholds.merge:
                        why = "between review and merge"
                    else:
                        why = "refused by a cluster conflict (review)"
                is_queued = frozenset((cluster[i], cluster[j])) in queued
                not_merged[why + (" [queued]" if is_queued else "")] += 1
                if is_queued:
                    if found is not None:
                        example(why + " [queued]", f"  {_describe(p)}\n  {_describe(q)}\n    "
                                f"{_levels(p, q, scored.prior, scored.model)[1]}")
                    continue
                would, detail = _levels(p, q, scored.prior, scored.model)
                if found is None:
                    # what a blocking key catching it would give: queued (>= review) or still lost
                    kind = f"{why} (would score {'>=' if would >= thresholds.review else '<'} review): {_differs(p, q)}"
                else:
                    kind = why
                missed[kind] += 1
                example(kind, f"  {_describe(p)}\n  {_describe(q)}\n    {detail}")

    print(f"\ntrue pairs {total:,}; not merged {sum(not_merged.values()):,}; neither merged nor queued "
          f"{sum(missed.values()):,} ({sum(missed.values()) / total:.4f})")
    print("\n## not merged, by cause")
    for why, count in not_merged.most_common():
        print(f"{count:7,} {count / total:.4f}  {why}")
    print("\n## neither merged nor queued, by cause (never compared: which fields differ)")
    for kind, count in missed.most_common(40):
        print(f"{count:7,} {count / total:.4f}  {kind}")
    for kind, _ in missed.most_common(12):
        print(f"\n### {kind}")
        print("\n".join(examples.get(kind, [])))
    for why, _ in not_merged.most_common():
        if why.endswith("[queued]") and why in examples:
            print(f"\n### not merged: {why}")
            print("\n".join(examples[why]))

    wrong: Counter[str] = Counter()
    for members in result.clusters:
        if len(members) < 2:
            continue
        at = sorted(index[k] for k in members)
        for n, i in enumerate(at):
            for j in at[n + 1:]:
                if person[i] == person[j]:
                    continue
                found = edge.get((i, j))
                kind = "chain (no direct edge)" if found is None or found[0] < thresholds.merge else (
                    "deterministic" if found[1] else "fuzzy")
                wrong[kind] += 1
                example("false positive " + kind,
                        f"  {_describe(preps[i])}\n  {_describe(preps[j])}\n    "
                        f"{_levels(preps[i], preps[j], scored.prior, scored.model)[1]}")
    print(f"\n## false positives (pairs merged that are two people): {sum(wrong.values()):,}")
    for kind, count in wrong.most_common():
        print(f"{count:7,}  {kind}")
        print("\n".join(examples.get("false positive " + kind, [])))


if __name__ == "__main__":
    main()
