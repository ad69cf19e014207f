"""Relink: turn source records into customers with stable ids (README, "Identity resolution").

1. Stream the identity columns of every source record (not ORM objects) into the linker, with
   people's decisions (LinkConstraint) and the existing customers as must_link groups: a customer is
   never split by relink, only by an unmerge, so ids, interactions and history stay put.
2. Reconcile the clusters: a cluster inside one customer keeps it; records without a customer join
   the customer most of their cluster has, or a new one; a cluster spanning several customers is an
   automatic merge into the one holding most records (ties: the oldest id).
3. Uncertain pairs become pending MatchReview rows (a pair already reviewed is never asked again).
4. Golden records are rebuilt only for customers whose records moved or changed since their last
   build (a source record updated after its customer's updated_at).
"""
from __future__ import annotations

import gc
import time
from array import array
from bisect import bisect_left
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from store import dialect
from store.clock import utc_now
from store.identity import (
    DEFAULT_THRESHOLDS,
    IdentityRecord,
    PairDecision,
    Thresholds,
    DEFAULT_MODEL,
    EM_MIN_RECORDS,
    MatchModel,
    cluster_scored,
    evidence_as_json,
    model_as_json,
    model_from_json,
    score_learned,
)
from store.merging import merge_customers
from store.models import Customer, LearnedMatchModel, LinkConstraint, MatchReview, SourceRecord
from store.survivorship import (CustomerRows, build_customers, create_customers, customer_rows, read_records,
                                rebuild_golden, store_ids_by_code, write_customer_rows)
from store.vocabulary import CustomerStatus, LinkKind, MergeReason, ReviewStatus

Progress = Callable[[str, int, int], None]  # (stage, done, total)
STREAM_CHUNK = 20_000
WRITE_CHUNK = 5_000
SQLITE_CACHE_KIB = 256 * 1024  # the page cache, on SQLite, while relink runs

_IDENTITY_COLUMNS = (SourceRecord.id, SourceRecord.customer_id, SourceRecord.first_name, SourceRecord.last_name,
                     SourceRecord.email, SourceRecord.phone, SourceRecord.birth_date, SourceRecord.street,
                     SourceRecord.postcode, SourceRecord.city, SourceRecord.country, SourceRecord.loyalty_id)


@dataclass
class RelinkReport:
    records: int = 0
    clusters: int = 0
    customers_created: int = 0
    customers_merged: int = 0  # customers absorbed by automatic merges
    merge_event_ids: list[int] = field(default_factory=list)
    records_assigned: int = 0  # records that got a customer (new records)
    reviews_queued: int = 0
    reviews_superseded: int = 0  # pending reviews whose two records now share a customer
    customers_rebuilt: int = 0  # existing customers whose golden record was rebuilt
    customers_unchanged: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.records:,} records in {self.clusters:,} clusters: {self.customers_created:,} customers "
                f"created, {self.customers_merged:,} merged, {self.customers_rebuilt:,} updated, "
                f"{self.customers_unchanged:,} unchanged; {self.reviews_queued:,} matches queued for review "
                f"({self.seconds:.1f}s)")


class MatchSettings(Protocol):
    """The settings the linker reads (bot.config.Settings has them; store never imports bot)."""

    @property
    def match_merge_threshold(self) -> float | None: ...

    @property
    def match_review_threshold(self) -> float | None: ...

    @property
    def match_best_candidate(self) -> float | None: ...


