"""Logging what happened with a customer: the interaction, what the customer told us, a follow-up.

`validate_interaction_form` turns the raw form values into clean inputs or per-field errors (catalog
keys, translated by the handlers). `log_interaction` writes everything in the caller's transaction and
is idempotent on its key: a retried or double-submitted form returns the row written the first time.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import audit, kpi_rollup
from store.errors import Refused
from store.models import (
    INTERACTION_CHANNELS,
    INTERACTION_OUTCOMES,
    INTERACTION_TYPES,
    Customer,
    DeclaredPreference,
    Employee,
    FollowUp,
    Interaction,
)
from store.search import Candidate, find_customers
from store.vocabulary import (
    AuditAction,
    ContactChannel,
    CustomerStatus,
    FollowUpStatus,
    InteractionChannel,
    InteractionType,
    Outcome,
    PreferenceCategory,
    RecordSource,
)

SLACK_SOURCE = RecordSource.SLACK
PREFERENCE_SOURCE = RecordSource.FRONTLINE
MAX_NOTE = 3000
MAX_PREFERENCE_TEXT = 500
MAX_PREFERENCE_VALUE = 200
MAX_PREFERENCE_LABEL = 64
CONTACT_CHANNELS: tuple[ContactChannel, ...] = tuple(ContactChannel)
LANGUAGES: tuple[str, ...] = ("fr", "en", "de", "es", "it", "nl", "pt", "ar", "zh")
# Categories whose value also becomes the customer's golden preference.
_GOLDEN_FIELDS = {PreferenceCategory.CHANNEL: "preferred_channel", PreferenceCategory.LANGUAGE: "preferred_language"}
_SIZE_WORDS = {"xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl", "tu", "one"}


class Actor(Protocol):
    """Who is acting: an Employee row or the access middleware's (frozen) snapshot, read only."""

    @property
    def id(self) -> int: ...
    @property
    def slack_user_id(self) -> str: ...
    @property
    def store_id(self) -> int | None: ...
    @property
    def team_id(self) -> int | None: ...


@dataclass(frozen=True)
class DeclaredPreferenceInput:
    category: PreferenceCategory
    value: str
    label: str | None = None


@dataclass(frozen=True)
class FollowUpInput:
    due_date: dt.date
    assignee_id: int
    note: str | None = None


@dataclass(frozen=True)
class FieldError:
    key: str  # catalog key, e.g. "interactions.error.note_too_long"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CleanInteraction:
    customer_id: int
    channel: InteractionChannel
    type: InteractionType
    outcome: Outcome
    note: str | None
    declared: list[DeclaredPreferenceInput]
    follow_up: FollowUpInput | None


class InteractionRefused(Refused):
    """The interaction cannot be written; `key` is a catalog key saying why."""


# --- validation ---------------------------------------------------------------------------------


def split_items(text: str | None) -> list[str]:
    """'shoes 39, jeans W30; M' -> ['shoes 39', 'jeans W30', 'M']."""
    if not text:
        return []
    return [item.strip(" .") for item in re.split(r"[,;\n]+", text) if item.strip(" .")]


def parse_size(item: str) -> DeclaredPreferenceInput:
    """'shoes 39' -> label shoes, value 39; 'jeans W30 L32' -> jeans / W30 L32; 'M' -> value M."""
    tokens = item.replace(":", " ").split()
    label_tokens: list[str] = []
    for token in tokens[:-1]:
        if any(ch.isdigit() for ch in token) or token.lower() in _SIZE_WORDS:
            break
        label_tokens.append(token)
    value = " ".join(tokens[len(label_tokens):])
    return DeclaredPreferenceInput(category=PreferenceCategory.SIZE, value=value, label=" ".join(label_tokens) or None)


def _customer_exists(session: Session, customer_id: int) -> bool:
    customer = session.get(Customer, customer_id)
    return customer is not None and customer.status != CustomerStatus.ERASED


