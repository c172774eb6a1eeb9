"""Search as the site and the API use it: a query, filters and an order in; papers out.

Each web worker holds one `Searcher`. It searches the index generation on disk (see `index_store`) and, beside it,
a small index of the papers changed or embedded since that generation was built, read from the database and kept
up to date as searches arrive: a paper imported, fetched or withdrawn a moment ago is found (or no longer found)
by keyword at once, and by meaning as soon as its vector is stored. The next build folds those papers into the main
index. On PostgreSQL a worker whose folder lacks the database's newest generation downloads it (`shared_index`):
at its first search when it has none (there is nothing else to search), in the background when it has an older one
(which it keeps searching meanwhile).

A query that is an arXiv id in any form the catalogue reads (`2506.03781v2`, `arXiv:hep-th/9901001`, an abs or pdf
address) names one paper: it finds that paper alone, whatever the mode and filters, rather than the papers that
happen to share the address's words.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property

import faiss
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, raiseload, selectinload
from threadpoolctl import threadpool_limits

from paperboard.catalog.ids import ArxivId, InvalidArxivId, parse_arxiv_id
from paperboard.community.counts import upvote_counts
from paperboard.config import Settings
from paperboard.db.batches import in_batches
from paperboard.db.models import Listing, Paper, PaperEmbedding
from paperboard.search.analysis import ParsedQuery, contains_phrase, parse_query
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embedding_counts, model_key, stored_vectors
from paperboard.search.engine import (
    DEFAULT_FUSION,
    Explanation,
    Fusion,
    Ranking,
    SearchMode,
    rank,
    ranked_lists,
    rows_of,
    semantic_ranking,
)
from paperboard.search.facets import PaperFacets, SearchFilters
from paperboard.search.index_store import IndexStore, LoadedIndex, facets_for, read_documents
from paperboard.search.keyword_index import KeywordIndex, TermCounts
from paperboard.search.vector_index import VectorIndex

QUERY_MAX_LENGTH = 250
# Results are ranked this deep; pages, and the orders by date and upvotes, work within them.
RESULTS_DEPTH = 200
# How often a worker looks for a new index generation and for papers changed since its own view, in seconds.
REFRESH_SECONDS = 1.0
# A web worker embeds one short query at a time: one thread each keeps workers from competing for the cores.
QUERY_EMBEDDING_THREADS = 1

logger = logging.getLogger(__name__)


class QueryTooLong(ValueError):
    """The query is longer than `QUERY_MAX_LENGTH` characters."""


class SearchSort(StrEnum):
    RELEVANCE = "relevance"
    DATE = "date"
    UPVOTES = "upvotes"


@dataclass(frozen=True)
class SearchRequest:
    query: str
    mode: SearchMode = SearchMode.HYBRID
    filters: SearchFilters = field(default_factory=SearchFilters)
    sort: SearchSort = SearchSort.RELEVANCE
    limit: int = 20
    offset: int = 0
    explain: bool = False
    """Give each hit its `Explanation` (no other cost than building it)."""


@dataclass(frozen=True)
class SearchHit:
    paper: Paper
    score: float
    explanation: Explanation | None = None
    """Only when the request asked for it, and never for the paper an arXiv id names (no ranking chose it)."""


@dataclass(frozen=True)
class SearchResults:
    """One page of hits; `total` counts every result within `RESULTS_DEPTH`. `named` is the arXiv id the query
    was, if it was one (then the hits are that paper, or none when the catalogue lacks it)."""

    hits: list[SearchHit]
    total: int
    query: ParsedQuery
    named: ArxivId | None = None


EmbedderLoader = Callable[[], Embedder]


@dataclass(frozen=True)
class _MainPart:
    """The generation on disk, with what changed since it was built masked out: papers whose text changed
    (`unchanged` is False for them) and vectors replaced since (`vector_current`), whose new versions are in
    `fresh_vectors`."""

    index: LoadedIndex
    unchanged: np.ndarray | None
    row_of_vector: np.ndarray
    vector_current: np.ndarray | None
    fresh_vectors: VectorIndex
    row_of_fresh: np.ndarray


@dataclass(frozen=True)
class SemanticCoverage:
    """How many of the papers search holds have a current vector: those it can find by meaning."""

    papers: int
    with_vectors: int

    @property
    def complete(self) -> bool:
        return self.with_vectors >= self.papers


@dataclass(frozen=True)
class _View:
    """What a worker searches: the main part (if there is a generation) and, beside it, the papers new or changed
    since, read from the database (`recent`, with their facets and vectors)."""

    main: _MainPart | None
    recent: KeywordIndex
    recent_facets: PaperFacets
    recent_vectors: VectorIndex
    recent_row_of_vector: np.ndarray
    papers_mark: datetime | None
    embeddings_mark: datetime | None

    @cached_property
    def coverage(self) -> SemanticCoverage:
        """Counted from the parts searched (changed papers are in `recent`, masked out of the main part)."""
        papers, with_vectors = len(self.recent), len(self.recent_vectors)
        main = self.main
        if main is not None:
            papers += len(main.index.keyword) if main.unchanged is None else int(main.unchanged.sum())
            current = len(main.index.vectors) if main.vector_current is None else int(main.vector_current.sum())
            with_vectors += current + len(main.fresh_vectors)
        return SemanticCoverage(papers=papers, with_vectors=with_vectors)

    def masks(
        self, filters: SearchFilters, listed: np.ndarray | None
    ) -> tuple[list[tuple[KeywordIndex, np.ndarray | None]], list[tuple[VectorIndex, np.ndarray | None]]]:
        """The keyword and vector parts to search, each with the mask of rows that pass the filters."""
        keyword_parts: list[tuple[KeywordIndex, np.ndarray | None]] = []
        vector_parts: list[tuple[VectorIndex, np.ndarray | None]] = []
        main = self.main
        if main is not None:
            allowed = _both(main.index.facets.mask(filters), main.unchanged)
            if listed is not None:
                allowed = _both(allowed, np.isin(main.index.keyword.paper_ids, listed))
            keyword_parts.append((main.index.keyword, allowed))
            vector_allowed = None if allowed is None else allowed[main.row_of_vector]
            vector_parts.append((main.index.vectors, _both(vector_allowed, main.vector_current)))
            vector_parts.append((main.fresh_vectors, None if allowed is None else allowed[main.row_of_fresh]))
        recent_allowed = self.recent_facets.mask(filters)
        if listed is not None:
            recent_allowed = _both(recent_allowed, np.isin(self.recent.paper_ids, listed))
        keyword_parts.append((self.recent, recent_allowed))
        vector_parts.append(
            (self.recent_vectors, None if recent_allowed is None else recent_allowed[self.recent_row_of_vector])
        )
        return keyword_parts, vector_parts


def _both(first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray | None:
    if first is None:
        return second
    if second is None:
        return first
    return first & second


def _empty_vectors(dimensions: int) -> VectorIndex:
    return VectorIndex(np.empty(0, dtype=np.int64), np.empty((0, dimensions), dtype=np.float32))


def _vectors(session: Session, model: str, dimensions: int, paper_ids: Sequence[int]) -> VectorIndex:
    ids: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    for chunk in in_batches(paper_ids):
        for chunk_ids, chunk_vectors in stored_vectors(session, model, dimensions, paper_ids=chunk):
            ids.append(chunk_ids)
            vectors.append(chunk_vectors)
    if not ids:
        return _empty_vectors(dimensions)
    all_ids = np.concatenate(ids)
    order = np.argsort(all_ids)
    return VectorIndex(all_ids[order], np.concatenate(vectors)[order])


@dataclass(frozen=True)
class IndexStatus:
    """How far search has caught up with the catalogue, for the admin page and `paperboard index`."""

    papers: int
    embedded: int
    indexed_papers: int
    indexed_vectors: int
    built_at: str | None


class Searcher:
    """Searches one database; safe to share between the threads of a worker."""

    def __init__(self, store: IndexStore, embedder_loader: EmbedderLoader, *, fusion: Fusion = DEFAULT_FUSION) -> None:
        self.store = store
        self._embedder_loader = embedder_loader
        self._embedder: Embedder | None = None
        self._fusion = fusion
        self._lock = threading.Lock()
        self._view: _View | None = None
        self._pointer_stamp: float | None = None
        self._checked_at = -REFRESH_SECONDS
        self._download: threading.Thread | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = self._embedder_loader()
        return self._embedder

    def model(self) -> str:
        return model_key(self.embedder)

    def search(self, session: Session, request: SearchRequest, *, with_categories: bool = True) -> SearchResults:
        """One page of results. Their papers come with their categories unless `with_categories` is False (the API
        shows none): loading them took half the time of loading a page of papers."""
        if len(request.query) > QUERY_MAX_LENGTH:
            raise QueryTooLong(f"A search query can be at most {QUERY_MAX_LENGTH} characters long.")
        named = _arxiv_id_in(request.query)
        explanations: dict[int, Explanation] = {}
        if named is not None:
            # Nothing of an id or an address is a word to mark in the results.
            parsed = parse_query("")
            ordered = _named_paper(session, named)
        else:
            parsed = parse_query(request.query)
            ordered, explanations = self._ranked(session, request, parsed)
        page = ordered[request.offset : request.offset + request.limit]
        papers = _papers_by_id(session, [paper_id for paper_id, _ in page], with_categories=with_categories)
        hits = [
            SearchHit(papers[paper_id], score, explanations.get(paper_id))
            for paper_id, score in page
            if paper_id in papers
        ]
        return SearchResults(hits=hits, total=len(ordered), query=parsed, named=named)

    def _ranked(
        self, session: Session, request: SearchRequest, parsed: ParsedQuery
    ) -> tuple[Ranking, dict[int, Explanation]]:
        """The ranking, and each paper's explanation if the request asked for them (else none)."""
        view = self._current_view(session)
        listed = _listed_ids(session) if request.filters.listed else None
        keyword_parts, vector_parts = view.masks(request.filters, listed)
        lists = ranked_lists(
            keyword_parts,
            vector_parts,
            request.query,
            request.mode,
            embedder=self.embedder if request.mode is not SearchMode.KEYWORD else None,
            limit=RESULTS_DEPTH,
            fusion=self._fusion,
        )
        ranking = lists.ranking
        if parsed.phrases:
            ranking = _with_phrases(session, ranking, parsed.phrases)
        return _sorted(session, ranking, request.sort), lists.explanations() if request.explain else {}

    def similar(self, session: Session, paper: Paper, limit: int) -> list[Paper]:
        """The papers nearest in meaning to `paper` (by its title when it has no vector yet), nearest first."""
        view = self._current_view(session)
        keyword_parts, vector_parts = view.masks(SearchFilters(), None)
        vector = _vector_of(view, paper.id)
        if vector is not None:
            ranking = _merged_semantic(vector_parts, vector, limit + 1)
        else:
            ranking = rank(keyword_parts, [], paper.title, SearchMode.KEYWORD, embedder=None, limit=limit + 1)
        papers = _papers_by_id(session, [paper_id for paper_id, _ in ranking if paper_id != paper.id][:limit])
        return [papers[paper_id] for paper_id, _ in ranking if paper_id in papers]

    def status(self, session: Session) -> IndexStatus:
        counts = embedding_counts(session, self.model())
        manifest = self.store.current_manifest()
        return IndexStatus(
            papers=counts.papers,
            embedded=counts.embedded,
            indexed_papers=manifest.papers if manifest else 0,
            indexed_vectors=manifest.vectors if manifest else 0,
            built_at=manifest.built_at if manifest else None,
        )

    def semantic_coverage(self, session: Session) -> SemanticCoverage:
        """How much of the catalogue meaning can find, from what searches hold already: no count per call."""
        return self._current_view(session).coverage

    def _current_view(self, session: Session) -> _View:
        view = self._view
        if view is not None and time.monotonic() - self._checked_at < REFRESH_SECONDS:
            return view
        with self._lock:
            view = self._view
            if view is not None and time.monotonic() - self._checked_at < REFRESH_SECONDS:
                return view
            model = self._loaded_model()
            self._follow_database(session)
            stamp = self.store.pointer_stamp()
            current = view.main.index if view is not None and view.main is not None else None
            main = current if view is not None and stamp == self._pointer_stamp else self._load_main(model)
            papers_mark = session.scalar(select(func.max(Paper.changed_at)))
            embeddings_mark = session.scalar(
                select(func.max(PaperEmbedding.embedded_at)).where(PaperEmbedding.model == model)
            )
            if (
                view is None
                or main is not current
                or (papers_mark, embeddings_mark) != (view.papers_mark, view.embeddings_mark)
            ):
                dimensions = self._embedder.dimensions if self._embedder is not None else 0
                view = _build_view(session, main, model, dimensions, papers_mark, embeddings_mark)
                self._view = view
            self._pointer_stamp = stamp
            self._checked_at = time.monotonic()
            return view

    def _follow_database(self, session: Session) -> None:
        """Download the database's newest generation if this folder lacks it (PostgreSQL; called with the lock)."""
        if self._download is not None and self._download.is_alive():
            return
        newest = self.store.newer_generation(session)
        if newest is None:
            return
        if self.store.current_manifest() is None:
            self.store.fetch(session, newest)
            return
        bind = session.get_bind()

        def download() -> None:
            try:
                with Session(bind) as own, own.begin():
                    self.store.fetch(own, newest, wait=False)
            except Exception:
                # Searches go on with the generation in place; the next refresh tries again.
                logger.exception("search: could not download index generation %s", newest.generation)

        self._download = threading.Thread(target=download, name="index-download", daemon=True)
        self._download.start()

    def _loaded_model(self) -> str:
        # Called with the lock held, so not through the `embedder` property, which takes it.
        if self._embedder is None:
            self._embedder = self._embedder_loader()
        return model_key(self._embedder)

    def _load_main(self, model: str) -> LoadedIndex | None:
        loaded = self.store.load()
        if loaded is None or loaded.manifest.model != model:
            # An index of another model's vectors (the embedder was changed) is searched as if absent until
            # `paperboard index` builds one for this model.
            return None
        return loaded


