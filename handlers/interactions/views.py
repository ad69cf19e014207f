"""Listeners for logging interactions: open the modal from a card, /log, a message shortcut or App Home;
suggest customers while typing; validate and save a submission; confirm to the employee by DM.

Modals are opened with the request's trigger_id, which Slack honours for 3 seconds: only a primary-key
read (or one search) happens before views.open, everything else after.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from handlers import payloads
from handlers.context import Clock, Requester, SessionFactory
from handlers.i18n import t
from handlers.i18n.formats import format_date
from handlers.interactions import blocks, ids
from handlers.payloads import parse_id
from store.clock import local_today
from store.errors import Refused
from store.followups import add_follow_up
from store.interactions import (
    CustomerChoice,
    FieldError,
    clear_match,
    customer_choice,
    log_interaction,
    suggest_customers,
    validate_follow_up_form,
    validate_interaction_form,
)
from store.models import Employee
from store.vocabulary import InteractionChannel, PreferenceCategory

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(ids.PROFILE_LOG)(open_log_for_customer)
    app.action(ids.HOME_LOG)(open_log_blank)
    app.action(ids.PROFILE_FOLLOW_UP)(open_follow_up_for_customer)
    app.command(ids.COMMAND)(log_command)
    app.shortcut(ids.MESSAGE_SHORTCUT)(log_message_shortcut)
    app.options(ids.CUSTOMER_SELECT)(suggest_customer_options)
    app.view(ids.LOG_MODAL)(submit_log)
    app.view(ids.FOLLOW_UP_MODAL)(submit_follow_up)


# --- opening --------------------------------------------------------------------------------------


def _trigger(body: dict[str, Any]) -> str:
    """The trigger_id a modal needs, read before the ack: a listener failing right after its ack can hold
    bolt's HTTP response until its 3-second timeout, so whatever can be refused is refused first."""
    return payloads.require_text(body, "trigger_id", limit=200)


def _open(client: WebClient, body: dict[str, Any], trigger_id: str, view: dict[str, Any]) -> None:
    """Open the modal, or push it when the click came from inside another modal."""
    opener = client.views_push if payloads.text(body, "view", "type") == "modal" else client.views_open
    opener(trigger_id=trigger_id, view=view)


def _choice(session_factory: SessionFactory, raw_id: Any) -> CustomerChoice | None:
    customer_id = parse_id(raw_id)
    if customer_id is None:
        return None
    try:
        with session_factory() as session:
            return customer_choice(session, customer_id)
    except SQLAlchemyError:
        # Still open the form: the employee can pick the customer once the database is back.
        log.exception("could not load customer %s for the log modal", customer_id)
        return None


def _default_channel(employee: Requester) -> InteractionChannel:
    return InteractionChannel.STORE if employee.store_id else InteractionChannel.PHONE


def _log_modal(employee: Requester, customer: CustomerChoice | None, note: str | None = None) -> dict[str, Any]:
    return blocks.log_modal(employee.locale, me=employee.slack_user_id, customer=customer, note=note,
                            default_channel=_default_channel(employee))


def open_log_for_customer(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                          employee: Requester, session_factory: SessionFactory) -> None:
    trigger_id = _trigger(body)
    ack()
    _open(client, body, trigger_id, _log_modal(employee, _choice(session_factory, payloads.at(action, "value"))))


def open_log_blank(ack: Ack, body: dict[str, Any], client: WebClient, employee: Requester) -> None:
    trigger_id = _trigger(body)
    ack()
    _open(client, body, trigger_id, _log_modal(employee, None))


def open_follow_up_for_customer(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                                employee: Requester, session_factory: SessionFactory) -> None:
    trigger_id = _trigger(body)
    ack()
    customer = _choice(session_factory, payloads.at(action, "value"))
    _open(client, body, trigger_id,
          blocks.follow_up_modal(employee.locale, me=employee.slack_user_id, customer=customer))


def log_command(ack: Ack, body: dict[str, Any], command: dict[str, Any], client: WebClient, employee: Requester,
                session_factory: SessionFactory) -> None:
    trigger_id = _trigger(body)
    ack()
    text = (payloads.text(command, "text") or "").strip()
    customer = None
    if text:
        try:
            with session_factory() as session:
                customer = clear_match(session, text)
        except SQLAlchemyError:
            log.exception("customer search for /log failed")
    view = blocks.log_modal(employee.locale, me=employee.slack_user_id, customer=customer,
                            default_channel=_default_channel(employee), unmatched_query=text or None)
    client.views_open(trigger_id=trigger_id, view=view)


def log_message_shortcut(ack: Ack, body: dict[str, Any], shortcut: dict[str, Any], client: WebClient,
                         employee: Requester) -> None:
    trigger_id = _trigger(body)
    ack()
    message_text = (payloads.text(shortcut, "message", "text") or "").strip()
    client.views_open(trigger_id=trigger_id, view=_log_modal(employee, None, note=message_text or None))


def suggest_customer_options(ack: Ack, payload: dict[str, Any], session_factory: SessionFactory) -> None:
    typed = (payloads.text(payload, "value", limit=200) or "").strip()
    try:
        with session_factory() as session:
            choices = suggest_customers(session, typed, limit=20)
    except SQLAlchemyError:
        log.exception("customer suggestions failed")
        choices = []
    ack(options=[blocks.customer_option(choice) for choice in choices])


# --- submitting -----------------------------------------------------------------------------------


