"""Identity resolution: which source records (web shop, POS/loyalty, CRM) are the same customer.

Pure Python, no database. The import pipeline turns rows into IdentityRecord, calls link_records and
stores the clusters; admins' decisions come back as cannot_link / must_link pairs.

Method
1. Normalise (store.normalize): folded names, E.164 phones, lowercase e-mails, compact postcodes.
2. Blocking: each record gets a handful of keys (e-mail, phone, loyalty id, phonetic name + birth
   year, phonetic name + postcode, birth date + initials, postcode + three letters of one name + the
   other's initial, house number + street + surname sound for a mistyped or missing postcode). Only
   records sharing a key are compared, so cost grows with records x block size, never records
   squared. Identifier blocks bigger than `max_block_size` are junk values (a
   shop's placeholder e-mail) and are ignored; oversized name blocks are compared with a sliding
   window over name order. A record without a first name is compared with at most 2 x `window`
   records of its postcode and surname prefix.
3. Scoring (Fellegi-Sunter, MatchModel): each field's comparison level adds log2(m/u) bits to the
   prior odds. u of an exact agreement is the value's frequency among the records being linked
   (term-frequency adjustment; for names both ways: a rare surname weighs more than the average) and
   the prior odds fall with the number of records, so a shared "Martin, 69003" weighs less in a
   million records than in ten thousand. Two slips of the pen in a birth date (1991-01-03 /
   1991-02-01) weigh against, they do not forbid; a first name that mostly starts longer names
   ("Chris", "Flor") is a truncation, not a second given name.
4. Guards, as constraints rather than weights. Household: when first names do not clearly agree
   (missing, an initial, a typo, "Maëlle"/"Isabelle"), surname and address evidence is capped below
   the merge threshold. A shared e-mail or phone is deterministic only between records whose first
   names agree and only if it is a person's: landlines, identifiers carried by records that clearly
   belong to different people, and e-mails spelling another first name count as household evidence.
   Two different loyalty ids never merge automatically.
5. Clustering: union-find over confident edges by descending score, ties in record-key order (never
   arrival or hash order: the same records give the same customers on every run). A union is
   refused when it would put a cannot_link pair together, or two records whose first names or birth
   dates clearly conflict or whose loyalty ids differ (this stops chains like Marie -> "Dupont, no
   first name" -> Jean through a family e-mail). A union of two groups is also held for review when
   the pairs of their records that were compared average below even odds (average linkage,
   `_doubtful_join`): one sparse record ("Alice Fonouve", nothing else) scoring well with a record of
   each of two people does not make them one while their fuller records, compared, say otherwise.
"""

from __future__ import annotations

import datetime
import math
import random
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.fuzz import token_set_ratio

from store.normalize import (
    NICKNAME_WORDS,
    fold,
    nickname_roots,
    normalise_email,
    normalise_phone,
    normalise_postcode,
    phonetic_key,
)
from store.vocabulary import EvidenceField, EvidenceLevel, LinkKind

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_THRESHOLDS",
    "EM_MIN_RECORDS",
    "Estimate",
    "Evidence",
    "IdentityRecord",
    "LinkResult",
    "LinkStats",
    "MatchModel",
    "PairDecision",
    "PostcodeNames",
    "ScoredPairs",
    "Thresholds",
    "cluster_scored",
    "describe_evidence",
    "estimate",
    "estimate_model",
    "evidence_as_json",
    "evidence_from_json",
    "learn_aliases",
    "link_records",
    "model_as_json",
    "model_from_json",
    "name_parts",
    "postcode_name_keys",
    "score_around",
    "score_candidates",
    "score_learned",
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

    Chosen from the sweep in bench/README.md (100,000 synthetic people): merge=0.80 keeps automatic
    merges' pairwise precision above 0.995 from 100,000 to 1,000,000 people with recall above 0.95.
    `review` only decides which non-merged pairs an admin sees.
    """

    merge: float = 0.80
    review: float = 0.50
    max_block_size: int = 40  # identifier blocks larger than this are ignored as junk values
    window: int = 10  # oversized name blocks: compare each record with this many neighbours
    max_conflict_check: int = 4096  # skip the cluster conflict check above |A| x |B| pairs
    # merge protection: an e-mail or phone carried by more records than this is nobody's identifier
    # (a shop's placeholder, a call centre's number): it stops counting, as if absent
    max_shared_identifier: int = 25
    # a record matching two people who conflict goes to review unless one match is this many bits
    # (2 ** bits times more likely) better than the other
    ambiguity_bits: float = 6.0
    # normalised e-mails / E.164 phones that never identify anyone: the store's own phone, ...
    blocked_identifiers: frozenset[str] = frozenset()
    # a record that no pair scores `review` with (no merge, no review) still has its best candidate
    # queued for review when that scores at least this (and the two can be one person): a person who
    # moved without giving a birth date scores low against every namesake, and a person asked once
    # costs far less than one left apart for good. 0 turns it off; never a merge.
    best_candidate: float = 0.0005
    # average linkage on the compared pairs: two customers are not joined automatically when the pairs
    # of their records that were compared say, on average (log-odds), "two people" rather than one;
    # the join goes to review. False: single linkage, every confident edge joins (with the guards).
    # It reads the pairs scoring keeps, down to best_candidate's floor: with best_candidate = 0 only
    # pairs >= review are kept, none of them against, and no join is ever held.
    average_linkage: bool = True


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Evidence:
    """One line of a match's evidence: how the two records compare on one field and the weight, in
    bits (log2 m/u), that this added to the log-odds of "same person" (negative: against).

    The lines of a PairDecision add up: prior + every line's bits = total_bits, and the score is
    1 / (1 + 2 ** -total_bits) (a deterministic link scores 1.0 whatever the total). A line with
    `capped` set is surname/address evidence a housemate would share too: it counts in full here and
    the HOUSEHOLD_CAP line takes back what the household guard does not allow. A MISSING line
    (absent on one side) weighs 0. No values are carried: only fields, levels and weights.
    """

    field: EvidenceField
    level: EvidenceLevel
    bits: float
    capped: bool = False

    def as_json(self) -> dict[str, object]:
        return {"field": str(self.field), "level": str(self.level), "bits": round(self.bits, 2),
                "capped": self.capped}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Evidence:
        bits = data.get("bits", 0.0)
        return cls(field=EvidenceField(str(data["field"])), level=EvidenceLevel(str(data["level"])),
                   bits=float(bits) if isinstance(bits, (int, float)) else 0.0,
                   capped=bool(data.get("capped", False)))


def evidence_as_json(evidence: Iterable[Evidence]) -> list[dict[str, object]]:
    """The JSON kept on a review row (match_reviews.evidence)."""
    return [line.as_json() for line in evidence]


def evidence_from_json(data: object) -> tuple[Evidence, ...]:
    """Read back evidence_as_json's output; rows written before evidence existed give ()."""
    if not isinstance(data, list):
        return ()
    return tuple(Evidence.from_json(line) for line in data if isinstance(line, dict))


def describe_evidence(evidence: Iterable[Evidence]) -> str:
    """One line for the CLI: "first_name exact +6.1 | last_name typo +4.0 (household) | ..."."""
    parts = []
    for line in evidence:
        if line.level is EvidenceLevel.MISSING:
            parts.append(f"{line.field} missing")
            continue
        flag = " (household)" if line.capped else ""
        label = line.field if line.field in (EvidenceField.PRIOR, EvidenceField.HOUSEHOLD_CAP) else \
            f"{line.field} {line.level}"
        parts.append(f"{label} {line.bits:+.1f}{flag}")
    return " | ".join(parts)


@dataclass(frozen=True)
class PairDecision:
    a: int
    b: int
    score: float
    reasons: tuple[str, ...]
    kind: Literal["deterministic", "fuzzy"]
    # field by field, with the weight each contributed (see Evidence); () for a person's must_link
    evidence: tuple[Evidence, ...] = ()
    total_bits: float = 0.0  # prior + the evidence's bits: the log2-odds behind `score`


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
    refused_doubtful: int = 0  # joins sent to review: their records' compared pairs mostly say two people


@dataclass
class LinkResult:
    clusters: list[list[int]]
    review: list[PairDecision]
    links: list[PairDecision]
    stats: LinkStats = field(default_factory=LinkStats)


# --- preparation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchModel:
    """Fellegi-Sunter parameters: for each comparison level, m = P(level | same person) and
    u = P(level | different people). A level's weight is log2(m / u) bits; a pair's score is the
    posterior probability from the prior odds plus the summed weights.

    u of an exact agreement is not a constant: it is the agreeing value's frequency in the records
    being linked (term-frequency adjustment, smoothed towards the field's average for values seen a
    few times), so "Martin" says less than "Kerhervé", and the prior odds fall as the base grows, so a shared "Martin, 69003" says less in a million records than in
    ten thousand. The `u_*` below are each field's average chance agreement, used to smooth the
    frequency of rare values (and alone for small batches). Hand-set from the generator's documented
    error rates; an EM estimate over the data can replace them (same fields).
    """

    matches_per_record: float = 0.7  # expected other records of the same person, sets the prior odds
    min_population: int = 20_000  # read small batches against this many records
    smoothing: float = 2_000  # pseudo-records at the field's average u, added to every value's count
    # surname
    m_last: float = 0.88
    u_last: float = 0.005
    m_last_close: float = 0.06  # Jaro-Winkler >= 0.9: typo, compound name
    u_last_close: float = 0.004
    m_last_weak: float = 0.02
    u_last_weak: float = 0.03
    m_last_differs: float = 0.04  # maiden names, swaps the reader missed
    # first name
    m_first: float = 0.85
    u_first: float = 0.02
    m_first_nickname: float = 0.06
    m_first_close: float = 0.03
    u_first_close: float = 0.006
    m_first_initial: float = 0.97  # given that one side is an initial: it agrees
    u_first_initial: float = 0.08
    m_first_differs: float = 0.03  # unknown nicknames, bad typos
    # birth date
    m_birth: float = 0.93
    u_birth: float = 1 / 24_000
    m_birth_transposed: float = 0.015
    m_birth_typo: float = 0.02
    u_birth_typo: float = 0.02
    m_birth_differs: float = 0.03
    # address
    m_postcode: float = 0.85
    u_postcode: float = 1 / 3_000
    m_postcode_differs: float = 0.15  # moved, stale records
    m_city: float = 0.8
    u_city: float = 1 / 1_000
    m_street: float = 0.8  # given the same postcode
    u_street: float = 0.02
    m_street_close: float = 0.12
    u_street_close: float = 0.01
    m_street_differs: float = 0.08
    # identifiers (agreement: u is the value's frequency; disagreement: m = P(differs | same person))
    m_email: float = 0.55
    m_phone: float = 0.6
    m_loyalty: float = 0.8
    # hand-set; estimate() learns both where the records carry e-mails and phones (_identifier_levels)
    m_email_differs: float = 0.4
    m_phone_differs: float = 0.35
    household_identifier_bits: float = 3.0  # an e-mail or phone shared by people the data tell apart
    # Without first names that clearly agree, a shared surname and address also fit the rest of the
    # household: together they may bring the pair at most this many bits above even odds.
    nameless_cap_bits: float = 1.0
    m_first_similar: float = 0.01  # Jaro-Winkler 0.8-0.9, not a known typo: Marie / Maria
    u_first_similar: float = 0.03
    m_first_prefix: float = 0.02  # a truncated first name: Math / Mathieu
    u_first_prefix: float = 0.004
    m_postcode_transposed: float = 0.01  # 69003 / 69030
    u_postcode_transposed: float = 1 / 3_000
    m_postcode_one_digit: float = 0.01
    u_postcode_one_digit: float = 1 / 300
    # u of a disagreement: nearly every pair of different people disagrees
    u_differs: float = 1.0
    # First names learned as one person's (learn_aliases): pairs of folded names the data show on one
    # person's own identifiers in many households and never as two people ("kiki" / "christine"); read
    # as the nickname table is (the NICKNAME level). Learned with the weights and kept with them, so a
    # record arriving alone reads the table the last relink learned.
    first_name_aliases: frozenset[tuple[str, str]] = frozenset()


DEFAULT_MODEL = MatchModel()

