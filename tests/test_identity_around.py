"""Scoring only around an arrival (store.identity.score_around) decides what full scoring decides there.

Identity on arrival reads hundreds of records around a new one (everyone born that day, everyone at
that postcode with a similar name) and used to score every pair among them; it now scores outward from
the records that bring new evidence. These tests check, on the project generator's messy people, that
the clusters holding those records come out exactly as when every pair is scored, and that the pairs
left out are only those that cannot reach them.
"""
from __future__ import annotations

from bench.synthetic_people import generate
from store import identity
from store.identity import (
    DEFAULT_MODEL,
    DEFAULT_THRESHOLDS,
    cluster_scored,
    postcode_name_keys,
    score_around,
    score_candidates,
)


def people(count: int, seed: int):
    return [record for _, _, record in generate(people=count, seed=seed)]


def cluster_of(result, key):
    return next(sorted(cluster) for cluster in result.clusters if key in cluster)


def test_the_clusters_around_chosen_records_are_those_of_full_scoring():
    records = people(1500, seed=3)
    keys = sorted(r.key for r in records)
    full = cluster_scored(score_candidates(records))
    for around in ([keys[7]], [keys[100], keys[900]], keys[::97]):
        scored = score_around(records, around)
        result = cluster_scored(scored)
        for key in around:
            assert cluster_of(result, key) == cluster_of(full, key)
        # and not every pair was scored: the point of it
        assert scored.stats.comparisons < score_candidates(records).stats.comparisons


def test_must_link_pairs_carry_the_search_to_a_customers_other_records():
    records = people(800, seed=5)
    full_scored = score_candidates(records)
    full = cluster_scored(full_scored)
    multi = [sorted(cluster) for cluster in full.clusters if len(cluster) >= 2]
    first, second = multi[0], multi[1]
    # tie the two customers together, as an existing customer's records are tied on arrival: the
    # search from one record of the first must reach the second's records and score their pairs too
    must = [(first[0], second[0])]
    around = cluster_scored(score_around(records, [first[-1]], must_link=must), must_link=must)
    whole = cluster_scored(full_scored, must_link=must)
    for key in first + second:
        assert cluster_of(around, key) == cluster_of(whole, key)


def test_reviews_and_links_around_the_records_are_the_same():
    records = people(1500, seed=11)
    full = cluster_scored(score_candidates(records))
    reviewed = sorted({key for d in full.review for key in (d.a, d.b)})
    assert reviewed, "the generator makes uncertain pairs"
    around = reviewed[:20]
    result = cluster_scored(score_around(records, around))

    def near(decisions):
        return sorted((min(d.a, d.b), max(d.a, d.b), round(d.score, 9)) for d in decisions
                      if d.a in around or d.b in around)

    assert near(result.review) == near(full.review)
    assert near(result.links) == near(full.links)


def test_the_postcode_keys_arrival_reads_by_are_relinks_own():
    # identity on arrival keeps, of the records at an arrival's postcode, those sharing one of these
    # keys with it: they must be exactly the postcode blocks relink files records under
    records = [r for r in people(3000, seed=2) if r.postcode]
    preps, _ = identity._prepare(records, DEFAULT_THRESHOLDS, DEFAULT_MODEL)
    by_key = {r.key: r for r in records}
    for prep in preps:
        relinks = set()
        for key in identity._name_keys(prep):
            if key[0] == "p":
                relinks.add(key.removesuffix("|" + prep.postcode))
            elif key[0] == "q":
                relinks.add("q" + key.removeprefix("q" + prep.postcode + "|"))
        record = by_key[prep.key]
        found = postcode_name_keys(record.first_name, record.last_name)
        assert found.keys == relinks, (record, found.keys, relinks)
        assert (found.surname_prefix, found.unnamed) == (prep.last[:3], len(prep.first) <= 1)
        assert (found.given_prefix, found.surnameless) == (prep.first[:3] if len(prep.first) > 1 else "",
                                                          not prep.last)
