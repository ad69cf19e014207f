"""WooCommerce webhooks onto the profile: customer.* and order.* (README, "WooCommerce").

What WooCommerce sends, and what that asks of us:
- a delivery is signed: X-WC-Webhook-Signature is the base64 HMAC-SHA256 of the raw body with the
  webhook's secret, the same construction as Shopify's (store.live.shopify.verify_hmac), checked before
  anything is stored;
- each delivery has an X-WC-Webhook-Delivery-ID, and a redelivery (the admin's "resend", a retry)
  carries the same one: `dedupe_key` makes the inbox keep one of them;
- saving a webhook in WooCommerce's settings sends an unsigned ping, a form body `webhook_id=<n>`, and
  refuses to save the webhook unless it gets a 2xx (`is_ping`: answered, nothing stored);
- the payload is the resource as REST API v3 returns it (`GET /wp-json/wc/v3/customers/<id>`,
  `.../orders/<id>`), and for the `deleted` topics only `{"id": <n>}`. Deliveries come in any order
  (they are sent from WordPress's background queue), so every customer and order remembers the version
  last applied (store.live.shopify.claim_version, keyed by this source: date_modified_gmt, then our
  receiving time for two versions of one second), and a payload that is not newer changes nothing. A
  deletion is a version too, as of when it arrived: the older create or update that comes after it is stale.

A customer becomes the shop source's record of the person (the people import's rules: normalised e-mail
and phone, an erased person never comes back), linked on arrival (store/arrival.py). An order needs a
customer account (customer_id > 0; a guest order has nobody to put it on); when its customer's record is
not there yet, the order's billing details make it, so the order never waits for customer.created (which,
newer, then replaces them). Orders go through the orders import (replaced when changed); one placed
online follows the rule of every online order (store.live.notices.online_order: the card's "ordered
online", the follow-up owners' DM). A deleted order is cancelled (it no longer counts as a sale); a deleted
customer account keeps its record and orders (a shop closing an account is not an erasure request:
that is `frontline gdpr erase`). Nothing here logs a payload.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import kpi_rollup
from store.arrival import link_arrival
from store.identity import DEFAULT_THRESHOLDS, Thresholds
from store.importing.fields import RowRejected
from store.importing.orders import import_orders
from store.importing.people import import_people, parse_person
from store.inbox import APPLIED, Applied, InboxEvent, rejected, waiting
from store.live.notices import OnlineOrder, online_order
from store.live.shopify import claim_version, is_erased, money, parse_time, text_of
from store.models import Order, SourceRecord
from store.vocabulary import InboxState, OrderChannel, OrderStatus, ShopifyResource

# Why an event was refused or changed nothing (Applied's reason: a key, never a value from the payload).
NO_ID = "woocommerce.no_id"
NO_CUSTOMER = "woocommerce.no_customer"
BAD_CUSTOMER = "woocommerce.bad_customer"
BAD_ORDER = "woocommerce.bad_order"
ERASED = "woocommerce.erased"
NOT_LINKED = "woocommerce.not_linked"  # waiting: the person's record is not linked to a customer yet
STALE = "woocommerce.stale"
DRAFT = "woocommerce.draft"  # a block checkout's draft: not an order yet
_STALE = Applied(InboxState.APPLIED, STALE)

# Delivery ids are WordPress hashes; webhook ids integers. Anything else is not WooCommerce talking.
_DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
_PING = re.compile(rb"webhook_id=\d{1,20}")
_NO_TIME = dt.datetime(1970, 1, 1)

# Order statuses (REST API v3 `status`) as the orders import's. pending (awaiting payment), on-hold
# (awaiting a bank transfer), processing (paid) and completed (shipped) are the customer's purchase, as
# Shopify's pending and paid are; cancelled, failed and trashed are not a sale; refunded came back.
_STATUS = {
    "pending": OrderStatus.COMPLETED,
    "on-hold": OrderStatus.COMPLETED,
    "processing": OrderStatus.COMPLETED,
    "completed": OrderStatus.COMPLETED,
    "cancelled": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,
    "trash": OrderStatus.CANCELLED,
    "refunded": OrderStatus.RETURNED,
}


# --- transport ------------------------------------------------------------------------------------


def is_ping(body: bytes) -> bool:
    """Whether the body is the ping WooCommerce sends when a webhook is saved (`webhook_id=<n>`, unsigned)."""
    return _PING.fullmatch(body.strip()) is not None


def dedupe_key(topic: str, webhook_id: str | None, delivery_id: str | None) -> str | None:
    """The inbox's duplicate key of a delivery (unique per source), or None when it has no usable delivery
    id (letters, digits and `._:-`, at most 100). The webhook id is part of it: two webhooks of one shop
    (one per topic, the usual set-up) number their deliveries independently."""
    if not delivery_id or not _DELIVERY_ID.fullmatch(delivery_id):
        return None
    hook = webhook_id if webhook_id and _DELIVERY_ID.fullmatch(webhook_id) else "-"
    return f"{topic}:{hook}:{delivery_id}"[:128]


def person_key(topic: str, document: Mapping[str, Any]) -> str | None:
    """Orders a WooCommerce customer's deliveries: the customer id (the payload's own for customer.*)."""
    customer_id = _woo_id(document.get("id") if topic.startswith("customer.") else document.get("customer_id"))
    return f"woocommerce:{customer_id}" if customer_id else None


# --- customers ------------------------------------------------------------------------------------


def apply_customer(session: Session, event: InboxEvent, now: dt.datetime, *,
                   thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Applied:
    """customer.created and customer.updated: the shop's record of the person, as of the newest version."""
    customer = event.body
    customer_id = _woo_id(customer.get("id"))
    if customer_id is None:
        return rejected(NO_ID)
    row = _person_row(customer_id, customer, customer.get("billing"))
    try:
        parse_person(row, today=now.date())
    except RowRejected:
        return rejected(BAD_CUSTOMER)
    if is_erased(session, event.source, customer_id):
        return rejected(ERASED)  # the person asked to be erased: the shop's copy must not bring them back
    if not claim_version(session, event.source, ShopifyResource.CUSTOMER, customer_id,
                         _modified(customer, event.timestamp), event.received_at, now):
        return _STALE
    _write_person(session, event.source, customer_id, row, thresholds)
    return APPLIED


