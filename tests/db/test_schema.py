"""The schema on each backend: created by migrations, upgradable twice, and in step with the models."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from paperboard.db import Database
from paperboard.db.models import Base
from paperboard.db.schema import current_revision, head_revision, upgrade


def test_upgrade_creates_the_schema_and_is_safe_to_repeat(database_url):
    database = Database(database_url)
    assert current_revision(database) is None
    assert upgrade(database) == (None, head_revision())
    assert upgrade(database) == (head_revision(), head_revision())
    assert current_revision(database) == head_revision()
    assert {"papers", "paper_categories", "harvest_checkpoints"} <= set(inspect(database.engine).get_table_names())
    database.dispose()


def test_the_migrations_produce_exactly_the_models(database):
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_database):
    with sqlite_database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_postgres_urls_are_accepted_as_people_write_them():
    database = Database("postgres://user:secret@db.example:5432/papers")
    assert database.url.drivername == "postgresql+psycopg"
    assert database.backend == "postgresql"