def submission_key(view: dict[str, Any]) -> str:
    """Same view and same answers -> same key: Slack's retries and double submits write once."""
    state = json.dumps(payloads.state_values(view), sort_keys=True, separators=(",", ":"))
    return f"view:{payloads.text(view, 'id', limit=100) or ''}:{hashlib.sha256(state.encode()).hexdigest()[:24]}"


def _db_unavailable(ack: Ack, view: dict[str, Any], locale: str) -> None:
    ack(response_action="errors",
        errors=blocks.slack_errors({ids.NOTE: FieldError("common.db_unavailable")}, locale,
                                payloads.dicts(view, "blocks")))


def _employee_name(session: Session, employee_id: int) -> str:
    return session.get_one(Employee, employee_id).name


def submit_log(ack: Ack, view: dict[str, Any], client: WebClient, employee: Requester, session_factory: SessionFactory,
               clock: Clock) -> None:
    locale = employee.locale
    values = blocks.read_state(payloads.state_values(view))
    now = clock()
    today = local_today(now, employee.timezone)
    try:
        with session_factory.begin() as session:
            clean, errors = validate_interaction_form(session, values, today=today)
            if clean is not None:
                interaction = log_interaction(
                    session, employee=employee, customer_id=clean.customer_id, channel=clean.channel,
                    type=clean.type, outcome=clean.outcome, note=clean.note, declared=clean.declared,
                    follow_up=clean.follow_up, idempotency_key=submission_key(view), now=now)
                customer = (customer_choice(session, interaction.customer_id)
                            if interaction.customer_id is not None else None)
                assignee = _employee_name(session, clean.follow_up.assignee_id) if clean.follow_up else None
    except Refused as refused:  # a modal answers with the error under its field, not with a notice
        errors = {refused.field or ids.CUSTOMER: FieldError(key=refused.key, params=refused.params)}
        clean = None
    except SQLAlchemyError:
        log.exception("saving an interaction failed")
        _db_unavailable(ack, view, locale)
        return
    if clean is None:
        ack(response_action="errors", errors=blocks.slack_errors(errors, locale, payloads.dicts(view, "blocks")))
        return
    ack()
    log.info("interaction %s logged for customer %s", interaction.id, interaction.customer_id)
    declared = [" ".join(p for p in (d.label, _declared_value(d.category, d.value, locale)) if p)
                for d in clean.declared]
    follow_up = ((format_date(clean.follow_up.due_date, locale), assignee)
                 if clean.follow_up and assignee is not None else None)
    text, message = blocks.confirmation(
        locale, customer_name=customer.name if customer else t("interactions.unknown_customer_name", locale),
        type_=clean.type, channel=clean.channel, outcome=clean.outcome, declared=declared, follow_up=follow_up)
    _tell(client, employee.slack_user_id, text, message)


def _declared_value(category: PreferenceCategory, value: str, locale: str) -> str:
    if category == PreferenceCategory.CHANNEL:
        return t(f"interactions.contact.{value}", locale)
    if category == PreferenceCategory.LANGUAGE:
        return t(f"interactions.language.{value}", locale)
    return value


def submit_follow_up(ack: Ack, view: dict[str, Any], client: WebClient, employee: Requester,
                     session_factory: SessionFactory, clock: Clock) -> None:
    locale = employee.locale
    values = blocks.read_state(payloads.state_values(view))
    now = clock()
    today = local_today(now, employee.timezone)
    customer = None
    try:
        with session_factory.begin() as session:
            follow_up, errors = validate_follow_up_form(session, values, today=today)
            if follow_up is None and not errors:
                errors = {ids.DUE: FieldError("interactions.error.due_missing")}
            if parse_id(values.get(ids.CUSTOMER)) is None:
                errors[ids.CUSTOMER] = FieldError("interactions.error.customer_missing")
            if follow_up is not None and not errors:
                try:
                    row = add_follow_up(session, employee=employee, customer_id=parse_id(values[ids.CUSTOMER]),
                                        assignee_id=follow_up.assignee_id, due_date=follow_up.due_date,
                                        note=follow_up.note, today=today, now=now,
                                        idempotency_key=submission_key(view))
                    customer = customer_choice(session, row.customer_id) if row.customer_id is not None else None
                    assignee = _employee_name(session, row.assignee_id)
                except Refused as refused:  # under its field, as in submit_log
                    errors = {refused.field or ids.DUE: FieldError(key=refused.key, params=refused.params)}
    except SQLAlchemyError:
        log.exception("saving a follow-up failed")
        _db_unavailable(ack, view, locale)
        return
    if errors or follow_up is None:  # no follow-up means an error was set above
        ack(response_action="errors", errors=blocks.slack_errors(errors, locale, payloads.dicts(view, "blocks")))
        return
    ack()
    text, message = blocks.follow_up_added(
        locale, customer_name=customer.name if customer else t("interactions.unknown_customer_name", locale),
        due=format_date(follow_up.due_date, locale), assignee=assignee)
    _tell(client, employee.slack_user_id, text, message)


def _tell(client: WebClient, slack_user_id: str, text: str, message: list[dict[str, Any]]) -> None:
    """A DM from the app: modal submissions have no channel to answer in."""
    try:
        client.chat_postMessage(channel=slack_user_id, text=text, blocks=message)
    except Exception:  # the row is saved; a lost confirmation must not look like a failure
        log.exception("could not confirm to %s", slack_user_id)