_F, _L = EvidenceField, EvidenceLevel
# (field, level) -> the MatchModel attributes holding its m and u (None: u is u_differs)
_LEVEL_PARAMS: dict[tuple[EvidenceField, EvidenceLevel], tuple[str, str | None]] = {
    (_F.LAST_NAME, _L.EXACT): ("m_last", "u_last"),
    (_F.LAST_NAME, _L.SWAPPED): ("m_last_close", "u_last_close"),
    (_F.LAST_NAME, _L.TYPO): ("m_last_close", "u_last_close"),
    (_F.LAST_NAME, _L.SIMILAR): ("m_last_weak", "u_last_weak"),
    (_F.LAST_NAME, _L.DIFFERS): ("m_last_differs", None),
    (_F.FIRST_NAME, _L.EXACT): ("m_first", "u_first"),
    (_F.FIRST_NAME, _L.SWAPPED): ("m_first_nickname", "u_first_close"),
    (_F.FIRST_NAME, _L.NICKNAME): ("m_first_nickname", "u_first_close"),
    (_F.FIRST_NAME, _L.PREFIX): ("m_first_prefix", "u_first_prefix"),
    (_F.FIRST_NAME, _L.TYPO): ("m_first_close", "u_first_close"),
    (_F.FIRST_NAME, _L.INITIAL): ("m_first_initial", "u_first_initial"),
    (_F.FIRST_NAME, _L.SIMILAR): ("m_first_similar", "u_first_similar"),
    (_F.FIRST_NAME, _L.DIFFERS): ("m_first_differs", None),
    (_F.BIRTH_DATE, _L.EXACT): ("m_birth", "u_birth"),
    (_F.BIRTH_DATE, _L.TRANSPOSED): ("m_birth_transposed", "u_birth"),
    (_F.BIRTH_DATE, _L.ONE_DIGIT): ("m_birth_typo", "u_birth_typo"),
    (_F.BIRTH_DATE, _L.DIFFERS): ("m_birth_differs", None),
    (_F.POSTCODE, _L.EXACT): ("m_postcode", "u_postcode"),
    (_F.POSTCODE, _L.TRANSPOSED): ("m_postcode_transposed", "u_postcode_transposed"),
    (_F.POSTCODE, _L.ONE_DIGIT): ("m_postcode_one_digit", "u_postcode_one_digit"),
    (_F.POSTCODE, _L.DIFFERS): ("m_postcode_differs", None),
    (_F.CITY, _L.DIFFERS): ("m_postcode_differs", None),  # moved: the town changes with the postcode
    (_F.STREET, _L.EXACT): ("m_street", "u_street"),
    (_F.STREET, _L.CLOSE): ("m_street_close", "u_street_close"),
    (_F.STREET, _L.DIFFERS): ("m_street_differs", None),
    (_F.EMAIL, _L.DIFFERS): ("m_email_differs", None),
    (_F.PHONE, _L.DIFFERS): ("m_phone_differs", None),
}


class _Prep:
    __slots__ = (
        "birth",
        "blocked_email",
        "blocked_phone",
        "city",
        "email",
        "first",
        "first_count",
        "formal",
        "key",
        "last",
        "loyalty",
        "phone",
        "postcode",
        "roots",
        "shared_email",
        "shared_phone",
        "street",
        "u_birth",
        "u_city",
        "u_email",
        "u_first",
        "u_last",
        "u_loyalty",
        "u_phone",
        "u_postcode",
        "u_street",
    )

    def __init__(self, rec: IdentityRecord, shared: _Shared, blocked: frozenset[str] = frozenset()) -> None:
        cache, one = shared.folded, shared.one
        self.key = rec.key
        self.first = _cached_fold(rec.first_name, cache)
        named = shared.names.get(self.first)
        if named is None:
            roots = nickname_roots(self.first) if self.first else frozenset()
            # nicknames count and block under their formal name: "Bob" files under "Robert"
            named = shared.names[self.first] = (roots, min(roots - {self.first}) if len(roots) > 1 else self.first)
        self.roots, self.formal = named
        self.last = _cached_fold(rec.last_name, cache)
        email = _safe(normalise_email, rec.email)
        self.email = one.setdefault(email, email) if email else email
        phone = rec.phone
        if phone and not (phone[0] == "+" and phone[1:].isdigit()):
            phone = _safe(normalise_phone, phone)
        self.phone = one.setdefault(phone, phone) if phone else None
        # merge protection: a placeholder identifier is no identifier (kept as a flag for the evidence)
        self.blocked_email: str | None = None  # the placeholder value, only to count junk blocks
        if self.email is not None and (self.email in blocked or _placeholder_email(self.email)):
            self.blocked_email, self.email = self.email, None
        self.blocked_phone: str | None = None
        if self.phone is not None and (self.phone in blocked or _placeholder_phone(self.phone)):
            self.blocked_phone, self.phone = self.phone, None
        loyalty = "".join(rec.loyalty_id.split()).upper() if rec.loyalty_id else None
        self.loyalty = one.setdefault(loyalty, loyalty) if loyalty else None
        self.birth = one.setdefault(rec.birth_date, rec.birth_date) if rec.birth_date else rec.birth_date
        street = shared.streets.get(rec.street)
        if street is None:
            street = _street_key(fold(rec.street))
            street = shared.streets[rec.street] = one.setdefault(street, street)
        self.street = street
        postcode = normalise_postcode(rec.postcode)
        self.postcode = one.setdefault(postcode, postcode)
        self.city = _cached_fold(rec.city, cache)
        self.first_count = 0  # records of the batch with this very first name (_set_frequencies)
        self.u_first = self.u_last = self.u_birth = self.u_postcode = self.u_street = self.u_city = 1.0
        self.u_email = self.u_phone = self.u_loyalty = 1.0
        # set when records sharing the value clearly belong to different people (a family e-mail)
        self.shared_email = self.shared_phone = False


class _Shared:
    """Values many records carry, held once while records are prepared (a million records name a few
    thousand postcodes and birth dates, one nickname table, the same street in each household): every
    _Prep points at the one copy instead of its own. Dropped when preparation ends."""

    __slots__ = ("folded", "names", "one", "streets")

    def __init__(self) -> None:
        self.folded: dict[str | None, str] = {}  # raw name or city -> folded
        self.names: dict[str, tuple[frozenset[str], str]] = {}  # folded first name -> (roots, formal)
        self.streets: dict[str | None, str] = {}  # raw street -> street key
        self.one: dict[Any, Any] = {}  # any value -> its one copy


# What people type when they will not give an e-mail: never an identifier, however many share it.
_PLACEHOLDER_LOCALS = frozenset({
    "noemail", "no-email", "no_email", "no.email", "nomail", "no-mail", "none", "null", "na", "n-a", "nil",
    "aucun", "aucune", "pasdemail", "pas-de-mail", "sansmail", "sans-mail", "sansemail",
    "refus", "refuse", "test", "unknown", "inconnu", "xxx", "xx", "x", "email", "mail", "nobody",
    "noreply", "no-reply", "donotreply", "client", "customer", "anonymous", "anonyme"})
_PLACEHOLDER_DOMAINS = frozenset({"noemail.com", "noemail.fr", "nomail.com", "nomail.fr", "invalid.com",
                                  "aucun.fr", "pasdemail.fr"})
_PLACEHOLDER_NATIONAL = frozenset({"123456789", "012345678", "987654321", "0123456789"})


def _placeholder_email(email: str) -> bool:
    local, _, domain = email.partition("@")
    return local in _PLACEHOLDER_LOCALS or local.startswith(("noemail", "nomail", "pasdemail")) \
        or domain in _PLACEHOLDER_DOMAINS


def _placeholder_phone(phone: str) -> bool:
    """0000000000, 0600000000, 0123456789: the fillers typed to get past a mandatory box."""
    national = phone[3:] if phone.startswith(("+33", "+44")) else phone.lstrip("+")
    return len(set(national[1:])) <= 1 or national in _PLACEHOLDER_NATIONAL


_STREET_TYPES = {"r": "rue", "av": "avenue", "ave": "avenue", "bd": "boulevard", "bld": "boulevard",
                 "pl": "place", "all": "allee", "ch": "chemin", "che": "chemin", "imp": "impasse",
                 "rte": "route", "res": "residence"}


def _street_key(folded: str) -> str:
    return " ".join(_STREET_TYPES.get(word, word) for word in folded.split())


# French landlines (01-05, 09) and UK geographic numbers ring a home, not a person.
_LANDLINE_PREFIXES = ("+331", "+332", "+333", "+334", "+335", "+339", "+441", "+442")


def _phones_comparable(a: str, b: str) -> bool:
    """Whether two different phone numbers are evidence that two records are two people: two mobiles
    (or two landlines) are; a home's landline beside a mobile is not (a person gives the one at the
    till and the other on the web, and has both for years), and says nothing either way."""
    return a.startswith(_LANDLINE_PREFIXES) == b.startswith(_LANDLINE_PREFIXES)


def _set_frequencies(preps: list[_Prep], model: MatchModel) -> float:
    """Term frequencies: each record's u for an exact agreement on each of its values. Returns the
    prior odds, in bits, that two records of this batch are the same person."""
    population = max(len(preps), model.min_population)
    # a small batch is padded to min_population with pseudo-records at the field's average u: its own
    # counts say little about how common a value is
    k = max(model.smoothing, model.min_population - len(preps))

    def tf(values: Iterable[object], average: float) -> dict[object, float]:
        # u of agreeing on a value: the share of the *other* records carrying it (the pair's own
        # second record is the one expected to agree)
        counts = Counter(values)
        counts.pop("", None)
        counts.pop(None, None)
        # one float per distinct count, not per value: records point at it (most values are rare)
        by_count: dict[int, float] = {}
        return {value: by_count.get(count) or by_count.setdefault(count, (count - 1 + k * average) / (len(preps) + k))
                for value, count in counts.items()}

    last = tf((p.last for p in preps), model.u_last)
    first = tf((p.formal for p in preps), model.u_first)
    birth = tf((p.birth for p in preps), model.u_birth)
    postcode = tf((p.postcode for p in preps), model.u_postcode)
    city = tf((p.city for p in preps), model.u_city)
    email = tf((p.email for p in preps), 1 / population)
    phone = tf((p.phone for p in preps), 1 / population)
    loyalty = tf((p.loyalty for p in preps), 1 / population)
    # a street's u is conditional on the postcode already agreeing: its share of that postcode
    at_postcode = Counter(p.postcode for p in preps if p.street and p.postcode)
    streets = Counter((p.postcode, p.street) for p in preps if p.street and p.postcode)
    written = _given_name_counts(Counter(p.first for p in preps))
    street_u: dict[tuple[int, int], float] = {}  # one float per (street count, postcode count)
    for p in preps:
        p.first_count = written[p.first]
        p.u_last = last.get(p.last, 1.0)
        # a surname typed in the first-name box ("Dupuy Jean") is as common as the surname
        p.u_first = max(first.get(p.formal, 1.0), last.get(p.formal, 0.0))
        p.u_birth = birth.get(p.birth, 1.0)
        p.u_postcode = postcode.get(p.postcode, 1.0)
        p.u_city = city.get(p.city, 1.0)
        p.u_email = email.get(p.email, 1.0)
        p.u_phone = phone.get(p.phone, 1.0)
        p.u_loyalty = loyalty.get(p.loyalty, 1.0)
        if p.street and p.postcode:
            soft = 50  # a handful of records says little about a street's share of its postcode
            counted = (streets[(p.postcode, p.street)], at_postcode[p.postcode])
            u_street = street_u.get(counted)
            if u_street is None:
                u_street = street_u[counted] = (counted[0] - 1 + soft * model.u_street) / (counted[1] + soft)
            p.u_street = u_street
    return math.log2(model.matches_per_record / population)


def _given_name_counts(written: Counter[str]) -> Counter[str]:
    """How often each first name is written as a given name of its own. A spelling that starts
    names written ten times as often ("Chris" / Christine, Christian, Christophe) is mostly those
    names cut short, not a name: it counts 0. "Jean" (Jeanne) and "Louis" (Louise) stay names."""
    longer: Counter[str] = Counter()
    for name, count in written.items():
        if " " not in name:
            for end in range(4, len(name)):
                longer[name[:end]] += count
    return Counter({name: 0 if longer[name] >= 10 * count else count for name, count in written.items()})


def _mark_shared_identifiers(preps: list[_Prep], members: list[int], key: str, limit: int) -> None:
    """An e-mail or phone whose records clearly belong to different people is a household's, not a
    person's: it stops being a deterministic identifier for every record carrying it."""
    if key[0] == "l":
        return  # a loyalty id is a person's by construction; two people on one card is a conflict
    shared = len(members) > limit or (key[0] == "t" and key[1:].startswith(_LANDLINE_PREFIXES))
    if not shared:
        group = [preps[i] for i in members]
        shared = any(_people_differ(a, b, True) for n, a in enumerate(group) for b in group[n + 1:])
    if shared:
        for i in members:
            if key[0] == "e":
                preps[i].shared_email = True
            else:
                preps[i].shared_phone = True


def _block_overshared(preps: list[_Prep], members: list[int], key: str) -> None:
    """Merge protection: an e-mail or phone on more records than max_shared_identifier is a
    placeholder or a switchboard, not a person's: it stops counting for every record carrying it."""
    for i in members:
        p = preps[i]
        if key[0] == "e":
            p.email, p.blocked_email = None, p.email
        else:
            p.phone, p.blocked_phone = None, p.phone


def _cached_fold(text: str | None, cache: dict[str | None, str]) -> str:
    folded = cache.get(text)
    if folded is None:
        folded = cache.setdefault(text, fold(text))
    return folded


def _safe(normaliser: Callable[[str | None], str | None], raw: str | None) -> str | None:
    try:
        return normaliser(raw)
    except ValueError:
        return None  # an unusable identifier is simply absent, the record still links on the rest


def _blocking_keys(p: _Prep) -> tuple[list[str], list[str]]:
    """(identifier keys, name keys) of one record."""
    return _identifier_keys(p), _name_keys(p)


def _identifier_keys(p: _Prep) -> list[str]:
    ids = []
    if p.email:
        ids.append("e" + p.email)
    if p.phone:
        ids.append("t" + p.phone)
    if p.loyalty:
        ids.append("l" + p.loyalty)
    return ids


