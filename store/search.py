"""Finding a customer from whatever the associate types: an e-mail, a phone number in any format, a
loyalty card, an order number, a customer id, or a name with typos ("Dupont Lyon" = name + city).

Exact kinds go through indexed identifier lookups. Names go in two steps: the database proposes
candidates through the customer_name_keys table, whose one-letter-deletion keys meet any typo of one
letter (kept by triggers: SQL on SQLite, revision 0002; PL/pgSQL on PostgreSQL, revision 0003; so
every process sharing the database sees every writer's changes), then rapidfuzz ranks them here. Only active customers are returned: a hit on a merged record leads to its survivor.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from functools import lru_cache
from dataclasses import dataclass, field, replace
from collections.abc import Iterable
from typing import Literal

from rapidfuzz import fuzz, process
from sqlalchemy import ARRAY, Integer, any_, func, literal, literal_column, select, text, union_all
from sqlalchemy.orm import Session

from store.models import Customer, CustomerIdentifier, Interaction, Order
from store.normalize import fold, nickname_roots, normalise_email, normalise_phone
from store.vocabulary import CustomerStatus, IdentifierKind

MIN_SCORE = 70  # below this a name is a suggestion, not a match
SUGGESTION_SCORE = 45
CLEAR_MARGIN = 8  # how far ahead the best name must be to open its card directly
TOKEN_CAP = 1000  # candidates fetched per query word before it counts as "common"
POOL_CAP = 4000  # candidates ranked by a fast first pass (rapidfuzz, in C)
FINE_SCORED = 40  # of which this many get the careful (slower) score
COMMON_POOL = 300  # candidates for a lone very common word ("martin"): any of them is as good a match
MAX_TOKENS = 5
_MAX_MERGE_HOPS = 10

_EMAILISH = re.compile(r"\S+@\S+")
_PHONEISH = re.compile(r"\+?[\d\s().\-/]{6,}")
_CUSTOMER_ID = re.compile(r"(?:#|id[:\s]*|client[:\s]*|customer[:\s]*)(\d{1,12})", re.IGNORECASE)
_CODEISH = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/]{2,63}")


@dataclass(frozen=True)
class Candidate:
    customer_id: int
    first_name: str | None
    last_name: str | None
    score: int
    matched_on: str  # email, phone, loyalty, order, customer_id, name
    city: str | None = None
    birth_year: int | None = None
    phone_last_digits: str | None = None  # enough to tell two people apart, nothing more
    last_seen: dt.datetime | None = None  # set when there are candidates to choose from (not on a clear match)

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or f"#{self.customer_id}"


# What the query was taken for: nothing to search, an e-mail, a phone number, another identifier
# (loyalty card, order number, customer id), or a name.
SearchKind = Literal["empty", "email", "phone", "identifier", "name"]


@dataclass(frozen=True)
class SearchResult:
    query: str
    kind: SearchKind
    candidates: tuple[Candidate, ...] = ()
    exact: bool = False  # one clear match: open the card directly
    suggestions: tuple[Candidate, ...] = field(default=())  # closest names when nothing matched

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def find_customers(session: Session, query: str, *, limit: int = 5) -> SearchResult:
    query = " ".join((query or "").split())[:200]
    if not query:
        return SearchResult(query=query, kind="empty")
    if _EMAILISH.fullmatch(query):
        return _email_lookup(session, query, limit)
    id_match = _CUSTOMER_ID.fullmatch(query)
    if id_match:
        hits = _resolved(session, [_owner(literal(int(id_match.group(1))), "customer_id")])
        return _identifier_result(session, query, "identifier", hits, limit)
    if _PHONEISH.fullmatch(query) or (" " not in query and _CODEISH.fullmatch(query) and any(c.isdigit() for c in query)):
        return _identifier_lookup(session, query, limit)
    return _name_lookup(session, query, limit)


# --- exact kinds ------------------------------------------------------------------------------


def _owner(customer_id, how: str):
    """A query's hit: a customer id and what it matched on (a constant: no bound parameter to type)."""
    return select(customer_id.label("owner"), literal_column(f"'{how}'").label("how"))


