"""Accounts: creating users, checking passwords (Argon2id), roles and suspension.

Hashing or checking a password costs Argon2 a good fraction of a second of CPU, so the functions that do it take no
session: callers run them outside any transaction (`community.passwords`), never while holding the write lock.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Literal, NewType, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
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
# One Argon2 computation at a time per process: each already runs on several threads (parallelism 4), and a web
# worker process stands for one core; more at once would only share the CPU and slow every page the process serves.
_argon2_turn = threading.Lock()

PasswordHash = NewType("PasswordHash", str)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so that a wrong name takes as long as a wrong password.
    Made at first use rather than at import, which every command and web worker pays: a hash costs a sign-in's
    time."""
    with _argon2_turn:
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


def hash_password(password: str) -> PasswordHash:
    """The hash to store for a new password; AccountError when the password is unacceptable. Slow: outside any
    transaction."""
    check_password(password)
    with _argon2_turn:
        return PasswordHash(_hasher.hash(password))


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from. Without a hash (no such account) a dummy one is
    checked all the same, so that a wrong name takes as long as a wrong password. Slow: outside any transaction."""
    acceptable = password_hash is not None and len(password) <= MAX_PASSWORD_LENGTH
    stored = password_hash if password_hash is not None and acceptable else _dummy_hash()
    try:
        with _argon2_turn:
            _hasher.verify(stored, password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        return False
    return acceptable


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's, and should be made again at the next sign-in."""
    return _hasher.check_needs_rehash(password_hash)


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username_key == username_key(username))).one_or_none()


def check_name_free(session: Session, username: str) -> str:
    """The name as it will be kept; AccountError when it is unacceptable or taken."""
    name = check_username(username)
    if user_by_name(session, name) is not None:
        raise AccountError(f"The name {name} is taken.")
    return name


def create_user(
    session: Session,
    username: str,
    password_hash: PasswordHash,
    *,
    display_name: str | None = None,
    role: Role = "user",
) -> User:
    """A new account with a password hashed beforehand (`hash_password`); AccountError when the name is taken or
    unacceptable."""
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    name = check_name_free(session, username)
    now = utcnow()
    user = User(
        username=name,
        username_key=username_key(name),
        display_name=_display_name(display_name, name),
        password_hash=password_hash,
        role=role,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return user


def set_password_hash(
    session: Session, user_id: int, password_hash: PasswordHash, *, replacing: str, new_password: bool
) -> bool:
    """Store a new hash of the user's password (of a `new_password`, or of the same one with today's parameters),
    unless the stored hash is no longer `replacing`: another request changed it meanwhile, and its change stands.
    Returns whether it was stored."""
    values: dict[str, object] = {"password_hash": password_hash}
    if new_password:
        values["password_changed_at"] = utcnow()
    stored = session.execute(
        update(User)
        .where(User.id == user_id, User.password_hash == replacing)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return stored.rowcount == 1  # type: ignore[attr-defined]


def set_role(user: User, role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    user.role = role


def suspend(user: User) -> None:
    user.suspended_at = user.suspended_at or utcnow()


def reinstate(user: User) -> None:
    user.suspended_at = None
