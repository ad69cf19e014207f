"""Build the demo retailer in the database through the real import pipeline.

Stores, then employees (store.employees), then each source system's people (store.importing), then
identity resolution (store.resolution.relink), then orders, web signals, preferences, consents and
past interactions, exactly as `frontline import` would. The caller owns the transaction.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from store import importing
from store.importing import ImportReport
from store.importing.readers import Row
from store.demo.activity import Activity, DemoOrder, make_activity
from store.demo.people import make_persons, make_source_records
from store.demo.staff import STORES, employees as make_employees
from store.employees import import_employees
from store.identity import Thresholds
from store.models import (
    Base,
    Customer,
    Employee,
    FollowUp,
    Interaction,
    MatchReview,
    MergeEvent,
    Order,
    SourceRecord,
    Store,
    Team,
)
from store.resolution import relink
from store.vocabulary import CustomerStatus, FollowUpStatus, ReviewStatus, Role

DEFAULT_CUSTOMERS = 10_000
DEFAULT_SEED = 42
DEMO_STORE_CODES = tuple(store.code for store in STORES)
ACTOR = "demo"
# The orders and interactions importers insert with RETURNING in parameter order; SQLAlchemy splits such
# a batch at every change of which columns are None and splices the results in quadratic time. Rows
# are fed grouped by their None pattern, and in batches small enough to keep the rest cheap.
RETURNING_BATCH = 1000

Progress = Callable[[str], None]


class DemoAlreadyThere(Exception):
    """The database already holds data; the demo only builds on an empty one (or with reset)."""


@dataclass
class DemoSummary:
    stores: int = 0
    teams: int = 0
    employees: int = 0
    records_by_source: dict[str, int] = field(default_factory=dict)
    customers: int = 0
    merge_events: int = 0
    pending_reviews: int = 0
    orders: int = 0
    orders_by_channel: dict[str, int] = field(default_factory=dict)
    interactions: int = 0
    open_follow_ups: int = 0
    overdue_follow_ups: int = 0
    try_associate: str | None = None
    try_manager: str | None = None
    try_admin: str | None = None
    try_search: str | None = None
    rejected_rows: int = 0

    @property
    def source_records(self) -> int:
        return sum(self.records_by_source.values())

    def lines(self) -> list[str]:
        sources = ", ".join(f"{source} {count}" for source, count in self.records_by_source.items())
        channels = ", ".join(f"{channel} {count}" for channel, count in sorted(self.orders_by_channel.items()))
        lines = [
            f"Stores: {self.stores}, teams: {self.teams}, employees: {self.employees}",
            f"Source records: {self.source_records} ({sources})",
            f"Customers after identity resolution: {self.customers} "
            f"({self.source_records - self.customers} duplicate records linked, {self.merge_events} merges, "
            f"{self.pending_reviews} pending match reviews)",
            f"Orders: {self.orders} ({channels}), interactions: {self.interactions}, "
            f"follow-ups open: {self.open_follow_ups} (overdue: {self.overdue_follow_ups})",
        ]
        if self.rejected_rows:
            lines.append(f"Rows refused by the importers: {self.rejected_rows} (a demo bug: please report it)")
        if self.try_associate:
            lines.append(f"Slack users: associate {self.try_associate}, manager {self.try_manager}, "
                         f"admin {self.try_admin}")
            lines.append(f"Try: frontline-console --as {self.try_associate} then /customer {self.try_search}")
        return lines


@dataclass
class DemoBuild:
    summary: DemoSummary
    # (source, source_id) -> key of the true person behind the record, to check the resolution.
    truth: dict[tuple[str, str], int]


def existing_data(session: Session) -> str | None:
    """Why the database is not a blank slate for the demo, or None when it is."""
    if session.scalar(select(func.count()).select_from(Store).where(Store.code.in_(DEMO_STORE_CODES))):
        return "demo data is already there"
    for model, what in ((SourceRecord, "customer records"), (Employee, "employees"), (Customer, "customers")):
        if session.scalar(select(func.count()).select_from(model)):
            return f"the database already holds {what}"
    return None


def empty_tables(session: Session) -> None:
    """Delete every row of every Frontline table (children first); the schema stays."""
    session.execute(update(Customer).values(merged_into_id=None))
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))


def build_demo(session: Session, *, customers: int = DEFAULT_CUSTOMERS, seed: int = DEFAULT_SEED,
               today: dt.date, reset: bool = False, thresholds: Thresholds | None = None,
               progress: Progress | None = None) -> DemoBuild:
    """Fill an empty database with the demo retailer; raises DemoAlreadyThere unless `reset`."""
    tell = progress or (lambda stage: None)
    if customers < 1:
        raise ValueError("the demo needs at least one customer")
    if reset:
        empty_tables(session)
    else:
        reason = existing_data(session)
        if reason:
            raise DemoAlreadyThere(reason)
    tell("generating")
    staff = make_employees(seed)
    persons = make_persons(customers, seed=seed, today=today)
    records = make_source_records(persons, seed=seed, today=today)
    activity = make_activity(persons, records, staff, seed=seed, today=today)
    rejected = 0

    tell("stores and employees")
    session.add_all(Store(code=s.code, name=s.name, city=s.city, timezone=s.timezone) for s in STORES)
    session.flush()
    rejected += _check(import_employees(session, rows=_numbered(
        {"slack_user_id": e.slack_user_id, "name": e.name, "email": e.email, "role": e.role, "team": e.team,
         "store": e.store_code, "locale": e.locale, "timezone": e.timezone} for e in staff)))

    # Every source carries the person's home store (the web shop's click-and-collect store, the CRM's
    # store field), so every demo customer has one, set by survivorship like any golden field.
    home = {person.key: person.home_store for person in persons}
    # The web shop was connected first, the tills and the CRM later: the second resolution then merges
    # web customers that a till or CRM record shows to be one person (real merge events to look at).
    for sources in (("web",), ("pos", "crm")):
        for source in sources:
            tell(f"importing {source} people")
            rows = (record.row | {"source_id": record.source_id, "home_store": home[record.person_key]}
                    for record in records if record.source == source)
            rejected += _check(importing.import_people(session, source=source, rows=_numbered(rows)))
        tell("identity resolution")
        relink(session, thresholds=thresholds, actor=ACTOR, via="demo")

    tell("importing orders")
    by_store = sorted(activity.orders, key=lambda order: order.store_code is None)  # stable: still by date
    rejected += _check(importing.import_orders(session, rows=_numbered(map(_order_row, by_store)),
                                               batch_size=RETURNING_BATCH))
    tell("importing web signals, preferences and consents")
    rejected += _check(importing.import_web_signals(session, rows=_numbered(activity.signals)))
    rejected += _check(importing.import_preferences(session, rows=_numbered(activity.preferences)))
    rejected += _check(importing.import_consents(session, rows=_numbered(activity.consents)))
    tell("importing interactions")
    rejected += _check(importing.import_interactions(session, rows=_numbered(_interaction_rows(activity)),
                                                     batch_size=RETURNING_BATCH))

    summary = summarise(session, today=today)
    summary.rejected_rows = rejected
    truth = {(record.source, record.source_id): record.person_key for record in records}
    return DemoBuild(summary=summary, truth=truth)


def _numbered(rows: Iterable[Row]) -> Iterable[tuple[int, Row]]:
    return enumerate(rows, start=1)


def _check(report: ImportReport) -> int:
    return report.rejected


def _order_row(order: DemoOrder) -> Row:
    return {
        "source": order.source, "source_id": order.source_id, "order_number": order.order_number,
        "ordered_at": order.ordered_at.isoformat(sep=" "), "channel": order.channel, "store": order.store_code,
        "currency": order.currency, "status": order.status,
        "lines": [{"sku": line.sku, "product_name": line.product_name, "quantity": str(line.quantity),
                   "unit_price": str(line.unit_price), "size": line.size} for line in order.lines],
    }


def _interaction_rows(activity: Activity) -> Iterable[Row]:
    for interaction in activity.interactions:
        row: Row = {"source": interaction.source, "source_id": interaction.source_id,
               "external_id": interaction.ref, "employee_slack_id": interaction.employee,
               "channel": interaction.channel, "type": interaction.type, "outcome": interaction.outcome,
               "note": interaction.note, "created_at": interaction.created_at.isoformat(sep=" ")}
        task = interaction.follow_up
        if task is not None:
            row |= {"follow_up_due": task.due_date.isoformat(), "follow_up_assignee": task.assignee,
                    "follow_up_status": task.status, "follow_up_note": task.note}
            # A cancellation's time is not kept (see store/kpi.py).
            if task.status == "done" and task.completed_at is not None:
                row["follow_up_completed_at"] = task.completed_at.isoformat(sep=" ")
        yield row


def summarise(session: Session, *, today: dt.date) -> DemoSummary:
    """What is in the database now, and which Slack users and customer to try first."""
    def count(model: type[Base], *where: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    summary = DemoSummary(
        stores=count(Store), teams=count(Team), employees=count(Employee),
        records_by_source=dict(session.execute(
            select(SourceRecord.source, func.count()).group_by(SourceRecord.source).order_by(SourceRecord.source)
        ).all()),
        customers=count(Customer, Customer.status == CustomerStatus.ACTIVE),
        merge_events=count(MergeEvent),
        pending_reviews=count(MatchReview, MatchReview.status == ReviewStatus.PENDING),
        orders=count(Order),
        orders_by_channel=dict(session.execute(select(Order.channel, func.count()).group_by(Order.channel)).all()),
        interactions=count(Interaction),
        open_follow_ups=count(FollowUp, FollowUp.status == FollowUpStatus.OPEN),
        overdue_follow_ups=count(FollowUp, FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_date < today),
    )
    _pick_users_to_try(session, summary)
    return summary


def _pick_users_to_try(session: Session, summary: DemoSummary) -> None:
    """A store associate with overdue follow-ups, their manager, an admin, and one of their customers."""
    open_tasks = Counter(dict(session.execute(
        select(Employee.slack_user_id, func.count())
        .join(FollowUp, FollowUp.assignee_id == Employee.id)
        .where(FollowUp.status == FollowUpStatus.OPEN, Employee.role == Role.ASSOCIATE, Employee.store_id.is_not(None))
        .group_by(Employee.slack_user_id)).all()))
    associate = session.scalar(select(Employee).where(Employee.role == Role.ASSOCIATE, Employee.store_id.is_not(None))
                               .order_by(Employee.slack_user_id)) if not open_tasks else session.scalar(
        select(Employee).where(Employee.slack_user_id == min(open_tasks, key=lambda u: (-open_tasks[u], u))))
    if associate is None:
        return
    summary.try_associate = associate.slack_user_id
    summary.try_manager = session.scalar(
        select(Employee.slack_user_id).where(Employee.role == Role.MANAGER, Employee.team_id == associate.team_id)
        .order_by(Employee.slack_user_id))
    summary.try_admin = session.scalar(
        select(Employee.slack_user_id).where(Employee.role == Role.ADMIN).order_by(Employee.slack_user_id))
    channels = (select(Order.customer_id, func.count(Order.channel.distinct()).label("channels"))
                .group_by(Order.customer_id).subquery())
    customer = session.execute(
        select(Customer.first_name, Customer.last_name)
        .join(FollowUp, FollowUp.customer_id == Customer.id)
        .outerjoin(channels, channels.c.customer_id == Customer.id)
        .where(FollowUp.assignee_id == associate.id, Customer.status == CustomerStatus.ACTIVE,
               Customer.last_name.is_not(None))
        .order_by(func.coalesce(channels.c.channels, 0).desc(), FollowUp.status, Customer.id)
        .limit(1)).first()
    if customer is None:
        customer = session.execute(select(Customer.first_name, Customer.last_name)
                                   .where(Customer.status == CustomerStatus.ACTIVE).order_by(Customer.id).limit(1)).first()
    if customer is not None:
        summary.try_search = " ".join(part for part in (customer.first_name, customer.last_name) if part).lower() \
            or "dupont"
