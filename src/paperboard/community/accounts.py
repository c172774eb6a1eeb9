"""Accounts: creating users, checking passwords (Argon2id), roles and suspension."""

from __future__ import annotations

import functools
import re
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db.models import User

Role = Literal["user", "moderator", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
USERNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{1,38}[A-Za-z0-9]"
_USERNAME = re.compile(USERNAME_PATTERN)
MIN_PASSWORD_LENGTH = 10
# Argon2 hashes whatever it is given; a cap keeps a megabyte "password" from costing the server.
MAX_PASSWORD_LENGTH = 1024
MAX_DISPLAY_NAME_LENGTH = 100

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so that a wrong name takes as long as a wrong password.
    Made at first use rather than at import, which every command and web worker pays: a hash costs a sign-in's
    time."""
    return _hasher.hash("an account that does not exist")


class AccountError(ValueError):
    """The request cannot be carried out; the message says why, in words fit for the person who asked."""


def username_key(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    name = username.strip()
    if not _USERNAME.fullmatch(name):
        raise AccountError(
            "A user name has 3 to 40 letters, digits, hyphens or underscores, "
            "and starts and ends with a letter or digit."
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"A password may have at most {MAX_PASSWORD_LENGTH} characters.")
    return password


def _display_name(display_name: str | None, username: str) -> str:
    name = " ".join((display_name or "").split()) or username
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise AccountError(f"A display name may have at most {MAX_DISPLAY_NAME_LENGTH} characters.")
    return name


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username_key == username_key(username))).one_or_none()


def create_user(
    session: Session, username: str, password: str, *, display_name: str | None = None, role: Role = "user"
) -> User:
    """A new account; AccountError when the name is taken or the name or password is unacceptable."""
    name = check_username(username)
    check_password(password)
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    if user_by_name(session, name) is not None:
        raise AccountError(f"The name {name} is taken.")
    now = utcnow()
    user = User(
        username=name,
        username_key=username_key(name),
        display_name=_display_name(display_name, name),
        password_hash=_hasher.hash(password),
        role=role,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user whose name and password these are, or None; a suspended user cannot sign in."""
    user = user_by_name(session, username) if len(password) <= MAX_PASSWORD_LENGTH else None
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.suspended_at is not None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def change_password(session: Session, user: User, current_password: str, new_password: str) -> None:
    try:
        _hasher.verify(user.password_hash, current_password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        raise AccountError("The current password is not right.") from None
    check_password(new_password)
    user.password_hash = _hasher.hash(new_password)
    user.password_changed_at = utcnow()
    session.add(user)


def set_role(user: User, role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    user.role = role


def suspend(user: User) -> None:
    user.suspended_at = user.suspended_at or utcnow()


def reinstate(user: User) -> None:
    user.suspended_at = None
