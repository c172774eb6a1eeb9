"""Changes announced to every process of every host: a transaction that wrote something pages show sends a
PostgreSQL `NOTIFY` on `CHANNEL`, and each server process listens (`ChangeListener`) to empty its caches.

The NOTIFY is sent inside the writing transaction, just before its COMMIT (`announce_changes`). PostgreSQL delivers
it only if, and once, that transaction commits, so a listener never hears of a change it cannot read yet, never of
one rolled back, and cannot miss one because the writer died between its commit and a separate announcement. The
writers are whatever writes through `Database`: the web hosts, the workers, the CLI.

Writes that no page shows (counters, queues, mail, embeddings: `UNSEEN_TABLES`) announce nothing, so that
bookkeeping, a rate limit's count at every request above all, does not empty the caches. A table missing from that
list is announced: a new table errs on the side of fresh pages. Sessions are announced: each process remembers for a
few seconds whose session a cookie is (`web.reader_pages`), and a sign-out on one host must end it on all at once.

SQLite has no NOTIFY: there each process empties its own caches after its own writes (`web.middleware`) and the
others catch up within the cache's time to live, as one machine's few workers did before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL

logger = logging.getLogger(__name__)

CHANNEL = "paperboard_changes"
UNSEEN_TABLES = frozenset(
    {
        "alembic_version",
        "api_tokens",
        "arxiv_request_slots",
        "harvest_checkpoints",
        "login_attempts",
        "mail_outbox",
        "paper_embeddings",
        "private_feeds",
        "rate_windows",
        "reader_models",
        "scheduled_runs",
        "submission_fetches",
        "subscribers",
        "thumbnail_jobs",
    }
)
# The table an INSERT, UPDATE or DELETE writes to, as SQLAlchemy and hand-written statements name it.
_WRITTEN_TABLE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_CHANGED = "paperboard_changed"
# Seconds between attempts to listen again after the connection was lost, doubling up to the longest.
_FIRST_RETRY_SECONDS = 0.2
_LONGEST_RETRY_SECONDS = 5.0
# A listening connection only reads: without keepalives, one cut off by the network would wait for ever.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


def announce_changes(engine: Engine) -> None:
    """Make every transaction on `engine` that writes to a table pages show send a NOTIFY on `CHANNEL` as it
    commits."""
    event.listen(engine, "before_cursor_execute", _note_write)
    event.listen(engine, "commit", _notify_before_commit)
    event.listen(engine, "rollback", _forget_writes)


def _note_write(
    connection: Connection, _cursor: Any, statement: str, _parameters: Any, _context: Any, _executemany: bool
) -> None:
    written = _WRITTEN_TABLE.match(statement)
    if written and written.group(1).lower() not in UNSEEN_TABLES:
        connection.info[_CHANGED] = True


def _notify_before_commit(connection: Connection) -> None:
    if connection.info.pop(_CHANGED, False):
        # Through the driver's cursor: the transaction is being committed, and this must be its last statement.
        with connection.connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {CHANNEL}")


def _forget_writes(connection: Connection) -> None:
    connection.info.pop(_CHANGED, None)


class ChangeListener:
    """Listens on `CHANNEL` from the event loop of a server process, on a connection of its own, and calls
    `on_change` for every announcement, and each time it starts listening again after the connection was lost
    (changes made meanwhile were not heard). Runs until `stop`."""

    def __init__(self, url: URL, on_change: Callable[[], None]) -> None:
        # psycopg takes the URL without SQLAlchemy's driver name.
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.on_change = on_change
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="paperboard change listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        retry = _FIRST_RETRY_SECONDS
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=10, **_KEEPALIVES
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.on_change()
                    retry = _FIRST_RETRY_SECONDS
                    async for _notification in connection.notifies():
                        self.on_change()
            except psycopg.Error as error:
                logger.warning("not listening for changes (%s); trying again in %.1f s", error, retry)
            await asyncio.sleep(retry)
            retry = min(retry * 2, _LONGEST_RETRY_SECONDS)
