"""The Frontline data model (SQLAlchemy 2, typed).

Conventions: datetimes are stored as naive UTC (`store.clock.utc_now()`), local dates/times are computed at the
edges with the employee's time zone. Customers are never deleted: a merged customer keeps its row
(status "merged", pointing at the survivor) so an unmerge can restore it, and an erased customer
keeps an anonymous row so KPIs still count it.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.clock import utc_now
from store.vocabulary import (
    ConsentChannel,
    ConsentPurpose,
    CustomerStatus,
    FollowUpStatus,
    IdentifierKind,
    InboxState,
    InteractionChannel,
    InteractionType,
    OrderChannel,
    OrderStatus,
    Outcome,
    PreferenceCategory,
    RecordSource,
    ReviewStatus,
    Role,
    WebSignalKind,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The closed sets as tuples, for membership tests (`value in ROLES`: Python 3.11's `in` on an Enum class
# refuses plain strings) and "one of ..." messages. The words themselves are in store.vocabulary.
ROLES: tuple[Role, ...] = tuple(Role)
CUSTOMER_STATUSES: tuple[CustomerStatus, ...] = tuple(CustomerStatus)
ORDER_CHANNELS: tuple[OrderChannel, ...] = tuple(OrderChannel)
INTERACTION_CHANNELS: tuple[InteractionChannel, ...] = tuple(InteractionChannel)
INTERACTION_TYPES: tuple[InteractionType, ...] = tuple(InteractionType)
INTERACTION_OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
FOLLOW_UP_STATUSES: tuple[FollowUpStatus, ...] = tuple(FollowUpStatus)
WEB_SIGNAL_KINDS: tuple[WebSignalKind, ...] = tuple(WebSignalKind)
PREFERENCE_CATEGORIES: tuple[PreferenceCategory, ...] = tuple(PreferenceCategory)
CONSENT_PURPOSES: tuple[ConsentPurpose, ...] = tuple(ConsentPurpose)
CONSENT_CHANNELS: tuple[ConsentChannel, ...] = tuple(ConsentChannel)
IDENTIFIER_KINDS: tuple[IdentifierKind, ...] = tuple(IdentifierKind)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    store: Mapped[Store | None] = relationship()


class Employee(Base):
    __tablename__ = "employees"
    id: Mapped[int] = mapped_column(primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16), default=Role.ASSOCIATE)  # a Role
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    # None: follow the employee's Slack locale / time zone.
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    digest_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" local; None = default
    digest_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_weekdays: Mapped[str] = mapped_column(String(20), default="0,1,2,3,4")  # Monday=0
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)

    team: Mapped[Team | None] = relationship()
    store: Mapped[Store | None] = relationship()


class Customer(Base):
    """The golden record, rebuilt from linked source records by the survivorship rules."""

    __tablename__ = "customers"
    # The digests' VIP section reads a store's home customers (revision 0013): status and tier
    # come from the index, so only active VIPs cost a row lookup (SQLite: 120 -> 30 ms per 4 stores at 1M).
    __table_args__ = (Index("ix_customers_home_store_vip", "preferred_store_id", "status", "loyalty_tier"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=CustomerStatus.ACTIVE, index=True)  # a CustomerStatus
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    loyalty_id: Mapped[str | None] = mapped_column(String(64))
    loyalty_tier: Mapped[str | None] = mapped_column(String(32))
    preferred_language: Mapped[str | None] = mapped_column(String(8))
    # Indexed: a store's morning digests look up its VIP customers' open issues by home store.
    preferred_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    customer_since: Mapped[dt.date | None] = mapped_column(Date)
    # field name -> {"record_id": int, "source": str, "source_id": str}: where each golden value came from.
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Folded "first last" used by name search (accent- and case-free).
    search_name: Mapped[str | None] = mapped_column(String(250), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)

    preferred_store: Mapped[Store | None] = relationship(foreign_keys=[preferred_store_id])


class CustomerIdentifier(Base):
    """Every normalised email, phone and loyalty id known for a customer, for exact lookups."""

    __tablename__ = "customer_identifiers"
    __table_args__ = (Index("ix_customer_identifiers_kind_value", "kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # an IdentifierKind
    value: Mapped[str] = mapped_column(String(320))
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_records.id"))


class SourceRecord(Base):
    """One record of one source system, kept as imported, linked to one customer."""

    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("source", "source_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    loyalty_id: Mapped[str | None] = mapped_column(String(64))
    # Every other column of the source row, kept verbatim.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Hash of the imported row: re-importing an unchanged row is a no-op.
    content_hash: Mapped[str] = mapped_column(String(64))
    # When the source system last changed the record (survivorship prefers fresher values).
    source_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("source", "order_number"),
        Index("ix_orders_customer_ordered", "customer_id", "ordered_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    order_number: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_records.id"), index=True)
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    channel: Mapped[str] = mapped_column(String(16))  # an OrderChannel
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.COMPLETED)  # an OrderStatus

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    store: Mapped[Store | None] = relationship()


class OrderLine(Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    size: Mapped[str | None] = mapped_column(String(16))

    order: Mapped[Order] = relationship(back_populates="lines")


class WebSignal(Base):
    """What the website knows: wishlist, recently viewed, recommendations (shown only with consent)."""

    __tablename__ = "web_signals"
    __table_args__ = (Index("ix_web_signals_customer_kind", "customer_id", "kind", "occurred_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # a WebSignalKind
    sku: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)


class DeclaredPreference(Base):
    """What the customer told us (sizes, brands, tastes, contact preferences): asked, not inferred."""

    __tablename__ = "declared_preferences"
    __table_args__ = (Index("ix_declared_preferences_customer", "customer_id", "category", "recorded_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    category: Mapped[str] = mapped_column(String(16))  # a PreferenceCategory
    label: Mapped[str | None] = mapped_column(String(64))  # e.g. "shoes" for a size
    value: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    source: Mapped[str] = mapped_column(String(32), default=RecordSource.FRONTLINE)
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_records.id"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))

    recorded_by: Mapped[Employee | None] = relationship()


class Consent(Base):
    """The latest consent state per customer, purpose and channel."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("customer_id", "purpose", "channel"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    purpose: Mapped[str] = mapped_column(String(16))  # a ConsentPurpose
    channel: Mapped[str] = mapped_column(String(16), default=ConsentChannel.ANY)  # a ConsentChannel
    granted: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(32))
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_records.id"), index=True)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_customer_created", "customer_id", "created_at"),
        Index("ix_interactions_employee_created", "employee_id", "created_at"),
        # A store's interactions by time, with who logged them for whom: the distinct customers of a
        # store breakdown's folded row ("everyone else") are counted from the index alone.
        Index("ix_interactions_store_people", "store_id", "created_at", "employee_id", "customer_id"),
        Index("ix_interactions_team_created", "team_id", "created_at"),
        UniqueConstraint("source", "source_ref"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    # Where the employee worked when it happened, so KPIs by store/team do not move when people do.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    channel: Mapped[str] = mapped_column(String(16))  # an InteractionChannel
    type: Mapped[str] = mapped_column(String(16))  # an InteractionType
    outcome: Mapped[str] = mapped_column(String(16))  # an Outcome
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now, index=True)
    source: Mapped[str] = mapped_column(String(32), default=RecordSource.SLACK)
    # Source-system id for imported history; Slack view/event id for Slack-made rows (idempotency).
    source_ref: Mapped[str | None] = mapped_column(String(128))

    employee: Mapped[Employee] = relationship()


