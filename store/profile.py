"""The customer card: everything an associate needs about one customer, read in a handful of queries.

`build_profile` returns a frozen tree detached from the session, so the Slack layer renders it
without touching the database. Web signals (wishlist, viewed, recommended) are included only when
the customer consented to profiling; otherwise the card only says they are hidden and why.
Contact details are in the tree; hiding them until an audited "Reveal" is the card's job.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Literal, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    bindparam,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import replacement_traverse

from store.db import table_of
from store.dialect import Reader, is_postgresql

from store.errors import Refused
from store.models import (
    AuditEvent,
    Basket,
    Consent,
    Customer,
    DeclaredPreference,
    Employee,
    FollowUp,
    Interaction,
    Order,
    OrderLine,
    SourceRecord,
    Store,
    WebActivity,
    WebSignal,
)
from store.vocabulary import (
    AuditAction,
    ConsentChannel,
    ConsentPurpose,
    CustomerStatus,
    FollowUpStatus,
    WebActivityKind,
)

RECENT = 5
SIGNALS_PER_KIND = 5
MAX_PREFERENCES = 100


Unavailable = Literal["not_found", "erased"]
# The two histories of a card that page: "more orders", "more interactions".
HistoryKind = Literal["orders", "interactions"]


class ProfileUnavailable(Refused):
    """The customer cannot be shown: unknown id, or erased (GDPR); the employee is told the same for both."""

    def __init__(self, reason: Unavailable) -> None:
        super().__init__("profile.unavailable")
        self.reason = reason


@dataclass(frozen=True)
class Contact:
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Preference:
    category: str
    label: str | None
    value: str
    recorded_at: dt.datetime
    source: str


@dataclass(frozen=True)
class WebSignalItem:
    kind: str
    product_name: str
    sku: str
    price: Decimal | None
    currency: str
    occurred_at: dt.datetime


@dataclass(frozen=True)
class OrderLineItem:
    product_name: str
    quantity: int
    size: str | None


@dataclass(frozen=True)
class OrderSummary:
    id: int
    order_number: str
    ordered_at: dt.datetime
    channel: str
    store_name: str | None
    total_amount: Decimal
    currency: str
    status: str
    source: str
    lines: tuple[OrderLineItem, ...]


@dataclass(frozen=True)
class InteractionSummary:
    id: int
    created_at: dt.datetime
    channel: str
    type: str
    outcome: str
    employee_name: str
    note: str | None
    source: str


@dataclass(frozen=True)
class FollowUpSummary:
    id: int
    due_date: dt.date
    note: str | None
    assignee_name: str
    overdue: bool


@dataclass(frozen=True)
class ConsentState:
    purpose: str
    channel: str
    granted: bool
    recorded_at: dt.datetime
    source: str


@dataclass(frozen=True)
class Page:
    """A slice of a customer's history and whether there is more after it."""

    items: tuple[Any, ...]
    offset: int
    has_more: bool


@dataclass(frozen=True)
class BasketItem:
    product_name: str
    quantity: int
    price: Decimal | None


@dataclass(frozen=True)
class BasketSummary:
    items: tuple[BasketItem, ...]
    total: Decimal | None  # None when a line has no price
    currency: str
    updated_at: dt.datetime
    abandoned: bool
    checkout_started: bool
    source: str


@dataclass(frozen=True)
class WebChange:
    """A recent wishlist change or search on the website."""

    kind: str  # a WebActivityKind: wishlist_added, wishlist_removed, searched
    text: str  # the product's name, or what was searched
    occurred_at: dt.datetime


@dataclass(frozen=True)
class WebOrder:
    order_number: str
    ordered_at: dt.datetime
    total_amount: Decimal | None
    currency: str
    source: str


@dataclass(frozen=True)
class LiveActivity:
    """What the website told us lately (live tracking API), read at `as_of`: the card says "12 min ago"."""

    as_of: dt.datetime
    last_seen_at: dt.datetime | None
    last_seen_source: str | None
    basket: BasketSummary | None
    changes: tuple[WebChange, ...]
    web_order: WebOrder | None  # an online order of the last 24 hours


