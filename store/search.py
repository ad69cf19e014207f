"""Finding a customer from whatever the associate types: an e-mail, a phone number in any format, a
loyalty card, an order number, a customer id, or a name with typos ("Dupont Lyon" = name + city).

Exact kinds go through indexed identifier lookups. Names go in two steps: the database proposes
candidates through the customer_name_keys table, whose one-letter-deletion keys meet any typo of one
letter (kept by triggers: SQL on SQLite, revision 0002; PL/pgSQL on PostgreSQL, revision 0003; so
every process sharing the database sees every writer's changes), then rapidfuzz ranks them here. Only active customers are returned: a hit on a merged record leads to its survivor.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal, Protocol

from rapidfuzz import fuzz, process
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    CompoundSelect,
    Integer,
    Row,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)

from store import dialect
from store.dialect import Reader
from store.models import (
    Customer,
    CustomerIdentifier,
    CustomerNameKey,
    CustomerNamePairKey,
    CustomerNameWord,
    Interaction,
    Order,
)
from store.namekey import prefix_range, stored_keys, typed_keys, typed_pair_keys
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

NameRow = Row[int, str | None, str | None, str | None, str | None, dt.date | None, str | None]
"""A candidate's columns (`_RESOLVE_COLUMNS[:7]`): id, first and last name, search name, city, birth date, phone."""

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
    # The one clear match's row with the columns of `find_customers`'s `along`, read in the lookup's statement;
    # None when not read (no `along`, SQLite, a name, several hits, a merge followed: the caller reads the card).
    along: Row[Any] | None = None

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class Along(Protocol):
    """Columns to read with an exact kind's hit, in the lookup's own statement (PostgreSQL): `statement(cid)` a
    select of one row for the customer whose id is the expression `cid` (its `id` and more columns, which may
    also write: the card and its view's audit row, store.profile.CardAlong), `params` its parameters. It runs
    for the hit only when it is the lookup's one hit and active: exactly when the lookup is a clear match
    without following a merge (`SearchResult.along` is then its row); otherwise it reads and writes nothing."""

    @property
    def statement(self) -> Callable[[ColumnElement[int]], Select[Any]]: ...

    @property
    def params(self) -> dict[str, Any]: ...


def find_customers(session: Reader, query: str, *, limit: int = 5, along: Along | None = None) -> SearchResult:
    """What `query` finds; `along`: more columns read with an exact kind's one hit in the same statement, on
    PostgreSQL (on SQLite a statement costs no round trip: ignored)."""
    query = " ".join((query or "").split())[:200]
    if not query:
        return SearchResult(query=query, kind="empty")
    if along is not None and dialect.is_sqlite(session):
        along = None
    if _EMAILISH.fullmatch(query):
        return _email_lookup(session, query, limit, along)
    id_match = _CUSTOMER_ID.fullmatch(query)
    if id_match:
        hits, row = _resolved(session, {"customer_id": int(id_match.group(1))}, limit, along)
        return _identifier_result(session, query, "identifier", hits, limit, row)
    if _PHONEISH.fullmatch(query) or (" " not in query and _CODEISH.fullmatch(query) and any(c.isdigit() for c in query)):
        return _identifier_lookup(session, query, limit, along)
    return _name_lookup(session, query, limit)


# --- exact kinds ------------------------------------------------------------------------------


_CUSTOMERS, _IDENTIFIERS, _ORDERS = Customer.__table__, CustomerIdentifier.__table__, Order.__table__
# What each kind of hit matches, as a select of (owner, how) with its typed value in bound parameter `v_<how>`
# (an order number in `v_order` or, upper-cased, `v_order_upper`). Plain table columns, not the ORM's: these
# statements are built once per shape (`_resolve_statement`) and run through Core, whose per-lookup cost is
# a fraction of building ORM selects each time.
_HIT_KINDS = ("email", "phone", "loyalty", "order", "customer_id")


