"""Each reader's feed, ranked by their model (personal.reader_models) and their follows, with reasons.

A candidate's score is its model score plus a boost for each kind of follow it matches (a followed author, a paper
submitted by a followed user, a saved search, a followed category); the reason names the first follow matched, else
the reader's own paper the candidate is most like.

Two ways in:
- `rank_for_reader`, `reader_ranking`: one reader's feed, every candidate, with reasons. The ranking is kept per
  process, keyed by the reader and everything it depends on (their last action, their model, the catalogue, the
  candidates, the lists' submissions), so that the pages of a feed and repeated views do not rank again; the reasons
  are worked out for the pages asked for only.
- `rank_for_readers`: the email digest's sections, for thousands of readers at once, with their stored models only
  (the worker keeps them trained): follows and marks read in a few queries for all, and the models of a batch of
  readers scored in one sparse product.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperboard.db.batches import in_batches
from paperboard.db.models import Listing, ReaderModel
from paperboard.personal.features import (
    HASH_DIMENSIONS,
    FeatureMatrix,
    Marker,
    catalogue_marker,
    database_key,
    feature_cache,
    feature_space,
)
from paperboard.personal.reader_models import LoadedModel, TrainedModel, current_model, is_stale
from paperboard.personal.signals import (
    Positive,
    ReaderSignals,
    Source,
    has_signals,
    read_follows_and_marks,
    read_signals,
)
from paperboard.search.analysis import parse_query

# What an explicit follow adds to the model's score (a logit: 2 is about e^2 = 7 times the odds).
AUTHOR_FOLLOW_BOOST = 4.0
USER_FOLLOW_BOOST = 3.0
SEARCH_FOLLOW_BOOST = 2.0
CATEGORY_FOLLOW_BOOST = 1.0
REASON_TITLE_LENGTH = 80
# Only the best-placed candidates get the costlier reason naming a paper (a feed page or a digest shows far fewer);
# the rest say where they stand.
NAMED_REASONS = 1000
FAR_REASON = "Less like the papers you read"
NO_SIGNAL_REASON = "New in this period"
# Rankings kept per process: each is two arrays the size of the candidate set (150 KB for a month).
RANKINGS_KEPT = 256
# Model weights scored together by the digest: the product's result is candidates x readers.
READERS_PER_PRODUCT = 256


@dataclass(frozen=True, slots=True)
class Recommendation:
    paper_id: int
    score: float
    reason: str  # e.g. "You follow Ada Lovelace", "Like 'Title' in Saved", "In cs.CL, which you follow"


def _model_scores(candidates: FeatureMatrix, models: Sequence[TrainedModel | None]) -> np.ndarray:
    """Each model's scores of the candidates, a column per model (zeros where there is none): one sparse product over
    the candidates' own columns for all the models' weights, and one dense product for their vector weights."""
    scores = np.zeros((len(candidates.ids), len(models)))
    present = [column for column, model in enumerate(models) if model is not None]
    if not present or not len(candidates.ids):
        return scores
    used = candidates.used_columns
    rows, columns, weights = [], [], []
    for column in present:
        model = models[column]
        assert model is not None
        at = np.minimum(np.searchsorted(used, model.sparse_index), len(used) - 1)
        found = used[at] == model.sparse_index
        rows.append(at[found])
        columns.append(np.full(int(found.sum()), column))
        weights.append(model.sparse_weight[found])
        scores[:, column] = model.intercept
    stacked_weights = sparse.csc_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(columns))), shape=(len(used), len(models))
    )
    scores += (candidates.compact @ stacked_weights).toarray()
    vectors, embedded = candidates.vectors, candidates.embedded
    if vectors is not None:
        dense_models = [column for column in present if len(models[column].vector_weight) == vectors.shape[1]]  # type: ignore[union-attr]
        if dense_models:
            dense = vectors @ np.stack([models[column].vector_weight for column in dense_models], axis=1)  # type: ignore[union-attr]
            # A paper the worker has not embedded yet gets the typical contribution rather than none.
            if not embedded.all():
                dense[~embedded] = np.median(dense[embedded], axis=0) if embedded.any() else 0
            scores[:, dense_models] += dense
    return scores


def _submissions(session: Session, followed_users: set[int], candidates: FeatureMatrix) -> dict[int, int]:
    """Candidate position -> the account that submitted it to the lists, for the papers these users submitted."""
    position = {paper_id: row for row, paper_id in enumerate(candidates.ids.tolist())}
    submitted: dict[int, int] = {}
    for chunk in in_batches(sorted(followed_users)):
        for paper_id, submitter in session.execute(
            select(Listing.paper_id, Listing.submitter_id).where(Listing.submitter_id.in_(chunk))
        ):
            if paper_id in position:
                submitted[position[paper_id]] = submitter
    return submitted


def _search_terms(signals: ReaderSignals) -> list[tuple[str, frozenset[str]]]:
    searches = [(search.label, frozenset(parse_query(search.label).terms)) for search in signals.saved_searches]
    return [(label, wanted) for label, wanted in searches if wanted]


def _follow_boosts(signals: ReaderSignals, candidates: FeatureMatrix, submissions: dict[int, int]) -> np.ndarray:
    """What each candidate's follows add to its score: each kind of follow counts once."""
    boosts = np.zeros(len(candidates.ids))
    if not signals.follows_anything:
        return boosts
    index = candidates.index
    boosts[index.by_any_author(signals.followed_authors)] += AUTHOR_FOLLOW_BOOST
    submitted = [row for row, submitter in submissions.items() if submitter in signals.followed_users]
    boosts[np.array(submitted, dtype=np.int64)] += USER_FOLLOW_BOOST
    searched = [index.with_every_term(wanted) for _, wanted in _search_terms(signals)]
    if searched:
        boosts[np.unique(np.concatenate(searched))] += SEARCH_FOLLOW_BOOST
    # An archive followed (`cs`) covers its categories.
    boosts[index.in_any_category(signals.followed_categories)] += CATEGORY_FOLLOW_BOOST
    return boosts


