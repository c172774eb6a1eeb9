"""Subscriptions and email digests: subscribing with double opt-in, composing each period's digests into the outbox,
and delivering the outbox over SMTP exactly once per (subscriber, period)."""
