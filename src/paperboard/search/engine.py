"""Ranking papers for a query: keyword (BM25), semantic (nearest vectors) and hybrid (the two fused).

Hybrid search fuses the two rankings by their scores: each ranking's scores are mapped onto 0–1 between its best
and its worst of the top 200, then added, keyword counted 0.6 and semantic 0.4. Unlike reciprocal ranks, this keeps
how far ahead a ranking's first paper is: a title's rare words matched in one abstract outweigh a semantic
neighbour that is only slightly closer than the next. `bench/search_quality.py --tune` chose it on the whole corpus
(128,267 papers, every one embedded) with data kept apart from the benchmark's test sets (1,000 other titles and
the development queries); the tuning's figures are in docs/benchmarks.md.

Nothing here knows of the database. `SearchEngine` ranks the papers of one index; the search service calls `rank`
with several parts: the main index and the small one of papers changed since it was built.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from paperboard.search.analysis import ParsedQuery, parse_query, words
from paperboard.search.embedder import Embedder
from paperboard.search.keyword_index import KeywordIndex
from paperboard.search.vector_index import VectorIndex

# Cosine below which a paper is not counted as similar to a query at all. Most unrelated abstracts score 0 to 0.15
# with MiniLM, so this drops the long tail of unrelated papers; it cannot tell nonsense from a real query (a string
# of gibberish reaches 0.2 on a few papers of a large catalogue), which is why hybrid search puts keyword matches
# beside it.
SEMANTIC_FLOOR = 0.2


class SearchMode(StrEnum):
    KEYWORD = "keyword"
    SEMANTIC = "semantic"
    HYBRID = "hybrid"


class FusionMethod(StrEnum):
    SCORES = "scores"
    """Each ranking's scores mapped onto 0–1 between its best and its worst, weighted and added."""
    RECIPROCAL_RANK = "reciprocal-rank"
    """Each paper scores the sum over rankings of `weight / (k + rank)`: no use of the scores at all."""


@dataclass(frozen=True)
class Fusion:
    """How hybrid search fuses the two rankings: the method, each ranking's weight, how deep each ranking is read,
    and the constant `k` of reciprocal-rank fusion."""

    method: FusionMethod = FusionMethod.SCORES
    keyword_weight: float = 0.6
    semantic_weight: float = 0.4
    # The search service always asks for its 200 best (it sorts and pages within them), so that is how deep each
    # ranking is read, and the benchmark measures the same fusion.
    depth: int = 200
    k: float = 20.0


DEFAULT_FUSION = Fusion()

Ranking = list[tuple[int, float]]
"""(paper id, score) pairs, best first."""


@dataclass(frozen=True)
class Explanation:
    """Where one result's place comes from: its BM25 score and rank in the keyword ranking, its cosine and rank in
    the semantic ranking (None where it is not in that ranking, which is read `Fusion.depth` deep and, for
    meaning, stops at `SEMANTIC_FLOOR`), and, in hybrid mode, its fused score; `rank` is its place in the whole
    ranking, 1 first."""

    rank: int
    keyword_score: float | None
    keyword_rank: int | None
    cosine: float | None
    semantic_rank: int | None
    fused_score: float | None


def keyword_ranking(index: KeywordIndex, query: ParsedQuery, limit: int, allowed: np.ndarray | None = None) -> Ranking:
    if query.is_empty:
        return []
    rows, scores = index.top(query.terms, limit, allowed)
    return list(zip(index.paper_ids[rows].tolist(), scores.tolist(), strict=True))


def semantic_ranking(
    index: VectorIndex, query_vector: np.ndarray, limit: int, allowed: np.ndarray | None = None
) -> Ranking:
    rows, scores = index.search(query_vector, limit, allowed, floor=SEMANTIC_FLOOR)
    return list(zip(index.paper_ids[rows].tolist(), scores.tolist(), strict=True))


KeywordPart = tuple[KeywordIndex, np.ndarray | None]
VectorPart = tuple[VectorIndex, np.ndarray | None]
"""An index with the mask of its rows that may be returned (None: all of them)."""


def rank(
    keyword_parts: Sequence[KeywordPart],
    vector_parts: Sequence[VectorPart],
    query: str,
    mode: SearchMode,
    *,
    embedder: Embedder | None,
    limit: int,
    fusion: Fusion = DEFAULT_FUSION,
) -> Ranking:
    """The best `limit` papers for a query across several indexes, each searched within its mask.

    A paper must be allowed in at most one keyword part and one vector part; the search service makes sure of that
    by masking, in the main index, the papers it reads afresh from the database."""
    return ranked_lists(keyword_parts, vector_parts, query, mode, embedder=embedder, limit=limit, fusion=fusion).ranking


@dataclass(frozen=True)
class RankedLists:
    """`rank`'s ranking with the keyword and semantic rankings it was made from (empty for the one its mode does not
    read), which explain it."""

    ranking: Ranking
    keyword: Ranking
    semantic: Ranking
    mode: SearchMode

    def explanations(self) -> dict[int, Explanation]:
        """Each paper of the ranking's explanation, by id."""
        in_keyword = {paper_id: (position, score) for position, (paper_id, score) in enumerate(self.keyword, start=1)}
        in_semantic = {paper_id: (position, score) for position, (paper_id, score) in enumerate(self.semantic, start=1)}
        explanations = {}
        for position, (paper_id, score) in enumerate(self.ranking, start=1):
            keyword_rank, keyword_score = in_keyword.get(paper_id, (None, None))
            semantic_rank, cosine = in_semantic.get(paper_id, (None, None))
            explanations[paper_id] = Explanation(
                rank=position,
                keyword_score=keyword_score,
                keyword_rank=keyword_rank,
                cosine=cosine,
                semantic_rank=semantic_rank,
                fused_score=score if self.mode is SearchMode.HYBRID else None,
            )
        return explanations


