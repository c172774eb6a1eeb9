"""Signed-in sessions: a random token in the browser's cookie, its SHA-256 in the database.

A stolen database therefore holds no usable cookie; signing out, changing the password or being suspended
ends sessions at once, which a self-contained signed cookie could not do.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db.models import User, UserSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, lifetime: timedelta) -> str:
    """A new session for `user`; the returned token goes into the cookie and nowhere else."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(UserSession(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + lifetime))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The signed-in user a cookie token belongs to, unless the session expired or the user is suspended."""
    if not token or len(token) > 100:
        return None
    user = session.scalars(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _digest(token), UserSession.expires_at > utcnow())
    ).one_or_none()
    if user is None or user.suspended_at is not None:
        return None
    return user


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == _digest(token)))


def end_other_sessions(session: Session, user: User, keep_token: str | None = None) -> None:
    """Sign the user out everywhere else, as after a password change or a suspension."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_token:
        query = query.where(UserSession.token_hash != _digest(keep_token))
    session.execute(query)
