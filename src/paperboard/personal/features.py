"""What the per-reader models see of a paper, computed once per process and reused across requests.

A paper is a sparse row of hashed features (tf-idf of its title and abstract terms, its authors' lookup keys, its
categories) and, when the worker has embedded it, its stored vector. Hashing keeps the feature space fixed however
the catalogue grows, so that a stored model stays readable; the inverse document frequencies come from a background
sample of the catalogue, drawn once per process and again only when the catalogue has grown by a tenth.

`FeatureCache.features` keeps the matrices of the last few candidate sets (a feed's period) and, when the catalogue
changes, recomputes only the rows of papers changed or embedded since: ranking a month for one reader is then a few
sparse and dense products instead of reading and analysing thousands of papers.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import zlib
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
from scipy import sparse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperboard.catalog.authors import author_key
from paperboard.db.models import Paper, PaperCategory, PaperEmbedding
from paperboard.search.analysis import terms
from paperboard.search.embeddings import stored_vectors

HASH_DIMENSIONS = 1 << 20
# The weight of each block in a paper's row (each block is normalised to length 1 first). First choices, except
# the vectors': on the replay's 2026-02 month (bench/for_you_replay.py, 100 readers) MRR was 0.480 at 1.0 and 0.595
# at 0.3 (the vectors blur what sets a researcher's papers apart: their co-authors and words).
TEXT_WEIGHT = 1.0
AUTHOR_WEIGHT = 1.0
CATEGORY_WEIGHT = 0.5
VECTOR_WEIGHT = 0.3
# A title says more about a paper than any one sentence of its abstract.
TITLE_REPEAT = 2
BACKGROUND_PAPERS = 1000
# The background is drawn again when the catalogue has grown (or shrunk) by this share since it was drawn.
BACKGROUND_REDRAW_SHARE = 0.1
CANDIDATE_SETS_KEPT = 4
# SQLite refuses statements with more than 32,766 parameters.
ID_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class PaperFacts:
    """What reasons and follows are matched on."""

    title: str
    authors: tuple[str, ...]
    author_keys: tuple[str, ...]
    categories: tuple[str, ...]
    terms: frozenset[str]


@dataclass(frozen=True)
class FeatureMatrix:
    """Rows for `ids`, in that order: hashed sparse features and (when vectors are stored) dense ones."""

    ids: np.ndarray
    sparse: sparse.csr_matrix
    # None when the catalogue has no stored vectors; rows of papers not embedded yet are zero, `embedded` False.
    vectors: np.ndarray | None
    embedded: np.ndarray
    facts: tuple[PaperFacts, ...]

    @cached_property
    def used_columns(self) -> np.ndarray:
        """The hashed columns some row uses, sorted: models' weights are mapped onto these before a product."""
        return np.unique(self.sparse.indices)

    @cached_property
    def compact(self) -> sparse.csr_matrix:
        """The sparse rows over `used_columns` only: a product over the whole hashed space walks a million columns."""
        columns = np.searchsorted(self.used_columns, self.sparse.indices).astype(np.int32)
        return sparse.csr_matrix(
            (self.sparse.data, columns, self.sparse.indptr), shape=(self.sparse.shape[0], len(self.used_columns))
        )

    @cached_property
    def index(self) -> FactIndex:
        return FactIndex(self.facts)

    def rows(self, positions: Sequence[int] | np.ndarray) -> FeatureMatrix:
        picked = np.asarray(positions, dtype=np.int64)
        return FeatureMatrix(
            ids=self.ids[picked],
            sparse=self.sparse[picked],
            vectors=None if self.vectors is None else self.vectors[picked],
            embedded=self.embedded[picked],
            facts=tuple(self.facts[position] for position in picked.tolist()),
        )


def _postings(keys_per_row: Iterable[Iterable[str]]) -> dict[str, np.ndarray]:
    postings: dict[str, list[int]] = {}
    for position, keys in enumerate(keys_per_row):
        for key in set(keys):
            postings.setdefault(key, []).append(position)
    return {key: np.array(positions, dtype=np.int64) for key, positions in postings.items()}


_NO_ROWS = np.zeros(0, dtype=np.int64)


