import datetime
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from store.identity import IdentityRecord, PairDecision, Thresholds, link_records


def rec(key, first=None, last=None, *, email=None, phone=None, birth=None, street=None, postcode=None,
        city=None, loyalty=None):
    return IdentityRecord(key, first, last, email, phone, birth, street, postcode, city, "FR", loyalty)


def together(result, a, b):
    return any(a in cluster and b in cluster for cluster in result.clusters)


def test_accented_and_plain_spellings_are_one_customer():
    result = link_records([
        rec(1, "Hélène", "Lefèvre", email="helene.l@orange.fr", birth=datetime.date(1980, 5, 3),
            street="12 rue de la Paix", postcode="75002"),
        rec(2, "HELENE", "LEFEVRE", phone="06 12 34 56 78", birth=datetime.date(1980, 5, 3), postcode="75 002"),
    ])
    assert together(result, 1, 2)
    assert result.links[0].kind == "fuzzy"
    assert "birth_date" in result.links[0].reasons


def test_swapped_first_and_last_names_match():
    result = link_records([
        rec(1, "Marie", "Dupont", birth=datetime.date(1975, 2, 11), street="3 av. Victor Hugo", postcode="69003"),
        rec(2, "DUPONT", "Marie", birth=datetime.date(1975, 2, 11), street="3 avenue Victor Hugo", postcode="69003"),
    ])
    assert together(result, 1, 2)
    assert "swapped_names" in result.links[0].reasons


def test_phone_in_different_formats_links_deterministically():
    result = link_records([
        rec(1, "Jean", "Martin", phone="+33 6 12 34 56 78"),
        rec(2, "Jean", "Martin", phone="06.12.34.56.78"),
        rec(3, "J.", "MARTIN", phone="0033612345678"),
    ])
    assert [sorted(c) for c in result.clusters] == [[1, 2, 3]]
    assert all(link.kind == "deterministic" and "same_phone" in link.reasons for link in result.links)


def test_nickname_and_typo_match_with_a_birth_date():
    result = link_records([
        rec(1, "Robert", "Smith", birth=datetime.date(1961, 7, 9), email="rsmith@gmail.com"),
        rec(2, "Bob", "Smiht", birth=datetime.date(1961, 7, 9), phone="+447700900123"),
    ])
    assert together(result, 1, 2)


def test_transposed_birth_day_and_month_still_match():
    result = link_records([
        rec(1, "Chloé", "Bénard", birth=datetime.date(1990, 4, 7), postcode="33000", street="5 rue Pasteur"),
        rec(2, "Chloe", "Benard", birth=datetime.date(1990, 7, 4), postcode="33000", street="5 r. Pasteur"),
    ])
    assert together(result, 1, 2)


def test_family_sharing_an_email_and_a_landline_stays_separate():
    family = dict(email="famille.dupont@free.fr", phone="01 45 67 89 10", street="8 rue des Lilas",
                  postcode="75011")
    result = link_records([
        rec(1, "Marie", "Dupont", birth=datetime.date(1970, 1, 5), **family),
        rec(2, "Jean", "Dupont", birth=datetime.date(1968, 9, 30), **family),
        rec(3, None, "Dupont", **family),  # could be either of them
        rec(4, "Marie", "Dupont", email="marie.dupont@gmail.com"),
    ])
    assert not together(result, 1, 2)
    assert together(result, 1, 3) or together(result, 2, 3) or any(
        {d.a, d.b} & {3} for d in result.review)


def test_same_name_different_birth_dates_are_different_people():
    home = dict(phone="01 45 67 89 10", street="8 rue des Lilas", postcode="75011")
    result = link_records([
        rec(1, "Pierre", "Moreau", birth=datetime.date(1950, 3, 2), **home),
        rec(2, "Pierre", "Moreau", birth=datetime.date(1979, 11, 23), **home),
    ])
    assert not together(result, 1, 2)


def test_obvious_non_match_stays_separate_and_is_not_reviewed():
    result = link_records([
        rec(1, "Marie", "Dupont", email="marie@orange.fr", postcode="75011", birth=datetime.date(1970, 1, 5)),
        rec(2, "Jean", "Martin", email="jean@free.fr", postcode="13001", birth=datetime.date(1985, 6, 1)),
    ])
    assert sorted(map(sorted, result.clusters)) == [[1], [2]]
    assert result.review == [] and result.links == []


def test_uncertain_pair_goes_to_review_not_merge():
    result = link_records([
        rec(1, None, "Dupont", postcode="75011", loyalty="FL1"),
        rec(2, "Marie", "Dupont", postcode="75011", email="marie@orange.fr"),
    ])
    assert not together(result, 1, 2)
    assert [(d.a, d.b) for d in result.review] == [(1, 2)]
    assert isinstance(result.review[0], PairDecision) and 0.5 <= result.review[0].score < 0.8


