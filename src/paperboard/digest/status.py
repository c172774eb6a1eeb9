"""How the digests stand, for the administrators' page: subscribers, digests sent, failures, the outbox backlog and
the worker's last scheduled runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperboard.db.models import OutboxMessage, ScheduledRun, Subscriber
from paperboard.digest.periods import DIGEST_KINDS
from paperboard.digest.statuses import MailStatus, SubscriberStatus

RECENT_DAYS = 7
FAILURES_SHOWN = 10
RUNS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class MailProblem:
    """A mail whose last attempt failed: `failed` for good, or `pending` and to be tried again."""

    email: str
    kind: str
    period_key: str
    status: str
    attempts: int
    last_error: str
    next_attempt_at: datetime
    failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RunLine:
    job: str
    run_key: str
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class DigestStatus:
    # Every subscriber status, zero included.
    subscribers: dict[str, int]
    digests_sent_recently: int
    digests_sent: int
    # Mails refused by the server, or given up after `mail_max_attempts` temporary failures.
    failed: int
    # Mails never tried (the sender cancels without counting an attempt): their subscriber left, or every paper of
    # the digest was taken off the lists, before it was sent.
    cancelled: int
    # Mails to be tried again after a temporary failure (pending, at least one attempt).
    retrying: int
    problems: list[MailProblem]
    pending: int
    sending: int
    # Pending mails whose time has come: what the sender would take now.
    due_now: int
    runs: list[RunLine]


def digest_status(session: Session, now: datetime) -> DigestStatus:
    subscribers: dict[str, int] = dict.fromkeys(SubscriberStatus, 0)
    for status, count in session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)):
        subscribers[status] = count
    digests = OutboxMessage.kind.in_(DIGEST_KINDS)
    digests_sent, digests_sent_recently = session.execute(
        select(
            func.count(),
            func.count().filter(OutboxMessage.sent_at >= now - timedelta(days=RECENT_DAYS)),
        ).where(digests, OutboxMessage.status == MailStatus.SENT)
    ).one()
    pending, retrying, due_now, sending, failed, cancelled = session.execute(
        select(
            func.count().filter(OutboxMessage.status == MailStatus.PENDING),
            func.count().filter(OutboxMessage.status == MailStatus.PENDING, OutboxMessage.attempts > 0),
            func.count().filter(OutboxMessage.status == MailStatus.PENDING, OutboxMessage.next_attempt_at <= now),
            func.count().filter(OutboxMessage.status == MailStatus.SENDING),
            func.count().filter(OutboxMessage.status == MailStatus.FAILED, OutboxMessage.attempts > 0),
            func.count().filter(OutboxMessage.status == MailStatus.FAILED, OutboxMessage.attempts == 0),
        ).where(OutboxMessage.status.in_((MailStatus.PENDING, MailStatus.SENDING, MailStatus.FAILED)))
    ).one()
    problems = [
        MailProblem(email, *problem)
        for email, *problem in session.execute(
            select(
                Subscriber.email,
                OutboxMessage.kind,
                OutboxMessage.period_key,
                OutboxMessage.status,
                OutboxMessage.attempts,
                OutboxMessage.last_error,
                OutboxMessage.next_attempt_at,
                OutboxMessage.failed_at,
            )
            .join(Subscriber, Subscriber.id == OutboxMessage.subscriber_id)
            .where(
                OutboxMessage.status.in_((MailStatus.FAILED, MailStatus.PENDING)),
                OutboxMessage.attempts > 0,
                OutboxMessage.last_error.is_not(None),
            )
            # Failures from before the outbox noted their time (migration 0007) come after the others.
            .order_by(OutboxMessage.failed_at.desc().nulls_last(), OutboxMessage.id.desc())
            .limit(FAILURES_SHOWN)
        )
    ]
    runs = [
        RunLine(run.job, run.run_key, run.started_at, run.finished_at)
        for run in session.scalars(
            select(ScheduledRun).order_by(ScheduledRun.started_at.desc(), ScheduledRun.job).limit(RUNS_SHOWN)
        )
    ]
    return DigestStatus(
        subscribers=subscribers,
        digests_sent_recently=digests_sent_recently,
        digests_sent=digests_sent,
        failed=failed,
        cancelled=cancelled,
        retrying=retrying,
        problems=problems,
        pending=pending,
        sending=sending,
        due_now=due_now,
        runs=runs,
    )