def _build_view(
    session: Session,
    main: LoadedIndex | None,
    model: str,
    dimensions: int,
    papers_mark: datetime | None,
    embeddings_mark: datetime | None,
) -> _View:
    papers_since = main.manifest.papers_through_time if main is not None else None
    embeddings_since = main.manifest.embeddings_through_time if main is not None else None
    if main is not None and papers_since is None:
        papers_since = datetime.min
    changed = select(Paper.id)
    if papers_since is not None:
        changed = changed.where(Paper.changed_at > papers_since)
    changed_ids = np.array(sorted(session.scalars(changed)), dtype=np.int64)
    ids: list[int] = []
    documents = []
    for chunk_ids, chunk_documents in read_documents(session, changed_after=papers_since):
        ids.extend(chunk_ids)
        documents.extend(chunk_documents)
    recent_ids = np.array(ids, dtype=np.int64)
    statistics = main.keyword.statistics(main.manifest.average_length) if main is not None else None
    recent = KeywordIndex.from_counts(TermCounts.build(recent_ids, documents), statistics)
    recent_vectors = _vectors(session, model, dimensions, ids)
    return _View(
        main=None if main is None else _main_part(session, main, model, dimensions, changed_ids, embeddings_since),
        recent=recent,
        recent_facets=facets_for(session, recent_ids),
        recent_vectors=recent_vectors,
        recent_row_of_vector=rows_of(recent_ids, recent_vectors.paper_ids),
        papers_mark=papers_mark,
        embeddings_mark=embeddings_mark,
    )


