"""Fixed-window counts in the database: at most so many events per key per window, across worker processes.

One row per key holds the start of its current window and how many events it counted. `take` counts an event with
a single INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING, so two transactions cannot both take the last place on
either backend (PostgreSQL re-checks the condition on the row it waited for; SQLite has one writer at a time), and an
event that is let through costs one statement: the request rate limits run it at every request (`web.rate_limits`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Connection, Insert, bindparam, case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paperboard.db.models import RateWindow

# The housekeeping deletes windows older than this, so no limit may count over a longer one.
LONGEST_WINDOW = timedelta(days=1)


def take(executor: Session | Connection, key: str, *, limit: int, window: timedelta, now: datetime) -> float:
    """Count one event for `key` and return 0 when fewer than `limit` were counted in its window; otherwise count
    nothing and return the seconds until the window ends. A window starts with the first event after the last one
    ended."""
    if window > LONGEST_WINDOW:
        raise ValueError(f"a window of at most {LONGEST_WINDOW} is kept")
    if limit < 1:
        raise ValueError("a limit lets at least one event through")
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    parameters = {"key": key, "now": now, "cutoff": now - window, "limit": limit}
    if executor.execute(_take_statement(bind.dialect.name), parameters).first() is not None:
        return 0.0
    started = executor.execute(select(_WINDOWS.c.window_start).where(_WINDOWS.c.key == key)).scalar_one()
    return max((started + window - now).total_seconds(), 0.001)


_WINDOWS = RateWindow.__table__


@cache
def _take_statement(dialect_name: str) -> Insert:
    """The statement that counts an event, built once per backend: the request rate limits run it at every request,
    where building it (and going through the ORM) cost more than the round trip."""
    dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    # In ON CONFLICT DO UPDATE, the table's columns are the row already there.
    expired = _WINDOWS.c.window_start <= bindparam("cutoff")
    return (
        dialect_insert(_WINDOWS)
        .values(key=bindparam("key"), window_start=bindparam("now"), count=1)
        .on_conflict_do_update(
            index_elements=[_WINDOWS.c.key],
            set_={
                "window_start": case((expired, bindparam("now")), else_=_WINDOWS.c.window_start),
                "count": case((expired, 1), else_=_WINDOWS.c.count + 1),
            },
            where=or_(expired, _WINDOWS.c.count < bindparam("limit")),
        )
        .returning(_WINDOWS.c.count)
    )


def forget_expired(session: Session, now: datetime) -> int:
    """Delete the windows that started longer ago than `LONGEST_WINDOW`: they limit nothing any more."""
    deleted = session.execute(delete(RateWindow).where(RateWindow.window_start <= now - LONGEST_WINDOW))
    return deleted.rowcount  # type: ignore[attr-defined]
