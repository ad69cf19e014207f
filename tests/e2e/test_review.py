"""Possible duplicates answered in Slack, end to end: signed requests over HTTP to the real server, the local
Slack stand-in as Slack (every payload validated with slack_sdk's Block Kit models)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from localslack.slack_driver import find_element
from store.gdpr import erase_customer
from store.models import AuditEvent, LinkConstraint, MatchReview, MergeEvent, ReviewDecision, SourceRecord
from store.resolution import relink
from tests.e2e.review_world import MARIE_EMAIL, MARIE_PHONE, build_review_world, identity_state
from tests.e2e.trust_world import channel_posts
from tests.store.resolution_fixtures import customer_of, dump_world


@pytest.fixture
def world(session_factory, employee):
    return build_review_world(session_factory, employee)


def review_reply(bot, slack, user="U0ADA"):
    before = slack.mark()
    bot.command("/review", "", user=user)
    return slack.wait_for("response_url", since=before)


def click(bot, slack, action_id, on, user="U0ADA"):
    before = slack.mark()
    reply = bot.click(action_id, user=user, on=on)
    assert reply.status == 200
    return slack.wait_for("response_url", since=before)


def card(bot, slack, query=MARIE_PHONE, user="U0LEA"):
    before = slack.mark()
    bot.command("/customer", query, user=user)
    return slack.wait_for("command_response", since=before)


def shown_review(call) -> int:
    found = find_element(call.blocks, "review.same")
    assert found is not None, call.text
    return int(found[1]["value"])


def status(session_factory, review_id) -> str:
    with session_factory() as session:
        return session.get(MatchReview, review_id).status


def forged(action_id: str, value) -> dict:
    return {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "x"},
         **({"value": value} if value is not None else {})}]}]}


def test_a_steward_sees_both_records_side_by_side_with_the_evidence(bot, slack, world, session_factory):
    for steward in ("U0ADA", "U0SAM"):  # an admin, and an associate granted data_steward
        reply = review_reply(bot, slack, user=steward)
        assert reply.args["response_type"] == "ephemeral"
        first = shown_review(reply)
        assert first == world.queue[0]
        text = reply.text
        assert "Are these the same person?" in text and "2 possible duplicates waiting" in text
        block_ids = [b.get("block_id") for b in reply.blocks]
        for field in ("first_name", "last_name", "postcode"):
            assert f"review.{first}.{field}" in block_ids
        # Each compared field says what it weighed; contact details stay masked as on the card.
        assert "bits" in text and "✅" in text
        assert MARIE_EMAIL not in text and MARIE_PHONE not in text
        assert {"Same person", "Not the same", "Skip"} <= {
            e["text"]["text"] for b in reply.blocks if b["type"] == "actions" for e in b["elements"]}
    assert channel_posts(slack) == []
    with session_factory() as session:  # being shown both records is a view of both customers, audited
        views = session.execute(select(AuditEvent.employee_id, AuditEvent.customer_id)
                                .where(AuditEvent.action == "view", AuditEvent.via == "slack:review")).all()
    first_pair = {world.marie_web, world.marie_pos} if world.queue[0] == world.marie_review \
        else {world.sophie_web, world.sophie_pos}
    assert {(e, c) for e, c in views} == {(who, c) for who in (world.ada, world.sam) for c in first_pair}
    slack.assert_valid()


def test_someone_who_is_not_a_steward_is_refused_and_nothing_changes(bot, slack, world, session_factory):
    state = identity_state(session_factory)
    reply = review_reply(bot, slack, user="U0LEA")
    assert "data stewards" in reply.text and find_element(reply.blocks, "review.same") is None
    for action_id in ("review.same", "review.apart", "review.skip", "review.undo"):
        before = slack.mark()
        bot.click(action_id, user="U0LEA", on=forged(action_id, str(world.marie_review)))
        refusal = slack.wait_for("response_url", since=before)
        assert "data stewards" in refusal.text
    assert identity_state(session_factory) == state
    slack.assert_valid()


def test_same_person_merges_and_the_card_shows_one_customer(bot, slack, world, session_factory):
    reply = review_reply(bot, slack)
    first = shown_review(reply)
    done = click(bot, slack, "review.same", reply)
    assert "merged into one customer" in done.text
    assert find_element(done.blocks, "review.undo") is not None
    assert shown_review(done) == world.queue[1]  # straight on to the next one
    assert status(session_factory, first) == "accepted"
    with session_factory() as session:
        pair = session.get(MatchReview, first)
        records = (pair.record_a_id, pair.record_b_id)
        event = session.scalars(select(MergeEvent)).one()
        trail = session.execute(select(AuditEvent.employee_id, AuditEvent.via, AuditEvent.detail)
                                .where(AuditEvent.action == "review")).all()
    assert event.reason == "review" and event.actor == "U0ADA"
    assert trail and all(row.employee_id == world.ada and row.via == "slack:review"
                         and row.detail["answer"] == "same" for row in trail)
    if first == world.marie_review:
        with session_factory() as session:
            assert customer_of(session, "web", "W1") == customer_of(session, "pos", "P1")
        found = card(bot, slack, "Marie Dupont")
        assert find_element(found.blocks, "customer.open") is None  # one customer: the card, not a choice
        assert found.blocks[0]["text"]["text"] == "Marie Dupont"
        assert MARIE_PHONE[-2:] in found.text and "Possibly the same person" not in found.text
    assert records  # the pair's records exist and are now one customer's
    slack.assert_valid()


def test_not_the_same_keeps_them_apart_for_good(bot, slack, world, session_factory):
    reply = review_reply(bot, slack)
    first = shown_review(reply)
    done = click(bot, slack, "review.apart", reply)
    assert "kept apart" in done.text and find_element(done.blocks, "review.undo") is not None
    assert status(session_factory, first) == "rejected"
    with session_factory.begin() as session:
        report = relink(session)  # the default thresholds, laxer than the world's: the answer still holds
        assert report.reviews_queued == 0 and report.customers_merged == 0
        pair = session.get(MatchReview, first)
        owners = {session.scalar(select(SourceRecord.customer_id).where(SourceRecord.id == record))
                  for record in (pair.record_a_id, pair.record_b_id)}
        assert session.scalars(select(LinkConstraint.kind)).all() == ["cannot_link"]
    assert len(owners) == 2
    again = review_reply(bot, slack)
    assert shown_review(again) == world.queue[1] and "1 possible duplicate waiting" in again.text


def test_undo_same_person_restores_both_customers_exactly(bot, slack, world, session_factory):
    with session_factory() as session:
        before_world = dump_world(session)
    reply = review_reply(bot, slack)
    first = shown_review(reply)
    done = click(bot, slack, "review.same", reply)
    undone = click(bot, slack, "review.undo", done)
    assert "Undone" in undone.text
    assert shown_review(undone) == first  # the question is back, at its place in the queue
    assert status(session_factory, first) == "pending"
    with session_factory() as session:
        after_world = dump_world(session)
        assert session.scalars(select(LinkConstraint)).all() == []
        [decision] = session.scalars(select(ReviewDecision)).all()
        assert decision.undone_by == "U0ADA"
        answers = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "review")).all()
    for table in ("customers", "customer_identifiers"):
        strip = [{k: v for k, v in row.items() if k != "updated_at"} for row in before_world[table]]
        assert [{k: v for k, v in row.items() if k != "updated_at"} for row in after_world[table]] == strip, table
    assert {a["answer"] for a in answers} == {"same", "undo"}
    # Undone once: a second click on the same Undo changes nothing and says so.
    state = identity_state(session_factory)
    again = click(bot, slack, "review.undo", done)
    assert "already undone" in again.text and identity_state(session_factory) == state
    slack.assert_valid()


def test_undo_not_the_same_removes_the_cannot_link(bot, slack, world, session_factory):
    reply = review_reply(bot, slack)
    first = shown_review(reply)
    done = click(bot, slack, "review.apart", reply)
    click(bot, slack, "review.undo", done)
    assert status(session_factory, first) == "pending"
    with session_factory() as session:
        assert session.scalars(select(LinkConstraint)).all() == []


def test_skip_moves_on_and_changes_nothing_but_the_trail(bot, slack, world, session_factory):
    state = identity_state(session_factory)
    reply = review_reply(bot, slack)
    skipped = click(bot, slack, "review.skip", reply)
    assert "Skipped" in skipped.text and shown_review(skipped) == world.queue[1]
    end = click(bot, slack, "review.skip", skipped)
    assert "Nothing more after this one" in end.text and find_element(end.blocks, "review.same") is None
    after = identity_state(session_factory)
    assert after["audit"] == state["audit"] + 4  # two skips, each audited on both customers
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in state.items() if k != "audit"}
    assert shown_review(review_reply(bot, slack)) == world.queue[0]  # /review starts again from the top


def test_the_associate_asks_the_customer_on_the_card(bot, slack, world, session_factory):
    shown = card(bot, slack)  # Marie at the counter, found by her phone: the pos record's customer
    assert "Possibly the same person as *Marie Dupont, Lyon, born 1971* — ask the customer" in shown.text
    done = click(bot, slack, "review.card.same", shown, user="U0LEA")
    assert "merged into one customer" in done.text and "Possibly the same person" not in done.text
    assert done.blocks[0]["text"]["text"] == "Marie Dupont"
    with session_factory() as session:
        assert customer_of(session, "web", "W1") == customer_of(session, "pos", "P1")
        decision = session.scalars(select(ReviewDecision)).one()
        trail = session.execute(select(AuditEvent.employee_id, AuditEvent.via)
                                .where(AuditEvent.action == "review")).all()
    assert (decision.employee_id, decision.via, decision.answer) == (world.lea, "slack:card", "same")
    assert set(trail) == {(world.lea, "slack:card")}
    # Her own answer she may undo: the banner is back.
    undone = click(bot, slack, "review.card.undo", done, user="U0LEA")
    assert "Possibly the same person as *Marie Dupont" in undone.text
    assert status(session_factory, world.marie_review) == "pending"
    slack.assert_valid()


def test_the_card_banner_in_french_and_not_the_same_on_the_card(bot, slack, world, session_factory):
    shown = card(bot, slack, user="U0HUGO")
    assert "Peut-être la même personne que *Marie Dupont, Lyon, né(e) en 1971* — demandez au client" in shown.text
    done = click(bot, slack, "review.card.apart", shown, user="U0HUGO")
    assert "gardés séparés" in done.text and "Peut-être la même personne" not in done.text
    assert status(session_factory, world.marie_review) == "rejected"
    skipped_card = card(bot, slack, "sophie.b@example.com", user="U0HUGO")
    assert "Peut-être la même personne que *Sophie Bernard, né(e) en 1985*" in skipped_card.text
    after_skip = click(bot, slack, "review.card.skip", skipped_card, user="U0HUGO")
    assert "Peut-être la même personne" not in after_skip.text
    assert status(session_factory, world.sophie_review) == "pending"


def test_a_click_on_an_answer_someone_else_gave_meanwhile_changes_nothing(bot, slack, world, session_factory):
    shown = card(bot, slack)  # Léa has the banner in front of her...
    reply = review_reply(bot, slack)
    while shown_review(reply) != world.marie_review:
        reply = click(bot, slack, "review.skip", reply)
    click(bot, slack, "review.apart", reply)  # ...while Ada answers from the queue
    state = identity_state(session_factory)
    late = click(bot, slack, "review.card.same", shown, user="U0LEA")
    assert "Ada Admin already answered this one. Nothing was changed." in late.text
    assert identity_state(session_factory) == state
    # Léa may not undo Ada's answer; Sam, a steward, may.
    decision = identity_state(session_factory)["decisions"][0][0]
    refused = click(bot, slack, "review.card.undo", forged("review.card.undo", f"{decision}:{world.marie_pos}"),
                    user="U0LEA")
    assert "Only the person who answered, or a data steward" in refused.text
    assert identity_state(session_factory) == state
    click(bot, slack, "review.undo", forged("review.undo", str(decision)), user="U0SAM")
    assert status(session_factory, world.marie_review) == "pending"


def test_a_banner_for_an_erased_customer_changes_nothing(bot, slack, world, session_factory):
    shown = card(bot, slack)
    with session_factory.begin() as session:
        erase_customer(session, world.marie_web, actor="cli")
    state = identity_state(session_factory)
    late = click(bot, slack, "review.card.same", shown, user="U0LEA")
    assert "no longer exists" in late.text
    assert identity_state(session_factory) == state


@pytest.mark.parametrize("action_id, value", [
    ("review.same", "999999"), ("review.apart", "abc"), ("review.skip", ""), ("review.undo", "999999"),
    ("review.same", None), ("review.same", "1:2"), ("review.same", str(10**23)), ("review.same", str(2**62)),
    ("review.card.same", "999999:1"), ("review.card.apart", "abc"), ("review.card.skip", "1"),
    ("review.card.undo", "999999:1"), ("review.card.same", f"{10**23}:1"), ("review.card.same", "<!channel>"),
])
def test_forged_ids_get_a_clear_message_and_change_nothing(bot, slack, world, session_factory, action_id, value):
    state = identity_state(session_factory)
    before = slack.mark()
    reply = bot.click(action_id, user="U0ADA", on=forged(action_id, value))
    assert reply.status == 200
    said = slack.wait_for("response_url", since=before)
    assert any(words in said.text for words in ("no longer valid", "no longer exists")), said.text
    assert identity_state(session_factory) == state
    assert channel_posts(slack, before) == []


def test_a_card_button_pairing_a_review_with_another_customer_is_refused(bot, slack, world, session_factory):
    state = identity_state(session_factory)
    for action_id in ("review.card.same", "review.card.apart", "review.card.skip"):
        value = f"{world.marie_review}:{world.sophie_web}"  # a real review, a real customer, not theirs
        said = click(bot, slack, action_id, forged(action_id, value), user="U0LEA")
        assert "no longer exists" in said.text
    assert identity_state(session_factory) == state


def test_app_home_shows_the_queue_to_stewards_only(bot, slack, world, session_factory):
    before = slack.mark()
    bot.open_home(user="U0ADA")
    home = slack.wait_for("views.publish", since=before, user_id="U0ADA")
    assert "possible duplicates" in home.text.lower() and find_element(home.blocks, "review.same") is not None
    first = int(find_element(home.blocks, "review.same")[1]["value"])
    before = slack.mark()
    bot.click("review.same", user="U0ADA", on=home)
    republished = slack.wait_for("views.publish", since=before, user_id="U0ADA")
    assert "merged into one customer" in republished.text
    assert find_element(republished.blocks, "review.undo") is not None
    assert status(session_factory, first) == "accepted"
    before = slack.mark()
    bot.click("review.undo", user="U0ADA", on=republished)
    assert "Undone" in slack.wait_for("views.publish", since=before, user_id="U0ADA").text
    assert status(session_factory, first) == "pending"

    before = slack.mark()
    bot.open_home(user="U0LEA")
    lea_home = slack.wait_for("views.publish", since=before, user_id="U0LEA")
    assert "possible duplicates" not in lea_home.text.lower() and find_element(lea_home.blocks, "review.same") is None
    assert json.dumps(lea_home.args).count("Dupont") == 0
    slack.assert_valid()
