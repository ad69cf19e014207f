"""Lookup benchmark: a database of N customers (default 1,000,000), then p50/p95 of
exact lookups (e-mail, phone, loyalty card), typo-tolerant name lookups (and how often the right
customer is in the top 5), and building the profile card.

    .venv/bin/python bench/lookup.py --url sqlite:////tmp/frontline-bench.db
    tests/with_postgres.sh sh -c '.venv/bin/python bench/lookup.py --url "$FRONTLINE_TEST_POSTGRES_URL"'

The generator writes rows straight into the tables in large batches (not through the import pipeline):
names from the demo word lists for the common part plus a long tail of generated French-sounding surnames,
3 identifiers per customer, orders with lines for a third of them, interactions for a fifth.
An existing database with enough customers is reused (--reload to rebuild it).
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import random
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text
from unidecode import unidecode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handlers.profile.blocks import profile_blocks
from store.db import make_engine, make_session_factory, migrate
from store.demo import names
from store.models import Customer
from store.normalize import fold
from store.profile import build_profile
from store.search import find_customers

NOW = dt.datetime(2026, 3, 2, 12, 0)
BATCH = 20_000
_ONSETS = ("b", "br", "c", "ch", "d", "f", "g", "gr", "j", "l", "m", "n", "p", "pr", "r", "s", "t", "tr", "v")
_VOWELS = ("a", "e", "i", "o", "ou", "au", "é", "è", "ai", "u")
_ENDINGS = ("rd", "t", "n", "ron", "lin", "net", "chet", "mont", "ville", "court", "ard", "ier", "ot", "in",
            "and", "eau", "ault", "ois", "on", "et", "y", "ac", "as", "ès", "el")
_FIRST = names.FR_FEMALE + names.FR_MALE + names.EN_FEMALE + names.EN_MALE
_LAST_COMMON = names.FR_LAST + names.EN_LAST
_CITIES = ("Paris", "Lyon", "Bordeaux", "Lille", "Nantes", "Marseille", "Toulouse", "Rennes", "Strasbourg",
           "Montpellier", "Nice", "Grenoble", "Dijon", "Angers", "Reims", "London", "Manchester", "Leeds")


def surname(rng: random.Random) -> str:
    if rng.random() < 0.35:  # the common names, Zipf-like: the first of the list most often
        return _LAST_COMMON[min(int(rng.paretovariate(1.1)) - 1, len(_LAST_COMMON) - 1)] if rng.random() < 0.5 \
            else rng.choice(_LAST_COMMON)
    syllables = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.choice((1, 2, 2, 3))))
    return (syllables + rng.choice(_ENDINGS)).capitalize()


def customer_rows(count: int, seed: int):
    rng = random.Random(seed)
    for n in range(1, count + 1):
        first, last = rng.choice(_FIRST), surname(rng)
        email = f"{fold(first).replace(' ', '')}.{fold(last).replace(' ', '')}{n}@example.com"
        phone = f"+336{n:08d}"
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 65))
        since = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 16))
        yield (n, "active", first, last, email, phone, birth, rng.choice(_CITIES), "FR", f"MV{n:09d}",
               rng.choice(("bronze", "silver", "gold")), "fr", since, fold(f"{first} {last}"), "{}", NOW, NOW)


CUSTOMER_COLUMNS = ("id", "status", "first_name", "last_name", "email", "phone", "birth_date", "city", "country",
                    "loyalty_id", "loyalty_tier", "preferred_language", "customer_since", "search_name", "provenance",
                    "created_at", "updated_at")


# Found by its name's end: the revision's number is given when it is merged.
PAIR_KEYS_MIGRATION = next((Path(__file__).resolve().parents[1] / "store/migrations/versions")
                           .glob("*_name_pair_keys.py")).name


def _migration(file_name: str):
    path = Path(__file__).resolve().parents[1] / "store/migrations/versions" / file_name
    spec = importlib.util.spec_from_file_location(file_name.removesuffix(".py"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _insert(connection, postgres: bool, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    if postgres:
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def load(url: str, count: int, seed: int) -> None:
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    connection = raw.driver_connection
    cursor = connection.cursor()
    started = time.perf_counter()
    if postgres:
        # The name keys are filled in one pass after the load (as revision 0003 does), not row by row.
        cursor.execute("ALTER TABLE customers DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE customer_name_keys DROP CONSTRAINT IF EXISTS customer_name_keys_pkey")
        cursor.execute("ALTER TABLE customer_name_pair_keys DROP CONSTRAINT IF EXISTS customer_name_pair_keys_pkey")
        cursor.execute("ALTER TABLE customer_name_words DROP CONSTRAINT IF EXISTS customer_name_words_pkey")
        cursor.execute("TRUNCATE customers, customer_identifiers, orders, order_lines, interactions, employees, "
                       "audit_events, customer_name_keys, customer_name_pair_keys, customer_name_words CASCADE")
    else:
        cursor.execute("PRAGMA synchronous=OFF")
        triggers = cursor.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger' "
                                  "AND tbl_name='customers'").fetchall()
        for name, _ in triggers:
            cursor.execute(f"DROP TRIGGER {name}")
        for table in ("order_lines", "orders", "interactions", "customer_identifiers", "customer_name_keys",
                      "customer_name_pair_keys", "customer_name_words", "audit_events", "customers", "employees"):
            cursor.execute(f"DELETE FROM {table}")
    cursor.execute("INSERT INTO employees (id, slack_user_id, name, role, active, digest_paused, digest_weekdays, "
                   "created_at, updated_at) VALUES (1, 'UBENCH', 'Bench Employee', 'associate', true, false, "
                   "'0,1,2,3,4', '2026-01-01', '2026-01-01')")
    rng = random.Random(seed + 1)
    customers, identifiers, orders, lines, interactions = [], [], [], [], []
    order_id = line_id = interaction_id = identifier_id = 0

    def flush():
        for table, columns, rows in (
            ("customers", CUSTOMER_COLUMNS, customers),
            ("customer_identifiers", ("id", "customer_id", "kind", "value"), identifiers),
            ("orders", ("id", "source", "order_number", "customer_id", "ordered_at", "channel", "total_amount",
                        "currency", "status"), orders),
            ("order_lines", ("id", "order_id", "sku", "product_name", "quantity", "unit_price"), lines),
            ("interactions", ("id", "customer_id", "employee_id", "channel", "type", "outcome", "note",
                              "created_at", "source"), interactions),
        ):
            _insert(connection, postgres, table, columns, rows)
            rows.clear()

    for row in customer_rows(count, seed):
        cid = row[0]
        customers.append(row)
        for kind, value in (("email", row[4]), ("phone", row[5]), ("loyalty", row[9])):
            identifier_id += 1
            identifiers.append((identifier_id, cid, kind, value))
        if rng.random() < 0.33:
            for _ in range(rng.randint(1, 3)):
                order_id += 1
                orders.append((order_id, "web", f"W{order_id:08d}", cid,
                               NOW - dt.timedelta(days=rng.randrange(1, 2000)), "web", "49.90", "EUR", "completed"))
                for _ in range(rng.randint(1, 2)):
                    line_id += 1
                    lines.append((line_id, order_id, "SKU1", "Sneakers", 1, "49.90"))
        if rng.random() < 0.2:
            for _ in range(rng.randint(1, 2)):
                interaction_id += 1
                interactions.append((interaction_id, cid, 1, "store", "advice", "resolved", "Advice on sizes",
                                     NOW - dt.timedelta(days=rng.randrange(1, 900)), "slack"))
        if len(customers) >= BATCH:
            flush()
            connection.commit()
            print(f"\r  {cid:,} customers written ({time.perf_counter() - started:.0f}s)", end="", file=sys.stderr)
    flush()
    connection.commit()
    print(file=sys.stderr)
    if postgres:
        for table, column in (("customers", "id"), ("customer_identifiers", "id"), ("orders", "id"),
                              ("order_lines", "id"), ("interactions", "id"), ("employees", "id")):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                           f"(SELECT coalesce(max({column}), 1) FROM {table}))")
        print("  building the name keys…", file=sys.stderr)
        keys = _migration("0003_postgres_name_keys.py")
        cursor.execute(keys.POSTGRES_BACKFILL)
        cursor.execute(keys.POSTGRES_PRIMARY_KEY)
        pair_keys = _migration(PAIR_KEYS_MIGRATION)
        cursor.execute(pair_keys.POSTGRES_BACKFILL)
        cursor.execute(pair_keys.POSTGRES_PRIMARY_KEY)
        cursor.execute(pair_keys.POSTGRES_WORDS_BACKFILL)
        cursor.execute(pair_keys.POSTGRES_WORDS_PRIMARY_KEY)
        cursor.execute("ALTER TABLE customers ENABLE TRIGGER USER")
        connection.commit()
        connection.autocommit = True  # VACUUM: index-only scans need the visibility map it sets
        cursor.execute("VACUUM ANALYZE")
        connection.autocommit = False
    else:
        print("  building the name keys…", file=sys.stderr)
        cursor.execute(_migration("0002_search_trigram.py")._sqlite_backfill_sql())
        cursor.execute(_migration(PAIR_KEYS_MIGRATION).sqlite_backfill_sql())
        cursor.execute(_migration(PAIR_KEYS_MIGRATION).sqlite_words_backfill_sql())
        for _, sql in triggers:
            cursor.execute(sql)
        cursor.execute("ANALYZE")
    connection.commit()
    raw.close()
    engine.dispose()
    print(f"  loaded {count:,} customers in {time.perf_counter() - started:.0f}s", file=sys.stderr)


# --- queries ------------------------------------------------------------------------------------

def typo(rng: random.Random, word: str) -> str:
    """One slip of the finger: substitution, transposition, deletion or insertion (never the first letter)."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("substitute", "transpose", "delete", "insert"))
    letters = "abcdefghijklmnopqrstuvwxyz"
    if kind == "substitute":
        return word[:i] + rng.choice(letters.replace(word[i].lower(), "")) + word[i + 1:]
    if kind == "transpose":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "delete":
        return word[:i] + word[i + 1:]
    return word[:i] + rng.choice(letters) + word[i:]


