"""Composing a period's digests into the outbox: one row per active subscriber with something to read.

Every digest of a period shares two sections, then has its own:
- `top`: the papers listed in the period, most upvoted first (`community.listings.ranked_listings`: neither hidden
  by a moderator nor withdrawn), at most `TOP_SIZE`;
- `trending`: the trending ranking as it stood at the period's end (`community.trending`), without the papers of
  `top` and keeping only papers upvoted, commented on or listed during the period, so that an idle week does not
  send last month's papers again; at most `TRENDING_SIZE`;
- `for_you`: the subscriber's own section (`digest.personal`): their For-you picks, ranked by their feed's learned
  model, for account holders who asked for them ("Include my For-you picks", `Subscriber.similar_to_upvoted`) and
  gave the feed something to learn from; the papers of their keywords and categories for the others, without those
  an account holder marked not interested.
Subscribers who chose categories or keywords still get the shared sections: the digest is "trending papers in your
inbox", and their own section comes on top of it. A subscriber whose three sections are all empty gets no mail.

A row's `contents` holds the sections as lists of paper ids, with the period's `start` and `end` (ISO dates), and is
made into a mail when it is sent (`digest.messages`). Only subscribers who are `active` and were confirmed before
the period's end get a digest. Rows are inserted in batches, each committed, skipping subscribers who have their
row already: a run killed midway and run again, or two runs at once, add no second copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import ColumnElement, Select, select, union
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.community.comments import VISIBLE
from paperboard.community.listings import ranked_listings
from paperboard.community.trending import trending_listings
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.batches import in_batches
from paperboard.db.models import Comment, Listing, NotInterested, OutboxMessage, Subscriber, Vote
from paperboard.digest.outbox import NewMail, enqueue
from paperboard.digest.periods import DigestPeriod
from paperboard.digest.personal import ForYou, learned_sections
from paperboard.digest.statuses import SubscriberStatus
from paperboard.personal.follows import digest_preferences
from paperboard.progress import Progress, SilentProgress

TOP_SIZE = 10
TRENDING_SIZE = 5
# Digests inserted and committed together.
BATCH_SIZE = 5000


@dataclass(frozen=True, slots=True)
class ComposeSummary:
    # Active subscribers of the period's frequency, confirmed before its end.
    subscribers: int
    # Digests added to the outbox by this run.
    composed: int
    # Subscribers with nothing to read this period, who get no digest.
    empty: int
    # Subscribers whose digest of the period was in the outbox already.
    already_composed: int


@dataclass(frozen=True, slots=True)
class DigestSubscriber:
    id: int
    categories: list[str]
    keywords: list[str]
    # The subscriber's account, if any: its follows are the subscriber's categories and keywords.
    account_id: int | None
    # Whether the section is the account's For-you picks (personal.ranking), when it gave the feed anything to learn.
    for_you_picks: bool = False


def top_papers(session: Session, period: DigestPeriod) -> list[int]:
    return [listing.paper_id for listing in ranked_listings(session, period.start, period.end)[:TOP_SIZE]]


def trending_papers(session: Session, period: DigestPeriod, excluded: set[int]) -> list[int]:
    end = datetime.combine(period.end, time())
    ranked = [
        entry.listing.paper_id
        for entry in trending_listings(session, limit=None, now=end)
        if entry.listing.paper_id not in excluded
    ]
    active = _active_papers(session, period, ranked)
    return [paper_id for paper_id in ranked if paper_id in active][:TRENDING_SIZE]


def _active_papers(session: Session, period: DigestPeriod, paper_ids: Sequence[int]) -> set[int]:
    """Those of these papers upvoted, commented on or listed during the period."""
    start, end = datetime.combine(period.start, time()), datetime.combine(period.end, time())
    active: set[int] = set()
    for chunk in in_batches(paper_ids):
        active.update(
            session.scalars(
                union(
                    select(Vote.paper_id).where(
                        Vote.paper_id.in_(chunk), Vote.created_at >= start, Vote.created_at < end
                    ),
                    select(Comment.paper_id).where(
                        Comment.paper_id.in_(chunk), Comment.created_at >= start, Comment.created_at < end, VISIBLE
                    ),
                    select(Listing.paper_id).where(
                        Listing.paper_id.in_(chunk), Listing.day >= period.start, Listing.day < period.end
                    ),
                )
            )
        )
    return active


def digest_subscribers(session: Session, period: DigestPeriod) -> list[DigestSubscriber]:
    """The subscribers who get this period's digest, if it has anything for them. An account holder's categories
    and keywords are the account's follows (`personal.follows.digest_preferences`), not the subscription's own."""
    rows = session.execute(
        select(
            Subscriber.id, Subscriber.categories, Subscriber.keywords, Subscriber.user_id, Subscriber.similar_to_upvoted
        )
        .where(*_receiving(period))
        .order_by(Subscriber.id)
    )
    followed = digest_preferences(session, _account_holders(period))
    return [
        DigestSubscriber(subscriber_id, categories or [], keywords or [], None)
        if user_id is None
        else DigestSubscriber(subscriber_id, *followed.get(user_id, ([], [])), user_id, for_you_picks)
        for subscriber_id, categories, keywords, user_id, for_you_picks in rows
    ]


def _dismissed(session: Session, candidate_ids: Sequence[int], account_ids: Sequence[int]) -> dict[int, set[int]]:
    """The candidates each of these accounts marked not interested, by account (only accounts with some)."""
    marks: dict[int, set[int]] = {}
    wanted = set(candidate_ids)
    for chunk in in_batches(account_ids):
        for user_id, paper_id in session.execute(
            select(NotInterested.user_id, NotInterested.paper_id).where(NotInterested.user_id.in_(chunk))
        ):
            if paper_id in wanted:
                marks.setdefault(user_id, set()).add(paper_id)
    return marks


def _receiving(period: DigestPeriod) -> tuple[ColumnElement[bool], ...]:
    """The conditions on the subscribers who get the period's digest."""
    return (
        Subscriber.status == SubscriberStatus.ACTIVE,
        Subscriber.frequency == period.kind,
        Subscriber.confirmed_at < datetime.combine(period.end, time()),
    )