def _owner_rows(how: str, limit: int) -> Select[Any]:
    label: ColumnElement[Any] = literal_column(f"'{how}'").label("how")  # a constant of this module, not typed text
    if how == "customer_id":
        return select(bindparam("v_customer_id", type_=Integer).label("owner"), label)
    if how == "order":
        orders = (select(_ORDERS.c.customer_id)
                  .where(_ORDERS.c.order_number.in_([bindparam("v_order"), bindparam("v_order_upper")]))
                  .limit(_const(limit)).subquery("orders_hit"))
        return select(orders.c.customer_id.label("owner"), label)
    kind = {"email": IdentifierKind.EMAIL, "phone": IdentifierKind.PHONE, "loyalty": IdentifierKind.LOYALTY}[how]
    return (select(_IDENTIFIERS.c.customer_id.label("owner"), label)
            .where(_IDENTIFIERS.c.kind == literal_column(f"'{kind.value}'"), _IDENTIFIERS.c.value == bindparam(f"v_{how}")))


_RESOLVE_COLUMNS = (_CUSTOMERS.c.id, _CUSTOMERS.c.first_name, _CUSTOMERS.c.last_name, _CUSTOMERS.c.search_name,
                    _CUSTOMERS.c.city, _CUSTOMERS.c.birth_date, _CUSTOMERS.c.phone, _CUSTOMERS.c.status,
                    _CUSTOMERS.c.merged_into_id)


@lru_cache(maxsize=64)
def _resolve_statement(hows: tuple[str, ...], limit: int) -> Select[Any]:
    """The customers the hits of `hows` belong to, with their candidate columns and what each matched on."""
    owner_queries = [_owner_rows(how, limit) for how in hows]
    owners = (union_all(*owner_queries) if len(owner_queries) > 1 else owner_queries[0]).subquery("owners")
    return select(*_RESOLVE_COLUMNS, owners.c.how).join(owners, owners.c.owner == _CUSTOMERS.c.id)


@lru_cache(maxsize=64)
def _resolve_along_statement(hows: tuple[str, ...], limit: int,
                             along: Callable[[ColumnElement[int]], Select[Any]]) -> Select[Any]:
    """`_resolve_statement`'s rows, each with the columns of `along(cid)` for `cid` the one hit's id when the hits
    are one row of an active customer, else NULL (and `along` reads and writes nothing: its customer is no
    row). The hits are a CTE read once: what `_resolved` then sees is what `along` was given."""
    hits = _resolve_statement(hows, limit).cte("hits")
    sole = (select(func.min(hits.c.id).label("id"))
            .having(and_(func.count() == _const(1), func.bool_and(hits.c.status == _ACTIVE_VALUE))).cte("sole"))
    extra = along(select(sole.c.id).scalar_subquery()).subquery("along")
    return (select(*hits.c, *(column for name, column in extra.c.items() if name not in hits.c))
            .select_from(hits.outerjoin(extra, extra.c.id == hits.c.id)))


_FOLLOW_MERGES = select(*_RESOLVE_COLUMNS).where(_CUSTOMERS.c.id.in_(bindparam("ids", expanding=True)))


def _email_lookup(session: Reader, query: str, limit: int, along: Along | None) -> SearchResult:
    try:
        email = normalise_email(query)
    except ValueError:
        return SearchResult(query=query, kind="email")
    hits, row = _resolved(session, {"email": email}, limit, along)
    return _identifier_result(session, query, "email", hits, limit, row)


def _identifier_lookup(session: Reader, query: str, limit: int, along: Along | None) -> SearchResult:
    """Digits and codes are ambiguous (a phone? a card? an order?): try every kind it could be, in one
    round trip to the database (a bot process far from its database pays each one)."""
    compact = "".join(query.split())
    values: dict[str, object] = {}
    if sum(c.isdigit() for c in compact) >= 8:
        try:
            phone = normalise_phone(query)
        except ValueError:
            phone = None
        if phone:
            values["phone"] = phone
    values["loyalty"] = compact.upper()
    values["order"] = compact
    hits, row = _resolved(session, values, limit, along)
    if not hits and compact.isdigit() and len(compact) <= 12:
        # A bare number that is nothing else may be our own customer id (read off an earlier card).
        hits, row = _resolved(session, {"customer_id": int(compact)}, limit, along)
    kind: SearchKind = "phone" if any(how == "phone" for how, _ in hits.values()) else "identifier"
    return _identifier_result(session, query, kind, hits, limit, row)


_HOW_ORDER = {"email": 0, "phone": 0, "customer_id": 0, "loyalty": 1, "order": 2}


