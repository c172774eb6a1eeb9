"""Each reader's feed, ranked by a model of their own.

A reader's model is a logistic regression, as Scholar Inbox trains one per user, over the features of
personal/features.py (hashed tf-idf of title and abstract, author keys, categories, and the stored vectors when the
worker has made them). Positives are the papers of the reader's collections, their upvotes, the papers of the names
they have claimed and the newest papers of the authors they follow; negatives are a background sample of the
catalogue and, weighted more, the papers they marked "not interested". Explicit follows are added to the model's
score as boosts, and give the reason first.

A model is stored in `reader_models` (only its largest sparse weights, so that a digest run can read thousands) and
retrained, lazily, the first time the reader's feed is ranked after they acted (`signals_changed_at` later than
`trained_at`) or after the feature space changed (another embedder).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db.models import Listing, ReaderModel
from paperboard.personal.features import (
    HASH_DIMENSIONS,
    FeatureMatrix,
    Marker,
    catalogue_marker,
    database_key,
    feature_cache,
    feature_space,
    stacked,
)
from paperboard.personal.signals import Positive, ReaderSignals, Source, has_signals, read_signals
from paperboard.search.analysis import parse_query

# Regularisation of the per-reader regression (scikit-learn's C) and how much more a "not interested" weighs than
# a background paper: first choices, not tuned yet (bench/for_you_replay.py on 2026-02 is where to tune them).
REGULARISATION_C = 1.0
NOT_INTERESTED_WEIGHT = 5.0
# What an explicit follow adds to the model's score (a logit: 2 is about e^2 = 7 times the odds).
AUTHOR_FOLLOW_BOOST = 4.0
USER_FOLLOW_BOOST = 3.0
SEARCH_FOLLOW_BOOST = 2.0
CATEGORY_FOLLOW_BOOST = 1.0
# The sparse weights kept in a stored model, largest first: the rest move scores by little, and a digest run reads
# every subscriber's model.
STORED_SPARSE_WEIGHTS = 4096
# Reasons name the most similar of at most this many positives (the strongest sources first).
REASON_POSITIVES = 200
REASON_TITLE_LENGTH = 80
# Only the best-placed candidates get the costlier reason naming a paper (a feed page or a digest shows far fewer);
# the rest say where they stand.
NAMED_REASONS = 1000
FAR_REASON = "Less like the papers you read"
MODELS_KEPT = 1024
NO_SIGNAL_REASON = "New in this period"


@dataclass(frozen=True, slots=True)
class Recommendation:
    paper_id: int
    score: float
    reason: str  # e.g. "You follow Ada Lovelace", "Like 'Title' in Saved", "In cs.CL, which you follow"


@dataclass(frozen=True)
class TrainedModel:
    sparse_index: np.ndarray  # int32 feature indices
    sparse_weight: np.ndarray  # float32
    vector_weight: np.ndarray  # float32, empty in a space without vectors
    intercept: float

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            sparse_index=self.sparse_index,
            sparse_weight=self.sparse_weight,
            vector_weight=self.vector_weight,
            intercept=np.array([self.intercept], dtype=np.float64),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainedModel:
        with np.load(io.BytesIO(data)) as arrays:
            return cls(
                arrays["sparse_index"],
                arrays["sparse_weight"],
                arrays["vector_weight"],
                float(arrays["intercept"][0]),
            )

    @cached_property
    def _sparse_weights(self) -> np.ndarray:
        weights = np.zeros(HASH_DIMENSIONS, dtype=np.float32)
        weights[self.sparse_index] = self.sparse_weight
        return weights

    def scores(self, features: FeatureMatrix) -> np.ndarray:
        scores = features.sparse @ self._sparse_weights + self.intercept
        if features.vectors is not None and len(self.vector_weight) == features.vectors.shape[1]:
            dense = features.vectors @ self.vector_weight
            # A paper the worker has not embedded yet gets the typical contribution rather than none.
            if not features.embedded.all():
                dense[~features.embedded] = float(np.median(dense[features.embedded])) if features.embedded.any() else 0
            scores = scores + dense
        return np.asarray(scores, dtype=np.float64)


def train(positives: FeatureMatrix, negatives: FeatureMatrix, negative_weights: np.ndarray) -> TrainedModel:
    """A logistic regression of positives against negatives, classes balanced."""
    hashed = sparse.vstack([positives.sparse, negatives.sparse]).tocsr()
    # Only the columns some paper uses: liblinear's time grows with the columns it is given, and the hashed space
    # has a million.
    used, compact = np.unique(hashed.indices, return_inverse=True)
    rows = sparse.csr_matrix((hashed.data, compact.astype(np.int32), hashed.indptr), shape=(hashed.shape[0], len(used)))
    with_vectors = positives.vectors is not None and negatives.vectors is not None
    if with_vectors:
        rows = sparse.hstack([rows, sparse.csr_matrix(np.vstack([positives.vectors, negatives.vectors]))]).tocsr()
    labels = np.concatenate([np.ones(positives.sparse.shape[0]), np.zeros(negatives.sparse.shape[0])])
    weights = np.concatenate([np.ones(positives.sparse.shape[0]), negative_weights])
    # The dual problem: a reader has far fewer papers than features, and liblinear solves it tens of times faster.
    regression = LogisticRegression(C=REGULARISATION_C, class_weight="balanced", solver="liblinear", dual=True)
    regression.fit(rows, labels, sample_weight=weights)
    coefficients = regression.coef_[0]
    sparse_part = coefficients[: len(used)]
    kept = np.argsort(-np.abs(sparse_part))[:STORED_SPARSE_WEIGHTS]
    kept = np.sort(kept[sparse_part[kept] != 0])
    return TrainedModel(
        sparse_index=used[kept].astype(np.int32),
        sparse_weight=sparse_part[kept].astype(np.float32),
        vector_weight=coefficients[len(used) :].astype(np.float32) if with_vectors else np.zeros(0, np.float32),
        intercept=float(regression.intercept_[0]),
    )


@dataclass(frozen=True)
class _Loaded:
    """A reader's model as this process holds it, with the positives its reasons name (their rows computed once)."""

    trained_at: datetime | None
    space: str
    model: TrainedModel | None
    reason_rows: FeatureMatrix | None