def _name_keys(p: _Prep) -> list[str]:
    names = []
    # nicknames block with their formal name: "Bob" files under "Robert"
    formal = p.formal
    first_sound = phonetic_key(formal.split()[0]) if formal else ""
    last_sound = phonetic_key(p.last.replace(" ", "")) if p.last else ""
    sounds = "|".join(sorted((first_sound, last_sound)))
    if p.birth is not None:
        if last_sound:
            names.append(f"y{sounds}|{p.birth.year}")
        initials = "".join(sorted(s[:1] for s in (formal, p.last) if s))
        names.append(f"d{p.birth.isoformat()}|{initials}")
        # a typo in one name, or boxes swapped: the birth date and the other name's sound
        for sound in sorted({first_sound, last_sound} - {""}):
            names.append(f"b{p.birth.isoformat()}|{sound}")
        if p.postcode:
            # a name missing or mangled: born that day at that postcode (the person, or a twin)
            names.append(f"h{p.birth.isoformat()}|{p.postcode}")
    if p.postcode:
        if last_sound:
            names.append(f"p{sounds}|{p.postcode}")
        # a typo in both names at one postcode: three letters of one name and the other's initial
        # (not three letters alone: at a million records "75011 + mar" is thousands of people)
        for token in sorted({f"{p.first[:3]}|{p.last[:1]}", f"{p.last[:3]}|{p.first[:1]}"}):
            names.append(f"q{p.postcode}|{token}")
    if p.street and last_sound:
        # the postcode mistyped or missing: the house number, the street's main word and the surname
        number = _house_number(p.street)
        words = [w for w in p.street.split()[1:] if w not in _BUILDING_WORDS and w not in _STREET_WORDS]
        if number and words:
            names.append(f"a{number}|{max(words, key=len)}|{last_sound}")
    if first_sound and last_sound:
        # a rare full name alone, for records missing the birth date or the address (compared only
        # while the name is rare: see _RARE_NAME_BLOCK)
        names.append(f"n{sounds}")
        if len(p.first) > 1:
            # the same name written the same way: rare far more often than its sounds (a made-up or
            # foreign name shares its sounds with dozens), for one who moved without a birth date
            names.append(f"n={p.first}|{p.last}")
    return names


class PostcodeNames(NamedTuple):
    """What a record's names give the blocks of one postcode (postcode_name_keys)."""

    keys: frozenset[str]  # the "p" and "q" keys of _name_keys without the postcode
    surname_prefix: str  # the surname's first three letters
    unnamed: bool  # first name missing or an initial: _unnamed_candidates meets it by surname_prefix
    given_prefix: str  # the first name's first three letters ("" for an initial or none)
    surnameless: bool  # no surname: _surnameless_candidates meets it by given_prefix


def postcode_name_keys(first_name: str | None, last_name: str | None) -> PostcodeNames:
    """What a record's names give the blocks of one postcode, for identity on arrival to read only the
    records of its postcode that relink would compare it with (PostcodeNames).
    tests/test_identity_around.py checks these keys against _name_keys and the two prefix rules."""
    first, first_sound, last, last_sound = name_parts(first_name, last_name)
    keys = {f"q{first[:3]}|{last[:1]}", f"q{last[:3]}|{first[:1]}"}
    if last_sound:
        keys.add("p" + "|".join(sorted((first_sound, last_sound))))
    return PostcodeNames(frozenset(keys), last[:3], len(first) <= 1, first[:3] if len(first) > 1 else "",
                         not last)


def name_parts(first_name: str | None, last_name: str | None) -> tuple[str, str, str, str]:
    """(first name folded, the sound of its formal name, surname folded, its sound), as _Prep and
    _name_keys make them."""
    return given_name_part(first_name) + surname_part(last_name)


# Arrival reads this for every record of a big postcode (thousands): the full name pairs are mostly
# unique, but first names and surnames repeat (Zipf), so each half is cached on its own.
@lru_cache(maxsize=1 << 15)
def given_name_part(first_name: str | None) -> tuple[str, str]:
    """(folded, sound of the formal name) as _Prep and _name_keys make them."""
    first = fold(first_name)
    roots = nickname_roots(first) if first else frozenset()
    formal = min(roots - {first}) if len(roots) > 1 else first
    return first, phonetic_key(formal.split()[0]) if formal else ""


@lru_cache(maxsize=1 << 17)
def surname_part(last_name: str | None) -> tuple[str, str]:
    """(folded, sound) as _Prep and _name_keys make them."""
    last = fold(last_name)
    return last, phonetic_key(last.replace(" ", "")) if last else ""


_RARE_NAME_BLOCK = 8
_STREET_WORDS = frozenset(_STREET_TYPES.values()) | {"de", "des", "du", "la", "le", "les", "l", "d"}


# --- pair scoring -----------------------------------------------------------------------------


def _bits(m: float, u: float) -> float:
    return math.log2(m / u)


def _sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    score = JaroWinkler.similarity(a, b)
    if score < 0.97 and (" " in a or " " in b):
        # compound names: "Lefèvre-Dupont" vs "Lefèvre", "Jean-Pierre" vs "Jean"
        score = max(score, min(0.92, token_set_ratio(a, b) / 100))
    return score


_PREFIX_SIM = 0.93  # a first name that is the start of the other: its own comparison level


# A first name written this many times in the batch is somebody's given name, not a slip of the pen
_GIVEN_NAME_COUNT = 5
# ... and a spelling is another given name, not a slip, while it is written at least 1/20 as often as
# the other: a slip of the pen is spread over many spellings, each hundreds of times rarer than the
# name ("Jeane" / Jeanne), while "Maxime" / "Marie" are two names, the one ten times less common
_GIVEN_NAME_RATIO = 20


def _two_given_names(p: _Prep, q: _Prep) -> bool:
    """Louis / Louise, Jean / Jeanne, Marie / Maria: both spellings are common given names in the
    data, each about as common as the other, so they name two people (a typo or a truncation such as
    "Math" is much rarer than the name it comes from). Compound names ("Jean Pierre" / "Jean") and
    initials are left to the similarity."""
    a, b = p.first, q.first
    if len(a) < 2 or len(b) < 2 or " " in a or " " in b:
        return False
    short, long_ = sorted((a, b), key=len)
    if len(short) <= 3 and long_.startswith(short):
        return False  # "Sab", "Max": the stub of many names, however often written
    low, high = sorted((p.first_count, q.first_count))
    return low >= _GIVEN_NAME_COUNT and low * _GIVEN_NAME_RATIO >= high


# A spelling of a given name written fewer times than this in the batch is no established name ...
_RARE_SPELLING = 2
# ... and one written this much more often is the name it was meant to be
_SLIP_RATIO = 50


def _slip_of_the_pen(p: _Prep, q: _Prep) -> bool:
    """Two slips in one first name ("Jln" / Jean, "Lus" / Louis, "Flaeric" / Flaric): a spelling the
    batch hardly knows, two edits from a name it writes many times over, most letters kept. Twins
    carry two names the batch knows (_two_given_names): a typed slip is one of many spellings, each
    written once or twice."""
    a, b = p.first, q.first
    if " " in a or " " in b:
        return False
    short, long_ = sorted((a, b), key=len)
    if len(short) < 3 or 2 * OSA.distance(a, b, score_cutoff=2) > len(long_) or OSA.distance(a, b) > 2:
        return False
    low, high = sorted((p.first_count, q.first_count))
    return low <= _RARE_SPELLING and high >= _SLIP_RATIO * max(low, 1)


def _vouched_short_form(p: _Prep, q: _Prep) -> bool:
    """A short form of the first name the matcher's table does not know ("Guigui" / Guillaume, "Jenn" /
    Jennifer, "Tum" / Thomas), vouched for by the person's own e-mail *and* mobile on both records: one
    name strictly shorter than the other, no more than four letters or a syllable said twice, starting
    with the same letter. Never with two birth dates (twins share theirs, and a different one is a
    conflict), two loyalty cards, a landline or a placeholder (already no identifier); and _names
    reads it only while no record the data tell apart carries that e-mail or mobile (then they are a
    household's). A parent and a child may share an e-mail and a mobile: "Gabriel" is no short form of
    Guillaume, "Marie" does not start like him. The caller has checked that the surnames agree."""
    if not (p.email and p.phone and p.email == q.email and p.phone == q.phone):
        return False
    if p.phone.startswith(_LANDLINE_PREFIXES) or (p.birth and q.birth):
        return False
    if p.loyalty and q.loyalty and p.loyalty != q.loyalty:
        return False
    short, long_ = sorted((p.first, q.first), key=len)
    if len(short) < 2 or len(short) == len(long_) or short[0] != long_[0] or " " in short:
        return False
    half = len(short) // 2
    return len(short) <= 4 or (len(short) % 2 == 0 and short[:half] == short[half:])


def _last_sim(a: str, b: str) -> float:
    score = _sim(a, b)
    if score < 0.9 and len(a) >= 4 and len(b) >= 4 and OSA.distance(a, b, score_cutoff=1) <= 1:
        return 0.9  # one slip in a surname ("Lecoy" / "Leroy") is a typo, not another family
    return score


def _first_sim(a: str, b: str, roots_a: frozenset[str], roots_b: frozenset[str]) -> float:
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return 0.85 if a[0] == b[0] else 0.0  # an initial neither confirms nor conflicts
    if roots_a & roots_b:
        return 0.97
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if len(short) >= 2 and " " not in long_ and long_.startswith(short):
        return _PREFIX_SIM  # truncated at the till: "Math" / "Mathieu", "Jo" / "Joseph"
    score = _sim(a, b)
    if score < 0.9 and len(a) >= 3 and len(b) >= 3 and OSA.distance(a, b, score_cutoff=1) <= 1:
        return 0.9  # one typo in a short name ("Luo"/"Lou") is not a different person
    return score


def _names(p: _Prep, q: _Prep, marking: bool = False) -> tuple[float | None, float | None, bool]:
    """(first similarity, last similarity, swapped) in the best orientation; None when missing.
    marking: called while the identifiers shared by different people are being marked (their flags
    are not all set yet, and a short form vouched for by them is no sign of two people)."""
    fs = _first_sim(p.first, q.first, p.roots, q.roots) if p.first and q.first else None
    ls = _last_sim(p.last, q.last) if p.last and q.last else None
    if fs is not None and fs < 0.97 and p.phone and ls is not None and ls >= 0.9 and _vouched_short_form(p, q) and (
            marking or not (p.shared_email or p.shared_phone or q.shared_email or q.shared_phone)):
        fs = 0.97  # read as a nickname: one the person's own e-mail and mobile vouch for
    elif fs is not None and fs < 0.97 and _two_given_names(p, q):
        fs = 0.5
    elif fs is not None and fs < 0.8 and _slip_of_the_pen(p, q):
        fs = 0.8  # no conflict, and only the weight of a resemblance
    if fs is None and ls is not None and (p.first or q.first) and ls < 0.9:
        # one side has a single name, maybe typed in the wrong box: take the better reading
        lone, other = (p, q) if not p.first else (q, p)
        crossed = _sim(lone.last, other.first)
        if crossed > ls:
            return None, crossed, True
    if ls is None and fs is not None and (p.last or q.last) and fs < 0.9:
        # one side has a single name in the first-name box ("Bourgeois", no surname): it may be the
        # surname typed in the wrong box; take the better reading (the first name is then unknown)
        lone, other = (p, q) if not p.last else (q, p)
        crossed = _last_sim(lone.first, other.last)
        if crossed > fs and crossed >= 0.9:
            return None, crossed, True
    if fs is not None and ls is not None and (fs < 0.9 or ls < 0.9):
        crossed_a = _crossed_sim(p.first, q.last)
        crossed_b = _crossed_sim(p.last, q.first)
        if crossed_a + crossed_b > fs + ls + 0.05:
            # Which cross pair holds the given names depends on which record has its boxes swapped
            # ("Breoot Solène" / "Emma Breoot": the surnames agree, the given names do not). Read the
            # weaker as the first name: the guards then judge the doubtful side, whichever it is.
            return min(crossed_a, crossed_b), max(crossed_a, crossed_b), True
    return fs, ls, False


def _crossed_sim(a: str, b: str) -> float:
    """A name against the other box's name: an initial agrees with any name it starts (it neither
    confirms nor conflicts, as in _first_sim)."""
    if len(a) == 1 or len(b) == 1:
        return 0.85 if a[0] == b[0] else 0.0
    if a != b and a in NICKNAME_WORDS and b in NICKNAME_WORDS and nickname_roots(a) & nickname_roots(b):
        return 0.97  # "Thompson Liz" / "Elizabeth Thompson": boxes swapped and a nickname, as _first_sim reads it
    return _sim(a, b)


def _birth_agreement(a: datetime.date, b: datetime.date) -> str:
    if a == b:
        return "birth_date"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "birth_transposed"
    differing = (a.year != b.year) + (a.month != b.month) + (a.day != b.day)
    if differing >= 2 and _slips(a, b) <= 2:
        return "birth_slips"
    if differing == 1 and a.year != b.year and not _digit_slip(str(a.year), str(b.year)):
        if abs(a.year - b.year) in (1, 10):
            # the same day and month, the year one or ten off (1989 / 1990, 1992 / 2002): the decade or
            # the year's last digit miscounted; two people of one name are not born a year to the day
            # apart (a father and his son are decades apart). Weighs against, never forbids.
            return "birth_slips"
        return "birth_conflict"  # 1978 / 2000 is a father and a daughter, 1978 / 1987 a slip
    return "birth_typo" if differing == 1 else "birth_conflict"


