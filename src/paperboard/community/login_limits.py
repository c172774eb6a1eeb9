"""Rate limits on signing in, counted in the database so that they hold across worker processes and restarts.

Every attempt is recorded before its password is checked, as a failure until `record_success` says otherwise, in
a transaction serialised per account and per client address (`db.locks.lock_for_transaction`): however many
attempts arrive at once, at most the limit are checked. Limits, within the login window unless said otherwise:

- failures per (account, address): a guesser is stopped on that account, while its owner, from anywhere else,
  still signs in;
- failures per address, whatever the accounts tried;
- attempts per address per minute, successes included: each one costs the server an Argon2 check;
- failures per account, from browsers that never signed in to it (`known_device`): an attacker who rotates
  addresses gets that many guesses per window, and then only browsers where the owner signed in before may try.

A success does not erase earlier failures: guessing stays slow even for someone who also owns an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paperboard.community.accounts import username_key
from paperboard.db.locks import lock_for_transaction
from paperboard.db.models import LoginAttempt

MAX_ADDRESS_LENGTH = 64
_MAX_KEY_LENGTH = 40
_RATE_WINDOW = timedelta(minutes=1)

# What a refusal is about: this client (its address, or its address on this account), or the account as a whole.
LimitedBy = Literal["address", "account"]


@dataclass(frozen=True)
class LoginLimits:
    failures_per_account_and_address: int
    failures_per_account: int
    failures_per_address: int
    attempts_per_address_per_minute: int
    window: timedelta


class TooManyAttempts(Exception):
    """A limit forbids trying now; `wait_seconds` until it allows one again."""

    def __init__(self, wait_seconds: float, limited_by: LimitedBy) -> None:
        super().__init__(wait_seconds, limited_by)
        self.wait_seconds = wait_seconds
        self.limited_by = limited_by


def claim_attempt(
    session: Session, limits: LoginLimits, username: str, address: str, *, known_device: bool, now: datetime
) -> int:
    """Record an attempt to sign in (as a failure until `record_success`) and return its id, or raise
    `TooManyAttempts` without recording anything. The caller commits at once and checks the password after."""
    account = username_key(username)[:_MAX_KEY_LENGTH]
    address = address[:MAX_ADDRESS_LENGTH]
    lock_for_transaction(session, f"sign-in-account:{account}", f"sign-in-address:{address}")
    failed = LoginAttempt.succeeded.is_(False)
    checks: list[tuple[LimitedBy, int, timedelta, tuple[Any, ...]]] = [
        ("address", limits.failures_per_account_and_address, limits.window, (failed, _of(account), _from(address))),
        ("address", limits.failures_per_address, limits.window, (failed, _from(address))),
        ("address", limits.attempts_per_address_per_minute, _RATE_WINDOW, (_from(address),)),
    ]
    if not known_device:
        checks.append(("account", limits.failures_per_account, limits.window, (failed, _of(account))))
    refusals = [
        TooManyAttempts(wait, limited_by)
        for limited_by, allowed, window, conditions in checks
        if (wait := _wait(session, allowed, window, now, conditions)) > 0
    ]
    if refusals:
        raise max(refusals, key=lambda refusal: refusal.wait_seconds)
    attempt = LoginAttempt(username_key=account, address=address, attempted_at=now, succeeded=False)
    session.add(attempt)
    session.flush()
    return attempt.id


def record_success(session: Session, attempt_id: int) -> None:
    session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True))


def _of(account: str) -> Any:
    return LoginAttempt.username_key == account


def _from(address: str) -> Any:
    return LoginAttempt.address == address


def _wait(session: Session, allowed: int, window: timedelta, now: datetime, conditions: tuple[Any, ...]) -> float:
    """0 when fewer than `allowed` attempts match within the window; otherwise the seconds until enough of them
    have left it for one more (the `allowed`-th newest leaves)."""
    freeing = session.scalars(
        select(LoginAttempt.attempted_at)
        .where(LoginAttempt.attempted_at > now - window, *conditions)
        .order_by(LoginAttempt.attempted_at.desc())
        .offset(allowed - 1)
        .limit(1)
    ).first()
    if freeing is None:
        return 0.0
    return max((freeing + window - now).total_seconds(), 0.001)
