"""Import benchmark: a synthetic people CSV of N rows through `frontline import`, timed, with peak memory.

    .venv/bin/python bench/import_people.py --rows 1000000             # SQLite file in a temp folder
    .venv/bin/python bench/import_people.py --rows 1000000 --relink    # and time identity resolution
    .venv/bin/python bench/import_people.py --rows 1000000 --link      # imports that link (the default CLI)
    .venv/bin/python bench/import_people.py --rows 200000 --database-url postgresql+psycopg://...

Each step runs `frontline` in its own process so its peak RSS is its own (os.wait4). The rows come
from bench/synthetic_people.py (messy multi-source people: phone formats, accents, typos) plus two
extra columns kept as attributes. Steps: first import (all rows new), re-import of the same file
(all unchanged), then relink when asked. With --link both imports run as users run them (no --no-link):
each step is then import + identity resolution, end to end. Each step's CPU time (user + sys) is shown
next to its wall time because the benchmark machine is often shared.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic_people import RECORDS_PER_PERSON, generate

ROOT = Path(__file__).resolve().parent.parent

HEADER = ["source_id", "first_name", "last_name", "email", "phone", "birth_date", "street", "postcode", "city",
          "country", "loyalty_id", "updated_at", "segment", "origin"]
CLI = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"


def write_people(path: Path, rows: int, seed: int) -> None:
    people = int(rows / RECORDS_PER_PERSON * 1.2) + 1000  # the mean varies a little with size
    written = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for source, person, record in generate(people=people, seed=seed):
            writer.writerow([
                f"{source}-{record.key}", record.first_name or "", record.last_name or "", record.email or "",
                record.phone or "", record.birth_date.isoformat() if record.birth_date else "", record.street or "",
                record.postcode or "", record.city or "", record.country or "", record.loyalty_id or "",
                "2024-05-01T10:00:00Z", ("gold", "silver", "")[person % 3], source,
            ])
            written += 1
            if written == rows:
                return
    raise SystemExit(f"the generator stopped at {written} rows")


def run_measured(name: str, argv: list[str], env: dict[str, str], workdir: Path) -> dict:
    """Run one step in a child process; wall time and that child's own peak RSS."""
    out_path, err_path = workdir / "out.txt", workdir / "err.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.monotonic()
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=err)
        # wait4 reports the rusage of exactly this child (RUSAGE_CHILDREN would mix all steps).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    output, errors = out_path.read_text(), err_path.read_text()
    if code not in (0, 1):
        raise SystemExit(f"{name} failed ({code}):\n{errors[-2000:]}")
    return {"name": name, "seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "out": output.strip(), "load": os.getloadavg()[0],
            "bad_rows": sum(1 for line in errors.splitlines() if line.startswith("people.csv:"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--relink", action="store_true", help="also time identity resolution over the records")
    parser.add_argument("--link", action="store_true", help="imports link records too (no --no-link)")
    parser.add_argument("--no-reimport", action="store_true", help="skip the re-import of unchanged rows")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="frontline-bench-") as folder:
        workdir = Path(folder)
        path = workdir / "people.csv"
        started = time.monotonic()
        write_people(path, args.rows, args.seed)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - started:.0f}s")
        url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        python = sys.executable
        run_measured("migrate", [python, "-c", CLI, "migrate"], env, workdir)
        command = [python, "-c", CLI, "import", str(path), "--source", "bench",
                   *([] if args.link else ["--no-link"]), "--batch-size", str(args.batch_size), "--no-progress"]
        linked = " + link" if args.link else ""
        steps = [run_measured(f"import{linked} (new)", command, env, workdir)]
        if not args.no_reimport:
            steps.append(run_measured(f"re-import{linked} (unchanged)", command, env, workdir))
        if args.relink:
            # what an operator runs: `frontline relink` (store.resolution.relink behind the CLI)
            steps.append(run_measured("relink", [python, "-c", CLI, "relink"], env, workdir))
    backend = url.split(":")[0].split("+")[0]
    print("\n| step | backend | rows | wall s | CPU s | rows/s (wall) | peak RSS (MB) | load after |\n"
          "|---|---|---|---|---|---|---|---|")
    for step in steps:
        print(f"| {step['name']} | {backend} | {args.rows:,} | {step['seconds']:.1f} | {step['cpu']:.1f} | "
              f"{args.rows / step['seconds']:,.0f} | {step['rss_mb']:.0f} | {step['load']:.1f} |")
    for step in steps:
        for line in step["out"].splitlines()[-2:]:
            print(f"{step['name']}: {line}")
        print(f"{step['name']}: {step['bad_rows']} bad rows")


if __name__ == "__main__":
    main()