def _follow_reason(
    signals: ReaderSignals, candidates: FeatureMatrix, position: int, submissions: dict[int, int]
) -> str | None:
    """The first follow the candidate matches, in the order of their boosts; None when it matches none."""
    facts = candidates.facts[position]
    followed = [signals.followed_authors[key] for key in facts.author_keys if key in signals.followed_authors]
    if followed:
        return f"You follow {followed[0]}"
    submitter = submissions.get(position)
    if submitter in signals.followed_users:
        return f"Submitted by @{signals.followed_users[submitter]}, whom you follow"
    for label, wanted in _search_terms(signals):
        if wanted <= facts.terms:
            return f"Matches your saved search '{label}'"
    categories = [category for category in facts.categories if category in signals.followed_categories]
    if not categories:
        categories = [
            category for category in facts.categories if category.split(".")[0] in signals.followed_categories
        ]
    return f"In {categories[0]}, which you follow" if categories else None


def _shortened(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= REASON_TITLE_LENGTH else title[: REASON_TITLE_LENGTH - 1].rstrip() + "…"


def _likeness_reason(positive: Positive, title: str) -> str:
    quoted = f"'{_shortened(title)}'"
    if positive.source is Source.CLAIMED:
        return f"Like your paper {quoted}"
    if positive.source is Source.COLLECTION:
        return f"Like {quoted} in {positive.place}"
    if positive.source is Source.UPVOTED:
        return f"Like {quoted}, which you upvoted"
    return f"Like {quoted} by {positive.place}, whom you follow"


def _sparse_likeness(rows: sparse.csr_matrix, positives: sparse.csr_matrix) -> np.ndarray:
    """rows @ positives.T over the columns the positives use: the product over the whole hashed space walks a
    million columns."""
    used = np.unique(positives.indices)
    column = np.full(HASH_DIMENSIONS, -1, dtype=np.int64)
    column[used] = np.arange(len(used))
    mapped = column[rows.indices]
    kept = mapped >= 0
    row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))[kept]
    compact_rows = sparse.csr_matrix((rows.data[kept], (row_of, mapped[kept])), shape=(rows.shape[0], len(used)))
    compact_positives = sparse.csr_matrix(
        (positives.data, column[positives.indices], positives.indptr), shape=(positives.shape[0], len(used))
    )
    return np.asarray((compact_rows @ compact_positives.T).toarray())