def validate_interaction_form(
    session: Session, values: dict[str, Any], *, today: dt.date
) -> tuple[CleanInteraction | None, dict[str, FieldError]]:
    """Check the raw form values; returns (clean, {}) or (None, {field: error}).

    Fields: customer_id, channel, type, outcome, note, sizes, brands, tastes, contact_channel,
    language, follow_up_due (date or ISO text), follow_up_assignee (Slack user id), follow_up_note.
    """
    errors: dict[str, FieldError] = {}

    customer_id: int | None = None
    raw_customer = values.get("customer_id")
    try:
        customer_id = int(raw_customer) if raw_customer not in (None, "") else None
    except (TypeError, ValueError):
        customer_id = None
    if customer_id is not None and not 0 < customer_id < 2**63:  # a forged id no database column can hold
        customer_id = None
    if customer_id is None:
        errors["customer_id"] = FieldError("interactions.error.customer_missing")
    elif not _customer_exists(session, customer_id):
        errors["customer_id"] = FieldError("interactions.error.customer_unknown")

    for name, allowed in (("channel", INTERACTION_CHANNELS), ("type", INTERACTION_TYPES),
                          ("outcome", INTERACTION_OUTCOMES)):
        if not values.get(name):
            errors[name] = FieldError(f"interactions.error.{name}_missing")
        elif values[name] not in allowed:
            errors[name] = FieldError(f"interactions.error.{name}_unknown", params={"value": values[name]})

    note = (values.get("note") or "").strip() or None
    if note and len(note) > MAX_NOTE:
        errors["note"] = FieldError("interactions.error.note_too_long", params={"limit": MAX_NOTE, "length": len(note)})

    declared: list[DeclaredPreferenceInput] = []
    for name, category in (("sizes", PreferenceCategory.SIZE), ("brands", PreferenceCategory.BRAND),
                           ("tastes", PreferenceCategory.TASTE)):
        text = (values.get(name) or "").strip()
        if len(text) > MAX_PREFERENCE_TEXT:
            errors[name] = FieldError("interactions.error.text_too_long", params={"limit": MAX_PREFERENCE_TEXT})
            continue
        for item in split_items(text):
            preference = (parse_size(item) if category == PreferenceCategory.SIZE
                          else DeclaredPreferenceInput(category=category, value=item))
            if len(preference.value) > MAX_PREFERENCE_VALUE or len(preference.label or "") > MAX_PREFERENCE_LABEL:
                errors[name] = FieldError("interactions.error.item_too_long", params={"limit": MAX_PREFERENCE_VALUE})
                break
            declared.append(preference)
    choices: tuple[tuple[str, PreferenceCategory, tuple[str, ...]], ...] = (
        ("contact_channel", PreferenceCategory.CHANNEL, CONTACT_CHANNELS),
        ("language", PreferenceCategory.LANGUAGE, LANGUAGES))
    for field_name, category, allowed_values in choices:
        chosen = values.get(field_name)
        if not chosen:
            continue
        if chosen in allowed_values:
            declared.append(DeclaredPreferenceInput(category=category, value=chosen))
        else:
            errors[field_name] = FieldError(f"interactions.error.{field_name}_unknown", params={"value": chosen})

    follow_up, follow_up_errors = validate_follow_up_form(session, values, today=today)
    errors.update(follow_up_errors)

    if errors:
        return None, errors
    assert customer_id is not None
    return CleanInteraction(customer_id=customer_id, channel=InteractionChannel(values["channel"]),
                            type=InteractionType(values["type"]), outcome=Outcome(values["outcome"]), note=note,
                            declared=declared, follow_up=follow_up), {}


