"""The buttons of possible duplicates: the queue's (/review reply, App Home: data stewards) and the card's banner.

Thin listeners: ack, parse the button's value, call store.review in one transaction, render. Every
refusal (not a steward, stale or forged ids, a review someone else answered meanwhile) is a `Refused`
raised inside that transaction, so it rolls back and the error handler tells the employee why.

Who may press what (README, "Possible duplicates"):
- the queue (/review, App Home) is for data stewards (admins, and the employees granted data_steward);
- on a customer's card, the employee serving that customer answers for that customer: the person at the
  counter or on the phone can simply ask. The answer is audited under their name, and they (or a data
  steward) can undo it.
"""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import payloads
from handlers.context import Clock, Requester, SessionFactory
from handlers.home.publish import publish_home
from handlers.i18n import t
from handlers.profile.actions import card_message
from handlers.review import ids
from handlers.review.blocks import Outcome, answered_text
from handlers.review.commands import ReviewSettings, not_steward, queue_reply
from store.profile import viewer_may_see
from store.review import answer, is_steward, skip, undo
from store.vocabulary import ReviewAnswer

log = logging.getLogger(__name__)

ANSWERS = {ids.SAME: ReviewAnswer.SAME, ids.APART: ReviewAnswer.APART,
           ids.CARD_SAME: ReviewAnswer.SAME, ids.CARD_APART: ReviewAnswer.APART}


def _unknown(body: dict[str, Any], client: WebClient, respond: Respond, employee: Requester) -> None:
    text = t("common.unknown_action", employee.locale)
    if payloads.text(body, "response_url"):
        respond(text=text, response_type="ephemeral", replace_original=False)
    else:
        client.chat_postMessage(channel=employee.slack_user_id, text=text)


def queue_clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond,
                  employee: Requester, session_factory: SessionFactory, settings: ReviewSettings,
                  clock: Clock) -> None:
    """Same person / Not the same / Skip / Undo, in the /review reply or in App Home."""
    ack()
    action_id = payloads.text(action, "action_id")
    target = payloads.parse_id(payloads.at(action, "value"))
    if target is None:
        _unknown(body, client, respond, employee)
        return
    actor, via = employee.slack_user_id, "slack:review"
    after = None
    with session_factory.begin() as session:
        if not is_steward(session, employee):
            raise not_steward(settings)
        if action_id == ids.SKIP:
            skip(session, target, employee_id=employee.id, actor=actor, via=via)
            outcome, after = Outcome(t("review.skipped", employee.locale)), target
        elif action_id == ids.UNDO:
            undo(session, target, employee_id=employee.id, actor=actor, via=via, steward=True)
            outcome = Outcome(t("review.undone", employee.locale))
        else:
            answered = answer(session, target, ANSWERS[str(action_id)], employee_id=employee.id, actor=actor, via=via)
            outcome = Outcome(answered_text(answered, employee.locale), undo=str(answered.decision_id))
    from_home = not payloads.text(body, "response_url") and payloads.text(body, "view", "type") == "home"
    if from_home:
        publish_home(client, employee, session_factory, clock, review_outcome=outcome, review_after=after)
    else:
        respond(response_type="ephemeral", replace_original=True,
                **queue_reply(session_factory, employee, outcome=outcome, after=after))


def _card_value(value: Any) -> tuple[int, int] | None:
    """'<review or decision id>:<customer id>' from a card button; None for anything else."""
    if not isinstance(value, str) or len(value) > 41:
        return None
    head, separator, tail = value.partition(":")
    first, customer_id = payloads.parse_id(head), payloads.parse_id(tail)
    if not separator or first is None or customer_id is None:
        return None
    return first, customer_id


def card_clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond,
                 employee: Requester, session_factory: SessionFactory, settings: ReviewSettings,
                 clock: Clock) -> None:
    """The banner's buttons: the customer in front of the employee said whether they are that person."""
    ack()
    action_id = payloads.text(action, "action_id")
    parsed = _card_value(payloads.at(action, "value"))
    if parsed is None or not viewer_may_see(employee, parsed[1]):
        _unknown(body, client, respond, employee)
        return
    target, customer_id = parsed
    actor, via = employee.slack_user_id, "slack:card"
    skipped = None
    with session_factory.begin() as session:
        if action_id == ids.CARD_SKIP:
            skip(session, target, employee_id=employee.id, actor=actor, via=via, customer_id=customer_id)
            outcome, skipped = Outcome(t("review.skipped", employee.locale)), target
        elif action_id == ids.CARD_UNDO:
            undone = undo(session, target, employee_id=employee.id, actor=actor, via=via,
                          steward=is_steward(session, employee))
            if customer_id not in undone.customer_ids and undone.customer_ids:
                customer_id = undone.customer_ids[0]
            outcome = Outcome(t("review.undone", employee.locale))
        else:
            answered = answer(session, target, ANSWERS[str(action_id)], employee_id=employee.id, actor=actor,
                              via=via, customer_id=customer_id)
            customer_id = answered.customer_id or customer_id
            outcome = Outcome(answered_text(answered, employee.locale), undo=f"{answered.decision_id}:{customer_id}")
    message = card_message(session_factory, employee, clock, customer_id, via=via, outcome=outcome,
                           skipped_review=skipped, shareable=bool(settings.share_channels))
    if payloads.text(body, "response_url"):
        respond(response_type="ephemeral", replace_original=True, **message)
    else:
        client.chat_postMessage(channel=employee.slack_user_id, **message)


def register(app: App) -> None:
    for action_id in (ids.SAME, ids.APART, ids.SKIP, ids.UNDO):
        app.action(action_id)(queue_clicked)
    for action_id in (ids.CARD_SAME, ids.CARD_APART, ids.CARD_SKIP, ids.CARD_UNDO):
        app.action(action_id)(card_clicked)
