"""Locks held by one process of a database at a time, whatever machine or data folder it runs from, and released by
the system when the process dies: a file lock beside a SQLite database, an advisory lock on PostgreSQL; and locks
held by one transaction at a time (`lock_for_transaction`), released when it ends."""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.orm import Session

from paperboard.db.engine import Database

_POLL_SECONDS = 0.2


class LockBusy(Exception):
    """Another process holds the lock."""


@contextmanager
def exclusive_lock(database: Database, name: str, *, fallback_dir: Path, wait: float | None = 0.0) -> Iterator[None]:
    """Hold the lock `name` of this database; `LockBusy` when another process still holds it after `wait` seconds
    (None: wait as long as it takes). `fallback_dir` keeps the lock file of an in-memory SQLite database."""
    deadline = None if wait is None else time.monotonic() + wait
    if database.backend == "postgresql":
        with database.engine.connect() as connection:
            # Autocommit: the lock belongs to the connection, and a transaction left open for the whole run would
            # hold back the server's vacuum.
            connection.execution_options(isolation_level="AUTOCOMMIT")
            key = {"key": _advisory_key(name)}
            _wait_for(lambda: bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), key)), deadline)
            try:
                yield
            finally:
                connection.scalar(text("SELECT pg_advisory_unlock(:key)"), key)
        return
    path = _lock_path(database, name, fallback_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        _wait_for(lambda: _try_flock(handle), deadline)
        # Closing the file releases the lock.
        yield


def lock_for_transaction(session: Session, *names: str) -> None:
    """Hold the locks `names` until the session's transaction ends, so that a read-then-write on what they name
    (count the recent attempts, then add one) cannot interleave with another transaction's.

    PostgreSQL's READ COMMITTED lets two transactions count the same rows and both add theirs, so each name takes a
    transaction-scoped advisory lock, in sorted order so that two transactions never wait for each other. On
    SQLite a writing session holds the database's write lock from its start (`Database.session`): it is
    serialised already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({_advisory_key(name) for name in names}):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _advisory_key(name: str) -> int:
    # A signed 64-bit key derived from the name, as pg_advisory_lock takes.
    return int.from_bytes(hashlib.sha256(f"paperboard:{name}".encode()).digest()[:8], "big", signed=True)


def _lock_path(database: Database, name: str, fallback_dir: Path) -> Path:
    # Beside the database file rather than in the data folder: the file is what every process shares, even one
    # started with another data folder and the same PAPERBOARD_DATABASE_URL.
    file = database.url.database
    if not file or file == ":memory:":
        return fallback_dir / f"{name}.lock"
    return Path(file).with_name(f"{Path(file).name}.{name}.lock")


def _try_flock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait_for(acquire: Callable[[], bool], deadline: float | None) -> None:
    while not acquire():
        if deadline is not None and time.monotonic() >= deadline:
            raise LockBusy
        time.sleep(_POLL_SECONDS)
