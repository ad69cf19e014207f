"""The load benchmark's core, for a few seconds: three employees against the real server (gunicorn, two workers)
on SQLite. Nothing about speed here (bench/load.py proves that); what must hold at any speed: no request fails,
every Block Kit payload is valid, and every logged interaction is in the database exactly once, Slack
retries and double clicks included."""
from __future__ import annotations

from bench.load import measure


def test_a_short_load_run_has_no_errors_and_writes_each_interaction_once(tmp_path):
    report = measure(f"sqlite:///{tmp_path / 'load.db'}", customers=500, employees=3, duration=4, warmup=0,
                     workers=2, threads=4, mix="mixed", think=0, seed=3, retry_rate=0.3, double_rate=0.2,
                     log_dir=tmp_path)

    assert report.errors == []
    assert report.validation_failures == 0
    assert report.stand_in_failures == {}
    steps = {sample.step for sample in report.ledger.samples}
    assert {"lookup:name", "submit"} <= steps
    once = report.once
    assert once.accepted == once.submitted > 0
    assert once.resent > 0, "some submissions must have been sent twice"
    assert once.found_once == once.accepted
    assert (once.missing, once.duplicated, once.phantom, once.follow_up_problems) == (0, 0, 0, 0)
