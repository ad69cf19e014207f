"""`make demo`'s live web shop: demo customers' browsing sent over HTTP through the real tracking API while
the console is open, so `/customer` shows activity minutes old and the follow-up owner is told."""
from __future__ import annotations

import argparse
import datetime as dt
import io
from zoneinfo import ZoneInfo

from bot.app import build_app, make_client
from bot.config import Settings
from bot.ingest import InboxWorkers
from bot.live_jobs import run_notices
from localslack.console import run as run_console
from localslack.demo_shop import DemoWebShop
from localslack.executor import TrackingExecutor
from store.clock import local_time_utc, to_local_naive, utc_now
from store.models import Consent, Customer, FollowUp, SourceRecord
from store.profile import build_profile


def daytime_in_paris(now: dt.datetime) -> dt.datetime:
    """`now`, or the next 08:30 in Paris when it is night there (DMs wait for the morning)."""
    zone = ZoneInfo("Europe/Paris")
    local = to_local_naive(now, zone)
    if 8 <= local.hour < 21:
        return now
    day = local.date() + dt.timedelta(days=1 if local.hour >= 21 else 0)
    return local_time_utc(day, dt.time(8, 30), zone)


def _world(session_factory, employee):
    lea = employee("U0LEA", "Léa Martin", locale="en")
    with session_factory.begin() as session:
        ids = []
        for n, (first, last) in enumerate((("Jean", "Dupont"), ("Alice", "Martin"), ("Omar", "Haddad"))):
            customer = Customer(first_name=first, last_name=last, search_name=f"{first} {last}".lower(),
                                preferred_language="en")
            session.add(customer)
            session.flush()
            session.add(SourceRecord(source="web", source_id=f"W{n}", customer_id=customer.id, content_hash="h"))
            session.add(Consent(customer_id=customer.id, purpose="profiling", channel="any", granted=True,
                                recorded_at=utc_now(), source="web"))
            ids.append(customer.id)
        session.add(FollowUp(customer_id=ids[1], assignee_id=lea, due_date=utc_now().date(), note="call back"))
    return ids


def test_the_live_shop_sends_through_the_tracking_api_and_the_card_shows_it(settings, engine, session_factory,
                                                                             employee, slack):
    alice = _world(session_factory, employee)[1]
    app = build_app(settings, session_factory, listener_executor=TrackingExecutor())
    shop = DemoWebShop(settings, session_factory, engine, app, employee_slack_id="U0LEA", workers=0, every=3600,
                       seed=7).start()
    try:
        assert shop.shoppers[0].name == "Alice Martin" and shop.shoppers[0].follows_up
        assert "Alice Martin (your follow-up)" in shop.announcement() and "/v1" in shop.announcement()
        workers = InboxWorkers(session_factory, count=0)
        while workers.step().claimed:
            pass
        with session_factory() as session:
            profile = build_profile(session, alice, viewer=type("V", (), {"id": 1})(), clock=utc_now)
        assert profile.live is not None and profile.live.last_seen_source == "web"
        assert (utc_now() - profile.live.last_seen_at).total_seconds() < 25 * 60
        assert profile.live.basket is not None and profile.web_signals
        before = slack.mark()
        run_notices(settings, session_factory, make_client(settings), lambda: daytime_in_paris(utc_now()))
        told = [c for c in slack.calls_since(before) if c.method == "chat.postMessage"]
        assert len(told) == 1 and "Alice Martin is back on the website" in told[0].text
    finally:
        shop.stop()


def test_the_console_with_the_live_shop_announces_it(db_url, session_factory, employee):
    _world(session_factory, employee)
    out = io.StringIO()
    settings = Settings(database_url=db_url, default_locale="en")
    run_console(argparse.Namespace(user="U0LEA", live_shop=True), settings, stdin=io.StringIO("quit\n"), stdout=out)
    assert "The demo web shop is live" in out.getvalue() and "Alice Martin (your follow-up)" in out.getvalue()
