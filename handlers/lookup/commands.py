"""Asking for a customer: `/customer <text>` or the "Find a customer" shortcut (a DM to the bot and an
@mention are conversations: handlers.conversation). Every answer is seen by the asking employee only:
ephemeral for commands, the employee's own DM with the bot otherwise.

`/customer` answers in its ack when it can: Slack shows a slash command's HTTP response as an ephemeral
message, so a lookup ready within `settings.answer_in_ack_seconds` of the request's arrival costs one HTTP
exchange instead of an ack plus a post to the response_url (AckOrRespond). A slower one (a busy database)
acks "looking for…" when the window closes, so Slack still has its ack within 3 s, and posts the answer
when done. The shortcut's modal acks at once and answers in the DM.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any, Protocol

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from handlers import payloads
from handlers.context import RECEIVED_AT, Clock, ListenerSettings, Requester, SessionFactory
from handlers.i18n import t
from handlers.lookup import blocks
from handlers.lookup.deadlines import DEADLINES
from handlers.profile.actions import card_message, card_of_row, read_card
from store import dialect
from store.profile import ProfileUnavailable, card_along
from store.search import find_customers

log = logging.getLogger(__name__)

COMMAND = "/customer"
SHORTCUT = "find_customer"


class LookupSettings(ListenerSettings, Protocol):
    @property
    def answer_in_ack_seconds(self) -> float: ...

# Phrases people put before what they look for, removed from the start only (so "Le Gall" stays whole).
_LEADING = sorted(
    (
        "who is", "who's", "whos", "find", "find me", "search", "search for", "look up", "lookup", "look for",
        "show", "show me", "open", "get", "customer", "client", "cliente", "the customer", "a customer",
        "profile of", "card of", "qui est", "c'est qui", "cherche", "chercher", "je cherche", "trouve", "trouver",
        "recherche", "rechercher", "montre", "montre-moi", "montre moi", "affiche", "ouvre", "fiche", "la fiche de",
        "fiche de", "le client", "la cliente", "un client", "une cliente", "please", "pls", "stp", "svp", "hey",
        "hi", "hello", "bonjour", "salut", "can you", "could you", "tu peux", "peux-tu", "pourrais-tu",
    ),
    key=len, reverse=True,
)
_TRAILING = re.compile(r"(?:[\s?!.,;:]+|\s+(?:please|pls|stp|svp|merci|thanks|thx))+$", re.IGNORECASE)
_SLACK_LINK = re.compile(r"<(?:mailto:|tel:)?([^>|]*)(?:\|([^>]*))?>")
_MENTION = re.compile(r"<[@#!][^>]*>")


def clean_query(text: str | None) -> str:
    """What the employee looks for, without the bot mention, Slack's link markup and filler words."""
    text = _MENTION.sub(" ", text or "")
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = " ".join(text.replace("\u00a0", " ").split())
    changed = True
    while changed and text:
        changed = False
        lowered = text.lower()
        for phrase in _LEADING:
            if lowered.startswith(phrase) and (len(text) == len(phrase) or not text[len(phrase)].isalnum()):
                text = text[len(phrase):].lstrip(" :,?!-")
                changed = True
                break
    return _TRAILING.sub("", text).strip()


def answer(query: str, employee: Requester, session_factory: SessionFactory, clock: Clock, *, via: str,
           shareable: bool = False) -> dict[str, Any]:
    """Message arguments answering `query`: the card, candidates, no match, or usage help."""
    locale = employee.locale
    if not query:
        text, usage_blocks = blocks.usage(locale)
        return {"text": text, "blocks": usage_blocks}
    try:
        # On PostgreSQL every statement of the lookup runs on its own (autocommit): psycopg's BEGIN before the
        # first and the COMMIT after the last would be two more round trips, and nothing here needs one
        # snapshot (the card follows a merge that happened since the search, and says so if the customer was
        # erased). On SQLite an ordinary read transaction.
        # A Core connection, not a Session: the lookup only runs statements (Core selects, the card's own audit
        # write), and a Session's set-up and execution layers cost more than they do (bench/README.md, branch
        # lookuppg2).
        with session_factory.read_connection() as connection:
            # One clear match: its card is read in the search's connection (one connection per lookup, not two).
            # On PostgreSQL the card's own statement writes the view's audit row, committed with it (autocommit)
            # before the card is shown; and an exact kind's card and audit row are read in the lookup's own
            # statement (`along`): one round trip for the three. Not on SQLite: a read transaction that goes on
            # to write fails at once if another connection wrote meanwhile (card_message's own BEGIN IMMEDIATE
            # transaction queues instead, after this connection is closed).
            audited = not dialect.is_sqlite(connection)
            result = find_customers(connection, query, limit=5, along=card_along(employee, clock, via) if audited else None)
            card = None
            if result.exact and result.best is not None:
                card = (card_of_row(connection, result.along, clock) if result.along is not None
                        else read_card(connection, result.best.customer_id, employee, clock,
                                       audit_via=via if audited else None))
    except ProfileUnavailable as refused:  # the card's place shows why, as card_message would
        return {"text": t(refused.key, locale, **refused.params)}
    except SQLAlchemyError:
        log.exception("customer search failed")
        return {"text": t("common.db_unavailable", locale)}
    if card is not None:
        return card_message(session_factory, employee, clock, card.profile.customer_id, via=via, shareable=shareable,
                            read=card, audited=audited)
    text, result_blocks = blocks.result_blocks(result, locale)
    return {"text": text, "blocks": result_blocks}


