"""`/review`: the possible-duplicates queue for data stewards (an ephemeral reply; its buttons: actions.py).

Who may see the queue is store.review.is_steward (admins, and the employees granted data_steward);
anyone else is told who to ask, and nothing of any customer is shown.
"""
from __future__ import annotations

from typing import Any, Protocol

from slack_bolt import Ack, App, Respond

from handlers.context import ListenerSettings, Requester, SessionFactory
from handlers.review import ids
from handlers.review.blocks import Outcome, queue_message
from store.errors import Refused
from store.review import count_pending, is_steward, list_pending, record_shown


class ReviewSettings(ListenerSettings, Protocol):
    @property
    def access_contact(self) -> str: ...


def not_steward(settings: ReviewSettings) -> Refused:
    return Refused("review.not_steward", contact=settings.access_contact)


def queue_reply(session_factory: SessionFactory, employee: Requester, *, outcome: Outcome | None = None,
                after: int | None = None) -> dict[str, Any]:
    """The queue as message arguments: `outcome` of the last click above the most likely review waiting
    (with `after`, the next one after that review: it was skipped). Showing a review is a view of both
    customers, audited."""
    with session_factory.begin() as session:
        pending = list_pending(session, 1, after=after)
        waiting = count_pending(session)
        if pending:
            record_shown(session, pending[0], employee_id=employee.id, actor=employee.slack_user_id,
                         via="slack:review")
    return queue_message(employee.locale, pending[0] if pending else None, waiting, outcome=outcome,
                         ended=after is not None)


def review_command(ack: Ack, respond: Respond, employee: Requester, session_factory: SessionFactory,
                   settings: ReviewSettings) -> None:
    ack()
    with session_factory() as session:
        if not is_steward(session, employee):
            raise not_steward(settings)
    respond(response_type="ephemeral", replace_original=False, **queue_reply(session_factory, employee))


def register(app: App) -> None:
    app.command(ids.COMMAND)(review_command)
