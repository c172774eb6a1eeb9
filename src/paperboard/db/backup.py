"""Backups of a whole database, taken while the site runs, and restoring one into an empty database.

A backup holds every table, the stored paper vectors included; the search index is derived data and is not in it
(it is rebuilt after a restore). SQLite: the online backup API copies the database in one step, within one read
transaction, so writers carry on (WAL) and the copy is the database as it was at one instant; the copy is turned
into a single self-contained file, checked, and renamed into place. PostgreSQL: `pg_dump --format=custom`, which
also reads one snapshot; `pg_restore` loads it in a single transaction."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from glob import glob
from pathlib import Path

from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import URL

from paperboard.db.engine import Database
from paperboard.db.models import Base
from paperboard.db.schema import current_revision, is_known_revision, upgrade

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
VERSION_TABLE = "alembic_version"
# Where Debian and Ubuntu install each PostgreSQL version's programs when they are not on PATH.
POSTGRES_PROGRAM_DIRS = "/usr/lib/postgresql/*/bin"


class BackupError(Exception):
    """A backup cannot be taken or restored; the message says why and what to do."""


def row_counts(database: Database) -> dict[str, int]:
    """Rows in each table of the database (the schema's version table left out), by table name."""
    names = [name for name in inspect(database.engine).get_table_names() if name != VERSION_TABLE]
    with database.read_session() as session:
        return {name: session.scalar(select(func.count()).select_from(table(name))) or 0 for name in sorted(names)}


def backup(database: Database, target: Path) -> str:
    """Write a backup of `database` to `target` (replacing it only once the backup is complete); returns the
    schema revision it holds."""
    revision = current_revision(database)
    if revision is None:
        raise BackupError(f"the database {_where(database)} has no Paperboard schema: there is nothing to back up")
    with _file_in_place(target) as partial:
        if database.backend == "sqlite":
            _backup_sqlite(_sqlite_file(database), partial)
        else:
            _run_postgres_program("pg_dump", database.url, "--format=custom", f"--file={partial}")
    return revision


def restore(database: Database, source: Path) -> tuple[str, str]:
    """Load the backup `source` into `database`, which must hold no rows, then bring its schema up to date; returns
    the backup's schema revision and the one after upgrading."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    with source.open("rb") as handle:
        magic = handle.read(len(SQLITE_MAGIC))
    kinds = {"sqlite": SQLITE_MAGIC, "postgresql": PG_DUMP_MAGIC}
    kind = next((backend for backend, prefix in kinds.items() if magic.startswith(prefix)), None)
    if kind is None:
        raise BackupError(f"{source} is not a Paperboard backup (neither an SQLite database nor a pg_dump archive)")
    if kind != database.backend:
        raise BackupError(
            f"{source} is a backup of a {kind} database and {_where(database)} is {database.backend}: restore it "
            f"into a {kind} database (to move papers between them, use `paperboard export` and `import`)"
        )
    filled = {name: rows for name, rows in row_counts(database).items() if rows}
    if filled:
        held = ", ".join(f"{name}: {rows:,}" for name, rows in filled.items())
        raise BackupError(
            f"the database {_where(database)} is not empty ({held}): restore only into an empty database, so that "
            "nothing in it is lost"
        )
    revision = _sqlite_revision(source) if kind == "sqlite" else _pg_dump_revision(source)
    if revision is None:
        raise BackupError(f"{source} holds no Paperboard schema")
    if not is_known_revision(revision):
        raise BackupError(
            f"{source} was made by a newer Paperboard (schema {revision}): upgrade Paperboard, then restore it"
        )
    if kind == "sqlite":
        _restore_sqlite(source, _sqlite_file(database))
    else:
        _drop_schema(database)
        _run_postgres_program(
            "pg_restore", database.url, "--single-transaction", "--no-owner", "--no-privileges", str(source)
        )
    # Sessions pooled before the restore may have cached the old, empty schema.
    database.dispose()
    _, after = upgrade(database)
    return revision, after


def _where(database: Database) -> str:
    return database.url.render_as_string()


def _sqlite_file(database: Database) -> Path:
    file = database.url.database
    if not file or file == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(file)


@contextmanager
def _file_in_place(target: Path) -> Iterator[Path]:
    """A temporary file beside `target` that becomes `target` when the block ends without error, and is removed
    otherwise: a failed or interrupted backup never leaves a truncated file under the backup's name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _backup_sqlite(source_file: Path, partial: Path) -> None:
    if not source_file.is_file():
        raise BackupError(f"no SQLite database at {source_file}")
    with closing(sqlite3.connect(source_file, timeout=30)) as source, closing(sqlite3.connect(partial)) as copy:
        # All pages in one step: one read transaction, so the copy is one instant of the database however much is
        # written meanwhile (stepping in parts would start over after each write by another process).
        source.backup(copy)
        # The copy inherits WAL mode; a backup is one file, with no -wal or -shm beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        _check_sqlite(copy, partial)


def _check_sqlite(connection: sqlite3.Connection, path: Path) -> None:
    problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise BackupError(f"{path} is damaged: {'; '.join(problems[:3])}")


def _sqlite_revision(source: Path) -> str | None:
    try:
        with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            _check_sqlite(connection, source)
            if not connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSION_TABLE,)
            ).fetchone():
                return None
            row = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{source} cannot be read as an SQLite database: {error}") from None
    return row[0] if row else None


