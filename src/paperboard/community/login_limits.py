"""Rate limits on signing in: so many failures per account and per client address within a window.

Failures are counted in the database rather than in memory, so the limit holds across worker processes and
restarts. A success does not erase earlier failures: guessing stays slow even for someone who also owns an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.community.accounts import username_key
from paperboard.db.models import LoginAttempt

MAX_ADDRESS_LENGTH = 64


@dataclass(frozen=True)
class LoginLimits:
    failures_per_account: int
    failures_per_address: int
    window: timedelta


def _failures_since(session: Session, since: datetime, **match: str) -> tuple[int, datetime | None]:
    """How many failures match since `since`, and when the oldest of them happened."""
    query = select(func.count(), func.min(LoginAttempt.attempted_at)).where(
        LoginAttempt.attempted_at > since, LoginAttempt.succeeded.is_(False)
    )
    for column, value in match.items():
        query = query.where(getattr(LoginAttempt, column) == value)
    count, oldest = session.execute(query).one()
    return count, oldest


def seconds_until_allowed(session: Session, limits: LoginLimits, username: str, address: str) -> float:
    """0 when a sign-in may be tried now; otherwise how long until the oldest counted failure leaves the window."""
    now = utcnow()
    since = now - limits.window
    waits = [0.0]
    for match, allowed in (
        ({"username_key": username_key(username)[:40]}, limits.failures_per_account),
        ({"address": address[:MAX_ADDRESS_LENGTH]}, limits.failures_per_address),
    ):
        count, oldest = _failures_since(session, since, **match)
        if count >= allowed and oldest is not None:
            waits.append((oldest + limits.window - now).total_seconds())
    return max(waits)


def record_attempt(session: Session, username: str, address: str, *, succeeded: bool) -> None:
    session.add(
        LoginAttempt(
            username_key=username_key(username)[:40],
            address=address[:MAX_ADDRESS_LENGTH],
            attempted_at=utcnow(),
            succeeded=succeeded,
        )
    )