def _slips(a: datetime.date, b: datetime.date) -> int:
    """Digits that differ between two dates written YYYYMMDD: 1991-01-03 / 1991-02-01 is two slips of
    the pen, 1968-04-06 / 1998-06-24 four (a father and his son)."""
    return sum(x != y for x, y in zip(a.strftime("%Y%m%d"), b.strftime("%Y%m%d"), strict=True))


def _digit_slip(a: str, b: str) -> bool:
    """One digit wrong, or two neighbours swapped."""
    if len(a) != len(b):
        return False
    wrong = [n for n in range(len(a)) if a[n] != b[n]]
    return len(wrong) == 1 or (len(wrong) == 2 and wrong[1] == wrong[0] + 1
                               and a[wrong[0]] == b[wrong[1]] and a[wrong[1]] == b[wrong[0]])


def _name_conflict(fs: float | None, ls: float | None) -> bool:
    """Clearly different people by name: different first names, or different last names with no
    first name to vouch for them."""
    if fs is not None and fs < 0.8:
        return True
    return ls is not None and ls < 0.8 and (fs is None or fs < 0.9)


# words that say where in the building, not which street
_BUILDING_WORDS = frozenset({"residence", "res", "bat", "batiment", "apt", "appt", "appartement", "escalier",
                             "esc", "etage", "e", "er", "porte", "entree", "les", "le", "la"})


def _street_close(a: str, b: str) -> bool:
    """The same house number and street typed differently: a typo, words reordered, a building
    added ("12 allée des tilleuls" / "12 allee des tileuls résidence b")."""
    if _house_number(a) != _house_number(b):
        return False
    if token_set_ratio(a, b) >= 85:
        return True
    words_a = [w for w in a.split()[1:] if w not in _BUILDING_WORDS and len(w) > 1]
    words_b = [w for w in b.split()[1:] if w not in _BUILDING_WORDS and len(w) > 1]
    short, long_ = sorted((words_a, words_b), key=len)
    named = [w for w in short if len(w) > 3]
    if not named:
        return False
    return all(any(w == v or JaroWinkler.similarity(w, v) >= 0.9 for v in long_) for w in short)


def _house_number(street: str) -> str:
    head = street.split(" ", 1)[0]
    return head if head.isdigit() else ""


def _last_level(ls: float, swapped: bool) -> EvidenceLevel:
    if ls == 1.0:
        return EvidenceLevel.SWAPPED if swapped else EvidenceLevel.EXACT
    if ls >= 0.9:
        return EvidenceLevel.TYPO
    return EvidenceLevel.SIMILAR if ls >= 0.8 else EvidenceLevel.DIFFERS


def _first_level(fs: float, swapped: bool, p: _Prep, q: _Prep) -> EvidenceLevel:
    if fs == 1.0:
        return EvidenceLevel.SWAPPED if swapped else EvidenceLevel.EXACT
    if fs >= 0.97:
        return EvidenceLevel.NICKNAME
    if fs == _PREFIX_SIM:
        return EvidenceLevel.PREFIX
    if fs >= 0.9:
        return EvidenceLevel.TYPO
    if fs >= 0.85 and (len(p.first) == 1 or len(q.first) == 1):
        return EvidenceLevel.INITIAL
    return EvidenceLevel.SIMILAR if fs >= 0.8 else EvidenceLevel.DIFFERS


def _postcode_level(a: str, b: str) -> EvidenceLevel:
    if a == b:
        return EvidenceLevel.EXACT
    if _digit_slip(a, b):
        # 69003 / 69030, 69003 / 69004
        return EvidenceLevel.ONE_DIGIT if sum(x != y for x, y in zip(a, b, strict=True)) == 1 \
            else EvidenceLevel.TRANSPOSED
    return EvidenceLevel.DIFFERS


# levels whose u is read from the agreeing value's frequency (term-frequency adjustment)
_LAST_TF = frozenset({EvidenceLevel.EXACT, EvidenceLevel.SWAPPED, EvidenceLevel.TYPO})
_FIRST_TF = frozenset({EvidenceLevel.EXACT, EvidenceLevel.SWAPPED, EvidenceLevel.NICKNAME, EvidenceLevel.TYPO})

_BIRTH_LEVELS = {"birth_date": EvidenceLevel.EXACT, "birth_transposed": EvidenceLevel.TRANSPOSED,
                 "birth_typo": EvidenceLevel.ONE_DIGIT, "birth_conflict": EvidenceLevel.DIFFERS,
                 "birth_slips": EvidenceLevel.DIFFERS}


# fields whose rare values weigh more than the field's average: names (a shared "Vandenberghe"). Not
# the address: a rare postcode or street is shared by the whole household, and the household guard
# only caps what a housemate would share, so a rarer home would let more housemates through.
_TF_BOTH_WAYS = frozenset({EvidenceField.FIRST_NAME, EvidenceField.LAST_NAME})


def _level_bits(model: MatchModel, field_: EvidenceField, level: EvidenceLevel, u_value: float = 0.0) -> float:
    """log2(m/u) of a comparison level. u_value: the agreeing value's own frequency (term-frequency
    adjustment): an exact name's u (_TF_BOTH_WAYS); otherwise only when it is larger than the
    level's average u (a common value)."""
    m_name, u_name = _LEVEL_PARAMS[(field_, level)]
    m = getattr(model, m_name)
    u = getattr(model, u_name) if u_name else model.u_differs
    if u_value and level in (EvidenceLevel.EXACT, EvidenceLevel.SWAPPED) and field_ in _TF_BOTH_WAYS:
        # an exact name weighs what its value is worth both ways: a shared "Vandenberghe" more than
        # the field's average, a shared "Martin" less (the value's u is already smoothed towards the
        # average for values seen a few times only: _set_frequencies)
        return math.log2(m / u_value)
    return math.log2(m / max(u, u_value))


def _score(p: _Prep, q: _Prep, explain: bool, prior: float,
           model: MatchModel = DEFAULT_MODEL) -> tuple[float, bool, tuple[str, ...], tuple[Evidence, ...], float]:
    """(score 0..1, deterministic?, reasons, evidence, total bits); reasons and evidence only if
    explain. Weights are in bits (log2 m/u) per comparison level."""
    fs, ls, swapped = _names(p, q)
    weight = prior
    # Without first names that clearly agree (missing, an initial, a typo, "Maëlle"/"Isabelle"), a shared
    # surname and address are what a housemate would share too: the household guard caps them.
    unconfirmed = fs is None or fs < 0.97
    household = 0.0
    evidence: list[Evidence] = []

    def add(field_: EvidenceField, level: EvidenceLevel, bits: float, housemate: bool = False) -> None:
        nonlocal weight, household
        capped = housemate and unconfirmed and bits > 0
        if capped:
            household += bits
        else:
            weight += bits
        if explain:
            evidence.append(Evidence(field=field_, level=level, bits=bits, capped=capped))

    if ls is not None:
        level = _last_level(ls, swapped)
        u_tf = max(p.u_last, q.u_last) if level in _LAST_TF else 0.0
        add(EvidenceField.LAST_NAME, level, _level_bits(model, EvidenceField.LAST_NAME, level, u_tf), True)
    elif explain:
        add(EvidenceField.LAST_NAME, EvidenceLevel.MISSING, 0.0)
    if fs is not None:
        level = _first_level(fs, swapped, p, q)
        u_tf = max(p.u_first, q.u_first) if level in _FIRST_TF else 0.0
        add(EvidenceField.FIRST_NAME, level, _level_bits(model, EvidenceField.FIRST_NAME, level, u_tf))
    elif explain:
        add(EvidenceField.FIRST_NAME, EvidenceLevel.MISSING, 0.0)
    conflict = _name_conflict(fs, ls)
    birth = _birth_agreement(p.birth, q.birth) if p.birth and q.birth else None
    if birth is not None:
        level = _BIRTH_LEVELS[birth]
        u_tf = max(p.u_birth, q.u_birth) if level is EvidenceLevel.EXACT else 0.0
        add(EvidenceField.BIRTH_DATE, level, _level_bits(model, EvidenceField.BIRTH_DATE, level, u_tf))
        conflict = conflict or birth == "birth_conflict"
    elif explain:
        add(EvidenceField.BIRTH_DATE, EvidenceLevel.MISSING, 0.0)
    same_email = p.email is not None and p.email == q.email
    same_phone = p.phone is not None and p.phone == q.phone
    same_loyalty = p.loyalty is not None and p.loyalty == q.loyalty
    # A shared identifier between clearly different people is a household, not an identity.
    household_email = same_email and (conflict or p.shared_email or _email_names_someone_else(p, q, swapped))
    household_phone = same_phone and (conflict or p.shared_phone)
    if same_email:
        if household_email:
            add(EvidenceField.EMAIL, EvidenceLevel.HOUSEHOLD, model.household_identifier_bits, True)
        else:
            add(EvidenceField.EMAIL, EvidenceLevel.EXACT, _bits(model.m_email, p.u_email))
    elif p.email and q.email:
        if p.shared_email or q.shared_email or _not_own_email(p) or _not_own_email(q):
            # one of the two is a household's e-mail (records of people the data tell apart carry it, or
            # it spells the surname with another given name): a person's own address and the family's
            # say nothing about each other
            if explain:
                add(EvidenceField.EMAIL, EvidenceLevel.NOT_COMPARED, 0.0)
        else:
            add(EvidenceField.EMAIL, EvidenceLevel.DIFFERS,
                _level_bits(model, EvidenceField.EMAIL, EvidenceLevel.DIFFERS))
    elif explain and p.blocked_email and p.blocked_email == q.blocked_email:
        add(EvidenceField.EMAIL, EvidenceLevel.BLOCKED, 0.0)
    if same_phone:
        if household_phone:
            add(EvidenceField.PHONE, EvidenceLevel.HOUSEHOLD, model.household_identifier_bits, True)
        else:
            add(EvidenceField.PHONE, EvidenceLevel.EXACT, _bits(model.m_phone, p.u_phone))
    elif p.phone and q.phone:
        if _phones_comparable(p.phone, q.phone):
            add(EvidenceField.PHONE, EvidenceLevel.DIFFERS,
                _level_bits(model, EvidenceField.PHONE, EvidenceLevel.DIFFERS))
        elif explain:
            add(EvidenceField.PHONE, EvidenceLevel.NOT_COMPARED, 0.0)  # the home's landline beside a mobile
    elif explain and p.blocked_phone and p.blocked_phone == q.blocked_phone:
        add(EvidenceField.PHONE, EvidenceLevel.BLOCKED, 0.0)
    if same_loyalty:
        if conflict:
            add(EvidenceField.LOYALTY_ID, EvidenceLevel.HOUSEHOLD, model.household_identifier_bits)
        else:
            add(EvidenceField.LOYALTY_ID, EvidenceLevel.EXACT, _bits(model.m_loyalty, p.u_loyalty))
    elif p.loyalty and q.loyalty:
        conflict = True  # two loyalty cards, two people: never merged automatically
        add(EvidenceField.LOYALTY_ID, EvidenceLevel.DIFFERS, _bits(0.01, 1.0))
    if p.postcode and q.postcode:
        level = _postcode_level(p.postcode, q.postcode)
        u_tf = max(p.u_postcode, q.u_postcode) if level is EvidenceLevel.EXACT else 0.0
        add(EvidenceField.POSTCODE, level, _level_bits(model, EvidenceField.POSTCODE, level, u_tf), True)
        if p.street and q.street and level is not EvidenceLevel.DIFFERS:
            level, bits = _street_agreement(p, q, model)
            add(EvidenceField.STREET, level, bits, True)
    elif p.city and p.city == q.city:
        add(EvidenceField.CITY, EvidenceLevel.EXACT, _bits(model.m_city, p.u_city), True)
        if p.street and q.street:
            # one postcode missing, the town the same: the street says what it says within a postcode
            # (the street's u is its share of the known postcode, the record without one counting 1.0)
            level, bits = _street_agreement(p, q, model)
            add(EvidenceField.STREET, level, bits, True)
    elif p.city and q.city and p.city not in q.city and q.city not in p.city:
        # a postcode missing on one side, and the towns differ: as much against as two postcodes that
        # differ ("Lyon" / "Lyon 3e" is the same town written twice)
        add(EvidenceField.CITY, EvidenceLevel.DIFFERS, _level_bits(model, EvidenceField.CITY, EvidenceLevel.DIFFERS))
    elif explain:
        add(EvidenceField.POSTCODE, EvidenceLevel.MISSING, 0.0)
    if household:
        taken = min(household, model.nameless_cap_bits - prior)
        weight += taken
        if explain:
            evidence.append(Evidence(field=EvidenceField.HOUSEHOLD_CAP, level=EvidenceLevel.CAPPED,
                                     bits=taken - household))
    # A personal identifier (not a household's) on two records with first names that agree is the
    # same person whatever the rest says; a record without a first name could be anyone at home.
    named = fs is not None and fs >= 0.85
    deterministic = not conflict and named and (
        (same_email and not household_email) or (same_phone and not household_phone) or same_loyalty)
    score = 1.0 if deterministic else 1.0 / (1.0 + 2.0 ** -weight)
    if not explain:
        return score, deterministic, (), (), weight
    shown = (Evidence(field=EvidenceField.PRIOR, level=EvidenceLevel.PRIOR, bits=prior), *evidence)
    reasons = [r for r, ok in (("same_email", same_email), ("same_phone", same_phone),
                               ("same_loyalty", same_loyalty)) if ok]
    if fs is not None or ls is not None:
        known = [s for s in (fs, ls) if s is not None]
        name = (known[0] + known[-1]) / 2  # both names' mean, or the one known name
        reasons.append(f"name~{name:.2f}")
    if swapped:
        reasons.append("swapped_names")
    if conflict:
        reasons.append("name_or_birth_conflict")
    if birth:
        reasons.append(birth)
    reasons += [str(e.field) for e in evidence
                if e.level is EvidenceLevel.EXACT and e.field in (EvidenceField.POSTCODE, EvidenceField.STREET)]
    reasons.append(f"weight={weight:.1f}")
    return score, deterministic, tuple(reasons), shown, weight