def _email_lookup(session: Session, query: str, limit: int) -> SearchResult:
    try:
        email = normalise_email(query)
    except ValueError:
        return SearchResult(query=query, kind="email")
    owners = _owner(CustomerIdentifier.customer_id, "email").where(CustomerIdentifier.kind == IdentifierKind.EMAIL,
                                                                   CustomerIdentifier.value == email)
    return _identifier_result(session, query, "email", _resolved(session, [owners]), limit)


def _identifier_lookup(session: Session, query: str, limit: int) -> SearchResult:
    """Digits and codes are ambiguous (a phone? a card? an order?): try every kind it could be, in one
    round trip to the database (a bot process far from its database pays each one)."""
    compact = "".join(query.split())
    owners = []
    if sum(c.isdigit() for c in compact) >= 8:
        try:
            phone = normalise_phone(query)
        except ValueError:
            phone = None
        if phone:
            owners.append(_owner(CustomerIdentifier.customer_id, "phone").where(
                CustomerIdentifier.kind == IdentifierKind.PHONE, CustomerIdentifier.value == phone))
    owners.append(_owner(CustomerIdentifier.customer_id, "loyalty").where(
        CustomerIdentifier.kind == IdentifierKind.LOYALTY, CustomerIdentifier.value == compact.upper()))
    orders = select(Order.customer_id).where(Order.order_number.in_({compact, compact.upper()})).limit(limit).subquery()
    owners.append(_owner(orders.c.customer_id, "order"))
    hits = _resolved(session, owners)
    if not hits and compact.isdigit() and len(compact) <= 12:
        # A bare number that is nothing else may be our own customer id (read off an earlier card).
        hits = _resolved(session, [_owner(literal(int(compact)), "customer_id")])
    kind: SearchKind = "phone" if any(how == "phone" for how, _ in hits.values()) else "identifier"
    return _identifier_result(session, query, kind, hits, limit)


_HOW_ORDER = {"email": 0, "phone": 0, "customer_id": 0, "loyalty": 1, "order": 2}


def _resolved(session: Session, owner_queries: list) -> dict[int, tuple[str, object]]:
    """The active customers the hits belong to now (following merges), with their candidate columns,
    in order of what they matched on. The first hop is joined to the hits: usually one round trip."""
    owners = union_all(*owner_queries).subquery() if len(owner_queries) > 1 else owner_queries[0].subquery()
    columns = _candidate_columns().add_columns(Customer.status, Customer.merged_into_id)
    rows = session.execute(columns.add_columns(owners.c.how).join(owners, owners.c.owner == Customer.id)).all()
    hits = sorted(((row.how, row) for row in rows), key=lambda hit: (_HOW_ORDER[hit[0]], hit[1].id))
    resolved: dict[int, tuple[str, object]] = {}
    for _ in range(_MAX_MERGE_HOPS):
        pending: dict[int, str] = {}
        for how, row in hits:
            if row.status == CustomerStatus.ACTIVE:
                resolved.setdefault(row.id, (how, row))
            elif row.status == CustomerStatus.MERGED and row.merged_into_id:
                pending.setdefault(row.merged_into_id, how)
        if not pending:
            break
        rows = session.execute(columns.where(Customer.id.in_(pending))).all()
        hits = sorted(((pending[row.id], row) for row in rows), key=lambda hit: list(pending).index(hit[1].id))
    return resolved


def _identifier_result(session: Session, query: str, kind: SearchKind, hits: dict[int, tuple[str, object]],
                       limit: int) -> SearchResult:
    if not hits:
        return SearchResult(query=query, kind=kind)
    candidates = [_candidate(row, 100, how) for how, row in list(hits.values())[:limit]]
    if len(candidates) == 1:  # one match opens its card: "last seen" only tells candidates apart
        return SearchResult(query=query, kind=kind, candidates=tuple(candidates), exact=True)
    return SearchResult(query=query, kind=kind, candidates=tuple(_with_facts(session, candidates)))


# --- names ------------------------------------------------------------------------------------