def ranked_lists(
    keyword_parts: Sequence[KeywordPart],
    vector_parts: Sequence[VectorPart],
    query: str,
    mode: SearchMode,
    *,
    embedder: Embedder | None,
    limit: int,
    fusion: Fusion = DEFAULT_FUSION,
) -> RankedLists:
    """As `rank`, keeping the rankings fused, so that the result can be explained at no cost when it is not."""
    depth = max(limit, fusion.depth) if mode is SearchMode.HYBRID else limit
    keyword: Ranking = []
    semantic: Ranking = []
    if mode in (SearchMode.KEYWORD, SearchMode.HYBRID):
        parsed = parse_query(query)
        keyword = _merged([keyword_ranking(index, parsed, depth, allowed) for index, allowed in keyword_parts], depth)
    # A query without a single word (`%`, `*`, an emoji) means nothing to the embedder either: its vector lands
    # near arbitrary papers, so it is not searched by meaning.
    if mode in (SearchMode.SEMANTIC, SearchMode.HYBRID) and embedder is not None and words(query):
        searched = [(index, allowed) for index, allowed in vector_parts if len(index)]
        if searched:
            query_vector = embedder.embed_one(query)
            semantic = _merged(
                [semantic_ranking(index, query_vector, depth, allowed) for index, allowed in searched], depth
            )
    if mode is SearchMode.KEYWORD:
        ranking = keyword
    elif mode is SearchMode.SEMANTIC:
        ranking = semantic
    else:
        ranking = fuse(keyword, semantic, fusion)
    return RankedLists(ranking[:limit], keyword, semantic, mode)


def rows_of(paper_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each id of `wanted`, its row in the sorted `paper_ids`, or -1 where it is absent."""
    if not len(paper_ids):
        return np.full(len(wanted), -1, dtype=np.int64)
    rows = np.minimum(np.searchsorted(paper_ids, wanted), len(paper_ids) - 1)
    return np.where(paper_ids[rows] == wanted, rows, -1)


class SearchEngine:
    """One keyword index and the vectors of (some of) its papers, searched together; filters are masks over the
    keyword index's rows."""

    def __init__(
        self, keyword: KeywordIndex, vectors: VectorIndex | None = None, embedder: Embedder | None = None
    ) -> None:
        if len(keyword.paper_ids) > 1 and np.any(np.diff(keyword.paper_ids) <= 0):
            raise ValueError("the keyword index's paper ids must be sorted and distinct")
        self.keyword = keyword
        self.vectors = vectors
        self.embedder = embedder
        self.keyword_row_of_vector = (
            rows_of(keyword.paper_ids, vectors.paper_ids) if vectors is not None else np.empty(0, np.int64)
        )
        if np.any(self.keyword_row_of_vector < 0):
            raise ValueError("every paper with a vector must be in the keyword index")

    def vector_mask(self, allowed: np.ndarray | None) -> np.ndarray | None:
        """A mask over keyword rows as a mask over vector rows."""
        return None if allowed is None else allowed[self.keyword_row_of_vector]

    def rank(
        self,
        query: str,
        mode: SearchMode,
        *,
        limit: int,
        allowed: np.ndarray | None = None,
        fusion: Fusion = DEFAULT_FUSION,
    ) -> list[int]:
        """Paper ids, best first."""
        vector_parts = [] if self.vectors is None else [(self.vectors, self.vector_mask(allowed))]
        ranking = rank(
            [(self.keyword, allowed)], vector_parts, query, mode, embedder=self.embedder, limit=limit, fusion=fusion
        )
        return [paper_id for paper_id, _ in ranking]


def _merged(rankings: Sequence[Ranking], limit: int) -> Ranking:
    if len(rankings) == 1:
        return rankings[0][:limit]
    return sorted((pair for ranking in rankings for pair in ranking), key=lambda pair: (-pair[1], pair[0]))[:limit]


def fuse(keyword: Ranking, semantic: Ranking, fusion: Fusion) -> Ranking:
    """The two rankings fused; ties go to the better keyword rank, then the lower id."""
    scores: dict[int, float] = {}
    for weight, ranking in ((fusion.keyword_weight, keyword), (fusion.semantic_weight, semantic)):
        for paper_id, share in _shares(ranking, fusion):
            scores[paper_id] = scores.get(paper_id, 0.0) + weight * share
    keyword_position = {paper_id: position for position, (paper_id, _) in enumerate(keyword)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], keyword_position.get(pair[0], len(keyword)), pair[0]))


def _shares(ranking: Ranking, fusion: Fusion) -> Iterator[tuple[int, float]]:
    """Each paper's part of its fused score from one ranking, before the ranking's weight."""
    if fusion.method is FusionMethod.RECIPROCAL_RANK:
        for position, (paper_id, _) in enumerate(ranking, start=1):
            yield paper_id, 1 / (fusion.k + position)
        return
    if not ranking:
        return
    best = max(score for _, score in ranking)
    worst = min(score for _, score in ranking)
    span = best - worst
    for paper_id, score in ranking:
        yield paper_id, (score - worst) / span if span > 0 else 1.0
