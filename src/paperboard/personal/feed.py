"""A reader's "for you" feed: the catalogue's papers first published in a period, ranked for them.

The candidates of a period are every paper of the catalogue FIRST PUBLISHED in it (listed on a daily list or not),
except those withdrawn and those a moderator took off the lists; without a period, those of the last
`DEFAULT_DAYS` days. `personal.ranking` orders them for the reader (leaving out what they marked not interested) and
says why each is there; this module pages through that order and gathers what a card or an API item shows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperboard.catalog.queries import papers_by_ids
from paperboard.clock import utcnow
from paperboard.community.daily_papers import ListedPaper, listed_papers
from paperboard.community.periods import Period
from paperboard.db.models import Listing, Paper
from paperboard.personal.features import database_key
from paperboard.personal.ranking import reader_ranking

# The feed without a period: what arXiv published in the last week, so that a reader coming back after a few days
# finds what they missed.
DEFAULT_DAYS = 7
# Databases whose publications a process keeps (a site has one; the tests open many).
DATABASES_KEPT = 8


@dataclass(frozen=True, slots=True)
class FeedItem:
    """A paper of the feed, with everything its card or API item shows, and why it is in the reader's feed."""

    listed: ListedPaper
    reason: str


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of a reader's feed. `total` counts the ranked candidates of the whole period; `has_signals` is
    False while the reader has given the feed nothing to learn from (their page then invites them to)."""

    items: list[FeedItem]
    total: int
    has_signals: bool


def publication_window(period: Period | None, now: datetime | None = None) -> tuple[datetime, datetime | None]:
    """The times between which the candidates were first published: the period's days, or the last `DEFAULT_DAYS`
    days up to now (open-ended, so that a paper published while the reader reads is not lost)."""
    if period is None:
        return (now or utcnow()) - timedelta(days=DEFAULT_DAYS), None
    return datetime.combine(period.start, time()), datetime.combine(period.end, time())


@dataclass(frozen=True)
class _Publications:
    """Every live paper's first publication time and id, in time order, as of the catalogue's last change."""

    changed_at: datetime | None
    times: np.ndarray  # datetime64[us]
    ids: np.ndarray  # int64


class _PublicationsCache:
    """Per process and database: a period's candidates are then two binary searches instead of a query returning
    thousands of rows on every request (the month's 9,000 ids took a third of a warm feed request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_database: OrderedDict[str, _Publications] = OrderedDict()

    def get(self, session: Session) -> _Publications:
        key = database_key(session)
        # Every change to a paper (new, revised, withdrawn) moves its changed_at.
        changed_at = session.scalar(select(func.max(Paper.changed_at)))
        with self._lock:
            publications = self._by_database.get(key)
        if publications is None or publications.changed_at != changed_at:
            rows = (
                session.connection()
                .execute(
                    select(Paper.published_at, Paper.id).where(Paper.deleted_at.is_(None)).order_by(Paper.published_at)
                )
                .all()
            )
            publications = _Publications(
                changed_at,
                np.array([published_at for published_at, _ in rows], dtype="datetime64[us]"),
                np.array([paper_id for _, paper_id in rows], dtype=np.int64),
            )
        with self._lock:
            self._by_database[key] = publications
            self._by_database.move_to_end(key)
            while len(self._by_database) > DATABASES_KEPT:
                self._by_database.popitem(last=False)
        return publications


_PUBLICATIONS = _PublicationsCache()


def candidate_ids(session: Session, start: datetime, end: datetime | None) -> list[int]:
    """The papers first published from `start` up to `end`, neither withdrawn nor hidden from the lists by a
    moderator, in id order: the same period gives the same candidate set, which the ranking keeps features of."""
    publications = _PUBLICATIONS.get(session)
    first = np.searchsorted(publications.times, np.datetime64(start, "us"), side="left")
    last = len(publications.ids) if end is None else np.searchsorted(publications.times, np.datetime64(end, "us"))
    # Moderators hide few listings, and hiding one moves no paper's changed_at: read them every time.
    hidden = session.connection().execute(select(Listing.paper_id).where(Listing.hidden_at.is_not(None))).scalars()
    published = np.sort(publications.ids[first:last])
    shown: list[int] = published[~np.isin(published, np.fromiter(hidden, dtype=np.int64))].tolist()
    return shown


def for_you_page(session: Session, user_id: int, period: Period | None, *, page: int, limit: int) -> FeedPage:
    """Page `page` (from 0) of `limit` papers of the reader's feed for `period` (None: the last week). In a reading
    session after `personal.reader_models.refresh_reader_model`; otherwise in one that may write."""
    candidates = candidate_ids(session, *publication_window(period))
    ranking = reader_ranking(session, user_id, candidates)
    # Only the pages up to this one get reasons: a month holds some 9,000 candidates.
    chosen = ranking.top((page + 1) * limit)[page * limit :]
    papers = papers_by_ids(session, [recommendation.paper_id for recommendation in chosen])
    reasons = {recommendation.paper_id: recommendation.reason for recommendation in chosen}
    return FeedPage(
        items=[FeedItem(listed, reasons[listed.paper.id]) for listed in listed_papers(session, papers)],
        total=ranking.total,
        has_signals=ranking.has_signals,
    )