class _ModelCache:
    """Models already read or trained in this process, by reader."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: OrderedDict[tuple[str, int], _Loaded] = OrderedDict()

    def get(self, session: Session, user_id: int, trained_at: datetime | None, space: str) -> _Loaded | None:
        key = (database_key(session), user_id)
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None or (loaded.trained_at, loaded.space) != (trained_at, space):
                return None
            self._models.move_to_end(key)
            return loaded

    def put(self, session: Session, user_id: int, loaded: _Loaded) -> None:
        key = (database_key(session), user_id)
        with self._lock:
            self._models[key] = loaded
            self._models.move_to_end(key)
            while len(self._models) > MODELS_KEPT:
                self._models.popitem(last=False)


_MODELS = _ModelCache()
# Reasons prefer what the reader chose themselves (claims, collections, upvotes) to followed authors' papers.
_SOURCE_ORDER = {Source.CLAIMED: 0, Source.COLLECTION: 1, Source.UPVOTED: 2, Source.FOLLOWED_AUTHOR: 3}


def _positive_ids(signals: ReaderSignals) -> list[int]:
    ordered = sorted(signals.positives.values(), key=lambda positive: _SOURCE_ORDER[positive.source])
    return [positive.paper_id for positive in ordered]


def _retrain(session: Session, state: ReaderModel, signals: ReaderSignals, marker: Marker) -> _Loaded:
    """Train the reader's model on their signals now and store it (no model when there is no positive to learn)."""
    trained_at = state.signals_changed_at
    space = feature_space(marker)
    model: TrainedModel | None = None
    reason_rows: FeatureMatrix | None = None
    if signals.positives:
        vocabulary = feature_cache(session).vocabulary(session, marker)
        positives = feature_cache(session).features(
            session, _positive_ids(signals), marker=marker, vocabulary=vocabulary, keep=False
        )
        reason_rows = positives.rows(np.arange(min(REASON_POSITIVES, len(positives.ids))))
        background = feature_cache(session).features(
            session, vocabulary.background_ids, marker=marker, vocabulary=vocabulary
        )
        excluded = set(signals.positives) | set(signals.not_interested)
        background = background.rows(
            [row for row, paper_id in enumerate(background.ids.tolist()) if paper_id not in excluded]
        )
        disliked = feature_cache(session).features(
            session, sorted(signals.not_interested), marker=marker, vocabulary=vocabulary, keep=False
        )
        negatives = stacked([background, disliked])
        if positives.ids.size and negatives.ids.size:
            weights = np.concatenate([np.ones(len(background.ids)), np.full(len(disliked.ids), NOT_INTERESTED_WEIGHT)])
            model = train(positives, negatives, weights)
    state.trained_at = trained_at
    state.feature_space = space
    state.model = None if model is None else model.to_bytes()
    session.flush()
    loaded = _Loaded(trained_at, space, model, reason_rows)
    _MODELS.put(session, state.user_id, loaded)
    return loaded


def _reader_model(session: Session, user_id: int, signals: ReaderSignals, marker: Marker) -> _Loaded:
    state = session.get(ReaderModel, user_id)
    if state is None:
        # Signals written without `signals_changed` (imported, or from before the personal layer): train now.
        state = ReaderModel(user_id=user_id, signals_changed_at=utcnow())
        session.add(state)
    space = feature_space(marker)
    if state.trained_at is None or state.signals_changed_at > state.trained_at or state.feature_space != space:
        return _retrain(session, state, signals, marker)
    loaded = _MODELS.get(session, user_id, state.trained_at, space)
    if loaded is None:
        positives = feature_cache(session).features(
            session, _positive_ids(signals)[:REASON_POSITIVES], marker=marker, keep=False
        )
        model = None if state.model is None else TrainedModel.from_bytes(state.model)
        loaded = _Loaded(state.trained_at, space, model, positives)
        _MODELS.put(session, user_id, loaded)
    return loaded


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


