"""Migrations: the schema they build is the schema the code expects, and older databases upgrade."""
from __future__ import annotations


from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from bot.cli import main
from store.db import current_revision, head_revision, make_engine, make_session_factory, migrate
from store.models import Base, Customer, SourceRecord


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    return list(diffs)


def test_migrated_schema_matches_the_models(empty_db_url):
    migrate(empty_db_url)
    assert _differences(empty_db_url) == []


def test_an_older_database_upgrades_and_keeps_its_data(empty_db_url):
    migrate(empty_db_url, "0001")
    engine = make_engine(empty_db_url)
    with make_session_factory(engine).begin() as session:
        customer = Customer(first_name="Hélène", last_name="Dupont", search_name="helene dupont")
        session.add(customer)
        session.flush()
        session.add(SourceRecord(source="web", source_id="W1", customer_id=customer.id, content_hash="h",
                                 first_name="Hélène", last_name="Dupont"))
    assert current_revision(engine) == "0001"
    migrate(empty_db_url)
    assert current_revision(engine) == head_revision()
    with make_session_factory(engine)() as session:
        assert session.scalar(select(Customer.last_name)) == "Dupont"
        # The name-search keys were filled for the customer who existed before the upgrade.
        assert session.execute(text("SELECT count(*) FROM customer_name_keys")).scalar() > 0
    assert "customer_name_keys" in inspect(engine).get_table_names()
    engine.dispose()


def test_frontline_migrate_creates_then_says_current(empty_db_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    assert main(["migrate"]) == 0
    assert f"to {head_revision()}" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "already current" in capsys.readouterr().out