def _resolved(session: Reader, values: dict[str, object], limit: int,
              along: Along | None = None) -> tuple[dict[int, tuple[str, Any]], Row[Any] | None]:
    """The active customers whose identifiers (kind of hit -> typed value) match, following merges, with
    their candidate columns, in order of what they matched on. The first hop is joined to the hits:
    usually one round trip. And the row read with `along`'s columns, when the hits are one active customer's
    one row (None otherwise, or without `along`)."""
    hows = tuple(how for how in _HIT_KINDS if how in values)
    params: dict[str, Any] = {f"v_{how}": values[how] for how in hows}
    if "order" in values:
        params["v_order_upper"] = str(values["order"]).upper()
    if along is None:
        rows = session.execute(_resolve_statement(hows, limit), params).all()
    else:
        # One statement for every exact kind, the kinds not tried matching NULL (no row): its text is the same for
        # all of them, so psycopg prepares it and PostgreSQL settles on its plan once per pooled connection, not
        # once per kind (each of those first runs plans the card's statement anew: milliseconds of the database).
        params = {f"v_{how}": None for how in _HIT_KINDS} | {"v_order_upper": None} | params
        rows = session.execute(_resolve_along_statement(_HIT_KINDS, limit, along.statement),
                               {**along.params, **params}).all()
    # The statement's own condition for reading `along` (one row, active), so never a row it did not read.
    sole = rows[0] if along is not None and len(rows) == 1 and rows[0].status == CustomerStatus.ACTIVE else None
    hits = sorted(((row.how, row) for row in rows), key=lambda hit: (_HOW_ORDER[hit[0]], hit[1].id))
    resolved: dict[int, tuple[str, Any]] = {}
    for _ in range(_MAX_MERGE_HOPS):
        pending: dict[int, str] = {}
        for how, row in hits:
            if row.status == CustomerStatus.ACTIVE:
                resolved.setdefault(row.id, (how, row))
            elif row.status == CustomerStatus.MERGED and row.merged_into_id:
                pending.setdefault(row.merged_into_id, how)
        if not pending:
            break
        rows = session.execute(_FOLLOW_MERGES, {"ids": list(pending)}).all()
        hits = sorted(((pending[row.id], row) for row in rows), key=lambda hit: list(pending).index(hit[1].id))
    return resolved, sole


def _identifier_result(session: Reader, query: str, kind: SearchKind, hits: dict[int, tuple[str, NameRow]],
                       limit: int, along: Row[Any] | None = None) -> SearchResult:
    if not hits:
        return SearchResult(query=query, kind=kind)
    candidates = [_candidate(row, 100, how) for how, row in list(hits.values())[:limit]]
    if len(candidates) == 1:  # one match opens its card: "last seen" only tells candidates apart
        return SearchResult(query=query, kind=kind, candidates=tuple(candidates), exact=True, along=along)
    return SearchResult(query=query, kind=kind, candidates=tuple(_with_facts(session, candidates)))


# --- names ------------------------------------------------------------------------------------


def _name_lookup(session: Reader, query: str, limit: int) -> SearchResult:
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


def _scored(session: Reader, tokens: list[str], candidate_ids: Iterable[int],
            city_spellings: list[str] | None = None) -> list[tuple[int, NameRow]]:
    ids = list(candidate_ids)
    if not ids:
        return []
    postgresql = not dialect.is_sqlite(session)
    if len(ids) > FINE_SCORED:
        # A fast first pass in C over every candidate's folded name (customers of the named city first),
        # then the careful score for the best few only.
        light = session.execute(_light_statement(postgresql), {"ids": dialect.ids_value(postgresql, ids)}).all()
        city_words = set(fold(" ".join(city_spellings or [])).split())
        typed = " ".join(t for t in tokens if t not in city_words) or " ".join(tokens)
        in_city = set(city_spellings or [])
        first_pass = process.extract(typed, [row.search_name or "" for row in light], scorer=fuzz.WRatio,
                                     processor=None, limit=None)
        first_pass.sort(key=lambda hit: -(hit[1] + (10 if light[hit[2]].city in in_city else 0)))
        ids = [light[index].id for _, _, index in first_pass[:FINE_SCORED]]
    rows = session.execute(_fine_statement(postgresql), {"ids": dialect.ids_value(postgresql, ids)}).all()
    return sorted(((_score(tokens, row), row) for row in rows), key=lambda pair: (-pair[0], pair[1].id))


