"""Applying the inbox: the table of appliers and the worker threads that run them.

APPLIERS maps (source kind, event type) to the store function that applies such an event
(`apply_xxx(session, event, now) -> Applied`, store/). An event type without an applier is kept in the
inbox as `ignored` (e.g. `group`). Keep the table sorted: each feature adds its own lines.

Workers run in `frontline serve` (FRONTLINE_INGEST_WORKERS threads per process) and in
`frontline ingest work` (extra processes). Each step is one transaction (store.inbox.apply_due): the
applier's writes and the events' states commit together, so a worker killed at any moment applies
nothing twice and loses nothing. They are threads of their own, never the Slack listeners' pool: an
ingestion burst queues in the inbox, not in front of `/customer`.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from functools import partial

from bot.metrics import INGEST_APPLIED
from store import dialect, inbox
from store.clock import Clock, utc_now
from store.db import SessionFactory
from store.inbox import Appliers, GroupAppliers
from store.live import commerce, shopify, woocommerce
from store.resolution import MatchSettings, thresholds_from_settings
from store.vocabulary import SegmentType, ShopifyTopic, SourceKind, WooTopic

log = logging.getLogger(__name__)

APPLIERS: Appliers = {
    # (SourceKind, event type): applier -- sorted
    (SourceKind.SEGMENT, SegmentType.ALIAS): commerce.apply_alias,
    # store.live.identify's applier, then the anonymous browsing and consent it names (commerce)
    (SourceKind.SEGMENT, SegmentType.IDENTIFY): commerce.apply_identify,
    (SourceKind.SEGMENT, SegmentType.PAGE): commerce.apply_page,
    (SourceKind.SEGMENT, SegmentType.SCREEN): commerce.apply_page,  # a mobile app's page
    (SourceKind.SEGMENT, SegmentType.TRACK): commerce.apply_track,
    (SourceKind.SHOPIFY, ShopifyTopic.CHECKOUTS_CREATE): shopify.apply_checkout,
    (SourceKind.SHOPIFY, ShopifyTopic.CHECKOUTS_UPDATE): shopify.apply_checkout,
    (SourceKind.SHOPIFY, ShopifyTopic.CUSTOMERS_CREATE): shopify.apply_customer,
    (SourceKind.SHOPIFY, ShopifyTopic.CUSTOMERS_UPDATE): shopify.apply_customer,
    (SourceKind.SHOPIFY, ShopifyTopic.ORDERS_CANCELLED): shopify.apply_order,
    (SourceKind.SHOPIFY, ShopifyTopic.ORDERS_CREATE): shopify.apply_order,
    (SourceKind.SHOPIFY, ShopifyTopic.ORDERS_PAID): shopify.apply_order,
    (SourceKind.SHOPIFY, ShopifyTopic.ORDERS_UPDATED): shopify.apply_order,
    (SourceKind.WOOCOMMERCE, WooTopic.CUSTOMER_CREATED): woocommerce.apply_customer,
    (SourceKind.WOOCOMMERCE, WooTopic.CUSTOMER_DELETED): woocommerce.apply_customer_deleted,
    (SourceKind.WOOCOMMERCE, WooTopic.CUSTOMER_UPDATED): woocommerce.apply_customer,
    (SourceKind.WOOCOMMERCE, WooTopic.ORDER_CREATED): woocommerce.apply_order,
    (SourceKind.WOOCOMMERCE, WooTopic.ORDER_DELETED): woocommerce.apply_order_deleted,
    (SourceKind.WOOCOMMERCE, WooTopic.ORDER_UPDATED): woocommerce.apply_order,
}


# Event types a step applies several at once (store.inbox.apply_due's group appliers): a step's identifies
# are linked in one pass, its browsing (views, wishlist, searches, pages) written as sets. Each also has its
# one-at-a-time applier above (used when the group fails).
GROUP_APPLIERS: GroupAppliers = {
    (SourceKind.SEGMENT, SegmentType.IDENTIFY): commerce.apply_identifies,
    (SourceKind.SEGMENT, SegmentType.PAGE): commerce.apply_browsing,
    (SourceKind.SEGMENT, SegmentType.SCREEN): commerce.apply_browsing,
    (SourceKind.SEGMENT, SegmentType.TRACK): commerce.apply_browsing,
}


# The customers a step's people write to, locked first on PostgreSQL (store.inbox: two steps never apply two people
# of one customer at once). Only the tracking API's people are looked up; other sources' are locked per person.
PERSON_CUSTOMERS: inbox.PersonCustomers = commerce.customers_of


# Appliers that link a person's record on arrival (store.arrival): they take the identity thresholds.
LINKING_APPLIERS = frozenset({
    commerce.apply_identify, shopify.apply_checkout, shopify.apply_customer, shopify.apply_order,
    woocommerce.apply_customer, woocommerce.apply_order,
})


def appliers_for(settings: MatchSettings) -> Appliers:
    """APPLIERS with identity on arrival at the operator's FRONTLINE_MATCH_MERGE / _REVIEW, the thresholds
    the batch relink reads: a record linked on arrival must become what a relink would make of it,
    whichever source brought it (the tracking API, Shopify, WooCommerce)."""
    thresholds = thresholds_from_settings(settings)
    return {key: partial(applier, thresholds=thresholds) if applier in LINKING_APPLIERS else applier
            for key, applier in APPLIERS.items()}


def group_appliers_for(settings: MatchSettings) -> GroupAppliers:
    """GROUP_APPLIERS at the operator's FRONTLINE_MATCH_* (see appliers_for)."""
    thresholds = thresholds_from_settings(settings)
    return {**GROUP_APPLIERS, (SourceKind.SEGMENT, SegmentType.IDENTIFY): partial(commerce.apply_identifies,
                                                                                  thresholds=thresholds)}


