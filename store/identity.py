"""Identity resolution: which source records (web shop, POS/loyalty, CRM) are the same customer.

Pure Python, no database. The import pipeline turns rows into IdentityRecord, calls link_records and
stores the clusters; admins' decisions come back as cannot_link / must_link pairs.

Method
1. Normalise (store.normalize): folded names, E.164 phones, lowercase e-mails, compact postcodes.
2. Blocking: each record gets a handful of keys (e-mail, phone, loyalty id, phonetic name + birth
   year, phonetic name + postcode, birth date + initials, postcode + name prefix). Only records
   sharing a key are compared, so cost grows with records x block size, never records squared.
   Identifier blocks bigger than `max_block_size` are junk values (a shop's placeholder e-mail) and
   are ignored; oversized name blocks are compared with a sliding window over name order instead.
3. Scoring: evidence weights (log-odds) summed and squashed to 0..1. Same e-mail / phone / loyalty
   id is a deterministic link unless names or birth dates clearly conflict (a family e-mail,
   a household phone); then it only counts as weak household evidence.
4. Clustering: union-find over confident edges by descending score, ties in record-key order (never
   arrival or hash order: the same records give the same customers on every run). A union is
   refused when it would put a cannot_link pair together, or two records whose first names or birth
   dates clearly conflict (this stops chains like Marie -> "Dupont, no first name" -> Jean through a
   family e-mail).
"""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.fuzz import token_set_ratio

from store.normalize import (
    fold,
    nickname_roots,
    normalise_email,
    normalise_phone,
    normalise_postcode,
    phonetic_key,
)

__all__ = [
    "IdentityRecord",
    "Thresholds",
    "DEFAULT_THRESHOLDS",
    "PairDecision",
    "LinkStats",
    "LinkResult",
    "link_records",
    "ScoredPairs",
    "score_candidates",
    "cluster_scored",
]


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    key: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: datetime.date | None
    street: str | None
    postcode: str | None
    city: str | None
    country: str | None
    loyalty_id: str | None


@dataclass(frozen=True)
class Thresholds:
    """Score cut-offs (0..1) and blocking knobs.

    Defaults chosen from the sweep in bench/README.md (100,000 synthetic people, 171k records):
    merge=0.80 gives pairwise precision 0.990 / recall 0.959 (F1 0.974); merge=0.90 gives
    0.993 / 0.951; merge=0.95 gives 0.994 / 0.938. `review` only decides which non-merged pairs an
    admin sees (0.50: ~1.2 review pairs per 100 records; 0.70: ~0.65).
    """

    merge: float = 0.80
    review: float = 0.50
    max_block_size: int = 40  # identifier blocks larger than this are ignored as junk values
    window: int = 20  # oversized name blocks: compare each record with this many neighbours
    max_conflict_check: int = 4096  # skip the cluster conflict check above |A| x |B| pairs


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class PairDecision:
    a: int
    b: int
    score: float
    reasons: tuple[str, ...]
    kind: str  # "deterministic" | "fuzzy"


@dataclass
class LinkStats:
    records: int = 0
    blocks: int = 0  # blocks with at least two records
    junk_blocks: int = 0  # identifier blocks ignored for being over max_block_size
    windowed_blocks: int = 0  # name blocks compared by sliding window
    comparisons: int = 0  # distinct record pairs scored
    deterministic_links: int = 0
    fuzzy_links: int = 0
    refused_conflict: int = 0
    refused_cannot_link: int = 0


@dataclass
class LinkResult:
    clusters: list[list[int]]
    review: list[PairDecision]
    links: list[PairDecision]
    stats: LinkStats = field(default_factory=LinkStats)


# --- preparation ------------------------------------------------------------------------------


