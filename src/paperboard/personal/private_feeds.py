"""Private feed addresses: `/feeds/for-you/{secret}.atom`, with which a feed reader follows one reader's "for you"
feed without signing in.

- The secret is 43 random URL-safe characters (256 bits). Like an API token (`community.api_tokens`), its plaintext
  is given once, when it is made; only its SHA-256 is stored, so a copy of the database holds no usable address.
- An account has at most one address: making a new one replaces (revokes) the old. Revoking deletes the row, after
  which the address is unknown, like one that never existed.
- The owner is found by the secret's digest through the table's primary key: the database compares digests, never
  the secret, so the time a lookup takes says nothing about how much of a guessed secret was right.
- The feed of a suspended account is not served while the suspension lasts.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db.models import PrivateFeed, User

# Longer than any secret this module makes; longer text is refused before it is hashed.
MAX_SECRET_LENGTH = 100


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_private_feed(session: Session, user_id: int) -> str:
    """A new secret for the user's feed address, replacing the one they had; the plaintext, never available again."""
    secret = secrets.token_urlsafe(32)
    session.execute(delete(PrivateFeed).where(PrivateFeed.user_id == user_id))
    session.add(PrivateFeed(token_hash=_digest(secret), user_id=user_id, created_at=utcnow()))
    session.flush()
    return secret


def revoke_private_feed(session: Session, user_id: int) -> bool:
    """Delete the user's feed address; False when they had none."""
    result = session.execute(delete(PrivateFeed).where(PrivateFeed.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def private_feed_made_at(session: Session, user_id: int) -> datetime | None:
    """When the user's current feed address was made; None when they have none."""
    made_at: datetime | None = session.scalar(select(PrivateFeed.created_at).where(PrivateFeed.user_id == user_id))
    return made_at


def private_feed_owner(session: Session, secret: str) -> int | None:
    """The id of the account whose feed address holds `secret`; None for a secret that is unknown, revoked or
    malformed, or whose owner is suspended."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    owner: int | None = session.scalar(
        select(PrivateFeed.user_id)
        .join(User, User.id == PrivateFeed.user_id)
        .where(PrivateFeed.token_hash == _digest(secret), User.suspended_at.is_(None))
    )
    return owner