def _street_agreement(p: _Prep, q: _Prep, model: MatchModel) -> tuple[EvidenceLevel, float]:
    """The street's level and weight, once the postcode (or the town) agrees."""
    if p.street == q.street:
        # the street's share of its postcode; a record without a postcode has none (1.0, not counted)
        known = [u for u in (p.u_street, q.u_street) if u < 1.0]
        level, u_tf = EvidenceLevel.EXACT, max(known, default=0.0)
    elif _street_close(p.street, q.street):
        level, u_tf = EvidenceLevel.CLOSE, 0.0
    else:
        level, u_tf = EvidenceLevel.DIFFERS, 0.0
    return level, _level_bits(model, EvidenceField.STREET, level, u_tf)


def _email_names_someone_else(p: _Prep, q: _Prep, swapped: bool = False) -> bool:
    """A shared e-mail whose address spells the family name with another first name than the
    records' ("heliille.caserec@" on Sébastien Caserec's record) is a family e-mail, not his. With
    boxes swapped (swapped: as _names read the pair) either record may be the swapped one: the e-mail
    names someone else when one reading says so and no reading spells the records' own names
    ("c.montadaud@" on "Montadaud Clément" / Clément Montadaud)."""
    local = p.email.split("@", 1)[0] if p.email else ""
    if not swapped:
        return bool(_names_someone_else(local, p.first, p.last, q.first, q.last, p.roots | q.roots))
    readings = (_names_someone_else(local, p.last, p.first, q.first, q.last, nickname_roots(p.last) | q.roots),
                _names_someone_else(local, p.first, p.last, q.last, q.first, p.roots | nickname_roots(q.last)))
    return True in readings and False not in readings


def _names_someone_else(local: str, first_a: str, last_a: str, first_b: str, last_b: str,
                        roots: frozenset[str]) -> bool | None:
    """Whether an e-mail's local part spells the surname with another first name than first_a's or
    first_b's; None when it does not spell the surname (or nothing beside it)."""
    surname = (last_a or last_b).replace(" ", "")
    if not surname or surname not in local:
        return None
    rest = "".join(c for c in local.replace(surname, "", 1) if c.isalpha())
    if not rest:
        return None
    for first in (first_a, first_b):
        if not first:
            continue
        first = first.replace(" ", "")
        if len(rest) == 1 or len(first) == 1:
            if rest[0] != first[0]:
                return True
        elif not (first.startswith(rest) or rest.startswith(first) or rest in roots):
            return True
    return False


def _not_own_email(p: _Prep) -> bool:
    """The record's e-mail spells its surname with another given name than the record's ("famille.morel@",
    "marie.morel@" on Aurinwen Morel's record): a household's address, not the person's own."""
    return bool(p.email and p.first and p.last
                and _names_someone_else(p.email.split("@", 1)[0], p.first, p.last, "", "", p.roots))


def _people_differ(p: _Prep, q: _Prep, marking: bool = False) -> bool:
    # Both ways round: with swapped names _names(p, q) reads q as the swapped one, and "Clémence
    # Thomas" vs "Thomas C." clash that way but agree the other. A one-way test made the guard
    # depend on which group was the larger, so a second relink merged what the first had refused.
    fs, _, _ = _names(p, q, marking)
    if fs is not None and fs < 0.8:
        fs, _, _ = _names(q, p, marking)
        if fs is not None and fs < 0.8:
            return True
    return _births_conflict(p, q)


def _births_conflict(p: _Prep, q: _Prep) -> bool:
    """Both records carry a birth date, and they clearly differ (not a typo, not day and month swapped)."""
    return bool(p.birth and q.birth and _birth_agreement(p.birth, q.birth) == "birth_conflict")


def _hard_conflict(p: _Prep, q: _Prep) -> bool:
    """Never in one customer automatically: clearly different names or birth dates, or two
    different loyalty cards."""
    return bool(p.loyalty and q.loyalty and p.loyalty != q.loyalty) or _people_differ(p, q)


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
    prior: float = 0.0  # prior odds of a match, bits (depends on the batch size)
    model: MatchModel = DEFAULT_MODEL


Progress = Callable[[str, int, int], None]  # (stage, done, total): how far a long link has got


def score_candidates(records: Iterable[IdentityRecord], *, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                     floor: float | None = None, model: MatchModel = DEFAULT_MODEL,
                     progress: Progress | None = None) -> ScoredPairs:
    """Block, compare and keep every pair scoring at least `floor` (default: the review threshold)."""
    preps, prior = _prepare(records, thresholds, model)
    return _score_prepared(preps, prior, thresholds, floor, model, progress)


# Below this many records the EM has too few matches to learn from: the hand-set parameters serve.
EM_MIN_RECORDS = 2_000


def score_learned(records: Iterable[IdentityRecord], *, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                  floor: float | None = None, base: MatchModel = DEFAULT_MODEL,
                  min_records: int = EM_MIN_RECORDS,
                  progress: Progress | None = None) -> tuple[ScoredPairs, Estimate | None]:
    """score_candidates with the parameters estimated on these very records (estimate), the records
    read once; `base` below `min_records` records (the Estimate is then None). The learned model is
    ScoredPairs.model, to keep for records arriving later."""
    preps, prior = _prepare(records, thresholds, base)
    model, found = base, None
    if len(preps) >= min_records:
        if progress:
            progress("estimate", 0, 1)
        model, found = _estimate(preps, base=base)
        prior = _set_frequencies(preps, model)
    return _score_prepared(preps, prior, thresholds, floor, model, progress), found


def _score_prepared(preps: list[_Prep], prior: float, thresholds: Thresholds, floor: float | None,
                    model: MatchModel, progress: Progress | None = None) -> ScoredPairs:
    stats = LinkStats(records=len(preps))
    floor = thresholds.review if floor is None else floor
    if thresholds.best_candidate:
        floor = min(floor, thresholds.best_candidate)  # cluster_scored's best candidates read these
    edges: list[tuple[float, bool, int, int]] = []
    comparisons = 0
    total = len(preps)
    if progress:
        progress("block", 0, total)
    tick = 0
    for i, others in _candidates(preps, thresholds, stats):
        if progress and i >= tick:
            progress("score", i, total)
            tick = i + 50_000
        p = preps[i]
        for j in others:
            comparisons += 1
            score, deterministic, _, _, _ = _score(p, preps[j], False, prior, model)
            if score >= floor:
                edges.append((score, deterministic, i, j))
    stats.comparisons = comparisons
    if progress:
        progress("score", total, total)
    return ScoredPairs(preps=preps, edges=edges, stats=stats, prior=prior, model=model)


def score_around(records: Iterable[IdentityRecord], around: Collection[int], *,
                 thresholds: Thresholds = DEFAULT_THRESHOLDS, model: MatchModel = DEFAULT_MODEL,
                 must_link: Collection[tuple[int, int]] = ()) -> ScoredPairs:
    """score_candidates restricted to what can change the records `around` (keys): the edges of the
    connected component(s) holding them, following scored edges (>= the review threshold) and must_link
    pairs, found outward from them. Clustering is union-find, so those components cluster exactly as in
    the full scoring (every edge of a record in them is scored, tie order kept); what is left out are
    the pairs among the other records, which can only cluster those. All records are prepared, so term
    frequencies and the blocks (overshared identifiers) are those of the full batch. Identity on arrival
    uses it: its neighbourhood holds hundreds of records sharing a birth date or a postcode with the
    arrival, of which a handful connect to it."""
    preps, prior = _prepare(records, thresholds, model)
    stats = LinkStats(records=len(preps))
    floor = thresholds.review
    keep = min(floor, thresholds.best_candidate) if thresholds.best_candidate else floor
    position = {p.key: i for i, p in enumerate(preps)}
    near: dict[int, list[int]] = {}
    for i, others in _candidates(preps, thresholds, stats):
        for j in others:
            near.setdefault(i, []).append(j)
            near.setdefault(j, []).append(i)
    tied: dict[int, list[int]] = {}
    for a, b in must_link:
        ia, ib = position.get(a), position.get(b)
        if ia is not None and ib is not None:
            tied.setdefault(ia, []).append(ib)
            tied.setdefault(ib, []).append(ia)
    reached = {position[key] for key in around if key in position}
    frontier = sorted(reached)
    scored: set[tuple[int, int]] = set()
    edges: list[tuple[float, bool, int, int]] = []
    # records a reached one scores below the review threshold with: their own pairs are scored too (not
    # followed further), so that cluster_scored knows whether such a record's best candidate is a
    # reached record (Thresholds.best_candidate) as a full scoring would
    beside: list[int] = []

    def score_pair(i: int, j: int) -> float | None:
        pair = (i, j) if i < j else (j, i)
        if pair in scored:
            return None
        scored.add(pair)
        score, deterministic, _, _, _ = _score(preps[pair[0]], preps[pair[1]], False, prior, model)
        if score >= keep:
            edges.append((score, deterministic, pair[0], pair[1]))
        return score

    while frontier:
        i = frontier.pop()
        for j in tied.get(i, ()):
            if j not in reached:
                reached.add(j)
                frontier.append(j)
        for j in near.get(i, ()):
            score = score_pair(i, j)
            if score is None or score < keep:
                continue
            if score >= floor:
                if j not in reached:
                    reached.add(j)
                    frontier.append(j)
            else:
                beside.append(j)
    for j in beside:
        if j not in reached:
            for k in near.get(j, ()):
                score_pair(j, k)
    edges.sort(key=lambda edge: (edge[2], edge[3]))  # the (i, j) order score_candidates gives
    stats.comparisons = len(scored)
    return ScoredPairs(preps=preps, edges=edges, stats=stats, prior=prior, model=model)


def _prepare(records: Iterable[IdentityRecord], thresholds: Thresholds,
             model: MatchModel) -> tuple[list[_Prep], float]:
    """Normalised records in key order and the batch's prior odds (bits)."""
    shared = _Shared()
    blocked = thresholds.blocked_identifiers
    preps = [_Prep(rec, shared, blocked) for rec in records]
    del shared
    # Key order, not arrival order: a database may stream rows in any order, and which of two tied
    # pairs is merged first must not depend on it.
    preps.sort(key=_prep_key)
    if model.first_name_aliases:
        _apply_aliases(preps, model.first_name_aliases)
    return preps, _set_frequencies(preps, model)


def _candidates(preps: list[_Prep], thresholds: Thresholds, stats: LinkStats,
                wanted: Callable[[int], bool] | None = None) -> Iterator[tuple[int, list[int]]]:
    """Blocking: (i, the records j > i sharing a block with it, in order), for every i (or those
    `wanted`). Also marks identifiers shared by different people, and blocks overshared ones."""
    limit = thresholds.max_block_size
    member_blocks: list[list[int]] = [[] for _ in preps]
    blocks: list[list[int]] = []

    def add_block(members: list[int]) -> None:
        for i in members:
            member_blocks[i].append(len(blocks))
        blocks.append(members)

    # placeholders set aside by _Prep still count as the junk blocks they would have been
    placeholders = Counter(v for p in preps for v in (p.blocked_email, p.blocked_phone) if v is not None)
    stats.junk_blocks += sum(1 for count in placeholders.values() if count > 1)
    del placeholders
    at_home: dict[str, int | list[int]] = {}
    for i, p in enumerate(preps):
        if p.postcode and p.last:
            _file(at_home, f"{p.postcode}|{p.last[:3]}", i)
    extra = _unnamed_candidates(preps, at_home, 2 * thresholds.window)
    del at_home
    _surnameless_candidates(preps, extra, 2 * thresholds.window)
    # Identifier keys, then name keys a few kinds at a time: one index at a time, each emptied before
    # the next is made (at ten million records the keys are most of the memory; making a record's name
    # keys thrice costs less than holding them all). The identifiers go first and may blank an
    # overshared e-mail or phone; name keys never read those. Which index a block comes from changes
    # nothing: a record's candidates are the union of its blocks.
    taken: set[str] = set()  # name key kinds indexed by an earlier pass
    for kinds, is_identifier in _KEY_PASSES:
        index: dict[str, int | list[int]] = {}
        for i, p in enumerate(preps):
            if is_identifier:
                for key in _identifier_keys(p):
                    _file(index, key, i)
                continue
            for key in _name_keys(p):
                if (key[0] in kinds) if kinds is not None else (key[0] not in taken):
                    _file(index, key, i)
        taken |= kinds or set()
        for key, members in index.items():
            if isinstance(members, int):
                continue  # one record: no block
            if is_identifier:
                if len(members) > thresholds.max_shared_identifier and key[0] != "l":
                    _block_overshared(preps, members, key)
                    stats.junk_blocks += 1
                    continue
                _mark_shared_identifiers(preps, members, key, limit)
            if key[0] == "n" and not is_identifier:
                if len(members) <= _RARE_NAME_BLOCK:
                    add_block(members)
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

    for i in range(len(preps)):
        mine = member_blocks[i]
        if not mine and i not in extra:
            continue
        member_blocks[i] = []  # free as we go: peak memory matters at a million records
        if wanted is not None and not wanted(i):
            extra.pop(i, None)
            continue
        candidates: set[int] = set(extra.pop(i, ()))
        for b in mine:
            candidates.update(blocks[b])
        yield i, sorted(j for j in candidates if j > i)