def apply_customer_deleted(session: Session, event: InboxEvent, now: dt.datetime) -> Applied:
    """customer.deleted ({"id": n}): the record and its orders stay (see the module's docstring); the
    deletion is a version as of its arrival, so an older update delivered after it changes nothing."""
    customer_id = _woo_id(event.body.get("id"))
    if customer_id is None:
        return rejected(NO_ID)
    if not claim_version(session, event.source, ShopifyResource.CUSTOMER, customer_id, event.timestamp,
                         event.received_at, now):
        return _STALE
    return APPLIED


def _person_row(customer_id: str, customer: Mapping[str, Any], billing: Any) -> dict[str, Any]:
    """A customer (or an order's billing details) as a row of the people import."""
    address = billing if isinstance(billing, Mapping) else {}
    street = ", ".join(part for part in (text_of(address.get("address_1")), text_of(address.get("address_2"))) if part)
    row: dict[str, Any] = {
        "source_id": customer_id,
        "first_name": text_of(customer.get("first_name")) or text_of(address.get("first_name")),
        "last_name": text_of(customer.get("last_name")) or text_of(address.get("last_name")),
        "email": text_of(customer.get("email")) or text_of(address.get("email")),
        "phone": text_of(address.get("phone")),
        "street": street,
        "postcode": text_of(address.get("postcode")),
        "city": text_of(address.get("city")),
        "country": text_of(address.get("country")),
        "updated_at": _iso(_gmt(customer.get("date_modified_gmt"))),
        # Kept in the record's attributes; customer_since is read by survivorship.
        "customer_since": _iso(_gmt(customer.get("date_created_gmt"))),
        "woocommerce_username": text_of(customer.get("username")),
    }
    return {name: value for name, value in row.items() if value}


def _write_person(session: Session, source: str, customer_id: str, row: dict[str, Any],
                  thresholds: Thresholds) -> None:
    written = import_people(session, source=source, rows=[(1, row)])
    record_id, linked = session.execute(select(SourceRecord.id, SourceRecord.customer_id).where(
        SourceRecord.source == source, SourceRecord.source_id == customer_id)).one()
    if written.created or written.updated or linked is None:
        # Identity on arrival: the record joins (or makes, or merges) customers by the batch relink's rules.
        link_arrival(session, [record_id], thresholds=thresholds)


# --- orders ---------------------------------------------------------------------------------------


