"""`frontline sources add|list|rotate|remove`: a write key shown once, alone on the last line, kept hashed."""
from __future__ import annotations

from sqlalchemy import select

from store import sources
from store.db import make_engine, make_session_factory
from store.models import LiveSource


def _source(db_url: str, name: str) -> LiveSource | None:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(LiveSource).where(LiveSource.name == name))
    finally:
        engine.dispose()


def _authenticates(db_url: str, key: str) -> bool:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            return sources.by_write_key(session, key) is not None
    finally:
        engine.dispose()


def test_add_prints_the_key_alone_on_the_last_line_and_keeps_only_its_hash(frontline, db_url):
    status, out, err = frontline("sources", "add", "webshop")
    assert status == 0, err
    key = out.splitlines()[-1]
    assert key.startswith("flw_") and " " not in key and len(key) > 30
    stored = _source(db_url, "webshop")
    assert stored is not None and stored.kind == "segment" and key not in (stored.key_hash, stored.secret)
    assert _authenticates(db_url, key)
    status, out, _ = frontline("sources", "list")
    assert status == 0 and "webshop  segment" in out and key not in out


def test_rotate_replaces_the_key_and_the_old_one_stops_working(frontline, db_url):
    old = frontline("sources", "add", "webshop")[1].splitlines()[-1]
    status, out, _ = frontline("sources", "rotate", "webshop")
    new = out.splitlines()[-1]
    assert status == 0 and new != old
    assert _authenticates(db_url, new) and not _authenticates(db_url, old)


def test_a_shopify_source_needs_its_secret(frontline, db_url):
    status, _, err = frontline("sources", "add", "shop", "--kind", "shopify")
    assert status == 1 and "--secret" in err and _source(db_url, "shop") is None
    status, out, _ = frontline("sources", "add", "shop", "--kind", "shopify", "--secret", "s3cret")
    assert status == 0 and "/webhooks/shopify/shop" in out and "s3cret" not in out
    assert _source(db_url, "shop").secret == "s3cret"


def test_a_woocommerce_source_needs_its_secret_and_rotates_it(frontline, db_url):
    status, _, err = frontline("sources", "add", "boutique", "--kind", "woocommerce")
    assert status == 1 and "WooCommerce source needs --secret" in err and _source(db_url, "boutique") is None
    status, out, _ = frontline("sources", "add", "boutique", "--kind", "woocommerce", "--secret", "wc-s3cret")
    assert status == 0 and "WooCommerce source boutique added: POST /webhooks/woocommerce/boutique" in out
    assert "wc-s3cret" not in out and _source(db_url, "boutique").secret == "wc-s3cret"
    assert frontline("sources", "rotate", "boutique")[0] == 1  # a new secret is needed, not a write key
    status, _, _ = frontline("sources", "rotate", "boutique", "--secret", "wc-n3w")
    assert status == 0 and _source(db_url, "boutique").secret == "wc-n3w"


def test_bad_names_duplicates_and_unknown_sources_change_nothing(frontline, db_url):
    assert frontline("sources", "add", "web shop!")[0] == 1
    assert frontline("sources", "add", "webshop")[0] == 0
    status, _, err = frontline("sources", "add", "webshop")
    assert status == 1 and "exists" in err
    assert frontline("sources", "rotate", "nowhere")[0] == 1
    status, out, _ = frontline("sources", "remove", "webshop")
    assert "removed" in out
    assert status == 0 and _source(db_url, "webshop") is None
    assert frontline("sources", "remove", "webshop")[0] == 1
