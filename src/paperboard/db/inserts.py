"""Inserting rows unless a unique key already holds them, in one statement per batch on either backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Rows per statement: big enough to be fast, small enough to keep one statement's parameters bounded.
_ROWS_PER_STATEMENT = 1000


def insert_missing(session: Session, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[str]) -> int:
    """Insert the rows whose `key` columns (a unique constraint) hold no row yet; returns how many were inserted.
    A row that is already there, or is inserted meanwhile by another transaction, is skipped without an error."""
    if not rows:
        return 0
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # RETURNING counts the rows inserted on both backends (an executemany's rowcount is -1 on psycopg).
    [primary_key] = table.primary_key.columns
    statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(key)).returning(primary_key)
    connection = session.connection()
    return sum(
        len(connection.execute(statement, rows[start : start + _ROWS_PER_STATEMENT]).all())
        for start in range(0, len(rows), _ROWS_PER_STATEMENT)
    )
