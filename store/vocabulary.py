"""The closed sets of the domain: every word Frontline stores or compares, as a StrEnum.

Each value is the very string stored in the database today, so no row changes and no migration is
needed: a member compares and hashes equal to its string (`Role.ADMIN == "admin"`), a plain str read
back from a row compares equal to the member, and a member written to a `String` column is stored as
its value. Columns stay `String` (no database enum type): adding a word is a code change only.

KPI words (scopes, groupings, periods) live with the KPI code (store/kpi*.py).
"""
from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """Employee roles, ranked: an admin may do whatever a manager may, a manager whatever an associate may."""

    ASSOCIATE = "associate"
    MANAGER = "manager"
    ADMIN = "admin"


class CustomerStatus(enum.StrEnum):
    ACTIVE = "active"
    MERGED = "merged"  # kept, pointing at its survivor (merged_into_id), so an unmerge can restore it
    ERASED = "erased"  # anonymised (GDPR), kept so KPIs still count the customer


class OrderChannel(enum.StrEnum):
    WEB = "web"
    STORE = "store"
    PHONE = "phone"


class OrderStatus(enum.StrEnum):
    COMPLETED = "completed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class InteractionChannel(enum.StrEnum):
    STORE = "store"
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    VIDEO = "video"


class InteractionType(enum.StrEnum):
    VISIT = "visit"
    CALL = "call"
    COMPLAINT = "complaint"
    ADVICE = "advice"
    RETURN = "return"
    PURCHASE = "purchase"
    OTHER = "other"


class Outcome(enum.StrEnum):
    """How an interaction ended."""

    RESOLVED = "resolved"
    FOLLOW_UP = "follow_up"  # a promise to come back to the customer
    ESCALATED = "escalated"
    NO_ANSWER = "no_answer"
    INFO = "info"


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class WebSignalKind(enum.StrEnum):
    WISHLIST = "wishlist"
    VIEWED = "viewed"
    RECOMMENDED = "recommended"


class PreferenceCategory(enum.StrEnum):
    """What a declared preference is about (DeclaredPreference.category)."""

    SIZE = "size"
    BRAND = "brand"
    TASTE = "taste"
    CONTACT = "contact"
    CHANNEL = "channel"  # also the customer's golden preferred_channel
    LANGUAGE = "language"  # also the customer's golden preferred_language
    OTHER = "other"


class ContactChannel(enum.StrEnum):
    """How the customer prefers to be contacted, as an associate records it in the log form."""

    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    POST = "post"
    STORE = "store"


class ConsentPurpose(enum.StrEnum):
    MARKETING = "marketing"
    PROFILING = "profiling"  # web signals are shown only with it


class ConsentChannel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    POST = "post"
    ANY = "any"  # the consent holds for every channel


class IdentifierKind(enum.StrEnum):
    """The exact identifiers a customer is looked up by (CustomerIdentifier.kind)."""

    EMAIL = "email"
    PHONE = "phone"
    LOYALTY = "loyalty"


class ReviewStatus(enum.StrEnum):
    """A possible match waiting for a person (MatchReview.status)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # its two records came to share a customer before anyone decided


class LinkKind(enum.StrEnum):
    """A person's decision about two source records that the automatic linker must respect."""

    CANNOT_LINK = "cannot_link"
    MUST_LINK = "must_link"


class MergeReason(enum.StrEnum):
    """Why two customers were merged (MergeEvent.reason)."""

    AUTO = "auto"  # the automatic linker
    REVIEW = "review"  # a person accepted a match review
    MANUAL = "manual"  # a person merged them from the command line


class DigestKind(enum.StrEnum):
    EMPLOYEE = "employee"  # an employee's own morning digest
    TEAM = "team"  # a manager's team digest


class DigestStatus(enum.StrEnum):
    """Where one digest run stands (DigestRun.status)."""

    CLAIMED = "claimed"  # a process is sending it (or died doing so)
    SENT = "sent"
    EMPTY = "empty"  # nothing to say: no message sent, done for the day
    FAILED = "failed"  # retried after a back-off


class AuditAction(enum.StrEnum):
    """What an audit row records (AuditEvent.action)."""

    # About a customer
    VIEW = "view"
    REVEAL = "reveal"
    CHANGE = "change"
    SHARE = "share"
    EXPORT = "export"
    ERASE = "erase"
    MERGE = "merge"
    UNMERGE = "unmerge"
    REVIEW = "review"  # a possible duplicate answered, skipped or undone (detail: review_id, answer)
    # About an employee's access (customer_id is None; the subject is detail["employee"])
    REGISTER = "register"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    ROLE = "role"
    TEAM = "team"
    STORE = "store"
    PERMISSION = "permission"  # a permission granted or revoked (detail: permission, granted)


ACCESS_ACTIONS = (AuditAction.REGISTER, AuditAction.DEACTIVATE, AuditAction.REACTIVATE, AuditAction.ROLE,
                  AuditAction.TEAM, AuditAction.STORE, AuditAction.PERMISSION)
"""The audit actions of access changes."""


class RecordSource(enum.StrEnum):
    """Where rows written by Frontline itself come from (the `source` column); imported rows carry the
    name of their source system instead, an open set."""

    SLACK = "slack"  # interactions and follow-ups logged in Slack
    FRONTLINE = "frontline"  # preferences declared through Frontline