# (first letters of the name keys indexed in this pass, None: every kind no earlier pass took;
# identifier keys?) The kinds are spread so that each pass holds about a third of the name keys, on
# retail and on registry data alike.
_KEY_PASSES: tuple[tuple[frozenset[str] | None, bool], ...] = (
    (None, True), (frozenset("yhn"), False), (frozenset("db"), False), (None, False))


def _file(index: dict[str, int | list[int]], key: str, i: int) -> None:
    """Add record i under key. A key held by one record keeps the bare index: most keys are (a unique
    e-mail, a rare name at a postcode), and a list for each would double the index's memory."""
    held = index.get(key)
    if held is None:
        index[key] = i
    elif isinstance(held, int):
        index[key] = [held, i]
    else:
        held.append(i)


def _unnamed_candidates(preps: list[_Prep], at_home: dict[str, int | list[int]], cap: int) -> dict[int, list[int]]:
    """A record without a first name (or with an initial) shares no name key with its own records;
    compare it with up to `cap` records of the same postcode and surname prefix, closest surname
    first, instead of putting every "Mar..." of a postcode in one block."""
    extra: dict[int, list[int]] = {}
    _pair_at_home(preps, at_home, lambda p: len(p.first) <= 1, lambda p: p.last, cap, extra)
    return extra


def _surnameless_candidates(preps: list[_Prep], extra: dict[int, list[int]], cap: int) -> None:
    """The mirror of _unnamed_candidates: a record without a surname ("Pierre", no surname, at his
    postcode) shares no name key with his own records (every key but the birth date's holds a surname's
    sound or letter). Compare it with up to `cap` records of the same postcode and first name's first
    three letters, the same first name first; added to `extra`. Only the postcodes and prefixes of
    surnameless records are indexed: they are few, and at ten million records a second index of every
    record would cost what the blocking keys do."""
    wanted = {f"{p.postcode}|{p.first[:3]}" for p in preps if p.postcode and not p.last and len(p.first) > 1}
    if not wanted:
        return
    at_home: dict[str, int | list[int]] = {}
    for i, p in enumerate(preps):
        if p.postcode and len(p.first) > 1:
            key = f"{p.postcode}|{p.first[:3]}"
            if key in wanted:
                _file(at_home, key, i)
    _pair_at_home(preps, at_home, lambda p: not p.last, lambda p: p.first, cap, extra)


def _pair_at_home(preps: list[_Prep], at_home: dict[str, int | list[int]], lacks: Callable[[_Prep], bool],
                  name: Callable[[_Prep], str], cap: int, extra: dict[int, list[int]]) -> None:
    """In each group of `at_home` (records of one postcode and name prefix), pair each record that
    `lacks` the name its keys would need with up to `cap` others of its group: the same `name` as its
    own first, then by that name. Added to `extra` (smaller index -> larger)."""
    for members in at_home.values():
        if isinstance(members, int):
            continue
        for i in members:
            if not lacks(preps[i]):
                continue
            own = name(preps[i])
            others = [j for j in members if j != i]
            if len(others) > cap:
                others = sorted(others, key=lambda j: (name(preps[j]) != own, name(preps[j]), j))[:cap]
            for j in others:
                extra.setdefault(min(i, j), []).append(max(i, j))


# --- estimation (expectation-maximisation, no labels) -----------------------------------------

_EM_FIELDS = (EvidenceField.FIRST_NAME, EvidenceField.LAST_NAME, EvidenceField.BIRTH_DATE,
              EvidenceField.POSTCODE, EvidenceField.STREET)
# (field, level) pairs whose m (and u, where the attribute is the level's own) the estimate replaces;
# levels sharing an attribute with another (swapped names) keep the shared estimate
_EM_LEVELS: dict[EvidenceField, tuple[EvidenceLevel, ...]] = {
    EvidenceField.FIRST_NAME: (EvidenceLevel.EXACT, EvidenceLevel.NICKNAME, EvidenceLevel.PREFIX, EvidenceLevel.TYPO,
                               EvidenceLevel.INITIAL, EvidenceLevel.SIMILAR, EvidenceLevel.DIFFERS),
    EvidenceField.LAST_NAME: (EvidenceLevel.EXACT, EvidenceLevel.TYPO, EvidenceLevel.SIMILAR, EvidenceLevel.DIFFERS),
    EvidenceField.BIRTH_DATE: (EvidenceLevel.EXACT, EvidenceLevel.TRANSPOSED, EvidenceLevel.ONE_DIGIT,
                               EvidenceLevel.DIFFERS),
    EvidenceField.POSTCODE: (EvidenceLevel.EXACT, EvidenceLevel.TRANSPOSED, EvidenceLevel.ONE_DIGIT,
                             EvidenceLevel.DIFFERS),
    EvidenceField.STREET: (EvidenceLevel.EXACT, EvidenceLevel.CLOSE, EvidenceLevel.DIFFERS),
}
_Pattern = tuple[EvidenceLevel | None, ...]  # one level per _EM_FIELDS entry, None when missing


def _levels(p: _Prep, q: _Prep) -> _Pattern:
    """The comparison vector of a pair: the same levels _score weighs, without weights or guards."""
    fs, ls, swapped = _names(p, q)
    first = _first_level(fs, swapped, p, q) if fs is not None else None
    last = _last_level(ls, swapped) if ls is not None else None
    if first is EvidenceLevel.SWAPPED:
        first = EvidenceLevel.NICKNAME
    if last is EvidenceLevel.SWAPPED:
        last = EvidenceLevel.TYPO
    birth = _BIRTH_LEVELS[_birth_agreement(p.birth, q.birth)] if p.birth and q.birth else None
    postcode = street = None
    if p.postcode and q.postcode:
        postcode = _postcode_level(p.postcode, q.postcode)
        if p.street and q.street and postcode is not EvidenceLevel.DIFFERS:
            if p.street == q.street:
                street = EvidenceLevel.EXACT
            elif _street_close(p.street, q.street):
                street = EvidenceLevel.CLOSE
            else:
                street = EvidenceLevel.DIFFERS
    return first, last, birth, postcode, street


@dataclass(frozen=True)
class Estimate:
    """What estimate_model found, for the benchmark and the logs (no customer data)."""

    records: int
    candidate_pairs: int  # pairs the EM ran on
    random_pairs: int  # pairs u was counted on
    match_share: float  # lambda: estimated share of candidate pairs that are the same person
    iterations: int
    m: dict[tuple[EvidenceField, EvidenceLevel], float]
    u: dict[tuple[EvidenceField, EvidenceLevel], float]
    aliases: int = 0  # first-name pairs learned as one person's (learn_aliases); how many, not which

    def describe(self) -> str:
        parts = [f"{f}/{lv} m={m:.3f} u={self.u[(f, lv)]:.2g} ({math.log2(m / self.u[(f, lv)]):+.1f} bits)"
                 for (f, lv), m in sorted(self.m.items())]
        return (f"{self.records:,} records, {self.candidate_pairs:,} candidate pairs, {self.random_pairs:,} random "
                f"pairs, lambda={self.match_share:.3f} after {self.iterations} iterations, "
                f"{self.aliases} first-name aliases learned; " + "; ".join(parts))


def estimate(records: Iterable[IdentityRecord], *, base: MatchModel = DEFAULT_MODEL,
             thresholds: Thresholds = DEFAULT_THRESHOLDS, max_candidates: int = 400_000,
             random_pairs: int = 200_000, iterations: int = 30, seed: int = 1) -> tuple[MatchModel, Estimate]:
    """Fellegi-Sunter parameters learned from the records being linked, without labels.

    u (chance agreement) is counted on random pairs, which are nearly all different people; an exact
    agreement's u is computed from the values' frequencies (sum of squared shares), exact even for
    rare birth dates. m (agreement among true matches) comes from expectation-maximisation with u held
    fixed (as Splink does) in two sessions of blocked pairs, at most `max_candidates` pairs each (see
    _em_session). Identifier fields (e-mail, phone, loyalty id) keep `base`'s parameters for an
    agreement: it is a rule (deterministic links, household guard), and its u is each value's own
    frequency anyway; the m of two different e-mails or phones is read off the EM's matches (a last
    M-step that does not feed back), where the records carry enough of them.
    The guards are not weights and are not estimated. Deterministic for given records and seed.
    """
    preps, _ = _prepare(records, thresholds, base)
    return _estimate(preps, base=base, max_candidates=max_candidates, random_pairs=random_pairs,
                     iterations=iterations, seed=seed)


def _estimate(preps: list[_Prep], *, base: MatchModel, max_candidates: int = 400_000,
              random_pairs: int = 200_000, iterations: int = 30, seed: int = 1) -> tuple[MatchModel, Estimate]:
    n = len(preps)
    if n < 2:
        return base, Estimate(n, 0, 0, 0.0, 0, {}, {})
    # the aliases first: the EM then counts the pairs they join at the NICKNAME level, whose m it learns
    aliases = learn_aliases(preps)
    if aliases or base.first_name_aliases:
        _apply_aliases(preps, aliases, base.first_name_aliases)
    rng = random.Random(seed)
    # u: random pairs; the exact levels from value frequencies
    u_counts: dict[tuple[EvidenceField, EvidenceLevel], int] = Counter()
    u_seen: Counter[EvidenceField] = Counter()
    for _ in range(random_pairs):
        i, j = rng.randrange(n), rng.randrange(n)
        if i == j:
            continue
        for f, level in zip(_EM_FIELDS, _levels(preps[i], preps[j]), strict=True):
            if level is not None:
                u_counts[(f, level)] += 1
                u_seen[f] += 1
    u: dict[tuple[EvidenceField, EvidenceLevel], float] = {}
    for f, levels in _EM_LEVELS.items():
        for level in levels:
            # add-one smoothing: a level never met by chance in the sample is rare, not impossible
            u[(f, level)] = (u_counts[(f, level)] + 1) / (u_seen[f] + len(levels))
    values: dict[EvidenceField, Callable[[_Prep], object]] = {
        EvidenceField.FIRST_NAME: lambda p: p.formal, EvidenceField.LAST_NAME: lambda p: p.last,
        EvidenceField.BIRTH_DATE: lambda p: p.birth, EvidenceField.POSTCODE: lambda p: p.postcode,
        EvidenceField.STREET: lambda p: (p.postcode, p.street) if p.postcode else None}
    for f, value_of in values.items():
        counts = Counter(value_of(p) for p in preps)
        for empty in (None, "", (None, "")):
            counts.pop(empty, None)
        present = sum(counts.values())
        if present > 1:
            share = sum(c * (c - 1) for c in counts.values()) / (present * (present - 1))
            u[(f, EvidenceLevel.EXACT)] = max(share, 1 / (present * present))
    # the street's u in the model is conditional on the postcode agreeing
    u[(EvidenceField.STREET, EvidenceLevel.EXACT)] /= max(u[(EvidenceField.POSTCODE, EvidenceLevel.EXACT)], 1e-12)
    for level in (EvidenceLevel.CLOSE, EvidenceLevel.DIFFERS):
        u_seen_street = u_counts[(EvidenceField.STREET, level)]
        u[(EvidenceField.STREET, level)] = (u_seen_street + 1) / (u_seen[EvidenceField.STREET] + 3)

    # m by EM, in two sessions (as Splink does): pairs born the same day, for the names and the
    # address; pairs at one postcode with one surname, for the first name and the birth date. A field
    # a session blocks on always agrees there, so it stays out of that session's likelihood; and the
    # agreement the blocking forces is not mistaken for evidence of a match.
    by_birth = _em_session(preps, lambda p: p.birth, (0, 1, 3, 4), u, base, max_candidates, iterations,
                           identifiers=True)
    by_home = _em_session(preps, lambda p: (p.postcode, phonetic_key(p.last.replace(" ", "")))
                          if p.postcode and p.last else None, (0, 2), u, base, max_candidates, iterations)
    m = {key: (by_home if key[0] is EvidenceField.BIRTH_DATE else by_birth).m[key] for key in by_birth.m}
    params: dict[str, Any] = {}  # MatchModel float fields by name (replace() is typed per field)
    for (f, level), value in m.items():
        m_name, u_name = _LEVEL_PARAMS[(f, level)]
        params[m_name] = value
        if u_name and (f, level) != (EvidenceField.BIRTH_DATE, EvidenceLevel.TRANSPOSED):
            params[u_name] = u[(f, level)]
    # a different e-mail or phone: how often the same person's two records carry two (u: nearly every
    # pair of people has two). Read off the pairs born the same day, whose matches the names and the
    # address tell; a sample too small for it keeps the hand-set m (and records without identifiers,
    # as registry data, have none)
    for f in _IDENTIFIER_FIELDS:
        compared = by_birth.compared.get(f, 0.0)
        if compared >= _MIN_IDENTIFIER_MATCHES:
            m[(f, EvidenceLevel.DIFFERS)] = (by_birth.differing.get(f, 0.0) + 0.5) / (compared + 1.0)
            u[(f, EvidenceLevel.DIFFERS)] = base.u_differs
            params[_LEVEL_PARAMS[(f, EvidenceLevel.DIFFERS)][0]] = m[(f, EvidenceLevel.DIFFERS)]
    # the prior: matching pairs born the same day, over the share of matches born the same day (the
    # share among pairs where both records have a birth date, times the chance that both have one)
    dated = sum(1 for p in preps if p.birth) / n
    born_same_day = m.get((EvidenceField.BIRTH_DATE, EvidenceLevel.EXACT), 0.0) * dated * dated
    if by_birth.pairs and born_same_day > 0.05:
        params["matches_per_record"] = min(4.0, 2 * by_birth.share * by_birth.pairs / born_same_day / n)
    params[_ALIASES] = aliases
    model = replace(base, **params)  # MatchModel's float fields (_LEVEL_PARAMS) and the aliases
    return model, Estimate(n, by_birth.pairs + by_home.pairs, random_pairs, by_birth.share,
                           by_birth.rounds + by_home.rounds, m, u, len(aliases))


