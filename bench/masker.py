"""Log masker timing: bot.logs.scrub against inputs built to make a regex backtrack.

    .venv/bin/python bench/masker.py            # sizes 4 KB .. 4 MB, best of 5 runs (2 from 1 MB)

For each hostile shape and size, the time of the masking itself (`scrub` with the line cap lifted, to
show how it grows with the input) and of `scrub` as logging calls it (cut at 4,000 characters first).
The first release's e-mail pattern is timed alongside up to 32 KB (beyond, it takes minutes): it grew
with the square of the input. Linear means: time per KB flat as the size grows.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.logs import scrub

FIRST_RELEASE_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")  # the pattern that backtracked
SHAPES = {
    "letters": lambda n: "a" * n,
    "dotted": lambda n: "a." * (n // 2),
    "digits+spaces": lambda n: "1 " * (n // 2),
    "at-signs": lambda n: "@a" * (n // 2),
    "percent-escapes": lambda n: "%41" * (n // 3),
    "form body": lambda n: ("text=jean.dupont%40orange.example&phone=06+39+00+13+11&" * (n // 55 + 1))[:n],
}
SIZES = [4_000, 16_000, 64_000, 256_000, 1_000_000, 4_000_000]


def best_of(runs: int, func, text: str) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        func(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    print(f"{'shape':<16} {'size':>9} {'mask ms':>9} {'us/KB':>7} {'logged ms':>10} {'first release ms':>17}")
    for name, build in SHAPES.items():
        for size in SIZES:
            text = build(size)
            uncapped = best_of(5 if size < 1_000_000 else 2, lambda t: scrub(t, limit=10**9), text)
            capped = best_of(5, scrub, text)
            old = (f"{best_of(1, lambda t: FIRST_RELEASE_EMAIL.sub('[email]', t), text) * 1000:17.1f}"
                   if size <= 32_000 else f"{'-':>17}")
            print(f"{name:<16} {size:>9,} {uncapped * 1000:9.2f} {uncapped * 1e6 / (size / 1000):7.1f} "
                  f"{capped * 1000:10.3f} {old}")


if __name__ == "__main__":
    main()