def _restore_sqlite(source: Path, target_file: Path) -> None:
    target_file.parent.mkdir(parents=True, exist_ok=True)
    # The backup API again, rather than copying the file over the target: it writes through SQLite's own locking
    # and journal, in one transaction, so the target is either untouched or wholly the backup, and a -wal file of
    # the target cannot be replayed over the restored pages.
    with (
        closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as backup_copy,
        closing(sqlite3.connect(target_file, timeout=30)) as target,
    ):
        try:
            backup_copy.backup(target)
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source} could not be restored into {target_file}: {error}") from None


def postgres_program(name: str) -> str:
    """The path of a PostgreSQL client program: on PATH, or the newest installed in Debian's folders."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob(f"{POSTGRES_PROGRAM_DIRS}/{name}"), key=_version_key, reverse=True)
    if not candidates:
        raise BackupError(
            f"{name} is not installed (looked on PATH and in {POSTGRES_PROGRAM_DIRS}): install PostgreSQL's client "
            "programs (Debian: apt-get install postgresql-client), of the server's major version or newer"
        )
    return candidates[0]


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", Path(path).parent.parent.name))


def _connection_options(url: URL) -> tuple[list[str], dict[str, str]]:
    # The password goes in the environment, never in the arguments that any user of the machine can list.
    options = [f"--dbname={url.database}"]
    if url.host:
        options.append(f"--host={url.host}")
    if url.port:
        options.append(f"--port={url.port}")
    if url.username:
        options.append(f"--username={url.username}")
    environment = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    return options, environment


def _run_postgres_program(name: str, url: URL, *arguments: str) -> str:
    options, environment = _connection_options(url)
    command = [postgres_program(name), *options, *arguments]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise BackupError(f"{name} failed: {result.stderr.strip() or f'exit status {result.returncode}'}")
    return result.stdout


def _pg_dump_revision(source: Path) -> str | None:
    # pg_restore without a database writes the archive's contents as SQL: here only the version table's data, which
    # also shows that the archive can be read.
    result = subprocess.run(
        [postgres_program("pg_restore"), "--data-only", f"--table={VERSION_TABLE}", "--file=-", str(source)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise BackupError(f"{source} cannot be read as a pg_dump archive: {result.stderr.strip()}")
    match = re.search(rf"^COPY \S*{VERSION_TABLE} .*? FROM stdin;\n(.+?)\n\\\.$", result.stdout, re.MULTILINE)
    return match.group(1).strip() if match else None


def _drop_schema(database: Database) -> None:
    """Drop the (empty) tables `paperboard init` may have made, so that the backup's own schema can be loaded."""
    with database.engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
