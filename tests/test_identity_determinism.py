"""The same records give the same customers on every run.

Operators re-run relink and expect no merge or split that the data did not ask for. The linker's
conflict guard is first come, first served (Marie -> "Dupont, no first name" -> Jean: whichever link
is met first wins), so these tests feed the same records in other orders, and in processes with other
string-hash seeds, and ask for the same customers.
"""
from __future__ import annotations

import datetime
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from bench.synthetic_people import generate
from store.identity import IdentityRecord, link_records
from store.resolution import relink
from tests.store.resolution_fixtures import add_record

ROOT = Path(__file__).resolve().parent.parent


def rec(key, first=None, last=None, *, email=None, phone=None, birth=None, postcode=None):
    return IdentityRecord(key, first, last, email, phone, birth, None, postcode, None, "FR", None)


def customers(result):
    return sorted(sorted(cluster) for cluster in result.clusters)


def households(count):
    """Families where a record without a first name shares the mother's e-mail and the father's phone:
    it can join either parent, never both, and both links score 1.0."""
    records = []
    for n in range(count):
        last, postcode = f"Famille{n:03d}", f"{75001 + n % 20}"
        family_mail, home_phone = f"famille{n}@free.fr", f"+3314567{n:04d}"
        records += [
            rec(4 * n, "Marie", last, email=family_mail, birth=datetime.date(1970, 1, 1 + n % 28),
                postcode=postcode),
            rec(4 * n + 1, None, last, email=family_mail, phone=home_phone, postcode=postcode),
            rec(4 * n + 2, "Jean", last, phone=home_phone, birth=datetime.date(1968, 3, 1 + n % 28),
                postcode=postcode),
            rec(4 * n + 3, "Marie", last, email=f"marie{n}@gmail.com", phone=f"+3361234{n:04d}"),
        ]
    return records


def test_household_records_join_the_same_parent_whatever_the_input_order():
    records = households(40)
    expected = customers(link_records(records))
    for seed in range(5):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert customers(link_records(shuffled)) == expected
    for cluster in expected:  # the guard still holds: never Marie and Jean in one customer
        assert not {0, 2} <= {key % 4 for key in cluster}


def test_synthetic_population_gives_the_same_customers_in_any_input_order():
    records = [record for _, _, record in generate(2_000, seed=3)]
    expected = customers(link_records(records))
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    assert customers(link_records(shuffled)) == expected
    assert customers(link_records(records[::-1])) == expected


def test_conflicting_must_link_decisions_give_the_same_customers_in_any_order():
    records = [rec(1, "Paul", "Girard"), rec(2, "Paul", "Girard"), rec(3, "Paula", "Girard")]
    forward = link_records(records, must_link=[(1, 2), (2, 3)], cannot_link=[(1, 3)])
    backward = link_records(records, must_link=[(3, 2), (2, 1)], cannot_link=[(3, 1)])
    assert customers(forward) == customers(backward)
    assert not any({1, 3} <= set(cluster) for cluster in forward.clusters)


# One customer, once typed with first and last name swapped and the first name cut to an initial
# ("Thomas C."): read one way the first names clash, read the other way they agree.
CLEMENCE = [
    dict(first_name="Clémence", last_name="Thomas", email="clemencethomas@wanadoo.fr", postcode="31360"),
    dict(first_name="Thomas", last_name="C.", email="clemencethomas@wanadoo.fr", phone="0033677701691",
         postcode="31360", loyalty_id="FL914179333"),
    dict(first_name="Clémence", last_name="THOMAS", email="clemencethomas@wanadoo.fr", phone="06.77.70.16.91",
         birth_date=datetime.date(1965, 2, 1), postcode="82640", loyalty_id="FL914179333"),
    dict(first_name="Clemence", last_name="THOMAS", phone="0677701691", birth_date=datetime.date(1965, 2, 1),
         postcode="31360", loyalty_id="FL914179333"),
]


def clemence_records():
    return [IdentityRecord(key, f["first_name"], f["last_name"], f.get("email"), f.get("phone"),
                           f.get("birth_date"), None, f["postcode"], None, "FR", f.get("loyalty_id"))
            for key, f in enumerate(CLEMENCE, 1)]


def test_linking_again_with_the_customers_as_must_link_changes_no_customer():
    """What relink does on its second run: existing customers come back as must_link groups."""
    records = clemence_records()
    first = link_records(records)
    stars = [(cluster[0], key) for cluster in customers(first) for key in cluster[1:]]
    assert customers(link_records(records, must_link=stars)) == customers(first)


def test_relink_twice_reconsidering_everything_merges_nobody(session_factory):
    with session_factory.begin() as session:
        for n, fields in enumerate(CLEMENCE):
            add_record(session, "crm", f"C{n}", **fields)
        first = relink(session)
    with session_factory.begin() as session:
        again = relink(session, reconsider=True)
    assert (again.clusters, again.customers_merged, again.customers_created) == (first.clusters, 0, 0)


_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from bench.synthetic_people import generate
from store.identity import link_records
records = [record for _, _, record in generate(1_500, seed=5)]
print(json.dumps(sorted(sorted(c) for c in link_records(records).clusters)))
"""


def test_runs_in_processes_with_different_string_hashing_give_the_same_customers():
    def run(hash_seed: str) -> list[list[int]]:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT)], env=env, check=True,
                             capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout)

    first = run("1")
    assert len(first) > 1_000
    assert run("2") == first == run("3")