@dataclass
class _Session:
    m: dict[tuple[EvidenceField, EvidenceLevel], float]
    share: float
    pairs: int
    rounds: int
    # e-mail and phone: the expected matches whose two values are both present, and of those the
    # expected matches whose values differ (_identifier_levels), by the session's final parameters
    compared: dict[EvidenceField, float] = field(default_factory=dict)
    differing: dict[EvidenceField, float] = field(default_factory=dict)


_IDENTIFIER_FIELDS = (EvidenceField.EMAIL, EvidenceField.PHONE)
# Fewer expected matches than this with both values present: the hand-set m of a disagreement stays
_MIN_IDENTIFIER_MATCHES = 200


def _identifier_levels(p: _Prep, q: _Prep) -> tuple[EvidenceLevel | None, EvidenceLevel | None]:
    """The e-mail's and the phone's levels as _score weighs them (EXACT, DIFFERS, None when not
    compared). Before blocking no identifier is known as a household's yet (the shared flags): a family
    e-mail that does not spell another given name counts as a disagreement here, which only makes the
    estimated m of a disagreement larger (its weight milder) than the scoring's own reading."""
    email = phone = None
    if p.email and q.email:
        if p.email == q.email:
            email = EvidenceLevel.EXACT
        elif not (_not_own_email(p) or _not_own_email(q)):
            email = EvidenceLevel.DIFFERS
    if p.phone and q.phone:
        if p.phone == q.phone:
            phone = EvidenceLevel.EXACT
        elif _phones_comparable(p.phone, q.phone):
            phone = EvidenceLevel.DIFFERS
    return email, phone


def _log_ratio(pattern: _Pattern, m: dict[tuple[EvidenceField, EvidenceLevel], float],
               u: dict[tuple[EvidenceField, EvidenceLevel], float]) -> float:
    ratio = 0.0
    for f, level in zip(_EM_FIELDS, pattern, strict=True):
        if level is not None:
            ratio += math.log(m[(f, level)] / u[(f, level)])
    return ratio


def _em_session(preps: list[_Prep], block_of: Callable[[_Prep], object], fields: tuple[int, ...],
                u: dict[tuple[EvidenceField, EvidenceLevel], float], base: MatchModel, max_pairs: int,
                iterations: int, identifiers: bool = False) -> _Session:
    """EM with u fixed on the pairs sharing block_of's value, the likelihood over `fields` (indexes
    into _EM_FIELDS). Blocks of more than 50 records (a placeholder birth date) are left out; the
    pairs are capped at max_pairs, blocks taken in a fixed order. identifiers: also count, once the
    EM has converged, how often the e-mails and the phones of the expected matches differ (a last
    M-step for those levels alone: they stay out of the likelihood, which the names and the address
    decide, so that a shared e-mail cannot vouch for itself)."""
    blocks: dict[object, list[int]] = {}
    for i, p in enumerate(preps):
        value = block_of(p)
        if value is not None:
            blocks.setdefault(value, []).append(i)
    patterns: Counter[_Pattern] = Counter()
    with_identifiers: Counter[tuple[_Pattern, tuple[EvidenceLevel | None, EvidenceLevel | None]]] = Counter()
    pairs = 0
    for members in blocks.values():
        if not 2 <= len(members) <= 50:
            continue
        for n_, i in enumerate(members):
            for j in members[n_ + 1:]:
                pattern = _levels(preps[i], preps[j])
                kept = tuple(pattern[k] if k in fields else None for k in range(len(_EM_FIELDS)))
                patterns[kept] += 1
                if identifiers:
                    with_identifiers[(kept, _identifier_levels(preps[i], preps[j]))] += 1
        pairs += len(members) * (len(members) - 1) // 2
        if pairs >= max_pairs:
            break
    m: dict[tuple[EvidenceField, EvidenceLevel], float] = {}
    for f, levels in _EM_LEVELS.items():  # start from the hand-set m
        raw = {level: getattr(base, _LEVEL_PARAMS[(f, level)][0]) for level in levels}
        total = sum(raw.values())
        m.update({(f, level): value / total for level, value in raw.items()})
    share = 0.1
    rounds = 0
    items = list(patterns.items())
    while items and rounds < iterations:
        rounds += 1
        weight_m: dict[tuple[EvidenceField, EvidenceLevel], float] = dict.fromkeys(m, 0.0)
        seen_m: dict[EvidenceField, float] = dict.fromkeys(_EM_FIELDS, 0.0)
        matched = 0.0
        for pattern, count in items:
            odds = share / (1 - share) * math.exp(min(_log_ratio(pattern, m, u), 700.0))
            posterior = odds / (1 + odds) * count
            matched += posterior
            for f, level in zip(_EM_FIELDS, pattern, strict=True):
                if level is not None:
                    weight_m[(f, level)] += posterior
                    seen_m[f] += posterior
        new_share = min(max(matched / pairs, 1e-6), 1 - 1e-6)
        change = abs(new_share - share)
        share = new_share
        for f, levels in _EM_LEVELS.items():
            if seen_m[f]:
                for level in levels:
                    # a small floor: a level the matches never showed here may still happen
                    m[(f, level)] = (weight_m[(f, level)] + 0.5) / (seen_m[f] + 0.5 * len(levels))
        if change < 1e-7:
            break
    session = _Session(m=m, share=share, pairs=pairs, rounds=rounds)
    for (pattern, found), count in with_identifiers.items():
        odds = share / (1 - share) * math.exp(min(_log_ratio(pattern, m, u), 700.0))
        posterior = odds / (1 + odds) * count
        for f, level in zip(_IDENTIFIER_FIELDS, found, strict=True):
            if level is not None:
                session.compared[f] = session.compared.get(f, 0.0) + posterior
                if level is EvidenceLevel.DIFFERS:
                    session.differing[f] = session.differing.get(f, 0.0) + posterior
    return session


# --- first-name aliases learned from the records (no labels) -----------------------------------

# A first-name pair is learned as one person's when one person's own identifiers (one loyalty card, or
# one e-mail *and* one mobile) carry both names in at least this many households (distinct surnames) ...
ALIAS_HOUSEHOLDS = 5
# ... when it is at least this share of the households one of the two names is vouched in with another
# name: a nickname stands for one name ("kiki": Christine), while a parent's and a child's names on a
# family e-mail and mobile are spread over all the names families give ("marie": Jean, Guillaume, ...)
ALIAS_SHARE = 0.5
# ... and when the two names are seen as two people (two birth dates, two loyalty cards, at one home or on
# one identifier) in fewer than one household for this many that vouch for them
ALIAS_DISTINCT_RATIO = 20
# identifier groups larger than this are a household's or a placeholder's, never one person's
_ALIAS_GROUP = 12
_HOME_GROUP = 60  # homes (postcode and surname) larger than this are read for two-people signs no further


def _alias_pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _household(last: str) -> str:
    """A household, as far as independence goes: its surname's sound (a typo of one family's surname, or
    two families whose surnames sound alike, count once)."""
    return phonetic_key(last.replace(" ", "")) or last


def learn_aliases(preps: list[_Prep]) -> frozenset[tuple[str, str]]:
    """First-name pairs that are one person's under two names the nickname table does not know
    ("kiki" / "christine", "guigui" / "guillaume"), learned from the records being linked, without labels.

    A pair is *vouched for* in a household (a surname) when two records of that surname carry both names
    on one person's identifiers: the same loyalty card, or the same e-mail and the same mobile (not a
    landline; placeholders are no identifiers already), with birth dates that do not differ and no two
    loyalty cards. Names the rules already read as one (a nickname of the table, a prefix, a typo) teach
    nothing. A parent and a child on one family e-mail and mobile are vouched for too, once: what tells
    them apart is that (1) a learned pair needs ALIAS_HOUSEHOLDS households of different surnames,
    (2) it must be most (ALIAS_SHARE) of what one of its names is vouched with (a family's two names are
    each vouched with many others across households: "Marie" with Jean, Pierre, Guillaume...), and
    (3) the two names must (nearly) never be two people: two records with these names at one home
    (postcode and surname) or on one identifier with birth dates that clearly differ or two loyalty
    cards count against it, one such household per ALIAS_DISTINCT_RATIO vouching ones sinks it.
    Deterministic: counts only, whatever the records' order. The table holds names common to many
    households, not anyone's record."""
    by_identifier: dict[tuple[str, ...], list[int]] = {}
    for i, p in enumerate(preps):
        if len(p.first) < 2 or not p.last:
            continue
        if p.loyalty:
            by_identifier.setdefault(("l", p.loyalty), []).append(i)
        if p.email and p.phone and not p.phone.startswith(_LANDLINE_PREFIXES):
            by_identifier.setdefault(("m", p.email, p.phone), []).append(i)
    static: dict[str, frozenset[str]] = {}

    def roots(name: str) -> frozenset[str]:
        held = static.get(name)
        if held is None:
            held = static[name] = nickname_roots(name)
        return held

    vouched: dict[tuple[str, str], set[str]] = {}
    for i, j in _pairs_within(by_identifier.values(), _ALIAS_GROUP):
        p, q = preps[i], preps[j]
        if p.first == q.first or _last_sim(p.last, q.last) < 0.9 or _two_people(p, q):
            continue
        if _first_sim(p.first, q.first, roots(p.first), roots(q.first)) >= 0.9:
            continue  # the rules read these already: a nickname of the table, a prefix, a typo
        vouched.setdefault(_alias_pair(p.first, q.first), set()).add(_household(p.last))
    if not vouched:
        return frozenset()
    spread: Counter[str] = Counter()  # households each name is vouched in with another name
    for (a, b), homes in vouched.items():
        spread[a] += len(homes)
        spread[b] += len(homes)
    candidates = {pair for pair, homes in vouched.items() if len(homes) >= ALIAS_HOUSEHOLDS
                  and len(homes) >= ALIAS_SHARE * min(spread[pair[0]], spread[pair[1]])}
    if not candidates:
        return frozenset()
    named = {name for pair in candidates for name in pair}
    distinct = _seen_as_two_people(preps, candidates, named, by_identifier)
    return frozenset(pair for pair in candidates
                     if len(distinct.get(pair, ())) * ALIAS_DISTINCT_RATIO < len(vouched[pair]))