_ACTIVE_VALUE: ColumnElement[str] = literal_column(f"'{CustomerStatus.ACTIVE.value}'")
_ACTIVE = _CUSTOMERS.c.status == _ACTIVE_VALUE


# Built once per dialect (Core, plain columns): the first pass reads up to POOL_CAP rows, and the ORM's
# per-row work and per-lookup statement building were a good part of a name lookup's CPU.
@lru_cache(maxsize=2)
def _light_statement(postgresql: bool) -> Select[Any]:
    return (select(_CUSTOMERS.c.id, _CUSTOMERS.c.search_name, _CUSTOMERS.c.city)
            .where(dialect.ids_parameter(postgresql, _CUSTOMERS.c.id), _ACTIVE))


@lru_cache(maxsize=2)
def _fine_statement(postgresql: bool) -> Select[Any]:
    return select(*_RESOLVE_COLUMNS[:7]).where(dialect.ids_parameter(postgresql, _CUSTOMERS.c.id), _ACTIVE)


_KEYS = CustomerNameKey.__table__
Params = dict[str, object]

# The name-key statements are built once per shape (how many words, how many keys each, which word
# drives...) and kept: building and hashing these unions for every lookup cost more CPU than running
# them. Everything typed goes in bound parameters, named as below (k<word>_<n>: the word's keys,
# lo/hi<word>: its prefix range, e<word>: the keys another word must also hold).


def _const(value: int) -> ColumnElement[int]:
    """A number written into the statement, not bound: caps and branch labels are constants of this
    module, and a LIMIT the planner can see stays the same plan when PostgreSQL prepares the statement."""
    return literal_column(str(int(value)), Integer)


def _has_prefix(token: str, prefix: bool = True) -> bool:
    return prefix and len(token) >= 3  # the word may still be being typed: "dupo" -> dupont


def _token_params(token: str, index: int, *, prefix: bool = True) -> Params:
    params: Params = {f"k{index}_{i}": key for i, key in enumerate(typed_keys(token))}
    if _has_prefix(token, prefix):
        params[f"lo{index}"], params[f"hi{index}"] = prefix_range(token)
    return params


@lru_cache(maxsize=1024)
def _token_rows(index: int, keys: int, prefix: bool, cap: int | None = None) -> CompoundSelect[Any]:
    """The customers holding one of the `keys` keys of word `index`, or (`prefix`) a word starting with
    it. With `cap`, each key reads at most that many rows (PostgreSQL would otherwise gather every Martin
    before the outer LIMIT) and each row says which branch read it (column `branch`), so a caller can
    tell a branch reached the cap. Ids may repeat (one per key they hold)."""
    matches = [_KEYS.c.key == bindparam(f"k{index}_{i}") for i in range(keys)]
    if prefix:
        matches.append(and_(_KEYS.c.key >= bindparam(f"lo{index}"), _KEYS.c.key < bindparam(f"hi{index}")))
    branches = [select(_KEYS.c.customer_id).where(match) for match in matches]
    if not cap:
        return union_all(*branches)
    capped = [branch.limit(_const(cap)).subquery(f"b{index}_{n}") for n, branch in enumerate(branches)]
    return union_all(*(select(_const(n).label("branch"), rows.c.customer_id) for n, rows in enumerate(capped)))


def _token_rows_of(token: str, index: int, cap: int | None = None, *,
                   prefix: bool = True) -> tuple[CompoundSelect[Any], Params]:
    return (_token_rows(index, len(typed_keys(token)), _has_prefix(token, prefix), cap),
            _token_params(token, index, prefix=prefix))


@lru_cache(maxsize=1)
def _prefix_statement() -> Select[int]:
    return (select(_KEYS.c.customer_id).where(_KEYS.c.key >= bindparam("lo"), _KEYS.c.key < bindparam("hi"))
            .limit(_const(TOKEN_CAP)))


def _prefix_ids(session: Reader, tokens: list[str]) -> list[int]:
    ids: set[int] = set()
    for token in tokens:
        if len(token) >= 3:
            low, high = prefix_range(token[:4])
            ids.update(session.scalars(_prefix_statement(), {"lo": low, "hi": high}))
    return list(ids)