class _Prep:
    __slots__ = ("key", "first", "roots", "last", "email", "phone", "loyalty", "birth", "street",
                 "postcode", "city", "first_weight", "last_weight")

    def __init__(self, rec: IdentityRecord, cache: dict[str | None, str]) -> None:
        self.key = rec.key
        self.first = _cached_fold(rec.first_name, cache)
        self.roots = nickname_roots(self.first) if self.first else frozenset()
        self.last = _cached_fold(rec.last_name, cache)
        self.email = _safe(normalise_email, rec.email)
        phone = rec.phone
        if phone and not (phone[0] == "+" and phone[1:].isdigit()):
            phone = _safe(normalise_phone, phone)
        self.phone = phone or None
        self.loyalty = "".join(rec.loyalty_id.split()).upper() if rec.loyalty_id else None
        self.birth = rec.birth_date
        self.street = _cached_fold(rec.street, cache)
        self.postcode = normalise_postcode(rec.postcode)
        self.city = _cached_fold(rec.city, cache)
        self.first_weight = self.last_weight = 0.0


def _set_name_weights(preps: list[_Prep]) -> None:
    """Agreement on a rare name is worth more than on "Marie Martin" (Fellegi-Sunter u-probability).

    Below 20,000 records the counts say little, so they are read against a 20,000-record population.
    """
    population = max(len(preps), 20_000)
    firsts = Counter(p.first for p in preps)
    lasts = Counter(p.last for p in preps)
    for p in preps:
        p.first_weight = min(3.5, max(1.0, 0.5 * math.log(0.9 * population / firsts[p.first])))
        p.last_weight = min(4.5, max(1.5, 0.5 * math.log(0.9 * population / lasts[p.last])))


def _cached_fold(text: str | None, cache: dict[str | None, str]) -> str:
    folded = cache.get(text)
    if folded is None:
        folded = cache.setdefault(text, fold(text))
    return folded


def _safe(normaliser, raw):  # type: ignore[no-untyped-def]
    try:
        return normaliser(raw)
    except ValueError:
        return None  # an unusable identifier is simply absent, the record still links on the rest


def _blocking_keys(p: _Prep) -> tuple[list[str], list[str]]:
    """(identifier keys, name keys) of one record."""
    ids = []
    if p.email:
        ids.append("e" + p.email)
    if p.phone:
        ids.append("t" + p.phone)
    if p.loyalty:
        ids.append("l" + p.loyalty)
    names = []
    # nicknames block with their formal name: "Bob" files under "Robert"
    formal = min(p.roots - {p.first}) if len(p.roots) > 1 else p.first
    first_sound = phonetic_key(formal.split()[0]) if formal else ""
    last_sound = phonetic_key(p.last.replace(" ", "")) if p.last else ""
    sounds = "|".join(sorted((first_sound, last_sound)))
    if p.birth is not None:
        if last_sound:
            names.append(f"y{sounds}|{p.birth.year}")
        initials = "".join(sorted(s[:1] for s in (formal, p.last) if s))
        names.append(f"d{p.birth.isoformat()}|{initials}")
    if p.postcode:
        if last_sound:
            names.append(f"p{sounds}|{p.postcode}")
        for token in sorted({p.first[:3], p.last[:3]} - {""}):
            names.append(f"q{p.postcode}|{token}")
    return ids, names


# --- pair scoring -----------------------------------------------------------------------------

_PRIOR = -4.0


def _sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    score = JaroWinkler.similarity(a, b)
    if score < 0.97 and (" " in a or " " in b):
        # compound names: "Lefèvre-Dupont" vs "Lefèvre", "Jean-Pierre" vs "Jean"
        score = max(score, min(0.92, token_set_ratio(a, b) / 100))
    return score


def _first_sim(a: str, b: str, roots_a: frozenset[str], roots_b: frozenset[str]) -> float:
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return 0.85 if a[0] == b[0] else 0.0  # an initial neither confirms nor conflicts
    if roots_a & roots_b:
        return 0.97
    score = _sim(a, b)
    if score < 0.9 and len(a) >= 3 and len(b) >= 3 and OSA.distance(a, b, score_cutoff=1) <= 1:
        return 0.9  # one typo in a short name ("Luo"/"Lou") is not a different person
    return score