def _main_part(
    session: Session,
    main: LoadedIndex,
    model: str,
    dimensions: int,
    changed_ids: np.ndarray,
    embeddings_since: datetime | None,
) -> _MainPart:
    embedded = select(PaperEmbedding.paper_id).where(PaperEmbedding.model == model)
    if embeddings_since is not None:
        embedded = embedded.where(PaperEmbedding.embedded_at > embeddings_since)
    main_ids = main.keyword.paper_ids
    main_changed = rows_of(main_ids, changed_ids)
    unchanged = np.ones(len(main_ids), dtype=np.bool_)
    unchanged[main_changed[main_changed >= 0]] = False
    fresh_ids = np.setdiff1d(np.array(sorted(session.scalars(embedded)), dtype=np.int64), changed_ids)
    fresh_ids = fresh_ids[rows_of(main_ids, fresh_ids) >= 0]
    fresh_vectors = _vectors(session, model, dimensions, fresh_ids.tolist())
    current = np.ones(len(main.vectors), dtype=np.bool_)
    stale = rows_of(main.vectors.paper_ids, np.concatenate([changed_ids, fresh_vectors.paper_ids]))
    current[stale[stale >= 0]] = False
    return _MainPart(
        index=main,
        unchanged=None if unchanged.all() else unchanged,
        row_of_vector=rows_of(main_ids, main.vectors.paper_ids),
        vector_current=None if current.all() else current,
        fresh_vectors=fresh_vectors,
        row_of_fresh=rows_of(main_ids, fresh_vectors.paper_ids),
    )