def validate_follow_up_form(session: Session, values: dict[str, Any], *, today: dt.date
                        ) -> tuple[FollowUpInput | None, dict[str, FieldError]]:
    """A follow-up exists when a due date is given; assignee and note alone are not enough."""
    raw_due = values.get("follow_up_due")
    note = (values.get("follow_up_note") or "").strip() or None
    errors: dict[str, FieldError] = {}
    if not raw_due:
        if note:
            errors["follow_up_due"] = FieldError("interactions.error.due_missing")
        return None, errors
    try:
        due = raw_due if isinstance(raw_due, dt.date) else dt.date.fromisoformat(str(raw_due))
    except ValueError:
        return None, {"follow_up_due": FieldError("interactions.error.due_invalid")}
    if due < today:
        errors["follow_up_due"] = FieldError("interactions.error.due_in_past")
    if note and len(note) > MAX_NOTE:
        errors["follow_up_note"] = FieldError("interactions.error.note_too_long", params={"limit": MAX_NOTE, "length": len(note)})
    assignee_slack_id = values.get("follow_up_assignee")
    assignee = None
    if not assignee_slack_id:
        errors["follow_up_assignee"] = FieldError("interactions.error.assignee_missing")
    else:
        assignee = session.scalars(select(Employee).where(Employee.slack_user_id == assignee_slack_id)).one_or_none()
        if assignee is None or not assignee.active:
            errors["follow_up_assignee"] = FieldError("interactions.error.assignee_not_employee")
    if errors or assignee is None:
        return None, errors
    return FollowUpInput(due_date=due, assignee_id=assignee.id, note=note), {}


# --- writing ------------------------------------------------------------------------------------


def begin_write(session: Session) -> None:
    """Open the session's transaction now, before the idempotency check and its savepoint.

    store.db makes SQLite transactions real (BEGIN sent by us, so a savepoint can never become the
    outermost transaction and commit behind the caller's back), and `session_factory.begin()` starts
    with BEGIN IMMEDIATE, which takes SQLite's write lock at once: the check that follows is then free
    of races there. PostgreSQL relies on the unique key plus the savepoint.
    """
    session.connection()


def _existing_interaction(session: Session, key: str) -> Interaction | None:
    return session.scalars(
        select(Interaction).where(Interaction.source == SLACK_SOURCE, Interaction.source_ref == key)
    ).one_or_none()


def resolve_customer(session: Session, customer_id: int) -> Customer:
    """The live customer behind an id: a merged one is followed to its survivor; erased ones refuse."""
    customer = session.get(Customer, customer_id)
    seen: set[int] = set()
    while customer is not None and customer.status == CustomerStatus.MERGED and customer.merged_into_id and customer.id not in seen:
        seen.add(customer.id)
        customer = session.get(Customer, customer.merged_into_id)
    if customer is None:
        raise InteractionRefused("interactions.error.customer_unknown", field="customer_id")
    if customer.status == CustomerStatus.ERASED:
        raise InteractionRefused("interactions.error.customer_erased", field="customer_id")
    return customer


def log_interaction(
    session: Session,
    *,
    employee: Actor,
    customer_id: int,
    channel: InteractionChannel,
    type: InteractionType,
    outcome: Outcome,
    note: str | None,
    declared: list[DeclaredPreferenceInput],
    follow_up: FollowUpInput | None,
    idempotency_key: str,
    now: dt.datetime,
    via: str = "slack:log_interaction",
) -> Interaction:
    existing = _existing_interaction(session, idempotency_key)
    if existing is not None:
        return existing
    begin_write(session)
    existing = _existing_interaction(session, idempotency_key)
    if existing is not None:
        return existing
    customer = resolve_customer(session, customer_id)
    try:
        # A savepoint, so a concurrent twin that won the unique key leaves the caller's transaction usable.
        with session.begin_nested():
            interaction = _write(session, employee=employee, customer=customer, channel=channel, type=type,
                                 outcome=outcome, note=note, declared=declared, follow_up=follow_up,
                                 idempotency_key=idempotency_key, now=now, via=via)
    except IntegrityError:
        existing = _existing_interaction(session, idempotency_key)
        if existing is None:
            raise
        return existing
    return interaction


