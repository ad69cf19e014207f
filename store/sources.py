"""Live sources: who may send events, and how a request proves it is one of them.

A Segment-kind source authenticates with a write key (HTTP Basic user name, or `writeKey` in the body,
as Segment's clients do). The key is a random token shown once when made; only its SHA-256 is kept,
so a database dump reveals no key and a request finds its source with one indexed lookup. A Shopify
source proves itself by signing each body with the shop's shared secret (store/live/shopify.py), which
must therefore be kept as given.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from store.importing.people import check_source_name
from store.models import InboxMessage, LiveSource
from store.vocabulary import SourceKind

KEY_PREFIX = "flw_"
KINDS = tuple(SourceKind)
# Kinds whose deliveries are signed with a shared secret (the shop's webhooks) rather than a write key.
SIGNED_KINDS = frozenset({SourceKind.SHOPIFY, SourceKind.WOOCOMMERCE})


class SourceError(ValueError):
    """A source command that cannot be done; nothing was changed. The message is for the operator."""


@dataclass(frozen=True)
class SourceRef:
    """What a request needs to know about the source it came from."""

    id: int
    name: str
    kind: str  # a SourceKind
    secret: str | None


@dataclass(frozen=True)
class SourceRow:
    name: str
    kind: str
    created_at: dt.datetime
    rotated_at: dt.datetime | None
    events: int


def hash_key(write_key: str) -> str:
    return hashlib.sha256(write_key.encode("utf-8", "surrogatepass")).hexdigest()


def new_write_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


_SHOP_NAMES = {SourceKind.SHOPIFY: "Shopify", SourceKind.WOOCOMMERCE: "WooCommerce"}


def add_source(session: Session, name: str, kind: str, *, secret: str | None, now: dt.datetime) -> str | None:
    """Create a source; returns its write key (Segment kind) or None (Shopify, WooCommerce: the secret
    authenticates)."""
    try:
        name = check_source_name(name)
    except ValueError:
        raise SourceError("a source name is 1-32 letters, digits, '-', '_' or '.' (e.g. webshop)") from None
    if kind not in KINDS:
        raise SourceError("the kind must be one of " + ", ".join(KINDS))
    if session.scalar(select(LiveSource.id).where(LiveSource.name == name)) is not None:
        raise SourceError(f"a source named {name} exists already")
    key: str | None = None
    if kind in SIGNED_KINDS:
        if not secret:
            raise SourceError(f"a {_SHOP_NAMES[SourceKind(kind)]} source needs --secret (the shared secret of its webhooks)")
        session.add(LiveSource(name=name, kind=kind, secret=secret, created_at=now))
    else:
        if secret:
            raise SourceError("--secret is for Shopify and WooCommerce sources; a Segment source gets a write key")
        key = new_write_key()
        session.add(LiveSource(name=name, kind=kind, key_hash=hash_key(key), created_at=now))
    session.flush()
    return key


def rotate_source(session: Session, name: str, *, secret: str | None, now: dt.datetime) -> str | None:
    """A new write key (the old one stops working at once), or the shop's new shared secret."""
    source = _by_name(session, name)
    if source.kind in SIGNED_KINDS:
        if not secret:
            raise SourceError(f"a {_SHOP_NAMES[SourceKind(source.kind)]} source needs --secret (the shared secret of its "
                              "webhooks)")
        source.secret = secret
        key = None
    else:
        if secret:
            raise SourceError("--secret is for Shopify and WooCommerce sources; a Segment source gets a write key")
        key = new_write_key()
        source.key_hash = hash_key(key)
    source.rotated_at = now
    session.flush()
    return key


def remove_source(session: Session, name: str) -> int:
    """Remove a source and the events it sent that are still in the inbox; returns how many events."""
    source = _by_name(session, name)
    removed = session.execute(delete(InboxMessage).where(InboxMessage.source_id == source.id))
    session.delete(source)
    session.flush()
    return int(getattr(removed, "rowcount", 0) or 0)


def list_sources(session: Session) -> list[SourceRow]:
    counts = dict(session.execute(
        select(InboxMessage.source_id, func.count()).group_by(InboxMessage.source_id)).all())
    return [SourceRow(name=s.name, kind=s.kind, created_at=s.created_at, rotated_at=s.rotated_at,
                      events=int(counts.get(s.id, 0)))
            for s in session.scalars(select(LiveSource).order_by(LiveSource.name))]


def by_write_key(session: Session, write_key: str) -> SourceRef | None:
    """The Segment-kind source whose key this is, or None."""
    if not write_key or len(write_key) > 200:
        return None
    source = session.scalar(select(LiveSource).where(LiveSource.key_hash == hash_key(write_key),
                                                     LiveSource.kind == SourceKind.SEGMENT))
    return _ref(source) if source is not None else None


def by_name(session: Session, name: str, kind: str) -> SourceRef | None:
    source = session.scalar(select(LiveSource).where(LiveSource.name == name, LiveSource.kind == kind))
    return _ref(source) if source is not None else None


def _ref(source: LiveSource) -> SourceRef:
    return SourceRef(id=source.id, name=source.name, kind=source.kind, secret=source.secret)


def _by_name(session: Session, name: str) -> LiveSource:
    source = session.scalar(select(LiveSource).where(LiveSource.name == name))
    if source is None:
        raise SourceError(f"no source named {name!r}")
    return source