def thresholds_from_settings(settings: MatchSettings) -> Thresholds:
    """Engine defaults overridden by FRONTLINE_MATCH_MERGE / FRONTLINE_MATCH_REVIEW /
    FRONTLINE_MATCH_BEST_CANDIDATE (0 turns the best-candidate question off)."""
    merge = settings.match_merge_threshold
    review = settings.match_review_threshold
    best = settings.match_best_candidate
    thresholds = replace(DEFAULT_THRESHOLDS,
                         merge=DEFAULT_THRESHOLDS.merge if merge is None else merge,
                         review=DEFAULT_THRESHOLDS.review if review is None else review,
                         best_candidate=DEFAULT_THRESHOLDS.best_candidate if best is None else best)
    if not 0 < thresholds.review <= thresholds.merge <= 1:
        raise ValueError("match thresholds need 0 < FRONTLINE_MATCH_REVIEW <= FRONTLINE_MATCH_MERGE <= 1")
    if not 0 <= thresholds.best_candidate < thresholds.review:
        raise ValueError("FRONTLINE_MATCH_BEST_CANDIDATE needs 0 <= it < FRONTLINE_MATCH_REVIEW (0: off)")
    return thresholds


class _Membership:
    """Record id -> customer id (0: none) in two parallel arrays sorted by record id: 16 bytes a record."""

    def __init__(self) -> None:
        self.record_ids = array("q")
        self.customer_ids = array("q")

    def add(self, record_id: int, customer_id: int | None) -> None:
        self.record_ids.append(record_id)
        self.customer_ids.append(customer_id or 0)

    def customer_of(self, record_id: int) -> int:
        return self.customer_ids[bisect_left(self.record_ids, record_id)]

    def star_pairs(self) -> Iterator[tuple[int, int]]:
        """Each customer's records tied to its first record: keeps existing customers whole."""
        anchor: dict[int, int] = {}
        for record_id, customer_id in zip(self.record_ids, self.customer_ids, strict=True):
            if customer_id:
                first = anchor.setdefault(customer_id, record_id)
                if first != record_id:
                    yield first, record_id


class _PairSource:
    """A re-iterable collection of pairs, generated on demand instead of held in memory."""

    def __init__(self, fixed: list[tuple[int, int]], membership: _Membership) -> None:
        self.fixed, self.membership = fixed, membership

    def __iter__(self) -> Iterator[tuple[int, int]]:
        yield from self.fixed
        yield from self.membership.star_pairs()

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, pair: object) -> bool:
        return any(p == pair for p in self)


def _stream_records(session: Session, membership: _Membership, tell: Progress) -> Iterator[IdentityRecord]:
    # Records of merged or erased customers are history, not identities to link.
    total = session.scalar(select(func.count()).select_from(SourceRecord)) or 0  # for the progress bar only
    statement = (select(*_IDENTITY_COLUMNS).outerjoin(Customer, Customer.id == SourceRecord.customer_id)
                 .where(or_(SourceRecord.customer_id.is_(None), Customer.status == CustomerStatus.ACTIVE))
                 .order_by(SourceRecord.id).execution_options(yield_per=STREAM_CHUNK))
    for row in session.execute(statement):
        membership.add(row.id, row.customer_id)
        if len(membership.record_ids) % STREAM_CHUNK == 0:
            tell("read", len(membership.record_ids), max(total, len(membership.record_ids)))
        yield IdentityRecord(key=row.id, first_name=row.first_name, last_name=row.last_name, email=row.email,
                             phone=row.phone, birth_date=row.birth_date, street=row.street, postcode=row.postcode,
                             city=row.city, country=row.country, loyalty_id=row.loyalty_id)


def _constraints(session: Session, kind: LinkKind) -> list[tuple[int, int]]:
    return [(a, b) for a, b in session.execute(
        select(LinkConstraint.record_a_id, LinkConstraint.record_b_id).where(LinkConstraint.kind == kind))]


LEARN_FROM = EM_MIN_RECORDS  # a relink of fewer records keeps the hand-set parameters


def learned_model(session: Session) -> MatchModel:
    """The parameters the last batch relink learned (the hand-set ones before any): what a record
    linked on arrival must be weighed with for the next relink to agree with it."""
    parameters = session.scalars(select(LearnedMatchModel.parameters)
                                 .order_by(LearnedMatchModel.id.desc()).limit(1)).first()
    return model_from_json(parameters) if parameters is not None else DEFAULT_MODEL