# An idle worker polls the inbox again after IDLE_WAIT_SECONDS, then twice as long after each poll that found
# nothing, up to IDLE_WAIT_MAX_SECONDS. Events this process stores wake its workers at once (`wake()`), and a
# step that found work starts the waits over: the backoff only delays events another process stored while this
# one's workers sleep (the tracking API in another process, `frontline ingest work` beside `frontline serve`),
# or a waiting event coming due (its own retry delay is 5 s at least). The first wait is short because events
# come in streams: a worker that has just caught up with a sender's batches finds the next ones a few tens of
# milliseconds later (a 0.5 s first wait was up to half a second of every such event's 2xx -> applied, bench/
# README.md, branch ingestsqlite); a server left idle still polls every 2 s after six empty polls. (Polling twice
# a second for ever cost every idle server a read per worker each half second, on PostgreSQL BEGIN, SELECT,
# ROLLBACK: a visible share of each `/customer` lookup's CPU at ten a second, branch lookupapp.)
IDLE_WAIT_SECONDS = 0.05
IDLE_WAIT_MAX_SECONDS = 2.0
ERROR_WAIT_SECONDS = 2.0  # after a step failed (database unreachable...)
# Events claimed per step (one transaction). The step's fixed work (the claim, the order barriers, each group's
# reads, the states' update, the commit) is shared by all of them; the time budget below still bounds a step.
# On SQLite the budget (STEP_SECONDS) cuts a loaded machine's steps well before 100 events, and what was claimed
# beyond it was read and parsed for nothing: it keeps the smaller claim.
BATCH = 250
BATCH_SQLITE = 100
# A step stops applying after this long and commits: on SQLite it holds the one write lock meanwhile, and a
# Slack request (every card view is audited) must not wait long behind it.
STEP_SECONDS = 0.25
# On PostgreSQL a step locks only the rows it claimed: a longer step shares its fixed reads (claim, order
# barriers, wake) and its identify group among more events; the bound keeps each event's 2xx -> applied short.
# (Measured loaded, steps cut to 2-10 events by the SQLite budget spent a third of their time on those reads.)
STEP_SECONDS_POSTGRESQL = 1.0
# On SQLite an identify group is applied once it holds this many events: the budget is checked between groups,
# and a step's 100 identifies linked in one pass at 1M customers held the write lock for seconds (cards then
# failed with "database is locked" while ingesting). Browsing groups cost a bounded, small amount per event:
# gathered whole, their fixed reads (records, recent visits, signals) are shared by the step's whole batch.
# PostgreSQL groups are bounded by the batch alone.
GROUP_MAX_SQLITE: dict[tuple[str, str], int] = {(SourceKind.SEGMENT, SegmentType.IDENTIFY): 16}
# On SQLite a worker takes the database's write turn for each step (store.write_turn): writers waiting for it
# (a card's audit row, the tracking API's inbox INSERT) go first, between two steps, but a stream of them holds a
# worker back this long at most before its next step (each such write lasts milliseconds).
MAX_YIELD_SQLITE = 1.0


