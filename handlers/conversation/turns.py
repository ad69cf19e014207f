"""One turn of a conversation: what the employee said, the thread's memory -> the answer, the new memory.

Every answer comes from the same domain functions as the slash commands (store.search, store.profile,
store.followups, store.digest through handlers.digest, store.kpi), with the same rules: a customer's data
is built by build_profile (consent decides what web activity shows) and every view of it is audited,
like the card. Delivery (DM, assistant thread, ephemeral in a channel) is the listener's business.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from handlers.context import Clock, ListenerSettings, Requester, SessionFactory
from handlers.conversation import blocks
from handlers.conversation.phrases import CUSTOMER_TOPICS, Intent, Parsed, parse
from handlers.digest.commands import overview
from handlers.followups.blocks import follow_up_message
from handlers.i18n import t
from handlers.kpi.blocks import kpi_message
from handlers.profile.blocks import fallback_text, profile_blocks
from store import audit
from store.clock import local_day, local_today
from store.conversations import Draft, Memory, ThreadKey, recall, remember
from store.errors import Refused
from store.followups import open_follow_ups
from store.kpi import kpi_report
from store.kpi_query import KpiQueryError, parse_kpi_query
from store.profile import CustomerProfile, ProfileUnavailable, build_profile
from store.search import find_customers
from store.vocabulary import AuditAction

log = logging.getLogger(__name__)

VIA = "slack:conversation"
Status = Callable[[], None]  # "looking it up…", shown while a search runs (assistant threads)


def _no_status() -> None:
    return None


def answer_turn(text: str | None, *, employee: Requester, key: ThreadKey, session_factory: SessionFactory,
                settings: ListenerSettings, clock: Clock, status: Status = _no_status) -> dict[str, Any]:
    """The message answering `text` in the thread `key` (whose memory is read and updated)."""
    turn = _Turn(employee, session_factory, settings, clock, status)
    locale = employee.locale
    try:
        with session_factory() as session:
            memory = recall(session, key, now=clock())
        message, new_memory = turn.answer(parse(text), memory)
        if new_memory.worth_keeping(memory, now=clock()):
            with session_factory.begin() as session:
                remember(session, key, new_memory, now=clock())
    except Refused as refused:  # the domain said no (a KPI scope not theirs, ...): its reason, to them only
        return blocks.plain_message(t(refused.key, locale, **refused.params))
    except SQLAlchemyError:
        log.exception("a conversation turn failed on the database")
        return blocks.plain_message(t("common.db_unavailable", locale))
    return message


Answer = tuple[dict[str, Any], Memory]


@dataclass(frozen=True)
class _Turn:
    employee: Requester
    session_factory: SessionFactory
    settings: ListenerSettings
    clock: Clock
    status: Status

    @property
    def locale(self) -> str:
        return self.employee.locale

    def say(self, key: str, **params: Any) -> dict[str, Any]:
        return blocks.plain_message(t(key, self.locale, **params))

    def answer(self, parsed: Parsed, memory: Memory) -> Answer:
        intent = parsed.intent
        if intent == Intent.HELP:
            return blocks.help_message(self.locale), memory
        if intent == Intent.THANKS:
            return self.say("conversation.thanks"), memory
        if intent == Intent.FOLLOWUPS:
            return self.follow_ups(), memory
        if intent == Intent.DIGEST:
            return overview(self.session_factory, self.employee.id, self.locale, self.settings, self.clock()), memory
        if intent in (Intent.TEAM_WEEK, Intent.MY_WEEK):
            return self.figures("team week" if intent == Intent.TEAM_WEEK else "me week"), memory
        if intent == Intent.CHOOSE:
            return self.choose(parsed.index or 0, memory)
        if intent == Intent.LOOKUP:
            return self.lookup(parsed.query or "", memory, Intent.CARD)
        if intent in CUSTOMER_TOPICS and parsed.query:  # "orders of Dupont"
            return self.lookup(parsed.query, memory, intent)
        if memory.customer_id is None:  # a topic or a log about nobody yet
            return self.say("conversation.pick_hint" if memory.candidates else "conversation.no_customer"), memory
        if intent == Intent.LOG:
            return self.log(parsed, memory, memory.customer_id)
        return self.topic(intent, memory.customer_id, memory)

    def follow_ups(self) -> dict[str, Any]:
        today = local_today(self.clock(), self.employee.timezone)
        with self.session_factory() as session:
            items = open_follow_ups(session, self.employee.id, today=today)
        text, message = follow_up_message(items, today, self.locale)
        return {"text": text, "blocks": message}

    def figures(self, words: str) -> dict[str, Any]:
        """"my team this week" is `/kpi team week`, with its permissions (an associate is refused)."""
        now = self.clock()
        try:
            query = parse_kpi_query(words, today=local_day(now, ZoneInfo(self.employee.timezone)))
        except KpiQueryError as error:  # not for these fixed words; said plainly if it ever happens
            return self.say(error.key, **error.params)
        with self.session_factory() as session:
            report = kpi_report(session, self.employee, query, now=now)
        return kpi_message(report, self.locale, chart_sent=False)

    def lookup(self, query: str, memory: Memory, show: Intent) -> Answer:
        self.status()
        with self.session_factory() as session:
            result = find_customers(session, query, limit=5)
        if result.exact and result.best is not None:
            return self.topic(show, result.best.customer_id, memory)
        if result.candidates:
            # Who is discussed is no longer sure: the next "orders?" waits for a choice.
            return (blocks.candidates_message(result, self.locale),
                    Memory(candidates=tuple(c.customer_id for c in result.candidates[:5])))
        return blocks.candidates_message(result, self.locale), memory

    def choose(self, index: int, memory: Memory) -> Answer:
        if not memory.candidates:
            return self.say("conversation.nothing_to_pick"), memory
        count = len(memory.candidates)
        index = count if index == -1 else index
        if not 1 <= index <= count:
            return self.say("conversation.bad_pick", count=count), memory
        return self.topic(Intent.CARD, memory.candidates[index - 1], memory)

    def topic(self, intent: Intent, customer_id: int, memory: Memory) -> Answer:
        """The card, or one part of it; the thread then discusses that customer."""
        profile = self.viewed_profile(customer_id)
        if profile is None:
            return self.say("profile.unavailable"), Memory()
        locale, timezone = self.locale, self.employee.timezone
        if intent == Intent.ORDERS:
            message = blocks.orders_message(profile, locale, timezone)
        elif intent == Intent.CONTACTS:
            message = blocks.contacts_message(profile, locale, timezone)
        elif intent == Intent.SIZES:
            message = blocks.sizes_message(profile, locale)
        elif intent == Intent.BASKET:
            message = blocks.basket_message(profile, locale)
        else:
            message = {"text": fallback_text(profile, locale),
                       "blocks": profile_blocks(profile, locale, timezone,
                                                shareable=bool(self.settings.share_channels))}
        return message, Memory(customer_id=profile.customer_id, candidates=memory.candidates)

    def viewed_profile(self, customer_id: int) -> CustomerProfile | None:
        """build_profile, then the audit row of the view in its own short write (as the card does)."""
        try:
            with self.session_factory() as session:
                profile = build_profile(session, customer_id, viewer=self.employee, clock=self.clock)
        except ProfileUnavailable:
            return None
        with self.session_factory.begin() as session:
            audit.record(session, employee_id=self.employee.id, actor=self.employee.slack_user_id,
                         action=AuditAction.VIEW, customer_id=profile.customer_id, via=VIA, at=self.clock())
        return profile

    def log(self, parsed: Parsed, memory: Memory, customer_id: int) -> Answer:
        """A draft and the button that opens the log form filled with it (Slack opens forms on a click)."""
        profile = self.viewed_profile(customer_id)
        if profile is None:
            return self.say("profile.unavailable"), Memory()
        draft = Draft(customer_id=profile.customer_id, channel=parsed.channel, type=parsed.type, note=parsed.note)
        return (blocks.log_draft_message(draft, profile.display_name, self.locale),
                Memory(customer_id=profile.customer_id, candidates=memory.candidates, draft=draft))