def relink(session: Session, *, thresholds: Thresholds | None = None, actor: str = "import",
           progress: Progress | None = None, via: str = "import", reconsider: bool = False) -> RelinkReport:
    """Link every source record to a customer; see the module docstring.

    Existing customers are merged automatically only on new evidence (a new record in their cluster,
    or one of their records changed since their golden record was built): an operator re-running
    relink on unchanged data must see no merge at all, whatever changed in the engine's inputs' order
    (the clustering itself is order independent: tests/test_identity_determinism.py).
    `reconsider=True` lets any cluster merge customers (after changing thresholds, for instance).
    `progress(stage, done, total)` is called as stages advance.
    """
    with _sqlite_page_cache(session, SQLITE_CACHE_KIB), _no_cycle_collection():
        return _relink(session, thresholds=thresholds or DEFAULT_THRESHOLDS, actor=actor,
                       tell=progress or (lambda stage, done, total: None), via=via, reconsider=reconsider)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """No cyclic garbage collection while relink runs; collection resumes when it ends.

    Relink holds millions of objects for its whole run (the engine's records and pairs, the clusters),
    and its writing stages allocate, chunk after chunk, records read back, golden records, rows and keys:
    each full collection walked all of that again, about a sixth of a relink's CPU at 200,000 records
    (bench/relink_stages.py), for nothing: what relink allocates is freed by reference counting (peak
    RSS unchanged without the collector). The few cycles a statement's execution leaves wait for the end.
    Relink runs in a CLI process (`frontline relink`, `frontline import`): no other thread to starve."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@contextmanager
def _sqlite_page_cache(session: Session, kib: int) -> Iterator[None]:
    """A bigger SQLite page cache while relink writes: its inserts land all over big indexes (name keys,
    identifiers), and with SQLite's default 2 MB nearly each one read its page again."""
    connection = session.connection()
    if not dialect.is_sqlite(connection):
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _relink(session: Session, *, thresholds: Thresholds, actor: str, tell: Progress, via: str,
            reconsider: bool) -> RelinkReport:
    started = time.monotonic()
    report = RelinkReport()
    session.flush()

    membership = _Membership()
    # the weights are learned on the whole base (hand-set below EM_MIN_RECORDS) and kept for arrivals
    scored, found = score_learned(_stream_records(session, membership, tell), thresholds=thresholds,
                                  min_records=LEARN_FROM, progress=tell)
    if found is not None:
        session.add(LearnedMatchModel(records=found.records, parameters=model_as_json(scored.model),
                                      estimated_at=utc_now()))
    report.records = len(membership.record_ids)
    tell("link", report.records, report.records)
    cannot_link = _constraints(session, LinkKind.CANNOT_LINK)
    tell("cluster", 0, report.records)
    result = cluster_scored(scored, thresholds=thresholds, cannot_link=cannot_link,
                            must_link=_PairSource(_constraints(session, LinkKind.MUST_LINK), membership),
                            explain_links=False)
    tell("cluster", report.records, report.records)
    del scored
    result.links.clear()  # relink keeps clusters and reviews; at 10M records the links are ~1 GB
    report.clusters = len(result.clusters)

    tell("reconcile", 0, report.clusters)
    stale = _stale_customers(session)
    merges: list[tuple[int, list[int]]] = []
    joining: dict[int, list[int]] = {}  # existing customer -> records joining it
    fresh: list[list[int]] = []  # clusters needing a new customer
    for cluster in result.clusters:
        counts = Counter(c for c in map(membership.customer_of, cluster) if c)
        loose = [r for r in cluster if not membership.customer_of(r)]
        if not counts:
            fresh.append(loose)
            continue
        target = min(counts, key=lambda c: (-counts[c], c))
        if len(counts) > 1 and (reconsider or loose or any(c in stale for c in counts)):
            merges.append((target, sorted(c for c in counts if c != target)))
        if loose:
            joining.setdefault(target, []).extend(loose)
    del result.clusters

    absorbed_into: dict[int, int] = {}
    for done, (target, others) in enumerate(merges, 1):
        for other in others:
            event = merge_customers(session, survivor_id=target, absorbed_id=other, actor=actor,
                                    reason=MergeReason.AUTO, via=via)
            report.merge_event_ids.append(event.id)
            absorbed_into[other] = target
        tell("merge", done, len(merges))
    report.customers_merged = len(absorbed_into)

    assigned: dict[int, int] = {}
    for customer_id, records in joining.items():
        for record_id in records:
            assigned[record_id] = customer_id
    created = _create_customers(session, fresh, assigned, tell)
    report.customers_created = len(created)
    _assign(session, assigned, tell)
    report.records_assigned = len(assigned)

    dirty = (set(joining) | stale) - set(absorbed_into)
    to_build = sorted(dirty)
    tell("golden", 0, len(to_build))
    for start in range(0, len(to_build), WRITE_CHUNK):
        rebuild_golden(session, to_build[start:start + WRITE_CHUNK])
        tell("golden", min(start + WRITE_CHUNK, len(to_build)), len(to_build))
    report.customers_rebuilt = len(dirty - set(created))

    def final_customer(record_id: int) -> int:
        customer = assigned.get(record_id) or membership.customer_of(record_id)
        return absorbed_into.get(customer, customer)

    tell("reviews", 0, len(result.review))
    report.reviews_queued = _queue_reviews(session, result.review, cannot_link, final_customer)
    report.reviews_superseded = _supersede_reviews(session)
    tell("reviews", len(result.review), len(result.review))
    active = session.scalar(select(func.count()).select_from(Customer).where(Customer.status == CustomerStatus.ACTIVE)) or 0
    touched = dirty | set(created) | {target for target, _ in merges}
    report.customers_unchanged = active - len(touched)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _stale_customers(session: Session) -> set[int]:
    """Customers with a source record changed after their golden record was last built."""
    return set(session.scalars(
        select(SourceRecord.customer_id).join(Customer, Customer.id == SourceRecord.customer_id)
        .where(Customer.status == CustomerStatus.ACTIVE, SourceRecord.updated_at > Customer.updated_at).distinct()))