@dataclass(frozen=True)
class CustomerProfile:
    customer_id: int
    first_name: str | None
    last_name: str | None
    city: str | None
    birth_date: dt.date | None
    loyalty_id: str | None
    loyalty_tier: str | None
    customer_since: dt.date | None
    preferred_store: str | None
    preferred_channel: str | None
    preferred_language: str | None
    contact: Contact
    preferences: tuple[Preference, ...]
    profiling_allowed: bool
    web_signals: tuple[WebSignalItem, ...]  # empty unless profiling_allowed
    orders: Page
    interactions: Page
    follow_ups: tuple[FollowUpSummary, ...]
    consents: tuple[ConsentState, ...]
    provenance: dict[str, str]  # golden field -> source system it came from
    redirected_from: int | None = None  # the id asked for, when it was merged into this customer
    live: LiveActivity | None = None  # None unless profiling_allowed
    # The customer's source records, when the card's read brought them along (PostgreSQL: in its one
    # statement, for the possible-duplicate banner: store.review.possible_duplicates(own=...)); None: not read.
    source_record_ids: tuple[int, ...] | None = None

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or f"#{self.customer_id}"

    def consent(self, purpose: ConsentPurpose, channel: ConsentChannel = ConsentChannel.ANY) -> bool | None:
        for state in self.consents:
            if state.purpose == purpose and state.channel == channel:
                return state.granted
        return None


# The card's statements, built once: a card is read for nearly every lookup, and building and hashing
# these selects (ORM entities, joins, orderings) cost more CPU than running them. They select plain
# columns of the tables (no ORM entities to load into the session: the card is a detached tree anyway)
# and take the customer as bound parameter `cid`.
_CUSTOMERS, _STORES, _EMPLOYEES = table_of(Customer), table_of(Store), table_of(Employee)
_CONSENTS, _FOLLOW_UPS, _PREFERENCES = table_of(Consent), table_of(FollowUp), table_of(DeclaredPreference)
_ORDERS, _ORDER_LINES, _INTERACTIONS = table_of(Order), table_of(OrderLine), table_of(Interaction)
_SIGNALS = table_of(WebSignal)
_CID: BindParameter[int] = bindparam("cid", type_=Integer)

_CUSTOMER_ROW = (
    select(_CUSTOMERS.c.id, _CUSTOMERS.c.status, _CUSTOMERS.c.merged_into_id, _CUSTOMERS.c.first_name,
           _CUSTOMERS.c.last_name, _CUSTOMERS.c.city, _CUSTOMERS.c.birth_date, _CUSTOMERS.c.loyalty_id,
           _CUSTOMERS.c.loyalty_tier, _CUSTOMERS.c.customer_since, _CUSTOMERS.c.preferred_channel,
           _CUSTOMERS.c.preferred_language, _CUSTOMERS.c.email, _CUSTOMERS.c.phone, _CUSTOMERS.c.provenance,
           _STORES.c.name.label("store_name"))
    .select_from(_CUSTOMERS.outerjoin(_STORES, _STORES.c.id == _CUSTOMERS.c.preferred_store_id))
    .where(_CUSTOMERS.c.id == _CID)
)
_CONSENT_ROWS = (
    select(_CONSENTS.c.purpose, _CONSENTS.c.channel, _CONSENTS.c.granted, _CONSENTS.c.recorded_at, _CONSENTS.c.source)
    .where(_CONSENTS.c.customer_id == _CID).order_by(_CONSENTS.c.purpose, _CONSENTS.c.channel)
)
_FOLLOW_UP_ROWS = (
    select(_FOLLOW_UPS.c.id, _FOLLOW_UPS.c.due_date, _FOLLOW_UPS.c.note, _EMPLOYEES.c.name)
    .join(_EMPLOYEES, _EMPLOYEES.c.id == _FOLLOW_UPS.c.assignee_id)
    .where(_FOLLOW_UPS.c.customer_id == _CID, _FOLLOW_UPS.c.status == FollowUpStatus.OPEN)
    .order_by(_FOLLOW_UPS.c.due_date, _FOLLOW_UPS.c.id).limit(10)
)
_PREFERENCE_ROWS = (
    select(_PREFERENCES.c.category, _PREFERENCES.c.label, _PREFERENCES.c.value, _PREFERENCES.c.recorded_at,
           _PREFERENCES.c.source)
    .where(_PREFERENCES.c.customer_id == _CID)
    .order_by(_PREFERENCES.c.recorded_at.desc(), _PREFERENCES.c.id.desc()).limit(MAX_PREFERENCES)
)
_RANKED_SIGNALS = (
    select(_SIGNALS.c.id, func.row_number().over(partition_by=_SIGNALS.c.kind,
                                                 order_by=(_SIGNALS.c.occurred_at.desc(), _SIGNALS.c.id.desc()))
           .label("rank"))
    .where(_SIGNALS.c.customer_id == _CID).subquery("ranked")
)
_SIGNAL_ROWS = (
    select(_SIGNALS.c.kind, _SIGNALS.c.product_name, _SIGNALS.c.sku, _SIGNALS.c.price, _SIGNALS.c.currency,
           _SIGNALS.c.occurred_at)
    .join(_RANKED_SIGNALS, _RANKED_SIGNALS.c.id == _SIGNALS.c.id).where(_RANKED_SIGNALS.c.rank <= SIGNALS_PER_KIND)
    .order_by(_SIGNALS.c.kind, _SIGNALS.c.occurred_at.desc(), _SIGNALS.c.id.desc())
)
# One page of orders (and one more, to know whether there is more) with their lines: one statement.
_ORDER_PAGE = (
    select(_ORDERS.c.id, _ORDERS.c.order_number, _ORDERS.c.ordered_at, _ORDERS.c.channel, _ORDERS.c.total_amount,
           _ORDERS.c.currency, _ORDERS.c.status, _ORDERS.c.source, _STORES.c.name.label("store_name"))
    .select_from(_ORDERS.outerjoin(_STORES, _STORES.c.id == _ORDERS.c.store_id))
    .where(_ORDERS.c.customer_id == _CID)
    .order_by(_ORDERS.c.ordered_at.desc(), _ORDERS.c.id.desc())
    .offset(bindparam("offset", type_=Integer)).limit(bindparam("limit", type_=Integer))
    .subquery("page")
)
_ORDER_ROWS = (
    select(_ORDER_PAGE, _ORDER_LINES.c.id.label("line_id"), _ORDER_LINES.c.product_name.label("line_product"),
           _ORDER_LINES.c.quantity.label("line_quantity"), _ORDER_LINES.c.size.label("line_size"))
    .select_from(_ORDER_PAGE.outerjoin(_ORDER_LINES, _ORDER_LINES.c.order_id == _ORDER_PAGE.c.id))
    .order_by(_ORDER_PAGE.c.ordered_at.desc(), _ORDER_PAGE.c.id.desc(), _ORDER_LINES.c.id)
)
_INTERACTION_ROWS = (
    select(_INTERACTIONS.c.id, _INTERACTIONS.c.created_at, _INTERACTIONS.c.channel, _INTERACTIONS.c.type,
           _INTERACTIONS.c.outcome, _INTERACTIONS.c.note, _INTERACTIONS.c.source, _EMPLOYEES.c.name.label("employee_name"))
    .join(_EMPLOYEES, _EMPLOYEES.c.id == _INTERACTIONS.c.employee_id)
    .where(_INTERACTIONS.c.customer_id == _CID)
    .order_by(_INTERACTIONS.c.created_at.desc(), _INTERACTIONS.c.id.desc())
    .offset(bindparam("offset", type_=Integer)).limit(bindparam("limit", type_=Integer))
)


