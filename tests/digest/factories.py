"""Subscribers for the digest tests, stored as the subscription service would leave them."""

from __future__ import annotations

from datetime import datetime

from paperboard.db import Database
from paperboard.db.models import Subscriber, User

SUBSCRIBED_AT = datetime(2026, 11, 1)


def add_subscriber(
    database: Database,
    address: str,
    *,
    frequency: str = "daily",
    categories: list[str] | None = None,
    keywords: list[str] | None = None,
    user: User | None = None,
    similar_to_upvoted: bool = False,
    status: str = "active",
    confirmed_at: datetime | None = SUBSCRIBED_AT,
) -> int:
    """A subscriber's id; a pending one was never confirmed, whatever `confirmed_at` says."""
    with database.session() as session:
        subscriber = Subscriber(
            email=address,
            email_key=address.lower(),
            frequency=frequency,
            categories=categories or [],
            keywords=keywords or [],
            user_id=user.id if user else None,
            similar_to_upvoted=similar_to_upvoted,
            status=status,
            created_at=SUBSCRIBED_AT,
            confirmed_at=None if status == "pending" else confirmed_at,
        )
        session.add(subscriber)
        session.flush()
        return subscriber.id
