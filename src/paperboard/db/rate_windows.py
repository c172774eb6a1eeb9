"""Fixed-window counts in the database: at most so many events per key per window, across worker processes.

One row per key holds the start of its current window and how many events it counted. `take` counts an event with
a single conditional UPDATE … RETURNING, so two transactions cannot both take the last place on either backend
(PostgreSQL re-checks the condition on the row it waited for; SQLite has one writer at a time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from paperboard.db.inserts import insert_missing
from paperboard.db.models import RateWindow

# The housekeeping deletes windows older than this, so no limit may count over a longer one.
LONGEST_WINDOW = timedelta(days=1)


def take(session: Session, key: str, *, limit: int, window: timedelta, now: datetime) -> float:
    """Count one event for `key` and return 0 when fewer than `limit` were counted in its window; otherwise count
    nothing and return the seconds until the window ends. A window starts with the first event after the last one
    ended."""
    if window > LONGEST_WINDOW:
        raise ValueError(f"a window of at most {LONGEST_WINDOW} is kept")
    insert_missing(session, RateWindow.__table__, [{"key": key, "window_start": now, "count": 0}], key=["key"])
    expired = RateWindow.window_start <= now - window
    taken = session.execute(
        update(RateWindow)
        .where(RateWindow.key == key, or_(expired, RateWindow.count < limit))
        .values(
            window_start=case((expired, now), else_=RateWindow.window_start),
            count=case((expired, 1), else_=RateWindow.count + 1),
        )
        .returning(RateWindow.count)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is not None:
        return 0.0
    started = session.scalars(select(RateWindow.window_start).where(RateWindow.key == key)).one()
    return max((started + window - now).total_seconds(), 0.001)


def forget_expired(session: Session, now: datetime) -> int:
    """Delete the windows that started longer ago than `LONGEST_WINDOW`: they limit nothing any more."""
    deleted = session.execute(delete(RateWindow).where(RateWindow.window_start <= now - LONGEST_WINDOW))
    return deleted.rowcount  # type: ignore[attr-defined]
