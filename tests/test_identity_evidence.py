"""Every automatic link and every review carries its evidence field by field, with the weight each
field contributed (issue 12): the CLI prints it and the Slack review shows it, so it must add up to
the score and survive the trip through the review table's JSON."""
from __future__ import annotations

import datetime

from store.identity import (
    Evidence,
    IdentityRecord,
    describe_evidence,
    evidence_as_json,
    evidence_from_json,
    link_records,
)
from store.vocabulary import EvidenceField, EvidenceLevel


def rec(key, first=None, last=None, *, email=None, phone=None, birth=None, street=None, postcode=None,
        loyalty=None):
    return IdentityRecord(key, first, last, email, phone, birth, street, postcode, None, "FR", loyalty)


def lines(decision):
    return {line.field: line for line in decision.evidence}


def test_a_link_shows_each_field_and_its_weight_and_they_add_up_to_the_score():
    result = link_records([
        rec(1, "Chloé", "Bénard", birth=datetime.date(1990, 4, 7), postcode="33000", street="5 rue Pasteur"),
        rec(2, "Chloe", "Benard", birth=datetime.date(1990, 7, 4), postcode="33000", street="5 r. Pasteur"),
    ])
    [link] = result.links
    by_field = lines(link)
    assert by_field[EvidenceField.FIRST_NAME].level == EvidenceLevel.EXACT
    assert by_field[EvidenceField.BIRTH_DATE].level == EvidenceLevel.TRANSPOSED
    assert by_field[EvidenceField.POSTCODE].level == EvidenceLevel.EXACT
    assert by_field[EvidenceField.FIRST_NAME].bits > 0 and by_field[EvidenceField.PRIOR].bits < 0
    assert abs(sum(line.bits for line in link.evidence) - link.total_bits) < 1e-9
    assert abs(link.score - 1 / (1 + 2 ** -link.total_bits)) < 1e-9


def test_a_missing_field_is_shown_as_missing_and_weighs_nothing():
    result = link_records([
        rec(1, "Anne", "Morel", birth=datetime.date(1971, 3, 2), postcode="69003", street="12 rue Pasteur"),
        rec(2, None, "Morel", birth=datetime.date(1971, 3, 2), postcode="69003", street="12 rue Pasteur"),
    ])
    [decision] = result.links + result.review
    missing = lines(decision)[EvidenceField.FIRST_NAME]
    assert missing.level == EvidenceLevel.MISSING and missing.bits == 0


def test_housemate_evidence_is_flagged_and_the_guard_takes_its_share_back():
    # no first name: surname and address are what the rest of the household shares too
    result = link_records([
        rec(1, "Anne", "Morel", birth=datetime.date(1971, 3, 2), postcode="69003", street="12 rue Pasteur"),
        rec(2, None, "Morel", birth=datetime.date(1971, 3, 2), postcode="69003", street="12 rue Pasteur"),
    ])
    [decision] = result.links + result.review
    by_field = lines(decision)
    assert by_field[EvidenceField.LAST_NAME].capped and by_field[EvidenceField.STREET].capped
    assert by_field[EvidenceField.HOUSEHOLD_CAP].bits < 0
    assert abs(sum(line.bits for line in decision.evidence) - decision.total_bits) < 1e-9


def test_evidence_survives_the_review_table_json_and_prints_for_the_cli():
    result = link_records([
        rec(1, "Robert", "Smith", birth=datetime.date(1961, 7, 9), email="rsmith@gmail.com"),
        rec(2, "Bob", "Smiht", birth=datetime.date(1961, 7, 9), phone="+447700900123"),
    ])
    [link] = result.links
    stored = evidence_as_json(link.evidence)
    assert all(set(line) == {"field", "level", "bits", "capped"} for line in stored)
    back = evidence_from_json(stored)
    assert [(e.field, e.level) for e in back] == [(e.field, e.level) for e in link.evidence]
    assert evidence_from_json(None) == ()  # a review queued before evidence existed
    text = describe_evidence(back)
    assert "first_name nickname +" in text and "last_name typo +" in text


def test_evidence_carries_no_customer_values():
    result = link_records([
        rec(1, "Hélène", "Lefèvre", email="helene.l@orange.fr", birth=datetime.date(1980, 5, 3), postcode="75002"),
        rec(2, "Helene", "Lefevre", email="helene.l@orange.fr", birth=datetime.date(1980, 5, 3), postcode="75002"),
    ])
    text = repr(evidence_as_json(result.links[0].evidence)).lower()
    assert "helene" not in text and "lefevre" not in text and "75002" not in text and "1980" not in text
    assert isinstance(result.links[0].evidence[0], Evidence)
