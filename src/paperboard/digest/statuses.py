"""The states of a subscriber and of a mail in the outbox, as stored in their `status` columns."""

from __future__ import annotations

from enum import StrEnum


class SubscriberStatus(StrEnum):
    # Subscribed, not yet confirmed: mailed nothing but the confirmation link.
    PENDING = "pending"
    ACTIVE = "active"
    # After repeated permanent delivery failures: no digests until the address subscribes again.
    PAUSED = "paused"
    UNSUBSCRIBED = "unsubscribed"


class MailStatus(StrEnum):
    PENDING = "pending"
    # Claimed by a sender, committed before its SMTP transaction starts.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