def _names(p: _Prep, q: _Prep) -> tuple[float | None, float | None, bool]:
    """(first similarity, last similarity, swapped) in the best orientation; None when missing."""
    fs = _first_sim(p.first, q.first, p.roots, q.roots) if p.first and q.first else None
    ls = _sim(p.last, q.last) if p.last and q.last else None
    if fs is None and ls is not None and (p.first or q.first) and ls < 0.9:
        # one side has a single name, maybe typed in the wrong box: take the better reading
        lone, other = (p, q) if not p.first else (q, p)
        crossed = _sim(lone.last, other.first)
        if crossed > ls:
            return None, crossed, True
    if fs is not None and ls is not None and (fs < 0.9 or ls < 0.9):
        swapped_f = _sim(p.first, q.last)
        swapped_l = _sim(p.last, q.first)
        if swapped_f + swapped_l > fs + ls + 0.05:
            return swapped_f, swapped_l, True
    return fs, ls, False


def _birth_agreement(a: datetime.date, b: datetime.date) -> str:
    if a == b:
        return "birth_date"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "birth_transposed"
    differing = (a.year != b.year) + (a.month != b.month) + (a.day != b.day)
    return "birth_typo" if differing == 1 else "birth_conflict"


def _name_conflict(fs: float | None, ls: float | None) -> bool:
    """Clearly different people by name: different first names, or different last names with no
    first name to vouch for them."""
    if fs is not None and fs < 0.8:
        return True
    return ls is not None and ls < 0.8 and (fs is None or fs < 0.9)


def _score(p: _Prep, q: _Prep, explain: bool) -> tuple[float, bool, tuple[str, ...]]:
    """(score 0..1, deterministic?, reasons if explain)."""
    reasons: list[str] = []
    fs, ls, swapped = _names(p, q)
    weight = _PRIOR
    if ls is not None:
        agree = min(p.last_weight, q.last_weight)
        if fs is None:
            agree *= 0.7  # a bare last name also fits the rest of the household
        weight += agree if ls >= 0.97 else agree - 1.0 if ls >= 0.9 else 0.5 if ls >= 0.8 else -2.5
    if fs is not None:
        agree = min(p.first_weight, q.first_weight)
        weight += (agree if fs >= 0.97 else agree - 1.0 if fs >= 0.9 else 0.5 if fs >= 0.85
                   else -0.5 if fs >= 0.8 else -4.0)
    conflict = _name_conflict(fs, ls)
    birth = _birth_agreement(p.birth, q.birth) if p.birth and q.birth else None
    if birth is not None:
        weight += {"birth_date": 4.5, "birth_transposed": 3.0, "birth_typo": 0.0, "birth_conflict": -5.0}[birth]
        conflict = conflict or birth == "birth_conflict"
    same_email = p.email is not None and p.email == q.email
    same_phone = p.phone is not None and p.phone == q.phone
    same_loyalty = p.loyalty is not None and p.loyalty == q.loyalty
    # A shared identifier between clearly different people is a household, not an identity.
    if same_email:
        weight += 1.0 if conflict else 5.0
    elif p.email and q.email:
        weight -= 0.3
    if same_phone:
        weight += 0.5 if conflict else 4.0
    elif p.phone and q.phone:
        weight -= 0.3
    if same_loyalty:
        weight += 1.0 if conflict else 6.0
    elif p.loyalty and q.loyalty:
        weight -= 1.5
    same_postcode = bool(p.postcode) and p.postcode == q.postcode
    same_street = False
    if same_postcode:
        weight += 1.2
        if p.street and q.street:
            same_street = p.street == q.street or token_set_ratio(p.street, q.street) >= 85
            weight += 1.0 if same_street else 0.0
    elif p.postcode and q.postcode:
        weight -= 0.5
    elif p.city and p.city == q.city:
        weight += 0.5
    deterministic = (same_email or same_phone or same_loyalty) and not conflict
    score = 1.0 if deterministic else 1.0 / (1.0 + math.exp(-weight))
    if explain:
        reasons += [r for r, ok in (("same_email", same_email), ("same_phone", same_phone),
                                    ("same_loyalty", same_loyalty)) if ok]
        if fs is not None or ls is not None:
            name = ((fs if fs is not None else ls) + (ls if ls is not None else fs)) / 2  # type: ignore[operator]
            reasons.append(f"name~{name:.2f}")
        if swapped:
            reasons.append("swapped_names")
        if conflict:
            reasons.append("name_or_birth_conflict")
        if birth:
            reasons.append(birth)
        if same_postcode:
            reasons.append("postcode")
        if same_street:
            reasons.append("street")
        if not deterministic:
            reasons.append(f"weight={weight:.1f}")
    return score, deterministic, tuple(reasons)


