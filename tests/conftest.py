"""Shared fixtures: databases on SQLite and PostgreSQL.

`db_url`          a fresh database at the current schema, once per backend (parametrised sqlite/postgresql)
`empty_db_url`    a fresh database with no schema (migration tests), once per backend
`engine`, `session_factory`  bound to `db_url`
`slack`           the loopback Slack stand-in (records calls, validates Block Kit, injects faults)

PostgreSQL comes from FRONTLINE_TEST_POSTGRES_URL (tests/with_postgres.sh starts a throwaway cluster):
skipped when unset, except under CI=true where that is a failure.
"""
from __future__ import annotations

import pytest

from bot.cli import main
from localslack.local_slack import LocalSlack
from store.db import make_engine, make_session_factory
from tests.support.db import (
    POSTGRES_ENV,
    PostgresDatabases,
    SqliteDatabases,
    postgres_admin_url,
    postgres_required,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def _sqlite_databases(tmp_path_factory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def _postgres_databases():
    admin_url = postgres_admin_url()
    if admin_url is None:
        if postgres_required():
            pytest.fail(f"{POSTGRES_ENV} is not set but CI=true requires the PostgreSQL tests to run")
        pytest.skip(f"{POSTGRES_ENV} not set (run through tests/with_postgres.sh or `make test`)")
    databases = PostgresDatabases(admin_url)
    databases.make_template()
    yield databases
    databases.close()


def _fresh_database(request, tmp_path, *, migrated: bool):
    if request.param == "sqlite":
        yield request.getfixturevalue("_sqlite_databases").create(tmp_path, from_template=migrated)
        return
    databases: PostgresDatabases = request.getfixturevalue("_postgres_databases")
    url = databases.create(from_template=migrated)
    yield url
    databases.drop(url)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    yield from _fresh_database(request, tmp_path, migrated=True)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request, tmp_path):
    yield from _fresh_database(request, tmp_path, migrated=False)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def slack():
    with LocalSlack() as stand_in:
        yield stand_in
    stand_in.assert_valid()


@pytest.fixture
def frontline(db_url, monkeypatch, tmp_path, capsys):
    """Run `frontline ARGS...` against the test database as the OS user "it.admin" (the actor the
    audit records); returns (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LOGNAME", "it.admin")

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        return status, out, err

    return run
