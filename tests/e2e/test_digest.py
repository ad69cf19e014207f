"""/digest end to end: settings and preview, re-timing, pausing, sending one now."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from store.clock import utc_now
from store.models import Customer, DigestRun, Employee, FollowUp


def _with_overdue(session_factory, employee, **kwargs) -> int:
    lea = employee("U0LEA", "Léa Martin", **kwargs)
    with session_factory.begin() as session:
        customer = Customer(first_name="Hélène", last_name="<@U0BOSS>")
        session.add(customer)
        session.flush()
        session.add(FollowUp(assignee_id=lea, customer_id=customer.id, note="call about the blue dress",
                             due_date=(utc_now() - dt.timedelta(days=3)).date()))
    return lea


def test_digest_shows_settings_and_a_preview(bot, slack, session_factory, employee):
    _with_overdue(session_factory, employee)
    before = slack.mark()
    bot.command("/digest", user="U0LEA")
    answer = slack.wait_for("response_url", since=before)
    assert "08:30" in answer.text and "Monday–Friday" in answer.text
    assert "Overdue (1)" in answer.text and "blue dress" in answer.text
    assert "<@U0BOSS>" not in str(answer.args["blocks"])


def test_retime_pause_resume_and_days(bot, session_factory, employee):
    lea = _with_overdue(session_factory, employee, locale="fr")
    assert "07:45" in bot.command("/digest", "heure 7h45", user="U0LEA").json["text"]
    assert "HH:MM" in bot.command("/digest", "time 25:00", user="U0LEA").json["text"]
    bot.command("/digest", "pause", user="U0LEA")
    assert "lundi–samedi" in bot.command("/digest", "jours lun-sam", user="U0LEA").json["text"]
    with session_factory() as session:
        me = session.get(Employee, lea)
        assert (me.digest_time, me.digest_paused, me.digest_weekdays) == ("07:45", True, "0,1,2,3,4,5")
    bot.command("/digest", "reprendre", user="U0LEA")
    with session_factory() as session:
        assert session.get(Employee, lea).digest_paused is False


def test_digest_now_sends_a_dm_and_counts_as_todays(bot, slack, session_factory, employee):
    lea = _with_overdue(session_factory, employee)
    before = slack.mark()
    bot.command("/digest", "now", user="U0LEA")
    dm = slack.wait_for("chat.postMessage", since=before)
    assert dm.args["channel"].startswith("D") and "Overdue (1)" in dm.text
    assert "check your messages" in slack.wait_for("response_url", since=before).text
    with session_factory() as session:
        assert session.scalars(select(DigestRun.status).where(DigestRun.employee_id == lea)).all() == ["sent"]