def _name_lookup(session: Session, query: str, limit: int) -> SearchResult:
    tokens = list(dict.fromkeys(fold(query).split()))[:MAX_TOKENS]
    if not tokens:
        return SearchResult(query=query, kind="name")
    city = _city_in(session, tokens)
    ids = _key_candidate_ids(session, tokens, city)
    scored = _scored(session, tokens, ids, city)
    matches = [(score, row) for score, row in scored if score >= MIN_SCORE][:limit]
    if not matches:
        # Nothing within one typo: look wider (same first letters) for names to suggest.
        wider = _prefix_ids(session, tokens)
        scored = _scored(session, tokens, set(ids) | set(wider), city)
        close = [(score, row) for score, row in scored if score >= SUGGESTION_SCORE][:3]
        suggestions = _with_facts(session, [_candidate(row, score, "name") for score, row in close])
        return SearchResult(query=query, kind="name", suggestions=tuple(suggestions))
    candidates = [_candidate(row, score, "name") for score, row in matches]
    clear = candidates[0].score >= 88 and (len(candidates) == 1 or candidates[0].score - candidates[1].score >= CLEAR_MARGIN)
    if not clear:  # a clear match opens its card: "last seen" only tells candidates apart
        candidates = _with_facts(session, candidates)
    return SearchResult(query=query, kind="name", candidates=tuple(candidates), exact=clear)


def _scored(session: Session, tokens: list[str], ids, city_spellings: list[str] | None = None) -> list:
    ids = list(ids)
    if not ids:
        return []
    if len(ids) > FINE_SCORED:
        # A fast first pass in C over every candidate's folded name (customers of the named city first),
        # then the careful score for the best few only.
        light = session.execute(select(Customer.id, Customer.search_name, Customer.city)
                                .where(_among(session, ids), Customer.status == CustomerStatus.ACTIVE)).all()
        city_words = set(fold(" ".join(city_spellings or [])).split())
        typed = " ".join(t for t in tokens if t not in city_words) or " ".join(tokens)
        in_city = set(city_spellings or [])
        first_pass = process.extract(typed, [row.search_name or "" for row in light], scorer=fuzz.WRatio,
                                     processor=None, limit=None)
        first_pass.sort(key=lambda hit: -(hit[1] + (10 if light[hit[2]].city in in_city else 0)))
        ids = [light[index].id for _, _, index in first_pass[:FINE_SCORED]]
    rows = session.execute(_candidate_columns().where(Customer.id.in_(ids), Customer.status == CustomerStatus.ACTIVE)).all()
    return sorted(((_score(tokens, row), row) for row in rows), key=lambda pair: (-pair[0], pair[1].id))


def _among(session: Session, ids: list[int]):
    """`Customer.id` is one of `ids`, as a single bound parameter (an array; JSON on SQLite). As an IN
    list of thousands of parameters, rendering and sending the statement cost more than the lookup."""
    if session.get_bind().dialect.name == "postgresql":
        return Customer.id == any_(literal(ids, ARRAY(Integer)))
    values = func.json_each(literal(json.dumps(ids))).table_valued("value")
    return Customer.id.in_(select(values.c.value))


def _prefix_ids(session: Session, tokens: list[str]) -> list[int]:
    ids: set[int] = set()
    for token in tokens:
        if len(token) >= 3:
            prefix = token[:4]
            ids.update(session.execute(
                text(f"SELECT customer_id FROM customer_name_keys WHERE key >= :lo AND key < :hi LIMIT {TOKEN_CAP}"),
                {"lo": prefix, "hi": prefix[:-1] + chr(ord(prefix[-1]) + 1)},
            ).scalars())
    return list(ids)


def _keys_of(token: str) -> list[str]:
    if len(token) < 4:
        return [token]
    return list({token, *(token[:i] + token[i + 1:] for i in range(len(token)))})