def _vector_of(view: _View, paper_id: int) -> np.ndarray | None:
    parts: list[tuple[VectorIndex, np.ndarray | None]] = [(view.recent_vectors, None)]
    if view.main is not None:
        parts += [(view.main.fresh_vectors, None), (view.main.index.vectors, view.main.vector_current)]
    for index, current in parts:
        [row] = rows_of(index.paper_ids, np.array([paper_id], dtype=np.int64))
        if row >= 0 and (current is None or current[row]):
            return np.asarray(index.vectors[row], dtype=np.float32)
    return None


def _merged_semantic(
    vector_parts: Sequence[tuple[VectorIndex, np.ndarray | None]], vector: np.ndarray, limit: int
) -> Ranking:
    pairs = [
        pair
        for index, allowed in vector_parts
        if len(index)
        for pair in semantic_ranking(index, vector, limit, allowed)
    ]
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:limit]


def _arxiv_id_in(query: str) -> ArxivId | None:
    """The arXiv id a query consists of, in any form the catalogue reads, or None when it is words."""
    try:
        return parse_arxiv_id(query)
    except InvalidArxivId:
        return None


def _named_paper(session: Session, named: ArxivId) -> Ranking:
    paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == named.id, Paper.deleted_at.is_(None)))
    return [] if paper_id is None else [(paper_id, 1.0)]


