"""Queues of work for the worker kept in a table: rows with `id`, `status`, `attempts` and `next_attempt_at`.

A worker claims due rows by moving their `next_attempt_at` past a lease and counting the attempt, in a transaction
it commits before doing the work (`SKIP LOCKED` on PostgreSQL, so that two workers never take the same rows; SQLite
has one writer at a time anyway). A worker killed midway leaves its rows to be claimed again when the lease runs out;
one that finishes checks first that the row is still its claim (`still_claimed`): the attempt count tells a row
claimed again by another worker after this one's lease ran out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Mapped, Session


class QueuedJob(Protocol):
    id: Mapped[int]
    status: Mapped[str]
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]


Job = TypeVar("Job", bound=QueuedJob)

# How long a claim keeps other workers off its rows: far longer than the work of a claim can take (the queues'
# clients are impatient, `catalog.arxiv.http.queue_settings`), so that only a worker killed midway ever lets its rows
# be claimed again.
CLAIM_LEASE = timedelta(minutes=10)


def claim_due(
    session: Session, model: type[Job], pending: str, now: datetime, limit: int, lease: timedelta = CLAIM_LEASE
) -> Sequence[Job]:
    """Up to `limit` rows of `model` in the state `pending` that are due, oldest due first, each with one more
    attempt counted and kept from other workers for `lease`."""
    table: Any = model
    rows = session.scalars(
        select(model)
        .where(table.status == pending, table.next_attempt_at <= now)
        .order_by(table.next_attempt_at, table.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + lease
    return rows


def still_claimed(session: Session, model: type[Job], pending: str, job_id: int, attempts: int) -> Job | None:
    """The row claimed as attempt `attempts`, unless it is no longer that claim's: deleted, finished, or claimed
    again by another worker after the lease ran out."""
    row = session.get(model, job_id)
    if row is None or row.status != pending or row.attempts != attempts:
        return None
    return row


def retry_pause(first_pause: float, attempts: int) -> timedelta:
    """The pause before the next attempt after `attempts` failed ones: `first_pause`, doubled after each."""
    return timedelta(seconds=first_pause * 2 ** (attempts - 1))
