"""A conversation with Frontline, end to end: signed events over HTTP to the real server, the local Slack
stand-in as Slack. The thread remembers the customer; answers come only to the employee who asked."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from localslack.slack_driver import HttpTransport, SlackDriver
from store.clock import utc_now
from store.gdpr import erase_customer
from store.models import (
    AuditEvent,
    Consent,
    ConversationThread,
    DeclaredPreference,
    FollowUp,
    Interaction,
    Order,
    OrderLine,
    WebSignal,
)
from tests.e2e.test_lookup import add_customer, channel_posts
from tests.e2e.test_serve import SECRET as SERVE_SECRET
from tests.e2e.test_serve import serving
from tests.support.world import add_store_and_team


@pytest.fixture
def scene(session_factory, employee):
    with session_factory.begin() as session:
        store, floor = add_store_and_team(session, code="LYO1", name="Lyon Part-Dieu")
        store_id, team_id = store.id, floor.id
    lea = employee("U0LEA", "Léa Martin", locale="en", role="manager", store_id=store_id, team_id=team_id)
    employee("U0HUGO", "Hugo Bernard", locale="fr", store_id=store_id, team_id=team_id)
    now = utc_now()
    with session_factory.begin() as session:
        jean = add_customer(session, "Jean", "Dupont", city="Lyon", email="jean.dupont@example.com",
                            phone="+33612345678")
        dupond = add_customer(session, "Jean", "Dupond", city="Paris")
        order = Order(source="web", order_number="W0042", customer_id=jean, channel="web",
                      ordered_at=now - dt.timedelta(days=3), total_amount=Decimal("189.00"))
        order.lines = [OrderLine(sku="C1", product_name="Wool coat", unit_price=Decimal("189.00"), size="42")]
        session.add(order)
        session.add(Interaction(customer_id=jean, employee_id=lea, channel="phone", type="call", outcome="info",
                                note="asked about the wool coat", created_at=now - dt.timedelta(days=2)))
        session.add(DeclaredPreference(customer_id=jean, category="size", label="shoes", value="39",
                                       recorded_at=now - dt.timedelta(days=2)))
        session.add(Consent(customer_id=jean, purpose="profiling", channel="any", granted=True,
                            recorded_at=now - dt.timedelta(days=30), source="web"))
        session.add(WebSignal(customer_id=jean, kind="wishlist", sku="S9", product_name="Silk scarf",
                              price=Decimal("59.00"), occurred_at=now - dt.timedelta(days=1)))
        session.add(FollowUp(customer_id=jean, assignee_id=lea, created_by_id=lea, due_date=now.date(),
                             note="call back about the coat"))
        order2 = Order(source="store", order_number="S7777", customer_id=dupond, channel="store",
                       ordered_at=now - dt.timedelta(days=9), total_amount=Decimal("35.00"))
        order2.lines = [OrderLine(sku="T1", product_name="Linen shirt", unit_price=Decimal("35.00"))]
        session.add(order2)
    return {"jean": jean, "dupond": dupond}


def _answers(slack, since, method="chat.postMessage"):
    return [c for c in slack.calls_since(since) if c.method == method]


def _say(bot, slack, text, *, user, thread_ts=None):
    before = slack.mark()
    reply = bot.dm(text, user=user, thread_ts=thread_ts)
    assert reply.status == 200 and reply.elapsed < 3.0
    posted = _answers(slack, before)
    assert len(posted) == 1, f"one answer to {text!r}, got {[c.method for c in slack.calls_since(before)]}"
    return posted[0], before


def _views(session_factory):
    with session_factory() as session:
        return session.execute(select(AuditEvent.customer_id, AuditEvent.via)
                               .where(AuditEvent.action == "view").order_by(AuditEvent.id)).all()


def test_a_ten_turn_conversation_in_english_in_a_dm(bot, slack, scene, session_factory):
    start = slack.mark()
    card, _ = _say(bot, slack, "who is jean.dupont@example.com", user="U0LEA")
    assert "Jean Dupont" in card.text and "Wool coat" in card.text
    assert "jean.dupont@example.com" not in card.text  # masked, as on the card from /customer

    orders, _ = _say(bot, slack, "orders?", user="U0LEA")
    assert "Orders of Jean Dupont" in orders.text and "W0042" in orders.text

    contacts, _ = _say(bot, slack, "last contcts", user="U0LEA")  # typo
    assert "Last contacts with Jean Dupont" in contacts.text and "asked about the wool coat" in contacts.text

    sizes, _ = _say(bot, slack, "what sizes?", user="U0LEA")
    assert "shoes" in sizes.text and "39" in sizes.text

    basket, _ = _say(bot, slack, "anything in her basket?", user="U0LEA")
    assert "Silk scarf" in basket.text

    draft, _ = _say(bot, slack, "log a call: wants the coat in 40, call back Friday", user="U0LEA")
    assert "Jean Dupont" in draft.text and "wants the coat in 40, call back Friday" in draft.text
    before = slack.mark()
    bot.click("conversation.log_open", user="U0LEA", on=draft)
    form = slack.wait_for("views.open", since=before)
    note = next(b for b in form.args["view"]["blocks"] if b.get("block_id") == "note")
    assert note["element"]["initial_value"] == "wants the coat in 40, call back Friday"
    customer = next(b for b in form.args["view"]["blocks"] if b.get("block_id") == "customer_id")
    assert customer["element"]["initial_option"]["value"] == str(scene["jean"])
    channel = next(b for b in form.args["view"]["blocks"] if b.get("block_id") == "channel")
    assert channel["element"]["initial_option"]["value"] == "phone"

    follow_ups, _ = _say(bot, slack, "my follow-ups", user="U0LEA")
    assert "call back about the coat" in str(follow_ups.blocks) and "Jean Dupont" in str(follow_ups.blocks)

    team, _ = _say(bot, slack, "my team this week", user="U0LEA")
    assert team.text.startswith("KPIs · Floor · week to date")

    digest, _ = _say(bot, slack, "digest", user="U0LEA")
    assert "Your digest" in digest.text and "call back about the coat" in str(digest.blocks)

    ambiguous, _ = _say(bot, slack, "jean dupon", user="U0LEA")
    assert ambiguous.args["text"] == "2 customers match “jean dupon”. Which one?"
    assert "Lyon" in str(ambiguous.blocks) and "Paris" in str(ambiguous.blocks) and "*2.*" in str(ambiguous.blocks)
    order_of_names = [b["block_id"].split(".")[2] for b in ambiguous.blocks
                      if str(b.get("block_id", "")).startswith("candidate.")]

    chosen, _ = _say(bot, slack, "the second one", user="U0LEA")
    second = int(order_of_names[1])
    assert ("Dupond" if second == scene["dupond"] else "Dupont") in chosen.text

    then, _ = _say(bot, slack, "ordres", user="U0LEA")  # typo, about the customer just chosen
    assert ("S7777" if second == scene["dupond"] else "W0042") in then.text

    assert channel_posts(slack, start) == []
    views = _views(session_factory)
    assert all(via == "slack:conversation" for _, via in views)
    assert [c for c, _ in views][:5] == [scene["jean"]] * 5  # card, orders, contacts, sizes, basket: each audited


def test_a_ten_turn_conversation_in_french_in_an_assistant_thread(bot, slack, scene, session_factory):
    start = slack.mark()
    thread_ts, reply = bot.start_assistant_thread(user="U0HUGO")
    assert reply.status == 200
    prompts = slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert len(prompts) == 1 and any("relances" in p["title"] for p in prompts[0].args["prompts"])
    welcome = _answers(slack, start)
    assert len(welcome) == 1 and welcome[0].args["thread_ts"] == thread_ts and "Demandez-moi" in welcome[0].text

    def say(text):
        answer, before = _say(bot, slack, text, user="U0HUGO", thread_ts=thread_ts)
        assert answer.args["thread_ts"] == thread_ts
        return answer, before

    card, before = say("qui est jean.dupont@example.com")
    assert "Jean Dupont" in card.text
    assert [c.args["status"] for c in slack.calls_since(before) if c.method == "assistant.threads.setStatus"]

    assert "W0042" in say("commandes ?")[0].text
    assert "asked about the wool coat" in say("derniers contacts")[0].text
    sizes = say("quelles tailes ?")[0]  # typo
    assert "39" in sizes.text
    assert "Silk scarf" in say("quelque chose dans son panier ?")[0].text
    draft = say("note un appel : veut le manteau en 40, rappeler vendredi")[0]
    assert "veut le manteau en 40, rappeler vendredi" in draft.text and "Jean Dupont" in draft.text
    assert say("mes relances")[0].args["text"] == "Vous avez 0 suivi en cours."
    # Hugo is an associate: his team's figures are refused as /kpi team would be, and said so in French.
    assert "réservés aux managers" in say("mon équipe cette semaine")[0].text
    assert "Votre résumé" in say("digest")[0].text
    ambiguous = say("Jean Dupon")[0]
    order_of_names = [b["block_id"].split(".")[2] for b in ambiguous.blocks
                      if str(b.get("block_id", "")).startswith("candidate.")]
    assert len(order_of_names) == 2
    chosen = say("la deuxième")[0]
    assert ("Dupond" if int(order_of_names[1]) == scene["dupond"] else "Dupont") in chosen.text
    assert channel_posts(slack, start) == []


def test_a_thread_in_a_channel_gets_ephemeral_answers_and_remembers_the_customer(bot, slack, scene,
                                                                                 session_factory):
    start = slack.mark()
    bot.mention("who is jean.dupont@example.com", user="U0LEA", channel_id="C0FLOOR", thread_ts="1700000000.000100")
    bot.mention("orders?", user="U0LEA", channel_id="C0FLOOR", thread_ts="1700000000.000100")
    ephemerals = _answers(slack, start, "chat.postEphemeral")
    assert [c.args["user"] for c in ephemerals] == ["U0LEA", "U0LEA"]
    assert "W0042" in ephemerals[1].text
    assert _answers(slack, start) == []  # nothing posted to the channel


def test_the_memory_is_shared_by_processes_and_kept_per_employee(bot, slack, scene, session_factory):
    _say(bot, slack, "who is jean.dupont@example.com", user="U0LEA")
    # Another employee in their own DM has no customer under discussion.
    answer, _ = _say(bot, slack, "orders?", user="U0HUGO")
    assert "W0042" not in answer.text and "Quel client" in answer.text
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ConversationThread)) == 1


def test_a_refused_employee_gets_no_conversation(bot, slack, scene, session_factory, employee):
    employee("U0GONE", "Ex Employee", active=False)
    before = slack.mark()
    bot.dm("who is jean.dupont@example.com", user="U0GONE")
    assert _answers(slack, before) == []
    assert _views(session_factory) == []


def test_web_activity_follows_the_customers_consent(bot, slack, scene):
    _say(bot, slack, f"who is #{scene['dupond']}", user="U0LEA")  # no profiling consent
    hidden, _ = _say(bot, slack, "wishlist?", user="U0LEA")
    assert "Silk scarf" not in hidden.text and "🔒" in hidden.text


def test_an_erased_customer_is_forgotten_by_the_conversation(bot, slack, scene, session_factory):
    _say(bot, slack, "who is jean.dupont@example.com", user="U0LEA")
    with session_factory.begin() as session:
        erase_customer(session, scene["jean"], actor="dpo")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ConversationThread)) == 0
    answer, _ = _say(bot, slack, "orders?", user="U0LEA")
    assert "W0042" not in answer.text and answer.args["text"] == "Which customer? Tell me a name, an e-mail, a " \
                                                                 "phone number or a card first."


def test_a_draft_no_longer_remembered_opens_no_form(bot, slack, scene, session_factory):
    _say(bot, slack, "who is jean.dupont@example.com", user="U0LEA")
    draft, _ = _say(bot, slack, "log a visit: tried the coat", user="U0LEA")
    with session_factory.begin() as session:
        session.execute(delete(ConversationThread))
    before = slack.mark()
    bot.click("conversation.log_open", user="U0LEA", on=draft)
    assert slack.calls_to("views.open") == []
    told = [c for c in slack.calls_since(before) if c.method == "chat.postEphemeral"]
    assert len(told) == 1 and "no longer" in told[0].text


@pytest.mark.parametrize("assistant_thread", [None, "x", {"user_id": "U0LEA"}, {"user_id": "U0LEA", "channel_id": 5}])
def test_a_malformed_assistant_thread_event_is_acked_and_changes_nothing(bot, slack, scene, assistant_thread):
    before = slack.mark()
    reply = bot.event({"type": "assistant_thread_started", "assistant_thread": assistant_thread})
    assert reply.status == 200
    assert [c.method for c in slack.calls_since(before) if c.method != "auth.test"] == []


def test_the_next_message_of_a_thread_is_understood_by_another_process(bot, slack, scene, db_url, tmp_path):
    """The thread's memory is in the database: a question asked of this server, the follow-up answered by
    `frontline serve --http` in another process (two gunicorn workers)."""
    thread_ts = "1700000000.000200"
    _say(bot, slack, "who is jean.dupont@example.com", user="U0LEA", thread_ts=thread_ts)
    with serving(db_url, slack, tmp_path / "other.log") as other:
        elsewhere = SlackDriver(HttpTransport(other.url), slack, SERVE_SECRET)
        before = slack.mark()
        assert elsewhere.dm("orders?", user="U0LEA", thread_ts=thread_ts).status == 200
        # The answer is the message in the thread. That server's scheduler sends Léa her digests at start-up
        # too (between 08:30 and 18:00 Paris time), DMs outside the thread, before or after it.
        answer = slack.wait_for("chat.postMessage", since=before, timeout=30,  # a bound, not a speed claim
                                thread_ts=thread_ts)
    assert "W0042" in answer.text