def _active_customer(session: Reader, customer_id: int) -> tuple[Any, int | None]:
    """The customer's row (with its home store's name), following merges; and the id asked for when a merge
    led elsewhere."""
    asked = customer_id
    for _ in range(10):
        row = session.execute(_CUSTOMER_ROW, {"cid": customer_id}).first()
        if row is None:
            raise ProfileUnavailable("not_found")
        if row.status == CustomerStatus.ACTIVE:
            return row, (asked if asked != row.id else None)
        if row.status != CustomerStatus.MERGED or not row.merged_into_id:
            raise ProfileUnavailable("erased" if row.status == CustomerStatus.ERASED else "not_found")
        customer_id = row.merged_into_id
    raise ProfileUnavailable("not_found")


def _profiling(consents: tuple[ConsentState, ...]) -> bool:
    """The one rule for showing web activity: profiling granted somewhere and not refused for every channel."""
    return any(c.purpose == ConsentPurpose.PROFILING and c.granted for c in consents) and not any(
        c.purpose == ConsentPurpose.PROFILING and not c.granted and c.channel == ConsentChannel.ANY for c in consents)


def profiling_allowed(session: Session, customer_id: int) -> bool:
    """Whether the customer's web activity may be shown (the card's rule), e.g. in a DM about a visit."""
    return _profiling(tuple(
        ConsentState(purpose=c.purpose, channel=c.channel, granted=c.granted, recorded_at=c.recorded_at, source=c.source)
        for c in session.scalars(select(Consent).where(Consent.customer_id == customer_id,
                                                       Consent.purpose == ConsentPurpose.PROFILING))))


def viewer_may_see(viewer: Any, customer_id: int) -> bool:
    """Every registered employee may look customers up for now; roles will narrow this later."""
    return getattr(viewer, "id", None) is not None