def _hard_conflict(p: _Prep, q: _Prep) -> bool:
    # Both ways round: with swapped names _names(p, q) reads q as the swapped one, and "Clémence
    # Thomas" vs "Thomas C." clash that way but agree the other. A one-way test made the guard
    # depend on which group was the larger, so a second relink merged what the first had refused.
    fs, _, _ = _names(p, q)
    if fs is not None and fs < 0.8:
        fs, _, _ = _names(q, p)
        if fs is not None and fs < 0.8:
            return True
    return bool(p.birth and q.birth and _birth_agreement(p.birth, q.birth) == "birth_conflict")


# --- candidate generation ---------------------------------------------------------------------


def _prep_key(p: _Prep) -> int:
    return p.key


def _by_score_desc(edge: tuple[float, bool, int, int]) -> float:
    return -edge[0]


def _pair_order(pair: tuple[int, int]) -> tuple[int, int]:
    a, b = pair
    return (a, b) if a <= b else (b, a)


@dataclass
class ScoredPairs:
    """Output of the expensive phase, reusable for several threshold settings (see the benchmark).

    preps are in key order and edges in (i, j) order, whatever order the records came in: clustering
    breaks score ties by this order, so the same records always give the same customers.
    """

    preps: list[_Prep]
    edges: list[tuple[float, bool, int, int]]  # (score, deterministic, i, j), i < j, score >= floor
    stats: LinkStats


def score_candidates(records: Iterable[IdentityRecord], *, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                     floor: float | None = None) -> ScoredPairs:
    """Block, compare and keep every pair scoring at least `floor` (default: the review threshold)."""
    fold_cache: dict[str | None, str] = {}
    preps = [_Prep(rec, fold_cache) for rec in records]
    del fold_cache
    # Key order, not arrival order: a database may stream rows in any order, and which of two tied
    # pairs is merged first must not depend on it.
    preps.sort(key=_prep_key)
    _set_name_weights(preps)
    stats = LinkStats(records=len(preps))
    floor = thresholds.review if floor is None else floor
    limit = thresholds.max_block_size
    member_blocks: list[list[int]] = [[] for _ in preps]
    blocks: list[list[int]] = []

    def add_block(members: list[int]) -> None:
        for i in members:
            member_blocks[i].append(len(blocks))
        blocks.append(members)

    keyed: list[tuple[dict[str, list[int]], bool]] = [({}, True), ({}, False)]
    for i, p in enumerate(preps):
        ids, names = _blocking_keys(p)
        for key in ids:
            keyed[0][0].setdefault(key, []).append(i)
        for key in names:
            keyed[1][0].setdefault(key, []).append(i)
    for index, is_identifier in keyed:
        for members in index.values():
            if len(members) < 2:
                continue
            if len(members) <= limit:
                add_block(members)
            elif is_identifier:
                stats.junk_blocks += 1
            else:
                stats.windowed_blocks += 1
                ordered = sorted(members, key=lambda i: (preps[i].last, preps[i].first))
                step = thresholds.window
                for start in range(0, len(ordered) - 1, step):
                    add_block(ordered[start:start + 2 * step])
        index.clear()
    stats.blocks = len(blocks)

    edges: list[tuple[float, bool, int, int]] = []
    comparisons = 0
    for i, p in enumerate(preps):
        mine = member_blocks[i]
        if not mine:
            continue
        candidates: set[int] = set()
        for b in mine:
            candidates.update(blocks[b])
        for j in sorted(candidates):
            if j <= i:
                continue
            comparisons += 1
            score, deterministic, _ = _score(p, preps[j], False)
            if score >= floor:
                edges.append((score, deterministic, i, j))
        member_blocks[i] = []  # free as we go: peak memory matters at a million records
    stats.comparisons = comparisons
    return ScoredPairs(preps, edges, stats)


# --- clustering -------------------------------------------------------------------------------


