"""Personal API tokens: what a script sends as `Authorization: Bearer <token>` to act as its owner through the API.

- A token is `pb_` and 43 random URL-safe characters. Its plaintext is returned once, when it is created; like a
  session token (`community.sessions`), only its SHA-256 is stored, so a copy of the database holds no usable token.
- A user names each token (to tell them apart on the account page), holds at most `MAX_TOKENS_PER_USER`, and
  revokes only their own. Revoking deletes the row: the token is then unknown, like one that never existed.
- Tokens survive a password change, as GitHub's do: they are credentials of their own, which the owner revokes on
  the account page (it says so after the change). A suspended account's tokens are refused (`AccountSuspended`) for
  as long as the suspension lasts, and work again once the account is reinstated.
- `last_used_at` moves at most once per `LAST_USED_RESOLUTION`: a script making many requests costs one write a
  minute, not one per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db import Database
from paperboard.db.models import ApiToken, User

TOKEN_PREFIX = "pb_"
MAX_TOKENS_PER_USER = 20
MAX_TOKEN_NAME_LENGTH = 100
# Longer than any token this module makes; longer text is refused before it is hashed.
MAX_TOKEN_LENGTH = 100
LAST_USED_RESOLUTION = timedelta(minutes=1)
# The largest id an INTEGER column holds on PostgreSQL, which fails on a bigger number instead of finding nothing.
_MAX_ID = 2**31 - 1


class TokenRefused(ValueError):
    """A token cannot be created as asked; the message says why, in words fit for its owner."""


class TokenNotFound(LookupError):
    """The user has no token with this id (it may be someone else's, or revoked already)."""


class AccountSuspended(PermissionError):
    """The token is valid, but its owner's account is suspended."""


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created: its stored row, and the plaintext that is never available again."""

    token: ApiToken
    plaintext: str


def token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def check_token_name(name: str) -> str:
    text = " ".join(name.split())
    if not text:
        raise TokenRefused("Give the token a name, to tell it apart from your others (say, the script that uses it).")
    if len(text) > MAX_TOKEN_NAME_LENGTH:
        raise TokenRefused(f"A token's name may have at most {MAX_TOKEN_NAME_LENGTH} characters.")
    return text


def create_token(session: Session, user: User, name: str) -> NewToken:
    """A new token for `user`; TokenRefused when the name is unacceptable or the user holds too many tokens."""
    text = check_token_name(name)
    # Read again: the caller's copy may predate a suspension.
    stored = session.get(User, user.id)
    if stored is None or stored.suspended_at is not None:
        raise TokenRefused("A suspended account cannot create API tokens.")
    names = list(session.scalars(select(ApiToken.name).where(ApiToken.user_id == user.id)))
    if len(names) >= MAX_TOKENS_PER_USER:
        raise TokenRefused(
            f"You have {MAX_TOKENS_PER_USER} tokens, the most an account may hold; revoke one you no longer use first."
        )
    if text in names:
        raise TokenRefused(f"You already have a token named {text}; give this one another name.")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=text, token_hash=token_digest(plaintext), created_at=utcnow())
    session.add(token)
    session.flush()
    return NewToken(token, plaintext)


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Delete one of the user's own tokens; another user's token is TokenNotFound, as if it did not exist."""
    token = None
    if 0 < token_id <= _MAX_ID:
        token = session.scalars(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
        ).one_or_none()
    if token is None:
        raise TokenNotFound(f"You have no API token {token_id}; it may have been revoked already.")
    session.delete(token)
    return token


def user_for_api_token(database: Database, plaintext: str) -> User | None:
    """The owner of the token, or None for text that is no token of this site (unknown, revoked, malformed);
    AccountSuspended when the owner is suspended.

    Finding the owner only reads; when `last_used_at` is over a minute old, a short transaction of its own moves it,
    guarded so that requests racing each other write it once."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > MAX_TOKEN_LENGTH:
        return None
    with database.read_session() as session:
        row = session.execute(
            select(ApiToken.id, ApiToken.last_used_at, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_digest(plaintext))
        ).one_or_none()
    if row is None:
        return None
    token_id, last_used_at, user = row
    if user.suspended_at is not None:
        raise AccountSuspended(f"The account {user.username} is suspended; its API tokens are refused.")
    now = utcnow()
    stale = now - LAST_USED_RESOLUTION
    if last_used_at is None or last_used_at <= stale:
        with database.session() as session:
            session.execute(
                update(ApiToken)
                .where(
                    ApiToken.id == token_id,
                    or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale),
                )
                .values(last_used_at=now)
            )
    return user