def _account_holders(period: DigestPeriod) -> Select[tuple[int]]:
    """The accounts of the subscribers who get the period's digest: one query for all, rather than lists of ids."""
    return select(Subscriber.user_id).where(*_receiving(period), Subscriber.user_id.is_not(None))


def compose_digests(
    database: Database,
    settings: Settings,
    period: DigestPeriod,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ComposeSummary:
    """Add the period's digests to the outbox (see the module's docstring); safe to run again."""
    progress = progress or SilentProgress()
    now = now or utcnow()
    with database.read_session() as session:
        top = top_papers(session, period)
        trending = trending_papers(session, period, set(top))
        subscribers = digest_subscribers(session, period)
        composed_before = set(
            session.scalars(
                select(OutboxMessage.subscriber_id).where(
                    OutboxMessage.kind == period.kind, OutboxMessage.period_key == period.key
                )
            )
        )
        waiting = [subscriber for subscriber in subscribers if subscriber.id not in composed_before]
        for_you = ForYou.load(session, period, excluded={*top, *trending})
        learned = learned_sections(
            session,
            for_you.candidate_ids,
            {user for subscriber in waiting if subscriber.for_you_picks and (user := subscriber.account_id)},
        )
        dismissed = _dismissed(
            session, for_you.candidate_ids, [user for subscriber in waiting if (user := subscriber.account_id)]
        )
    shared = {"start": period.start.isoformat(), "end": period.end.isoformat(), "top": top, "trending": trending}
    composed = empty = 0
    already_composed = len(subscribers) - len(waiting)
    progress.start(f"Composing {period.kind} digests for {period.key}", total=len(waiting), unit="subscribers")
    for offset in range(0, len(waiting), BATCH_SIZE):
        mails = []
        for subscriber in waiting[offset : offset + BATCH_SIZE]:
            if subscriber.account_id in learned:
                papers = learned[subscriber.account_id]
            else:
                papers = for_you.papers(subscriber.categories, subscriber.keywords)
                if subscriber.account_id in dismissed:
                    papers = [paper for paper in papers if paper not in dismissed[subscriber.account_id]]
            if not (top or trending or papers):
                empty += 1
                continue
            mails.append(NewMail(subscriber.id, period.kind, period.key, {**shared, "for_you": papers}))
        with database.session() as session:
            inserted = enqueue(session, mails, mail_from=settings.mail_from, now=now)
        composed += inserted
        # Rows another run inserted since this one looked.
        already_composed += len(mails) - inserted
        done = min(offset + BATCH_SIZE, len(waiting))
        progress.update(completed=done, items=done)
    progress.finish()
    return ComposeSummary(len(subscribers), composed, empty, already_composed)
