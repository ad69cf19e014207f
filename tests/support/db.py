"""Fresh databases for tests: SQLite files and PostgreSQL databases, each a copy of a migrated template.

Migrating once per test session and copying is what keeps `db_url` fast: a file copy for SQLite, a
`CREATE DATABASE ... TEMPLATE` for PostgreSQL (a few tens of milliseconds with fsync off).
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from store.db import make_engine, migrate

POSTGRES_ENV = "FRONTLINE_TEST_POSTGRES_URL"
# Test databases keep the daily KPI rollup, as `frontline migrate` does, so every write path under test
# also keeps it; Settings' default time zone, which most tests use.
KPI_TIMEZONE = "Europe/Paris"


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _worker_tag() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main").replace("-", "_")


class PostgresDatabases:
    """Creates and drops uniquely named databases on the server in FRONTLINE_TEST_POSTGRES_URL."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.template: str | None = None

    def _url_for(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self, *, from_template: bool) -> str:
        name = f"ft_{_worker_tag()}_{uuid.uuid4().hex[:10]}"
        template = f" TEMPLATE {self.template}" if from_template and self.template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}{template}"))
        return self._url_for(name)

    def make_template(self) -> None:
        url = self.create(from_template=False)
        migrate(url, kpi_timezone=KPI_TIMEZONE)
        self.template = make_url(url).database

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def close(self) -> None:
        if self.template:
            self.drop(self._url_for(self.template))
        self.admin.dispose()


class SqliteDatabases:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.template = folder / "template.db"
        url = f"sqlite:///{self.template}"
        migrate(url, kpi_timezone=KPI_TIMEZONE)
        make_engine(url).dispose()

    def create(self, folder: Path, *, from_template: bool) -> str:
        path = folder / f"frontline-{uuid.uuid4().hex[:8]}.db"
        if from_template:
            shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"
