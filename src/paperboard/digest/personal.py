"""The "for you" section of a digest: the period's papers that match a subscriber's keywords and categories, or that
resemble the papers they upvoted.

The candidates are the papers of the period: listed in it (and not hidden by a moderator), or first published in it;
none withdrawn, and none already in the digest's shared sections. A candidate's score for a subscriber is

    2 × the number of their keywords it matches  (a keyword matches when each of its search terms, stemmed as
                                                  keyword search stems them, is in the title or the abstract)
  + 1 when it is in one of their categories      (`cs.CL` exactly, or any category of the archive `cs`)
  + 4 × its cosine to the mean of the vectors of the papers they upvoted last, when that cosine is at least 0.55
        (for account holders who asked for papers like the ones they upvoted; the papers they upvoted are left out)

and the section holds the best `FOR_YOU_SIZE` candidates scoring above 0, equal scores going to the paper with more
upvotes, then to the newer one, leaving out the papers an account holder marked "not interested". An account
holder's keywords and categories are their follows (saved searches and categories, `personal.follows`).

Composing serves up to a hundred thousand subscribers: each keyword and category is matched once for all who follow
it, subscribers with the same keywords and categories (and no upvote history or marks) share their result, and
similarities are computed in bulk with numpy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

import numpy as np
import scipy.sparse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperboard.community.counts import upvote_counts
from paperboard.db.batches import IN_LIST_SIZE, in_batches
from paperboard.db.models import Listing, Paper, PaperCategory, PaperEmbedding, Vote
from paperboard.digest.periods import DigestPeriod
from paperboard.search import analysis
from paperboard.search.embeddings import STORED_DTYPE, stored_vectors

FOR_YOU_SIZE = 10
KEYWORD_WEIGHT = 2.0
CATEGORY_WEIGHT = 1.0
SIMILARITY_WEIGHT = 4.0
# With the packaged model, papers of one primary category had a median cosine of 0.5 to 0.6 to the mean of a few
# others of it, papers of other categories 0.1 to 0.35 (a sample of 6,000 abstracts): the threshold keeps the near.
SIMILARITY_THRESHOLD = 0.55
# A user's latest upvotes that make their taste: older ones may be of interests they left.
UPVOTES_USED = 100
# Below every backend's limit on bound parameters.
# Users whose similarities are computed together: a block of (users × candidates) float32 stays small.
_USER_BLOCK = 1024

Preferences = tuple[tuple[str, ...], tuple[str, ...]]
_NONE = np.empty(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Similar:
    """The candidates (by position) that resemble a user's upvotes, with their cosines."""

    positions: np.ndarray
    cosines: np.ndarray


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
        similar: dict[int, Similar],
    ) -> None:
        self._ids = paper_ids
        self._texts = texts
        self._categories = categories
        # Grows with upvotes then with recency, always below the smallest difference of two scores.
        self._tiebreak = order_key
        self._similar = similar
        self._terms: dict[str, np.ndarray] | None = None
        self._categories_index: dict[str, np.ndarray] | None = None
        self._keyword_matches: dict[str, np.ndarray] = {}
        self._category_matches: dict[tuple[str, ...], np.ndarray] = {}
        self._shared: dict[Preferences, list[int]] = {}
        self._position_of: dict[int, int] | None = None

    @classmethod
    def load(cls, session: Session, period: DigestPeriod, *, excluded: set[int], similar_users: set[int]) -> ForYou:
        """The period's candidates (without `excluded` papers), and the similarities for `similar_users`."""
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
        paper_ids = np.array(ids, dtype=np.int64)
        return cls(
            paper_ids,
            [texts[paper_id] for paper_id in ids],
            [categories[paper_id] for paper_id in ids],
            order_key,
            _similarities(session, paper_ids, similar_users),
        )

    @property
    def candidate_ids(self) -> list[int]:
        """The ids of the period's candidates."""
        ids: list[int] = self._ids.tolist()
        return ids

    def papers(
        self,
        categories: Sequence[str],
        keywords: Sequence[str],
        user_id: int | None,
        hidden: frozenset[int] = frozenset(),
    ) -> list[int]:
        """The ids of the subscriber's section, best first, without the `hidden` papers (the reader marked them "not
        interested"); empty when nothing of the period is for them."""
        similar = self._similar.get(user_id) if user_id is not None else None
        preferences = (tuple(sorted(set(categories))), tuple(sorted(set(keywords))))
        # Sections are shared by everyone with the same preferences, as long as nothing is personal to them.
        shared = similar is None and not hidden
        if shared and preferences in self._shared:
            return self._shared[preferences]
        scores = np.zeros(len(self._ids))
        for keyword in preferences[1]:
            scores[self._keyword(keyword)] += KEYWORD_WEIGHT
        if preferences[0]:
            scores[self._in_categories(preferences[0])] += CATEGORY_WEIGHT
        if similar is not None:
            scores[similar.positions] += SIMILARITY_WEIGHT * similar.cosines
        if hidden:
            scores[self._positions_of(hidden)] = 0
        chosen = np.flatnonzero(scores > 0)
        ranking = scores[chosen] + self._tiebreak[chosen]
        if len(chosen) > FOR_YOU_SIZE:
            best = np.argpartition(-ranking, FOR_YOU_SIZE)[:FOR_YOU_SIZE]
            chosen, ranking = chosen[best], ranking[best]
        result: list[int] = self._ids[chosen[np.argsort(-ranking)]].tolist()
        if shared:
            self._shared[preferences] = result
        return result

    def _positions_of(self, paper_ids: frozenset[int]) -> list[int]:
        """The positions of those of these papers that are candidates."""
        if self._position_of is None:
            self._position_of = {paper_id: position for position, paper_id in enumerate(self._ids.tolist())}
        return [position for paper_id in paper_ids if (position := self._position_of.get(paper_id)) is not None]

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