def build_profile(session: Reader, customer_id: int, *, viewer: Any, clock: Callable[[], dt.datetime],
                  audit_via: str | None = None) -> CustomerProfile:
    """The card of `customer_id` (or of the customer it was merged into) as `viewer` may see it.

    `audit_via` (PostgreSQL only): the card's own statement also writes the audit row of this view (the
    viewer's VIEW of the customer the card shows, at `clock()`, through `audit_via`), one round trip instead
    of two; it is committed with the statement in an autocommit session (SessionFactory.autocommit), else by
    the caller. No row when the customer cannot be shown (erased, unknown)."""
    if not viewer_may_see(viewer, customer_id):
        raise ProfileUnavailable("not_found")
    postgresql = is_postgresql(session)
    if audit_via is not None and not postgresql:
        raise ValueError("the card writes its audit row itself on PostgreSQL only: record the view apart")
    view = None if audit_via is None else _view_params(viewer, clock, audit_via)
    reads = _card_in_one_statement(session, customer_id, view) if postgresql else _card_reads(session, customer_id)
    return _profile_of(session, reads, clock)


@dataclass(frozen=True)
class CardAlong:
    """The card of a customer found by another statement, read and its view audited within that statement
    (PostgreSQL): `statement(cid)` is the card's one statement with `cid`, an expression of the other
    statement (the id of its one hit), for the customer; `params` its parameters (the view's audit row's among
    them). store.search reads it with an exact lookup's hit: one round trip for the lookup, its card and the
    audit row, instead of two (bench/README.md, branch lookuppg2)."""
    statement: Callable[[ColumnElement[int]], Select[Any]]
    params: dict[str, Any]


def card_along(viewer: Any, clock: Callable[[], dt.datetime], via: str) -> CardAlong | None:
    """The card and its view's audit row to read along with a lookup (`CardAlong`), as `viewer` would see
    any customer; None when the viewer may not see customers (the card is then refused as build_profile
    refuses it, and no row written). `profile_of_card_row` makes the card of the row read."""
    if not viewer_may_see(viewer, 0):  # the rule depends on the viewer alone (a rule on the customer would go in the statement)
        return None
    return CardAlong(statement=_card_and_view_of, params={**_FIRST_PAGE, **_view_params(viewer, clock, via)})


def profile_of_card_row(session: Reader, row: Any, *, clock: Callable[[], dt.datetime]) -> CustomerProfile:
    """The card from a row holding the columns of `CardAlong.statement` for an active customer (read and its view
    audited along with a lookup); the web activity, with profiling consent, in a statement of its own."""
    return _profile_of(session, _card_reads_of(row, row.id), clock)


def _view_params(viewer: Any, clock: Callable[[], dt.datetime], via: str) -> dict[str, Any]:
    """The parameters of a card's view's audit row (`_VIEWED`)."""
    return {"a_at": clock(), "a_employee_id": viewer.id, "a_actor": viewer.slack_user_id, "a_via": via}


def _profile_of(session: Reader, reads: _CardReads, clock: Callable[[], dt.datetime]) -> CustomerProfile:
    customer, redirected_from = reads.customer, reads.redirected_from
    cid = customer.id
    consents = tuple(
        ConsentState(purpose=c.purpose, channel=c.channel, granted=c.granted, recorded_at=c.recorded_at,
                     source=c.source)
        for c in reads.consents
    )
    profiling = _profiling(consents)
    today = clock().date()
    web_signals, live = (_web_activity(session, cid, as_of=clock()) if profiling else ((), None))
    follow_ups = tuple(
        FollowUpSummary(id=f.id, due_date=f.due_date, note=f.note, assignee_name=f.name, overdue=f.due_date < today)
        for f in reads.follow_ups
    )
    return CustomerProfile(
        customer_id=cid,
        first_name=customer.first_name,
        last_name=customer.last_name,
        city=customer.city,
        birth_date=customer.birth_date,
        loyalty_id=customer.loyalty_id,
        loyalty_tier=customer.loyalty_tier,
        customer_since=customer.customer_since,
        preferred_store=customer.store_name,
        preferred_channel=customer.preferred_channel,
        preferred_language=customer.preferred_language,
        contact=Contact(email=customer.email, phone=customer.phone),
        preferences=_preferences_of(reads.preferences),
        profiling_allowed=profiling,
        web_signals=web_signals,
        orders=_order_page(reads.orders, offset=0, limit=RECENT),
        interactions=_interaction_page(reads.interactions, offset=0, limit=RECENT),
        follow_ups=follow_ups,
        consents=consents,
        provenance={name: str(origin.get("source")) for name, origin in (customer.provenance or {}).items()
                    if isinstance(origin, dict) and origin.get("source")},
        redirected_from=redirected_from,
        live=live,
        source_record_ids=reads.source_record_ids,
    )


