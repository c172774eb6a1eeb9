"""Trending: the recently listed papers that are drawing attention now, in the spirit of Hacker News' gravity.

Every upvote and every comment counts for less the older it is, each by its own age:

    score = Σ over upvotes    1 / (hours since the upvote + 2) ^ 1.8
          + ½ × Σ over comments 1 / (hours since the comment + 2) ^ 1.8

So a fresh upvote is worth 0.29, one cast a day ago 0.003: a paper climbs while people upvote it now, not because
it gathered many upvotes last month. A comment weighs half an upvote. Upvotes and comments imported with a listing
(the Hugging Face archive) carry no time of their own and count as cast when the paper was submitted. Only papers
listed in the last 30 days are ranked, which keeps the computation small; equal scores go to the paper with more
upvotes, then to the earlier submission.

A list is never emptier than the evidence allows. When fewer papers than asked for were listed in the last 30 days
(an instance that holds only imported history, one left idle, or one where a single new paper was just listed after
a long pause), the rest of the list is the ranking that stood at the end of the latest listed day before the window,
and says so, rather than a page of one paper or none.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
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
    """The ranking now (`current`), then, when it holds fewer papers than asked for, the one that stood at the end of
    `closed_day`, the latest listed day before the window (`earlier`, without the papers already in `current`)."""

    current: list[TrendingListing]
    earlier: list[TrendingListing] = field(default_factory=list)
    closed_day: date | None = None

    @property
    def entries(self) -> list[TrendingListing]:
        return self.current + self.earlier


def trending(
    session: Session, *, limit: int, now: datetime | None = None, formula: TrendingFormula = FORMULA
) -> Trending:
    """The trending papers now, filled up to `limit` from the ranking as the latest listed day before the window
    closed."""
    now = now or utcnow()
    current = trending_listings(session, limit=limit, now=now, formula=formula)
    if len(current) >= limit:
        return Trending(current)
    window_start = (now - timedelta(days=formula.window_days)).date()
    closed_day = latest_listed_day(session, before=window_start)
    if closed_day is None:
        return Trending(current)
    shown = {entry.listing.paper_id for entry in current}
    end_of_day = datetime.combine(closed_day + timedelta(days=1), time())
    # Asked for `limit` more than needed, as some of them may be in the current ranking already.
    closed = trending_listings(session, limit=limit, now=end_of_day, formula=formula)
    earlier = [entry for entry in closed if entry.listing.paper_id not in shown][: limit - len(current)]
    return Trending(current, earlier, closed_day)


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
        # Ends with `now`'s day: a ranking of the past does not rank papers listed after it.
        start, end = (now - timedelta(days=formula.window_days)).date(), now.date() + timedelta(days=1)
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
    listed = [Listing.day >= start, Listing.day < end]
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