@lru_cache(maxsize=1024)
def _rare_word_holders(words: tuple[tuple[int, int, bool], ...]) -> CompoundSelect[Any]:
    """For each (index, keys, prefix) word: its holders, or one row (index, NULL) when it is common."""
    answers: list[Select[Any, Any]] = []
    for index, keys, prefix in words:
        rows = _token_rows(index, keys, prefix, TOKEN_CAP + 1).cte(f"r{index}")
        holders = select(rows.c.customer_id).distinct().limit(_const(TOKEN_CAP + 1)).cte(f"w{index}")
        a_key_at_cap = exists(select(_const(1)).select_from(rows).group_by(rows.c.branch)
                              .having(func.count() > _const(TOKEN_CAP)))
        count = select(case((a_key_at_cap, _const(TOKEN_CAP + 1)),
                            else_=select(func.count()).select_from(holders).scalar_subquery()).label("n")).cte(f"n{index}")
        answers.append(select(_const(index).label("word"), holders.c.customer_id)
                       .select_from(holders).join(count, true()).where(count.c.n <= _const(TOKEN_CAP)))
        answers.append(select(_const(index), null()).select_from(count).where(count.c.n > _const(TOKEN_CAP)))
    return union_all(*answers)


def _key_candidate_ids(session: Reader, tokens: list[str], city_spellings: list[str] | None = None) -> list[int]:
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
    if asked:
        words = tuple((index, len(typed_keys(tokens[index])), _has_prefix(tokens[index])) for index in asked)
        params: Params = {}
        for index in asked:
            params.update(_token_params(tokens[index], index))
        for word, customer_id in session.execute(_rare_word_holders(words), params):
            if customer_id is None:
                common[word] = True
            else:
                per_token[word].add(customer_id)
        found_common = [tokens[index] for index in asked if common[index]]
        if found_common:  # count their keys once, so the next lookups of these words skip the query above
            _word_sizes(session, found_common, longest=-1)
    rare = [ids for ids, is_common in zip(per_token, common, strict=True) if not is_common]
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
        paired = _pair_ids(session, tokens) if len(tokens) == 2 else None
        pool = paired if paired is not None else _all_words(session, tokens)
    if city_spellings and (not rare or len(pool) >= POOL_CAP):
        # "dupont lyon" with thousands of Duponts: the ones living there may not be in the pool yet.
        pool = list(dict.fromkeys(pool + _in_city(session, tokens, city_spellings)))
    return pool


_EXACT_HOLDERS = (select(_KEYS.c.customer_id).where(_KEYS.c.key == bindparam("exact"))
                  .order_by(_KEYS.c.customer_id.desc()).limit(_const(COMMON_POOL)))


@lru_cache(maxsize=256)
def _common_word_statement(keys: int, prefix: bool) -> CompoundSelect[Any]:
    exact_holders = _EXACT_HOLDERS.subquery("exact_holders")
    other_holders = _token_rows(0, keys, prefix, COMMON_POOL).subquery("other_holders")
    return union_all(select(_const(0).label("tier"), exact_holders.c.customer_id),
                     select(_const(1).label("tier"), other_holders.c.customer_id))


def _common_word_ids(session: Reader, token: str) -> list[int]:
    """A few hundred holders of a lone common word: all Martins are equally good answers to "martin" and
    the associate will add a first name or a city, so ranking 4,000 of them (~0.1 s of CPU) buys nothing.
    Those holding the word itself come first (their exact key: the name, or it with one letter more),
    newest customers first (the key's own index order); then, for a word still being typed ("mart") or
    a typo, the holders of its other keys. One round trip, same answer on every run."""
    exact = list(session.scalars(_EXACT_HOLDERS, {"exact": token}))
    if len(exact) >= COMMON_POOL:
        # Enough holders of the word itself: the other keys' holders would all rank after them and be cut,
        # so they are not read (~2,400 rows for "martin", most of this lookup's CPU).
        return exact
    statement = _common_word_statement(len(typed_keys(token)), _has_prefix(token))
    rows = session.execute(statement, {**_token_params(token, 0), "exact": token}).all()
    ranked = sorted(rows, key=lambda row: (row.tier, -row.customer_id))
    return list(dict.fromkeys(row.customer_id for row in ranked))[:COMMON_POOL]