def _token_rows_sql(token: str, index: int, cap: int | None = None, *,
                    prefix: bool = True) -> tuple[str, dict[str, object]]:
    """The customers holding a key of this word, or a word starting with it. With `cap`, each key reads
    at most that many rows: PostgreSQL would otherwise gather every Martin before the outer LIMIT.
    Ids may repeat (one per key they hold)."""
    keys = _keys_of(token)
    params: dict[str, object] = {f"k{index}_{i}": key for i, key in enumerate(keys)}
    limit = f" LIMIT {cap}" if cap else ""
    branches = [f"SELECT customer_id FROM customer_name_keys WHERE key = :k{index}_{i}{limit}" for i in range(len(keys))]
    if prefix and len(token) >= 3:  # the word may still be being typed: "dupo" -> dupont
        params[f"lo{index}"], params[f"hi{index}"] = _prefix_range(token)
        branches.append(f"SELECT customer_id FROM customer_name_keys WHERE key >= :lo{index} AND key < :hi{index}{limit}")
    if cap:  # each row says which branch read it, so a caller can tell a branch reached the cap
        branches = [f"SELECT {n} AS branch, customer_id FROM ({branch}) AS b{index}_{n}"
                    for n, branch in enumerate(branches)]
    return " UNION ALL ".join(branches), params


def _key_candidate_ids(session: Session, tokens: list[str], city_spellings: list[str] | None = None) -> list[int]:
    """Words with few candidates are taken whole, if every word is common their intersection; the
    customers matching the most words come first."""
    # Every word in one round trip. A word is common when it has more holders than the cap, or when one
    # of its keys (or its prefix range) reached the cap alone: then capping each key changes no answer.
    # The database counts and sends back the ids of the rare words only: a common word's first thousand
    # holders are of no use here, and moving them to Python was most of a lookup's cost. A word whose
    # key was counted recently far past the cap ("martin": 96,000) is not asked again.
    common = _surely_common(session, tokens)
    per_token: list[set[int]] = [set() for _ in tokens]
    asked = [index for index in range(len(tokens)) if not common[index]]
    parts, params = [], {}
    for index in asked:
        sql, token_params = _token_rows_sql(tokens[index], index, cap=TOKEN_CAP + 1)
        parts.append(f"r{index} AS ({sql}), "
                     f"w{index} AS (SELECT DISTINCT customer_id FROM r{index} LIMIT {TOKEN_CAP + 1}), "
                     f"n{index} AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM r{index} GROUP BY branch "
                     f"HAVING count(*) > {TOKEN_CAP}) THEN {TOKEN_CAP + 1} ELSE (SELECT count(*) FROM w{index}) END AS n)")
        params.update(token_params)
    rows = " UNION ALL ".join(
        f"SELECT {index} AS word, w{index}.customer_id FROM w{index}, n{index} WHERE n{index}.n <= {TOKEN_CAP} "
        f"UNION ALL SELECT {index}, NULL FROM n{index} WHERE n{index}.n > {TOKEN_CAP}"
        for index in asked)
    if asked:
        for word, customer_id in session.execute(text(f"WITH {', '.join(parts)} {rows}"), params):
            if customer_id is None:
                common[word] = True
            else:
                per_token[word].add(customer_id)
        found_common = [tokens[index] for index in asked if common[index]]
        if found_common:  # count their keys once, so the next lookups of these words skip the query above
            _word_sizes(session, found_common, longest=-1)
    rare = [ids for ids, is_common in zip(per_token, common) if not is_common]
    if rare:
        hits: dict[int, int] = {}
        for ids in rare:
            for customer_id in ids:
                hits[customer_id] = hits.get(customer_id, 0) + 1
        ranked = sorted(hits, key=lambda customer_id: -hits[customer_id])
        pool = ranked[:POOL_CAP]
    elif len(tokens) == 1:
        pool = _common_word_ids(session, tokens[0])
    else:
        pool = _all_words(session, tokens)
    if city_spellings and (not rare or len(pool) >= POOL_CAP):
        # "dupont lyon" with thousands of Duponts: the ones living there may not be in the pool yet.
        pool = list(dict.fromkeys(pool + _in_city(session, tokens, city_spellings)))
    return pool