def _nearest_positives(
    signals: ReaderSignals, candidates: FeatureMatrix, positives: FeatureMatrix | None, wanted: np.ndarray
) -> dict[int, str]:
    """For the candidates at positions `wanted`, the reason naming the positive paper most like each; none for a
    candidate like none of them."""
    if positives is None or not positives.ids.size or not wanted.size:
        return {}
    rows = candidates.rows(wanted)
    if rows.vectors is not None and positives.vectors is not None and positives.embedded.all():
        likeness = rows.vectors @ positives.vectors.T
    else:
        likeness = _sparse_likeness(rows.sparse, positives.sparse)
    nearest = likeness.argmax(axis=1)
    # A candidate sharing nothing with any positive is like none of them: argmax would name the first one.
    alike = likeness[np.arange(len(nearest)), nearest] > 0
    reasons: dict[int, str] = {}
    for position, column, shares in zip(wanted.tolist(), nearest.tolist(), alike.tolist(), strict=True):
        positive = signals.positives.get(int(positives.ids[column]))
        if positive is not None and shares:
            reasons[position] = _likeness_reason(positive, positives.facts[column].title)
    return reasons


def _best(scores: np.ndarray, hidden: np.ndarray, limit: int | None) -> np.ndarray:
    """The positions of the best `limit` scores (all when None) not hidden, best first, equal scores in position
    order: what a stable sort of the whole gives, without sorting thousands of candidates for ten."""
    scores = np.where(hidden, -np.inf, scores)
    shown = len(scores) - int(hidden.sum())
    wanted = shown if limit is None else min(limit, shown)
    if wanted <= 0:
        return np.zeros(0, dtype=np.int64)
    if wanted < shown:
        threshold = np.partition(scores, len(scores) - wanted)[len(scores) - wanted]
        chosen = np.flatnonzero(scores >= threshold)
    else:
        chosen = np.flatnonzero(~hidden)
    return chosen[np.lexsort((chosen, -scores[chosen]))][:wanted]


class Ranking:
    """One reader's ranking of one candidate set: the order and scores of every candidate they did not mark, and the
    reasons of those asked for so far."""

    def __init__(
        self,
        candidates: FeatureMatrix,
        signals: ReaderSignals,
        loaded: LoadedModel,
        submissions: dict[int, int],
        has_signals: bool,
    ) -> None:
        self._candidates, self._signals, self._loaded, self._submissions = candidates, signals, loaded, submissions
        self.has_signals = has_signals
        scores = _model_scores(candidates, [loaded.model])[:, 0] + _follow_boosts(signals, candidates, submissions)
        self._order = _best(scores, np.isin(candidates.ids, list(signals.not_interested)), None)
        self._scores = scores[self._order].tolist()
        self._paper_ids = candidates.ids[self._order].tolist()
        self._reasons: list[str] = []
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        """The candidates ranked: all but those the reader marked not interested."""
        return len(self._order)

    def top(self, limit: int | None = None) -> list[Recommendation]:
        """The best `limit` (all when None), best first, each with a reason."""
        count = self.total if limit is None else min(limit, self.total)
        with self._lock:
            if len(self._reasons) < count:
                self._reasons += self._reasons_of(len(self._reasons), count)
            reasons = self._reasons[:count]
        return [
            Recommendation(paper_id, score, reason)
            for paper_id, score, reason in zip(self._paper_ids[:count], self._scores[:count], reasons, strict=True)
        ]

    def _reasons_of(self, start: int, end: int) -> list[str]:
        positions = self._order[start:end].tolist()
        follow_reasons = [
            _follow_reason(self._signals, self._candidates, position, self._submissions) for position in positions
        ]
        named = [
            position
            for rank, (position, reason) in enumerate(zip(positions, follow_reasons, strict=True), start=start)
            if reason is None and rank < NAMED_REASONS
        ]
        likeness = _nearest_positives(
            self._signals, self._candidates, self._loaded.reason_rows, np.array(named, dtype=np.int64)
        )
        far_reason = FAR_REASON if self._signals.positives else NO_SIGNAL_REASON
        return [
            reason or likeness.get(position, far_reason)
            for position, reason in zip(positions, follow_reasons, strict=True)
        ]


class _RankingCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rankings: OrderedDict[tuple[object, ...], Ranking] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> Ranking | None:
        with self._lock:
            ranking = self._rankings.get(key)
            if ranking is not None:
                self._rankings.move_to_end(key)
            return ranking

    def put(self, key: tuple[object, ...], ranking: Ranking) -> None:
        with self._lock:
            self._rankings[key] = ranking
            self._rankings.move_to_end(key)
            while len(self._rankings) > RANKINGS_KEPT:
                self._rankings.popitem(last=False)


_RANKINGS = _RankingCache()


