"""Identity on arrival: link a new or changed source record now, with the rules of the batch relink.

`store.resolution.relink` links every record of the database; a live event cannot wait for that. Here
only the arriving records' neighbourhood is read: every record that shares an e-mail, a phone, a
loyalty id, a birth date or a postcode with one of them (the blocking keys of store/identity.py reach
no further, save the phonetic-name-and-birth-year key), plus every record of the customers those
belong to, so that existing customers enter whole. The same scorer and clusterer run on it
(`score_around`: the components around the new evidence only, which cluster as a full scoring would /
`cluster_scored`), with the same constraints (people's cannot/must-link
decisions, existing customers kept whole), and the clusters are reconciled as relink does: a cluster
inside one customer keeps it, new records join the customer most of their cluster has (ties: the
oldest), a cluster spanning customers merges them when it holds new evidence, a cluster of new
records only becomes a new customer, uncertain pairs go to review.

Weights: those the last batch relink learned and kept (`resolution.learned_model`: the m/u parameters and
the first-name aliases learned from the base), the hand-set ones before any relink learned them.

Term frequencies: every record sharing an identifier, a birth date or a postcode with the arrival is
in the neighbourhood, so those values are counted as relink counts them; the prior odds use the size
of the whole base (its highest record id, an index lookup), as relink's do. Name frequencies are read
from the neighbourhood, which only makes a common name count a little less than in relink.
tests/store/test_arrival.py checks that records linked one by one on arrival end up as the customers a
relink of the same records makes.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, TypeAlias

from sqlalchemy import Row, func, insert, or_, select
from sqlalchemy.orm import Session

from store.clock import utc_now
from store.identity import (
    DEFAULT_MODEL,
    DEFAULT_THRESHOLDS,
    IdentityRecord,
    PairDecision,
    PostcodeNames,
    Thresholds,
    cluster_scored,
    name_parts,
    postcode_name_keys,
    score_around,
    surname_part,
)
from store.merging import merge_customers
from store.models import Customer, LinkConstraint, MatchReview, SourceRecord
from store.normalize import fold, sound_screen
from store.resolution import learned_model
from store.survivorship import create_customers, rebuild_golden
from store.vocabulary import CustomerStatus, LinkKind, MergeReason, ReviewStatus

ACTOR = "live"
_RecordRow: TypeAlias = Row[*tuple[Any, ...]]
_COLUMNS = (SourceRecord.id, SourceRecord.customer_id, SourceRecord.first_name, SourceRecord.last_name,
            SourceRecord.email, SourceRecord.phone, SourceRecord.birth_date, SourceRecord.street,
            SourceRecord.postcode, SourceRecord.city, SourceRecord.country, SourceRecord.loyalty_id,
            SourceRecord.updated_at)


@dataclass
class Arrival:
    customer_ids: dict[int, int] = field(default_factory=dict)  # arriving record -> its customer now
    created: list[int] = field(default_factory=list)
    merged: list[int] = field(default_factory=list)  # customers absorbed
    reviews_queued: int = 0


def link_arrival(session: Session, record_ids: Sequence[int], *,
                 thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Arrival:
    """Link these (new or changed) records and rebuild the customers they touch; see the docstring."""
    session.flush()
    report = Arrival()
    seeds = list(session.execute(select(*_COLUMNS).where(SourceRecord.id.in_(list(record_ids)))))
    if not seeds:
        return report
    seed_ids = {row.id for row in seeds}
    neighbourhood, stale = _neighbourhood(session, seeds)
    rows = {row.id: row for row in neighbourhood}
    population = max(DEFAULT_MODEL.min_population, session.scalar(select(func.max(SourceRecord.id))) or 0)
    # the weights and first-name aliases the last relink learned (hand-set before any): weighed as the
    # next relink will weigh it
    model = replace(learned_model(session), min_population=population)
    records = [IdentityRecord(key=r.id, first_name=r.first_name, last_name=r.last_name, email=r.email,
                              phone=r.phone, birth_date=r.birth_date, street=r.street, postcode=r.postcode,
                              city=r.city, country=r.country, loyalty_id=r.loyalty_id) for r in rows.values()]
    keys = set(rows)
    cannot, must = _constraints(session, keys)
    anchors: dict[int, int] = {}
    for record_id in sorted(rows):  # existing customers stay whole: each record tied to its customer's first
        customer_id = rows[record_id].customer_id
        if customer_id:
            first = anchors.setdefault(customer_id, record_id)
            if first != record_id:
                must.append((first, record_id))
    # Only clusters holding new evidence (an arriving or unlinked record, a customer changed since its
    # golden record) can change anything below: score the components around those alone.
    moving = [r.id for r in rows.values() if r.id in seed_ids or not r.customer_id or r.customer_id in stale]
    scored = score_around(records, moving, thresholds=thresholds, model=model, must_link=must)
    result = cluster_scored(scored, thresholds=thresholds, cannot_link=cannot, must_link=must)

    joining: dict[int, list[int]] = {}
    fresh: list[list[int]] = []
    absorbed_into: dict[int, int] = {}
    for cluster in sorted(result.clusters, key=min):
        counts = Counter(rows[r].customer_id for r in cluster if rows[r].customer_id)
        loose = sorted(r for r in cluster if not rows[r].customer_id)
        if not counts:
            fresh.append(loose)
            continue
        target = min(counts, key=lambda c: (-counts[c], c))
        if len(counts) > 1 and (loose or any(c in stale for c in counts)):
            for other in sorted(c for c in counts if c != target):
                merge_customers(session, survivor_id=target, absorbed_id=other, actor=ACTOR,
                                reason=MergeReason.AUTO, via=ACTOR)
                absorbed_into[other] = target
        if loose:
            joining.setdefault(target, []).extend(loose)
    report.merged = sorted(absorbed_into)
    assigned = {record_id: customer_id for customer_id, records_ in joining.items() for record_id in records_}
    if fresh:
        report.created = create_customers(session, fresh)
        for customer_id, group in zip(report.created, fresh, strict=True):
            assigned.update(dict.fromkeys(group, customer_id))
    for record_id, customer_id in assigned.items():
        record = session.get(SourceRecord, record_id)
        if record is not None:
            record.customer_id = customer_id
    session.flush()
    dirty = (set(joining) | (stale & _customers_of(rows, seed_ids))) - set(absorbed_into)
    if dirty:
        rebuild_golden(session, sorted(dirty))

    def final(record_id: int) -> int:
        customer = assigned.get(record_id) or rows[record_id].customer_id or 0
        return absorbed_into.get(customer, customer)

    report.customer_ids = {record_id: final(record_id) for record_id in sorted(seed_ids)}
    report.reviews_queued = _queue_reviews(session, result.review, cannot, final)
    return report


def _neighbourhood(session: Session, seeds: Sequence[_RecordRow]) -> tuple[list[_RecordRow], set[int]]:
    """Records sharing an identifier, a birth date or a postcode with a seed (unlinked or of an active
    customer), then every record of those customers; and which of those customers are stale (a record
    changed after their golden record was built: relink's "new evidence"), read with their records."""
    conditions = []
    for column in (SourceRecord.email, SourceRecord.phone, SourceRecord.loyalty_id, SourceRecord.birth_date):
        values = sorted({getattr(row, column.key) for row in seeds} - {None, ""}, key=str)
        if values:
            conditions.append(column.in_(values))
    seed_ids = [row.id for row in seeds]
    conditions.append(SourceRecord.id.in_(seed_ids))
    live = or_(SourceRecord.customer_id.is_(None), Customer.status == CustomerStatus.ACTIVE)
    found = list(session.execute(
        select(*_COLUMNS).outerjoin(Customer, Customer.id == SourceRecord.customer_id).where(or_(*conditions), live)))
    # A postcode blocks only with names (relink's "p" and "q" keys, and a record without a first name
    # meets those of its surname's first letters): of the records at a seed's postcode, keep those that
    # share such a block with it. A big town's postcode holds thousands of records at a million
    # customers, so their names are read first (three columns, no join) and the records kept read whole.
    by_postcode: dict[str, list[_Seed]] = {}
    for row in seeds:
        if row.postcode:
            by_postcode.setdefault(row.postcode, []).append(_seed(row.first_name, row.last_name))
    if by_postcode:
        kept = _at_postcodes(session, by_postcode, {row.id for row in found})
        if kept:
            found += list(session.execute(
                select(*_COLUMNS).outerjoin(Customer, Customer.id == SourceRecord.customer_id)
                .where(SourceRecord.id.in_(kept), live)))
    customers = sorted({row.customer_id for row in found if row.customer_id})
    stale: set[int] = set()
    if customers:
        known = {row.id for row in found}
        for row in session.execute(select(*_COLUMNS, Customer.updated_at.label("built_at"))
                                   .join(Customer, Customer.id == SourceRecord.customer_id)
                                   .where(SourceRecord.customer_id.in_(customers))):
            if row.updated_at > row.built_at:
                stale.add(row.customer_id)
            if row.id not in known:
                found.append(row)
    return found, stale


# (relink's postcode blocks of the seed: identity.postcode_name_keys; the letters and sounds one of
# those blocks needs in common)
_Seed: TypeAlias = tuple[PostcodeNames, frozenset[str]]


def _seed(first_name: str | None, last_name: str | None) -> _Seed:
    first, first_sound, last, last_sound = name_parts(first_name, last_name)
    # a "q" key or the unnamed / surnameless rules need three letters of a name in common, a "p" key
    # both sounds
    quick = {first[:3], last[:3], *(("~" + first_sound, "~" + last_sound) if last_sound else ())}
    return postcode_name_keys(first_name, last_name), frozenset(quick)


def _at_postcodes(session: Session, by_postcode: dict[str, list[_Seed]], known: set[int]) -> list[int]:
    """The records at these postcodes (other than the known ones) that meet a seed of theirs (`_meet`).

    A big town's thousands of rows pass here, nearly all rejected by `_meet`'s first check: that check
    is made inline on the union of the postcode's seeds' letters and sounds (the same test: any seed's
    set holds the value), on names folded once per process. A surname's sound is the costly part (most
    surnames of a town are met once, so a cache rarely holds them): it is made only for the surnames
    holding the letters one of the seeds' sounds needs (`normalize.sound_screen`). One arrival (one
    postcode, the usual case) reads its town's rows without the postcode column. (The session has
    flushed: `_neighbourhood`'s first read went through it.)"""
    names = (SourceRecord.id, SourceRecord.first_name, SourceRecord.last_name)
    town = session.connection()  # plain rows, without the ORM's result handling: a quarter of the read's cost
    towns: Iterable[tuple[str, Iterable[Any]]]
    if len(by_postcode) == 1:
        only = next(iter(by_postcode))
        towns = [(only, town.execute(select(*names).where(SourceRecord.postcode == only)))]
    else:
        rows_at: dict[str, list[Any]] = {postcode: [] for postcode in by_postcode}
        for row in town.execute(select(SourceRecord.postcode, *names)
                                .where(SourceRecord.postcode.in_(sorted(by_postcode)))):
            rows_at[row.postcode or ""].append(row[1:])  # (the IN leaves no row without one)
        towns = rows_at.items()
    kept: list[int] = []
    for postcode, rows in towns:
        seeds = by_postcode[postcode]
        letters, sounds, may_sound = _screen(seeds)
        # the rows come by first name where the index gives them: a run of one first name is decided
        # once (in any other order the answer is the same, only made more often)
        previous_first: object = _NOT_READ
        first_met = False
        for record_id, first_name, last_name in rows:
            if first_name != previous_first:
                previous_first, first_met = first_name, _folded(first_name)[:3] in letters
            if not first_met:
                # a name of plain letters folds to its lower case (most surnames, met once: no cache)
                last = last_name.lower() if last_name and last_name.isascii() and last_name.isalpha() \
                    else _folded(last_name)
                if not (last[:3] in letters or (may_sound(last) and surname_part(last_name)[1] in sounds)):
                    continue
            if record_id not in known and _meet(first_name, last_name, seeds):
                kept.append(record_id)
    return kept


_NOT_READ = object()  # no first name read yet (None is a first name: missing)

# Names folded as name_parts folds them, without the sound and nickname work name_parts adds.
_folded = lru_cache(maxsize=1 << 17)(fold)


def _screen(seeds: list[_Seed]) -> tuple[frozenset[str], frozenset[str], Callable[[str], object]]:
    """The union of these seeds' quick sets, split into (name letters, sounds, the sounds' screen)."""
    quick = frozenset().union(*(quick for _, quick in seeds))
    sounds = frozenset(value[1:] for value in quick if value.startswith("~"))
    return frozenset(value for value in quick if not value.startswith("~")), sounds, sound_screen(sounds).match


def _meet(first_name: str | None, last_name: str | None, seeds: list[_Seed]) -> bool:
    """Whether relink's blocks at one postcode would compare this record with one of these seeds."""
    first, _, last, last_sound = name_parts(first_name, last_name)
    # that check first: it rejects nearly all of a big postcode's records before their keys are made
    if not any(first[:3] in quick or last[:3] in quick or "~" + last_sound in quick for _, quick in seeds):
        return False
    mine = postcode_name_keys(first_name, last_name)
    return any(mine.keys & seed.keys
               or (mine.surname_prefix and mine.surname_prefix == seed.surname_prefix
                   and (mine.unnamed or seed.unnamed))
               or (mine.given_prefix and mine.given_prefix == seed.given_prefix
                   and (mine.surnameless or seed.surnameless))
               for seed, _ in seeds)


def _customers_of(rows: dict[int, _RecordRow], record_ids: set[int]) -> set[int]:
    return {rows[r].customer_id for r in record_ids if r in rows and rows[r].customer_id}


def _constraints(session: Session, keys: set[int]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """People's decisions between records of the neighbourhood: (cannot_link, must_link) pairs."""
    cannot: list[tuple[int, int]] = []
    must: list[tuple[int, int]] = []
    for a, b, kind in session.execute(select(LinkConstraint.record_a_id, LinkConstraint.record_b_id,
                                             LinkConstraint.kind).where(LinkConstraint.record_a_id.in_(sorted(keys)))):
        if b in keys:
            (cannot if kind == LinkKind.CANNOT_LINK else must).append((a, b))
    return cannot, must


def _queue_reviews(session: Session, decisions: Sequence[PairDecision], cannot_link: list[tuple[int, int]],
                   final: Callable[[int], int]) -> int:
    separated = {(min(a, b), max(a, b)) for a, b in cannot_link}
    pairs: dict[tuple[int, int], PairDecision] = {}
    for decision in sorted(decisions, key=lambda d: -d.score):
        pair = (min(decision.a, decision.b), max(decision.a, decision.b))
        if pair not in separated and pair not in pairs and final(pair[0]) != final(pair[1]):
            pairs[pair] = decision
    if not pairs:
        return 0
    known = {(a, b) for a, b in session.execute(select(MatchReview.record_a_id, MatchReview.record_b_id).where(
        MatchReview.record_a_id.in_(sorted({a for a, _ in pairs})),
        MatchReview.record_b_id.in_(sorted({b for _, b in pairs}))))}
    rows = [{"record_a_id": a, "record_b_id": b, "score": round(d.score, 4), "reasons": list(d.reasons),
             "status": ReviewStatus.PENDING, "created_at": utc_now()}
            for (a, b), d in pairs.items() if (a, b) not in known]
    if rows:
        session.execute(insert(MatchReview), rows)
    return len(rows)