def _common_word_ids(session: Session, token: str) -> list[int]:
    """A few hundred holders of a lone common word: all Martins are equally good answers to "martin" and
    the associate will add a first name or a city, so ranking 4,000 of them (~0.1 s of CPU) buys nothing.
    Those holding the word itself come first (their exact key: the name, or it with one letter more),
    newest customers first (the key's own index order); then, for a word still being typed ("mart") or
    a typo, the holders of its other keys. One round trip, same answer on every run."""
    sql, params = _token_rows_sql(token, 0, cap=COMMON_POOL)
    params["exact"] = token
    rows = session.execute(text(
        f"SELECT 0 AS tier, customer_id FROM (SELECT customer_id FROM customer_name_keys WHERE key = :exact "
        f"ORDER BY customer_id DESC LIMIT {COMMON_POOL}) AS exact_holders "
        f"UNION ALL SELECT 1 AS tier, customer_id FROM ({sql}) AS other_holders"), params).all()
    ranked = sorted(rows, key=lambda row: (row.tier, -row.customer_id))
    return list(dict.fromkeys(row.customer_id for row in ranked))[:COMMON_POOL]


def _prefix_range(token: str) -> tuple[str, str]:
    return token, token[:-1] + chr(ord(token[-1]) + 1)


def _all_words(session: Session, tokens: list[str], city_spellings: list[str] | None = None) -> list[int]:
    """Customers holding a key of every word, optionally living in the city. The longest word also
    matches as a prefix (the one being typed)."""
    longest = min(range(len(tokens)), key=lambda i: -len(tokens[i]))
    if session.get_bind().dialect.name == "sqlite":
        outer_sql, conditions, params = _rarest_word_drives(session, tokens, longest)
    else:
        outer_sql, conditions, params = _longest_word_outermost(tokens, longest)
    if city_spellings:
        params.update({f"city{j}": city for j, city in enumerate(city_spellings)})
        in_list = ", ".join(f":city{j}" for j in range(len(city_spellings)))
        conditions.append(f"EXISTS (SELECT 1 FROM customers AS c WHERE c.id = outer_ids.customer_id "
                          f"AND c.city IN ({in_list}))")
    # Rows, not distinct ids: a DISTINCT would make PostgreSQL read every Martin before stopping at the
    # LIMIT. Twice the pool allows for a customer met through two of the word's keys.
    sql = f"SELECT customer_id FROM ({outer_sql}) AS outer_ids WHERE {' AND '.join(conditions)} LIMIT {2 * POOL_CAP}"
    return list(dict.fromkeys(session.execute(text(sql), params).scalars()))[:POOL_CAP]


def _longest_word_outermost(tokens: list[str], longest: int) -> tuple[str, list[str], dict[str, object]]:
    """PostgreSQL: the longest word's rows, each checked for the other words' keys, which PostgreSQL
    turns into a hash semi-join (driving from the rarest word through index probes, as on SQLite,
    measured the same total CPU at 1M customers, see bench/README.md)."""
    outer_sql, params = _token_rows_sql(tokens[longest], longest)
    conditions = ["1 = 1"]
    for i in range(len(tokens)):
        if i == longest:
            continue
        keys = _keys_of(tokens[i])
        params.update({f"e{i}_{j}": key for j, key in enumerate(keys)})
        conditions.append(f"EXISTS (SELECT 1 FROM customer_name_keys AS k WHERE k.key IN "
                          f"({', '.join(f':e{i}_{j}' for j in range(len(keys)))}) "
                          f"AND k.customer_id = outer_ids.customer_id)")
    return outer_sql, conditions, params


def _rarest_word_drives(session: Session, tokens: list[str], longest: int) -> tuple[str, list[str], dict[str, object]]:
    """SQLite: the word with the fewest holders drives; each of its customers, read once, is checked for
    the other words through the customer_id index (a few index entries per customer). "Zoe Martin" at
    1M customers reads 9,000 Zoe holders instead of 770,000 Martin key rows; reading every word's rows
    (an INTERSECT) cost 0.1-0.3 s of CPU, an EXISTS probe per Martin row 1-2 s. Any word may drive:
    the customers found are the same."""
    sizes = _word_sizes(session, tokens, longest)
    driver = min(range(len(tokens)), key=lambda i: (sizes[i], -len(tokens[i]), i))
    outer_sql, params = _token_rows_sql(tokens[driver], driver, prefix=driver == longest)
    # A holder of a word holds all of its keys: read each driving customer once, then check the others.
    outer_sql = f"SELECT DISTINCT customer_id FROM ({outer_sql}) AS driver"
    conditions = ["1 = 1"]
    for i in range(len(tokens)):
        if i == driver:
            continue
        keys = _keys_of(tokens[i])
        params.update({f"e{i}_{j}": key for j, key in enumerate(keys)})
        matches = f"k.key IN ({', '.join(f':e{i}_{j}' for j in range(len(keys)))})"
        if i == longest and len(tokens[i]) >= 3:
            params[f"elo{i}"], params[f"ehi{i}"] = _prefix_range(tokens[i])
            matches = f"({matches} OR (k.key >= :elo{i} AND k.key < :ehi{i}))"
        conditions.append(f"EXISTS (SELECT 1 FROM customer_name_keys AS k INDEXED BY ix_customer_name_keys_customer_id "
                          f"WHERE k.customer_id = outer_ids.customer_id AND {matches})")
    return outer_sql, conditions, params