def _create_customers(session: Session, clusters: list[list[int]], assigned: dict[int, int],
                      tell: Progress) -> list[int]:
    """One new customer per cluster, WRITE_CHUNK clusters at a time.

    PostgreSQL: while a writing thread COPYs one chunk (the server's COPY and name-key triggers, most of this
    stage's time, waited for outside the GIL), this thread builds the next chunk's golden records and rows, so
    the client's and the server's work overlap on two cores instead of taking turns; the writing thread does
    no Python work beyond the COPY. Only one thread uses the connection at a time: a chunk's records are read
    and its ids reserved before the previous chunk's write starts. SQLite writes in this process:
    nothing to overlap, one chunk after the other."""
    created: list[int] = []
    chunks = [clusters[start:start + WRITE_CHUNK] for start in range(0, len(clusters), WRITE_CHUNK)]
    tell("create", 0, len(clusters))
    done = 0

    def record(chunk: list[list[int]], ids: list[int]) -> None:
        nonlocal done
        for customer_id, records in zip(ids, chunk, strict=True):  # one new customer per cluster
            for record_id in records:
                assigned[record_id] = customer_id
        created.extend(ids)
        done += len(chunk)
        tell("create", done, len(clusters))

    if not dialect.is_postgresql(session.connection()):
        for chunk in chunks:
            record(chunk, create_customers(session, chunk))
        return created
    stores = store_ids_by_code(session)
    connection = session.connection()
    last_chunk: list[list[int]] = []  # made, not yet written
    last_rows: CustomerRows | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="relink-write") as writer:
        for chunk in chunks:
            # the connection is free (the last write has ended): this chunk's records and ids
            by_id = read_records(session, chunk)
            ids = dialect.reserve_ids(connection, "customers", len(chunk))
            written = last_rows
            write = writer.submit(write_customer_rows, connection, written) if written is not None else None
            rows = customer_rows(connection, build_customers(by_id, chunk, stores), ids)
            if write is not None and written is not None:
                write.result()
                record(last_chunk, written.ids)
            last_chunk, last_rows = chunk, rows
    if last_rows is not None:
        write_customer_rows(connection, last_rows)
        record(last_chunk, last_rows.ids)
    return created


