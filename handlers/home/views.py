"""App Home: my follow-ups, the customers I looked at, "Find a customer" and "Log interaction"."""
from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from handlers.followups.localtime import local_now
from handlers.home import blocks, ids
from handlers.i18n import t
from handlers.i18n.formats import format_datetime
from store.audit import recent_customer_summaries
from store.followups import open_follow_ups
from store.interactions import suggest_customers

log = logging.getLogger(__name__)


def register(app) -> None:
    app.event("app_home_opened")(home_opened)
    app.action(ids.SEARCH)(open_search)
    app.view(ids.SEARCH_MODAL)(submit_search)


def publish_home(client, employee, session_factory, clock, *, notice: str | None = None) -> None:
    local = local_now(clock(), employee.timezone)
    try:
        with session_factory() as session:
            follow_ups = open_follow_ups(session, employee.id, today=local.date())
            recent = recent_customer_summaries(session, employee.id, limit=5)
    except SQLAlchemyError:
        log.exception("building the home tab failed")
        notice, follow_ups, recent = t("common.db_unavailable", employee.locale), [], []
    view = blocks.home_view(employee.locale, name=employee.name, follow_ups=follow_ups, recent=recent,
                            today=local.date(), updated=format_datetime(local.replace(tzinfo=None), employee.locale),
                            notice=notice)
    client.views_publish(user_id=employee.slack_user_id, view=view)


def home_opened(event, client, employee, session_factory, clock) -> None:
    if event.get("tab") != "home":
        return
    publish_home(client, employee, session_factory, clock)


def open_search(ack, body, client, employee) -> None:
    ack()
    client.views_open(trigger_id=body["trigger_id"], view=blocks.search_modal(employee.locale))


def submit_search(ack, view, client, employee, session_factory) -> None:
    locale = employee.locale
    query = ((view["state"]["values"].get(ids.SEARCH_BLOCK) or {}).get(ids.SEARCH_QUERY) or {}).get("value") or ""
    query = query.strip()
    if len(query) < 2:
        ack(response_action="errors", errors={ids.SEARCH_BLOCK: t("interactions.search_too_short", locale)})
        return
    try:
        with session_factory() as session:
            choices = suggest_customers(session, query, limit=10)
    except SQLAlchemyError:
        log.exception("customer search from home failed")
        ack(response_action="errors", errors={ids.SEARCH_BLOCK: t("common.db_unavailable", locale)})
        return
    ack()
    text, message = blocks.search_results(locale, query, choices)
    try:
        client.chat_postMessage(channel=employee.slack_user_id, text=text, blocks=message)
    except Exception:
        log.exception("could not send search results to %s", employee.slack_user_id)