def _ranking_key(
    session: Session, user_id: int, state: ReaderModel, marker: Marker, candidates: FeatureMatrix
) -> tuple[object, ...]:
    """Everything a reader's ranking depends on, their id first: nothing ranked for one reader is served to another.
    Their last action (follows, saves, upvotes, marks, claims) and their model's version, the catalogue's state, the
    candidates, and the newest listing (a followed user's submission boosts a paper)."""
    newest_listing = session.scalar(select(func.max(Listing.id)))
    return (
        database_key(session),
        user_id,
        state.signals_changed_at,
        state.trained_at,
        state.feature_space,
        marker,
        hashlib.blake2b(candidates.ids.tobytes()).digest(),
        newest_listing,
    )


def reader_ranking(session: Session, user_id: int, candidate_ids: Sequence[int]) -> Ranking:
    """The reader's ranking of the candidates (see `rank_for_reader`), from this process's cache when nothing it
    depends on changed since it was made."""
    marker = catalogue_marker(session)
    candidates = feature_cache(session).features(session, candidate_ids, marker=marker)
    state = session.get(ReaderModel, user_id)
    key = None
    if state is not None and not is_stale(state, feature_space(marker)):
        key = _ranking_key(session, user_id, state, marker, candidates)
        cached = _RANKINGS.get(key)
        if cached is not None:
            return cached
    signals = read_signals(session, user_id)
    loaded = current_model(session, user_id, signals, marker)
    submissions = _submissions(session, set(signals.followed_users), candidates)
    ranking = Ranking(candidates, signals, loaded, submissions, has_signals(session, user_id))
    if key is not None:
        _RANKINGS.put(key, ranking)
    return ranking


def rank_for_reader(
    session: Session, user_id: int, candidate_ids: Sequence[int], *, limit: int | None = None
) -> list[Recommendation]:
    """Every candidate except the reader's not-interested ones (the best `limit` only, when given), best first, each
    with a reason. Retrains the reader's model first when it is out of date, and stores it: the session must be one
    that may write (`Database.session()`), unless the model is known to be current
    (`personal.reader_models.refresh_reader_model`)."""
    return reader_ranking(session, user_id, candidate_ids).top(limit)


def _stored_models(session: Session, user_ids: Sequence[int], space: str) -> dict[int, TrainedModel]:
    models: dict[int, TrainedModel] = {}
    for user_id, stored_space, data in session.execute(
        select(ReaderModel.user_id, ReaderModel.feature_space, ReaderModel.model).where(
            ReaderModel.user_id.in_(user_ids), ReaderModel.model.is_not(None)
        )
    ):
        model = TrainedModel.from_bytes(data)
        # Hashed features are the same in every space; vector weights only mean something for the vectors they
        # were trained on.
        models[user_id] = model if stored_space == space else replace(model, vector_weight=np.zeros(0, np.float32))
    return models


def rank_for_readers(
    session: Session, user_ids: Sequence[int], candidate_ids: Sequence[int], limit: int
) -> dict[int, list[int]]:
    """The ids of each reader's best `limit` candidates, best first, without their not-interested ones: for the email
    digest, in a reading session. Scored with the models as stored, never trained here (the worker keeps them
    current, `personal.reader_models.retrain_stale_models`): a model older than the reader's last action still knows
    all they did before it, and ranks as their feed did until then; a reader with no model stored yet is ranked by
    their follows alone, which is what the digest offered before it learned. No reasons: a digest shows none."""
    marker = catalogue_marker(session)
    candidates = feature_cache(session).features(session, candidate_ids, marker=marker)
    signals = read_follows_and_marks(session, user_ids)
    submissions = _submissions(
        session, {user for reader in signals.values() for user in reader.followed_users}, candidates
    )
    space = feature_space(marker)
    ranked: dict[int, list[int]] = {}
    for batch in in_batches(list(user_ids), READERS_PER_PRODUCT):
        models = _stored_models(session, batch, space)
        scores = _model_scores(candidates, [models.get(user_id) for user_id in batch])
        for column, user_id in enumerate(batch):
            reader = signals[user_id]
            column_scores = scores[:, column] + _follow_boosts(reader, candidates, submissions)
            hidden = np.isin(candidates.ids, list(reader.not_interested))
            ranked[user_id] = candidates.ids[_best(column_scores, hidden, limit)].tolist()
    return ranked


def reader_has_signals(session: Session, user_id: int) -> bool:
    """Whether the reader has anything their feed can learn from (else the page invites them to follow/save)."""
    return has_signals(session, user_id)
