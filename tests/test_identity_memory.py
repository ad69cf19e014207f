"""The engine's memory-saving paths decide exactly as the full ones (issue 12, speed and memory): a
relink leaves the links' evidence out, and that must change no cluster, no review and no score."""
from __future__ import annotations

import io

from bench.synthetic_people import generate
from bot.commands.customers import RelinkBar
from store.identity import cluster_scored, score_learned


def _decisions(result):
    links = sorted((min(d.a, d.b), max(d.a, d.b), d.score, d.kind) for d in result.links)
    reviews = sorted((min(d.a, d.b), max(d.a, d.b), d.score, d.reasons, d.evidence) for d in result.review)
    return sorted(sorted(c) for c in result.clusters), links, reviews


def test_unexplained_links_change_no_decision():
    records = [record for _, _, record in generate(3_000, seed=4)]
    scored, found = score_learned(records)
    assert found is not None  # the learned path, as relink runs it
    explained = cluster_scored(scored)
    quiet = cluster_scored(scored, explain_links=False)
    assert _decisions(quiet) == _decisions(explained)
    assert quiet.review and all(d.evidence for d in quiet.review)  # reviews keep their evidence
    assert all(d.evidence == () for d in quiet.links) and any(d.evidence for d in explained.links)


def test_progress_goes_through_every_stage_to_its_end():
    records = [record for _, _, record in generate(2_000, seed=2)]
    seen: list[tuple[str, int, int]] = []
    score_learned(records, progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = [stage for stage, _, _ in seen]
    assert stages[0] == "estimate" and "block" in stages
    assert seen[-1] == ("score", len(records), len(records))
    scores = [done for stage, done, _ in seen if stage == "score"]
    assert scores == sorted(scores)


def test_relink_bar_shows_each_stage_on_its_own_line_with_its_counts():
    out = io.StringIO()
    bar = RelinkBar(out)
    for stage, done, total in (("read", 20_000, 50_000), ("read", 50_000, 50_000), ("score", 0, 50_000),
                               ("score", 50_000, 50_000), ("create", 30_000, 30_000)):
        bar(stage, done, total)
    lines = out.getvalue().split("\n")
    assert len(lines) == 3  # one line per stage, redrawn in place
    assert "read" in lines[0] and "50,000/50,000" in lines[0] and "100%" in lines[0]
    assert "score" in lines[1] and "50,000/50,000" in lines[1]
    assert "create" in lines[2] and "30,000/30,000" in lines[2]
