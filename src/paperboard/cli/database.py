"""`paperboard init`: create or upgrade the schema."""

from __future__ import annotations

import typer

from paperboard.cli.console import open_database, out, reported_failures, settings
from paperboard.db.schema import upgrade


def init() -> None:
    """Create the database, or upgrade its schema to this version of Paperboard. Safe to run again."""
    with reported_failures():
        database = open_database(settings(), require_schema=False)
        before, after = upgrade(database)
        where = database.url.render_as_string()
        if before == after:
            out.print(f"The database {where} is up to date (schema {after}).", highlight=False)
        elif before is None:
            out.print(f"Created the database {where} (schema {after}).", highlight=False)
        else:
            out.print(f"Upgraded the database {where} from schema {before} to {after}.", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(init)