def _vector_space(session: Session, paper_ids: np.ndarray) -> tuple[str, int] | None:
    """The model most of the candidates have vectors of, and its dimensions; None when none has one."""
    row = session.execute(
        select(PaperEmbedding.model, func.max(func.length(PaperEmbedding.abstract_vector)))
        .where(PaperEmbedding.paper_id.in_(paper_ids[:IN_LIST_SIZE].tolist()))
        .group_by(PaperEmbedding.model)
        .order_by(func.count().desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return row[0], row[1] // np.dtype(STORED_DTYPE).itemsize


def _vectors(session: Session, model: str, dimensions: int, paper_ids: Sequence[int]) -> dict[int, np.ndarray]:
    vectors: dict[int, np.ndarray] = {}
    for chunk in in_batches(sorted(paper_ids)):
        for ids, matrix in stored_vectors(session, model, dimensions, paper_ids=chunk):
            vectors.update(zip(ids.tolist(), matrix, strict=True))
    return vectors


def _latest_upvotes(session: Session, user_ids: set[int]) -> dict[int, list[int]]:
    upvoted: dict[int, list[int]] = defaultdict(list)
    for chunk in in_batches(sorted(user_ids)):
        for user_id, paper_id in session.execute(
            select(Vote.user_id, Vote.paper_id)
            .where(Vote.user_id.in_(chunk))
            .order_by(Vote.user_id, Vote.created_at.desc(), Vote.paper_id)
        ):
            if len(upvoted[user_id]) < UPVOTES_USED:
                upvoted[user_id].append(paper_id)
    return upvoted


def _similarities(session: Session, candidate_ids: np.ndarray, user_ids: set[int]) -> dict[int, Similar]:
    """For each user, the candidates whose cosine to the mean of their latest upvotes' vectors reaches the threshold,
    leaving out the papers they upvoted."""
    if not user_ids or not len(candidate_ids):
        return {}
    space = _vector_space(session, candidate_ids)
    if space is None:
        return {}
    model, dimensions = space
    upvoted = _latest_upvotes(session, user_ids)
    voted_vectors = _vectors(session, model, dimensions, {paper_id for ids in upvoted.values() for paper_id in ids})
    candidate_vectors = _vectors(session, model, dimensions, candidate_ids.tolist())
    # Candidates without a vector get none: a zero row has a cosine of 0 to everything.
    candidates = np.zeros((len(candidate_ids), dimensions), dtype=np.float32)
    position_of = {paper_id: position for position, paper_id in enumerate(candidate_ids.tolist())}
    for paper_id, vector in candidate_vectors.items():
        candidates[position_of[paper_id]] = vector
    users = [user_id for user_id, ids in upvoted.items() if any(paper_id in voted_vectors for paper_id in ids)]
    if not users:
        return {}
    voted_ids = list(voted_vectors)
    voted_column = {paper_id: column for column, paper_id in enumerate(voted_ids)}
    rows, columns = [], []
    for row, user_id in enumerate(users):
        for paper_id in upvoted[user_id]:
            if paper_id in voted_column:
                rows.append(row)
                columns.append(voted_column[paper_id])
    membership = scipy.sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(len(users), len(voted_ids))
    )
    means = np.asarray(membership @ np.stack([voted_vectors[paper_id] for paper_id in voted_ids]))
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    similar: dict[int, Similar] = {}
    for start in range(0, len(users), _USER_BLOCK):
        block = users[start : start + _USER_BLOCK]
        cosines = means[start : start + len(block)] @ candidates.T
        for offset, user_id in enumerate(block):
            for paper_id in upvoted[user_id]:
                if paper_id in position_of:
                    cosines[offset, position_of[paper_id]] = 0.0
            positions = np.flatnonzero(cosines[offset] >= SIMILARITY_THRESHOLD)
            if len(positions):
                similar[user_id] = Similar(positions, cosines[offset, positions].astype(np.float64))
    return similar