def mistyped(rng: random.Random, first: str, last: str) -> str:
    """What an associate types: one typo, accents often dropped, sometimes last name first."""
    if rng.random() < 0.5:
        first, last = unidecode(first), unidecode(last)
    if rng.random() < 0.5:
        last = typo(rng, last)
    else:
        first = typo(rng, first)
    if rng.random() < 0.3:
        first, last = first.lower(), last.lower()
    return f"{last} {first}" if rng.random() < 0.3 else f"{first} {last}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


CPU_TIMES: list[float] = []  # CPU time per query: the work itself, without waiting for a core


def _server_cpu_ns(session) -> int:
    """CPU time so far of the PostgreSQL backend serving this session, when it runs on this machine
    (/proc/<pid>/schedstat, in ns); 0 for SQLite, whose work is already in this thread's CPU time."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    pid = session.connection().connection.dbapi_connection.info.backend_pid
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0])
    except OSError:
        return 0


def timed(session_factory, fn, items) -> list[float]:
    """Wall time per query, and in CPU_TIMES this thread's CPU time plus the database server's."""
    durations = []
    CPU_TIMES.clear()
    for item in items:
        started, cpu_started = time.perf_counter(), time.thread_time()
        with session_factory() as session:
            server_started = _server_cpu_ns(session)
            fn(session, item)
            server_ns = _server_cpu_ns(session) - server_started if server_started else 0
        durations.append((time.perf_counter() - started) * 1000)
        CPU_TIMES.append((time.thread_time() - cpu_started) * 1000 + server_ns / 1e6)
    return durations


def row(label: str, durations: list[float], bar: str) -> tuple[str, float, float, float, str]:
    return label, percentile(durations, 50), percentile(durations, 95), percentile(CPU_TIMES, 95), bar


class Viewer:
    id = 1
    role = "associate"


def measure(url: str, samples: int, seed: int) -> list[tuple[str, float, float, str]]:
    engine = make_engine(url)
    session_factory = make_session_factory(engine)
    rng = random.Random(seed + 2)
    with session_factory() as session:
        total = session.scalar(select(func.max(Customer.id)))
        sample_ids = rng.sample(range(1, total + 1), samples * 3)
        people = session.execute(select(Customer.id, Customer.first_name, Customer.last_name, Customer.email,
                                        Customer.phone, Customer.loyalty_id, Customer.search_name)
                                 .where(Customer.id.in_(sample_ids))).all()
        unique = [p for p in people if session.scalar(
            select(func.count()).select_from(Customer).where(Customer.search_name == p.search_name)) == 1]
    rng.shuffle(people)
    exact = people[:samples]

    def national(e164: str) -> str:
        digits = "0" + e164[3:]
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))

    results = []
    for label, queries in (
        ("e-mail", [p.email.upper() if i % 2 else p.email for i, p in enumerate(exact)]),
        ("phone (06 12 34 56 78)", [national(p.phone) for p in exact]),
        ("loyalty card", [p.loyalty_id.lower() for p in exact]),
    ):
        for q in queries[:20]:  # warm-up
            with session_factory() as session:
                find_customers(session, q)
        durations = timed(session_factory, lambda s, q: find_customers(s, q), queries)
        results.append(row(label, durations, "≤ 10 ms"))

    targets = unique[:samples]
    typed = [(p.id, mistyped(rng, p.first_name, p.last_name)) for p in targets]
    hits, clear_wrong, clear = 0, 0, 0
    outcomes = {}
    durations = timed(session_factory, lambda s, item: outcomes.__setitem__(item, find_customers(s, item[1], limit=5)),
                      typed)
    for customer_id, query in typed:
        result = outcomes[(customer_id, query)]
        found = [c.customer_id for c in result.candidates]
        hits += customer_id in found
        if result.exact:
            clear += 1
            clear_wrong += found[0] != customer_id
    recall = 100 * hits / len(typed)
    results.append(row(f"name with a typo (right one in top 5: {recall:.1f}%; card opened directly {clear}, "
                       f"wrongly {clear_wrong})", durations, "≤ 50 ms, ≥ 98%"))

    surnames = [(p.id, p.last_name) for p in targets[:samples]]
    durations = timed(session_factory, lambda s, item: find_customers(s, item[1]), surnames)
    results.append(row("surname only (list of 5)", durations, "—"))

    def card(session, customer_id):
        profile = build_profile(session, customer_id, viewer=Viewer(), clock=lambda: NOW)
        profile_blocks(profile, "fr", "Europe/Paris")

    durations = timed(session_factory, card, [p.id for p in exact])
    results.append(row("profile card (7 queries + blocks)", durations, "≤ 50 ms"))
    engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:////tmp/frontline-bench.db")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reload", action="store_true", help="rebuild the data even if enough is there")
    parser.add_argument("--build-only", action="store_true", help="load the database (if needed) and stop: no timing")
    args = parser.parse_args(argv)
    migrate(args.url)
    engine = make_engine(args.url)
    with engine.connect() as connection:
        present = connection.execute(text("SELECT count(*) FROM customers")).scalar()
    engine.dispose()
    if args.reload or present < args.customers:
        print(f"loading {args.customers:,} customers into {engine.dialect.name}…", file=sys.stderr)
        load(args.url, args.customers, args.seed)
    if args.build_only:
        return 0
    rows = measure(args.url, args.samples, args.seed)
    print(f"\n{engine.dialect.name}, {args.customers:,} customers, {args.samples} queries per line\n")
    print("| lookup | p50 ms | p95 ms | p95 CPU ms (client + server) | bar |\n|---|---:|---:|---:|---|")
    for label, p50, p95, cpu95, bar in rows:
        print(f"| {label} | {p50:.1f} | {p95:.1f} | {cpu95:.1f} | {bar} |")
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
