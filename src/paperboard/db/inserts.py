"""Inserting rows unless a unique key already holds them, in one statement per batch on either backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
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


def insert_values(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert rows, each a tuple of values in `columns`' order, in one executemany straight through the driver.

    For bulk loads (an import writes seven rows a paper): SQLAlchemy's handling of each row's parameters costs more
    than the database's own work for narrow rows. Values are converted as SQLAlchemy would convert them (dates,
    JSON), by each column type's own converter, one column at a time."""
    if not rows:
        return
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    # sqlite3 takes qmark parameters, psycopg format ones; the names are the schema's, never a caller's data.
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(column) for column in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    converters = [table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    if any(converters):
        columns_of_values = [
            values if convert is None else [convert(value) for value in values]
            for convert, values in zip(converters, zip(*rows, strict=True), strict=True)
        ]
        rows = list(zip(*columns_of_values, strict=True))
    connection.exec_driver_sql(statement, list(rows))
