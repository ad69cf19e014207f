"""The website's live activity, from Segment-compatible tracking messages (track, page, alias), onto the profile.

One function per message type takes the message body as the site sent it (already authenticated,
size-checked and deduplicated by the inbox) with its skew-corrected timestamp, and writes what it
means, through the same write rules as the file imports where there is one (orders, consents):

| message | effect |
| --- | --- |
| track "Product Viewed" | recently viewed (a web signal per product, moved forward on each view) |
| track "Product Added to Wishlist" / "Product Removed from Wishlist" | the wishlist, and the change |
| track "Product Added" / "Product Removed" / "Cart Viewed" / "Checkout Started" | the current basket |
| track "Order Completed" / "Order Refunded" / "Order Cancelled" | orders (channel web), basket closed |
| track "Products Searched" | searches |
| page | the last visit |
| alias, or any message with both userId and anonymousId | the anonymous browsing joins the person |

Who: a `userId` is the source's record of the person (its `identify` creates it); a message for a
userId not known yet, or not linked to a customer yet, *waits* and is retried by the inbox. A message
with only an `anonymousId` is kept against that browser (WebVisitor) until an alias or identify names
the person: then its earlier activity moves to the person. An erased person's messages are refused,
like a re-import of their record.

Consent: `context.consent.categoryPreferences` (Segment's consent management) or a `consent` trait,
read through CONSENT_CATEGORIES; each statement is written with the message's timestamp by the consent
import's rule, so the latest known state wins whatever order they come in. A message that itself says
"no profiling" leaves no browsing behind (orders are still recorded: they are sales, not profiling).
The card shows the activity only with profiling consent (store/profile.py).

Employees with an open follow-up for the customer are owed a short DM (WebNotice, sent by the notices
job) when the customer orders online or comes back to the site after a pause.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from store import dialect, kpi_rollup
from store.gdpr import ERASED_HASH
from store.identity import DEFAULT_THRESHOLDS, Thresholds
from store.importing.children import LinkedPerson, write_consents
from store.importing.orders import LineValues, write_order
from store.importing.report import ImportReport
from store.inbox import APPLIED, Applied, InboxEvent, rejected, waiting
from store.live import identify, notices
from store.live.segment import person_key
from store.models import (
    Base,
    Basket,
    Customer,
    Order,
    SourceRecord,
    WebActivity,
    WebSignal,
    WebVisitor,
)
from store.vocabulary import (
    ConsentChannel,
    InboxState,
    ConsentPurpose,
    CustomerStatus,
    OrderChannel,
    OrderStatus,
    SegmentType,
    SourceKind,
    WebActivityKind,
    WebNoticeKind,
    WebSignalKind,
)

# Consent-manager categories (compared case- and separator-insensitively) and the purpose each speaks
# for. Several present for one purpose: granted only when all of them are.
CONSENT_CATEGORIES: dict[str, ConsentPurpose] = {
    "profiling": ConsentPurpose.PROFILING,
    "personalization": ConsentPurpose.PROFILING,
    "personalisation": ConsentPurpose.PROFILING,
    "marketing": ConsentPurpose.MARKETING,
    "advertising": ConsentPurpose.MARKETING,
    "targeting": ConsentPurpose.MARKETING,
}
# A visit after this long without any activity is "coming back to the site" (a new session, as the
# analytics tools count them).
NEW_VISIT_AFTER = dt.timedelta(minutes=30)
MAX_BASKET_LINES = 50

# What became of a message (store.inbox.Applied): applied; waiting (its person is not known yet: the
# inbox tries again); rejected with a reason key that never contains personal data.
Outcome = Applied


def _waiting(reason: str) -> Outcome:
    return waiting(reason)


def _rejected(reason: str) -> Outcome:
    return rejected(reason)


class _Bad(ValueError):
    """A malformed field: the message is rejected with this reason key, nothing written."""


@dataclass(frozen=True)
class Who:
    """Whose message it is: a linked person record, or an anonymous browser (visitor only)."""

    record_id: int | None
    customer_id: int | None
    visitor_id: int | None
    user_id: str | None
    joined: str | None = None  # an anonymousId this message named: its waiting events may now resolve


# --- reading fields ---------------------------------------------------------------------------------


def _id(value: Any) -> str | None:
    """A Segment id: a non-empty string, or a number (some sites send userId 42)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = str(value).strip()
    if len(text) > 128:
        raise _Bad("id_too_long")
    return text


def _text(props: dict[str, Any], name: str, limit: int) -> str | None:
    value = props.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(str(value).split())[:limit]


def _money(props: dict[str, Any], name: str) -> Decimal | None:
    value = props.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad(f"bad_{name}")
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise _Bad(f"bad_{name}") from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e10"):
        raise _Bad(f"bad_{name}")
    return amount.quantize(Decimal("0.01"))


def _quantity(props: dict[str, Any]) -> int:
    value = props.get("quantity", 1)
    if value is None or value == "":
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad("bad_quantity")
    try:
        number = int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise _Bad("bad_quantity") from None
    if not 1 <= number <= 10_000:
        raise _Bad("bad_quantity")
    return number


def _currency(props: dict[str, Any], default: str = "EUR") -> str:
    value = props.get("currency")
    if value is None or value == "":
        return default
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise _Bad("bad_currency")
    return value.strip().upper()


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal | None
    currency: str
    quantity: int


def _product(props: dict[str, Any], currency: str | None = None) -> Product:
    """A product of the e-commerce spec: sku (or product_id), name, price, quantity, currency."""
    if not isinstance(props, dict):
        raise _Bad("bad_product")
    sku = _text(props, "sku", 64) or _text(props, "product_id", 64)
    if sku is None:
        raise _Bad("missing_product")
    return Product(sku=sku, name=_text(props, "name", 200) or sku, price=_money(props, "price"),
                   currency=_currency(props, currency or "EUR"), quantity=_quantity(props))


def _products(props: dict[str, Any]) -> list[Product] | None:
    """The `products` list of a cart or order event; None when the event carries none."""
    items = props.get("products")
    if items is None:
        return None
    if not isinstance(items, list) or len(items) > MAX_BASKET_LINES:
        raise _Bad("bad_products")
    currency = _currency(props)
    return [_product(item, currency) for item in items]


