"""The mail outbox: every mail is a row before it is sent, one per (subscriber, kind, period).

Composing a digest inserts rows and skips those already there, so a composition that is run again (after a crash,
or by cron and the worker both) adds no second copy. The row's Message-ID is fixed when it is inserted.

The sender (`digest.delivery`) claims due rows (`claim`: `pending` → `sending`, committed before it sends them) and
records each server reply (`record`); `release_abandoned` puts back what a killed sender had claimed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.orm import Session

from paperboard.config import Settings
from paperboard.db.inserts import insert_missing
from paperboard.db.models import OutboxMessage, Subscriber
from paperboard.digest.periods import DIGEST_KINDS
from paperboard.digest.statuses import MailStatus, SubscriberStatus

OutboxKind = Literal["confirmation", "manage", "daily", "weekly"]
# A digest still unsent this long after it was composed (mail was not configured, or the server was down, for
# days) is cancelled rather than sent: its news is old, and the next digest covers the days since. Counted from
# composing, not from the period's end, so that `digest send --date` for a past day still sends what it composes.
OUT_OF_DATE_AFTER = {"daily": timedelta(days=1), "weekly": timedelta(days=3)}


@dataclass(frozen=True, slots=True)
class NewMail:
    subscriber_id: int
    kind: OutboxKind
    period_key: str
    # A digest's sections, as lists of paper ids; None for a link mail.
    contents: dict[str, Any] | None = None


def message_domain(mail_from: str) -> str:
    """The domain Message-IDs are made on: the sender's."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "paperboard.invalid"


def message_id(domain: str) -> str:
    """A new, globally unique Message-ID on `domain`."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def enqueue(session: Session, mails: Iterable[NewMail], *, mail_from: str, now: datetime) -> int:
    """Insert these mails as pending, skipping any whose (subscriber, kind, period) is already in the outbox;
    returns how many were inserted. The caller commits."""
    domain = message_domain(mail_from)
    rows = [
        {
            "subscriber_id": mail.subscriber_id,
            "kind": mail.kind,
            "period_key": mail.period_key,
            "message_id": message_id(domain),
            "contents": mail.contents,
            "status": MailStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for mail in mails
    ]
    return insert_missing(session, OutboxMessage.__table__, rows, key=("subscriber_id", "kind", "period_key"))


# Claiming and recording, for the sender (`digest.delivery`).

# Whom a mail may still go to when it is sent: a digest only to an active subscriber; a link mail also to one who
# has not confirmed yet (that is what a confirmation is for). Not to a paused or unsubscribed one.
_DIGEST_RECIPIENTS = (SubscriberStatus.ACTIVE,)
_LINK_RECIPIENTS = (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE)


@dataclass
class Tally:
    """What became of the mails a sender tried: `retried` are back in the queue after a temporary failure,
    `cancelled` were not sent because their subscriber left, or their digest had nothing left to show or was out of
    date; `paused` counts subscribers paused after repeated permanent failures."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    paused: int = 0

    def add(self, other: Tally) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.cancelled += other.cancelled
        self.paused += other.paused


Result = Literal["sent", "temporary", "refused", "failed", "cancelled", "unsent"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One claimed mail's fate. `temporary`: to be tried again later (a 4xx, a timeout, a lost connection);
    `refused`: a permanent (5xx) refusal of the address, which counts towards pausing its subscriber; `failed`: a
    permanent failure that says nothing about the address; `cancelled`: not to be sent any more, not tried;
    `unsent`: not tried, back to pending as it was."""

    mail: OutboxMessage
    result: Result
    error: str | None = None


def release_abandoned(session: Session, now: datetime) -> int:
    """Put back in the queue the mails a sender claimed and never finished: it was killed between the claim and
    the record of the SMTP reply. Some may have been accepted by the server; the copy sent again has the same
    Message-ID. A mail claimed by `claim(lease_until=...)` is left alone until its lease has passed.

    Only a sender holding the sender lock may call it, or it would take back a running sender's mails."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == MailStatus.SENDING, OutboxMessage.next_attempt_at <= now)
        .values(status=MailStatus.PENDING)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def count_due(session: Session, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count()).where(OutboxMessage.status == MailStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        )
        or 0
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    # To send, oldest first.
    mails: list[OutboxMessage]
    # Claimed but not to be sent: their subscriber may no longer get them. The caller records them.
    cancelled: list[Attempt]


def claim(
    session: Session,
    now: datetime,
    *,
    limit: int,
    ids: Sequence[int] | None = None,
    lease_until: datetime | None = None,
) -> Claimed:
    """Mark up to `limit` due mails `sending` (among `ids` if given) and return them. The caller commits before
    sending, so that a crash leaves them `sending`, never `pending` and sent.

    `lease_until` is for a sender that does not hold the sender lock (`delivery.send_one`): the mails keep it as
    their `next_attempt_at`, and `release_abandoned` leaves them alone until then."""
    due = select(OutboxMessage.id).where(
        OutboxMessage.status == MailStatus.PENDING, OutboxMessage.next_attempt_at <= now
    )
    if ids is not None:
        due = due.where(OutboxMessage.id.in_(ids))
    # Ordered by the indexed column alone, so that the database reads the first rows of the index and stops.
    due_ids = session.scalars(due.order_by(OutboxMessage.next_attempt_at).limit(limit)).all()
    if not due_ids:
        return Claimed([], [])
    values: dict[str, Any] = {"status": MailStatus.SENDING}
    if lease_until is not None:
        values["next_attempt_at"] = lease_until
    claimed_ids = session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due_ids), OutboxMessage.status == MailStatus.PENDING)
        .values(**values)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    rows = session.execute(
        select(OutboxMessage, Subscriber.status)
        .join(Subscriber, Subscriber.id == OutboxMessage.subscriber_id)
        .where(OutboxMessage.id.in_(claimed_ids))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    ).all()
    claimed = Claimed([], [])
    for mail, subscriber_status in rows:
        if subscriber_status not in (_DIGEST_RECIPIENTS if mail.kind in DIGEST_KINDS else _LINK_RECIPIENTS):
            claimed.cancelled.append(Attempt(mail, "cancelled", f"not sent: the subscriber is {subscriber_status}"))
        elif mail.kind in OUT_OF_DATE_AFTER and now >= mail.created_at + OUT_OF_DATE_AFTER[mail.kind]:
            reason = f"not sent: out of date, composed {_hours(now - mail.created_at)} hours ago"
            claimed.cancelled.append(Attempt(mail, "cancelled", reason))
        else:
            claimed.mails.append(mail)
    return claimed


