"""Shopify webhooks onto the profile: customers/*, orders/*, checkouts/* (issue 11 §2; README, "Shopify").

What Shopify promises, and what that asks of us:
- a delivery is signed: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body with the shop's
  secret (`verify_hmac`, checked before anything is stored);
- a delivery may come twice (a retry, two subscriptions to one topic): X-Shopify-Event-Id names the
  event, X-Shopify-Webhook-Id the delivery, and `dedupe_key` makes the inbox keep one of them;
- deliveries come in any order, and a retry hours later carries the payload of when it was first
  triggered. So every customer, order and checkout remembers the version last applied (ShopifyVersion:
  the payload's updated_at, then X-Shopify-Triggered-At for two versions of one second), and a payload
  that is not newer changes nothing. orders/updated before orders/create is then just the newer version
  first, and the create, older, is skipped.

Customers become the shop source's record of the person (SourceRecord, through the people import's
rules: normalised e-mail and phone, an erased person never comes back), then identity on arrival links
it (store/arrival.py, the batch relink's rules); marketing consent goes through the consents import
(the latest statement wins). An order's embedded customer is applied the same way first, so an order
never waits for customers/create. Orders go through the orders import (replaced when changed, KPIs kept
in step); an order placed on the web shop then follows the rule of every online order (the card's
"ordered online this morning", the follow-up owners' DM: store/live/notices.py). Nothing here logs a payload.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from store import dialect
from store.arrival import link_arrival
from store.clock import to_utc
from store.db import table_of
from store.gdpr import ERASED_HASH
from store.identity import DEFAULT_THRESHOLDS, Thresholds
from store.importing.children import import_consents
from store.importing.fields import RowRejected
from store.importing.orders import import_orders
from store.importing.people import import_people, parse_person
from store.inbox import APPLIED, Applied, InboxEvent, rejected, waiting
from store.live.notices import OnlineOrder, online_order
from store.models import Basket, ShopifyVersion, SourceRecord, WebActivity
from store.vocabulary import (
    ConsentChannel,
    ConsentPurpose,
    InboxState,
    OrderChannel,
    OrderStatus,
    ShopifyResource,
    ShopifyTopic,
    WebActivityKind,
)

CUSTOMER_TOPICS = frozenset({ShopifyTopic.CUSTOMERS_CREATE, ShopifyTopic.CUSTOMERS_UPDATE})
ORDER_TOPICS = frozenset({ShopifyTopic.ORDERS_CREATE, ShopifyTopic.ORDERS_UPDATED, ShopifyTopic.ORDERS_PAID,
                          ShopifyTopic.ORDERS_CANCELLED})
CHECKOUT_TOPICS = frozenset({ShopifyTopic.CHECKOUTS_CREATE, ShopifyTopic.CHECKOUTS_UPDATE})

# Why an event was refused (Applied's reason: a key, never a value from the payload).
NO_ID = "shopify.no_id"
NO_CUSTOMER = "shopify.no_customer"
BAD_CUSTOMER = "shopify.bad_customer"
BAD_ORDER = "shopify.bad_order"
BAD_CHECKOUT = "shopify.bad_checkout"
ERASED = "shopify.erased"
NOT_LINKED = "shopify.not_linked"  # waiting: the person's record is not linked to a customer yet

# Shopify ids are integers; event and webhook ids UUIDs. Anything else is not Shopify talking.
_DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
# When a payload has no time of its own: older than anything real, so any dated version wins over it.
_NO_TIME = dt.datetime(1970, 1, 1)


# --- transport: signature, duplicates, time -------------------------------------------------------


def verify_hmac(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` (X-Shopify-Hmac-Sha256) is the base64 HMAC-SHA256 of the raw `body` with `secret`.

    Compared in constant time, so the answer's timing says nothing of how much of a forgery was right."""
    if not secret or not header:
        return False
    try:
        given = header.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, given)


def dedupe_key(topic: str, event_id: str | None, webhook_id: str | None) -> str | None:
    """The inbox's duplicate key of a delivery (unique per source), or None when it has no usable id
    (an id is letters, digits and `._:-`, at most 100: anything else is not Shopify's and is passed over).

    The event id is the same on every delivery of one event (retries, and one per subscription when a
    shop subscribed twice), so it is the key when present; older API versions send only the webhook id,
    the same on every retry of one delivery. The topic is part of the key: one shop action raises
    several topics (orders/create and orders/paid), each to be applied."""
    for kind, value in (("event", event_id), ("webhook", webhook_id)):
        if value and _DELIVERY_ID.fullmatch(value):
            return f"{topic}:{kind}:{value}"
    return None