@lru_cache(maxsize=1024)
def _all_words_statement(sqlite: bool, outer: tuple[int, int, bool], others: tuple[tuple[int, bool], ...],
                         city: bool) -> Select[int]:
    """Customers of the `outer` word (index, keys, prefix) who hold a key of each of the `others` (index,
    prefix too), living in one of the cities when `city`: see `_all_words`."""
    rows = _token_rows(*outer)
    if sqlite:
        # A holder of a word holds all of its keys: read each driving customer once, then check the others
        # through the customer_id index.
        outer_ids = select(rows.subquery("driver").c.customer_id).distinct().subquery("outer_ids")
    else:
        outer_ids = rows.subquery("outer_ids")
    conditions: list[ColumnElement[bool]] = []
    for index, prefix in others:
        keys = (dialect.sqlite_indexed_by(_KEYS, "k", "ix_customer_name_keys_customer_id") if sqlite
                else _KEYS.alias("k"))
        matches: ColumnElement[bool] = keys.c.key.in_(bindparam(f"e{index}", expanding=True))
        if prefix:
            matches = or_(matches, and_(keys.c.key >= bindparam(f"elo{index}"), keys.c.key < bindparam(f"ehi{index}")))
        conditions.append(exists().where(keys.c.customer_id == outer_ids.c.customer_id, matches))
    if city:
        customers = Customer.__table__.alias("c")
        conditions.append(exists().where(customers.c.id == outer_ids.c.customer_id,
                                         customers.c.city.in_(bindparam("cities", expanding=True))))
    # Rows, not distinct ids: a DISTINCT would make PostgreSQL read every Martin before stopping at the
    # LIMIT. Twice the pool allows for a customer met through two of the word's keys.
    return select(outer_ids.c.customer_id).where(*conditions).limit(_const(2 * POOL_CAP))


def _all_words(session: Reader, tokens: list[str], city_spellings: list[str] | None = None) -> list[int]:
    """Customers holding a key of every word, optionally living in the city. The longest word also
    matches as a prefix (the one being typed).

    PostgreSQL: the longest word's rows, each checked for the other words' keys, which PostgreSQL turns
    into a hash semi-join (driving from the rarest word through index probes, as on SQLite, measured the
    same total CPU at 1M customers, see bench/README.md).

    SQLite: the word with the fewest holders drives; each of its customers, read once, is checked for
    the other words through the customer_id index (a few index entries per customer). "Zoe Martin" at
    1M customers reads 9,000 Zoe holders instead of 770,000 Martin key rows; reading every word's rows
    (an INTERSECT) cost 0.1-0.3 s of CPU, an EXISTS probe per Martin row 1-2 s. Any word may drive:
    the customers found are the same."""
    longest = min(range(len(tokens)), key=lambda i: -len(tokens[i]))
    sqlite = dialect.is_sqlite(session)
    if sqlite:
        sizes = _word_sizes(session, tokens, longest)
        outer = min(range(len(tokens)), key=lambda i: (sizes[i], -len(tokens[i]), i))
    else:
        outer = longest
    outer_prefix = _has_prefix(tokens[outer], outer == longest)
    params = _token_params(tokens[outer], outer, prefix=outer == longest)
    others: list[tuple[int, bool]] = []
    for i, token in enumerate(tokens):
        if i == outer:
            continue
        params[f"e{i}"] = typed_keys(token)
        prefix = sqlite and i == longest and len(token) >= 3
        if prefix:
            params[f"elo{i}"], params[f"ehi{i}"] = prefix_range(token)
        others.append((i, prefix))
    if city_spellings:
        params["cities"] = city_spellings
    statement = _all_words_statement(sqlite, (outer, len(typed_keys(tokens[outer])), outer_prefix), tuple(others),
                                     bool(city_spellings))
    return list(dict.fromkeys(session.scalars(statement, params)))[:POOL_CAP]


_PAIR_KEYS, _WORDS = CustomerNamePairKey.__table__, CustomerNameWord.__table__


