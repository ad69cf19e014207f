"""The official clients are the proof: Segment's analytics-python and RudderStack's Python SDK, pointed at
Frontline (`host` / `dataPlaneUrl`), send identify and track, one by one and batched, gzip on and off;
what they send is stored, applied, and on the card."""
from __future__ import annotations

import pytest
import rudderstack.analytics as rudder_analytics
from segment.analytics import Client as SegmentClient
from sqlalchemy import select

from localslack.slack_driver import HttpTransport, SlackDriver
from store.models import InboxMessage
from store.vocabulary import InboxState
from tests.e2e.conftest import SIGNING_SECRET
from tests.support.ingest import start_live


@pytest.fixture
def live(settings, engine, session_factory, employee):
    employee("U0LEA", "Léa Martin", locale="en")
    world = start_live(settings, engine, session_factory)
    yield world
    world.stop()


class Rudder:
    """RudderStack's module-level client, configured as its documentation says (write_key, dataPlaneUrl)."""

    def __init__(self, write_key: str, url: str, *, gzip: bool, on_error) -> None:
        rudder_analytics.default_client = None
        rudder_analytics.write_key = write_key
        rudder_analytics.dataPlaneUrl = url
        rudder_analytics.gzip = gzip
        rudder_analytics.on_error = on_error
        rudder_analytics.max_retries = 2

    identify = staticmethod(rudder_analytics.identify)
    track = staticmethod(rudder_analytics.track)
    flush = staticmethod(rudder_analytics.flush)

    def shutdown(self) -> None:
        rudder_analytics.shutdown()
        rudder_analytics.default_client = None


def _client(kind: str, live, *, gzip: bool, errors: list):
    def on_error(error, batch):
        errors.append(type(error).__name__)

    if kind == "segment":
        return SegmentClient(live.write_key, host=live.url, gzip=gzip, on_error=on_error, max_retries=2)
    return Rudder(live.write_key, live.url, gzip=gzip, on_error=on_error)


@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize("kind", ["segment", "rudderstack"])
def test_an_official_client_identify_and_track_reach_the_card(live, slack, session_factory, kind, gzip):
    errors: list[str] = []
    client = _client(kind, live, gzip=gzip, errors=errors)
    try:
        client.identify("u-77", {"firstName": "Hélène", "lastName": "Marchal", "email": "helene@example.com",
                                 "address": {"city": "Lyon", "postalCode": "69002"}})
        client.flush()  # one message
        client.track("u-77", "Product Viewed", {"product_id": "SKU-1", "name": "Wool coat"})
        client.track("u-77", "Product Added", {"product_id": "SKU-1", "quantity": 1})
        client.identify("u-78", {"firstName": "Jean", "lastName": "Roux", "email": "jean.roux@example.com"})
        client.flush()  # a batch of three
    finally:
        client.shutdown()
    assert errors == []
    with session_factory() as session:
        stored = list(session.execute(select(InboxMessage.type, InboxMessage.person_key, InboxMessage.message_id)
                                      .order_by(InboxMessage.id)))
    assert [(kind_, person) for kind_, person, _ in stored] == [
        ("identify", "u:u-77"), ("track", "u:u-77"), ("track", "u:u-77"), ("identify", "u:u-78")]
    assert all(message_id for _, _, message_id in stored)  # the client's own ids: its retries are deduplicated
    assert live.work() == 4
    with session_factory() as session:
        states = {row.type: row.state for row in session.scalars(select(InboxMessage))}
    assert states["identify"] == InboxState.APPLIED
    bot = SlackDriver(HttpTransport(live.url), slack, SIGNING_SECRET, settle=live.server.settle)
    before = slack.mark()
    bot.command("/customer", "helene@example.com", user="U0LEA")
    assert "Hélène Marchal" in slack.wait_for("command_response", since=before).text


def test_a_client_with_a_wrong_key_is_refused(live, session_factory):
    errors: list[str] = []
    client = SegmentClient("flw_wrong", host=live.url, on_error=lambda error, batch: errors.append(str(error)),
                           max_retries=0)
    client.track("u-1", "Product Viewed")
    client.flush()
    client.join()
    assert errors and "401" in errors[0]
    with session_factory() as session:
        assert session.scalars(select(InboxMessage)).all() == []
