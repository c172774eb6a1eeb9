"""Each reader's learned taste: a logistic regression per reader, as Scholar Inbox trains one per user, over the
features of personal/features.py (hashed tf-idf of title and abstract, author keys, categories, and the stored
vectors when the worker has made them). Positives are the papers of the reader's collections, their upvotes, the
papers of the names they have claimed and the newest papers of the authors they follow; negatives are a background
sample of the catalogue and, weighted more, the papers they marked "not interested".

A model is stored in `reader_models` (only its largest sparse weights, so that a digest run can read thousands). It
is out of date when the reader acted since it was trained (`signals_changed_at` later than `trained_at`) or the
feature space changed (another embedder). Two things bring it up to date:
- the reader's own feed, before it ranks (`refresh_reader_model`): they see the effect of what they just did;
- the worker, for every reader who acted (`retrain_stale_models`, a few dozen a round, one worker at a time): the
  email digest then only scores with stored models and never trains.
Both train in a reading session and store in a short transaction of its own, which keeps a model trained later
(`store_model`): no request or job holds SQLite's one write lock while liblinear runs.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy import sparse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db import Database
from paperboard.db.locks import LockBusy, exclusive_lock
from paperboard.db.models import ReaderModel
from paperboard.personal.activity import ensure_reader_model
from paperboard.personal.features import (
    FeatureMatrix,
    Marker,
    catalogue_marker,
    database_key,
    feature_cache,
    feature_space,
    stacked,
)
from paperboard.personal.signals import ReaderSignals, Source, read_signals

# Regularisation of the per-reader regression (scikit-learn's C) and how much more a "not interested" weighs than
# a background paper: first choices, not tuned yet (bench/for_you_replay.py on 2026-02 is where to tune them).
REGULARISATION_C = 1.0
NOT_INTERESTED_WEIGHT = 5.0
# The sparse weights kept in a stored model, largest first: the rest move scores by little, and a digest run reads
# every subscriber's model.
STORED_SPARSE_WEIGHTS = 4096
# Reasons name the most similar of at most this many positives (the strongest sources first).
REASON_POSITIVES = 200
MODELS_KEPT = 1024
# Readers the worker retrains per round: about 50 ms each, so that a round leaves the worker's other duties waiting
# a few seconds at most.
RETRAINED_PER_ROUND = 50
RETRAINING_LOCK = "reader-models"


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


def train(positives: FeatureMatrix, negatives: FeatureMatrix, negative_weights: np.ndarray) -> TrainedModel:
    """A logistic regression of positives against negatives, classes balanced."""
    # Imported here, where a model is trained: scikit-learn took longer to import than the rest of the command
    # line, which every `paperboard` command (and every web process) paid without training anything.
    from sklearn.linear_model import LogisticRegression

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
class LoadedModel:
    """A reader's model as this process holds it, with the positives its reasons name (their rows computed once).
    `trained_at` is the time of the reader's last action the model knows of."""

    trained_at: datetime | None
    space: str
    model: TrainedModel | None
    reason_rows: FeatureMatrix | None


class _ModelCache:
    """Models already read or trained in this process, by reader."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: OrderedDict[tuple[str, int], LoadedModel] = OrderedDict()

    def get(self, session: Session, user_id: int, trained_at: datetime | None, space: str) -> LoadedModel | None:
        key = (database_key(session), user_id)
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None or (loaded.trained_at, loaded.space) != (trained_at, space):
                return None
            self._models.move_to_end(key)
            return loaded

    def put(self, session: Session, user_id: int, loaded: LoadedModel) -> None:
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


def is_stale(state: ReaderModel | None, space: str) -> bool:
    """Whether the reader's stored model misses something they did, or lives in another feature space."""
    return (
        state is None
        or state.trained_at is None
        or state.signals_changed_at > state.trained_at
        or state.feature_space != space
    )


def train_reader(
    session: Session, user_id: int, signals: ReaderSignals, marker: Marker, trained_at: datetime | None
) -> LoadedModel:
    """The reader's model trained on `signals` (read at `trained_at`), without storing it: only reads, so that it
    can run in a reading session. No model when there is no positive to learn from."""
    model: TrainedModel | None = None
    reason_rows: FeatureMatrix | None = None
    if signals.positives:
        cache = feature_cache(session)
        vocabulary = cache.vocabulary(session, marker)
        positives = cache.features(session, _positive_ids(signals), marker=marker, vocabulary=vocabulary, keep=False)
        reason_rows = positives.rows(np.arange(min(REASON_POSITIVES, len(positives.ids))))
        background = cache.features(session, vocabulary.background_ids, marker=marker, vocabulary=vocabulary)
        excluded = set(signals.positives) | set(signals.not_interested)
        background = background.rows(
            [row for row, paper_id in enumerate(background.ids.tolist()) if paper_id not in excluded]
        )
        disliked = cache.features(
            session, sorted(signals.not_interested), marker=marker, vocabulary=vocabulary, keep=False
        )
        negatives = stacked([background, disliked])
        if positives.ids.size and negatives.ids.size:
            weights = np.concatenate([np.ones(len(background.ids)), np.full(len(disliked.ids), NOT_INTERESTED_WEIGHT)])
            model = train(positives, negatives, weights)
    loaded = LoadedModel(trained_at, feature_space(marker), model, reason_rows)
    _MODELS.put(session, user_id, loaded)
    return loaded


