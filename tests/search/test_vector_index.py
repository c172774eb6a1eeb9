"""Nearest vectors: the exact scan and faiss' HNSW graph agree, filters and the similarity floor hold in both."""

from __future__ import annotations

import numpy as np
import pytest

from paperboard.search import vector_index
from paperboard.search.vector_index import VectorIndex

PAPERS = 2000
DIMENSIONS = 64
QUERIES = 50


def normalised(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    ids = np.sort(rng.choice(np.arange(1, 100_000), PAPERS, replace=False)).astype(np.int64)
    vectors = normalised(rng.standard_normal((PAPERS, DIMENSIONS)))
    # Queries near some of the papers, as a real query is near the papers it is about.
    queries = normalised(vectors[rng.choice(PAPERS, QUERIES)] + 0.3 * rng.standard_normal((QUERIES, DIMENSIONS)))
    return ids, vectors, queries


@pytest.fixture(scope="module")
def exact(data) -> VectorIndex:
    ids, vectors, _ = data
    return VectorIndex.build(ids, vectors)


@pytest.fixture(scope="module")
def graph(data) -> VectorIndex:
    ids, vectors, _ = data
    return VectorIndex.build(ids, vectors, exact_max=0)


@pytest.fixture
def through_the_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    """Filtered searches walk the graph too, instead of scanning the few papers a filter leaves."""
    monkeypatch.setattr(vector_index, "SCAN_BELOW", 0)


def recall(found: list[np.ndarray], truth: list[np.ndarray]) -> float:
    return float(np.mean([len(np.intersect1d(f, t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def test_only_an_index_above_exact_max_has_a_graph(exact, graph):
    assert exact.graph is None
    assert graph.graph is not None and graph.graph.ntotal == PAPERS
    assert len(graph) == PAPERS and graph.dimensions == DIMENSIONS


def test_the_exact_scan_finds_the_true_nearest_vectors(data, exact):
    _, vectors, queries = data
    for query in queries[:10]:
        rows, similarities = exact.search(query, 10)
        truth = np.argsort(-(vectors @ query), kind="stable")[:10]
        assert rows.tolist() == truth.tolist()
        np.testing.assert_allclose(similarities, vectors[truth] @ query, rtol=1e-5)
        assert np.all(np.diff(similarities) <= 0)


def test_the_graph_agrees_with_the_exact_scan(data, exact, graph):
    _, _, queries = data
    truth = [exact.search(query, 10)[0] for query in queries]
    found = [graph.search(query, 10)[0] for query in queries]

    assert recall(found, truth) >= 0.95
    for query in queries[:10]:
        rows, similarities = graph.search(query, 10)
        assert np.all(np.diff(similarities) <= 1e-6)
        np.testing.assert_allclose(similarities, graph.vectors[rows] @ query, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("share", [0.05, 0.5, 0.9])
def test_a_mask_is_respected_by_the_scan(data, exact, share):
    _, vectors, queries = data
    allowed = np.random.default_rng(1).random(PAPERS) < share
    for query in queries[:10]:
        rows, _ = exact.search(query, 10, allowed)
        masked = np.where(allowed, vectors @ query, -np.inf)
        assert rows.tolist() == np.argsort(-masked, kind="stable")[:10].tolist()
        assert allowed[rows].all()


@pytest.mark.usefixtures("through_the_graph")
@pytest.mark.parametrize("share", [0.2, 0.5, 0.9])
def test_a_mask_is_respected_by_the_graph(data, exact, graph, share):
    _, _, queries = data
    allowed = np.random.default_rng(2).random(PAPERS) < share
    truth, found = [], []
    for query in queries:
        rows, _ = graph.search(query, 10, allowed)
        assert allowed[rows].all()
        found.append(rows)
        truth.append(exact.search(query, 10, allowed)[0])

    assert recall(found, truth) >= 0.95


@pytest.mark.usefixtures("through_the_graph")
def test_a_mask_that_allows_nothing_finds_nothing(data, exact, graph):
    _, _, queries = data
    nothing = np.zeros(PAPERS, dtype=np.bool_)

    assert len(exact.search(queries[0], 10, nothing)[0]) == 0
    assert len(graph.search(queries[0], 10, nothing)[0]) == 0


def test_a_mask_that_allows_fewer_than_the_limit_returns_only_those(data, exact, graph):
    # With a graph too: so few papers are scanned (a graph walk could miss some of them).
    _, _, queries = data
    allowed = np.zeros(PAPERS, dtype=np.bool_)
    allowed[[3, 700, 1999]] = True

    for index in (exact, graph):
        rows, _ = index.search(queries[0], 10, allowed)
        assert sorted(rows.tolist()) == [3, 700, 1999]


def test_a_filter_leaving_few_papers_is_scanned_exactly_even_with_a_graph(data, graph):
    _, vectors, queries = data
    allowed = np.zeros(PAPERS, dtype=np.bool_)
    allowed[::50] = True

    rows, _ = graph.search(queries[0], 5, allowed)

    masked = np.where(allowed, vectors @ queries[0], -np.inf)
    assert rows.tolist() == np.argsort(-masked, kind="stable")[:5].tolist()


@pytest.mark.parametrize("path", ["scan", "graph"])
def test_the_floor_drops_vectors_not_similar_enough(data, exact, graph, path):
    _, vectors, queries = data
    index = exact if path == "scan" else graph
    query = queries[0]
    similarities = np.sort(vectors @ query)[::-1]
    # A floor between the 3rd and 4th most similar vectors leaves three.
    floor = float((similarities[2] + similarities[3]) / 2)

    rows, found = index.search(query, 10, floor=floor)

    assert len(rows) == 3
    assert np.all(found > floor)
    assert len(index.search(query, 10, floor=1.0)[0]) == 0


def test_an_empty_index_and_a_zero_limit_find_nothing(data, exact):
    _, _, queries = data
    empty = VectorIndex.build(np.empty(0, dtype=np.int64), np.empty((0, DIMENSIONS), dtype=np.float32), exact_max=0)

    assert empty.graph is None
    assert len(empty.search(queries[0], 10)[0]) == 0
    assert len(exact.search(queries[0], 0)[0]) == 0


def test_a_saved_graph_loads_and_answers_the_same(tmp_path, data, graph):
    _, _, queries = data
    path = tmp_path / "hnsw.faiss"
    graph.save_graph(path)
    loaded = VectorIndex(graph.paper_ids, graph.vectors, VectorIndex.load_graph(path))

    for query in queries[:5]:
        assert loaded.search(query, 10)[0].tolist() == graph.search(query, 10)[0].tolist()
    assert VectorIndex.load_graph(tmp_path / "absent.faiss") is None
