"""Forgetting what the site's security no longer needs: expired sign-in sessions, sign-in attempts older than the
window the rate limits count over, and the other limits' windows that are over. The worker runs it once a day;
until then the rows are merely unused (`user_for_token` ignores an expired session, `login_limits` an attempt
outside the window, `rate_windows.take` a window that is over)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from paperboard.db.models import LoginAttempt, UserSession
from paperboard.db.rate_windows import forget_expired


@dataclass(frozen=True, slots=True)
class Purged:
    sessions: int
    login_attempts: int
    rate_windows: int


def purge_expired(session: Session, now: datetime, login_window: timedelta) -> Purged:
    sessions = session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    attempts = session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at <= now - login_window))
    return Purged(sessions.rowcount, attempts.rowcount, forget_expired(session, now))
