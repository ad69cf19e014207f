"""The open-loop `/customer` benchmark's whole run, for a few seconds, on a small SQLite database: the real
server and the framework floor (bench/floor.py) both answer every signed request correctly, exact lookups
open the right card, and the report gives each figure with its rate, CPU and load. Nothing about speed
here (bench/openloop.py measures that)."""
from __future__ import annotations

from bench import openloop


def _rows(output: str, title: str) -> list[dict[str, str]]:
    """The markdown table under the heading `title`, as dicts by column name."""
    lines = output.split(title, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    table = lines[start:end]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=False)) for line in table[2:]]


def test_a_short_open_loop_run_answers_every_lookup_on_the_real_path_and_the_floor(tmp_path, capsys):
    assert openloop.main(["--url", f"sqlite:///{tmp_path / 'open.db'}", "--customers", "500", "--rates", "4",
                          "--seconds", "2", "--floor-seconds", "2", "--per-key-rate", "4", "--per-key-seconds", "1",
                          "--closed-employees", "2", "--closed-seconds", "2", "--warmup", "0", "--rest-seconds", "1", "--users", "4",
                          "--workers", "1", "--threads", "4"]) == 0
    output = capsys.readouterr().out

    per_key = _rows(output, "## Server CPU per lookup")
    assert [row["key"] for row in per_key] == list(openloop.KINDS)
    assert all(row["errors"] == "0" and float(row["server CPU ms per lookup"]) > 0 for row in per_key)
    assert all(float(row["of which at rest"]) >= 0 for row in per_key)  # the server's background CPU, shown apart
    assert "At rest (" in output and "less the server's CPU at rest: median" in output
    for title, server in (("## Open loop, the mix", "/customer (sqlite)"), ("## Framework floor", "floor (constant reply)"),
                          ("## Closed loop", "closed loop")):
        rows = _rows(output, title)
        assert [row["server"] for row in rows] == [server]
        assert rows[0]["errors"] == "0" and float(rows[0]["answered /s"]) > 0
        assert rows[0]["load avg"] and rows[0]["CPU ms per lookup"]
    assert "highest offered rate held" in output