def _surely_common(session: Session, tokens: list[str]) -> list[bool]:
    """Words one of whose keys had, when last counted (at most 10 minutes ago in this process), five
    times more holders than the cap: common for sure, whatever was written since, short of thousands
    of those customers renamed or erased within minutes (the word would then be read as common: its
    candidates come from the intersection of the words, or a list of its holders)."""
    url, now = str(session.get_bind().url), time.monotonic()
    surely = []
    for token in tokens:
        counts = (_key_rows_cache.get((url, "key", key), (0.0, 0)) for key in _keys_of(token))
        surely.append(any(expires > now and rows > 5 * TOKEN_CAP for expires, rows in counts))
    return surely


_key_rows_cache: dict[tuple[str, str, str], tuple[float, int]] = {}
KEY_ROWS_CACHE_SECONDS = 600
KEY_ROWS_CACHE_MAX = 100_000


def _word_sizes(session: Session, tokens: list[str], longest: int) -> list[int]:
    """About how many customers hold each word: the rows of its largest key (or of the longest word's
    prefix range). Counted exactly, then kept per process for 10 minutes: they choose which word drives
    `_all_words`, where every choice finds the same customers, so an outdated count costs time, never an
    answer (and `_surely_common`, which allows for a wide margin)."""
    url, now = str(session.get_bind().url), time.monotonic()
    wanted = [[("key", key) for key in _keys_of(token)] + ([("prefix", token)] if i == longest and len(token) >= 3 else [])
              for i, token in enumerate(tokens)]
    known: dict[tuple[str, str], int] = {}
    for item in dict.fromkeys(item for items in wanted for item in items):
        expires, rows = _key_rows_cache.get((url, *item), (0.0, 0))
        if expires > now:
            known[item] = rows
    missing = [item for items in wanted for item in items if item not in known]
    missing = list(dict.fromkeys(missing))
    if missing:
        branches, params = [], {}
        for n, (kind, value) in enumerate(missing):
            if kind == "key":
                params[f"s{n}"] = value
                branches.append(f"SELECT {n} AS n, count(*) AS rows FROM customer_name_keys WHERE key = :s{n}")
            else:
                params[f"slo{n}"], params[f"shi{n}"] = _prefix_range(value)
                branches.append(f"SELECT {n} AS n, count(*) AS rows FROM customer_name_keys "
                                f"WHERE key >= :slo{n} AND key < :shi{n}")
        if len(_key_rows_cache) > KEY_ROWS_CACHE_MAX:
            _key_rows_cache.clear()
        for n, rows in session.execute(text(" UNION ALL ".join(branches)), params):
            _key_rows_cache[(url, *missing[n])] = (now + KEY_ROWS_CACHE_SECONDS, rows)
            known[missing[n]] = rows
    # A word's holders hold all of its keys: its largest key is about how many customers it has.
    return [max(known[item] for item in items) for items in wanted]


def _in_city(session: Session, tokens: list[str], city_spellings: list[str]) -> list[int]:
    city_words = set(fold(" ".join(city_spellings)).split())
    name_words = [t for t in tokens if t not in city_words]
    return _all_words(session, name_words, city_spellings) if name_words else []


_city_cache: dict[str, tuple[float, dict[str, list[str]]]] = {}
CITY_CACHE_SECONDS = 600


