"""Bulk writes at the Core level: one executemany per batch.

The ORM's bulk INSERT splits a batch into one statement per group of rows with the same None
pattern (columns with Python defaults are left out when None), which for messy people data meant
nearly one INSERT per row. Core executemany with the same keys on every row does not.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from store.db import table_of
from store.models import Base


def bulk_insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(table_of(model).insert(), rows)


def bulk_update(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Update rows by primary key; every dict has "id" and the same other keys."""
    if not rows:
        return
    table = table_of(model)
    names = [name for name in rows[0] if name != "id"]
    statement = (
        table.update()
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )
    session.execute(statement, [{"row_id": row["id"], **{f"new_{name}": row[name] for name in names}} for row in rows])