def _fold(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def consent_of(body: dict[str, Any]) -> dict[ConsentPurpose, bool]:
    """The consent a message states: context.consent.categoryPreferences, or a `consent` trait (in
    traits or context.traits) of the same shape, with or without the categoryPreferences level."""
    found: dict[ConsentPurpose, bool] = {}
    context = body.get("context")
    if not isinstance(context, dict):
        context = {}
    candidates: list[Any] = []
    for holder in (context, context.get("traits"), body.get("traits")):
        if isinstance(holder, dict):
            consent = holder.get("consent")
            if isinstance(consent, dict):
                candidates.append(consent.get("categoryPreferences", consent))
    for preferences in candidates:
        if not isinstance(preferences, dict):
            continue
        for category, granted in preferences.items():
            purpose = CONSENT_CATEGORIES.get(_fold(str(category)))
            if purpose is None or not isinstance(granted, bool):
                continue
            found[purpose] = found.get(purpose, True) and granted
    return found


# --- who --------------------------------------------------------------------------------------------


def _record(session: Session, source: str, user_id: str) -> SourceRecord | None:
    return session.scalars(select(SourceRecord).where(SourceRecord.source == source,
                                                      SourceRecord.source_id == user_id)).first()


def _customer_of(session: Session, record: SourceRecord) -> int | Outcome:
    """The active customer a record belongs to, or why not (erased: refused; not linked: wait)."""
    if record.content_hash == ERASED_HASH:
        return _rejected("erased")
    customer_id = record.customer_id
    for _ in range(10):
        if customer_id is None:
            return _waiting("not_linked")
        status, merged_into = session.execute(
            select(Customer.status, Customer.merged_into_id).where(Customer.id == customer_id)).one()
        if status == CustomerStatus.ERASED:
            return _rejected("erased")
        if status != CustomerStatus.MERGED:
            return customer_id
        customer_id = merged_into
    return _waiting("not_linked")


def _visitor(session: Session, source: str, anonymous_id: str, at: dt.datetime) -> WebVisitor:
    visitor = session.scalars(select(WebVisitor).where(WebVisitor.source == source,
                                                       WebVisitor.anonymous_id == anonymous_id)).first()
    if visitor is None:
        visitor = WebVisitor(source=source, anonymous_id=anonymous_id, consent={}, first_seen_at=at, last_seen_at=at)
        session.add(visitor)
        session.flush()
    elif at > visitor.last_seen_at:
        visitor.last_seen_at = at
    return visitor


def resolve(session: Session, source: str, body: dict[str, Any], at: dt.datetime) -> Who | Outcome:
    """Whose message this is. A message naming both a userId and an anonymousId joins them."""
    user_id, anonymous_id = _id(body.get("userId")), _id(body.get("anonymousId"))
    if user_id is None and anonymous_id is None:
        return _rejected("no_identity")
    if user_id is None:
        assert anonymous_id is not None
        visitor = _visitor(session, source, anonymous_id, at)
        if visitor.source_record_id is None:
            # An identify without a userId (a newsletter form) made a record of the browser itself.
            named = _record(session, source, f"anon:{anonymous_id}"[:128])
            known = _customer_of(session, named) if named is not None else None
            if isinstance(known, Applied) and known.state == InboxState.REJECTED:
                return known  # that record was erased
            if named is None or not isinstance(known, int):
                return Who(record_id=None, customer_id=None, visitor_id=visitor.id, user_id=None)
            join_visitor(session, source, anonymous_id, record_id=named.id, customer_id=known, at=at)
            return Who(record_id=named.id, customer_id=known, visitor_id=visitor.id, user_id=named.source_id)
        named = session.get_one(SourceRecord, visitor.source_record_id)
        known = _customer_of(session, named)
        if isinstance(known, Outcome):
            return known
        return Who(record_id=named.id, customer_id=known, visitor_id=visitor.id, user_id=named.source_id)
    # The record and its customer in one read (most events: a known, active customer); a merged customer
    # is followed by _customer_of.
    found = session.execute(
        select(SourceRecord.id, SourceRecord.content_hash, SourceRecord.customer_id, Customer.status)
        .outerjoin(Customer, Customer.id == SourceRecord.customer_id)
        .where(SourceRecord.source == source, SourceRecord.source_id == user_id).limit(1)).first()
    if found is None:
        return _waiting("unknown_person")
    record_id, content_hash, customer_id, status = found
    customer: int | Outcome
    if content_hash != ERASED_HASH and customer_id is not None and status == CustomerStatus.ACTIVE:
        customer = customer_id
    else:
        customer = _customer_of(session, session.get_one(SourceRecord, record_id))
    if isinstance(customer, Outcome):
        return customer
    visitor_id = None
    if anonymous_id is not None:
        visitor_id = join_visitor(session, source, anonymous_id, record_id=record_id, customer_id=customer, at=at)
    return Who(record_id=record_id, customer_id=customer, visitor_id=visitor_id, user_id=user_id,
               joined=anonymous_id)


def customers_of(session: Session, events: Sequence[InboxEvent]) -> dict[str, set[int]]:
    """Person key -> the customer the tracking API's events of that person write to, when known already (their
    userId's record, else their anonymous browser's): store.inbox locks those before a PostgreSQL step applies
    the events (two people of one customer, say two accounts of a household, are then never applied by two
    steps at once). Other sources' events, and people not known yet, are left out."""
    users: dict[tuple[str, str], set[str]] = {}
    browsers: dict[tuple[str, str], set[str]] = {}
    for event in events:
        if event.person_key is None or event.source_kind != SourceKind.SEGMENT:
            continue
        user_id, anonymous_id = _id(event.body.get("userId")), _id(event.body.get("anonymousId"))
        if user_id is not None:
            users.setdefault((event.source, user_id), set()).add(event.person_key)
        elif anonymous_id is not None:
            browsers.setdefault((event.source, anonymous_id), set()).add(event.person_key)
    found: dict[str, set[int]] = {}
    for wanted, read in ((users, _customers_of_users), (browsers, _customers_of_browsers)):
        by_source: dict[str, list[str]] = {}
        for source, name in wanted:
            by_source.setdefault(source, []).append(name)
        for source, names in by_source.items():
            ordered = sorted(names)
            for start in range(0, len(ordered), 500):
                for name, customer_id in session.execute(read(source, ordered[start:start + 500])):
                    for key in wanted[(source, name)]:
                        found.setdefault(key, set()).add(customer_id)
    return found


def _customers_of_users(source: str, user_ids: list[str]) -> Any:
    return select(SourceRecord.source_id, SourceRecord.customer_id).where(
        SourceRecord.source == source, SourceRecord.source_id.in_(user_ids), SourceRecord.customer_id.is_not(None))


def _customers_of_browsers(source: str, anonymous_ids: list[str]) -> Any:
    return (select(WebVisitor.anonymous_id, SourceRecord.customer_id)
            .join(SourceRecord, SourceRecord.id == WebVisitor.source_record_id)
            .where(WebVisitor.source == source, WebVisitor.anonymous_id.in_(anonymous_ids),
                   SourceRecord.customer_id.is_not(None)))


def join_visitor(session: Session, source: str, anonymous_id: str, *, record_id: int, customer_id: int,
                 at: dt.datetime) -> int:
    """Name an anonymous browser: its earlier activity, baskets and consent become the person's.

    A browser already named keeps its person (a shared computer must not hand one person's history
    to another); its id is returned either way."""
    visitor = _visitor(session, source, anonymous_id, at)
    if visitor.source_record_id is not None:
        return visitor.id
    visitor.source_record_id = record_id
    person = LinkedPerson(record_id=record_id, customer_id=customer_id)
    earlier = session.scalars(select(WebActivity).where(WebActivity.visitor_id == visitor.id,
                                                        WebActivity.customer_id.is_(None))
                              .order_by(WebActivity.occurred_at, WebActivity.id)).all()
    for activity in earlier:
        activity.customer_id, activity.source_record_id = customer_id, record_id
        if activity.kind in _SIGNAL_OF_ACTIVITY and activity.sku:
            _signal(session, person, activity.kind, Product(
                sku=activity.sku, name=activity.product_name or activity.sku, price=activity.price,
                currency=activity.currency, quantity=activity.quantity or 1), activity.occurred_at)
    session.execute(update(Basket).where(Basket.visitor_id == visitor.id, Basket.customer_id.is_(None))
                    .values(customer_id=customer_id, source_record_id=record_id))
    stated = {ConsentPurpose(purpose): (bool(value[0]), dt.datetime.fromisoformat(value[1]))
              for purpose, value in (visitor.consent or {}).items()}
    for purpose, (granted, when) in stated.items():
        _write_consent(session, person, source, {purpose: granted}, when)
    return visitor.id


# --- writing ----------------------------------------------------------------------------------------


def _write_consent(session: Session, person: LinkedPerson, source: str, states: dict[ConsentPurpose, bool],
                   at: dt.datetime) -> None:
    ready = [(0, person, {"purpose": purpose, "channel": ConsentChannel.ANY, "granted": granted,
                          "recorded_at": at, "source": source}) for purpose, granted in states.items()]
    write_consents(session, ready, ImportReport(kind="consents"))


def _keep_visitor_consent(session: Session, visitor_id: int, states: dict[ConsentPurpose, bool],
                          at: dt.datetime) -> None:
    visitor = session.get_one(WebVisitor, visitor_id)
    consent = dict(visitor.consent or {})
    for purpose, granted in states.items():
        known = consent.get(purpose)
        if known is None or dt.datetime.fromisoformat(known[1]) <= at:
            consent[purpose] = [granted, at.isoformat()]
    visitor.consent = consent


_SIGNAL_OF_ACTIVITY = {
    WebActivityKind.VIEWED: WebSignalKind.VIEWED,
    WebActivityKind.WISHLIST_ADDED: WebSignalKind.WISHLIST,
    WebActivityKind.WISHLIST_REMOVED: WebSignalKind.WISHLIST,
}


def _signal(session: Session, person: LinkedPerson, kind: str, product: Product, at: dt.datetime) -> None:
    """Recently viewed and the wishlist as the card reads them (web_signals): one row per product,
    moved forward on each new view or addition; a removal deletes the product from the wishlist.

    Core statements, not ORM objects: the unit of work's flush was a third of a track's CPU (issue 11),
    and nothing in a worker step holds these rows as objects."""
    signal_kind = _SIGNAL_OF_ACTIVITY[WebActivityKind(kind)]
    existing = session.execute(select(WebSignal.id, WebSignal.occurred_at).where(
        WebSignal.customer_id == person.customer_id, WebSignal.kind == signal_kind, WebSignal.sku == product.sku)
        .order_by(WebSignal.occurred_at.desc())).all()
    if kind == WebActivityKind.WISHLIST_REMOVED:
        gone = [signal_id for signal_id, occurred_at in existing if occurred_at <= at]
        if gone:
            session.execute(delete(WebSignal).where(WebSignal.id.in_(gone)).execution_options(
                synchronize_session=False))
        return
    if existing:
        latest_id, latest_at = existing[0]
        if at >= latest_at:
            session.execute(update(WebSignal).where(WebSignal.id == latest_id).values(
                occurred_at=at, product_name=product.name, price=product.price, currency=product.currency)
                .execution_options(synchronize_session=False))
        return
    session.execute(insert(WebSignal).values(
        customer_id=person.customer_id, source_record_id=person.record_id, kind=signal_kind, sku=product.sku,
        product_name=product.name, price=product.price, currency=product.currency, occurred_at=at))


def _activity(session: Session, source: str, who: Who, kind: WebActivityKind, at: dt.datetime, *,
              product: Product | None = None, detail: str | None = None, amount: Decimal | None = None,
              currency: str = "EUR") -> None:
    """One row of the activity the card reads (a Core INSERT: see _signal)."""
    session.execute(insert(WebActivity).values(
        source=source, customer_id=who.customer_id, source_record_id=who.record_id, visitor_id=who.visitor_id,
        kind=kind, sku=product.sku if product else None, product_name=product.name if product else None,
        price=product.price if product else amount, currency=product.currency if product else currency,
        quantity=product.quantity if product else None, detail=detail, occurred_at=at))


def _cart_key(body: dict[str, Any], who: Who) -> str:
    cart_id = _text(body.get("properties") or {}, "cart_id", 128)
    if cart_id:
        return f"cart:{cart_id}"
    if who.user_id:
        return f"user:{who.user_id}"
    return f"anon:{_id(body.get('anonymousId'))}"


def _item(product: Product) -> dict[str, Any]:
    return {"sku": product.sku, "name": product.name, "quantity": product.quantity,
            "price": str(product.price) if product.price is not None else None, "currency": product.currency}


def _basket(session: Session, source: str, who: Who, body: dict[str, Any], at: dt.datetime,
            change: Literal["add", "remove", "replace"], products: list[Product], *, checkout: bool = False) -> None:
    key = _cart_key(body, who)
    basket = session.scalars(select(Basket).where(Basket.source == source, Basket.cart_key == key)).first()
    if basket is None:
        basket = Basket(source=source, cart_key=key, items=[], updated_at=at)
        session.add(basket)
    elif basket.closed_at is not None and at <= basket.closed_at:
        return  # a late event of a basket already ordered: the order is the truth
    elif basket.closed_at is not None:
        basket.items, basket.closed_at, basket.checkout_started_at = [], None, None
    basket.customer_id = who.customer_id or basket.customer_id
    basket.source_record_id = who.record_id or basket.source_record_id
    basket.visitor_id = who.visitor_id or basket.visitor_id
    items: list[dict[str, Any]] = [dict(item) for item in (basket.items or [])]
    if change == "replace":
        items = [_item(p) for p in products]
    for product in products if change != "replace" else ():
        line = next((item for item in items if item["sku"] == product.sku), None)
        if change == "add":
            if line is None:
                items.append(_item(product))
            else:
                line.update(_item(product), quantity=line["quantity"] + product.quantity)
        elif line is not None:
            line["quantity"] -= product.quantity
            if line["quantity"] <= 0:
                items.remove(line)
    basket.items = items[:MAX_BASKET_LINES]
    if products:
        basket.currency = products[0].currency
    basket.updated_at = max(basket.updated_at, at)
    basket.abandoned_at = None
    if checkout:
        basket.checkout_started_at = at


def _is_return(session: Session, customer_id: int, at: dt.datetime) -> bool:
    last = session.scalar(select(WebActivity.occurred_at).where(WebActivity.customer_id == customer_id,
                                                                WebActivity.occurred_at <= at)
                          .order_by(WebActivity.occurred_at.desc()).limit(1))
    return last is None or at - last >= NEW_VISIT_AFTER


def _presence(session: Session, source: str, who: Who, at: dt.datetime, now: dt.datetime) -> None:
    """Before recording a visit or a browsing event: a first event after a pause is a return to the site."""
    if who.customer_id is not None and _is_return(session, who.customer_id, at):
        session.flush()
        notices.owe(session, who.customer_id, WebNoticeKind.RETURNED, source, at, now)


# --- orders -----------------------------------------------------------------------------------------


_ORDER_STATUS = {
    WebActivityKind.ORDERED: OrderStatus.COMPLETED,
    WebActivityKind.REFUNDED: OrderStatus.RETURNED,
    WebActivityKind.CANCELLED: OrderStatus.CANCELLED,
}


def _order(session: Session, source: str, who: Who, props: dict[str, Any], kind: WebActivityKind,
           at: dt.datetime, now: dt.datetime) -> Outcome:
    number = _text(props, "order_id", 64)
    if number is None:
        raise _Bad("missing_order_id")
    if who.customer_id is None or who.record_id is None:
        return _waiting("anonymous_order")  # a guest checkout: the identify that follows names the person
    status = _ORDER_STATUS[kind]
    products = _products(props)
    total = _money(props, "total")
    if total is None:
        total = _money(props, "revenue")
    currency = _currency(props)
    existing = session.scalars(select(Order).where(Order.source == source, Order.order_number == number)).first()
    if existing is not None and existing.customer_id != who.customer_id:
        return _rejected("order_of_another_person")
    if existing is not None and (status != OrderStatus.COMPLETED or not products):
        # A refund or cancellation changes the state of the order; a completion replayed after one
        # never brings a cancelled or refunded order back.
        if status != OrderStatus.COMPLETED and existing.status != status:
            existing.status = status
            session.flush()
            kpi_rollup.refresh(session, customer_ids=[existing.customer_id])
    elif products or existing is not None:
        if existing is not None and existing.status != OrderStatus.COMPLETED:
            status = OrderStatus(existing.status)
        lines: list[LineValues] = [(p.sku, p.name, p.quantity, p.price or Decimal("0.00"), None) for p in products or ()]
        if not lines:
            return _rejected("order_without_products")
        write_order(session, person=(source, who.user_id or ""), order_number=number, header={
            "ordered_at": at if existing is None else existing.ordered_at, "channel": OrderChannel.WEB, "store": None,
            "amount": total, "currency": currency, "status": status}, lines=lines)
    elif status == OrderStatus.COMPLETED:
        return _rejected("order_without_products")
    else:
        return _waiting("unknown_order")  # a refund before its order: applied once the order is in
    if total is None:
        total = existing.total_amount if existing is not None else sum(
            (p.quantity * (p.price or Decimal("0.00")) for p in products or ()), Decimal("0.00"))
    if kind == WebActivityKind.ORDERED:
        # The rule every online order follows, whoever tells it (Shopify's, WooCommerce's too).
        notices.online_order(session, notices.OnlineOrder(
            source=source, customer_id=who.customer_id, record_id=who.record_id, order_number=number,
            ordered_at=at, amount=total, currency=currency, visitor_id=who.visitor_id), now=now)
    else:
        _activity(session, source, who, kind, at, detail=number, amount=total, currency=currency)
    return APPLIED


# --- the appliers -----------------------------------------------------------------------------------


_TRACK_KINDS = {
    "product viewed": WebActivityKind.VIEWED,
    "product added to wishlist": WebActivityKind.WISHLIST_ADDED,
    "product removed from wishlist": WebActivityKind.WISHLIST_REMOVED,
    "product added": WebActivityKind.CART_ADDED,
    "product removed": WebActivityKind.CART_REMOVED,
    "cart viewed": WebActivityKind.CART_VIEWED,
    "checkout started": WebActivityKind.CHECKOUT_STARTED,
    "order completed": WebActivityKind.ORDERED,
    "order refunded": WebActivityKind.REFUNDED,
    "order cancelled": WebActivityKind.CANCELLED,
    "products searched": WebActivityKind.SEARCHED,
}


def track_kind(event: Any) -> WebActivityKind | None:
    """The spec's event names, also as the snake_case some sites send ("product_viewed")."""
    if not isinstance(event, str):
        return None
    return _TRACK_KINDS.get(" ".join(event.replace("_", " ").casefold().split()))


def _done(who: Who) -> Outcome:
    """Applied; waking the events kept waiting under the anonymousId this message named (a guest order)."""
    if who.joined is None:
        return APPLIED
    key = person_key(None, who.joined)
    return Applied(APPLIED.state, wake=(key,) if key else ())


def _consent_first(session: Session, source: str, who: Who, body: dict[str, Any], at: dt.datetime) -> bool:
    """Write the consent the message states; False when it refuses profiling (browsing is not kept)."""
    states = consent_of(body)
    if states:
        if who.customer_id is not None and who.record_id is not None:
            _write_consent(session, LinkedPerson(record_id=who.record_id, customer_id=who.customer_id), source,
                           states, at)
        elif who.visitor_id is not None:
            _keep_visitor_consent(session, who.visitor_id, states, at)
    return states.get(ConsentPurpose.PROFILING) is not False


def apply_track_message(session: Session, source: str, body: dict[str, Any], at: dt.datetime,
                        now: dt.datetime) -> Outcome:
    """A `track` message: the e-commerce spec v2 events above; other events are accepted and ignored."""
    try:
        kind = track_kind(body.get("event"))
        props = body.get("properties") if body.get("properties") is not None else {}
        if not isinstance(props, dict):
            raise _Bad("bad_properties")
        who = resolve(session, source, body, at)
        if isinstance(who, Outcome):
            return who
        profiling = _consent_first(session, source, who, body, at)
        if kind in _ORDER_STATUS:
            outcome = _order(session, source, who, props, kind, at, now)
            return _done(who) if outcome is APPLIED else outcome
        if kind is None or not profiling:
            return _done(who)
        _presence(session, source, who, at, now)
        person = (LinkedPerson(record_id=who.record_id, customer_id=who.customer_id)
                  if who.record_id is not None and who.customer_id is not None else None)
        if kind == WebActivityKind.SEARCHED:
            query = _text(props, "query", 200)
            if query is None:
                raise _Bad("missing_query")
            _activity(session, source, who, kind, at, detail=query)
        elif kind in _SIGNAL_OF_ACTIVITY:
            product = _product(props)
            _activity(session, source, who, kind, at, product=product)
            if person is not None:
                _signal(session, person, kind, product, at)
        elif kind in (WebActivityKind.CART_ADDED, WebActivityKind.CART_REMOVED):
            product = _product(props)
            _activity(session, source, who, kind, at, product=product)
            _basket(session, source, who, body, at, "add" if kind == WebActivityKind.CART_ADDED else "remove",
                    [product])
        else:  # cart viewed, checkout started: the whole cart, when the site sends it
            products = _products(props)
            _activity(session, source, who, kind, at, detail=_text(props, "cart_id", 64) or _text(props, "order_id", 64),
                      amount=_money(props, "value") or _money(props, "revenue"), currency=_currency(props))
            _basket(session, source, who, body, at, "replace" if products is not None else "add", products or [],
                    checkout=kind == WebActivityKind.CHECKOUT_STARTED)
        return _done(who)
    except _Bad as bad:
        return _rejected(str(bad))


def _page_name(body: dict[str, Any]) -> str | None:
    """The page's name, or its path without the query string (which may carry an e-mail or a token)."""
    props = body.get("properties")
    if not isinstance(props, dict):
        props = {}
    name = _text(body, "name", 200) or _text(props, "title", 200)
    if name:
        return name
    path = _text(props, "path", 200)
    return path.split("?", 1)[0].split("#", 1)[0] if path else None


def apply_page_message(session: Session, source: str, body: dict[str, Any], at: dt.datetime,
                       now: dt.datetime) -> Outcome:
    """A `page` message: the person is on the website (the card's "on the website 12 min ago")."""
    try:
        who = resolve(session, source, body, at)
        if isinstance(who, Outcome):
            return who
        if not _consent_first(session, source, who, body, at):
            return _done(who)
        _presence(session, source, who, at, now)
        _activity(session, source, who, WebActivityKind.VISIT, at, detail=_page_name(body))
        return _done(who)
    except _Bad as bad:
        return _rejected(str(bad))


def apply_alias_message(session: Session, source: str, body: dict[str, Any], at: dt.datetime,
                        now: dt.datetime) -> Outcome:
    """An `alias` message: previousId (the anonymousId the browsing was kept under) is userId's person."""
    try:
        previous, user_id = _id(body.get("previousId")), _id(body.get("userId"))
        if previous is None or user_id is None:
            return _rejected("alias_needs_both_ids")
        record = _record(session, source, user_id)
        if record is None:
            return _waiting("unknown_person")
        customer = _customer_of(session, record)
        if isinstance(customer, Outcome):
            return customer
        join_visitor(session, source, previous, record_id=record.id, customer_id=customer, at=at)
        key = person_key(None, previous)
        return Applied(APPLIED.state, wake=(key,) if key else ())
    except _Bad as bad:
        return _rejected(str(bad))


def after_identify(session: Session, source: str, body: dict[str, Any], *, record_id: int, customer_id: int,
                   at: dt.datetime) -> tuple[str, ...]:
    """What an `identify` means beyond the person's traits, for the identify applier to call once it has
    the record of `userId`: the anonymousId it names joins the person (its earlier browsing moves over),
    and the consent it states (traits or context) is written. Returns the inbox person keys to wake (the
    anonymousId's waiting events, e.g. a guest order)."""
    person = LinkedPerson(record_id=record_id, customer_id=customer_id)
    states = consent_of(body)
    if states:
        _write_consent(session, person, source, states, at)
    anonymous_id = _id(body.get("anonymousId"))
    if anonymous_id is None:
        return ()
    join_visitor(session, source, anonymous_id, record_id=record_id, customer_id=customer_id, at=at)
    key = person_key(None, anonymous_id)
    return (key,) if key else ()


# --- the inbox's appliers (bot/ingest.py APPLIERS) --------------------------------------------------


def apply_identify(session: Session, event: InboxEvent, now: dt.datetime, *,
                   thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Applied:
    """store.live.identify's applier (traits -> the record, identity on arrival at `thresholds`), then what
    the identify names for the website: the anonymousId's browsing and the consent it states (after_identify)."""
    return apply_identifies(session, [event], now, thresholds=thresholds)[0]


def apply_identifies(session: Session, events: Sequence[InboxEvent], now: dt.datetime, *,
                     thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Applied]:
    """A worker step's identifies at once (store.inbox's group applier): their records linked in one pass
    (identify.apply_identifies), then each one's website side, in id order."""
    outcomes = identify.apply_identifies(session, events, now, thresholds=thresholds)
    return [_after(session, event, outcome) for event, outcome in zip(events, outcomes, strict=True)]


def _joins_browser_or_states_consent(body: dict[str, Any]) -> bool:
    """Whether a message names an anonymous browser (its earlier browsing to join to the person) or states
    consent: the website-side work only the one-at-a-time appliers do."""
    return _id(body.get("anonymousId")) is not None or bool(consent_of(body))


def _after(session: Session, event: InboxEvent, outcome: Applied) -> Applied:
    if outcome.state != APPLIED.state:
        return outcome
    if not _joins_browser_or_states_consent(event.body):
        return outcome  # after_identify would do nothing
    source_id = identify.source_id_of(event.body)
    record = _record(session, event.source, source_id) if source_id else None
    customer = _customer_of(session, record) if record is not None else None
    if record is None or not isinstance(customer, int):
        return outcome
    woken = after_identify(session, event.source, event.body, record_id=record.id, customer_id=customer,
                           at=event.timestamp)
    return Applied(outcome.state, outcome.reason, wake=tuple(dict.fromkeys(outcome.wake + woken)))


def apply_track(session: Session, event: InboxEvent, now: dt.datetime) -> Applied:
    return apply_track_message(session, event.source, event.body, event.timestamp, now)


def apply_page(session: Session, event: InboxEvent, now: dt.datetime) -> Applied:
    return apply_page_message(session, event.source, event.body, event.timestamp, now)


def apply_alias(session: Session, event: InboxEvent, now: dt.datetime) -> Applied:
    return apply_alias_message(session, event.source, event.body, event.timestamp, now)


# --- a worker step's browsing at once (bot/ingest.py GROUP_APPLIERS) --------------------------------
#
# Most of what a site sends is browsing about a signed-in person: views, wishlist changes, searches, pages.
# One at a time, each costs ~6 statements (its record, the last visit, its activity row, its signal read
# and write, a savepoint): that capped a worker near 200 events/s (issue 11). `apply_browsing` applies a
# step's such events as sets (one read of their records, one of their recent visits, one of their
# signals, then one INSERT of the activity and one of the new signals) with the same rules as
# apply_track_message / apply_page_message, which still apply every other event (anonymous browsers,
# consent, baskets, orders, unknown people) in its place in the sequence.

_SET_KINDS = frozenset({WebActivityKind.VIEWED, WebActivityKind.WISHLIST_ADDED, WebActivityKind.WISHLIST_REMOVED,
                        WebActivityKind.SEARCHED})


@dataclass
class _Plain:
    """A browsing event applied as part of a set: its person is known and active, and it states no consent."""

    event: InboxEvent
    person: LinkedPerson
    kind: WebActivityKind
    product: Product | None
    detail: str | None


@dataclass
class _SignalRow:
    id: int | None  # None: new in this step
    values: dict[str, Any]
    changed: bool = False
    gone: bool = False


def _plain_kind(event: InboxEvent) -> WebActivityKind | None:
    """The activity a set-applicable event records, or None when the one-at-a-time applier must take it."""
    body = event.body
    if _joins_browser_or_states_consent(body):
        return None  # one at a time
    if event.type == SegmentType.TRACK:
        kind = track_kind(body.get("event"))
        return kind if kind in _SET_KINDS and isinstance(body.get("properties", {}), dict) else None
    return WebActivityKind.VISIT if event.type in (SegmentType.PAGE, SegmentType.SCREEN) else None


def _readable(event: InboxEvent) -> bool:
    """Whether the one-at-a-time applier would get as far as resolving the person (a track's properties
    must be an object; a page's are not checked before)."""
    props = event.body.get("properties")
    return event.type != SegmentType.TRACK or props is None or isinstance(props, dict)


def _known_people(session: Session, events: Sequence[InboxEvent]) -> tuple[dict[tuple[str, str], LinkedPerson],
                                                                           set[tuple[str, str]]]:
    """(source, userId) -> the record and its customer, for those whose record is linked to an active,
    not erased customer (the others go one at a time: refused, or a merge to follow); and the
    (source, userId) with no record at all (their events wait: `unknown_person`)."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        user_id = _id(event.body.get("userId"))
        if user_id is not None:
            wanted.setdefault(event.source, set()).add(user_id)
    known: dict[tuple[str, str], LinkedPerson] = {}
    absent: set[tuple[str, str]] = set()
    session.flush()  # read through the connection, which does not autoflush
    connection = session.connection()
    statement = _people_statement(dialect.is_postgresql(connection))
    for source, users in wanted.items():
        ordered = sorted(users)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            found: set[str] = set()
            for record_id, user_id, content_hash, customer_id, status in connection.execute(
                    statement, {"source": source, "users": chunk}):
                found.add(user_id)
                if content_hash != ERASED_HASH and status == CustomerStatus.ACTIVE and customer_id is not None:
                    known[(source, user_id)] = LinkedPerson(record_id=record_id, customer_id=customer_id)
            absent.update((source, user_id) for user_id in chunk if user_id not in found)
    return known, absent


# The set's statements, built once per database kind and written in Core (through the session's connection):
# the ORM's per-statement and per-row work cost as much as the database's on these small reads and writes.
_RECORDS, _CUSTOMERS = Base.metadata.tables[SourceRecord.__tablename__], Base.metadata.tables[Customer.__tablename__]
_ACTIVITY, _SIGNALS = Base.metadata.tables[WebActivity.__tablename__], Base.metadata.tables[WebSignal.__tablename__]


@lru_cache(maxsize=2)
def _people_statement(postgresql: bool) -> Select[Any]:
    return (select(_RECORDS.c.id, _RECORDS.c.source_id, _RECORDS.c.content_hash, _RECORDS.c.customer_id,
                   _CUSTOMERS.c.status)
            .outerjoin(_CUSTOMERS, _CUSTOMERS.c.id == _RECORDS.c.customer_id)
            .where(_RECORDS.c.source == bindparam("source"),
                   dialect.strings_parameter(postgresql, _RECORDS.c.source_id, "users")))


@lru_cache(maxsize=2)
def _latest_statement(postgresql: bool) -> Select[Any]:
    return (select(_ACTIVITY.c.customer_id, func.max(_ACTIVITY.c.occurred_at))
            .where(dialect.ids_parameter(postgresql, _ACTIVITY.c.customer_id),
                   _ACTIVITY.c.occurred_at > bindparam("since"), _ACTIVITY.c.occurred_at <= bindparam("until"))
            .group_by(_ACTIVITY.c.customer_id))


@lru_cache(maxsize=2)
def _signals_statement(postgresql: bool) -> Select[Any]:
    return (select(_SIGNALS.c.id, _SIGNALS.c.customer_id, _SIGNALS.c.kind, _SIGNALS.c.sku, _SIGNALS.c.occurred_at)
            .where(dialect.ids_parameter(postgresql, _SIGNALS.c.customer_id),
                   _SIGNALS.c.kind.in_((WebSignalKind.VIEWED, WebSignalKind.WISHLIST)),
                   dialect.strings_parameter(postgresql, _SIGNALS.c.sku, "skus")))


_MOVE_SIGNAL = update(_SIGNALS).where(_SIGNALS.c.id == bindparam("b_id"))


def apply_browsing(session: Session, events: Sequence[InboxEvent], now: dt.datetime) -> list[Applied]:
    """A worker step's track/page events at once (store.inbox's group applier), in id order: what
    apply_track_message / apply_page_message would make of them one by one."""
    known, absent = _known_people(session, events)
    outcomes: list[Applied | None] = [None] * len(events)
    plain: list[tuple[int, _Plain]] = []
    for index, event in enumerate(events):
        kind = _plain_kind(event)
        user_id = _id(event.body.get("userId"))
        if user_id is not None and (event.source, user_id) in absent and _readable(event):
            # What resolve() answers for a userId without a record (a track before its identify): the inbox
            # retries it; read once for the whole step instead of once per event and retry.
            outcomes[index] = _waiting("unknown_person")
            continue
        person = known.get((event.source, user_id)) if kind is not None and user_id is not None else None
        if kind is None or person is None:
            _write_plain(session, [p for _, p in plain], now)  # what came before, in order
            plain.clear()
            outcomes[index] = (apply_track if event.type == SegmentType.TRACK else apply_page)(session, event, now)
            continue
        try:
            props = event.body.get("properties") or {}
            product = _product(props) if kind in _SIGNAL_OF_ACTIVITY else None
            detail = (_page_name(event.body) if kind == WebActivityKind.VISIT
                      else _text(props, "query", 200) if kind == WebActivityKind.SEARCHED else None)
            if kind == WebActivityKind.SEARCHED and detail is None:
                raise _Bad("missing_query")
        except _Bad as bad:
            outcomes[index] = _rejected(str(bad))
            continue
        plain.append((index, _Plain(event=event, person=person, kind=kind, product=product, detail=detail)))
        outcomes[index] = APPLIED
    _write_plain(session, [p for _, p in plain], now)
    return [outcome if outcome is not None else APPLIED for outcome in outcomes]


def _write_plain(session: Session, plain: Sequence[_Plain], now: dt.datetime) -> None:
    """The visits owed (a return after a pause), the activity rows and the signals of `plain`, in order."""
    if not plain:
        return
    session.flush()  # what the one-at-a-time appliers wrote before: read and inserted after it, through the connection
    # A return to the site: no activity of the customer in the NEW_VISIT_AFTER before it (_is_return), stored or
    # earlier in this set.
    fresh = [p for p in plain if now - p.event.timestamp <= notices.NOTICE_FRESHNESS]
    latest = _latest_activity(session, fresh)
    returns: list[_Plain] = []
    seen: dict[int, list[dt.datetime]] = {}
    signals = _signals_of(session, [p for p in plain if p.kind in _SIGNAL_OF_ACTIVITY])
    activity: list[dict[str, Any]] = []
    for p in plain:
        at, customer_id = p.event.timestamp, p.person.customer_id
        before = seen.setdefault(customer_id, [])
        if (now - at <= notices.NOTICE_FRESHNESS and not any(at - NEW_VISIT_AFTER < moment <= at for moment in before)
                and not _active_before(session, customer_id, at, latest)):
            returns.append(p)
        before.append(at)  # this event's activity row, for the later ones
        product = p.product
        activity.append({
            "source": p.event.source, "customer_id": customer_id, "source_record_id": p.person.record_id,
            "visitor_id": None, "kind": p.kind, "sku": product.sku if product else None,
            "product_name": product.name if product else None, "price": product.price if product else None,
            "currency": product.currency if product else "EUR", "quantity": product.quantity if product else None,
            "detail": p.detail, "occurred_at": at})
        if product is not None:
            _signal_in_set(signals, p, product)
    owed = notices.with_owners(session, {p.person.customer_id for p in returns}) if returns else set()
    for p in returns:
        if p.person.customer_id in owed:
            session.flush()
            notices.owe(session, p.person.customer_id, WebNoticeKind.RETURNED, p.event.source, p.event.timestamp, now)
    session.connection().execute(insert(_ACTIVITY), activity)
    _write_signals(session, signals)


def _latest_activity(session: Session, fresh: Sequence[_Plain]) -> dict[int, dt.datetime]:
    """Per customer of `fresh`, their latest stored activity from NEW_VISIT_AFTER before the earliest of these
    events up to the latest: one aggregate row per customer (a person browsing fast has hundreds of rows in
    that window; reading them all cost more than the rest of the set)."""
    if not fresh:
        return {}
    customers = sorted({p.person.customer_id for p in fresh})
    since = min(p.event.timestamp for p in fresh) - NEW_VISIT_AFTER
    until = max(p.event.timestamp for p in fresh)
    latest: dict[int, dt.datetime] = {}
    connection = session.connection()
    postgresql = dialect.is_postgresql(connection)
    for start in range(0, len(customers), 500):
        for customer_id, occurred_at in connection.execute(_latest_statement(postgresql), {
                "ids": dialect.ids_value(postgresql, customers[start:start + 500]), "since": since, "until": until}):
            if customer_id is not None and occurred_at is not None:
                latest[customer_id] = occurred_at
    return latest


def _active_before(session: Session, customer_id: int, at: dt.datetime, latest: dict[int, dt.datetime]) -> bool:
    """Whether the customer has stored activity in the NEW_VISIT_AFTER up to `at` (`latest`: _latest_activity).
    When their latest stored activity is after `at` (this event came late), one indexed probe says."""
    last = latest.get(customer_id)
    if last is None:
        return False
    if last <= at:
        return last > at - NEW_VISIT_AFTER
    return session.scalar(select(WebActivity.id).where(
        WebActivity.customer_id == customer_id, WebActivity.occurred_at > at - NEW_VISIT_AFTER,
        WebActivity.occurred_at <= at).limit(1)) is not None


_SignalKey = tuple[int, str, str]  # customer, WebSignalKind, sku


def _signals_of(session: Session, plain: Sequence[_Plain]) -> dict[_SignalKey, list[_SignalRow]]:
    """The signals these events may move or remove, per (customer, kind, sku)."""
    signals: dict[_SignalKey, list[_SignalRow]] = {}
    if not plain:
        return signals
    customers = sorted({p.person.customer_id for p in plain})
    skus = sorted({p.product.sku for p in plain if p.product is not None})
    connection = session.connection()
    postgresql = dialect.is_postgresql(connection)
    for start in range(0, len(customers), 400):
        for signal_id, customer_id, kind, sku, occurred_at in connection.execute(_signals_statement(postgresql), {
                "ids": dialect.ids_value(postgresql, customers[start:start + 400]), "skus": skus}):
            signals.setdefault((customer_id, kind, sku), []).append(
                _SignalRow(id=signal_id, values={"occurred_at": occurred_at}))
    return signals


def _signal_in_set(signals: dict[_SignalKey, list[_SignalRow]], p: _Plain, product: Product) -> None:
    """_signal's rule on the step's set of signals."""
    at = p.event.timestamp
    kind = _SIGNAL_OF_ACTIVITY[p.kind]
    rows = signals.setdefault((p.person.customer_id, kind, product.sku), [])
    alive = [row for row in rows if not row.gone]
    if p.kind == WebActivityKind.WISHLIST_REMOVED:
        for row in alive:
            if row.values["occurred_at"] <= at:
                row.gone = True
        return
    if alive:
        latest = max(alive, key=lambda row: row.values["occurred_at"])
        if at >= latest.values["occurred_at"]:
            latest.values.update(occurred_at=at, product_name=product.name, price=product.price,
                                 currency=product.currency)
            latest.changed = True
        return
    rows.append(_SignalRow(id=None, changed=True, values={
        "customer_id": p.person.customer_id, "source_record_id": p.person.record_id, "kind": kind, "sku": product.sku,
        "product_name": product.name, "price": product.price, "currency": product.currency, "occurred_at": at}))


def _write_signals(session: Session, signals: dict[_SignalKey, list[_SignalRow]]) -> None:
    rows = [row for group in signals.values() for row in group]
    gone = [row.id for row in rows if row.gone and row.id is not None]
    connection = session.connection()
    if gone:
        connection.execute(delete(_SIGNALS).where(_SIGNALS.c.id.in_(gone)))
    # in id order: two steps moving signals of one customer (a person's several records) lock rows alike
    moved = sorted(({"b_id": row.id, **row.values} for row in rows if row.changed and not row.gone and row.id is not None),
                   key=lambda values: values["b_id"])
    if moved:
        connection.execute(_MOVE_SIGNAL, moved)
    new = [row.values for row in rows if row.changed and not row.gone and row.id is None]
    if new:
        connection.execute(insert(_SIGNALS), new)


# --- the abandoned-basket job -----------------------------------------------------------------------


def mark_abandoned_baskets(session: Session, *, now: dt.datetime, after: dt.timedelta) -> int:
    """Baskets nobody touched for `after` and not ordered become abandoned; returns how many."""
    result = session.execute(update(Basket).where(Basket.closed_at.is_(None), Basket.abandoned_at.is_(None),
                                                  Basket.updated_at <= now - after)
                             .values(abandoned_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def forget_anonymous(session: Session, *, now: dt.datetime, older_than: dt.timedelta) -> int:
    """Anonymous browsing nobody named in `older_than` is dropped (retention of unnamed visitors)."""
    cutoff = now - older_than
    stale = select(WebVisitor.id).where(WebVisitor.source_record_id.is_(None), WebVisitor.last_seen_at < cutoff)
    session.execute(delete(WebActivity).where(WebActivity.visitor_id.in_(stale), WebActivity.customer_id.is_(None)))
    session.execute(delete(Basket).where(Basket.visitor_id.in_(stale), Basket.customer_id.is_(None)))
    result = session.execute(delete(WebVisitor).where(WebVisitor.id.in_(stale)))
    return int(getattr(result, "rowcount", 0) or 0)


def forget_old_activity(session: Session, *, now: dt.datetime, older_than: dt.timedelta) -> int:
    """Website activity older than `older_than` is dropped: the card tells the last week (the views and
    the wishlist it shows are web signals, kept as the imported ones are)."""
    result = session.execute(delete(WebActivity).where(WebActivity.occurred_at < now - older_than))
    return int(getattr(result, "rowcount", 0) or 0)