def apply_order(session: Session, event: InboxEvent, now: dt.datetime, *,
                thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Applied:
    """order.created and order.updated: the order and its lines, as of the newest version seen."""
    order = event.body
    order_id = _woo_id(order.get("id"))
    if order_id is None:
        return rejected(NO_ID)
    if order.get("status") == "checkout-draft":
        return Applied(InboxState.APPLIED, DRAFT)
    customer_id = _woo_id(order.get("customer_id"))
    if customer_id is None:
        return rejected(NO_CUSTOMER)  # a guest order with no customer account: nobody to put it on
    row = _order_row(event.source, customer_id, order_id, order)
    if row is None:
        return rejected(BAD_ORDER)
    not_ready = _customer_first(session, event.source, customer_id, order, now, thresholds)
    if not_ready is not None:
        return not_ready
    if not claim_version(session, event.source, ShopifyResource.ORDER, order_id, _modified(order, event.timestamp),
                         event.received_at, now):
        return _STALE
    if import_orders(session, rows=[(1, row)]).rejected:
        return rejected(BAD_ORDER)
    if row["channel"] == OrderChannel.WEB and row["status"] == OrderStatus.COMPLETED:
        record_id, person = session.execute(select(SourceRecord.id, SourceRecord.customer_id).where(
            SourceRecord.source == event.source, SourceRecord.source_id == customer_id)).one()
        assert person is not None  # _customer_first made sure the record is linked
        online_order(session, OnlineOrder(
            source=event.source, customer_id=person, record_id=record_id, order_number=row["order_number"],
            ordered_at=dt.datetime.fromisoformat(row["ordered_at"]),
            amount=Decimal(row["amount"]) if row["amount"] else None, currency=row["currency"]), now=now)
    return APPLIED


def apply_order_deleted(session: Session, event: InboxEvent, now: dt.datetime) -> Applied:
    """order.deleted ({"id": n}, sent when an order is trashed or deleted): no longer a sale, so cancelled;
    a version as of its arrival, so the create or update delivered after it changes nothing."""
    order_id = _woo_id(event.body.get("id"))
    if order_id is None:
        return rejected(NO_ID)
    if not claim_version(session, event.source, ShopifyResource.ORDER, order_id, event.timestamp,
                         event.received_at, now):
        return _STALE
    # Orders are numbered by their id unless a plugin renumbers them (then `number` is unknown here).
    order = session.scalars(select(Order).where(Order.source == event.source, Order.order_number == order_id)).first()
    if order is not None and order.status != OrderStatus.CANCELLED:
        order.status = OrderStatus.CANCELLED
        session.flush()
        kpi_rollup.refresh(session, customer_ids=[order.customer_id])
    return APPLIED


def _customer_first(session: Session, source: str, customer_id: str, order: Mapping[str, Any],
                    now: dt.datetime, thresholds: Thresholds) -> Applied | None:
    """None when the order's customer has a record linked to a customer, ready for the order; else the
    answer to give. A customer never seen is made from the order's billing details (no version claimed:
    the customer.created that follows, with the account's own details, replaces them)."""
    if is_erased(session, source, customer_id):
        return rejected(ERASED)
    linked = session.execute(select(SourceRecord.customer_id).where(
        SourceRecord.source == source, SourceRecord.source_id == customer_id)).first()
    if linked is None:
        row = _person_row(customer_id, {}, order.get("billing"))
        try:
            parse_person(row, today=now.date())
        except RowRejected:
            return waiting(NOT_LINKED)  # billing details the people import refuses: wait for the account
        _write_person(session, source, customer_id, row, thresholds)
        linked = session.execute(select(SourceRecord.customer_id).where(
            SourceRecord.source == source, SourceRecord.source_id == customer_id)).first()
    if linked is None or linked.customer_id is None:
        return waiting(NOT_LINKED)
    return None


def _order_row(source: str, customer_id: str, order_id: str, order: Mapping[str, Any]) -> dict[str, Any] | None:
    """The order as a JSON Lines row of the orders import, or None when it cannot be one."""
    items = order.get("line_items")
    if not isinstance(items, list) or not items or not all(isinstance(item, Mapping) for item in items):
        return None
    status = _STATUS.get(str(order.get("status")))
    ordered_at = _gmt(order.get("date_created_gmt"))
    number = (text_of(order.get("number")) or order_id).lstrip("#")
    if status is None or ordered_at is None or not number:
        return None
    created_via = text_of(order.get("created_via")) or ""
    return {
        "source": source,
        "source_id": customer_id,
        "order_number": number[:64],
        "ordered_at": _iso(ordered_at),
        # A point-of-sale extension records its till sales with a created_via naming it; the rest is the web.
        "channel": OrderChannel.STORE if "pos" in created_via.casefold() else OrderChannel.WEB,
        "amount": money(order.get("total")),
        "currency": (text_of(order.get("currency")) or "EUR")[:3].upper(),
        "status": status,
        "lines": [_line_row(item) for item in items],
    }


def _line_row(item: Mapping[str, Any]) -> dict[str, Any]:
    # A product without a SKU is still a product: name it by its variation, then product, then line id.
    sku = (text_of(item.get("sku")) or _prefixed("variation", item.get("variation_id"))
           or _prefixed("product", item.get("product_id")) or _prefixed("line", item.get("id")) or "?")
    name = text_of(item.get("name")) or sku
    quantity = item.get("quantity")
    return {
        "sku": sku[:64],
        "product_name": name[:200],
        "quantity": str(quantity) if isinstance(quantity, int) and not isinstance(quantity, bool) else "",
        "unit_price": money(item.get("price")),
    }


# --- helpers --------------------------------------------------------------------------------------


def _modified(resource: Mapping[str, Any], received: dt.datetime) -> dt.datetime:
    return _gmt(resource.get("date_modified_gmt")) or _gmt(resource.get("date_created_gmt")) or received or _NO_TIME


def _gmt(value: Any) -> dt.datetime | None:
    """A REST API `*_gmt` date ("2026-12-01T08:41:05", UTC without an offset) as a stored moment."""
    return parse_time(value)  # an offset-less time is taken as the stored moment's UTC already


def _woo_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 10**20:
        return str(value)
    if isinstance(value, str) and value.isdigit() and 0 < len(value) <= 20 and int(value) > 0:
        return value
    return None


def _prefixed(prefix: str, value: Any) -> str | None:
    woo_id = _woo_id(value)
    return f"{prefix}:{woo_id}" if woo_id else None


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