class InboxWorkers:
    """`count` threads applying the inbox until `stop()`. `wake()` ends their idle wait at once (the HTTP
    routes of this process call it after storing events); otherwise an idle worker polls less and less often
    (IDLE_WAIT_SECONDS doubling up to IDLE_WAIT_MAX_SECONDS)."""

    def __init__(self, session_factory: SessionFactory, *, count: int, appliers: Appliers | None = None,
                 clock: Clock = utc_now, batch: int = BATCH,
                 on_step: Callable[[inbox.WorkReport], None] | None = None,
                 group_appliers: GroupAppliers | None = None,
                 person_customers: inbox.PersonCustomers | None = PERSON_CUSTOMERS) -> None:
        """`appliers` given alone: those, one event at a time (tests' own); neither: APPLIERS and GROUP_APPLIERS."""
        self.session_factory = session_factory
        self.count = count
        self.appliers = APPLIERS if appliers is None else appliers
        self.group_appliers = (group_appliers if group_appliers is not None
                               else GROUP_APPLIERS if appliers is None else {})
        self.clock = clock
        self.person_customers = person_customers
        self.batch = batch
        self.on_step = on_step
        self._stop = threading.Event()
        self._work = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> InboxWorkers:
        for number in range(self.count):
            thread = threading.Thread(target=self._run, name=f"inbox-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def wake(self) -> None:
        self._work.set()

    def is_alive(self) -> bool:
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float = 10.0) -> None:
        """Let each thread finish its step (a committed transaction, or none), then return."""
        self._stop.set()
        self._work.set()
        for thread in self._threads:
            thread.join(timeout)

    def step(self) -> inbox.WorkReport:
        """One transaction: claim, apply, record; none at all when nothing is due (a read says so first, without
        the write lock or, on SQLite, the write turn: the waiting writers go on). On SQLite the transaction holds
        the write turn of the database's workers (store.write_turn.SqliteWriteTurn.applying): one step at a time,
        each after the writers that were waiting for the turn. Then, rarely (PostgreSQL), a second transaction:
        the wake-up of people another step was applying meanwhile (store.inbox.apply_due). A kill -9 between the
        two only delays those people's waiting events to their next retry."""
        with self.session_factory() as session:
            due = inbox.has_due(session, self.clock())
        report = inbox.WorkReport()
        if due:
            turn = self.session_factory.write_turn()
            with (turn.applying(MAX_YIELD_SQLITE) if turn is not None else contextlib.nullcontext(),
                  self.session_factory.begin() as session):
                on_sqlite = dialect.is_sqlite(session)
                report = inbox.apply_due(session, self.appliers, self.clock(),
                                         limit=min(self.batch, BATCH_SQLITE) if on_sqlite else self.batch,
                                         max_seconds=STEP_SECONDS if on_sqlite else STEP_SECONDS_POSTGRESQL,
                                         clock=self.clock, group_appliers=self.group_appliers,
                                         max_group=GROUP_MAX_SQLITE if on_sqlite else None,
                                         person_customers=self.person_customers)
        if report.wake_later:  # people another step was applying: woken once this step's writes are visible
            with self.session_factory.begin() as session:
                inbox.wake(session, report.wake_later, self.clock())
        for state, count in report.counts.items():
            INGEST_APPLIED.labels(state).inc(count)
        if self.on_step is not None:
            self.on_step(report)
        return report

    def _run(self) -> None:
        idle_wait = IDLE_WAIT_SECONDS
        while not self._stop.is_set():
            self._work.clear()  # before the step: events stored during it wake the next wait at once
            try:
                report = self.step()
            except Exception as error:  # the database went away, a lock timed out: try again shortly
                log.error("inbox worker step failed: %s", type(error).__name__)
                self._stop.wait(ERROR_WAIT_SECONDS)
                continue
            # Work found, or this process stored events meanwhile (woken): the next wait is short again.
            if report.claimed or self._work.wait(idle_wait):
                idle_wait = IDLE_WAIT_SECONDS
            else:
                idle_wait = min(2 * idle_wait, IDLE_WAIT_MAX_SECONDS)
