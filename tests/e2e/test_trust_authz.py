"""Authorization and hostile input, end to end over signed HTTP: refusals that reveal nothing, KPI
breakdowns that never show more than the direct question, a card shared once however often the modal
is submitted, bad /kpi periods explained in the ack, names that never ping."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql

from localslack.slack_driver import HttpTransport, SlackDriver
from store.clock import utc_now
from store.db import make_engine, make_session_factory
from store.models import AuditEvent, FollowUp, Interaction, Store
from tests.e2e.conftest import SIGNING_SECRET
from tests.e2e.trust_world import JEANNE_EMAIL, add_follow_up, build_world, channel_posts
from tests.support.server import start_bot_server
from tests.support.world import count_written_history

MALLORY = "<!channel> Mallory <https://evil.example|x>"
SHARE_CHANNEL = "C0SHARE"


@pytest.fixture
def world(session_factory, employee):
    return build_world(session_factory, employee)


def answer_to(bot, slack, command: str, text: str, user: str):
    before = slack.mark()
    reply = bot.command(command, text, user=user)
    assert reply.status == 200
    if reply.json and reply.json.get("text"):
        return reply.json["text"]
    return slack.wait_for("response_url", since=before).text


def _done_button(follow_up_id: int) -> dict:
    return {"type": "message", "ts": "1.1", "text": "", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "followups.done", "value": str(follow_up_id),
         "text": {"type": "plain_text", "text": "Done"}}]}]}


def test_someone_elses_follow_up_gets_the_answer_of_an_id_that_does_not_exist(bot, slack, world, session_factory):
    leas = add_follow_up(session_factory, assignee=world.lea, customer=world.jeanne)
    answers = []
    for follow_up_id in (leas, leas + 1000):
        before = slack.mark()
        bot.click("followups.done", user="U0MARC", on=_done_button(follow_up_id))
        answers.append(slack.wait_for("response_url", since=before).text)
    assert answers[0] == answers[1]
    assert "Léa" not in answers[0] and "Jeanne" not in answers[0]
    with session_factory() as session:
        assert session.get(FollowUp, leas).status == "open"


def test_a_wildcard_in_a_name_probes_nothing(bot, slack, world, employee):
    employee("U0HUGO", "Hugo Stock", store_id=world.paris, team_id=world.stock)  # exists, in Omar's team
    answers = {typed: answer_to(bot, slack, "/kpi", typed, "U0NINA") for typed in ("@h%", "@zzz%", "@hugo", "@_")}
    assert len(set(answers.values())) == 1, answers
    assert "Hugo" not in answers["@hugo"]
    # Her own people are still found by the start of their name.
    assert "Marc Petit" in answer_to(bot, slack, "/kpi", "@marc", "U0NINA")


def test_a_store_breakdown_by_employee_names_only_people_the_manager_may_ask_for(bot, slack, world, session_factory,
                                                                                employee):
    hugo = employee("U0HUGO", "Hugo Stock", store_id=world.paris, team_id=world.stock)
    with session_factory.begin() as session:
        session.add(Interaction(customer_id=world.jeanne, employee_id=hugo, store_id=world.paris,
                                team_id=world.stock, channel="phone", type="call", outcome="resolved",
                                created_at=utc_now() - dt.timedelta(hours=2)))
        count_written_history(session)  # into the KPI rollup, as the importers do
    before = slack.mark()
    bot.command("/kpi", "store Paris Rivoli last 7 days by employee", user="U0NINA")
    answer = slack.wait_for("response_url", since=before)
    shown = json.dumps(answer.args, ensure_ascii=False)
    assert "Léa Martin" in shown and "Other employees" in shown
    assert "Hugo" not in shown
    assert "Hugo Stock" in answer_to(bot, slack, "/kpi", "store Paris Rivoli last 7 days by employee", "U0OMAR")
    refusal = answer_to(bot, slack, "/kpi", "<@U0HUGO>", "U0NINA")
    assert "can't show you" in refusal


@pytest.mark.parametrize("typed", ["9999-12", "0001-01-01", "9999-12-30..9999-12-31", "last ³ days"])
@pytest.mark.parametrize("locale, expected", [("en", ("2000-01-01", "last N days")),
                                              ("fr", ("2000-01-01", "N derniers jours"))])
def test_bad_periods_are_explained_in_the_ack_in_the_users_language(bot, slack, session_factory, employee, typed,
                                                                    locale, expected):
    employee("U0ANNE", "Anne Admin", role="admin", locale=locale)
    before = slack.mark()
    reply = bot.command("/kpi", typed, user="U0ANNE")
    assert reply.status == 200
    text = reply.json["text"]  # in the ack itself: checked before any slow work
    assert any(word in text for word in expected), text
    assert "went wrong" not in text and "problème" not in text
    assert [c for c in slack.calls_since(before) if c.method == "response_url"] == []


def test_store_par_is_the_store_par(bot, slack, session_factory, employee):
    with session_factory.begin() as session:
        store = Store(code="PAR", name="Paris Opéra")
        session.add(store)
        session.flush()
    employee("U0ANNE", "Anne Admin", role="admin")
    assert "Paris Opéra" in answer_to(bot, slack, "/kpi", "store PAR", "U0ANNE")
    assert "Paris Opéra" in answer_to(bot, slack, "/kpi", "magasin PAR par jour", "U0ANNE")


def test_names_and_echoed_text_never_ping_in_kpi_answers(bot, slack, world, session_factory, employee):
    employee("U0MAL", MALLORY, store_id=world.paris, team_id=world.floor)
    before = slack.mark()
    for text, user in (("<@U0MAL> by day", "U0NINA"), ("<@U0MAL>", "U0ADA"), ("<@U0MAL>", "U0OMAR"),
                       ("store <!here>", "U0ADA"), ("<!here>", "U0ADA"), ("@<!channel>", "U0ADA"),
                       ("team by employee", "U0NINA")):
        bot.command("/kpi", text, user=user)
    seen = json.dumps([c.args for c in slack.calls_since(before)], ensure_ascii=False)
    assert "<!channel>" not in seen and "<!here>" not in seen and "<https://evil" not in seen
    assert "&lt;!channel&gt; Mallory" in seen  # shown, as text, to those who may see Mallory
    assert "&amp;lt;" not in seen


@pytest.fixture
def two_sharing_processes(settings, db_url, engine, session_factory, slack):
    """Two servers as two processes would be: each its own App, engine and connection pool."""
    sharing = settings.with_overrides(share_channels=frozenset({SHARE_CHANNEL}))
    other_engine = make_engine(db_url)
    servers = [start_bot_server(sharing, engine, session_factory),
               start_bot_server(sharing, other_engine, make_session_factory(other_engine))]
    yield [SlackDriver(HttpTransport(s.url), slack, SIGNING_SECRET, settle=s.settle) for s in servers]
    for server in servers:
        server.stop()
    other_engine.dispose()


def _share_modal(bot, slack):
    before = slack.mark()
    bot.command("/customer", JEANNE_EMAIL, user="U0LEA")
    card = slack.wait_for("command_response", since=before)
    before = slack.mark()
    bot.click("profile.share", user="U0LEA", on=card)
    return slack.wait_for("views.open", since=before)


def _shares(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "share"))


def test_the_same_share_submitted_twice_posts_once(two_sharing_processes, slack, world, session_factory):
    first, _ = two_sharing_processes
    modal = _share_modal(first, slack)
    before = slack.mark()
    replies = [first.submit(modal, {"sharing.channel_select": SHARE_CHANNEL}, user="U0LEA") for _ in range(2)]
    assert [r.status for r in replies] == [200, 200]
    assert len(channel_posts(slack, before)) == 1
    assert _shares(session_factory) == 1


def test_two_concurrent_clicks_on_share_in_two_processes_post_once(two_sharing_processes, slack, world,
                                                                    session_factory):
    modal = _share_modal(two_sharing_processes[0], slack)
    before = slack.mark()
    start, replies = threading.Barrier(4), []

    def click(driver):
        start.wait()
        replies.append(driver.submit(modal, {"sharing.channel_select": SHARE_CHANNEL}, user="U0LEA"))

    threads = [threading.Thread(target=click, args=(d,)) for d in two_sharing_processes * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in replies] == [200] * 4
    assert len(channel_posts(slack, before)) == 1
    assert _shares(session_factory) == 1
    # A new share of the same card (a new modal) is a new, deliberate share.
    modal = _share_modal(two_sharing_processes[1], slack)
    two_sharing_processes[1].submit(modal, {"sharing.channel_select": SHARE_CHANNEL}, user="U0LEA")
    assert len(channel_posts(slack, before)) == 2


def test_a_database_failure_after_the_ack_says_the_database_is_unreachable(bot, slack, world, engine):
    with engine.begin() as connection:  # the report fails half-way, after the ack
        connection.execute(sql("DROP TABLE follow_ups"))
    before = slack.mark()
    reply = bot.command("/kpi", "team week", user="U0NINA")
    assert reply.status == 200
    answer = slack.wait_for("response_url", since=before)
    assert "database is not reachable" in answer.text and "went wrong" not in answer.text
