"""Block Kit of possible duplicates: pure functions of store.review's dataclasses."""
from __future__ import annotations

import datetime as dt
import json

from slack_sdk.models.blocks import Block

from handlers.review.blocks import card_banner, evidence_line, queue_blocks, review_blocks, score_line
from store.review import Evidence, PendingReview, PossibleDuplicate, RecordSummary


def record(**fields) -> RecordSummary:
    base = dict(id=1, source="web", source_id="W1", customer_id=10, first_name="Anne", last_name="Morel",
                email="anne.morel@example.com", phone="+33611223344", birth_date=dt.date(1971, 3, 4),
                street="12 allée des tilleuls", postcode="69003", city="Lyon", loyalty_id=None)
    return RecordSummary(**{**base, **fields})


def pending(**changes) -> PendingReview:
    values = dict(id=7, score=0.91, created_at=dt.datetime(2026, 1, 1), reasons=[],
                  evidence=(Evidence("last_name", "exact", 7.4), Evidence("first_name", "typo", 2.0),
                            Evidence("birth_date", "transposed", 5.0), Evidence("postcode", "transposed", 1.0),
                            Evidence("street", "close", 2.5), Evidence("email", "differs", -3.0)),
                  a=record(),
                  b=record(id=2, source="pos", source_id="P1", customer_id=11, first_name="Anme",
                           email="a.morel@example.com", birth_date=dt.date(1971, 4, 3), postcode="69030",
                           street="12 allee des tileuls résidence b", phone=None))
    return PendingReview(**{**values, **changes})


def test_each_field_says_what_it_weighed():
    evidence = (Evidence("birth_date", "transposed", 5.0), Evidence("postcode", "differs", -4.0),
                Evidence("last_name", "exact", 3.0, capped=True), Evidence("email", "missing", 0.0))
    assert evidence_line("birth_date", evidence, "en", compared=True) == \
        "*Birth date* ✅ two parts swapped (day and month, or digits) · +5.0 bits"
    assert evidence_line("postcode", evidence, "fr", compared=True) == "*Code postal* ❌ différent · -4.0 bits"
    assert evidence_line("last_name", evidence, "en", compared=True) == \
        "*Last name* ✅ same · a housemate could share it · +3.0 bits"
    assert evidence_line("email", evidence, "en", compared=False) == "*E-mail* ➖ missing on one side · +0.0 bits"
    assert evidence_line("phone", evidence, "en", compared=True) == "*Phone* · not compared"
    assert evidence_line("phone", evidence, "en", compared=False) == "*Phone*"


def test_the_score_line_adds_up_the_fields_and_names_the_prior_and_the_guard():
    review = pending(evidence=(Evidence("prior", "prior", -12.0), Evidence("first_name", "exact", 6.0),
                               Evidence("last_name", "exact", 7.5, capped=True),
                               Evidence("household_cap", "capped", -5.0)))
    assert score_line(review, "en") == \
        "Match score 0.91 · fields +13.5 bits · prior -12.0 bits · household guard -5.0 bits"


def test_both_records_side_by_side_one_row_per_field_with_masked_contacts():
    blocks = review_blocks(pending(), "en")
    rows = {b["block_id"]: b for b in blocks if b.get("block_id", "").startswith("review.7.")}
    assert [key.split(".")[-1] for key in rows] == [
        "question", "first_name", "last_name", "birth_date", "email", "phone", "street", "postcode", "city", "answers"]
    assert [f["text"] for f in rows["review.7.first_name"]["fields"]] == ["Anne", "Anme"]
    assert [f["text"] for f in rows["review.7.postcode"]["fields"]] == ["69003", "69030"]
    assert [f["text"] for f in rows["review.7.birth_date"]["fields"]] == ["4 Mar 1971", "3 Apr 1971"]
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "anne.morel@example.com" not in shown and "611223344" not in shown
    assert "written differently" in shown and "one or two letters differ" in shown
    for block in blocks:
        Block.parse(block).validate_json()


def test_names_that_try_to_ping_are_shown_escaped():
    evil = record(first_name="<!channel>", last_name="<@U0NINA>", city="<https://evil.example|x>")
    shown = json.dumps(review_blocks(pending(a=evil), "en") +
                       card_banner(PossibleDuplicate(review_id=7, customer_id=11, other=evil), "en"))
    assert "<!channel>" not in shown and "<@U0NINA>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt;" in shown


def test_the_banner_names_who_to_ask_about():
    [banner, answers] = card_banner(PossibleDuplicate(review_id=7, customer_id=11,
                                                      other=record(first_name="Marie", last_name="Dupont")), "en")
    assert banner["text"]["text"] == "🔎 Possibly the same person as *Marie Dupont, Lyon, born 1971* — ask the customer."
    assert [e["value"] for e in answers["elements"]] == ["7:11"] * 3
    nameless = card_banner(PossibleDuplicate(review_id=7, customer_id=11,
                                             other=record(first_name=None, last_name=None, city=None,
                                                          birth_date=None)), "fr")
    assert nameless[0]["text"]["text"] == "🔎 Peut-être la même personne que *(sans nom)* — demandez au client."


def test_an_empty_queue_says_so():
    text = json.dumps(queue_blocks("en", None, 0), ensure_ascii=False)
    assert "No possible duplicate is waiting." in text
    text = json.dumps(queue_blocks("fr", None, 3, ended=True), ensure_ascii=False)
    assert "Plus rien après celui-ci" in text
