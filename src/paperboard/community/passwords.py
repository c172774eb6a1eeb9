"""Signing in, signing up and changing a password: the account actions that run Argon2.

Argon2 costs a good fraction of a second of CPU per check or hash. On SQLite a writing transaction holds the whole
database's write lock, so none of these holds a transaction while Argon2 runs: each one writes what it must first
(the attempt that the rate limits count), commits, checks or hashes, then writes the outcome in a short second
transaction. Every other request meanwhile reads and writes as usual.
"""

from __future__ import annotations

from datetime import timedelta

from paperboard.clock import utcnow
from paperboard.community.accounts import (
    AccountError,
    PasswordHash,
    check_name_free,
    check_password,
    create_user,
    hash_password,
    needs_rehash,
    password_matches,
    set_password_hash,
    user_by_name,
)
from paperboard.community.login_limits import LoginLimits, TooManyAttempts, claim_attempt, record_success
from paperboard.community.sessions import end_other_sessions, start_session
from paperboard.db import Database
from paperboard.db.models import User
from paperboard.db.rate_windows import take

SIGN_UP_WINDOW = timedelta(hours=1)


def sign_in(
    database: Database,
    limits: LoginLimits,
    username: str,
    password: str,
    *,
    address: str,
    known_device: bool,
    lifetime: timedelta,
) -> str | None:
    """A new session's token when the name and password match an account that is not suspended, else None.
    Raises `TooManyAttempts` before checking anything when a limit forbids trying now."""
    with database.session() as session:
        attempt_id = claim_attempt(session, limits, username, address, known_device=known_device, now=utcnow())
        user = user_by_name(session, username)
    matched = password_matches(user.password_hash if user else None, password)
    if user is None or not matched or user.suspended_at is not None:
        return None
    # Hashed again with today's parameters when the stored hash is weaker; made here, outside the transaction.
    rehashed = hash_password(password) if needs_rehash(user.password_hash) else None
    with database.session() as session:
        record_success(session, attempt_id)
        if rehashed:
            set_password_hash(session, user.id, rehashed, replacing=user.password_hash, new_password=False)
        return start_session(session, user, lifetime)


def sign_up(
    database: Database,
    username: str,
    password: str,
    *,
    display_name: str | None,
    address: str,
    sign_ups_per_hour: int,
    lifetime: timedelta,
) -> str:
    """Create an account and return a session's token for it. Raises `AccountError` when the name or the password
    is unacceptable or the name taken, and `TooManyAttempts` when this address made `sign_ups_per_hour` accounts
    within the hour."""
    check_password(password)
    with database.session() as session:
        # The name is checked before the address's count is taken, so that a refusal costs no sign-up.
        check_name_free(session, username)
        wait = take(session, f"sign-up:{address}", limit=sign_ups_per_hour, window=SIGN_UP_WINDOW, now=utcnow())
        if wait > 0:
            raise TooManyAttempts(wait, "address")
    password_hash = hash_password(password)
    with database.session() as session:
        # Checks the name again: another request may have taken it while the password was hashed.
        user = create_user(session, username, password_hash, display_name=display_name)
        return start_session(session, user, lifetime)


def change_password(
    database: Database,
    limits: LoginLimits,
    user: User,
    current_password: str,
    new_password: str,
    *,
    address: str,
    keep_session: str | None,
) -> None:
    """Replace the user's password and end their other sessions. The current password is checked as a sign-in
    checks it, under the same limits (a stolen session must not become a way to guess it): `TooManyAttempts`.
    Raises `AccountError` when the current password is wrong or the new one unacceptable."""
    check_password(new_password)
    with database.session() as session:
        attempt_id = claim_attempt(session, limits, user.username, address, known_device=True, now=utcnow())
    if not password_matches(user.password_hash, current_password):
        raise AccountError("The current password is not right.")
    new_hash: PasswordHash = hash_password(new_password)
    with database.session() as session:
        record_success(session, attempt_id)
        if not set_password_hash(session, user.id, new_hash, replacing=user.password_hash, new_password=True):
            raise AccountError("The password was changed meanwhile, from another page. Sign in again to change it.")
        # Whoever else holds a session, perhaps the reason for the change, is signed out.
        end_other_sessions(session, user, keep_token=keep_session)
