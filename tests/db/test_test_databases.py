"""The `database` fixture copies a database migrated once per test process (tests/conftest.py) instead of running
the migrations for every test: the copy must be what the migrations make, or every test would run on another
schema. On PostgreSQL a template copies what is in the database but not its own settings (`ALTER DATABASE ... SET`),
which a migration could add."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from paperboard.db import Database
from paperboard.db.schema import current_revision, head_revision, upgrade
from tests.conftest import _postgres_database

# Everything a migration can make, as each backend lists it.
SQLITE_SCHEMA = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
POSTGRES_SCHEMA = {
    "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default
        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
    "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace ORDER BY conname""",
    "triggers": "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname",
    "functions": """SELECT proname, pg_get_functiondef(oid) FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace ORDER BY proname""",
    "sequences": "SELECT sequence_name, start_value FROM information_schema.sequences ORDER BY sequence_name",
    "settings": """SELECT setconfig FROM pg_db_role_setting
        WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())""",
}


def schema(database: Database) -> dict[str, list[tuple[object, ...]]]:
    if database.backend == "sqlite":
        with database.engine.connect() as connection:
            # Line by line, sorted, without the commas between: two runs of the migrations list a rebuilt table's
            # constraints in different orders (Alembic's batch mode on SQLite), the same schema all the same.
            return {
                "sqlite": [
                    (kind, name, table, sorted(line.strip().rstrip(",") for line in (sql or "").splitlines()))
                    for kind, name, table, sql in connection.execute(text(SQLITE_SCHEMA))
                ]
            }
    with database.engine.connect() as connection:
        return {name: [tuple(row) for row in connection.execute(text(sql))] for name, sql in POSTGRES_SCHEMA.items()}


@pytest.fixture
def migrated_here(database: Database, tmp_path: Path) -> Iterator[Database]:
    """A database on the same backend as `database`, migrated by this test."""
    if database.backend == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'migrated-here.sqlite3'}"])
    else:
        urls = _postgres_database()
    for url in urls:
        fresh = Database(url)
        upgrade(fresh)
        yield fresh
        fresh.dispose()


def test_a_tests_database_is_what_the_migrations_make(database, migrated_here):
    assert current_revision(database) == head_revision()
    copied = schema(database)
    # Not two empty schemas: the tables are there (sqlite_master's rows, or the columns on PostgreSQL).
    tables = {row[2] for row in copied["sqlite"]} if "sqlite" in copied else {row[0] for row in copied["columns"]}
    assert {"papers", "users", "mail_outbox", "reader_models"} <= tables, tables
    assert copied == schema(migrated_here)