def cluster_scored(scored: ScoredPairs, *, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                   cannot_link: Collection[tuple[int, int]] = (),
                   must_link: Collection[tuple[int, int]] = ()) -> LinkResult:
    preps = scored.preps
    stats = LinkStats(**vars(scored.stats))
    index_of = {p.key: i for i, p in enumerate(preps)}
    parent = list(range(len(preps)))
    members: dict[int, list[int]] = {}
    forbidden: dict[int, set[int]] = {}
    for a, b in cannot_link:
        if a in index_of and b in index_of:
            ia, ib = index_of[a], index_of[b]
            forbidden.setdefault(ia, set()).add(ib)
            forbidden.setdefault(ib, set()).add(ia)

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(i: int, j: int, check_conflict: bool) -> str:
        ri, rj = find(i), find(j)
        if ri == rj:
            return "same"
        group_i, group_j = members.get(ri, [ri]), members.get(rj, [rj])
        if len(group_i) < len(group_j):
            ri, rj, group_i, group_j = rj, ri, group_j, group_i
        banned_i, banned_j = forbidden.get(ri), forbidden.get(rj)
        if banned_i and banned_j and any(find(x) == rj for x in banned_i):
            return "cannot_link"
        if check_conflict and len(group_i) * len(group_j) <= thresholds.max_conflict_check:
            if any(_hard_conflict(preps[x], preps[y]) for x in group_i for y in group_j):
                return "conflict"
        parent[rj] = ri
        group_i.extend(group_j)
        members[ri] = group_i
        members.pop(rj, None)
        if banned_j:
            forbidden.setdefault(ri, set()).update(banned_j)
        forbidden.pop(rj, None)
        return "merged"

    links: list[PairDecision] = []
    review: list[PairDecision] = []
    if forbidden:
        # which of two must_link pairs is refused for a cannot_link depends on their order: make it the
        # pairs' own order (without constraints every must_link is merged and the order is moot)
        must_link = sorted(must_link, key=_pair_order)
    for a, b in must_link:
        if a in index_of and b in index_of and union(index_of[a], index_of[b], False) == "merged":
            links.append(PairDecision(a, b, 1.0, ("must_link",), "deterministic"))

    uncertain: list[tuple[float, int, int]] = []
    # A stable sort: tied scores (every shared e-mail scores 1.0) keep the (i, j) order of the edges,
    # so the conflict guard's first-come decisions are the same on every run.
    for score, deterministic, i, j in sorted(scored.edges, key=_by_score_desc):
        if score < thresholds.review:
            break
        if score < thresholds.merge and not deterministic:
            uncertain.append((score, i, j))
            continue
        outcome = union(i, j, True)
        if outcome == "cannot_link":
            stats.refused_cannot_link += 1
            continue
        _, _, reasons = _score(preps[i], preps[j], True)
        decision = PairDecision(preps[i].key, preps[j].key, score, reasons,
                                "deterministic" if deterministic else "fuzzy")
        if outcome == "conflict":
            stats.refused_conflict += 1
            review.append(decision)
        else:
            links.append(decision)
            if deterministic:
                stats.deterministic_links += 1
            else:
                stats.fuzzy_links += 1
    separated = {(min(a, b), max(a, b)) for a, b in cannot_link}
    for score, i, j in uncertain:
        a, b = preps[i].key, preps[j].key
        if find(i) != find(j) and (min(a, b), max(a, b)) not in separated:
            review.append(PairDecision(a, b, score, _score(preps[i], preps[j], True)[2], "fuzzy"))

    clusters: dict[int, list[int]] = {}
    for i, p in enumerate(preps):
        clusters.setdefault(find(i), []).append(p.key)
    return LinkResult(list(clusters.values()), review, links, stats)


def link_records(records: Iterable[IdentityRecord], *, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                 cannot_link: Collection[tuple[int, int]] = (),
                 must_link: Collection[tuple[int, int]] = ()) -> LinkResult:
    """Cluster records into customers; see the module docstring for the method."""
    scored = score_candidates(records, thresholds=thresholds)
    return cluster_scored(scored, thresholds=thresholds, cannot_link=cannot_link, must_link=must_link)
