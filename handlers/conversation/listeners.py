"""Where a conversation with Frontline happens, and how each place is answered.

- A DM with the app (`message.im`): the DM's main flow is one conversation, each thread in it another.
- Slack's assistant surface, through bolt's `Assistant` middleware: suggested prompts when a thread
  starts, a short status while a search runs, the answer in the thread.
- An @mention in a channel (or a channel thread): the answer is ephemeral, seen by the asker only;
  nothing about a customer is ever posted to a channel.

Each listener only finds the thread and the delivery; `turns.answer_turn` does the rest. Events are acked
by bolt before the listener runs (process_before_response=False), so a slow search never delays the ack.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Assistant, BoltRequest, BoltResponse
from slack_bolt.request.payload_utils import is_event
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from handlers import payloads
from handlers.context import Clock, ListenerSettings, Requester, SessionFactory
from handlers.conversation import blocks, ids
from handlers.conversation.turns import answer_turn
from handlers.i18n import t
from handlers.interactions.blocks import log_modal
from store.conversations import ThreadKey, recall
from store.interactions import customer_choice
from store.vocabulary import InteractionChannel, InteractionType

log = logging.getLogger(__name__)

def _key(employee: Requester, channel: str, thread_ts: str | None) -> ThreadKey:
    return ThreadKey(employee_id=employee.id, channel_id=channel, thread_ts=thread_ts or "")


def thread_started(payload: dict[str, Any], client: WebClient, employee: Requester) -> None:
    """A new assistant thread: what Frontline does, and a few prompts to click."""
    channel = payloads.require_text(payload, "assistant_thread", "channel_id", limit=40)
    thread_ts = payloads.require_text(payload, "assistant_thread", "thread_ts", limit=40)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, **blocks.help_message(employee.locale))
    client.assistant_threads_setSuggestedPrompts(channel_id=channel, thread_ts=thread_ts,
                                                 prompts=blocks.suggested_prompts(employee.locale),
                                                 title=t("conversation.prompts_title", employee.locale))


def thread_context_changed(payload: dict[str, Any]) -> None:
    """Which channel the employee is looking at: Frontline answers the same wherever they are, so it keeps
    nothing of it (bolt's default handler would store it in message metadata through more API calls)."""
    return None


def assistant_message(payload: dict[str, Any], client: WebClient, employee: Requester,
                      session_factory: SessionFactory, settings: ListenerSettings, clock: Clock) -> None:
    channel = payloads.require_text(payload, "channel", limit=40)
    thread_ts = payloads.require_text(payload, "thread_ts", limit=40)

    def looking_up() -> None:
        try:
            client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts,
                                               status=t("conversation.status", employee.locale))
        except SlackClientError:  # a status is a nicety: the answer goes out without it
            log.warning("could not set the assistant thread status")

    message = answer_turn(payloads.text(payload, "text"), employee=employee, key=_key(employee, channel, thread_ts),
                          session_factory=session_factory, settings=settings, clock=clock, status=looking_up)
    # Slack clears the status when the app replies in the thread.
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message)


def direct_message(event: dict[str, Any], client: WebClient, employee: Requester, session_factory: SessionFactory,
                   settings: ListenerSettings, clock: Clock) -> None:
    """A message in the DM with the app. bolt's event("message") also receives channel messages (it does not
    filter on channel_type): only DMs are conversations, edits and other subtypes are not messages to us."""
    if event.get("channel_type") != "im" or event.get("subtype"):
        return
    channel = payloads.require_text(event, "channel", limit=40)
    thread_ts = payloads.text(event, "thread_ts", limit=40)
    message = answer_turn(payloads.text(event, "text"), employee=employee, key=_key(employee, channel, thread_ts),
                          session_factory=session_factory, settings=settings, clock=clock)
    extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
    client.chat_postMessage(channel=channel, **message, **extra)


def mention(event: dict[str, Any], client: WebClient, employee: Requester, session_factory: SessionFactory,
            settings: ListenerSettings, clock: Clock) -> None:
    """@Frontline in a channel: the same conversation, answered ephemerally (only the asker sees it)."""
    channel = payloads.require_text(event, "channel", limit=40)
    thread_ts = payloads.text(event, "thread_ts", limit=40)
    message = answer_turn(payloads.text(event, "text"), employee=employee, key=_key(employee, channel, thread_ts),
                          session_factory=session_factory, settings=settings, clock=clock)
    extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
    client.chat_postEphemeral(channel=channel, user=employee.slack_user_id, **message, **extra)


def open_log_form(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, employee: Requester,
                  session_factory: SessionFactory, clock: Clock) -> None:
    """"Open the form": the log modal, filled from the thread's draft (customer, channel, type, note)."""
    trigger_id = payloads.require_text(body, "trigger_id", limit=200)  # before the ack: see interactions.views
    ack()
    customer_id = payloads.parse_id(payloads.at(action, "value"))
    channel = payloads.text(body, "channel", "id", limit=40) or payloads.text(body, "container", "channel_id", limit=40)
    thread_ts = payloads.text(body, "message", "thread_ts", limit=40) or payloads.text(
        body, "container", "thread_ts", limit=40)
    if customer_id is None or channel is None:
        return
    try:
        with session_factory() as session:
            draft = recall(session, _key(employee, channel, thread_ts), now=clock()).draft
            choice = customer_choice(session, customer_id)
    except SQLAlchemyError:
        log.exception("could not read the conversation draft")
        draft, choice = None, None
    if draft is None or draft.customer_id != customer_id or choice is None:
        client.chat_postEphemeral(channel=channel, user=employee.slack_user_id, thread_ts=thread_ts,
                                  text=t("conversation.log_gone", employee.locale))
        return
    channel_default = InteractionChannel(draft.channel) if draft.channel in tuple(InteractionChannel) else (
        InteractionChannel.STORE if employee.store_id else InteractionChannel.PHONE)
    type_default = InteractionType(draft.type) if draft.type in tuple(InteractionType) else None
    client.views_open(trigger_id=trigger_id, view=log_modal(
        employee.locale, me=employee.slack_user_id, customer=choice, note=draft.note,
        default_channel=channel_default, default_type=type_default))


class AssistantThreads(Assistant):
    """bolt's Assistant middleware, looked at for events only. It is global: bolt runs it on every request,
    trying each of its listeners' matchers (keyword arguments built for each) on `/customer` and every click
    too, though every one of them, and its handling of a thread's other message events, matches events
    only (an assistant thread started, its context changed, a message in it)."""

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:
        if not is_event(req.body):
            return next()
        return super().process(req=req, resp=resp, next=next)


def register(app: App) -> None:
    # Threads of Slack's assistant surface (and threads of the DM, which bolt routes the same way).
    assistant = AssistantThreads()
    assistant.thread_started(thread_started)
    assistant.thread_context_changed(thread_context_changed)
    assistant.user_message(assistant_message)
    app.assistant(assistant)
    app.event("message")(direct_message)
    app.event("app_mention")(mention)
    app.action(ids.LOG_OPEN)(open_log_form)
