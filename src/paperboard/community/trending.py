"""Trending: the recently listed papers that are drawing attention now, in the spirit of Hacker News' gravity.

Every upvote and every comment counts for less the older it is, each by its own age:

    score = Σ over upvotes    1 / (hours since the upvote + 2) ^ 1.8
          + ½ × Σ over comments 1 / (hours since the comment + 2) ^ 1.8

So a fresh upvote is worth 0.29, one cast a day ago 0.003: a paper climbs while people upvote it now, not because
it gathered many upvotes last month. A comment weighs half an upvote. Upvotes and comments imported with a listing
(the Hugging Face archive) carry no time of their own and count as cast when the paper was submitted. Only papers
listed in the last 30 days are ranked, which keeps the computation small; equal scores go to the paper with more
upvotes, then to the earlier submission.

When nothing was listed in the last 30 days (an instance that holds only imported history, or one left idle), the
ranking is the one that stood at the end of the latest listed day, and says so, rather than an empty page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.community.comments import VISIBLE
from paperboard.community.listings import RankedListing, latest_listed_day, ranked_listings
from paperboard.community.periods import Period
from paperboard.db.models import Comment, Listing, Vote


@dataclass(frozen=True, slots=True)
class TrendingFormula:
    """The numbers of the formula above; the trending page explains it with these."""

    gravity: float = 1.8
    # Hours added to every age, so that the newest upvote counts about twice as much as one an hour old, not
    # infinitely more.
    age_offset_hours: int = 2
    comment_weight: float = 0.5
    window_days: int = 30

    def weight_after(self, hours: float) -> float:
        """What one upvote is worth `hours` after it was cast."""
        return 1 / (max(0.0, hours) + self.age_offset_hours) ** self.gravity

    def weight(self, count: int, cast_at: datetime, now: datetime) -> float:
        """What `count` upvotes cast at `cast_at` are worth at `now`."""
        return count * self.weight_after((now - cast_at).total_seconds() / 3600)


FORMULA = TrendingFormula()


@dataclass(frozen=True, slots=True)
class TrendingListing:
    listing: RankedListing
    score: float


@dataclass(frozen=True, slots=True)
class Trending:
    entries: list[TrendingListing]
    # None when the ranking is of now; otherwise the latest listed day, at whose end the ranking stood.
    closed_day: date | None = None


def trending(
    session: Session, *, limit: int, now: datetime | None = None, formula: TrendingFormula = FORMULA
) -> Trending:
    """The trending papers now or, when nothing was listed within the window, as the latest listed day closed."""
    now = now or utcnow()
    entries = trending_listings(session, limit=limit, now=now, formula=formula)
    latest = latest_listed_day(session) if not entries else None
    if latest is None:
        return Trending(entries)
    end_of_day = datetime.combine(latest + timedelta(days=1), time())
    return Trending(trending_listings(session, limit=limit, now=end_of_day, formula=formula), closed_day=latest)


def trending_listings(
    session: Session,
    *,
    limit: int | None,
    now: datetime | None = None,
    formula: TrendingFormula = FORMULA,
    period: Period | None = None,
    submitter: str | None = None,
) -> list[TrendingListing]:
    """The `limit` (all when None) highest-scoring papers listed in the formula's window of days (see the module's
    docstring), or in `period` when given, scored as at the period's end if that is earlier than `now`;
    of one submitter when given."""
    now = now or utcnow()
    if period is None:
        start, end = (now - timedelta(days=formula.window_days)).date(), None
    else:
        start, end = period.start, period.end
        now = min(now, datetime.combine(period.end, time()))
    listings = ranked_listings(session, start, end, submitter=submitter)
    if not listings:
        return []
    scores: dict[int, float] = defaultdict(float)
    for listing in listings:
        scores[listing.paper_id] += formula.weight(listing.imported_upvotes, listing.submitted_at, now)
        scores[listing.paper_id] += formula.comment_weight * formula.weight(
            listing.imported_comments, listing.submitted_at, now
        )
    # Joined to the listings of the days rather than filtered by a list of ids, which could run to thousands. Votes
    # and comments after `now` (a ranking of the past) do not count yet.
    listed = [Listing.day >= start] + ([] if end is None else [Listing.day < end])
    for paper_id, cast_at in session.execute(
        select(Vote.paper_id, Vote.created_at)
        .join(Listing, Listing.paper_id == Vote.paper_id)
        .where(*listed, Vote.created_at <= now)
    ):
        scores[paper_id] += formula.weight(1, cast_at, now)
    for paper_id, written_at in session.execute(
        select(Comment.paper_id, Comment.created_at)
        .join(Listing, Listing.paper_id == Comment.paper_id)
        .where(*listed, Comment.created_at <= now, VISIBLE)
    ):
        scores[paper_id] += formula.comment_weight * formula.weight(1, written_at, now)
    # `listings` is ranked by upvotes then submission time already, and the sort is stable: ties keep that order.
    ranked = sorted(listings, key=lambda listing: -scores[listing.paper_id])
    return [TrendingListing(listing, scores[listing.paper_id]) for listing in ranked[:limit]]
