"""The "for you" section of a digest: for a subscriber with an account their feed can learn from, the period's papers
as their feed ranks them (`learned_sections`, `personal.ranking`); for the others, the papers that match their
keywords and categories (`ForYou`, below).

The candidates are the papers of the period: listed in it (and not hidden by a moderator), or first published in it;
none withdrawn, and none already in the digest's shared sections. A candidate's score for a subscriber is

    2 × the number of their keywords it matches  (a keyword matches when each of its search terms, stemmed as
                                                  keyword search stems them, is in the title or the abstract)
  + 1 when it is in one of their categories      (`cs.CL` exactly, or any category of the archive `cs`)

and the section holds the best `FOR_YOU_SIZE` candidates scoring above 0, equal scores going to the paper with more
upvotes, then to the newer one. An account holder's keywords and categories are their follows (saved searches and
categories, `personal.follows`).

The learned sections are for the subscribers who ticked "Include my For-you picks" (digest.compose); a subscriber's
account counts as one the feed can learn from when `personal.signals.readers_with_signals` says so (they follow,
saved, upvoted, claimed or dismissed something); the learned sections are ranked in one batch for all of them
(`personal.ranking.rank_for_readers`: their stored models, which the worker keeps trained, and their follows), over
the same candidates, leaving out what each reader marked not interested. (The option once read "papers like the
ones I upvoted", a cosine to the mean of their upvotes' vectors; the model learns from their upvotes among the
rest.)

Composing serves up to a hundred thousand subscribers: each keyword and category is matched once for all who follow
it, and subscribers with the same keywords and categories share their result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, time

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.community.counts import upvote_counts
from paperboard.db.batches import in_batches
from paperboard.db.models import Listing, Paper, PaperCategory
from paperboard.digest.periods import DigestPeriod
from paperboard.personal.ranking import rank_for_readers
from paperboard.personal.signals import readers_with_signals
from paperboard.search import analysis

FOR_YOU_SIZE = 10
KEYWORD_WEIGHT = 2.0
CATEGORY_WEIGHT = 1.0
Preferences = tuple[tuple[str, ...], tuple[str, ...]]
_NONE = np.empty(0, dtype=np.int64)


def _candidate_ids(session: Session, period: DigestPeriod, excluded: set[int]) -> list[int]:
    start, end = datetime.combine(period.start, time()), datetime.combine(period.end, time())
    listed = session.scalars(
        select(Listing.paper_id)
        .join(Paper, Paper.id == Listing.paper_id)
        .where(Listing.day >= period.start, Listing.day < period.end)
        .where(Listing.hidden_at.is_(None), Paper.deleted_at.is_(None))
    )
    # A paper a moderator took off the lists is not offered again as new.
    published = session.scalars(
        select(Paper.id)
        .outerjoin(Listing, Listing.paper_id == Paper.id)
        .where(Paper.published_at >= start, Paper.published_at < end)
        .where(Paper.deleted_at.is_(None), Listing.hidden_at.is_(None))
    )
    return sorted({*listed, *published} - excluded)


class ForYou:
    """The "for you" sections of one period's digests; `load` reads what they are made of, `papers` makes one."""

    def __init__(
        self,
        paper_ids: np.ndarray,
        texts: list[str],
        categories: list[list[str]],
        order_key: np.ndarray,
    ) -> None:
        self._ids = paper_ids
        self._texts = texts
        self._categories = categories
        # Grows with upvotes then with recency, always below the smallest difference of two scores.
        self._tiebreak = order_key
        self._terms: dict[str, np.ndarray] | None = None
        self._categories_index: dict[str, np.ndarray] | None = None
        self._keyword_matches: dict[str, np.ndarray] = {}
        self._category_matches: dict[tuple[str, ...], np.ndarray] = {}
        self._shared: dict[Preferences, list[int]] = {}

    @classmethod
    def load(cls, session: Session, period: DigestPeriod, *, excluded: set[int]) -> ForYou:
        """The period's candidates, without `excluded` papers."""
        ids = _candidate_ids(session, period, excluded)
        texts: dict[int, str] = {}
        published: dict[int, datetime] = {}
        categories: dict[int, list[str]] = defaultdict(list)
        upvotes: dict[int, int] = {}
        for chunk in in_batches(ids):
            for paper_id, title, abstract, published_at in session.execute(
                select(Paper.id, Paper.title, Paper.abstract, Paper.published_at).where(Paper.id.in_(chunk))
            ):
                texts[paper_id] = f"{title}\n{abstract}"
                published[paper_id] = published_at
            for paper_id, category in session.execute(
                select(PaperCategory.paper_id, PaperCategory.category).where(PaperCategory.paper_id.in_(chunk))
            ):
                categories[paper_id].append(category)
            upvotes |= upvote_counts(session, chunk)
        # Papers deleted between the queries are dropped.
        ids = [paper_id for paper_id in ids if paper_id in texts]
        ranked = sorted(range(len(ids)), key=lambda i: (upvotes[ids[i]], published[ids[i]], ids[i]))
        order_key = np.empty(len(ids), dtype=np.float64)
        order_key[ranked] = np.arange(1, len(ids) + 1) / (len(ids) + 1) * 1e-3
        return cls(
            np.array(ids, dtype=np.int64),
            [texts[paper_id] for paper_id in ids],
            [categories[paper_id] for paper_id in ids],
            order_key,
        )

    @property
    def candidate_ids(self) -> list[int]:
        """The period's candidates, which the learned sections are ranked from too."""
        ids: list[int] = self._ids.tolist()
        return ids

    def papers(self, categories: Sequence[str], keywords: Sequence[str]) -> list[int]:
        """The ids of the subscriber's section, best first; empty when nothing of the period is for them."""
        preferences = (tuple(sorted(set(categories))), tuple(sorted(set(keywords))))
        if preferences in self._shared:
            return self._shared[preferences]
        scores = np.zeros(len(self._ids))
        for keyword in preferences[1]:
            scores[self._keyword(keyword)] += KEYWORD_WEIGHT
        if preferences[0]:
            scores[self._in_categories(preferences[0])] += CATEGORY_WEIGHT
        chosen = np.flatnonzero(scores > 0)
        ranking = scores[chosen] + self._tiebreak[chosen]
        if len(chosen) > FOR_YOU_SIZE:
            best = np.argpartition(-ranking, FOR_YOU_SIZE)[:FOR_YOU_SIZE]
            chosen, ranking = chosen[best], ranking[best]
        result: list[int] = self._ids[chosen[np.argsort(-ranking)]].tolist()
        self._shared[preferences] = result
        return result

    def _keyword(self, keyword: str) -> np.ndarray:
        """Positions of the candidates holding every term of the keyword."""
        if keyword not in self._keyword_matches:
            index = self._term_index()
            postings = [index.get(term) for term in set(analysis.terms(keyword))]
            if not postings or any(positions is None for positions in postings):
                matched = _NONE
            else:
                matched = postings[0]
                for positions in postings[1:]:
                    matched = np.intersect1d(matched, positions, assume_unique=True)
            self._keyword_matches[keyword] = matched
        return self._keyword_matches[keyword]

    def _term_index(self) -> dict[str, np.ndarray]:
        # Built when the first keyword is looked for: stemming every candidate costs about a second per 10,000.
        if self._terms is None:
            postings: dict[str, list[int]] = defaultdict(list)
            for position, text in enumerate(self._texts):
                for term in set(analysis.terms(text)):
                    postings[term].append(position)
            self._terms = {term: np.array(positions, dtype=np.int64) for term, positions in postings.items()}
        return self._terms

    def _in_categories(self, categories: tuple[str, ...]) -> np.ndarray:
        """Positions of the candidates in any of these categories or archives."""
        if categories not in self._category_matches:
            index = self._category_index()
            self._category_matches[categories] = np.unique(
                np.concatenate([index.get(category, _NONE) for category in categories])
            )
        return self._category_matches[categories]

    def _category_index(self) -> dict[str, np.ndarray]:
        """Candidates' positions by category, and by archive: `cs.CL` is under `cs.CL` and `cs`."""
        if self._categories_index is None:
            postings: dict[str, set[int]] = defaultdict(set)
            for position, categories in enumerate(self._categories):
                for category in categories:
                    postings[category].add(position)
                    postings[category.split(".", 1)[0]].add(position)
            self._categories_index = {
                category: np.array(sorted(positions), dtype=np.int64) for category, positions in postings.items()
            }
        return self._categories_index


def learned_sections(session: Session, candidate_ids: Sequence[int], user_ids: Collection[int]) -> dict[int, list[int]]:
    """The sections of the readers among `user_ids` whom the feed can learn from, by reader: their best
    `FOR_YOU_SIZE` candidates as their stored models and follows rank them. Only reads: the models are the worker's
    to train (`personal.reader_models.retrain_stale_models`)."""
    readers = sorted(readers_with_signals(session, sorted(user_ids)))
    if not readers or not candidate_ids:
        return {reader: [] for reader in readers}
    return rank_for_readers(session, readers, candidate_ids, FOR_YOU_SIZE)