@dataclass(frozen=True)
class _CardReads:
    """The rows a card is made of (web activity aside, read only with consent): the customer's row and each
    section's rows, with the columns of the section's statement above."""
    customer: Any
    redirected_from: int | None
    consents: Sequence[Any]
    follow_ups: Sequence[Any]
    preferences: Sequence[Any]
    orders: Sequence[Any]  # the first page and one more order, a row per line (`_ORDER_ROWS`)
    interactions: Sequence[Any]  # the first page and one more
    source_record_ids: tuple[int, ...] | None = None  # None: not read (SQLite: the banner reads them itself)


_FIRST_PAGE = {"offset": 0, "limit": RECENT + 1}


def _card_reads(session: Reader, customer_id: int) -> _CardReads:
    """One statement per section: on SQLite, in the process, a statement costs no round trip."""
    customer, redirected_from = _active_customer(session, customer_id)
    cid = {"cid": customer.id}
    return _CardReads(
        customer=customer, redirected_from=redirected_from,
        consents=session.execute(_CONSENT_ROWS, cid).all(),
        follow_ups=session.execute(_FOLLOW_UP_ROWS, cid).all(),
        preferences=session.execute(_PREFERENCE_ROWS, cid).all(),
        orders=session.execute(_ORDER_ROWS, {**cid, **_FIRST_PAGE}).all(),
        interactions=session.execute(_INTERACTION_ROWS, {**cid, **_FIRST_PAGE}).all(),
    )


def _card_in_one_statement(session: Reader, customer_id: int, view: dict[str, Any] | None = None) -> _CardReads:
    """The same rows in one round trip (PostgreSQL): the customer's row with each section as a JSON array
    of its rows. On PostgreSQL each statement is a round trip to the server and work on both sides, and
    a card was six of them. A merged id costs one more statement per merge followed (its sections are
    empty: a merge moves them to the survivor). `view`: the audit row's parameters (`_CARD_AND_VIEW_STATEMENT`),
    written by the read that finds the customer active."""
    asked = customer_id
    statement, params = (_CARD_STATEMENT, _FIRST_PAGE) if view is None else (_CARD_AND_VIEW_STATEMENT, {**_FIRST_PAGE, **view})
    for _ in range(10):
        row = session.execute(statement, {"cid": customer_id, **params}).first()
        if row is None:
            raise ProfileUnavailable("not_found")
        if row.status == CustomerStatus.ACTIVE:
            return _card_reads_of(row, asked)
        if row.status != CustomerStatus.MERGED or not row.merged_into_id:
            raise ProfileUnavailable("erased" if row.status == CustomerStatus.ERASED else "not_found")
        customer_id = row.merged_into_id
    raise ProfileUnavailable("not_found")


def _card_reads_of(row: Any, asked: int) -> _CardReads:
    """The card's rows from a row of `_CARD_STATEMENT`'s columns (an active customer's), `asked`: the id asked for."""
    sections = {name: section.rows(getattr(row, name)) for name, section in _CARD_SECTIONS.items()}
    return _CardReads(customer=row, redirected_from=asked if asked != row.id else None,
                      source_record_ids=tuple(row.source_record_ids or ()), **sections)


class _JsonSection:
    """One section of the card as a JSON array of its rows (each an array of the statement's columns, in the
    statement's order and limit), and back to rows with the same names and Python types as the statement's
    own rows: JSON has no dates or decimals, so those columns are parsed back (numbers as Decimal, exact).
    `order` repeats the statement's ORDER BY for the aggregate (json_agg keeps no order of its own); the
    PostgreSQL tests in tests/store/test_profile.py compare both forms' rows, order included."""

    def __init__(self, statement: Select[Any], name: str, order: Sequence[ColumnElement[Any]]) -> None:
        columns = statement.selected_columns
        rows = statement.add_columns(func.row_number().over(order_by=order).label("n")).subquery(f"{name}_rows")
        self.names = tuple(rows.c.keys()[:-1])  # the statement's columns ("n" is last)
        self.parsers = tuple(_json_parser(column.type) for column in columns)
        array = func.json_agg(aggregate_order_by(func.json_build_array(*(rows.c[n] for n in self.names)), rows.c.n))
        self.column = select(func.coalesce(array, literal_column("'[]'::json")).cast(Text)).scalar_subquery().label(name)

    def rows(self, text: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(**{name: None if value is None else parse(value)
                                   for name, parse, value in zip(self.names, self.parsers, values, strict=True)})
                for values in json.loads(text, parse_float=Decimal)]