def _follow_boosts(
    session: Session, signals: ReaderSignals, candidates: FeatureMatrix
) -> tuple[np.ndarray, list[str | None]]:
    """What each candidate's follows add to its score, and the reason they give (None: no follow matches)."""
    boosts = np.zeros(len(candidates.ids))
    reasons: list[str | None] = [None] * len(candidates.ids)
    if not signals.follows_anything:
        return boosts, reasons
    submitters: dict[int, str] = {}
    if signals.followed_users:
        submitted = session.execute(
            select(Listing.paper_id, Listing.submitter_id).where(Listing.submitter_id.in_(signals.followed_users))
        )
        submitters = {paper_id: signals.followed_users[submitter] for paper_id, submitter in submitted}
    searches = [(search.label, set(parse_query(search.label).terms)) for search in signals.saved_searches]
    searches = [(label, wanted) for label, wanted in searches if wanted]
    for position, (paper_id, facts) in enumerate(zip(candidates.ids.tolist(), candidates.facts, strict=True)):
        matched: list[str] = []
        followed = [signals.followed_authors[key] for key in facts.author_keys if key in signals.followed_authors]
        if followed:
            boosts[position] += AUTHOR_FOLLOW_BOOST
            matched.append(f"You follow {followed[0]}")
        if paper_id in submitters:
            boosts[position] += USER_FOLLOW_BOOST
            matched.append(f"Submitted by @{submitters[paper_id]}, whom you follow")
        for label, wanted in searches:
            if wanted <= facts.terms:
                boosts[position] += SEARCH_FOLLOW_BOOST
                matched.append(f"Matches your saved search '{label}'")
                break
        categories = [category for category in facts.categories if category in signals.followed_categories]
        if not categories:
            # An archive followed (`cs`) covers its categories.
            categories = [
                category for category in facts.categories if category.split(".")[0] in signals.followed_categories
            ]
        if categories:
            boosts[position] += CATEGORY_FOLLOW_BOOST
            matched.append(f"In {categories[0]}, which you follow")
        if matched:
            reasons[position] = matched[0]
    return boosts, reasons


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


def _rank(
    session: Session, user_id: int, signals: ReaderSignals, candidates: FeatureMatrix, marker: Marker, limit: int | None
) -> list[Recommendation]:
    loaded = _reader_model(session, user_id, signals, marker)
    model = loaded.model
    scores = model.scores(candidates) if model is not None else np.zeros(len(candidates.ids))
    boosts, follow_reasons = _follow_boosts(session, signals, candidates)
    scores = scores + boosts
    hidden = np.isin(candidates.ids, list(signals.not_interested))
    scores[hidden] = -np.inf
    # Stable, so that without any signal the candidates keep the order they were given in.
    order = np.argsort(-scores, kind="stable")
    order = order[~hidden[order]]
    if limit is not None:
        order = order[:limit]
    needing_likeness = np.array(
        [position for position in order[:NAMED_REASONS].tolist() if follow_reasons[position] is None], dtype=np.int64
    )
    far_reason = FAR_REASON if signals.positives else NO_SIGNAL_REASON
    likeness_reasons = _nearest_positives(signals, candidates, loaded.reason_rows, needing_likeness)
    # Plain Python numbers, taken out of the arrays at once: indexing an array one item at a time costs more than
    # everything else here together.
    positions, paper_ids, ordered_scores = order.tolist(), candidates.ids[order].tolist(), scores[order].tolist()
    return [
        Recommendation(
            paper_id=paper_id,
            score=score,
            reason=follow_reasons[position] or likeness_reasons.get(position, far_reason),
        )
        for position, paper_id, score in zip(positions, paper_ids, ordered_scores, strict=True)
    ]


def rank_for_reader(
    session: Session, user_id: int, candidate_ids: Sequence[int], *, limit: int | None = None
) -> list[Recommendation]:
    """Every candidate except the reader's not-interested ones (the best `limit` only, when given), best first, each
    with a reason. Retrains the reader's model first when their signals changed since it was trained
    (ReaderModel.signals_changed_at > trained_at), and stores it: the session must be one that may write
    (`Database.session()`), unless the model is known to be current (`personal.feed.refresh_reader_model`)."""
    marker = catalogue_marker(session)
    candidates = feature_cache(session).features(session, candidate_ids, marker=marker)
    return _rank(session, user_id, read_signals(session, user_id), candidates, marker, limit)


def rank_for_readers(
    session: Session, user_ids: Sequence[int], candidate_ids: Sequence[int], limit: int
) -> dict[int, list[Recommendation]]:
    """The same for many readers at once, best `limit` each: for the email digest."""
    marker = catalogue_marker(session)
    candidates = feature_cache(session).features(session, candidate_ids, marker=marker)
    return {
        user_id: _rank(session, user_id, read_signals(session, user_id), candidates, marker, limit)
        for user_id in user_ids
    }


def reader_has_signals(session: Session, user_id: int) -> bool:
    """Whether the reader has anything their feed can learn from (else the page invites them to follow/save)."""
    return has_signals(session, user_id)