class FactIndex:
    """The rows of a matrix by author key, category (and archive: `cs.CL` is under `cs` too) and term, so that a
    reader's follows are matched by a few lookups rather than by a pass over every row. Built the first time each is
    needed, and kept with the matrix (a feed's candidates serve every reader of the period)."""

    def __init__(self, facts: tuple[PaperFacts, ...]) -> None:
        self._facts = facts

    @cached_property
    def _authors(self) -> dict[str, np.ndarray]:
        return _postings(facts.author_keys for facts in self._facts)

    @cached_property
    def _categories(self) -> dict[str, np.ndarray]:
        return _postings(
            [*facts.categories, *(category.split(".")[0] for category in facts.categories)] for facts in self._facts
        )

    @cached_property
    def _terms(self) -> dict[str, np.ndarray]:
        return _postings(facts.terms for facts in self._facts)

    def by_any_author(self, keys: Iterable[str]) -> np.ndarray:
        return _union(self._authors.get(key, _NO_ROWS) for key in keys)

    def in_any_category(self, categories: Iterable[str]) -> np.ndarray:
        """Rows with one of these categories, or one of their categories in one of these archives."""
        return _union(self._categories.get(category, _NO_ROWS) for category in categories)

    def with_every_term(self, wanted: Iterable[str]) -> np.ndarray:
        rows: np.ndarray | None = None
        for term in wanted:
            having = self._terms.get(term, _NO_ROWS)
            rows = having if rows is None else np.intersect1d(rows, having, assume_unique=True)
        return _NO_ROWS if rows is None else rows


def _union(parts: Iterable[np.ndarray]) -> np.ndarray:
    listed = list(parts)
    return np.unique(np.concatenate(listed)) if listed else _NO_ROWS


def stacked(matrices: Sequence[FeatureMatrix]) -> FeatureMatrix:
    """One matrix of the rows of several, in order (all from the same feature space)."""
    vectors = [matrix.vectors for matrix in matrices]
    return FeatureMatrix(
        ids=np.concatenate([matrix.ids for matrix in matrices]),
        sparse=sparse.vstack([matrix.sparse for matrix in matrices]).tocsr(),
        vectors=None if any(part is None for part in vectors) else np.vstack(vectors),  # type: ignore[arg-type]
        embedded=np.concatenate([matrix.embedded for matrix in matrices]),
        facts=tuple(facts for matrix in matrices for facts in matrix.facts),
    )


@dataclass(frozen=True)
class Vocabulary:
    """The inverse document frequencies rows are weighted with, and the background sample they were counted on."""

    idf: dict[str, float]
    unseen_idf: float
    papers_when_drawn: int  # the largest paper id then
    background_ids: tuple[int, ...]


@dataclass(frozen=True)
class Marker:
    """The catalogue's state as far as features go: the latest paper change and the latest vector stored."""

    papers: datetime | None
    embeddings: datetime | None
    model: str | None
    dimensions: int