def _json_parser(column_type: Any) -> Callable[[Any], Any]:
    if isinstance(column_type, DateTime):
        return dt.datetime.fromisoformat
    if isinstance(column_type, Date):
        return dt.date.fromisoformat
    if isinstance(column_type, Numeric):
        return Decimal
    return _same


def _same(value: Any) -> Any:
    return value


_CARD_SECTIONS = {
    "consents": _JsonSection(_CONSENT_ROWS, "consents", (_CONSENTS.c.purpose, _CONSENTS.c.channel)),
    "follow_ups": _JsonSection(_FOLLOW_UP_ROWS, "follow_ups", (_FOLLOW_UPS.c.due_date, _FOLLOW_UPS.c.id)),
    "preferences": _JsonSection(_PREFERENCE_ROWS, "preferences",
                                (_PREFERENCES.c.recorded_at.desc(), _PREFERENCES.c.id.desc())),
    "orders": _JsonSection(_ORDER_ROWS, "orders",
                           (_ORDER_PAGE.c.ordered_at.desc(), _ORDER_PAGE.c.id.desc(), _ORDER_LINES.c.id)),
    "interactions": _JsonSection(_INTERACTION_ROWS, "interactions",
                                 (_INTERACTIONS.c.created_at.desc(), _INTERACTIONS.c.id.desc())),
}
# The customer's source record ids, which the possible-duplicate banner starts from (a round trip of its own
# otherwise); NULL when there are none.
_SOURCE_RECORD_IDS = (select(func.array_agg(table_of(SourceRecord).c.id, type_=ARRAY(Integer)))
                      .where(table_of(SourceRecord).c.customer_id == _CID).scalar_subquery().label("source_record_ids"))
# The customer's row (`_CUSTOMER_ROW`) and every section's rows (PostgreSQL: json_agg, aggregate ORDER BY).
_CARD_STATEMENT = _CUSTOMER_ROW.add_columns(*(section.column for section in _CARD_SECTIONS.values()),
                                            _SOURCE_RECORD_IDS)
# The same, writing the audit row of the card shown (`build_profile(audit_via=...)`): the INSERT of a WITH,
# which PostgreSQL runs once whether or not the rest reads it, for the customer read only when active (a
# merged id's read writes nothing: the next read, of the survivor, does). The row `store.audit.record_now`
# writes for a VIEW (detail {}), parameters a_at, a_employee_id, a_actor, a_via.
_VIEWED = insert(table_of(AuditEvent)).from_select(
    ["at", "employee_id", "actor", "action", "customer_id", "via", "detail"],
    select(bindparam("a_at", type_=DateTime), bindparam("a_employee_id", type_=Integer),
           bindparam("a_actor", type_=String), literal_column(f"'{AuditAction.VIEW.value}'"), _CUSTOMERS.c.id,
           bindparam("a_via", type_=String), literal_column("'{}'::json"))
    .where(_CUSTOMERS.c.id == _CID, _CUSTOMERS.c.status == literal_column(f"'{CustomerStatus.ACTIVE.value}'")),
).cte("viewed")
_CARD_AND_VIEW_STATEMENT = _CARD_STATEMENT.add_cte(_VIEWED)


def _card_and_view_of(cid: ColumnElement[int]) -> Select[Any]:
    """`_CARD_AND_VIEW_STATEMENT` for the customer `cid`, an expression of an enclosing statement, in place of the
    bound parameter `cid` (everywhere: the customer's row, every section, the audit row)."""
    def customer_of(element: Any, **_kw: Any) -> Any:
        return cid if isinstance(element, BindParameter) and element.key == _CID.key else None

    return cast(Select[Any], replacement_traverse(_CARD_AND_VIEW_STATEMENT, {}, customer_of))


def _preferences_of(rows: Iterable[Any]) -> tuple[Preference, ...]:
    """The latest value per category and label: "shoes 39" replaces an older "shoes 38"."""
    latest: dict[tuple[str, str | None], Preference] = {}
    for p in rows:
        latest.setdefault((p.category, (p.label or "").lower() or None),
                          Preference(category=p.category, label=p.label, value=p.value, recorded_at=p.recorded_at,
                                     source=p.source))
    return tuple(sorted(latest.values(), key=lambda p: (p.category, p.label or "")))


def _web_signals(session: Reader, customer_id: int) -> tuple[WebSignalItem, ...]:
    return _signals_of(session.execute(_SIGNAL_ROWS, {"cid": customer_id}))