def _hours(age: timedelta) -> int:
    return int(age.total_seconds() // 3600)


def record(connection: Connection, attempts: Sequence[Attempt], settings: Settings, now: datetime) -> Tally:
    """Store what became of these mails and of their subscribers: a delivery resets the subscriber's count of
    permanent failures; a refusal adds one, and pauses an active subscriber at `mail_pause_after_failures`.
    A temporary failure is tried again after `mail_retry_seconds`, doubled at each attempt, and becomes a
    permanent failure after `mail_max_attempts`. The caller commits.

    Core statements on a connection rather than a session: the sender records every reply before the connection
    it came on sends again, hundreds of times a second, and a session's own work would double the cost."""
    tally, rows = _mail_updates(attempts, settings, now)
    if rows:
        connection.execute(_UPDATE_MAIL, rows)
    delivered = {attempt.mail.subscriber_id for attempt in attempts if attempt.result == "sent"}
    if delivered:
        connection.execute(_RESET_FAILURES, {"ids": list(delivered)})
    refused = [attempt.mail.subscriber_id for attempt in attempts if attempt.result == "refused"]
    if refused:
        connection.execute(_COUNT_FAILURE, [{"subscriber_id": subscriber_id} for subscriber_id in refused])
        paused = connection.scalars(
            _PAUSE, {"ids": list(set(refused)), "failures": settings.mail_pause_after_failures, "now": now}
        ).all()
        tally.paused = len(paused)
    return tally


# Built once: building a statement costs more than running it.
_OUTBOX = OutboxMessage.__table__
_SUBSCRIBERS = Subscriber.__table__
# Executed with one parameter set per mail, keyed by the columns to set.
_UPDATE_MAIL = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("mail_id"))
_RESET_FAILURES = (
    update(_SUBSCRIBERS)
    .where(_SUBSCRIBERS.c.id.in_(bindparam("ids", expanding=True)), _SUBSCRIBERS.c.consecutive_failures != 0)
    .values(consecutive_failures=0)
)
_COUNT_FAILURE = (
    update(_SUBSCRIBERS)
    .where(_SUBSCRIBERS.c.id == bindparam("subscriber_id"))
    .values(consecutive_failures=_SUBSCRIBERS.c.consecutive_failures + 1)
)
_PAUSE = (
    update(_SUBSCRIBERS)
    .where(
        _SUBSCRIBERS.c.id.in_(bindparam("ids", expanding=True)),
        _SUBSCRIBERS.c.status == SubscriberStatus.ACTIVE,
        _SUBSCRIBERS.c.consecutive_failures >= bindparam("failures"),
    )
    .values(status=SubscriberStatus.PAUSED, paused_at=bindparam("now"))
    .returning(_SUBSCRIBERS.c.id)
)


def _mail_updates(attempts: Sequence[Attempt], settings: Settings, now: datetime) -> tuple[Tally, list[dict[str, Any]]]:
    tally = Tally()
    rows = []
    for attempt in attempts:
        mail = attempt.mail
        attempted = attempt.result not in ("cancelled", "unsent")
        tried = mail.attempts + attempted
        status, next_attempt_at, error, sent_at = MailStatus.FAILED, now, attempt.error, None
        failed_at = now if attempted and attempt.result != "sent" else mail.failed_at
        if attempt.result == "sent":
            status, error, sent_at = MailStatus.SENT, mail.last_error, now
            tally.sent += 1
        elif attempt.result == "unsent":
            status, error = MailStatus.PENDING, mail.last_error
        elif attempt.result == "temporary" and tried < settings.mail_max_attempts:
            status = MailStatus.PENDING
            next_attempt_at = now + timedelta(seconds=settings.mail_retry_seconds * 2 ** (tried - 1))
            tally.retried += 1
        elif attempt.result == "temporary":
            error = f"gave up after {tried} attempts: {attempt.error}"
            tally.failed += 1
        elif attempt.result == "cancelled":
            tally.cancelled += 1
        else:
            tally.failed += 1
        rows.append(
            {
                "mail_id": mail.id,
                "status": status,
                "attempts": tried,
                "next_attempt_at": next_attempt_at,
                "last_error": error,
                "failed_at": failed_at,
                "sent_at": sent_at,
            }
        )
    return tally, rows
