"""Fixed-window counts in the database: at most so many events per key per window, across worker processes.

One row per key holds the start of its current window and how many events it counted. `take` counts an event with
a single INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING, so two transactions cannot both take the last place on
either backend (PostgreSQL re-checks the condition on the row it waited for; SQLite has one writer at a time), and an
event that is let through costs one statement. The request rate limits (`web.rate_limits`) count a share of a limit
at once with `take_up_to`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Connection, Insert, Integer, bindparam, case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paperboard.db.models import RateWindow

# The housekeeping deletes windows older than this, so no limit may count over a longer one.
LONGEST_WINDOW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Taken:
    """What `take_up_to` counted: `events` (0 when refused) and the seconds until the key's window ends."""

    events: int
    seconds_left: float


def take(executor: Session | Connection, key: str, *, limit: int, window: timedelta, now: datetime) -> float:
    """Count one event for `key` and return 0 when fewer than `limit` were counted in its window; otherwise count
    nothing and return the seconds until the window ends. A window starts with the first event after the last one
    ended."""
    taken = take_up_to(executor, key, limit=limit, window=window, now=now, events=1)
    return 0.0 if taken.events else taken.seconds_left


def take_up_to(
    executor: Session | Connection, key: str, *, limit: int, window: timedelta, now: datetime, events: int
) -> Taken:
    """Count `events` events for `key` at once when that many places are left in its window, or else one when one
    is; never more than `limit` in a window. The request rate limits take a share of a limit at a time this way, so
    that a process answers that many requests before it asks again."""
    if window > LONGEST_WINDOW:
        raise ValueError(f"a window of at most {LONGEST_WINDOW} is kept")
    if not 1 <= events <= limit:
        raise ValueError("a limit lets at least one event through, and a take counts between 1 and the limit")
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    statement = _take_statement(bind.dialect.name)
    parameters = {"key": key, "now": now, "cutoff": now - window, "limit": limit}
    for wanted in (events, 1) if events > 1 else (1,):
        counted = executor.execute(statement, {**parameters, "events": wanted}).first()
        if counted is not None:
            return Taken(wanted, _seconds_left(counted.window_start, window, now))
    started = executor.execute(select(_WINDOWS.c.window_start).where(_WINDOWS.c.key == key)).scalar_one()
    return Taken(0, _seconds_left(started, window, now))


def _seconds_left(started: datetime, window: timedelta, now: datetime) -> float:
    return max((started + window - now).total_seconds(), 0.001)


_WINDOWS = RateWindow.__table__


@cache
def _take_statement(dialect_name: str) -> Insert:
    """The statement that counts `events` events, built once per backend: the request rate limits run it often,
    where building it (and going through the ORM) cost more than the round trip."""
    events = bindparam("events", type_=Integer)
    dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    # In ON CONFLICT DO UPDATE, the table's columns are the row already there.
    expired = _WINDOWS.c.window_start <= bindparam("cutoff")
    return (
        dialect_insert(_WINDOWS)
        .values(key=bindparam("key"), window_start=bindparam("now"), count=events)
        .on_conflict_do_update(
            index_elements=[_WINDOWS.c.key],
            set_={
                "window_start": case((expired, bindparam("now")), else_=_WINDOWS.c.window_start),
                "count": case((expired, events), else_=_WINDOWS.c.count + events),
            },
            where=or_(expired, _WINDOWS.c.count + events <= bindparam("limit")),
        )
        .returning(_WINDOWS.c.count, _WINDOWS.c.window_start)
    )


def forget_expired(session: Session, now: datetime) -> int:
    """Delete the windows that started longer ago than `LONGEST_WINDOW`: they limit nothing any more."""
    deleted = session.execute(delete(RateWindow).where(RateWindow.window_start <= now - LONGEST_WINDOW))
    return deleted.rowcount  # type: ignore[attr-defined]