def test_cannot_link_is_respected_even_through_other_records():
    records = [
        rec(1, "Paul", "Girard", email="paul@gmail.com"),
        rec(2, "Paul", "Girard", email="paul@gmail.com", phone="0611223344"),
        rec(3, "Paul", "Girard", phone="06 11 22 33 44"),
    ]
    assert len(link_records(records).clusters) == 1
    result = link_records(records, cannot_link=[(3, 1)])
    assert not together(result, 1, 3)
    assert result.stats.refused_cannot_link == 1


def test_must_link_is_honoured():
    result = link_records([rec(1, "Anne", "Roux", email="anne@free.fr"),
                           rec(2, "Anne-Sophie", "Leroux", phone="0711223344")], must_link=[(1, 2)])
    assert together(result, 1, 2)
    assert result.links[0].reasons == ("must_link",)


def test_placeholder_email_shared_by_many_customers_links_nobody():
    records = [rec(i, f"Client{i}", "Test", email="test@test.com") for i in range(100)]
    result = link_records(records)
    assert len(result.clusters) == 100
    assert result.stats.junk_blocks == 1


def population(size, offset=0):
    """Distinct people, each twice: a web and a till record."""
    firsts = ["Marie", "Jean", "Léa", "Hugo", "Chloé", "Louis", "Emma", "Noah", "Inès", "Paul"]
    lasts = [f"{stem}{suffix}" for stem in ("Mar", "Dub", "Ler", "Gar", "Fon", "Bel", "Roc", "Vil")
             for suffix in ("tin", "ois", "oy", "nier", "taine", "lamy", "her", "lard", "mont", "eau")]
    records = []
    for n in range(size):
        first, last = firsts[n % 10], lasts[(n // 10) % 80]
        postcode = f"{(n * 7919) % 95000 + 1000:05d}"
        birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=n)
        records.append(rec(offset + 2 * n, first, last, email=f"c{n}@mail.fr", postcode=postcode, birth=birth))
        records.append(rec(offset + 2 * n + 1, first.upper(), last, phone=f"+336{n:08d}", postcode=postcode,
                           birth=birth))
    return records


def test_blocking_keeps_comparisons_near_linear():
    small = link_records(population(1_000))
    large = link_records(population(4_000))
    assert len(small.clusters) == 1_000 and len(large.clusters) == 4_000
    # 4x the records: quadratic work would be 16x the comparisons
    assert large.stats.comparisons <= 6 * small.stats.comparisons
    assert large.stats.comparisons < 8_000 * 20


def test_a_crowd_with_one_name_is_compared_by_window_not_all_pairs():
    records = [rec(i, "Marie", "Martin", postcode="75015", loyalty=f"FL{i}") for i in range(3_000)]
    result = link_records(records, thresholds=Thresholds(merge=0.8, review=0.5, window=20))
    assert result.stats.windowed_blocks >= 1
    assert result.stats.comparisons < 3_000 * 100  # all pairs would be 4.5 million


names = st.sampled_from(["Marie", "Jean", "Dupont", "Martin", "Hélène", "HELENE", "Lefèvre", None])
records_strategy = st.lists(
    st.builds(lambda first, last, email, phone, postcode, day: (first, last, email, phone, postcode, day),
              names, names, st.sampled_from([None, "a@x.fr", "b@x.fr"]),
              st.sampled_from([None, "0611223344", "+33611223344", "0711223344"]),
              st.sampled_from([None, "75011", "69003"]), st.sampled_from([None, 1, 2, 12])),
    max_size=12)


def build(rows):
    return [rec(i, first, last, email=e, phone=p, postcode=pc, birth=datetime.date(1980, 1, d) if d else None)
            for i, (first, last, e, p, pc, d) in enumerate(rows)]


@settings(max_examples=150, deadline=None)
@given(records_strategy)
def test_every_key_is_in_exactly_one_cluster(rows):
    result = link_records(build(rows))
    keys = [key for cluster in result.clusters for key in cluster]
    assert sorted(keys) == list(range(len(rows)))


@settings(max_examples=150, deadline=None)
@given(records_strategy, st.data())
def test_cannot_link_pairs_never_share_a_cluster(rows, data):
    pairs = list(itertools.combinations(range(len(rows)), 2))
    banned = data.draw(st.lists(st.sampled_from(pairs), max_size=4)) if pairs else []
    result = link_records(build(rows), cannot_link=banned, must_link=pairs[:2])
    for a, b in banned:
        assert not together(result, a, b)
    for decision in result.review:
        assert not together(result, decision.a, decision.b)