class FollowUp(Base):
    __tablename__ = "follow_ups"
    __table_args__ = (
        # Digests: an assignee's open follow-ups by due date, counted and ranked from the index alone.
        Index("ix_follow_ups_assignee_open", "assignee_id", "status", "due_date", "created_at", "customer_id",
              "completed_at"),
        # A customer's open follow-ups (digests' VIP section, promised callbacks) from the index alone.
        Index("ix_follow_ups_customer_open", "customer_id", "status", "due_date", "assignee_id"),
        # Company-wide KPIs: overdue (open by due date) and created/completed per period.
        Index("ix_follow_ups_status_due", "status", "due_date", "created_at"),
        Index("ix_follow_ups_created", "created_at"),
        Index("ix_follow_ups_completed", "completed_at"),
        UniqueConstraint("source", "source_ref"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    due_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=FollowUpStatus.OPEN)  # a FollowUpStatus
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(32), default=RecordSource.SLACK)
    source_ref: Mapped[str | None] = mapped_column(String(128))

    assignee: Mapped[Employee] = relationship(foreign_keys=[assignee_id])


class AuditEvent(Base):
    """Who viewed, revealed, changed, exported or erased which customer, when, and through what."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_customer_at", "customer_id", "at"),
        Index("ix_audit_events_employee_at", "employee_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    actor: Mapped[str] = mapped_column(String(64))  # Slack user id, or "cli" / "job:<name>"
    action: Mapped[str] = mapped_column(String(32))  # an AuditAction
    # No foreign key: the trail outlives merges and erasures.
    customer_id: Mapped[int | None] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(String(32))  # slack command/action name, console, cli, job
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MatchReview(Base):
    """An uncertain match waiting for a person: two source records that may be the same customer."""

    __tablename__ = "match_reviews"
    __table_args__ = (UniqueConstraint("record_a_id", "record_b_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_a_id: Mapped[int] = mapped_column(ForeignKey("source_records.id"))
    record_b_id: Mapped[int] = mapped_column(ForeignKey("source_records.id"))
    score: Mapped[float] = mapped_column()
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # em: field-by-field evidence with weights (store.identity.evidence_as_json); NULL on older rows
    evidence: Mapped[list[Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.PENDING, index=True)  # a ReviewStatus
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))


class LinkConstraint(Base):
    """A person's decision the automatic linker must respect: keep two records apart, or together."""

    __tablename__ = "link_constraints"
    __table_args__ = (UniqueConstraint("record_a_id", "record_b_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_a_id: Mapped[int] = mapped_column(ForeignKey("source_records.id"))
    record_b_id: Mapped[int] = mapped_column(ForeignKey("source_records.id"))
    kind: Mapped[str] = mapped_column(String(16))  # a LinkKind
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(64))


class MergeEvent(Base):
    """A merge of one customer into another, with what is needed to undo it exactly."""

    __tablename__ = "merge_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    absorbed_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))  # a MergeReason
    # The absorbed and survivor rows before the merge and the ids of every row that moved.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    undone_by: Mapped[str | None] = mapped_column(String(64))


class DigestRun(Base):
    """One digest for one employee on one local day: the unique key makes sending exactly-once."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("employee_id", "kind", "local_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    kind: Mapped[str] = mapped_column(String(16))  # a DigestKind
    local_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # a DigestStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(String(200))


class ProcessedEvent(Base):
    """A Slack Events API delivery already handled: Slack redelivers an event (same event_id, with
    X-Slack-Retry-Num) when our answer was slow or lost, and any process may receive the retry.
    The primary key makes "handle it once" a single INSERT; rows older than a day are purged."""

    __tablename__ = "processed_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now, index=True)


class KpiRollupState(Base):
    """The daily KPI rollup exists, and its days are local days in this time zone (one row, id 1).

    Without this row the rollup is not kept and company-wide KPIs are computed from the raw rows."""

    __tablename__ = "kpi_rollup_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    # When the follow-up part (FollowUpKpiFact, KpiFollowUpDaily, KpiFollowUpDuration) was built: a
    # rollup from before it has none, and company-wide follow-up figures come from the raw rows until
    # `frontline migrate` builds it.
    follow_ups_built_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class InteractionKpiFact(Base):
    """What one interaction adds to the daily rollup, as last added (store/kpi_rollup.py).

    Kept so that a change (an earlier contact imported late, an order, a merge) can take the old
    contribution out of the rollup before putting the new one in."""

    __tablename__ = "interaction_kpi_facts"
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), primary_key=True)
    day: Mapped[int] = mapped_column(Integer)  # local date's ordinal (date.toordinal) in the rollup's zone
    employee_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(16))
    resolved: Mapped[int] = mapped_column(SmallInteger)  # 0/1
    repeat_contact: Mapped[int] = mapped_column(SmallInteger)  # 0/1, known customers only
    purchase: Mapped[int] = mapped_column(SmallInteger)  # 0/1, known customers only
    # Days since the customer's previous interaction (any / same employee / channel / type); -1 without
    # a customer, 367 when none in the 366 days before (the longest period).
    gap_all: Mapped[int] = mapped_column(SmallInteger)
    gap_employee: Mapped[int] = mapped_column(SmallInteger)
    gap_channel: Mapped[int] = mapped_column(SmallInteger)
    gap_type: Mapped[int] = mapped_column(SmallInteger)
    # The store and team recorded on the interaction, and the gaps in the store's, the team's and the
    # store's employee / channel / type groups (the /kpi store and team scopes; revision 0013).
    store_id: Mapped[int | None] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(Integer)
    gap_store: Mapped[int] = mapped_column(SmallInteger)
    gap_team: Mapped[int] = mapped_column(SmallInteger)
    gap_store_employee: Mapped[int] = mapped_column(SmallInteger)
    gap_store_channel: Mapped[int] = mapped_column(SmallInteger)
    gap_store_type: Mapped[int] = mapped_column(SmallInteger)


class KpiDaily(Base):
    """Interaction KPIs summed per local day, company-wide ("all"), per employee, channel and type, per store
    and team, and per employee, channel and type inside each store (the Dimension in store/kpi_rollup.py).

    `gap` splits each day's interactions by days since the customer's previous interaction in the same
    group, which makes "distinct customers" exact for any run of days: a customer is new to the
    period [S, E) exactly at the interaction whose gap reaches back before S (gap > day - S)."""

    __tablename__ = "kpi_daily"
    # A store's or team's rows are read by key over a run of days (revision 0013).
    __table_args__ = (Index("ix_kpi_daily_key_day", "dimension", "key", "day"),)
    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)  # a store.kpi_rollup.Dimension
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)  # "", an id, a channel or type, kpi_rollup.store_key
    gap: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    interactions: Mapped[int] = mapped_column(Integer, default=0)
    first_contacts: Mapped[int] = mapped_column(Integer, default=0)
    resolved_first_contacts: Mapped[int] = mapped_column(Integer, default=0)
    repeat_contacts: Mapped[int] = mapped_column(Integer, default=0)
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)


class FollowUpKpiFact(Base):
    """What one follow-up adds to the company-wide follow-up rollup, as last added (store/kpi_rollup.py).

    Days are date ordinals in the rollup's zone. A follow-up is overdue at the local midnight starting
    day D when D is in [overdue_from, overdue_until): created and due before D, not cancelled, and open
    or completed on D or later. Both NULL when it never is; overdue_until NULL while it is open."""

    __tablename__ = "follow_up_kpi_facts"
    __table_args__ = (
        # The median: the exact durations of one histogram bucket over a run of days, read in order.
        Index("ix_follow_up_kpi_facts_duration", "duration_bucket", "done_day", "duration_us"),
    )
    # No foreign key: the facts only mirror follow_ups, and `frontline kpi check` finds one left behind.
    follow_up_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_day: Mapped[int] = mapped_column(Integer)
    done_day: Mapped[int | None] = mapped_column(Integer)  # status done, by completed_at
    duration_us: Mapped[int | None] = mapped_column(BigInteger)  # completed_at - created_at when done
    duration_bucket: Mapped[int | None] = mapped_column(SmallInteger)
    overdue_from: Mapped[int | None] = mapped_column(Integer)
    overdue_until: Mapped[int | None] = mapped_column(Integer)


class KpiFollowUpDaily(Base):
    """Company-wide follow-up counts per local day: created, completed, and how many follow-ups start
    and stop being overdue that day (overdue at a midnight = all starts minus all stops up to it)."""

    __tablename__ = "kpi_follow_up_daily"
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    overdue_from: Mapped[int] = mapped_column(Integer, default=0)
    overdue_until: Mapped[int] = mapped_column(Integer, default=0)


class KpiFollowUpDuration(Base):
    """Follow-ups completed per local day and duration bucket (log scale): where the median lies."""

    __tablename__ = "kpi_follow_up_durations"
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    completed: Mapped[int] = mapped_column(Integer, default=0)


class CustomerNameKey(Base):
    """The name-search keys of customers.search_name (store/namekey.py): rows written by database
    triggers (revisions 0002 and 0003; on SQLite, big batches of new customers get theirs from
    store/survivorship.py while the trigger is lifted), read by store/search.py. No foreign key: the
    triggers delete a customer's keys with it. The key sorts in byte order on PostgreSQL (COLLATE "C"), so a word still
    being typed ("dupo") is one range scan of the primary key whatever the database's locale."""

    __tablename__ = "customer_name_keys"
    __table_args__ = ({"sqlite_with_rowid": False},)
    key: Mapped[str] = mapped_column(String(64).with_variant(Text(collation="C"), "postgresql"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, index=True)


class CustomerNamePairKey(Base):
    """The name-search keys of customers.search_name per pair of words (store/namekey.py,
    `stored_pair_keys`): rows written by database triggers (revision 0017; on SQLite, big batches of new
    customers get theirs from store/survivorship.py while the trigger is lifted), read by store/search.py
    for a typed name of two common words. No index on customer_id: the triggers delete a customer's rows
    by their keys, made again from the old name. Byte-order keys on PostgreSQL, as customer_name_keys."""

    __tablename__ = "customer_name_pair_keys"
    __table_args__ = ({"sqlite_with_rowid": False},)
    key: Mapped[str] = mapped_column(String(130).with_variant(Text(collation="C"), "postgresql"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class CustomerNameWord(Base):
    """The words of the customers' search names, each under itself and its one-letter deletions
    (store/namekey.py, `stored_word_variants`): the words within one typo of a typed word, which
    store/search.py then reads exactly in customer_name_pair_keys. Kept by the triggers of revision 0017;
    a word goes when no other customer holds it."""

    __tablename__ = "customer_name_words"
    __table_args__ = ({"sqlite_with_rowid": False},)
    variant: Mapped[str] = mapped_column(String(64).with_variant(Text(collation="C"), "postgresql"), primary_key=True)
    word: Mapped[str] = mapped_column(String(64).with_variant(Text(collation="C"), "postgresql"), primary_key=True)


# --- em: learned identity-resolution parameters ---


class LearnedMatchModel(Base):
    """The Fellegi-Sunter parameters a batch relink estimated on the whole base (store.identity
    score_learned), kept so that a record arriving alone is weighed as the next relink would weigh
    it. Fields, levels and probabilities, and the first-name aliases learned with them (pairs of first
    names seen as one person's in at least identity.ALIAS_HOUSEHOLDS households of different surnames:
    common names, no one's record). The latest row is the one in use."""

    __tablename__ = "learned_match_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    estimated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    records: Mapped[int] = mapped_column(Integer)  # how many source records it was learned on
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)  # store.identity.model_as_json
# ---- review (branch review) ----------------------------------------------------------------------

class EmployeePermission(Base):
    """A permission granted to one employee beyond their role (a Permission); admins have them all."""

    __tablename__ = "employee_permissions"
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(32), primary_key=True)  # a Permission
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    granted_by: Mapped[str] = mapped_column(String(64))


class ReviewDecision(Base):
    """A person's answer to a match review, with what undoing it exactly needs.

    No foreign key to customers (a merge must not move it) nor to merge_events; the review's row going
    (a GDPR erasure deletes the reviews of the erased person's records) takes its decisions with it."""

    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("match_reviews.id", ondelete="CASCADE"), index=True)
    answer: Mapped[str] = mapped_column(String(16))  # a ReviewAnswer
    merge_event_id: Mapped[int | None] = mapped_column(Integer)  # the merge a "same person" answer made
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    actor: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    undone_by: Mapped[str | None] = mapped_column(String(64))


# The card asks for the pending reviews of its customer's records from either side (store.review
# possible_duplicates): record_a_id is the head of the unique constraint's index, record_b_id needs its own.
Index("ix_match_reviews_record_b_id", MatchReview.record_b_id)
# --- shopify (issue 11 §2) ------------------------------------------------------------------------


class ShopifyVersion(Base):
    """The version of each Shopify customer, order and checkout last applied, so that an older one never
    overwrites a newer one: webhooks arrive out of order (orders/updated before orders/create), and a
    retry hours later carries the payload of when it was first triggered (store/live/shopify.py)."""

    __tablename__ = "shopify_versions"
    __table_args__ = (UniqueConstraint("source", "resource", "shopify_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(16))  # a ShopifyResource
    shopify_id: Mapped[str] = mapped_column(String(64))
    # The payload's updated_at, then X-Shopify-Triggered-At to order two versions of the same second.
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    triggered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    applied_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)


# --- ingest (issue 11: live sources and their inbox) ---------------------------------------------


class LiveSource(Base):
    """A system that sends events live: a Segment-compatible tracker or a Shopify shop.

    The write key is stored as its SHA-256 (it is a long random token, so a fast hash is enough and
    lets a request find its source in one indexed lookup). Shopify signs with a shared secret that
    must be known to check signatures, so that one is kept as given."""

    __tablename__ = "live_sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # a SourceKind
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    secret: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


# The states an event is not done with (InboxState.PENDING, WAITING), as the partial index's predicate: a query
# must state it in these very words (not as bound parameters) for SQLite to use that index.
INBOX_UNFINISHED = "state IN ('pending', 'waiting')"


class InboxMessage(Base):
    """One received event, durably stored before the sender gets its 2xx (store/inbox.py).

    Workers apply pending rows in id order per person (`person_key`), and write the state in the same
    transaction as the applier's writes. (source_id, message_id) deduplicates the sender's retries."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        UniqueConstraint("source_id", "message_id"),
        Index("ix_inbox_messages_state_due", "state", "due_at", "id"),
        # A person's unfinished events only (store.inbox: the order barriers read them every step): applied
        # events, most of the table, stay out of it, so that read does not grow with a person's history.
        Index("ix_inbox_messages_unfinished", "person_key", "id", sqlite_where=text(INBOX_UNFINISHED),
              postgresql_where=text(INBOX_UNFINISHED)),
    )
    # 64-bit on PostgreSQL (a busy shop sends billions of events); SQLite's rowid is 64-bit already.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("live_sources.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(40))  # a SegmentType, or a Shopify topic
    person_key: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # When it happened by the sender's clock, corrected for that clock's skew.
    event_at: Mapped[dt.datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(16), default=InboxState.PENDING)  # an InboxState
    # Not before: a waiting event is tried again from then on.
    due_at: Mapped[dt.datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(64))  # why waiting or rejected: a key, never data
    applied_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

# --- commerce: live website activity (store/live/commerce.py) ----------------------------------------


class WebVisitor(Base):
    """A browser the website knows only by its anonymousId, until an alias or identify names the person:
    from then on its activity (earlier and later) belongs to that person's record."""

    __tablename__ = "web_visitors"
    __table_args__ = (UniqueConstraint("source", "anonymous_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    anonymous_id: Mapped[str] = mapped_column(String(128))
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_records.id"), index=True)
    # Consent stated while anonymous, applied to the person when the visitor is joined:
    # purpose -> [granted, ISO timestamp].
    consent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)


class WebActivity(Base):
    """What a person (or a not yet named visitor) did on the website, one row per tracked event."""

    __tablename__ = "web_activity"
    __table_args__ = (Index("ix_web_activity_customer_at", "customer_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))  # None while anonymous
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_records.id"), index=True)
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("web_visitors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # a WebActivityKind
    sku: Mapped[str | None] = mapped_column(String(64))
    product_name: Mapped[str | None] = mapped_column(String(200))
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    quantity: Mapped[int | None] = mapped_column(Integer)
    # The search query, the page's name or path, or the order number.
    detail: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Basket(Base):
    """A shopping cart as the website last showed it; abandoned when left alone too long (bot job)."""

    __tablename__ = "baskets"
    __table_args__ = (
        UniqueConstraint("source", "cart_key"),
        Index("ix_baskets_customer_updated", "customer_id", "updated_at"),
        Index("ix_baskets_open", "closed_at", "abandoned_at", "updated_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    # The site's cart_id, or "user:<userId>" / "anon:<anonymousId>" when the site sends none.
    cart_key: Mapped[str] = mapped_column(String(160))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_records.id"), index=True)
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("web_visitors.id"), index=True)
    # [{"sku", "name", "price", "currency", "quantity"}], prices as strings (exact decimals in JSON).
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    checkout_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    abandoned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # ordered (or emptied)


class WebNotice(Base):
    """A short DM owed to an employee with an open follow-up: the customer ordered or came back to the site.

    Sent by the notices job at most once per employee, customer and local day (the unique key on
    sent_day), never at night in the employee's time zone."""

    __tablename__ = "web_notices"
    __table_args__ = (
        UniqueConstraint("employee_id", "customer_id", "sent_day"),
        Index("ix_web_notices_pending", "handled_at", "happened_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    # No foreign key: a merge must not move notices (two sent the same day would collide on the unique
    # key); a notice about a customer merged or erased since is dropped by the notices job.
    customer_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # a WebNoticeKind
    detail: Mapped[str | None] = mapped_column(String(64))  # the order number
    source: Mapped[str] = mapped_column(String(32))
    happened_at: Mapped[dt.datetime] = mapped_column(DateTime)
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # sent or dropped
    sent_day: Mapped[dt.date | None] = mapped_column(Date)  # the employee's local day it was sent on

# Identity on arrival (store/arrival.py) reads an arriving record's neighbourhood by these columns: one
# indexed lookup each instead of a scan of every source record per event.
Index("ix_source_records_email", SourceRecord.email)
Index("ix_source_records_phone", SourceRecord.phone)
Index("ix_source_records_loyalty_id", SourceRecord.loyalty_id)
Index("ix_source_records_birth_date", SourceRecord.birth_date)
# the names too: arrival reads the id and names of a postcode's records (thousands in a big town) from
# this index alone (revision 0017)
Index("ix_source_records_postcode_names", SourceRecord.postcode, SourceRecord.first_name, SourceRecord.last_name)
# --- convo: the memory of a conversation with Frontline (store/conversations.py) ---------------------


class ConversationThread(Base):
    """What one employee's conversation with Frontline remembers: the customer under discussion, the
    candidates last offered ("the second one"), an interaction being drafted. One row per employee and
    Slack thread (thread_ts "" for a DM's main flow); forgotten when idle (store/conversations.py) and
    deleted with the customer on erasure."""

    __tablename__ = "conversation_threads"
    __table_args__ = (UniqueConstraint("employee_id", "channel_id", "thread_ts"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(40))
    thread_ts: Mapped[str] = mapped_column(String(40))
    # Customer ids here are plain columns, not foreign keys: a merge moves every child row of a customer
    # (store.merging), and a memory need not move (build_profile follows a merged id to its survivor);
    # erasure deletes these rows explicitly (store.conversations.forget_customer).
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # An interaction being drafted ("log a call: ..."), waiting for its confirm button: channel, type, note.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now, index=True)


class ConversationCandidate(Base):
    """The customers offered when a lookup was ambiguous, in the order shown (position 1, 2, ...)."""

    __tablename__ = "conversation_candidates"
    thread_id: Mapped[int] = mapped_column(ForeignKey("conversation_threads.id", ondelete="CASCADE"),
                                           primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)  # no foreign key: see ConversationThread


class EmployeeAccessHold(Base):
    """An admin deactivated this employee by hand (`frontline employees deactivate`): no sync (roster --sync,
    Slack's directory and its events) gives access back, only an admin's reactivation, which deletes the row
    (store.employees.apply_employee). A table of its own, so the employees table keeps its shape."""

    __tablename__ = "employee_access_holds"
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True)
    held_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