def _write(session: Session, *, employee: Actor, customer: Customer, channel: InteractionChannel,
           type: InteractionType, outcome: Outcome,
           note: str | None, declared: list[DeclaredPreferenceInput], follow_up: FollowUpInput | None,
           idempotency_key: str, now: dt.datetime, via: str) -> Interaction:
    interaction = Interaction(
        customer_id=customer.id, employee_id=employee.id, store_id=employee.store_id, team_id=employee.team_id,
        channel=channel, type=type, outcome=outcome, note=note, created_at=now,
        source=SLACK_SOURCE, source_ref=idempotency_key,
    )
    session.add(interaction)
    session.flush()
    kpi_rollup.refresh(session, customer_ids=[customer.id])
    golden_changes: list[str] = []
    for preference in declared:
        session.add(DeclaredPreference(
            customer_id=customer.id, category=preference.category, label=preference.label,
            value=preference.value, recorded_at=now, recorded_by_id=employee.id,
            source=PREFERENCE_SOURCE, interaction_id=interaction.id,
        ))
        golden_field = _GOLDEN_FIELDS.get(preference.category)
        if golden_field:
            setattr(customer, golden_field, preference.value)
            provenance = dict(customer.provenance or {})
            provenance[golden_field] = {"source": PREFERENCE_SOURCE, "interaction_id": interaction.id,
                                        "recorded_by": employee.id, "at": now.isoformat()}
            customer.provenance = provenance
            golden_changes.append(golden_field)
    follow_up_row = None
    if follow_up is not None:
        follow_up_row = FollowUp(
            interaction_id=interaction.id, customer_id=customer.id, assignee_id=follow_up.assignee_id,
            created_by_id=employee.id, due_date=follow_up.due_date, note=follow_up.note, status=FollowUpStatus.OPEN,
            created_at=now, source=SLACK_SOURCE, source_ref=idempotency_key,
        )
        session.add(follow_up_row)
        session.flush()
        kpi_rollup.refresh_follow_ups(session, [follow_up_row.id])
    # No note text in the trail: the audit says what changed, the rows say what was written.
    audit.record(session, employee_id=employee.id, actor=employee.slack_user_id, action=AuditAction.CHANGE,
                 customer_id=customer.id, via=via, at=now, detail={
                     "interaction_id": interaction.id,
                     "declared": sorted({p.category for p in declared}),
                     "customer_fields": golden_changes,
                     "follow_up_id": follow_up_row.id if follow_up_row else None,
                 })
    session.flush()
    return interaction


def declared_for_interaction(session: Session, interaction_id: int) -> list[DeclaredPreference]:
    return list(session.scalars(
        select(DeclaredPreference).where(DeclaredPreference.interaction_id == interaction_id)
        .order_by(DeclaredPreference.id)
    ))


def follow_up_for_interaction(session: Session, interaction_id: int) -> FollowUp | None:
    return session.scalars(select(FollowUp).where(FollowUp.interaction_id == interaction_id)).first()


# --- picking a customer -------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerChoice:
    id: int
    name: str
    city: str | None
    phone_tail: str | None  # last two digits only: enough to tell two namesakes apart


def customer_name(customer: Customer) -> str:
    return " ".join(p for p in (customer.first_name, customer.last_name) if p) or f"#{customer.id}"


def customer_choice(session: Session, customer_id: int) -> CustomerChoice | None:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.status != CustomerStatus.ACTIVE:
        return None
    return CustomerChoice(id=customer.id, name=customer_name(customer), city=customer.city,
                          phone_tail=customer.phone[-2:] if customer.phone else None)


def suggest_customers(session: Session, text: str, *, limit: int = 20) -> list[CustomerChoice]:
    """Customers for a type-ahead, ranked by the shared customer search."""
    result = find_customers(session, text, limit=limit)
    return [_choice_of(candidate) for candidate in result.candidates]


def clear_match(session: Session, text: str) -> CustomerChoice | None:
    """The one customer `text` clearly designates, if any (what /log prefills)."""
    result = find_customers(session, text, limit=2)
    return _choice_of(result.best) if result.exact and result.best is not None else None


def _choice_of(candidate: Candidate) -> CustomerChoice:
    return CustomerChoice(id=candidate.customer_id, name=candidate.display_name, city=candidate.city,
                          phone_tail=candidate.phone_last_digits)