def _signals_of(rows: Iterable[Any]) -> tuple[WebSignalItem, ...]:
    return tuple(WebSignalItem(kind=s.kind, product_name=s.product_name, sku=s.sku, price=s.price, currency=s.currency,
                               occurred_at=s.occurred_at) for s in rows)


def _web_activity(session: Reader, customer_id: int, *,
                  as_of: dt.datetime) -> tuple[tuple[WebSignalItem, ...], LiveActivity]:
    """The web signals and live activity of a customer who allows profiling (read only then). On PostgreSQL
    in one round trip (`_WEB_STATEMENT`: signals, recent activity and the open basket as JSON arrays)."""
    if not is_postgresql(session):
        return _web_signals(session, customer_id), live_activity(session, customer_id, as_of=as_of)
    row = session.execute(_WEB_STATEMENT, {"cid": customer_id, "since": as_of - BASKET_WINDOW}).one()
    sections = {name: section.rows(getattr(row, name)) for name, section in _WEB_SECTIONS.items()}
    basket = sections["basket"][0] if sections["basket"] else None
    return _signals_of(sections["signals"]), _live_of(sections["activity"], basket, as_of=as_of)


# How far back the card looks for website activity worth telling.
CHANGES_WINDOW = dt.timedelta(days=7)
BASKET_WINDOW = dt.timedelta(days=30)
WEB_ORDER_WINDOW = dt.timedelta(hours=24)
MAX_CHANGES = 6
# What the card lists among recent website events; the rest (visits, views, cart events) only tell
# when the customer was last on the site.
_CHANGE_KINDS = (WebActivityKind.WISHLIST_ADDED, WebActivityKind.WISHLIST_REMOVED, WebActivityKind.SEARCHED,
                 WebActivityKind.ORDERED)


_ACTIVITY = WebActivity.__table__
_RANKED_ACTIVITY = (
    select(_ACTIVITY.c.id,
           func.row_number().over(partition_by=_ACTIVITY.c.kind.in_(_CHANGE_KINDS),
                                  order_by=(_ACTIVITY.c.occurred_at.desc(), _ACTIVITY.c.id.desc())).label("rank"))
    .where(_ACTIVITY.c.customer_id == _CID).subquery("ranked_activity")
)
# The latest events of each group (changes, the rest), built once (Core, plain columns) like the card's other
# reads: it runs on every card of a customer who allows profiling.
_ACTIVITY_ROWS = (
    select(_ACTIVITY.c.id, _ACTIVITY.c.kind, _ACTIVITY.c.detail, _ACTIVITY.c.product_name, _ACTIVITY.c.sku,
           _ACTIVITY.c.occurred_at, _ACTIVITY.c.source, _ACTIVITY.c.price, _ACTIVITY.c.currency)
    .join(_RANKED_ACTIVITY, _RANKED_ACTIVITY.c.id == _ACTIVITY.c.id).where(_RANKED_ACTIVITY.c.rank <= MAX_CHANGES)
    .order_by(_ACTIVITY.c.occurred_at.desc(), _ACTIVITY.c.id.desc())
)


def live_activity(session: Reader, customer_id: int, *, as_of: dt.datetime) -> LiveActivity:
    """The last visit, the open basket, recent wishlist changes and searches, a fresh online order:
    one query over the activity (the latest events of each group), one for the basket when there is any."""
    rows = session.execute(_ACTIVITY_ROWS, {"cid": customer_id}).all()
    basket = session.execute(_OPEN_BASKET, {"cid": customer_id, "since": as_of - BASKET_WINDOW}).first() if rows else None
    return _live_of(rows, basket, as_of=as_of)


def _live_of(rows: Sequence[Any], basket: Any, *, as_of: dt.datetime) -> LiveActivity:
    """`live_activity` from the rows of `_ACTIVITY_ROWS` and of `_OPEN_BASKET` (None: no open basket)."""
    if not rows:
        return LiveActivity(as_of=as_of, last_seen_at=None, last_seen_source=None, basket=None, changes=(),
                            web_order=None)
    changes = tuple(
        WebChange(kind=a.kind, text=(a.detail if a.kind == WebActivityKind.SEARCHED else a.product_name) or a.sku or "",
                  occurred_at=a.occurred_at)
        for a in rows if a.kind in _CHANGE_KINDS and a.kind != WebActivityKind.ORDERED
        and a.occurred_at >= as_of - CHANGES_WINDOW)
    ordered = next((a for a in rows if a.kind == WebActivityKind.ORDERED and a.occurred_at >= as_of - WEB_ORDER_WINDOW
                    and a.detail), None)
    return LiveActivity(
        as_of=as_of, last_seen_at=rows[0].occurred_at, last_seen_source=rows[0].source,
        basket=_basket_of(basket), changes=changes,
        web_order=WebOrder(order_number=ordered.detail or "", ordered_at=ordered.occurred_at,
                           total_amount=ordered.price, currency=ordered.currency, source=ordered.source)
        if ordered else None)


