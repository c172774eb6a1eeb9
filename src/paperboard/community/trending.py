"""Trending: the recently listed papers that are drawing attention now, in the spirit of Hacker News' gravity.

Every upvote and every comment counts for less the older it is, each by its own age:

    score = Σ over upvotes    1 / (hours since the upvote + 2) ^ 1.8
          + ½ × Σ over comments 1 / (hours since the comment + 2) ^ 1.8

So a fresh upvote is worth 0.29, one cast a day ago 0.003: a paper climbs while people upvote it now, not because
it gathered many upvotes last month. A comment weighs half an upvote. Upvotes and comments imported with a listing
(the Hugging Face archive) carry no time of their own and count as cast when the paper was submitted. Only papers
listed in the last 30 days are ranked, which keeps the computation small; equal scores go to the paper with more
upvotes, then to the earlier submission.

Scoring reads every listing, vote and comment of the window, so a server keeps the live ranking's order
(`TrendingScores`, `PAPERBOARD_TRENDING_SCORES_SECONDS`) for a few seconds; the listings shown are read afresh.

A list is never emptier than the evidence allows. When fewer papers than asked for were listed in the last 30 days
(an instance that holds only imported history, one left idle, or one where a single new paper was just listed after
a long pause), the rest of the list is the ranking that stood at the end of the latest listed day before the window,
and says so, rather than a page of one paper or none.
"""

from __future__ import annotations

import threading
import time as clock
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.community.comments import VISIBLE
from paperboard.community.listings import RankedListing, latest_listed_day, listings_of, ranked_listings
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
    session: Session,
    *,
    limit: int,
    now: datetime | None = None,
    formula: TrendingFormula = FORMULA,
    scores: TrendingScores | None = None,
) -> Trending:
    """The trending papers now, filled up to `limit` from the ranking as the latest listed day before the window
    closed. With `scores`, the order of the ranking now is taken from there (see `TrendingScores`)."""
    if scores is not None and now is None and formula is FORMULA:
        return scores.trending(session, limit)
    now = now or utcnow()
    current = trending_listings(session, limit=limit, now=now, formula=formula)
    if len(current) >= limit:
        return Trending(current)
    closed_day = _closed_day(session, now, formula)
    if closed_day is None:
        return Trending(current)
    shown = {entry.listing.paper_id for entry in current}
    # Asked for `limit` more than needed, as some of them may be in the current ranking already.
    closed = trending_listings(session, limit=limit, now=_end_of(closed_day), formula=formula)
    earlier = [entry for entry in closed if entry.listing.paper_id not in shown][: limit - len(current)]
    return Trending(current, earlier, closed_day)


def _closed_day(session: Session, now: datetime, formula: TrendingFormula) -> date | None:
    """The latest listed day before the window that ends `now`."""
    return latest_listed_day(session, before=(now - timedelta(days=formula.window_days)).date())


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time())


# Papers by id with their scores, best first.
Scored = list[tuple[int, float]]


@dataclass(slots=True)
class _Ranking:
    """The whole ranking of the window as scored at one moment, and, once a list asked for more papers than it
    holds, the whole ranking as the closed day ended (None until then)."""

    current: Scored
    earlier: Scored | None = None
    closed_day: date | None = None


class TrendingScores:
    """The live ranking's scores (`trending` as of now, by `FORMULA`), kept by a server process for `ttl` seconds.

    Only the order is kept: every answer reads the listings of the papers it shows afresh, so a paper hidden or
    withdrawn since leaves at once (the next in the order takes its place), and upvote and comment counts,
    submitters and everything else shown are current. A new vote or comment moves a paper in the order within
    `ttl` seconds; at once where `clear` is called, which the web app does on every write in its process and, on
    PostgreSQL, on every write announced from any host (`web.page_changes`). A ranking being scored while `clear`
    is called is used for the request that made it but not kept. `ttl` 0 keeps nothing."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._kept: tuple[float, _Ranking] | None = None
        self._emptied = 0
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._kept = None
            self._emptied += 1

    def trending(self, session: Session, limit: int) -> Trending:
        ranking = self._ranking(session)
        current = _still_listed(session, ranking.current, limit)
        if len(current) >= limit or len(ranking.current) >= limit:
            # Papers of the window hidden since it was scored are left out rather than replaced from the closed
            # day, which only fills a window with too few papers.
            return Trending(current)
        if ranking.earlier is None:
            now = utcnow()
            ranking.closed_day = _closed_day(session, now, FORMULA)
            end = None if ranking.closed_day is None else _end_of(ranking.closed_day)
            ranking.earlier = [] if end is None else _scored(trending_listings(session, limit=None, now=end))
        shown = {paper_id for paper_id, _ in ranking.current}
        earlier = [(paper_id, score) for paper_id, score in ranking.earlier if paper_id not in shown]
        return Trending(current, _still_listed(session, earlier, limit - len(current)), ranking.closed_day)

    def _ranking(self, session: Session) -> _Ranking:
        with self._lock:
            kept, emptied = self._kept, self._emptied
        started = clock.monotonic()
        if kept is not None and started - kept[0] < self.ttl:
            return kept[1]
        ranking = _Ranking(_scored(trending_listings(session, limit=None)))
        with self._lock:
            if self.ttl > 0 and emptied == self._emptied:
                self._kept = (started, ranking)
        return ranking


def _scored(entries: Sequence[TrendingListing]) -> Scored:
    return [(entry.listing.paper_id, entry.score) for entry in entries]


def _still_listed(session: Session, ranked: Scored, count: int) -> list[TrendingListing]:
    """The first `count` papers of `ranked` whose listings are still visible, with their listings as read now."""
    entries: list[TrendingListing] = []
    start = 0
    while len(entries) < count and start < len(ranked):
        chunk = ranked[start : start + count - len(entries)]
        start += len(chunk)
        listings = listings_of(session, [paper_id for paper_id, _ in chunk])
        entries += [TrendingListing(listings[paper_id], score) for paper_id, score in chunk if paper_id in listings]
    return entries


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