class AckOrRespond:
    """Delivers one slash command's answer: in the ack if it is ready before `window` seconds have passed,
    otherwise a "looking for…" ack when the window closes (from the deadline thread, while the listener
    still works) and the answer through the response_url once ready. Exactly one ack either way."""

    def __init__(self, ack: Ack, respond: Respond, *, window: float, holding: str) -> None:
        self._ack, self._respond, self._holding = ack, respond, holding
        self._lock = threading.Lock()
        self._acked = False
        if window <= 0:
            self._hold()
        else:
            DEADLINES.call_at(time.monotonic() + window, self._hold)

    def _hold(self) -> None:
        with self._lock:  # held while acking, so that deliver() and abandon() see an ack that happened
            if self._acked:
                return
            self._acked = True
            self._ack(text=self._holding, response_type="ephemeral")

    def _close(self) -> bool:
        """Whether the ack is still to be sent (by the caller); the deadline finds nothing left to do."""
        with self._lock:
            open_, self._acked = not self._acked, True
        return open_

    def deliver(self, message: dict[str, Any]) -> None:
        if self._close():
            self._ack(response_type="ephemeral", **message)
        else:
            self._respond(response_type="ephemeral", replace_original=False, **message)

    def abandon(self) -> None:
        """The listener failed: no holding ack any more; bolt's error handler answers (in the ack if
        it is still open, else through the response_url)."""
        self._close()


def customer_command(ack: Ack, command: dict[str, Any], respond: Respond, employee: Requester,
                     session_factory: SessionFactory, settings: LookupSettings, clock: Clock,
                     context: BoltContext) -> None:
    query = clean_query(payloads.text(command, "text"))
    if not query:
        text, usage_blocks = blocks.usage(employee.locale)
        ack(text=text, blocks=usage_blocks, response_type="ephemeral")
        return
    received = context.get(RECEIVED_AT)
    waited = time.perf_counter() - received if isinstance(received, float) else 0.0
    reply = AckOrRespond(ack, respond, window=settings.answer_in_ack_seconds - waited,
                         holding=blocks.searching(query, employee.locale))
    try:
        message = answer(query, employee, session_factory, clock, via="slack:/customer",
                         shareable=bool(settings.share_channels))
    except BaseException:
        reply.abandon()
        raise
    reply.deliver(message)


def open_search(ack: Ack, body: dict[str, Any], client: WebClient, employee: Requester) -> None:
    trigger_id = payloads.require_text(body, "trigger_id", limit=200)  # before the ack: see interactions.views
    ack()
    client.views_open(trigger_id=trigger_id, view=blocks.search_modal(employee.locale))


def submit_search(ack: Ack, view: dict[str, Any], client: WebClient, employee: Requester,
                  session_factory: SessionFactory, settings: ListenerSettings, clock: Clock) -> None:
    query = clean_query(payloads.text(payloads.state_values(view), blocks.MODAL_BLOCK, blocks.MODAL_INPUT, "value"))
    if len(query) < 2:
        ack(response_action="errors", errors={blocks.MODAL_BLOCK: t("lookup.too_short", employee.locale)})
        return
    ack()
    message = answer(query, employee, session_factory, clock, via="slack:shortcut",
                     shareable=bool(settings.share_channels))
    client.chat_postMessage(channel=employee.slack_user_id, **message)


def register(app: App) -> None:
    app.command(COMMAND)(customer_command)
    app.shortcut(SHORTCUT)(open_search)
    app.view(blocks.MODAL_CALLBACK)(submit_search)
