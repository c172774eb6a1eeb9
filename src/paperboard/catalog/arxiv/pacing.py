"""arXiv's "no more than one request every three seconds", kept by every process of a site together.

A client's own spacing (`RetryPolicy.min_interval`) holds within one process only; two workers, or a worker and
`paperboard fetch`, would each keep it and together break it. So each request first reserves its start in the
database: a row per service holds the start given to the latest request, and the next one gets that time plus the
interval, or now if that is later. The row is locked while a start is reserved (SQLite's write lock, or a row lock
on PostgreSQL), so processes on several hosts sharing one database queue behind each other; the wait itself happens
outside any transaction. Hosts sharing a database are assumed to keep their clocks in step (NTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.inserts import insert_missing
from paperboard.db.models import ArxivRequestSlot

# The service name of arXiv's Atom API in `arxiv_request_slots`.
ARXIV_API = "api"


class SiteWidePacer:
    """A `Pacer`: returns once this process may send the next request to `service`, `interval` seconds after the
    start of the latest one any process of the site was given."""

    def __init__(
        self, database: Database, service: str, interval: float, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._database = database
        self._service = service
        self._interval = timedelta(seconds=interval)
        self._sleep = sleep

    def reserve(self) -> datetime:
        """The start of this process's next request, reserved so that no other process's starts within the interval."""
        with self._database.session() as session:
            insert_missing(
                session,
                ArxivRequestSlot.__table__,
                [{"service": self._service, "starts_at": datetime.min}],
                key=("service",),
            )
            slot = session.scalars(
                select(ArxivRequestSlot).where(ArxivRequestSlot.service == self._service).with_for_update()
            ).one()
            # Read once the row is locked: a time read before waiting for the lock would hand out a start already
            # past, and the next process's start, counted from it, would come too soon after this one's.
            slot.starts_at = max(utcnow(), slot.starts_at + self._interval)
            return slot.starts_at

    def __call__(self) -> None:
        if not self._interval:
            return
        wait = (self.reserve() - utcnow()).total_seconds()
        if wait > 0:
            self._sleep(wait)


def arxiv_api_pacer(database: Database, settings: Settings) -> SiteWidePacer:
    """The pacer of every client of arXiv's API: `arxiv_api_delay` between the starts of the site's requests."""
    return SiteWidePacer(database, ARXIV_API, settings.arxiv_api_delay)