def _assign(session: Session, assigned: dict[int, int], tell: Progress) -> None:
    connection = session.connection()
    postgresql = dialect.is_postgresql(connection)
    # updated_at is kept: it means "the source changed this record", which a new link is not.
    # PostgreSQL: one statement per chunk (an executemany is one server round of parse/plan/execute per
    # row). SQLite: the driver's executemany over tuples (SQLAlchemy's per-row parameter handling cost
    # as much as SQLite's update); no column has an onupdate default when written this way.
    records = sorted(assigned)  # (record, customer) pairs made a chunk at a time, not all at once
    tell("assign", 0, len(records))
    for start in range(0, len(records), WRITE_CHUNK):
        chunk = records[start:start + WRITE_CHUNK]
        if postgresql:
            connection.execute(_ASSIGN_POSTGRESQL, {"records": chunk, "customers": [assigned[r] for r in chunk]})
        else:
            connection.exec_driver_sql("UPDATE source_records SET customer_id = ? WHERE id = ?",
                                       [(assigned[r], r) for r in chunk])
        tell("assign", start + len(chunk), len(records))


_ASSIGN_POSTGRESQL = text("UPDATE source_records AS r SET customer_id = v.customer_id "
                          "FROM unnest(CAST(:records AS integer[]), CAST(:customers AS integer[])) "
                          "AS v(record_id, customer_id) WHERE r.id = v.record_id")


def _queue_reviews(session: Session, decisions: Sequence[PairDecision], cannot_link: Sequence[tuple[int, int]],
                   final_customer: Callable[[int], int]) -> int:
    if not decisions:
        return 0
    separated = {(min(a, b), max(a, b)) for a, b in cannot_link}
    known = {(a, b) for a, b in session.execute(select(MatchReview.record_a_id, MatchReview.record_b_id))}
    rows: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for decision in sorted(decisions, key=lambda d: -d.score):
        pair = (min(decision.a, decision.b), max(decision.a, decision.b))
        if pair in known or pair in separated or pair in seen:
            continue
        if final_customer(pair[0]) == final_customer(pair[1]):
            continue
        seen.add(pair)
        rows.append({"record_a_id": pair[0], "record_b_id": pair[1], "score": round(decision.score, 4),
                     "reasons": list(decision.reasons),
                     "evidence": evidence_as_json(decision.evidence), "status": ReviewStatus.PENDING, "created_at": utc_now()})
    for start in range(0, len(rows), WRITE_CHUNK):
        session.execute(insert(MatchReview), rows[start:start + WRITE_CHUNK])
    return len(rows)


def _supersede_reviews(session: Session) -> int:
    record_a, record_b = aliased(SourceRecord), aliased(SourceRecord)
    ids = list(session.scalars(
        select(MatchReview.id)
        .join(record_a, record_a.id == MatchReview.record_a_id)
        .join(record_b, record_b.id == MatchReview.record_b_id)
        .where(MatchReview.status == ReviewStatus.PENDING, record_a.customer_id == record_b.customer_id)))
    if ids:
        session.execute(update(MatchReview).where(MatchReview.id.in_(ids))
                        .values(status=ReviewStatus.SUPERSEDED, decided_at=utc_now(), decided_by="relink"))
    return len(ids)


__all__ = ["RelinkReport", "learned_model", "relink", "thresholds_from_settings"]
