"""Directory sync benchmark: `frontline employees sync` of N Slack users against the loopback stand-in.

    .venv/bin/python bench/directory_sync.py --users 50000                 # SQLite file in a temp folder
    .venv/bin/python bench/directory_sync.py --users 50000 --database-url postgresql+psycopg://...

The stand-in (localslack) runs in this process and answers at once: N users over `users.list` pages of
200, spread over --stores store groups (each a team and a store in the mapping) plus a managers group;
one user in 50 is a guest, one in 100 deleted, one in 200 a bot. `frontline employees sync` runs in its
own process, so its wall time, CPU time (user + sys) and peak RSS (os.wait4) are its own. Steps: the
first sync (everyone new), the same directory again (nothing changes), then a directory where one
person in 20 moved store, one in 100 was promoted and one in 100 deleted.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localslack.local_slack import LocalSlack

ROOT = Path(__file__).resolve().parent.parent
CLI = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"


def user_id(index: int) -> str:
    return f"U{index:08d}"


def fill(slack: LocalSlack, users: int, stores: int) -> None:
    for index in range(users):
        slack.add_user(user_id(index), f"Person {index}", locale=("fr-FR", "en-GB", "de-DE")[index % 3],
                       tz=("Europe/Paris", "Europe/London")[index % 2], email=f"person{index}@retail.example",
                       is_restricted=index % 50 == 7, deleted=index % 100 == 13, is_bot=index % 200 == 17)
    group_members(slack, users, stores, shift=0)


def group_members(slack: LocalSlack, users: int, stores: int, *, shift: int) -> None:
    """Everyone in one store group; one in 40 a manager. `shift` moves one person in 20 to the next store."""
    members: dict[int, list[str]] = {store: [] for store in range(stores)}
    for index in range(users):
        moved = shift and index % 20 == 3
        members[(index + (1 if moved else 0)) % stores].append(user_id(index))
    for store, ids in members.items():
        slack.add_usergroup(f"store-{store:03d}", ids)
    slack.add_usergroup("store-managers", [user_id(index) for index in range(users)
                                           if index % 40 == 5 or (shift and index % 100 == 9)])


def mapping_text(stores: int) -> str:
    lines = ['[roles]', 'manager = { groups = ["store-managers"] }', '']
    for store in range(stores):
        lines += ["[[teams]]", f'group = "store-{store:03d}"', f'team = "Store {store:03d} floor"',
                  f'store = "S{store:03d}"', ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--stores", type=int, default=100)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, LocalSlack() as slack:
        database_url = options.database_url or f"sqlite:///{folder}/bench.db"
        mapping = Path(folder) / "directory.toml"
        mapping.write_text(mapping_text(options.stores), encoding="utf-8")
        env = {**os.environ, "DATABASE_URL": database_url, "SLACK_BOT_TOKEN": slack.bot_token,
               "SLACK_API_URL": slack.api_url, "LOG_LEVEL": "WARNING"}
        start = time.perf_counter()
        fill(slack, options.users, options.stores)
        print(f"stand-in filled with {options.users:,} users in {time.perf_counter() - start:.1f} s; "
              f"load average {os.getloadavg()[0]:.1f}")
        subprocess.run([sys.executable, "-c", CLI, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        for step in ("first sync", "same directory", "moves, promotions, deletions"):
            if step == "moves, promotions, deletions":
                for index in range(0, options.users, 100):
                    slack.users[user_id(index)].deleted = True
                group_members(slack, options.users, options.stores, shift=1)
            load = os.getloadavg()[0]
            wall, cpu, peak, line = measure(["employees", "sync", "--mapping", str(mapping)], env, folder)
            print(f"{step:<30} wall {wall:6.1f} s  CPU {cpu:6.1f} s  peak {peak:5d} MB  load {load:4.1f}  | {line}")


def measure(args: list[str], env: dict[str, str], folder: str) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the process, its peak RSS in MB, its first output line)."""
    # Output to files: a line per change fills a pipe long before the process ends.
    out_path, err_path = Path(folder) / "out.txt", Path(folder) / "err.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", CLI, *args], env=env, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # its own rusage, not this process's stand-in threads
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"frontline {' '.join(args)} failed: {err_path.read_text()[-500:]}")
    lines = out_path.read_text().splitlines()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, lines[0] if lines else ""


if __name__ == "__main__":
    main()
