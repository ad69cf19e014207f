"""Drawing the App Home tab for one employee: used by the Home listener and by the follow-up buttons
clicked inside App Home (which redraw it). Its own module so that both can import it downwards."""
from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from handlers.context import Clock, Requester, SessionFactory
from store.clock import local_now
from handlers.home import blocks
from handlers.i18n import t
from handlers.i18n.formats import format_datetime
from handlers.review.blocks import Outcome, queue_blocks
from store.audit import recent_customer_summaries
from store.followups import open_follow_ups
from store.review import count_pending, is_steward, list_pending, record_shown

log = logging.getLogger(__name__)


def publish_home(client: WebClient, employee: Requester, session_factory: SessionFactory, clock: Clock, *,
                 notice: str | None = None, review_outcome: Outcome | None = None,
                 review_after: int | None = None) -> None:
    """`review_outcome`, `review_after`: a data steward's last click in the possible-duplicates panel (what
    it did, with its Undo; the review skipped, so the panel shows the next one)."""
    local = local_now(clock(), employee.timezone)
    review: list[dict[str, Any]] = []
    try:
        with session_factory() as session:
            follow_ups = open_follow_ups(session, employee.id, today=local.date())
            recent = recent_customer_summaries(session, employee.id, limit=5)
            steward = is_steward(session, employee)
        if steward:  # its own short write: showing a review is a view of both customers, audited
            with session_factory.begin() as session:
                pending = list_pending(session, 1, after=review_after)
                review = queue_blocks(employee.locale, pending[0] if pending else None, count_pending(session),
                                      outcome=review_outcome, ended=review_after is not None)
                if pending:
                    record_shown(session, pending[0], employee_id=employee.id, actor=employee.slack_user_id,
                                 via="slack:home")
    except SQLAlchemyError:
        log.exception("building the home tab failed")
        notice, follow_ups, recent = t("common.db_unavailable", employee.locale), [], []
    view = blocks.home_view(employee.locale, name=employee.name, follow_ups=follow_ups, recent=recent,
                            today=local.date(), updated=format_datetime(local.replace(tzinfo=None), employee.locale),
                            notice=notice, review=review)
    client.views_publish(user_id=employee.slack_user_id, view=view)
