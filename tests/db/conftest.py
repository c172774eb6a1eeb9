"""Fixtures for the database tests: a PostgreSQL database with the current schema, and a connection listening for
the changes its writes announce (`db.changes`)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from paperboard.db import Database
from paperboard.db.changes import CHANNEL
from tests.conftest import _postgres_database


@pytest.fixture
def postgres(migrated_postgres_template: str) -> Iterator[Database]:
    for url in _postgres_database(migrated_postgres_template):
        database = Database(url)
        yield database
        database.dispose()


@pytest.fixture
def listening(postgres: Database) -> Iterator[psycopg.Connection]:
    url = postgres.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"LISTEN {CHANNEL}")
        yield connection


def heard(connection: psycopg.Connection) -> int:
    """How many changes were announced to a listening connection (waiting up to half a second for them)."""
    return sum(1 for _ in connection.notifies(timeout=0.5))
