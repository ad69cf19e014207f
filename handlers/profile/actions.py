"""The card's buttons: open a candidate, page through history, reveal the contact details (audited).

Every listener acks first and works after. The customer id in a button value is data typed by
nobody we trust: the viewer's right to see that customer is checked again on every click.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from handlers import payloads
from handlers.context import Clock, ListenerSettings, Requester, SessionFactory
from handlers.i18n import t
from handlers.profile import blocks, ids
from handlers.review.blocks import Outcome, card_banner, card_outcome
from store import audit
from store.dialect import Reader
from store.models import Customer
from store.profile import (
    CustomerProfile,
    HistoryKind,
    ProfileUnavailable,
    build_profile,
    more_interactions,
    more_orders,
    profile_of_card_row,
    viewer_may_see,
)
from store.review import PossibleDuplicate, possible_duplicates
from store.vocabulary import AuditAction, CustomerStatus

log = logging.getLogger(__name__)

PAGE = 10


@dataclass(frozen=True)
class CardRead:
    """What a card shows from the database, read in one session: the profile and its possible duplicates."""

    profile: CustomerProfile
    duplicates: list[PossibleDuplicate]


def read_card(session: Reader, customer_id: int, employee: Requester, clock: Clock, *,
              skipped_review: int | None = None, audit_via: str | None = None) -> CardRead:
    """`audit_via` (PostgreSQL only): the card's read also writes this view's audit row (store.profile.build_profile)."""
    profile = build_profile(session, customer_id, viewer=employee, clock=clock, audit_via=audit_via)
    return CardRead(profile=profile, duplicates=possible_duplicates(session, profile.customer_id, exclude=skipped_review,
                                                                    own=profile.source_record_ids))


def card_of_row(session: Reader, row: Any, clock: Clock) -> CardRead:
    """The card from a row read (and its view audited) along with a lookup (store.profile.card_along)."""
    profile = profile_of_card_row(session, row, clock=clock)
    return CardRead(profile=profile, duplicates=possible_duplicates(session, profile.customer_id,
                                                                    own=profile.source_record_ids))


def record_view(session: Session | Connection, employee: Requester, clock: Clock, customer_id: int, *, via: str,
                revealed: bool = False) -> None:
    """The audit row of one card shown (or its contact details revealed) to `employee`; the caller commits."""
    audit.record_now(session, employee_id=employee.id, actor=employee.slack_user_id,
                     action=AuditAction.REVEAL if revealed else AuditAction.VIEW, customer_id=customer_id, via=via,
                     detail={"fields": ["email", "phone"]} if revealed else None, at=clock())


def card_message(session_factory: SessionFactory, employee: Requester, clock: Clock, customer_id: int, *, via: str,
                 revealed: bool = False, shareable: bool = False, read: CardRead | None = None,
                 outcome: Outcome | None = None, skipped_review: int | None = None,
                 audited: bool = False) -> dict[str, Any]:
    """The card of one customer as message arguments; shown only once its audit row is committed.

    `read`: the card already read by the caller in its own read session (the lookup that found the
    customer: one session per lookup, not two), closed before this writes the audit row. Never hold a read
    session open across the write: each listener would need two pooled connections at once, and a full
    pool would then leave every listener waiting for a second one. `audited`: the caller has already
    committed this view's audit row (`record_view`, or the card's read itself: `read_card(audit_via=...)`) in
    the session that read `read`.

    A pending possible duplicate of this customer shows as a banner to ask the customer about
    (handlers.review); `outcome` is what the employee's last answer on the card did (with its Undo).
    """
    try:
        if read is None:
            with session_factory() as session:
                read = read_card(session, customer_id, employee, clock, skipped_review=skipped_review)
        profile, duplicates = read.profile, read.duplicates
        # The audit row gets its own short write transaction: on SQLite a write transaction holds the one
        # write lock, and building the card inside it made every lookup queue behind the others' reads. One
        # INSERT on a Core connection: a Session around it cost several times the write (bench/README.md).
        if not audited:
            with session_factory.write_connection() as connection:
                record_view(connection, employee, clock, profile.customer_id, via=via, revealed=revealed)
    except ProfileUnavailable as refused:  # the card's place shows why: callers reply with this message
        return {"text": t(refused.key, employee.locale, **refused.params)}
    except SQLAlchemyError:
        log.exception("building the card of customer %s failed", customer_id)
        return {"text": t("common.db_unavailable", employee.locale)}
    banner = [*(card_outcome(outcome, employee.locale) if outcome else []),
              *(card_banner(duplicates[0], employee.locale) if duplicates else [])]
    return {"text": blocks.fallback_text(profile, employee.locale),
            "blocks": blocks.profile_blocks(profile, employee.locale, employee.timezone, revealed=revealed,
                                            shareable=shareable, banner=banner)}


def parse_value(value: Any) -> tuple[int, int] | None:
    """'123' or '123:10' (customer id, offset); None for anything else."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    head, _, offset = value.partition(":")
    customer_id = payloads.parse_id(head)
    if customer_id is None or (offset and (not offset.isascii() or not offset.isdigit() or len(offset) > 6)):
        return None
    return customer_id, int(offset or 0)