def _listed_ids(session: Session) -> np.ndarray:
    return np.array(
        sorted(session.scalars(select(Listing.paper_id).where(Listing.hidden_at.is_(None)))), dtype=np.int64
    )


def _with_phrases(session: Session, ranking: Ranking, phrases: Sequence[Sequence[str]]) -> Ranking:
    """The papers of a ranking where each quoted phrase stands word for word in the title, the abstract or one
    author's name (not running from one of them into the next)."""
    ids = [paper_id for paper_id, _ in ranking]
    fields = {
        row[0]: [row[1], row[2], *(row[3] or ())]
        for row in session.execute(
            select(Paper.id, Paper.title, Paper.abstract, Paper.authors).where(Paper.id.in_(ids))
        )
    }
    return [
        (paper_id, score)
        for paper_id, score in ranking
        if paper_id in fields
        and all(any(contains_phrase(field, phrase) for field in fields[paper_id]) for phrase in phrases)
    ]


def _sorted(session: Session, ranking: Ranking, sort: SearchSort) -> Ranking:
    if sort is SearchSort.RELEVANCE or not ranking:
        return ranking
    ids = [paper_id for paper_id, _ in ranking]
    if sort is SearchSort.UPVOTES:
        upvotes = upvote_counts(session, ids)
        return sorted(ranking, key=lambda pair: -upvotes.get(pair[0], 0))
    published = {
        row[0]: row[1] for row in session.execute(select(Paper.id, Paper.published_at).where(Paper.id.in_(ids)))
    }
    return sorted(ranking, key=lambda pair: published.get(pair[0], datetime.min), reverse=True)


def _papers_by_id(session: Session, paper_ids: Sequence[int], *, with_categories: bool = True) -> dict[int, Paper]:
    if not paper_ids:
        return {}
    # Without them, reading a paper's categories raises rather than quietly costing a query per paper.
    categories = selectinload(Paper.categories) if with_categories else raiseload(Paper.categories)
    statement = select(Paper).options(categories).where(Paper.id.in_(paper_ids), Paper.deleted_at.is_(None))
    return {paper.id: paper for paper in session.scalars(statement)}


def searcher_for(settings: Settings) -> Searcher:
    """The searcher of a web worker: the index in the data folder, queries embedded by the packaged model.

    It also keeps the worker's numerical libraries to one thread: a worker answers one request per core, and
    OpenBLAS' or OpenMP's idle threads spinning beside it took the other workers' cores (measured: 47 ms of CPU
    for a hybrid search with a thread per core, 25 ms with one; bench/search_latency.py)."""
    threadpool_limits(limits=1)
    faiss.omp_set_num_threads(1)
    return Searcher(IndexStore(settings.search_index_dir), lambda: Embedder(threads=QUERY_EMBEDDING_THREADS))