def _keys_parameter(postgresql: bool, column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """`column` is one of the strings of parameter `name`: one array parameter on PostgreSQL (the same
    statement text however many keys, so psycopg prepares it once), an IN list on SQLite."""
    if postgresql:
        return column == any_(bindparam(name, type_=ARRAY(Text)))
    return column.in_(bindparam(name, expanding=True))


@lru_cache(maxsize=2)
def _near_words_statement(postgresql: bool) -> Select[Any]:
    return (select(_WORDS.c.word).where(_keys_parameter(postgresql, _WORDS.c.variant, "variants"))
            .distinct().order_by(_WORDS.c.word))


@lru_cache(maxsize=128)
def _pair_statement(postgresql: bool, ranges: int) -> CompoundSelect[Any]:
    """The distinct customers holding one of the pair keys (parameter `pairs`) or a pair key in one of
    the `ranges` ranges (lo<n>, hi<n>), at most `POOL_CAP` of them (the cap of `_all_words`). Distinct in
    the database: a customer holding the typed words exactly holds each of their keys (7 rows for
    "zoe martin"), and moving the repeats to Python was most of this lookup's CPU."""
    branches = [select(_PAIR_KEYS.c.customer_id).where(_keys_parameter(postgresql, _PAIR_KEYS.c.key, "pairs"))]
    branches += [select(_PAIR_KEYS.c.customer_id)
                 .where(_PAIR_KEYS.c.key >= bindparam(f"lo{n}"), _PAIR_KEYS.c.key < bindparam(f"hi{n}"))
                 for n in range(ranges)]
    return union(*branches).limit(_const(POOL_CAP))


def _pair_ids(session: Reader, tokens: list[str]) -> list[int] | None:
    """The customers `_all_words` finds for two words, through the pair keys (revision 0017): one of the
    two words, `near`, within one typo, and another word of the name within one typo of the longest (or
    starting with it: the word being typed). The words of the names in the database within one typo of
    `near` are read first (a handful: "zoe" -> zoe, zoey, zoee), then each of them exactly with the keys
    of the longest word: a few dozen primary-key lookups returning only those customers, where
    `_all_words` reads every holder of one word (9,000 Zoes at 1M customers).

    None when one word of a name could stand for both typed words ("anne annie"): the pair keys pair two
    different words of a name, `_all_words` does not."""
    longest = min(range(len(tokens)), key=lambda i: -len(tokens[i]))
    near, other = tokens[1 - longest], tokens[longest]
    postgresql = not dialect.is_sqlite(session)
    words = list(session.scalars(_near_words_statement(postgresql), {"variants": typed_keys(near)}))
    other_keys = set(typed_keys(other))
    prefix = _has_prefix(other)
    for word in words:
        variants = stored_keys(word)
        if variants & other_keys or (prefix and any(variant.startswith(other) for variant in variants)):
            return None
    if not words:
        return []
    params: Params = {"pairs": [key for word in words for key in typed_pair_keys(word, other)]}
    if prefix:
        for n, word in enumerate(words):
            params[f"lo{n}"], params[f"hi{n}"] = prefix_range(f"{word} {other}")
    return list(session.scalars(_pair_statement(postgresql, len(words) if prefix else 0), params))


def _surely_common(session: Reader, tokens: list[str]) -> list[bool]:
    """Words one of whose keys had, when last counted (at most 10 minutes ago in this process), five
    times more holders than the cap: common for sure, whatever was written since, short of thousands
    of those customers renamed or erased within minutes (the word would then be read as common: its
    candidates come from the intersection of the words, or a list of its holders)."""
    url, now = dialect.url_of(session), time.monotonic()
    surely = []
    for token in tokens:
        counts = (_key_rows_cache.get((url, "key", key), (0.0, 0)) for key in typed_keys(token))
        surely.append(any(expires > now and rows > 5 * TOKEN_CAP for expires, rows in counts))
    return surely


_key_rows_cache: dict[tuple[str, str, str], tuple[float, int]] = {}
KEY_ROWS_CACHE_SECONDS = 600
KEY_ROWS_CACHE_MAX = 100_000


@lru_cache(maxsize=1024)
def _count_statement(kinds: tuple[str, ...]) -> CompoundSelect[Any]:
    """Rows of each key (kind "key", parameter s<n>) or prefix range ("prefix", slo<n> and shi<n>)."""
    counts = []
    for n, kind in enumerate(kinds):
        if kind == "key":
            match = _KEYS.c.key == bindparam(f"s{n}")
        else:
            match = and_(_KEYS.c.key >= bindparam(f"slo{n}"), _KEYS.c.key < bindparam(f"shi{n}"))
        counts.append(select(_const(n).label("n"), func.count().label("rows")).select_from(_KEYS).where(match))
    return union_all(*counts)


def _word_sizes(session: Reader, tokens: list[str], longest: int) -> list[int]:
    """About how many customers hold each word: the rows of its largest key (or of the longest word's
    prefix range). Counted exactly, then kept per process for 10 minutes: they choose which word drives
    `_all_words`, where every choice finds the same customers, so an outdated count costs time, never an
    answer (and `_surely_common`, which allows for a wide margin)."""
    url, now = dialect.url_of(session), time.monotonic()
    wanted = [[("key", key) for key in typed_keys(token)] + ([("prefix", token)] if i == longest and len(token) >= 3 else [])
              for i, token in enumerate(tokens)]
    known: dict[tuple[str, str], int] = {}
    for item in dict.fromkeys(item for items in wanted for item in items):
        expires, rows = _key_rows_cache.get((url, *item), (0.0, 0))
        if expires > now:
            known[item] = rows
    missing = list(dict.fromkeys(item for items in wanted for item in items if item not in known))
    if missing:
        params: Params = {}
        for n, (kind, value) in enumerate(missing):
            if kind == "key":
                params[f"s{n}"] = value
            else:
                params[f"slo{n}"], params[f"shi{n}"] = prefix_range(value)
        if len(_key_rows_cache) > KEY_ROWS_CACHE_MAX:
            _key_rows_cache.clear()
        for n, rows in session.execute(_count_statement(tuple(kind for kind, _ in missing)), params):
            _key_rows_cache[(url, *missing[n])] = (now + KEY_ROWS_CACHE_SECONDS, rows)
            known[missing[n]] = rows
    # A word's holders hold all of its keys: its largest key is about how many customers it has.
    return [max(known[item] for item in items) for items in wanted]


def _in_city(session: Reader, tokens: list[str], city_spellings: list[str]) -> list[int]:
    city_words = set(fold(" ".join(city_spellings)).split())
    name_words = [t for t in tokens if t not in city_words]
    return _all_words(session, name_words, city_spellings) if name_words else []


_city_cache: dict[str, tuple[float, dict[str, list[str]]]] = {}
CITY_CACHE_SECONDS = 600


def _known_cities(session: Reader) -> dict[str, list[str]]:
    """Folded city -> its spellings in the data. Cities change slowly: each process refreshes every 10 min."""
    key = dialect.url_of(session)
    cached = _city_cache.get(key)
    now = time.monotonic()
    if cached and cached[0] > now:
        return cached[1]
    cities: dict[str, list[str]] = {}
    for city in session.scalars(select(Customer.city).where(Customer.city.is_not(None)).distinct()):
        if city is not None:  # never: the query leaves them out
            cities.setdefault(fold(city), []).append(city)
    _city_cache[key] = (now + CITY_CACHE_SECONDS, cities)
    return cities


def _city_in(session: Reader, tokens: list[str]) -> list[str] | None:
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


def _score(tokens: list[str], row: NameRow) -> int:
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


def _candidate(row: NameRow, score: float, matched_on: str) -> Candidate:
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


_INTERACTIONS = Interaction.__table__


@lru_cache(maxsize=2)
def _last_seen_statement(postgresql: bool) -> CompoundSelect[Any]:
    return union_all(
        select(_INTERACTIONS.c.customer_id, func.max(_INTERACTIONS.c.created_at).label("at"))
        .where(dialect.ids_parameter(postgresql, _INTERACTIONS.c.customer_id)).group_by(_INTERACTIONS.c.customer_id),
        select(_ORDERS.c.customer_id, func.max(_ORDERS.c.ordered_at).label("at"))
        .where(dialect.ids_parameter(postgresql, _ORDERS.c.customer_id)).group_by(_ORDERS.c.customer_id),
    )


def _with_facts(session: Reader, candidates: Iterable[Candidate]) -> list[Candidate]:
    """Add when each was last seen (latest interaction or order): two namesakes rarely share it."""
    listed = list(candidates)
    if not listed:
        return listed
    postgresql = not dialect.is_sqlite(session)
    ids = dialect.ids_value(postgresql, [c.customer_id for c in listed])
    seen: dict[int, dt.datetime] = {}
    for customer_id, at in session.execute(_last_seen_statement(postgresql), {"ids": ids}):
        if at is not None and (customer_id not in seen or at > seen[customer_id]):
            seen[customer_id] = at
    return [replace(c, last_seen=seen.get(c.customer_id)) for c in listed]