def _reply(respond: Respond, message: dict[str, Any], *, replace: bool) -> None:
    respond(response_type="ephemeral", replace_original=replace, **message)


def open_customer(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond,
                  employee: Requester, session_factory: SessionFactory, settings: ListenerSettings,
                  clock: Clock) -> None:
    ack()
    from_home = not payloads.text(body, "response_url") and payloads.text(body, "view", "type") == "home"
    parsed = parse_value(payloads.at(action, "value"))
    if parsed is None or not viewer_may_see(employee, parsed[0]):
        if from_home:
            client.chat_postMessage(channel=employee.slack_user_id, text=t("common.unknown_action", employee.locale))
        else:
            respond(text=t("common.unknown_action", employee.locale), response_type="ephemeral", replace_original=False)
        return
    message = card_message(session_factory, employee, clock, parsed[0], via="slack:open",
                           shareable=bool(settings.share_channels))
    if from_home:
        # App Home has no message to replace: the card goes to the employee's own DM with the bot.
        client.chat_postMessage(channel=employee.slack_user_id, **message)
    else:
        _reply(respond, message, replace=True)


def reveal_contact(ack: Ack, action: dict[str, Any], respond: Respond, employee: Requester,
                   session_factory: SessionFactory, settings: ListenerSettings, clock: Clock) -> None:
    ack()
    parsed = parse_value(payloads.at(action, "value"))
    if parsed is None or not viewer_may_see(employee, parsed[0]):
        respond(text=t("common.unknown_action", employee.locale), response_type="ephemeral", replace_original=False)
        return
    message = card_message(session_factory, employee, clock, parsed[0], via="slack:reveal", revealed=True,
                           shareable=bool(settings.share_channels))
    _reply(respond, message, replace="blocks" in message)


def _more(kind: HistoryKind, action: dict[str, Any], respond: Respond, employee: Requester,
          session_factory: SessionFactory) -> None:
    parsed = parse_value(payloads.at(action, "value"))
    if parsed is None or not viewer_may_see(employee, parsed[0]):
        respond(text=t("common.unknown_action", employee.locale), response_type="ephemeral", replace_original=False)
        return
    customer_id, offset = parsed
    offset = offset or 5  # the card itself shows the first five
    try:
        with session_factory() as session:
            profile_name = _name(session, customer_id)
            if profile_name is None:
                respond(text=t("profile.unavailable", employee.locale), response_type="ephemeral",
                        replace_original=False)
                return
            fetch = more_orders if kind == "orders" else more_interactions
            page = fetch(session, customer_id, offset=offset, limit=PAGE)
    except SQLAlchemyError:
        log.exception("loading more %s of customer %s failed", kind, customer_id)
        respond(text=t("common.db_unavailable", employee.locale), response_type="ephemeral", replace_original=False)
        return
    page_blocks = blocks.history_page_blocks(kind, customer_id, profile_name, page, employee.locale, employee.timezone)
    respond(text=t("profile.more_orders" if kind == "orders" else "profile.more_interactions", employee.locale),
            blocks=page_blocks, response_type="ephemeral", replace_original=False)


def _name(session: Session, customer_id: int) -> str | None:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.status != CustomerStatus.ACTIVE:
        return None
    return " ".join(p for p in (customer.first_name, customer.last_name) if p) or f"#{customer.id}"


def more_orders_clicked(ack: Ack, action: dict[str, Any], respond: Respond, employee: Requester,
                        session_factory: SessionFactory) -> None:
    ack()
    _more("orders", action, respond, employee, session_factory)


def more_interactions_clicked(ack: Ack, action: dict[str, Any], respond: Respond, employee: Requester,
                              session_factory: SessionFactory) -> None:
    ack()
    _more("interactions", action, respond, employee, session_factory)


def register(app: App) -> None:
    app.action(ids.OPEN_CUSTOMER)(open_customer)
    app.action(ids.REVEAL_CONTACT)(reveal_contact)
    app.action(ids.MORE_ORDERS)(more_orders_clicked)
    app.action(ids.MORE_INTERACTIONS)(more_interactions_clicked)