_BASKETS = table_of(Basket)
# The open basket, if any, of the last 30 days (bound parameter `since`): plain columns, like the card's reads.
_OPEN_BASKET = (
    select(_BASKETS.c["items"], _BASKETS.c.currency, _BASKETS.c.updated_at, _BASKETS.c.abandoned_at,
           _BASKETS.c.checkout_started_at, _BASKETS.c.source)
    .where(_BASKETS.c.customer_id == _CID, _BASKETS.c.closed_at.is_(None),
           _BASKETS.c.updated_at >= bindparam("since", type_=DateTime))
    .order_by(_BASKETS.c.updated_at.desc(), _BASKETS.c.id.desc()).limit(1)
)


def _basket_of(row: Any) -> BasketSummary | None:
    if row is None or not row.items:
        return None
    items = tuple(BasketItem(product_name=str(item.get("name") or item.get("sku")), quantity=int(item["quantity"]),
                             price=Decimal(item["price"]) if item.get("price") is not None else None)
                  for item in row.items)
    priced = all(item.price is not None for item in items)
    return BasketSummary(
        items=items, currency=row.currency, updated_at=row.updated_at,
        total=sum((item.quantity * (item.price or Decimal(0)) for item in items), Decimal("0.00")) if priced else None,
        abandoned=row.abandoned_at is not None, checkout_started=row.checkout_started_at is not None, source=row.source)


_WEB_SECTIONS = {
    "signals": _JsonSection(_SIGNAL_ROWS, "signals",
                            (_SIGNALS.c.kind, _SIGNALS.c.occurred_at.desc(), _SIGNALS.c.id.desc())),
    "activity": _JsonSection(_ACTIVITY_ROWS, "activity", (_ACTIVITY.c.occurred_at.desc(), _ACTIVITY.c.id.desc())),
    "basket": _JsonSection(_OPEN_BASKET, "basket", (_BASKETS.c.updated_at.desc(), _BASKETS.c.id.desc())),
}
_WEB_STATEMENT = select(*(section.column for section in _WEB_SECTIONS.values()))


def more_orders(session: Session, customer_id: int, *, offset: int, limit: int = RECENT) -> Page:
    """Orders across channels, newest first, with their lines: one query whatever the page size (no N+1)."""
    offset, limit = max(offset, 0), max(min(limit, 50), 1)
    rows = session.execute(_ORDER_ROWS, {"cid": customer_id, "offset": offset, "limit": limit + 1})
    return _order_page(rows, offset=offset, limit=limit)


def _order_page(rows: Iterable[Any], *, offset: int, limit: int) -> Page:
    """A page of orders from `_ORDER_ROWS`'s rows (a row per line; `limit` + 1 orders asked)."""
    orders: dict[int, Any] = {}
    lines: dict[int, list[OrderLineItem]] = {}
    for row in rows:
        orders.setdefault(row.id, row)
        if row.line_id is not None:
            lines.setdefault(row.id, []).append(
                OrderLineItem(product_name=row.line_product, quantity=row.line_quantity, size=row.line_size))
    page = list(orders.values())
    items = tuple(
        OrderSummary(id=order.id, order_number=order.order_number, ordered_at=order.ordered_at, channel=order.channel,
                     store_name=order.store_name, total_amount=order.total_amount, currency=order.currency,
                     status=order.status, source=order.source, lines=tuple(lines.get(order.id, ())))
        for order in page[:limit]
    )
    return Page(items=items, offset=offset, has_more=len(page) > limit)


def more_interactions(session: Session, customer_id: int, *, offset: int, limit: int = RECENT) -> Page:
    offset, limit = max(offset, 0), max(min(limit, 50), 1)
    rows = session.execute(_INTERACTION_ROWS, {"cid": customer_id, "offset": offset, "limit": limit + 1}).all()
    return _interaction_page(rows, offset=offset, limit=limit)


def _interaction_page(rows: Sequence[Any], *, offset: int, limit: int) -> Page:
    items = tuple(
        InteractionSummary(id=i.id, created_at=i.created_at, channel=i.channel, type=i.type, outcome=i.outcome,
                           employee_name=i.employee_name, note=i.note, source=i.source)
        for i in rows[:limit]
    )
    return Page(items=items, offset=offset, has_more=len(rows) > limit)
