"""Engines and sessions: the one place that knows how to connect to each backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from paperboard.db.changes import announce_changes


class UnsupportedDatabaseError(Exception):
    """The database URL names a backend Paperboard does not support."""


def normalise_url(url: str) -> URL:
    """Accept the URLs people write (`postgresql://`, `postgres://`) and pick the psycopg 3 driver for them."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise UnsupportedDatabaseError(f"unsupported database {parsed.drivername!r}: use sqlite:/// or postgresql://")


_READ_ONLY = "paperboard_read_only"
# The page cache of a bulk session on SQLite: at 1.1M papers, 256 MiB instead of 2 MiB made an import's writer spend
# 28 s of CPU on 200,000 papers instead of 32 s (`Database.bulk_session`); 768 MiB did no better at 2.8M. Freed when
# the transaction ends.
BULK_CACHE_KIB = 256 * 1024


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by `_begin_sqlite_transaction` instead of by the driver, which would begin them
    # late and always DEFERRED.
    dbapi_connection.isolation_level = None
    # WAL lets the web app read while an import or harvest writes; the busy timeout makes writers queue
    # instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    # A transaction that may write takes the write lock when it begins. Begun DEFERRED, it would take it at its
    # first write, and if another connection had committed since its first read, SQLite would refuse at once
    # (SQLITE_BUSY_SNAPSHOT) rather than wait: concurrent upvotes would fail instead of queueing.
    mode = "DEFERRED" if connection.get_execution_options().get(_READ_ONLY) else "IMMEDIATE"
    connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine and its session factories for one database URL: sessions that may write, and reading sessions."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = self._create_engine()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False)
        self._counting_engine: Engine | None = None

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    def _create_engine(self) -> Engine:
        if self.backend == "sqlite":
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(self.url)
            event.listen(engine, "connect", _configure_sqlite_connection)
            event.listen(engine, "begin", _begin_sqlite_transaction)
            return engine
        # A server that drops packets would otherwise hold a request (or /healthz) until the kernel gives up.
        engine = create_engine(self.url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        announce_changes(engine)
        return engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed when the block ends without error, rolled back otherwise.

        On SQLite it holds the write lock from its start, so writers queue one after the other."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def bulk_session(self) -> Iterator[Session]:
        """`session()` for a transaction that writes many rows (an import's): on SQLite its connection keeps up to
        `BULK_CACHE_KIB` of the database's pages meanwhile, rather than SQLite's default 2 MiB, so that rows bound for
        random places of large indexes find their pages in memory; the connection's own size comes back after."""
        with self.session() as session:
            if self.backend != "sqlite":
                yield session
                return
            connection = session.connection()
            own_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
            try:
                yield session
            finally:
                connection.exec_driver_sql(f"PRAGMA cache_size={int(own_size or 0)}")

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only: on SQLite it runs beside writers and other readers without waiting."""
        with self._read_sessions() as session, session.begin():
            yield session

    @contextmanager
    def counting_connection(self) -> Iterator[Connection]:
        """A connection for counters that every request may write (`db.rate_windows`), made of single statements
        that each keep the counts consistent on their own.

        On PostgreSQL each statement commits on its own (autocommit), on connections that are not pinged first and
        whose commits do not wait for the disk (`synchronous_commit` off: a crash may forget the last counts, which
        only lets a few more requests through): one round trip per statement. On SQLite it is a transaction that
        holds the write lock, as `session()`."""
        if self.backend == "sqlite":
            with self.engine.begin() as connection:
                yield connection
            return
        if self._counting_engine is None:
            self._counting_engine = create_engine(
                self.url,
                isolation_level="AUTOCOMMIT",
                # A count takes well under a millisecond: a few connections serve every thread of the process, and
                # each host's processes leave PostgreSQL's connections to the sessions that do the work.
                pool_size=4,
                max_overflow=4,
                connect_args={"connect_timeout": 10, "options": "-c synchronous_commit=off"},
            )
        with self._counting_engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()
        if self._counting_engine is not None:
            self._counting_engine.dispose()
