"""Fixed-window counts in the database: at most so many events per key per window, across worker processes.

One row per key holds the start of its current window and how many events it counted. `take` counts an event with
a single INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING, so two transactions cannot both take the last place on
either backend (PostgreSQL re-checks the condition on the row it waited for; SQLite has one writer at a time), and an
event that is let through costs one statement: the request rate limits run it at every request (`web.rate_limits`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paperboard.db.models import RateWindow

# The housekeeping deletes windows older than this, so no limit may count over a longer one.
LONGEST_WINDOW = timedelta(days=1)


def take(session: Session, key: str, *, limit: int, window: timedelta, now: datetime) -> float:
    """Count one event for `key` and return 0 when fewer than `limit` were counted in its window; otherwise count
    nothing and return the seconds until the window ends. A window starts with the first event after the last one
    ended."""
    if window > LONGEST_WINDOW:
        raise ValueError(f"a window of at most {LONGEST_WINDOW} is kept")
    if limit < 1:
        raise ValueError("a limit lets at least one event through")
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # In ON CONFLICT DO UPDATE, the table's columns are the row already there.
    expired = RateWindow.window_start <= now - window
    taken = session.execute(
        dialect_insert(RateWindow)
        .values(key=key, window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[RateWindow.key],
            set_={
                "window_start": case((expired, now), else_=RateWindow.window_start),
                "count": case((expired, 1), else_=RateWindow.count + 1),
            },
            where=or_(expired, RateWindow.count < limit),
        )
        .returning(RateWindow.count)
    ).first()
    if taken is not None:
        return 0.0
    started = session.scalars(select(RateWindow.window_start).where(RateWindow.key == key)).one()
    return max((started + window - now).total_seconds(), 0.001)


def forget_expired(session: Session, now: datetime) -> int:
    """Delete the windows that started longer ago than `LONGEST_WINDOW`: they limit nothing any more."""
    deleted = session.execute(delete(RateWindow).where(RateWindow.window_start <= now - LONGEST_WINDOW))
    return deleted.rowcount  # type: ignore[attr-defined]