def _seen_as_two_people(preps: list[_Prep], candidates: set[tuple[str, str]], named: set[str],
                        by_identifier: dict[tuple[str, ...], list[int]]) -> dict[tuple[str, str], set[str]]:
    """For each candidate pair, the households (surnames) where two records with these names are two
    people: at one home (postcode and surname) or on one e-mail, phone or loyalty card, with birth dates
    that clearly differ or two loyalty cards."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, p in enumerate(preps):
        if p.first not in named or not p.last:
            continue
        if p.postcode:
            groups.setdefault(("h", p.postcode, p.last), []).append(i)
        if p.email:
            groups.setdefault(("e", p.email), []).append(i)
        if p.phone:
            groups.setdefault(("t", p.phone), []).append(i)
    distinct: dict[tuple[str, str], set[str]] = {}
    for i, j in _pairs_within(groups.values(), _HOME_GROUP):
        p, q = preps[i], preps[j]
        pair = _alias_pair(p.first, q.first)
        if pair in candidates and _two_people(p, q):
            distinct.setdefault(pair, set()).add(_household(p.last))
    return distinct


def _pairs_within(groups: Iterable[list[int]], largest: int) -> Iterator[tuple[int, int]]:
    """Every pair of members of each group of 2 to `largest` members (a bigger group says nothing of one
    person: a shared or placeholder value)."""
    for members in groups:
        if 2 <= len(members) <= largest:
            for n, i in enumerate(members):
                for j in members[n + 1:]:
                    yield i, j


def _two_people(p: _Prep, q: _Prep) -> bool:
    """Birth dates that clearly differ, or two loyalty cards: two people, whatever their names."""
    return _births_conflict(p, q) or bool(p.loyalty and q.loyalty and p.loyalty != q.loyalty)


def _apply_aliases(preps: list[_Prep], aliases: frozenset[tuple[str, str]],
                   previous: frozenset[tuple[str, str]] = frozenset()) -> None:
    """Each record's first-name roots: the nickname table's, and the names it is learned an alias of
    (both ways round: "kiki" and "christine" then share a root as "bob" and "robert" do). The formal name
    the record blocks and counts under stays the table's: the blocks arrival reads are relink's."""
    partners: dict[str, set[str]] = {}
    for a, b in aliases:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    touched = set(partners) | {name for pair in previous for name in pair}  # the others keep the table's
    read: dict[str, frozenset[str]] = {}
    for p in preps:
        if p.first not in touched:
            continue
        held = read.get(p.first)
        if held is None:
            held = read[p.first] = nickname_roots(p.first) | frozenset(partners.get(p.first, ()))
        p.roots = held


def model_as_json(model: MatchModel) -> dict[str, Any]:
    """The parameters, to keep (LearnedMatchModel.parameters): the weights, and the learned first-name
    aliases as sorted [name, name] pairs."""
    data: dict[str, Any] = {name: float(value) for name, value in vars(model).items() if name != _ALIASES}
    data[_ALIASES] = sorted([a, b] for a, b in model.first_name_aliases)
    return data


_ALIASES = "first_name_aliases"


def model_from_json(data: object, base: MatchModel = DEFAULT_MODEL) -> MatchModel:
    """Read model_as_json's output back; parameters this version does not know are ignored and those
    it added since keep `base`'s value, so a stored model survives an upgrade."""
    if not isinstance(data, dict):
        return base
    known = {f.name: type(getattr(base, f.name)) for f in fields(MatchModel) if f.name != _ALIASES}
    chosen: dict[str, Any] = {name: known[name](value) for name, value in data.items()
                              if name in known and isinstance(value, (int, float))}
    aliases = data.get(_ALIASES)
    if isinstance(aliases, list):
        chosen[_ALIASES] = frozenset(_alias_pair(a, b) for a, b in (pair for pair in aliases
                                     if isinstance(pair, list) and len(pair) == 2)
                                     if isinstance(a, str) and isinstance(b, str) and a and b and a != b)
    return replace(base, **chosen)


def estimate_model(records: Iterable[IdentityRecord], **options: Any) -> MatchModel:
    """estimate(...)'s model alone (see estimate)."""
    return estimate(records, **options)[0]


# --- clustering -------------------------------------------------------------------------------


def _bits_of(score: float) -> float:
    return 60.0 if score >= 1.0 else math.log2(score / (1.0 - score))


def _ambiguous_edges(scored: ScoredPairs, thresholds: Thresholds) -> set[tuple[int, int]]:
    """Guard: a record that fits two people equally well is not merged with either, it is reviewed.

    "Julien Quereier, 120 rue des Jardins", no birth date, fits the father and the son of that name;
    "L. Lambert, 2011-04-28" fits Louise and her twin Lucas. When a record's confident fuzzy matches
    include two records that can never be one customer (_hard_conflict), neither of which conflicts with
    the record itself, and neither match is clearly (ambiguity_bits) the better, all its fuzzy matches
    among them go to review instead."""
    preps = scored.preps
    near: dict[int, list[tuple[float, int]]] = {}
    for score, deterministic, i, j in scored.edges:
        if score >= thresholds.merge and not deterministic:
            near.setdefault(i, []).append((score, j))
            near.setdefault(j, []).append((score, i))
    demoted: set[tuple[int, int]] = set()
    for r, matches in near.items():
        if len(matches) < 2:
            continue
        # a record that can never be one customer with r (a twin with another first name, the father
        # of an undated son's record) is no rival match: clustering refuses that edge on its own, and
        # counting it would hold r's real match for review
        matches = [m for m in matches if not _hard_conflict(preps[r], preps[m[1]])]
        if len(matches) < 2:
            continue
        matches.sort(key=lambda m: (-m[0], m[1]))
        matches = matches[:8]  # the best few: a crowd of equal matches is the window's business
        for n, (score_x, x) in enumerate(matches):
            for score_y, y in matches[n + 1:]:
                if (abs(_bits_of(score_x) - _bits_of(score_y)) < thresholds.ambiguity_bits
                        and _hard_conflict(preps[x], preps[y])):
                    demoted.add((min(r, x), max(r, x)))
                    demoted.add((min(r, y), max(r, y)))
    return demoted


def _identified(p: _Prep) -> bool:
    """Whether a record carries a way of its own to be found again: an e-mail or mobile that is this
    person's (not a placeholder, not a family's or a landline), or a loyalty card. The next time the
    person gives it, it links them; a record of a name, a birth date and an address has no such way."""
    return bool((p.email and not p.shared_email) or (p.phone and not p.shared_phone) or p.loyalty)


def _best_candidates(scored: ScoredPairs, thresholds: Thresholds) -> list[tuple[float, int, int]]:
    """(score, i, j), i < j, in (i, j) order: each record that no pair scores `review` with and that
    carries no identifier of its own (`_identified`: such a record links by it the next time; asking
    about its weak best candidates mostly asks about strangers), and its best candidate scoring at least
    `best_candidate` that it does not conflict with (_hard_conflict: a twin, a father), the highest
    score, then the lowest index. Read from each record's own pairs alone, so that scoring around an
    arrival (score_around) finds what a full scoring finds."""
    low = thresholds.best_candidate
    if not low or low >= thresholds.review:
        return []
    preps = scored.preps
    paired: set[int] = set()
    for score, _, i, j in scored.edges:
        if score >= thresholds.review:
            paired.add(i)
            paired.add(j)
    best: dict[int, tuple[float, int]] = {}
    for score, _, i, j in scored.edges:
        if score >= thresholds.review or score < low:
            continue
        for a, b in ((i, j), (j, i)):
            if a in paired or _identified(preps[a]):
                continue
            held = best.get(a)
            if (held is None or score > held[0] or (score == held[0] and b < held[1])) \
                    and not _hard_conflict(preps[a], preps[b]):
                best[a] = (score, b)
    return sorted({(score, min(a, b), max(a, b)) for a, (score, b) in best.items()},
                  key=lambda pair: (pair[1], pair[2]))


def _pair_scores(scored: ScoredPairs) -> Callable[[int, int], float | None]:
    """The score of a compared pair (i, j) kept in scored.edges (>= the scoring floor), else None; a
    binary search over the edges' (i, j) keys (8 bytes an edge), the edges being in (i, j) order."""
    edges = scored.edges
    n = len(scored.preps)
    keys = array("q", [i * n + j for _, _, i, j in edges])
    if any(keys[k] > keys[k + 1] for k in range(len(keys) - 1)):
        raise ValueError("scored edges must be in (i, j) order")

    def score_of(x: int, y: int) -> float | None:
        key = x * n + y if x < y else y * n + x
        at = bisect_right(keys, key) - 1
        return edges[at][0] if at >= 0 and keys[at] == key else None

    return score_of


def _doubtful_join(group_i: list[int], group_j: list[int], score_of: Callable[[int, int], float | None],
                   thresholds: Thresholds) -> bool:
    """Average linkage: whether the pairs across two groups that were compared (kept edges, the joining
    edge among them) average below the review threshold's log-odds (even odds at 0.5). Pairs never
    compared (no shared block) or scored below the floor say nothing here; a deterministic pair counts
    as _bits_of(1.0). The same edges are kept by a full scoring and around an arrival (score_around
    scores every candidate pair of the records it reaches), so relink and arrival decide alike."""
    total, count = 0.0, 0
    for x in group_i:
        for y in group_j:
            score = score_of(x, y)
            if score is not None:
                total += _bits_of(score)
                count += 1
    return count > 0 and total < _bits_of(thresholds.review) * count


def cluster_scored(scored: ScoredPairs, *, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                   cannot_link: Collection[tuple[int, int]] = (),
                   must_link: Collection[tuple[int, int]] = (), explain_links: bool = True) -> LinkResult:
    """Union-find over the scored edges (module docstring, step 5). explain_links=False leaves the
    links' reasons and evidence out (a batch relink stores clusters and reviews, never the links: at
    ten million records their evidence would be gigabytes); review pairs are always explained."""
    preps = scored.preps
    stats = LinkStats(**vars(scored.stats))
    # record key -> index: preps are in key order, so a binary search over the keys serves (8 bytes a
    # record, where a dict took ~100); the union-find's parents likewise sit in an array
    keys = array("q", [p.key for p in preps])

    def index_of(key: int) -> int:
        at = bisect_right(keys, key) - 1
        return at if at >= 0 and keys[at] == key else -1

    parent = array("q", range(len(preps)))
    members: dict[int, list[int]] = {}
    score_of = _pair_scores(scored) if thresholds.average_linkage else None
    forbidden: dict[int, set[int]] = {}
    for a, b in cannot_link:
        ia, ib = index_of(a), index_of(b)
        if ia >= 0 and ib >= 0:
            forbidden.setdefault(ia, set()).add(ib)
            forbidden.setdefault(ib, set()).add(ia)

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(i: int, j: int, check_conflict: bool) -> Literal["same", "cannot_link", "conflict", "doubtful",
                                                               "merged"]:
        ri, rj = find(i), find(j)
        if ri == rj:
            return "same"
        group_i, group_j = members.get(ri, [ri]), members.get(rj, [rj])
        if len(group_i) < len(group_j):
            ri, rj, group_i, group_j = rj, ri, group_j, group_i
        banned_i, banned_j = forbidden.get(ri), forbidden.get(rj)
        if banned_i and banned_j and any(find(x) == rj for x in banned_i):
            return "cannot_link"
        if (check_conflict and len(group_i) * len(group_j) <= thresholds.max_conflict_check
                and any(_hard_conflict(preps[x], preps[y]) for x in group_i for y in group_j)):
            return "conflict"
        if (check_conflict and score_of is not None and 1 < len(group_i) * len(group_j) <= thresholds.max_conflict_check
                and _doubtful_join(group_i, group_j, score_of, thresholds)):
            return "doubtful"
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
        ia, ib = index_of(a), index_of(b)
        if ia >= 0 and ib >= 0 and union(ia, ib, False) == "merged":
            links.append(PairDecision(a=a, b=b, score=1.0, reasons=(LinkKind.MUST_LINK,), kind="deterministic"))

    uncertain: list[tuple[float, int, int]] = []
    demoted = _ambiguous_edges(scored, thresholds)
    # A stable sort: tied scores (every shared e-mail scores 1.0) keep the (i, j) order of the edges,
    # so the conflict guard's first-come decisions are the same on every run.
    for score, deterministic, i, j in sorted(scored.edges, key=_by_score_desc):
        if score < thresholds.review:
            break
        if (score < thresholds.merge and not deterministic) or (i, j) in demoted:
            uncertain.append((score, i, j))
            continue
        outcome = union(i, j, True)
        if outcome == "cannot_link":
            stats.refused_cannot_link += 1
            continue
        if explain_links or outcome in ("conflict", "doubtful"):
            _, _, reasons, evidence, total = _score(preps[i], preps[j], True, scored.prior, scored.model)
        else:
            reasons, evidence, total = (), (), 0.0
        if outcome == "doubtful":
            reasons = (*reasons, "average_linkage")
        decision = PairDecision(a=preps[i].key, b=preps[j].key, score=score, reasons=reasons,
                                kind="deterministic" if deterministic else "fuzzy", evidence=evidence,
                                total_bits=total)
        if outcome == "conflict" or outcome == "doubtful":
            if outcome == "conflict":
                stats.refused_conflict += 1
            else:
                stats.refused_doubtful += 1
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
            _, _, reasons, evidence, total = _score(preps[i], preps[j], True, scored.prior, scored.model)
            review.append(PairDecision(a=a, b=b, score=score, reasons=reasons, kind="fuzzy",
                                       evidence=evidence, total_bits=total))
    for score, i, j in _best_candidates(scored, thresholds):
        a, b = preps[i].key, preps[j].key
        if find(i) != find(j) and (min(a, b), max(a, b)) not in separated:
            _, _, reasons, evidence, total = _score(preps[i], preps[j], True, scored.prior, scored.model)
            review.append(PairDecision(a=a, b=b, score=score, reasons=(*reasons, "best_candidate"),
                                       kind="fuzzy", evidence=evidence, total_bits=total))

    clusters: dict[int, list[int]] = {}
    for i, p in enumerate(preps):
        clusters.setdefault(find(i), []).append(p.key)
    return LinkResult(clusters=list(clusters.values()), review=review, links=links, stats=stats)


def link_records(records: Iterable[IdentityRecord], *, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                 cannot_link: Collection[tuple[int, int]] = (),
                 must_link: Collection[tuple[int, int]] = (), model: MatchModel = DEFAULT_MODEL) -> LinkResult:
    """Cluster records into customers; see the module docstring for the method. `model`: the
    parameters to weigh with, e.g. those the last batch relink learned (score_learned)."""
    scored = score_candidates(records, thresholds=thresholds, model=model)
    return cluster_scored(scored, thresholds=thresholds, cannot_link=cannot_link, must_link=must_link)
