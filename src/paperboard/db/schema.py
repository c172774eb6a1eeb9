"""Creating and upgrading the schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from paperboard.db.engine import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = database.engine
    return config


def upgrade(database: Database) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns the revisions before and after. Safe to repeat."""
    before = current_revision(database)
    command.upgrade(_alembic_config(database), "head")
    return before, head_revision()


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_known_revision(revision: str) -> bool:
    """Whether this version of Paperboard has the migration `revision` (a database made by a newer one may not)."""
    try:
        return ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision) is not None
    except CommandError:
        return False


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head