def parse_time(value: Any) -> dt.datetime | None:
    """A Shopify timestamp (ISO 8601 with an offset, maybe nanoseconds) as a stored moment (naive UTC);
    None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return to_utc(moment) if moment.tzinfo is not None else moment


# Why an applied event changed nothing: it was not newer than what is stored.
STALE = "shopify.stale"
_STALE = Applied(InboxState.APPLIED, STALE)


# --- customers ------------------------------------------------------------------------------------


def apply_customer(session: Session, event: InboxEvent, now: dt.datetime, *,
                   thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Applied:
    """customers/create and customers/update: the shop's record of the person, then their consent.
    (The route stored only JSON objects.)"""
    return _apply_customer(session, event.source, event.body, event.timestamp, now, thresholds)


def _apply_customer(session: Session, source: str, customer: Mapping[str, Any], triggered_at: dt.datetime | None,
                    now: dt.datetime, thresholds: Thresholds) -> Applied:
    customer_id = _shopify_id(customer.get("id"))
    if customer_id is None:
        return rejected(NO_ID)
    row = _person_row(customer_id, customer)
    try:
        parse_person(row, today=now.date())
    except RowRejected:
        return rejected(BAD_CUSTOMER)
    if is_erased(session, source, customer_id):
        # The person asked to be erased: the shop's copy must not bring them back.
        return rejected(ERASED)
    if not claim_version(session, source, ShopifyResource.CUSTOMER, customer_id,
                          _version_time(customer, triggered_at, now), triggered_at or _NO_TIME, now):
        return _STALE
    written = import_people(session, source=source, rows=[(1, row)])
    record_id, linked = session.execute(select(SourceRecord.id, SourceRecord.customer_id).where(
        SourceRecord.source == source, SourceRecord.source_id == customer_id)).one()
    if written.created or written.updated or linked is None:
        # Identity on arrival: the record joins (or makes, or merges) customers by the batch relink's rules.
        link_arrival(session, [record_id], thresholds=thresholds)
    consents = _consent_rows(source, customer_id, customer)
    if consents:
        import_consents(session, rows=list(enumerate(consents, start=1)))
    return APPLIED


def _person_row(customer_id: str, customer: Mapping[str, Any]) -> dict[str, Any]:
    """The customer as a row of the people import (README, "Import formats": People)."""
    address = customer.get("default_address")
    if not isinstance(address, Mapping):
        address = {}
    street = ", ".join(part for part in (text_of(address.get("address1")), text_of(address.get("address2"))) if part)
    row: dict[str, Any] = {
        "source_id": customer_id,
        "first_name": text_of(customer.get("first_name")) or text_of(address.get("first_name")),
        "last_name": text_of(customer.get("last_name")) or text_of(address.get("last_name")),
        "email": text_of(customer.get("email")),
        "phone": text_of(customer.get("phone")) or text_of(address.get("phone")),
        "street": street,
        "postcode": text_of(address.get("zip")),
        "city": text_of(address.get("city")),
        "country": text_of(address.get("country_code")),
        "updated_at": _iso(parse_time(customer.get("updated_at"))),
        # Kept in the record's attributes; customer_since is read by survivorship.
        "customer_since": _iso(parse_time(customer.get("created_at"))),
        "shopify_gid": text_of(customer.get("admin_graphql_api_id")),
        "shopify_tags": text_of(customer.get("tags")),
        "shopify_state": text_of(customer.get("state")),
    }
    return {name: value for name, value in row.items() if value}


# Shopify's marketing states: subscribed is a yes, unsubscribed a no. not_subscribed is a no only once
# the customer changed it (a consent_updated_at): by default it says nothing, and must not undo a yes
# given at a till. pending (double opt-in not confirmed) and redacted say nothing.
_YES = "subscribed"
_NO = "unsubscribed"
_NEVER = "not_subscribed"


def _consent_rows(source: str, customer_id: str, customer: Mapping[str, Any]) -> list[dict[str, Any]]:
    updated = parse_time(customer.get("updated_at"))
    rows: list[dict[str, Any]] = []
    for key, channel in (("email_marketing_consent", ConsentChannel.EMAIL),
                         ("sms_marketing_consent", ConsentChannel.SMS)):
        consent = customer.get(key)
        if not isinstance(consent, Mapping):
            continue
        state = consent.get("state")
        changed = parse_time(consent.get("consent_updated_at"))
        if state in (_YES, _NO) or (state == _NEVER and changed is not None):
            rows.append(_consent_row(source, customer_id, channel, state == _YES, changed or updated))
    if not any(row["channel"] == ConsentChannel.EMAIL for row in rows):
        # API versions before 2022-04 say it with accepts_marketing (a yes, or a no once changed).
        accepts = customer.get("accepts_marketing")
        changed = parse_time(customer.get("accepts_marketing_updated_at"))
        if accepts is True or (accepts is False and changed is not None):
            rows.append(_consent_row(source, customer_id, ConsentChannel.EMAIL, accepts, changed or updated))
    return [row for row in rows if row["recorded_at"]]


def _consent_row(source: str, customer_id: str, channel: str, granted: bool,
                 recorded_at: dt.datetime | None) -> dict[str, Any]:
    return {"source": source, "source_id": customer_id, "purpose": ConsentPurpose.MARKETING, "channel": channel,
            "granted": "true" if granted else "false", "recorded_at": _iso(recorded_at)}


# --- orders ---------------------------------------------------------------------------------------


def apply_order(session: Session, event: InboxEvent, now: dt.datetime, *,
                thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Applied:
    """orders/create, orders/updated, orders/paid, orders/cancelled: the order and its lines, as of the
    newest version seen (every topic carries the whole order)."""
    order = event.body
    order_id = _shopify_id(order.get("id"))
    if order_id is None:
        return rejected(NO_ID)
    customer = order.get("customer")
    customer_id = _shopify_id(customer.get("id")) if isinstance(customer, Mapping) else None
    if customer is None or customer_id is None:
        # A guest order with no customer account: nobody to put it on.
        return rejected(NO_CUSTOMER)
    row = _order_row(event.source, customer_id, order_id, order)
    if row is None:
        return rejected(BAD_ORDER)
    # The order's own copy of its customer first: the order then never waits for customers/create.
    not_ready = _customer_first(session, event.source, customer, customer_id, event.timestamp, now, thresholds)
    if not_ready is not None:
        return not_ready
    if not claim_version(session, event.source, ShopifyResource.ORDER, order_id,
                          _version_time(order, event.timestamp, now),
                          event.timestamp or _NO_TIME, now):
        return _STALE
    report = import_orders(session, rows=[(1, row)])
    if report.rejected:
        return rejected(BAD_ORDER)
    _tell_online_order(session, event.source, customer_id, row, now)
    return APPLIED


def _tell_online_order(session: Session, source: str, customer_id: str, row: Mapping[str, Any],
                       now: dt.datetime) -> None:
    """An order placed on the web shop (not at a POS till, not cancelled) follows the rule of every online
    order (store.live.notices.online_order): the card's "ordered online", the follow-up owners' DM; once
    per order, whichever of its topics comes first."""
    if row["channel"] != OrderChannel.WEB or row["status"] != OrderStatus.COMPLETED:
        return
    record_id, person = session.execute(select(SourceRecord.id, SourceRecord.customer_id).where(
        SourceRecord.source == source, SourceRecord.source_id == customer_id)).one()
    if person is None:
        return
    online_order(session, OnlineOrder(
        source=source, customer_id=person, record_id=record_id, order_number=row["order_number"],
        ordered_at=dt.datetime.fromisoformat(row["ordered_at"]), amount=Decimal(row["amount"]) if row["amount"] else None,
        currency=(row.get("currency") or "EUR")[:3].upper()), now=now)


def _customer_first(session: Session, source: str, customer: Mapping[str, Any], customer_id: str,
                    triggered_at: dt.datetime | None, now: dt.datetime, thresholds: Thresholds) -> Applied | None:
    """Apply a payload's own copy of its customer (an order's, a checkout's); then None when the person's
    record is linked to a customer, ready for what belongs to them, else the answer to give."""
    outcome = _apply_customer(session, source, customer, triggered_at, now, thresholds)
    if outcome.reason == ERASED:
        return outcome
    found = session.execute(
        select(SourceRecord.customer_id, SourceRecord.content_hash)
        .where(SourceRecord.source == source, SourceRecord.source_id == customer_id)
    ).first()
    if found is None:
        # An embedded customer the people import refuses, never seen whole: nobody to put it on yet.
        return outcome if outcome.state == InboxState.REJECTED else waiting(NOT_LINKED)
    if found.content_hash == ERASED_HASH:
        return rejected(ERASED)
    if found.customer_id is None:
        return waiting(NOT_LINKED)
    return None


def _order_row(source: str, customer_id: str, order_id: str, order: Mapping[str, Any]) -> dict[str, Any] | None:
    """The order as a JSON Lines row of the orders import, or None when it cannot be one."""
    items = order.get("line_items")
    if not isinstance(items, list) or not items or not all(isinstance(item, Mapping) for item in items):
        return None
    number = (text_of(order.get("name")) or text_of(order.get("order_number")) or order_id).lstrip("#")
    ordered_at = parse_time(order.get("processed_at")) or parse_time(order.get("created_at"))
    total = money(order.get("total_price"))
    if ordered_at is None or not number:
        return None
    return {
        "source": source,
        "source_id": customer_id,
        "order_number": number[:64],
        "ordered_at": _iso(ordered_at),
        # Shopify POS sells in a store; every other sales channel of the shop is the web.
        "channel": OrderChannel.STORE if order.get("source_name") == "pos" else OrderChannel.WEB,
        "amount": total,
        "currency": text_of(order.get("currency")),
        "status": _order_status(order),
        "lines": [_line_row(item) for item in items],
    }


def _order_status(order: Mapping[str, Any]) -> str:
    if order.get("cancelled_at") or order.get("financial_status") == "voided":
        return OrderStatus.CANCELLED
    if order.get("financial_status") == "refunded":
        return OrderStatus.RETURNED
    # pending, authorized, paid, partially paid or refunded: the customer bought it.
    return OrderStatus.COMPLETED


def _line_row(item: Mapping[str, Any]) -> dict[str, Any]:
    # A product without a SKU is still a product: name it by its variant, then product, then line id.
    sku = (text_of(item.get("sku")) or _prefixed("variant", item.get("variant_id"))
           or _prefixed("product", item.get("product_id")) or _prefixed("line", item.get("id")) or "?")
    title = text_of(item.get("title")) or text_of(item.get("name")) or sku
    variant = text_of(item.get("variant_title"))
    name = f"{title} – {variant}" if variant and variant not in title else title
    quantity = item.get("quantity")
    return {
        "sku": sku[:64],
        "product_name": name[:200],
        "quantity": str(quantity) if isinstance(quantity, int) and not isinstance(quantity, bool) else "",
        "unit_price": money(item.get("price")),
    }


# --- checkouts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckoutBasket:
    """A checkout as the customer's current basket: what is in it, since when, and whether it was
    completed (an order followed). Not completed and left alone long enough, it is an abandoned basket."""

    cart_key: str  # "checkout:<token>": one basket per Shopify checkout
    checkout_id: str
    customer_id: str | None  # the Shopify customer; None for a guest who gave no account
    items: tuple[dict[str, Any], ...]  # {"sku", "name", "quantity", "price" (text), "currency"}
    currency: str
    started_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None


MAX_BASKET_ITEMS = 50


def checkout_basket(checkout: Any) -> CheckoutBasket | None:
    """checkouts/create and checkouts/update as a basket; None when the payload is not a checkout."""
    if not isinstance(checkout, Mapping):
        return None
    checkout_id = _shopify_id(checkout.get("id"))
    token = text_of(checkout.get("token"))
    started = parse_time(checkout.get("created_at"))
    items = checkout.get("line_items")
    if (checkout_id is None or not token or len(token) > 100 or started is None or not isinstance(items, list)
            or not all(isinstance(item, Mapping) for item in items)):
        return None
    currency = (text_of(checkout.get("presentment_currency")) or text_of(checkout.get("currency")) or "EUR")[:3].upper()
    customer = checkout.get("customer")
    lines = [_line_row(item) for item in items[:MAX_BASKET_ITEMS]]
    return CheckoutBasket(
        cart_key=f"checkout:{token}",
        checkout_id=checkout_id,
        customer_id=_shopify_id(customer.get("id")) if isinstance(customer, Mapping) else None,
        items=tuple({"sku": line["sku"], "name": line["product_name"], "quantity": int(line["quantity"] or 1),
                     "price": line["unit_price"] or None, "currency": currency} for line in lines),
        currency=currency,
        started_at=started,
        updated_at=parse_time(checkout.get("updated_at")) or started,
        completed_at=parse_time(checkout.get("completed_at")),
    )


def apply_checkout(session: Session, event: InboxEvent, now: dt.datetime, *,
                   thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Applied:
    """checkouts/create and checkouts/update: the customer's current basket (store/live/commerce.py's
    Basket: the card shows it, and the abandoned-basket job marks it abandoned if it stays open)."""
    basket = checkout_basket(event.body)
    if basket is None:
        return rejected(BAD_CHECKOUT)
    customer = event.body.get("customer")
    if basket.customer_id is None or not isinstance(customer, Mapping):
        # A guest who gave no account: nobody to put it on.
        return rejected(NO_CUSTOMER)
    not_ready = _customer_first(session, event.source, customer, basket.customer_id, event.timestamp, now,
                                thresholds)
    if not_ready is not None:
        return not_ready
    if not claim_version(session, event.source, ShopifyResource.CHECKOUT, basket.checkout_id, basket.updated_at,
                          event.timestamp or _NO_TIME, now):
        return _STALE
    record_id, customer_id = session.execute(
        select(SourceRecord.id, SourceRecord.customer_id)
        .where(SourceRecord.source == event.source, SourceRecord.source_id == basket.customer_id)).one()
    row = session.scalars(select(Basket).where(Basket.source == event.source, Basket.cart_key == basket.cart_key)).first()
    if row is None:
        row = Basket(source=event.source, cart_key=basket.cart_key)
        session.add(row)
        # The customer was on the website, checking out: the card's "on the website ... ago" and its basket.
        session.add(WebActivity(source=event.source, customer_id=customer_id, source_record_id=record_id,
                                kind=WebActivityKind.CHECKOUT_STARTED, currency=basket.currency,
                                occurred_at=basket.started_at))
    row.customer_id, row.source_record_id = customer_id, record_id
    row.items = list(basket.items)
    row.currency = basket.currency
    row.updated_at = basket.updated_at
    row.checkout_started_at = basket.started_at
    # Completed: an order followed, the basket is closed. Otherwise it is open again until the
    # abandoned-basket job finds it left alone.
    row.closed_at = basket.completed_at
    row.abandoned_at = None
    return APPLIED


# --- versions -------------------------------------------------------------------------------------


def _version_time(resource: Mapping[str, Any], triggered_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    return parse_time(resource.get("updated_at")) or triggered_at or now


def claim_version(session: Session, source: str, resource: ShopifyResource, shopify_id: str,
                  updated_at: dt.datetime, triggered_at: dt.datetime, now: dt.datetime) -> bool:
    """Record this version of the resource as the latest applied, if it is newer than the stored one;
    whether it was. One statement (an upsert guarded by the comparison), so two workers applying two
    versions of one order at once on PostgreSQL serialise on the row and the newer wins either way.
    (WooCommerce's customers and orders are versioned the same way: store/live/woocommerce.py.)"""
    table = table_of(ShopifyVersion)
    insert = dialect.insert_for(session, table)
    newer = or_(table.c.updated_at < insert.excluded.updated_at,
                and_(table.c.updated_at == insert.excluded.updated_at,
                     table.c.triggered_at < insert.excluded.triggered_at))
    statement = (
        insert.values(source=source, resource=resource, shopify_id=shopify_id, updated_at=updated_at,
                      triggered_at=triggered_at, applied_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.source, table.c.resource, table.c.shopify_id],
            set_={"updated_at": insert.excluded.updated_at, "triggered_at": insert.excluded.triggered_at,
                  "applied_at": insert.excluded.applied_at},
            where=newer,
        )
        .returning(table.c.id)
    )
    return session.execute(statement).first() is not None


# --- helpers --------------------------------------------------------------------------------------


def is_erased(session: Session, source: str, customer_id: str) -> bool:
    found = session.scalar(select(SourceRecord.content_hash)
                           .where(SourceRecord.source == source, SourceRecord.source_id == customer_id))
    return found == ERASED_HASH


def _shopify_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 10**20:
        return str(value)
    if isinstance(value, str) and value.isdigit() and 0 < len(value) <= 20:
        return value
    return None


def text_of(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _prefixed(prefix: str, value: Any) -> str | None:
    shopify_id = _shopify_id(value)
    return f"{prefix}:{shopify_id}" if shopify_id else None


def money(value: Any) -> str:
    """A Shopify amount ("49.00", sometimes a number) as the import's text; "" when unreadable (the
    import then rejects a required price, or sums the lines for a missing total)."""
    if isinstance(value, bool) or value is None:
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return ""
    return str(amount) if amount.is_finite() else ""


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
