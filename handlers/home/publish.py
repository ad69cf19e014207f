"""Drawing the App Home tab for one employee: used by the Home listener and by the follow-up buttons
clicked inside App Home (which redraw it). Its own module so that both can import it downwards."""
from __future__ import annotations

import logging

from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from handlers.context import Clock, Requester, SessionFactory
from store.clock import local_now
from handlers.home import blocks
from handlers.i18n import t
from handlers.i18n.formats import format_datetime
from store.audit import recent_customer_summaries
from store.followups import open_follow_ups

log = logging.getLogger(__name__)


def publish_home(client: WebClient, employee: Requester, session_factory: SessionFactory, clock: Clock, *,
                 notice: str | None = None) -> None:
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
