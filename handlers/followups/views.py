"""/followups and its Done / Snooze buttons, which redraw the list where it was clicked (message or App Home)."""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from handlers import payloads
from handlers.blockkit import context, escape
from handlers.context import Clock, Requester, SessionFactory
from handlers.followups import blocks, ids
from handlers.home.publish import publish_home
from handlers.i18n import t
from handlers.i18n.formats import format_date
from handlers.notices import deliver_notice
from store.clock import local_today
from store.followups import complete, open_follow_ups, snooze
from store.interactions import customer_choice

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.command(ids.COMMAND)(list_command)
    app.action(ids.DONE)(mark_done)
    app.action(ids.SNOOZE)(snooze_follow_up)


def list_command(ack: Ack, respond: Respond, employee: Requester, session_factory: SessionFactory,
                 clock: Clock) -> None:
    ack()
    today = local_today(clock(), employee.timezone)
    try:
        with session_factory() as session:
            items = open_follow_ups(session, employee.id, today=today)
    except SQLAlchemyError:
        log.exception("listing follow-ups failed")
        respond(text=t("common.db_unavailable", employee.locale), response_type="ephemeral")
        return
    text, message = blocks.follow_up_message(items, today, employee.locale)
    respond(text=text, blocks=message, response_type="ephemeral")


def mark_done(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond,
              employee: Requester, session_factory: SessionFactory, clock: Clock) -> None:
    ack()
    _change(body, client, respond, employee, session_factory, clock, action.get("value"), days=None)


def snooze_follow_up(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond,
                     employee: Requester, session_factory: SessionFactory, clock: Clock) -> None:
    ack()
    parsed = blocks.parse_snooze(payloads.text(action, "selected_option", "value"))
    if parsed is None:
        return
    follow_up_id, days = parsed
    _change(body, client, respond, employee, session_factory, clock, follow_up_id, days=days)


def _change(body: dict[str, Any], client: WebClient, respond: Respond, employee: Requester, session_factory: SessionFactory, clock: Clock, raw_id: Any,
            *, days: int | None) -> None:
    locale = employee.locale
    now = clock()
    today = local_today(now, employee.timezone)
    follow_up_id = payloads.parse_id(raw_id)
    if follow_up_id is None:
        return
    try:
        with session_factory.begin() as session:
            if days is None:
                row = complete(session, follow_up_id, employee=employee, now=now)
            else:
                row = snooze(session, follow_up_id, employee=employee, days=days, today=today, now=now)
            name = _customer_label(session, row.customer_id, locale)
            done_text = (t("followups.marked_done", locale, name=name) if days is None else
                         t("followups.snoozed", locale, name=name, date=format_date(row.due_date, locale)))
            items = open_follow_ups(session, employee.id, today=today)
    except SQLAlchemyError:
        log.exception("changing follow-up %s failed", follow_up_id)
        deliver_notice(body, client, respond, t("common.db_unavailable", locale), locale)
        return
    log.info("follow-up %s %s", follow_up_id, "done" if days is None else f"snoozed {days}d")
    if payloads.text(body, "container", "type") == "view" or payloads.text(body, "view", "type") == "home":
        publish_home(client, employee, session_factory, clock, notice=done_text)
        return
    text, message = blocks.follow_up_message(items, today, locale)
    respond(text=text, blocks=[context("✓ " + done_text), *message], replace_original=True)


def _customer_label(session: Session, customer_id: int | None, locale: str) -> str:
    if customer_id is None:
        return t("followups.no_customer", locale)
    choice = customer_choice(session, customer_id)
    return escape(choice.name) if choice else t("followups.erased_customer", locale)
