"""The database as a whole: `paperboard init` creates or upgrades the schema, `backup` and `restore` copy it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from paperboard.cli.console import Failure, open_database, out, reported_failures, settings
from paperboard.cli.search import update_search_index
from paperboard.db.backup import BackupError, backup, restore, row_counts
from paperboard.db.schema import upgrade

MIB = 1 << 20


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


def backup_command(
    file: Annotated[Path, typer.Argument(help="The backup file to write.", dir_okay=False)],
    force: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
) -> None:
    """Back up the whole database to FILE while the site keeps running: SQLite's online backup (an SQLite file),
    or pg_dump's custom format on PostgreSQL. The search index is not in it; `restore` rebuilds it."""
    with reported_failures():
        if file.exists() and not force:
            raise Failure(f"{file} exists: choose another name, or pass --force to replace it")
        # Any schema: a backup before an upgrade is the one most worth having.
        database = open_database(settings(), require_schema=False)
        started = time.monotonic()
        try:
            revision = backup(database, file)
        except BackupError as error:
            raise Failure(str(error)) from None
        out.print(
            f"Backed up {database.url.render_as_string()} (schema {revision}) to {file}: "
            f"{file.stat().st_size / MIB:,.1f} MiB in {time.monotonic() - started:.1f} s.",
            highlight=False,
        )


def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `paperboard backup`.", exists=True, dir_okay=False)],
) -> None:
    """Restore a backup into an empty database (a new one, or one just made by `init`), upgrade its schema if the
    backup is older, and rebuild the search index. Stop the site and the worker first."""
    with reported_failures():
        configuration = settings()
        database = open_database(configuration, require_schema=False)
        try:
            before, after = restore(database, file)
        except BackupError as error:
            raise Failure(str(error)) from None
        upgraded = f", upgraded to schema {after}" if before != after else ""
        out.print(
            f"Restored {file} (schema {before}{upgraded}) into {database.url.render_as_string()}.", highlight=False
        )
        counts = Table("table", Column("rows", justify="right"), title="What the database now holds")
        for name, rows in row_counts(database).items():
            if rows:
                counts.add_row(name, f"{rows:,}")
        out.print(counts)
        # The index is derived data: made again from the restored papers and their stored vectors.
        update_search_index(configuration, database, full=True)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
