"""Nearest papers to a query vector: an exact scan of every vector, or an HNSW graph above a configured size.

Vectors are L2-normalised, so the inner product is the cosine. The exact scan reads every vector (about 10 ms for
128k of 384 dimensions on this machine, bound by memory bandwidth); faiss' HNSW answers in well under a millisecond
at a million (docs/benchmarks.md). Filters are applied inside either: a filter that leaves few papers is scanned
exactly, since the graph search would have to walk past the papers it excludes. The graph may lack the newest
vectors (a build extends it only every few days: index_build.GRAPH_LAG); those are scanned beside it.
"""

from __future__ import annotations

import struct
from pathlib import Path

import faiss
import numpy as np

from paperboard.search.keyword_index import top_rows

# Above this many vectors the index is an HNSW graph; at or below, every query scans all of them.
DEFAULT_EXACT_MAX = 50_000
HNSW_NEIGHBOURS = 32
HNSW_CONSTRUCTION_DEPTH = 80
HNSW_SEARCH_DEPTH = 128
# A filter leaving at most this many papers is scanned exactly even where there is a graph.
SCAN_BELOW = 50_000


def new_graph(dimensions: int) -> faiss.IndexHNSWFlat:
    """An empty HNSW graph for vectors of `dimensions`, compared by inner product."""
    graph = faiss.IndexHNSWFlat(dimensions, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_CONSTRUCTION_DEPTH
    return graph


def graph_rows(path: Path) -> int | None:
    """How many vectors the graph written at `path` holds, read from its header (the graph of millions of vectors
    is not read for it), or None when there is no such graph."""
    try:
        with path.open("rb") as stream:
            header = stream.read(16)
    except OSError:
        return None
    # faiss writes an HNSW graph of flat vectors as "IHNf", the dimensions (int32), then the number of vectors.
    if len(header) < 16 or header[:4] != b"IHNf":
        return None
    return int(struct.unpack("<q", header[8:16])[0])


class VectorIndex:
    """`vectors[row]` is the vector of `paper_ids[row]`; `graph`, when present, is an HNSW index over the first
    `graph.ntotal` rows (all of them, or all but those added since it was last extended, which are scanned)."""

    def __init__(self, paper_ids: np.ndarray, vectors: np.ndarray, graph: faiss.Index | None = None) -> None:
        self.paper_ids = paper_ids
        self.vectors = vectors
        self.graph = graph

    def __len__(self) -> int:
        return len(self.paper_ids)

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1])

    @classmethod
    def build(cls, paper_ids: np.ndarray, vectors: np.ndarray, *, exact_max: int = DEFAULT_EXACT_MAX) -> VectorIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        graph = None
        if len(vectors) > exact_max:
            graph = new_graph(vectors.shape[1])
            graph.add(vectors)
        return cls(np.asarray(paper_ids, dtype=np.int64), vectors, graph)

    def save_graph(self, path: Path) -> None:
        if self.graph is not None:
            faiss.write_index(self.graph, str(path))

    @staticmethod
    def load_graph(path: Path) -> faiss.Index | None:
        # Memory-mapped, so that the workers of a site share one copy of the graph in the page cache.
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
        return faiss.read_index(str(path), flags) if path.is_file() else None

    def search(
        self, query: np.ndarray, limit: int, allowed: np.ndarray | None = None, *, floor: float = -1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the `limit` vectors most similar to `query` (among `allowed` rows if given) whose similarity is
        above `floor`, most similar first, and their similarities."""
        if not len(self.paper_ids) or limit <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        allowed_count = len(self.paper_ids) if allowed is None else int(np.count_nonzero(allowed))
        if self.graph is None or allowed_count <= SCAN_BELOW:
            return self._scan(query[0], limit, allowed, floor)
        covered = int(self.graph.ntotal)
        parameters = faiss.SearchParametersHNSW()
        parameters.efSearch = max(HNSW_SEARCH_DEPTH, limit)
        if allowed is not None:
            bitmap = np.packbits(allowed[:covered], bitorder="little")
            parameters.sel = faiss.IDSelectorBitmap(covered, faiss.swig_ptr(bitmap))
        similarities, rows = self.graph.search(query, limit, params=parameters)
        found = (rows[0] >= 0) & (similarities[0] > floor)
        rows, similarities = rows[0][found].astype(np.int64), similarities[0][found]
        if covered == len(self.paper_ids):
            return rows, similarities
        # The vectors added since the graph was last extended: few, scanned, and the two lists merged.
        tail = VectorIndex(self.paper_ids[covered:], self.vectors[covered:])
        tail_rows, tail_similarities = tail._scan(
            query[0], limit, None if allowed is None else allowed[covered:], floor
        )
        rows = np.concatenate([rows, tail_rows + covered])
        similarities = np.concatenate([similarities, tail_similarities])
        best = np.argsort(-similarities, kind="stable")[:limit]
        return rows[best], similarities[best]

    def _scan(
        self, query: np.ndarray, limit: int, allowed: np.ndarray | None, floor: float
    ) -> tuple[np.ndarray, np.ndarray]:
        if allowed is None:
            return top_rows(self.vectors @ query, limit, floor=floor)
        rows = np.flatnonzero(allowed)
        if len(rows) > len(allowed) // 4:
            # Copying most of the vectors out would cost more than scoring them all and dropping the rest.
            similarities = self.vectors @ query
            similarities[~allowed] = -np.inf
            return top_rows(similarities, limit, floor=floor)
        best, scores = top_rows(self.vectors[rows] @ query, limit, floor=floor)
        return rows[best], scores
