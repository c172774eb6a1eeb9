"""Incremental builds of the search index (issue 19, part 3): a day's changes built on the previous generation search
as a build of everything does, and the files they share with it survive its removal."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from paperboard.catalog.links import PaperLinks
from paperboard.catalog.store import fill_missing_links, mark_deleted, upsert_papers
from paperboard.db import Database
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embed_pending, model_key
from paperboard.search.engine import SearchMode
from paperboard.search.facets import SearchFilters
from paperboard.search.index_build import AVERAGE_LENGTH_DRIFT
from paperboard.search.index_store import IndexManifest, IndexStore
from paperboard.search.service import RESULTS_DEPTH, Searcher, SearchRequest
from paperboard.search.shared_index import is_shared
from tests.catalog.factories import make_record

WORDS = [f"topic{number}" for number in range(80)]
CATEGORIES = ["cs.CL", "cs.LG", "math.PR", "physics.optics", "q-bio.GN"]
QUERIES = [
    "topic1",
    "topic2 topic3",
    "topic7 topic11 topic40",
    "topic50",
    "topic0 topic79",
    "daybreak",
    "topic5 daybreak",
    "Lovelace topic9",
]
FILTERS = [
    SearchFilters(),
    SearchFilters(category="cs.LG"),
    SearchFilters(category="math"),
    SearchFilters(category="astro-ph.GA"),
    SearchFilters(published_from=date(2024, 3, 1), published_to=date(2024, 6, 30)),
    SearchFilters(has_code=True),
    SearchFilters(category="cs", has_code=True, published_from=date(2024, 6, 1)),
]
PAPERS = 400


def arxiv_id(number: int) -> str:
    return f"2401.{number:05d}"


def paper_fields(rng: np.random.Generator, number: int) -> dict:
    return {
        "title": " ".join(rng.choice(WORDS, 5)),
        "abstract": " ".join(rng.choice(WORDS, int(rng.integers(20, 60)))),
        "authors": list(rng.choice(["Ada Lovelace", "Alan Turing", "Grace Hopper"], 2, replace=False)),
        "categories": list(rng.choice(CATEGORIES, int(rng.integers(1, 3)), replace=False)),
        "published_at": datetime(2024, 1, 1) + timedelta(days=int(rng.integers(0, 365))),
        "code_url": f"https://github.com/lab/repo{number}" if number % 5 == 0 else None,
    }


@pytest.fixture
def catalogue(database: Database) -> Database:
    rng = np.random.default_rng(19)
    with database.session() as session:
        upsert_papers(session, [make_record(arxiv_id(n), **paper_fields(rng, n)) for n in range(1, PAPERS + 1)])
    return database


def build(database: Database, store: IndexStore, embedder: Embedder, **options) -> IndexManifest:
    return store.build(database, model_key(embedder), embedder.dimensions, **options)


def a_day(database: Database) -> None:
    """New papers, some revised (title, abstract, categories, date), one given a code link, one withdrawn."""
    rng = np.random.default_rng(20)
    with database.session() as session:
        new = [make_record(arxiv_id(PAPERS + n), **paper_fields(rng, PAPERS + n)) for n in range(1, 7)]
        new[0] = make_record(arxiv_id(PAPERS + 1), **(paper_fields(rng, 0) | {"title": "daybreak topic5 topic1"}))
        revised = [
            make_record(arxiv_id(3), **(paper_fields(rng, 3) | {"title": "daybreak over topic7"})),
            make_record(arxiv_id(10), **(paper_fields(rng, 10) | {"categories": ["astro-ph.GA", "cs.LG"]})),
            make_record(arxiv_id(11), **(paper_fields(rng, 11) | {"published_at": datetime(2024, 4, 1)})),
        ]
        upsert_papers(session, new + revised)
        fill_missing_links(session, {arxiv_id(12): PaperLinks("https://github.com/lab/late", None)})
        mark_deleted(session, arxiv_id(20), datetime(2025, 1, 2))


def results(database: Database, store: IndexStore, embedder: Embedder) -> dict:
    """Hits (ids in order, with scores) and totals of every query under every filter, from a new searcher."""
    searcher = Searcher(store, lambda: embedder)
    found = {}
    with database.read_session() as session:
        for query in QUERIES:
            for filters in FILTERS:
                answer = searcher.search(
                    session, SearchRequest(query, SearchMode.KEYWORD, filters, limit=RESULTS_DEPTH)
                )
                found[query, filters] = (
                    [hit.paper.arxiv_id for hit in answer.hits],
                    [hit.score for hit in answer.hits],
                    answer.total,
                )
    return found


def assert_same_results(incremental: dict, full: dict, *, rel: float) -> None:
    """The same papers in the same order, with scores within `rel` of each other; papers whose scores tie in the
    full build may come in either order (a tie is broken by row, and scores kept and rescaled may differ from
    scores just computed in their last bit)."""
    assert incremental.keys() == full.keys()
    for key, (ids, scores, total) in full.items():
        found, found_scores, found_total = incremental[key]
        assert found_total == total, key
        assert found_scores == pytest.approx(scores, rel=rel), key
        assert sorted(found) == sorted(ids), key
        for position, paper in enumerate(found):
            tied = {other for other, score in zip(ids, scores, strict=True) if score == scores[position]}
            assert paper in tied, (key, position)
    assert any(ids for ids, _, _ in full.values())


def a_day_built_then_rebuilt_in_full(catalogue, embedder, tmp_path):
    """A generation built, a day's changes, an incremental build and its results, then a full build of the same data:
    (store, first, incremental, results after the day, full)."""
    store = IndexStore(tmp_path / "search-index")
    first = build(catalogue, store, embedder)
    a_day(catalogue)
    incremental = build(catalogue, store, embedder)
    after_day = results(catalogue, store, embedder)
    full = build(catalogue, store, embedder, full=True)
    return store, first, incremental, after_day, full


def test_a_day_built_on_the_previous_generation_searches_as_a_full_build(catalogue, embedder, tmp_path):
    store, first, incremental, after_day, full = a_day_built_then_rebuilt_in_full(catalogue, embedder, tmp_path)

    # The day moved the papers' average length, by less than the bound: the scores were kept (they are the
    # previous generation's average length), not computed again, and differ from exact ones by less than the bound.
    assert incremental.average_length == first.average_length != full.average_length
    assert abs(full.average_length / first.average_length - 1) <= AVERAGE_LENGTH_DRIFT
    assert (incremental.papers, incremental.vectors) == (full.papers, full.vectors) == (PAPERS + 6 - 1, 0)
    assert_same_results(after_day, results(catalogue, store, embedder), rel=AVERAGE_LENGTH_DRIFT)


def test_past_the_drift_bound_every_score_is_computed_again(catalogue, embedder, tmp_path, monkeypatch):
    monkeypatch.setattr("paperboard.search.index_build.AVERAGE_LENGTH_DRIFT", 1e-6)
    store, first, incremental, after_day, full = a_day_built_then_rebuilt_in_full(catalogue, embedder, tmp_path)

    assert incremental.average_length == pytest.approx(full.average_length) != first.average_length
    assert_same_results(after_day, results(catalogue, store, embedder), rel=1e-5)


def test_files_a_build_does_not_change_are_the_previous_ones_and_outlive_them(catalogue, embedder, tmp_path):
    store = IndexStore(tmp_path / "search-index")
    embed_pending(catalogue, embedder)
    first = build(catalogue, store, embedder, exact_max=50)
    expected = results(catalogue, store, embedder)

    # Nothing changed: every file is the previous generation's, linked rather than written again.
    second = build(catalogue, store, embedder, exact_max=50)
    old, new = store.directory / first.generation, store.directory / second.generation
    names = sorted(path.name for path in old.iterdir() if path.name != "manifest.json")
    assert "hnsw.faiss" in names and "categories.json" in names
    assert sorted(path.name for path in new.iterdir() if path.name != "manifest.json") == names
    assert all((new / name).samefile(old / name) for name in names)

    shutil.rmtree(old)
    assert results(catalogue, store, embedder) == expected
    # A day's papers, built on the generation whose files were linked, then the previous one removed.
    a_day(catalogue)
    embed_pending(catalogue, embedder)
    third = build(catalogue, store, embedder, exact_max=50)
    assert not (store.directory / third.generation / "scores_data.npy").samefile(new / "scores_data.npy")
    after_day = results(catalogue, store, embedder)
    shutil.rmtree(new)
    assert results(catalogue, store, embedder) == after_day
    assert set(after_day["daybreak", SearchFilters()][0]) == {arxiv_id(3), arxiv_id(PAPERS + 1)}
    if is_shared(catalogue):
        # Another host downloads the generation whole, linked files and all.
        other = IndexStore(tmp_path / "other-host")
        other.sync(catalogue)
        assert other.current_manifest() == third
        assert results(catalogue, other, embedder) == after_day