# --- em: identity evidence (store/identity.py Evidence) ---


class EvidenceField(enum.StrEnum):
    """What one line of a match's evidence is about (PairDecision.evidence)."""

    PRIOR = "prior"  # the odds before looking at any field: falls as the base grows
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    BIRTH_DATE = "birth_date"
    POSTCODE = "postcode"
    STREET = "street"
    CITY = "city"
    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_ID = "loyalty_id"
    HOUSEHOLD_CAP = "household_cap"  # the guard: what a housemate could share, taken back


class EvidenceLevel(enum.StrEnum):
    """How two records' values of one field compare (a Fellegi-Sunter comparison level)."""

    EXACT = "exact"
    NICKNAME = "nickname"  # Bob / Robert
    PREFIX = "prefix"  # Math / Mathieu
    INITIAL = "initial"  # J / Jean
    TYPO = "typo"  # one or two edits, Jaro-Winkler >= 0.9
    SIMILAR = "similar"  # Jaro-Winkler 0.8-0.9
    SWAPPED = "swapped"  # first and last name boxes swapped
    TRANSPOSED = "transposed"  # day and month swapped, two postcode digits swapped
    ONE_DIGIT = "one_digit"  # a birth date or postcode with one part / digit wrong
    CLOSE = "close"  # a street typed differently
    DIFFERS = "differs"
    MISSING = "missing"  # absent on one side: says nothing
    HOUSEHOLD = "household"  # an identifier that records of different people share
    NOT_COMPARED = "not_compared"  # a home's landline beside a mobile, a household's e-mail beside one's own
    BLOCKED = "blocked"  # a placeholder value (0000000000, noemail@...) or shared by too many people
    PRIOR = "prior"
    CAPPED = "capped"
# ---- review (branch review) ----------------------------------------------------------------------

class Permission(enum.StrEnum):
    """What an employee may do beyond their role (EmployeePermission.permission); admins have them all."""

    DATA_STEWARD = "data_steward"  # answers the possible-duplicates queue (/review, App Home)


class ReviewAnswer(enum.StrEnum):
    """A person's answer to a possible duplicate (ReviewDecision.answer)."""

    SAME = "same"  # same person: the two customers were merged
    APART = "apart"  # not the same: the two records are kept apart from now on
class ShopifyTopic(enum.StrEnum):
    """The Shopify webhook topics Frontline applies (X-Shopify-Topic; store/live/shopify.py)."""

    CUSTOMERS_CREATE = "customers/create"
    CUSTOMERS_UPDATE = "customers/update"
    ORDERS_CREATE = "orders/create"
    ORDERS_UPDATED = "orders/updated"
    ORDERS_PAID = "orders/paid"
    ORDERS_CANCELLED = "orders/cancelled"
    CHECKOUTS_CREATE = "checkouts/create"
    CHECKOUTS_UPDATE = "checkouts/update"


class ShopifyResource(enum.StrEnum):
    """The Shopify resources whose latest applied version is remembered (ShopifyVersion.resource)."""

    CUSTOMER = "customer"
    ORDER = "order"
    CHECKOUT = "checkout"


# --- ingest (issue 11: live sources and their inbox) ---------------------------------------------


class SourceKind(enum.StrEnum):
    """What speaks to a live source's endpoint (LiveSource.kind)."""

    SEGMENT = "segment"  # the Segment-compatible tracking API, /v1/* (Segment, RudderStack, Jitsu...)
    SHOPIFY = "shopify"  # Shopify's webhooks, /webhooks/shopify/<source>
    WOOCOMMERCE = "woocommerce"  # WooCommerce's webhooks, /webhooks/woocommerce/<source>


class InboxState(enum.StrEnum):
    """Where one received event stands (InboxMessage.state)."""

    PENDING = "pending"  # stored, not applied yet
    WAITING = "waiting"  # its person cannot be resolved yet: tried again later
    APPLIED = "applied"
    REJECTED = "rejected"  # the applier refused it (reason key, no data); kept, never retried
    IGNORED = "ignored"  # stored, but no applier handles this kind of event (e.g. group)


class SegmentType(enum.StrEnum):
    """The message types of the Segment-compatible tracking API."""

    IDENTIFY = "identify"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    ALIAS = "alias"
    GROUP = "group"

# --- commerce (live website activity, store/live/commerce.py) ---


class WebActivityKind(enum.StrEnum):
    """One thing a person did on the website, as the tracking API reported it (WebActivity.kind)."""

    VISIT = "visit"  # a page view
    VIEWED = "viewed"
    WISHLIST_ADDED = "wishlist_added"
    WISHLIST_REMOVED = "wishlist_removed"
    CART_ADDED = "cart_added"
    CART_REMOVED = "cart_removed"
    CART_VIEWED = "cart_viewed"
    CHECKOUT_STARTED = "checkout_started"
    SEARCHED = "searched"
    ORDERED = "ordered"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class WebNoticeKind(enum.StrEnum):
    """Why an employee with an open follow-up is told about a customer (WebNotice.kind)."""

    ORDERED = "ordered"  # the customer ordered online
    RETURNED = "returned"  # the customer came back to the website


class WooTopic(enum.StrEnum):
    """The WooCommerce webhook topics Frontline applies (X-WC-Webhook-Topic; store/live/woocommerce.py)."""

    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_DELETED = "customer.deleted"
    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    ORDER_DELETED = "order.deleted"