def _known_cities(session: Session) -> dict[str, list[str]]:
    """Folded city -> its spellings in the data. Cities change slowly: each process refreshes every 10 min."""
    key = str(session.get_bind().url)
    cached = _city_cache.get(key)
    now = time.monotonic()
    if cached and cached[0] > now:
        return cached[1]
    cities: dict[str, list[str]] = {}
    for city in session.scalars(select(Customer.city).where(Customer.city.is_not(None)).distinct()):
        cities.setdefault(fold(city), []).append(city)
    _city_cache[key] = (now + CITY_CACHE_SECONDS, cities)
    return cities


def _city_in(session: Session, tokens: list[str]) -> list[str] | None:
    """The spellings of the city named by the last words of the query ("dupont saint denis"), if any."""
    if len(tokens) < 2:
        return None
    cities = _known_cities(session)
    for size in (3, 2, 1):
        if len(tokens) > size and " ".join(tokens[-size:]) in cities:
            return cities[" ".join(tokens[-size:])]
    return None


def _token_similarity(query_token: str, name_token: str) -> float:
    if query_token == name_token:
        return 100.0
    if len(query_token) >= 3 and name_token.startswith(query_token):
        return 92.0
    if name_token in nickname_roots(query_token):
        return 92.0
    return fuzz.ratio(query_token, name_token)


def _name_score(tokens: list[str], first: list[str], last: list[str]) -> float:
    name_tokens = first + last
    if not name_tokens:
        return 0.0
    typed = " ".join(tokens)
    first_last, last_first = " ".join(name_tokens), " ".join(last + first)
    whole = max(fuzz.ratio(typed, first_last), fuzz.ratio(typed, last_first), fuzz.token_sort_ratio(typed, first_last))
    aligned = sum(max(_token_similarity(t, n) for n in name_tokens) for t in tokens) / len(tokens)
    if len(tokens) < len(name_tokens):  # "dupont" for Jean Dupont: a match, a bit less sure than both names
        aligned *= 0.9 + 0.1 * len(tokens) / len(name_tokens)
    return max(whole, aligned)


_fold = lru_cache(maxsize=200_000)(fold)


def _score(tokens: list[str], row) -> int:
    first, last = _fold(row.first_name).split(), _fold(row.last_name).split()
    if not first and not last:
        first = (row.search_name or "").split()
    best = _name_score(tokens, first, last)
    city = _fold(row.city).split()
    if city and len(tokens) > len(city):
        # "dupont lyon": the words naming the customer's city are not part of the name.
        rest = [t for t in tokens if not any(fuzz.ratio(t, c) >= 85 for c in city)]
        if rest and len(rest) <= len(tokens) - len(city):
            best = max(best, _name_score(rest, first, last) + 4)
    return round(best)


# --- rows to candidates -----------------------------------------------------------------------


def _candidate_columns():
    return select(Customer.id, Customer.first_name, Customer.last_name, Customer.search_name,
                  Customer.city, Customer.birth_date, Customer.phone)


def _candidate(row, score: float, matched_on: str) -> Candidate:
    return Candidate(
        customer_id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        score=min(100, round(score)),
        matched_on=matched_on,
        city=row.city,
        birth_year=row.birth_date.year if row.birth_date else None,
        phone_last_digits=row.phone[-2:] if row.phone and len(row.phone) >= 4 else None,
    )


def _with_facts(session: Session, candidates: Iterable[Candidate]) -> list[Candidate]:
    """Add when each was last seen (latest interaction or order): two namesakes rarely share it."""
    candidates = list(candidates)
    if not candidates:
        return candidates
    ids = [c.customer_id for c in candidates]
    seen: dict[int, dt.datetime] = {}
    latest = union_all(
        select(Interaction.customer_id, func.max(Interaction.created_at).label("at"))
        .where(Interaction.customer_id.in_(ids)).group_by(Interaction.customer_id),
        select(Order.customer_id, func.max(Order.ordered_at).label("at"))
        .where(Order.customer_id.in_(ids)).group_by(Order.customer_id),
    )
    for customer_id, at in session.execute(latest):
        if at is not None and (customer_id not in seen or at > seen[customer_id]):
            seen[customer_id] = at
    return [replace(c, last_seen=seen.get(c.customer_id)) for c in candidates]