def catalogue_marker(session: Session) -> Marker:
    papers = session.scalar(select(func.max(Paper.changed_at)))
    latest = session.execute(
        select(PaperEmbedding.embedded_at, PaperEmbedding.model, func.length(PaperEmbedding.title_vector))
        .order_by(PaperEmbedding.embedded_at.desc())
        .limit(1)
    ).first()
    if latest is None:
        return Marker(papers, None, None, 0)
    # The newest vector's model is the embedder the worker runs now; vectors are stored as float16 (2 bytes).
    return Marker(papers, latest[0], latest[1], int(latest[2]) // 2)


def feature_space(marker: Marker) -> str:
    """The name of the space a model's weights live in: a model trained in another space is trained again."""
    return f"hashed20+{marker.model}:{marker.dimensions}" if marker.model else "hashed20"


def _hashed(feature: str) -> int:
    return zlib.crc32(feature.encode()) & (HASH_DIMENSIONS - 1)


def _normalised_block(weights: dict[int, float], scale: float, into: dict[int, float]) -> None:
    norm = math.sqrt(sum(value * value for value in weights.values()))
    if norm == 0:
        return
    for index, value in weights.items():
        into[index] = into.get(index, 0.0) + scale * value / norm


def _sparse_row(
    facts: PaperFacts, title_terms: list[str], abstract_terms: list[str], vocabulary: Vocabulary
) -> dict[int, float]:
    row: dict[int, float] = {}
    text: dict[int, float] = {}
    for term, count in Counter(title_terms * TITLE_REPEAT + abstract_terms).items():
        index = _hashed(f"t:{term}")
        text[index] = text.get(index, 0.0) + (1 + math.log(count)) * vocabulary.idf.get(term, vocabulary.unseen_idf)
    _normalised_block(text, TEXT_WEIGHT, row)
    _normalised_block({_hashed(f"a:{key}"): 1.0 for key in facts.author_keys}, AUTHOR_WEIGHT, row)
    _normalised_block({_hashed(f"c:{category}"): 1.0 for category in facts.categories}, CATEGORY_WEIGHT, row)
    return row


def _read_papers(session: Session, paper_ids: Sequence[int]) -> dict[int, tuple[str, str, list[str], list[str]]]:
    """id -> (title, abstract, authors, categories in order) for the papers that exist."""
    papers: dict[int, tuple[str, str, list[str], list[str]]] = {}
    for start in range(0, len(paper_ids), ID_CHUNK):
        chunk = list(paper_ids[start : start + ID_CHUNK])
        categories: dict[int, list[str]] = {}
        for paper_id, category in session.execute(
            select(PaperCategory.paper_id, PaperCategory.category)
            .where(PaperCategory.paper_id.in_(chunk))
            .order_by(PaperCategory.paper_id, PaperCategory.position)
        ):
            categories.setdefault(paper_id, []).append(category)
        for paper_id, title, abstract, authors in session.execute(
            select(Paper.id, Paper.title, Paper.abstract, Paper.authors).where(Paper.id.in_(chunk))
        ):
            papers[paper_id] = (title, abstract, list(authors or []), categories.get(paper_id, []))
    return papers


def _read_vectors(session: Session, marker: Marker, paper_ids: Sequence[int]) -> dict[int, np.ndarray]:
    vectors: dict[int, np.ndarray] = {}
    if marker.model is None:
        return vectors
    for start in range(0, len(paper_ids), ID_CHUNK):
        chunk = list(paper_ids[start : start + ID_CHUNK])
        for ids, matrix in stored_vectors(session, marker.model, marker.dimensions, paper_ids=chunk):
            vectors.update(zip(ids.tolist(), matrix * VECTOR_WEIGHT, strict=True))
    return vectors


@dataclass
class _Rows:
    """Computed rows by paper id, for assembling matrices."""

    sparse: dict[int, tuple[np.ndarray, np.ndarray]]  # (int32 feature indices, float32 values)
    vectors: dict[int, np.ndarray]
    facts: dict[int, PaperFacts]


def _compute_rows(session: Session, marker: Marker, vocabulary: Vocabulary, paper_ids: Sequence[int]) -> _Rows:
    rows = _Rows({}, _read_vectors(session, marker, paper_ids), {})
    for paper_id, (title, abstract, authors, categories) in _read_papers(session, paper_ids).items():
        title_terms, abstract_terms = terms(title), terms(abstract)
        facts = PaperFacts(
            title=title,
            authors=tuple(authors),
            author_keys=tuple(dict.fromkeys(author_key(name) for name in authors)),
            categories=tuple(categories),
            terms=frozenset(title_terms + abstract_terms + [term for name in authors for term in terms(name)]),
        )
        rows.facts[paper_id] = facts
        row = _sparse_row(facts, title_terms, abstract_terms, vocabulary)
        rows.sparse[paper_id] = (
            np.fromiter(row.keys(), dtype=np.int32, count=len(row)),
            np.fromiter(row.values(), dtype=np.float32, count=len(row)),
        )
    return rows


def _assemble(paper_ids: Sequence[int], rows: _Rows, dimensions: int) -> FeatureMatrix:
    """The matrix of the papers of `paper_ids` that exist, in that order."""
    present = [paper_id for paper_id in paper_ids if paper_id in rows.facts]
    parts = [rows.sparse[paper_id] for paper_id in present]
    indptr = np.concatenate([[0], np.cumsum([len(indices) for indices, _ in parts], dtype=np.int64)])
    indices = np.concatenate([indices for indices, _ in parts]) if parts else np.zeros(0, np.int32)
    values = np.concatenate([values for _, values in parts]) if parts else np.zeros(0, np.float32)
    matrix = sparse.csr_matrix((values, indices, indptr), shape=(len(present), HASH_DIMENSIONS))
    embedded = np.array([paper_id in rows.vectors for paper_id in present], dtype=bool)
    vectors = None
    if dimensions:
        vectors = np.zeros((len(present), dimensions), dtype=np.float32)
        for position, paper_id in enumerate(present):
            vector = rows.vectors.get(paper_id)
            if vector is not None:
                vectors[position] = vector
    return FeatureMatrix(
        ids=np.array(present, dtype=np.int64),
        sparse=matrix,
        vectors=vectors,
        embedded=embedded,
        facts=tuple(rows.facts[paper_id] for paper_id in present),
    )


def _draw_vocabulary(session: Session) -> Vocabulary:
    live = sorted(session.scalars(select(Paper.id).where(Paper.deleted_at.is_(None))))
    # Seeded, so that every process of a site draws the same background from the same catalogue.
    background = sorted(random.Random(0).sample(live, min(BACKGROUND_PAPERS, len(live))))
    frequencies: Counter[str] = Counter()
    for title, abstract, _, _ in _read_papers(session, background).values():
        frequencies.update(set(terms(title)) | set(terms(abstract)))
    documents = len(background)
    idf = {term: math.log((1 + documents) / (1 + count)) + 1 for term, count in frequencies.items()}
    return Vocabulary(idf, math.log(1 + documents) + 1, live[-1] if live else 0, tuple(background))


@dataclass
class _CachedSet:
    marker: Marker
    vocabulary: Vocabulary
    paper_ids: tuple[int, ...]
    rows: _Rows
    matrix: FeatureMatrix


class FeatureCache:
    """Per process: the vocabulary, the background's rows and the last candidate sets' matrices."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vocabulary: Vocabulary | None = None
        self._sets: OrderedDict[tuple[str, bytes], _CachedSet] = OrderedDict()

    def vocabulary(self, session: Session, marker: Marker) -> Vocabulary:
        with self._lock:
            vocabulary = self._vocabulary
            if vocabulary is not None and marker.papers is not None:
                # Papers are added with growing ids and seldom withdrawn: the largest id measures growth without
                # counting the table.
                papers = session.scalar(select(func.max(Paper.id))) or 0
                if abs(papers - vocabulary.papers_when_drawn) <= BACKGROUND_REDRAW_SHARE * max(
                    vocabulary.papers_when_drawn, 1
                ):
                    return vocabulary
            vocabulary = self._vocabulary = _draw_vocabulary(session)
            return vocabulary

    def features(
        self,
        session: Session,
        paper_ids: Iterable[int],
        *,
        marker: Marker | None = None,
        vocabulary: Vocabulary | None = None,
        keep: bool = True,
    ) -> FeatureMatrix:
        """The rows of the papers of `paper_ids` that exist, in that order. With `keep` (a feed's candidates, the
        background) they are kept for the next call with the same papers, and only the rows of papers changed since
        are computed again; without it (one reader's own papers) they are computed and forgotten."""
        given = np.fromiter(paper_ids, dtype=np.int64)
        # The first of each id, in the order given: a month's 9,000 ids through numpy rather than a Python loop.
        first = np.sort(np.unique(given, return_index=True)[1])
        unique = given if len(first) == len(given) else given[first]
        ordered = tuple(unique.tolist())
        marker = marker or catalogue_marker(session)
        if not keep:
            vocabulary = vocabulary or self.vocabulary(session, marker)
            return _assemble(ordered, _compute_rows(session, marker, vocabulary, ordered), marker.dimensions)
        key = (feature_space(marker), hashlib.blake2b(unique.tobytes()).digest())
        with self._lock:
            cached = self._sets.get(key)
            if cached is not None:
                self._sets.move_to_end(key)
        if cached is not None and cached.marker == marker:
            return cached.matrix
        vocabulary = vocabulary or self.vocabulary(session, marker)
        if cached is not None and cached.vocabulary is vocabulary:
            rows = cached.rows
            stale = self._changed_since(session, cached.marker, ordered)
            fresh = _compute_rows(session, marker, vocabulary, sorted(stale))
            for paper_id in stale:
                for part in (rows.sparse, rows.vectors, rows.facts):
                    part.pop(paper_id, None)
            rows.sparse.update(fresh.sparse)
            rows.vectors.update(fresh.vectors)
            rows.facts.update(fresh.facts)
        else:
            rows = _compute_rows(session, marker, vocabulary, ordered)
        matrix = _assemble(ordered, rows, marker.dimensions)
        with self._lock:
            self._sets[key] = _CachedSet(marker, vocabulary, ordered, rows, matrix)
            self._sets.move_to_end(key)
            while len(self._sets) > CANDIDATE_SETS_KEPT:
                self._sets.popitem(last=False)
        return matrix

    @staticmethod
    def _changed_since(session: Session, marker: Marker, paper_ids: tuple[int, ...]) -> set[int]:
        wanted = set(paper_ids)
        changed: set[int] = set()
        if marker.papers is not None:
            changed.update(session.scalars(select(Paper.id).where(Paper.changed_at > marker.papers)))
        else:
            changed.update(paper_ids)
        embedded = select(PaperEmbedding.paper_id)
        if marker.embeddings is not None:
            embedded = embedded.where(PaperEmbedding.embedded_at > marker.embeddings)
        changed.update(session.scalars(embedded))
        return changed & wanted


_CACHES: dict[str, FeatureCache] = {}
_CACHES_LOCK = threading.Lock()


def feature_cache(session: Session) -> FeatureCache:
    """This process's cache for the session's database (a process normally serves one; tests open many)."""
    key = database_key(session)
    with _CACHES_LOCK:
        cache = _CACHES.get(key)
        if cache is None:
            cache = _CACHES[key] = FeatureCache()
        return cache


def database_key(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)
