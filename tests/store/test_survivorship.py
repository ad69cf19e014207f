"""Survivorship rules: which value of which record becomes the customer's golden value."""
from __future__ import annotations

import datetime as dt

from store.survivorship import RecordValues, build_golden


def rec(id: int, source: str, updated: str, **fields) -> RecordValues:
    return RecordValues(id=id, source=source, source_id=f"{source.upper()}{id}",
                        source_updated_at=dt.datetime.fromisoformat(updated), **fields)


def test_names_follow_the_majority_and_keep_the_best_spelling():
    golden = build_golden([
        rec(1, "web", "2024-05-01", first_name="helene", last_name="darcy"),
        rec(2, "pos", "2024-01-01", first_name="HELENE", last_name="DARCY"),
        rec(3, "crm", "2023-01-01", first_name="Hélène", last_name="D'Arcy"),
        rec(4, "web", "2024-06-01", first_name="Lena", last_name="Darcy"),  # a nickname, once
    ])
    assert (golden.values["first_name"], golden.values["last_name"]) == ("Hélène", "D'Arcy")
    assert golden.provenance["first_name"] == {"record_id": 3, "source": "crm", "source_id": "CRM3"}
    assert golden.search_name == "helene d arcy"


def test_name_tie_goes_to_the_most_trusted_source_and_initials_lose():
    golden = build_golden([
        rec(1, "web", "2024-05-01", first_name="Jon", last_name="Smith"),
        rec(2, "crm", "2020-01-01", first_name="John", last_name="Smith"),
        rec(3, "pos", "2024-06-01", first_name="J.", last_name="Smith"),
        rec(4, "pos", "2024-06-02", first_name="J", last_name="Smith"),
    ])
    assert golden.values["first_name"] == "John"


def test_contact_details_are_the_freshest_valid_ones():
    golden = build_golden([
        rec(1, "web", "2024-01-01", email="old@example.com", phone="0611111111"),
        rec(2, "crm", "2024-03-01", email="new@example.com", phone="not a phone"),
        rec(3, "pos", "2024-06-01", email="pas.de.mail@shop.example", phone="06 22 22 22 22"),
    ])
    assert golden.values["email"] == "new@example.com"  # the till's placeholder is not an e-mail
    assert golden.provenance["email"]["record_id"] == 2
    assert golden.values["phone"] == "+33622222222"
    assert ("email", "old@example.com") in golden.identifiers
    assert not any(value.startswith("pas.de.mail") for _, value in golden.identifiers)


def test_address_comes_whole_from_the_freshest_complete_record():
    golden = build_golden([
        rec(1, "crm", "2022-01-01", street="1 rue A", postcode="75001", city="Paris", country="FR"),
        rec(2, "web", "2024-01-01", street="9 quai B", postcode="69002", city="Lyon"),
        rec(3, "pos", "2024-09-01", postcode="13001"),  # fresher, but incomplete
    ])
    assert [golden.values[f] for f in ("street", "postcode", "city", "country")] == ["9 quai B", "69002", "Lyon", None]
    assert {golden.provenance[f]["record_id"] for f in ("street", "postcode", "city")} == {2}


def test_birth_date_by_agreement_loyalty_from_the_till_and_earliest_customer_since():
    golden = build_golden([
        rec(1, "crm", "2024-08-01", birth_date=dt.date(1980, 2, 1), loyalty_id="OLD 1"),
        rec(2, "pos", "2021-01-01", birth_date=dt.date(1980, 1, 2), loyalty_id="mv 000123",
            attributes={"loyalty_tier": "gold", "enrolled_on": "2015-04-02"}),
        rec(3, "web", "2023-01-01", birth_date=dt.date(1980, 1, 2), attributes={"language": "fr"}),
    ], first_order=dt.date(2016, 1, 1))
    assert golden.values["birth_date"] == dt.date(1980, 1, 2)
    assert (golden.values["loyalty_id"], golden.values["loyalty_tier"]) == ("MV000123", "gold")
    assert golden.provenance["loyalty_id"]["source"] == "pos"
    assert golden.values["customer_since"] == dt.date(2015, 4, 2)
    assert golden.values["preferred_language"] == "fr"
    assert {("loyalty", "MV000123"), ("loyalty", "OLD1")} <= set(golden.identifiers)