def store_model(session: Session, user_id: int, loaded: LoadedModel) -> bool:
    """Store a model trained on the reader's signals as they were at `loaded.trained_at`, unless one trained on later
    signals (by a worker, or the reader's own request) was stored meanwhile; whether it was stored."""
    assert loaded.trained_at is not None
    ensure_reader_model(session, user_id, loaded.trained_at)
    state = session.get_one(ReaderModel, user_id, with_for_update=True, populate_existing=True)
    if state.feature_space == loaded.space and state.trained_at is not None and state.trained_at >= loaded.trained_at:
        return False
    state.trained_at = loaded.trained_at
    state.feature_space = loaded.space
    state.model = None if loaded.model is None else loaded.model.to_bytes()
    session.flush()
    return True


def current_model(session: Session, user_id: int, signals: ReaderSignals, marker: Marker) -> LoadedModel:
    """The reader's model, retrained and stored first when it is out of date (so `session` must be one that may
    write, unless `refresh_reader_model` just ran)."""
    state = session.get(ReaderModel, user_id)
    space = feature_space(marker)
    if is_stale(state, space):
        # No row: signals written without `signals_changed` (imported, or from before the personal layer).
        loaded = train_reader(session, user_id, signals, marker, state.signals_changed_at if state else utcnow())
        store_model(session, user_id, loaded)
        return loaded
    assert state is not None
    return _MODELS.get(session, user_id, state.trained_at, space) or _from_row(session, state, signals, marker)


def _from_row(session: Session, state: ReaderModel, signals: ReaderSignals, marker: Marker) -> LoadedModel:
    positives = feature_cache(session).features(
        session, _positive_ids(signals)[:REASON_POSITIVES], marker=marker, keep=False
    )
    model = None if state.model is None else TrainedModel.from_bytes(state.model)
    loaded = LoadedModel(state.trained_at, feature_space(marker), model, positives)
    _MODELS.put(session, state.user_id, loaded)
    return loaded


def refresh_reader_model(database: Database, user_id: int) -> None:
    """Retrain and store the reader's model if it is out of date: trained in a reading session, stored in a short
    transaction of its own. A reader whose model is current costs one small query; holding a writing session
    instead would hold SQLite's one write lock for the whole site on every feed request."""
    with database.read_session() as session:
        state = session.get(ReaderModel, user_id)
        marker = catalogue_marker(session)
        if not is_stale(state, feature_space(marker)):
            return
        trained_at = state.signals_changed_at if state else utcnow()
        loaded = train_reader(session, user_id, read_signals(session, user_id), marker, trained_at)
    with database.session() as session:
        store_model(session, user_id, loaded)


def stale_readers(session: Session, space: str, limit: int) -> list[tuple[int, datetime]]:
    """Up to `limit` readers whose stored model is out of date, longest waiting first, with the time of their last
    action."""
    rows = session.execute(
        select(ReaderModel.user_id, ReaderModel.signals_changed_at)
        .where(
            or_(
                ReaderModel.trained_at.is_(None),
                ReaderModel.signals_changed_at > ReaderModel.trained_at,
                ReaderModel.feature_space.is_(None),
                ReaderModel.feature_space != space,
            )
        )
        .order_by(ReaderModel.signals_changed_at, ReaderModel.user_id)
        .limit(limit)
    )
    return [(user_id, changed_at) for user_id, changed_at in rows]


def retrain_stale_models(database: Database, lock_dir: Path, limit: int = RETRAINED_PER_ROUND) -> int:
    """The worker's duty: retrain up to `limit` readers whose model is out of date, and store them; how many were
    stored. One worker at a time (`db.locks`): another finding the lock held skips its round, so that two workers
    never train the same reader twice."""
    try:
        with exclusive_lock(database, RETRAINING_LOCK, fallback_dir=lock_dir):
            with database.read_session() as session:
                marker = catalogue_marker(session)
                trained = [
                    (user_id, train_reader(session, user_id, read_signals(session, user_id), marker, changed_at))
                    for user_id, changed_at in stale_readers(session, feature_space(marker), limit)
                ]
            with database.session() as session:
                return sum(store_model(session, user_id, loaded) for user_id, loaded in trained)
    except LockBusy:
        return 0
