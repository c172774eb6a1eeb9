"""Search as the site uses it (`Searcher`), on each backend: hostile queries, filters, sorts, phrases, paging, the
index kept up to date between builds, an index lost or damaged, semantic search and similar papers."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import faiss
import numpy as np
import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import InvalidRequestError

from paperboard.catalog.queries import get_paper
from paperboard.catalog.store import mark_deleted
from paperboard.db import Database
from paperboard.db.models import Paper, PaperEmbedding
from paperboard.db.schema import upgrade
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embed_pending, model_key
from paperboard.search.engine import SearchMode
from paperboard.search.facets import SearchFilters
from paperboard.search.index_build import BuildSlices
from paperboard.search.index_store import IndexStore
from paperboard.search.service import (
    QUERY_MAX_LENGTH,
    QueryTooLong,
    Searcher,
    SearchRequest,
    SearchResults,
    SearchSort,
)
from paperboard.search.vector_index import VectorIndex
from tests.community.factories import add_listing, add_paper, add_user, add_votes

# A searcher looks for catalogue changes at most once a second; these tests change it between searches.
pytestmark = pytest.mark.usefixtures("searches_see_changes_at_once")

# arXiv number: (title, abstract, authors, categories, first published, code link).
PAPERS = {
    1: (
        "Sparse attention for long documents",
        "In this paper we make the attention of transformers sparse so that they read a hundred thousand tokens.",
        ["Ashish Vaswani", "Łukasz Kaiser"],
        ["cs.CL", "cs.LG"],
        datetime(2025, 6, 1, 9),
        "https://github.com/example/sparse",
    ),
    2: (
        "Faster training of large language models",
        "In this paper we cut the memory and the time needed to train big transformer language models.",
        ["Jürgen Schmidhuber"],
        ["cs.LG"],
        datetime(2025, 6, 2, 23, 30),
        None,
    ),
    3: (
        "Gauge fields on the lattice",
        "In this paper we simulate quantum chromodynamics numerically with improved actions.",
        ["Kenneth Wilson"],
        ["hep-lat"],
        datetime(2025, 6, 3, 0, 0),
        None,
    ),
    4: (
        "Crop yields under drought",
        "In this paper we survey agriculture and rainfall in sub-Saharan Africa.",
        ["Amartya Sen"],
        ["physics.soc-ph"],
        datetime(2025, 6, 4, 12),
        None,
    ),
    5: (
        "Attention is sparse in practice",
        "In this paper we measure how sparse the attention of language models really is.",
        ["Ada Lovelace"],
        ["cs.CL"],
        datetime(2025, 6, 5, 12),
        "https://github.com/example/measure",
    ),
    6: (
        "Protein structure prediction",
        "In this paper we predict how proteins fold from their amino acid sequence with deep networks.",
        ["Demis Hassabis"],
        ["q-bio.BM"],
        datetime(2025, 6, 6, 12),
        None,
    ),
    7: (
        "Multilingual retrieval",
        "In this paper we evaluate retrieval on 注意力 机制 queries and on Arabic queries such as مرحبا بالعالم.",
        ["Grace Hopper"],
        ["cs.IR"],
        datetime(2025, 6, 7, 12),
        None,
    ),
    8: (
        "Graph neural networks for molecules",
        "In this paper message passing over molecular graphs predicts chemical properties.",
        ["Alan Turing"],
        ["cs.LG", "physics.chem-ph"],
        datetime(2025, 6, 8, 12),
        None,
    ),
}
WITHDRAWN = 9
ALL = [f"2506.{number:05d}" for number in PAPERS]


def arxiv_id(number: int) -> str:
    return f"2506.{number:05d}"


def add_numbered(database: Database, number: int, **changes) -> None:
    title, abstract, authors, categories, published_at, code_url = PAPERS.get(number, PAPERS[1])
    fields = {
        "title": title,
        "abstract": abstract,
        "authors": authors,
        "categories": categories,
        "published_at": published_at,
        "code_url": code_url,
    }
    add_paper(database, arxiv_id(number), **(fields | changes))


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "search-index")


@pytest.fixture
def searcher(store: IndexStore, embedder: Embedder) -> Searcher:
    return Searcher(store, lambda: embedder)


@pytest.fixture
def catalogue(database: Database) -> Database:
    """The papers above, and a withdrawn one about sparse attention; 1 and 2 listed, 3's listing hidden."""
    for number in PAPERS:
        add_numbered(database, number)
    add_numbered(database, WITHDRAWN, title="Sparse attention, withdrawn", abstract="In this paper: gone.")
    with database.session() as session:
        mark_deleted(session, arxiv_id(WITHDRAWN), datetime(2025, 6, 10))
    moderator = add_user(database, "mod", role="moderator")
    add_listing(database, arxiv_id(1), date(2025, 6, 2), upvotes=5)
    add_listing(database, arxiv_id(2), date(2025, 6, 3), upvotes=20)
    add_listing(database, arxiv_id(3), date(2025, 6, 4), hidden_by=moderator)
    return database


@pytest.fixture
def embedded(catalogue: Database, embedder: Embedder) -> Database:
    embed_pending(catalogue, embedder)
    return catalogue


@pytest.fixture
def indexed(embedded: Database, store: IndexStore, embedder: Embedder) -> Database:
    build(embedded, store, embedder)
    return embedded


def build(database: Database, store: IndexStore, embedder: Embedder, **options):
    return store.build(database, model_key(embedder), embedder.dimensions, **options)


def search(database: Database, searcher: Searcher, query: str, **fields) -> SearchResults:
    with database.read_session() as session:
        return searcher.search(session, SearchRequest(query=query, **fields))


def found(database: Database, searcher: Searcher, query: str, **fields) -> list[str]:
    return [hit.paper.arxiv_id for hit in search(database, searcher, query, **fields).hits]


def embedded_at(database: Database) -> dict[int, datetime]:
    with database.read_session() as session:
        rows = session.execute(select(PaperEmbedding.paper_id, PaperEmbedding.embedded_at))
        return {paper_id: moment for paper_id, moment in rows}


PUNCTUATION = ['"', '""', "AND", "OR NOT", "(", ")", "*", "-", ":", "\\", "%", "_", "' OR 1=1 --", "\x00", "😀"]


@pytest.mark.parametrize("mode", list(SearchMode))
def test_hostile_queries_never_raise_and_find_what_their_words_say(indexed, searcher, mode):
    def found_in(query: str) -> list[str]:
        return found(indexed, searcher, query, mode=mode)

    for query in [*PUNCTUATION, "the of and", "   ", ""]:
        # Nothing but operators, quotes, wildcards, SQL or stopwords: no terms to look for, nothing near in meaning.
        assert found_in(query) == [], repr(query)
    for query in ["注意力", "مرحبا", "注意力 机制"]:
        assert found_in(query)[:1] == [arxiv_id(7)], query
    for query in ['"sparse', "sparse AND (", "-sparse", "sparse*", "sparse:", "sparse\x00", "(sparse OR NOT)"]:
        results = found_in(query)
        # Only the operator-free words count, and the withdrawn paper about sparse attention stays out.
        assert set(results[:2]) == {arxiv_id(1), arxiv_id(5)}, repr(query)
        assert arxiv_id(WITHDRAWN) not in results
    longest = ("sparse attention " * 15)[:QUERY_MAX_LENGTH]
    assert len(longest) == QUERY_MAX_LENGTH
    assert set(found_in(longest)[:2]) == {arxiv_id(1), arxiv_id(5)}
    assert found_in("x" * QUERY_MAX_LENGTH) == []
    with pytest.raises(QueryTooLong, match="at most 250 characters"):
        found_in("x" * (QUERY_MAX_LENGTH + 1))
    with pytest.raises(QueryTooLong):
        found_in(longest + "s")


def test_a_query_without_a_match_finds_nothing(indexed, searcher):
    results = search(indexed, searcher, "zebra migration", mode=SearchMode.KEYWORD)

    assert results.hits == [] and results.total == 0
    # Unrelated in meaning too: no paper is similar enough to count.
    assert found(indexed, searcher, "zebra migration") == []
    assert found(indexed, searcher, "zebra migration", mode=SearchMode.SEMANTIC) == []


@pytest.mark.parametrize(
    "filters",
    [
        SearchFilters(published_from=date(2030, 1, 1)),
        SearchFilters(published_to=date(2000, 1, 1)),
        SearchFilters(published_from=date(2025, 6, 5), published_to=date(2025, 6, 4)),
        SearchFilters(category="astro-ph"),
        SearchFilters(category="cs.XX"),
        SearchFilters(category="hep-lat", has_code=True),
        SearchFilters(category="hep-lat", listed=True),
    ],
)
def test_filters_that_exclude_everything_find_nothing(indexed, searcher, filters):
    for mode in SearchMode:
        results = search(indexed, searcher, "paper attention lattice", mode=mode, filters=filters)
        assert results.hits == [] and results.total == 0, mode


FILTERED = [
    # Bounds are whole days, inclusive: paper 2 was published late on 2 June, paper 3 at midnight on 3 June.
    (SearchFilters(published_from=date(2025, 6, 2)), [2, 3, 4, 5, 6, 7, 8]),
    (SearchFilters(published_from=date(2025, 6, 3)), [3, 4, 5, 6, 7, 8]),
    (SearchFilters(published_to=date(2025, 6, 2)), [1, 2]),
    (SearchFilters(published_to=date(2025, 6, 3)), [1, 2, 3]),
    (SearchFilters(published_from=date(2025, 6, 3), published_to=date(2025, 6, 3)), [3]),
    (SearchFilters(published_from=date(2025, 6, 2), published_to=date(2025, 6, 5)), [2, 3, 4, 5]),
    # A category anywhere in a paper's list; an archive covers its categories.
    (SearchFilters(category="cs.CL"), [1, 5]),
    (SearchFilters(category="cs.lg"), [1, 2, 8]),
    (SearchFilters(category="cs"), [1, 2, 5, 7, 8]),
    (SearchFilters(category="physics"), [4, 8]),
    (SearchFilters(category="physics.chem-ph"), [8]),
    (SearchFilters(category="hep-lat"), [3]),
    (SearchFilters(has_code=True), [1, 5]),
    # Listed on a daily page; the moderator hid paper 3's listing.
    (SearchFilters(listed=True), [1, 2]),
    (SearchFilters(category="cs", has_code=True, published_from=date(2025, 6, 2)), [5]),
    (SearchFilters(category="cs", listed=True, published_from=date(2025, 6, 2)), [2]),
]


@pytest.mark.parametrize("with_index", [True, False], ids=["indexed", "from-database"])
def test_each_filter(embedded, searcher, store, embedder, with_index):
    if with_index:
        build(embedded, store, embedder)
    for filters, expected in FILTERED:
        for mode in (SearchMode.KEYWORD, SearchMode.HYBRID):
            results = found(embedded, searcher, "paper", mode=mode, filters=filters)
            assert sorted(results) == [arxiv_id(number) for number in expected], (filters, mode)


def test_filters_apply_to_papers_added_since_the_index_was_built(indexed, searcher):
    add_numbered(
        indexed,
        10,
        title="A new paper on lattice gauge theory",
        categories=["hep-lat"],
        code_url="https://github.com/example/lattice",
    )
    add_listing(indexed, arxiv_id(10), date(2025, 6, 12))

    def hits(**filters) -> list[str]:
        return sorted(found(indexed, searcher, "lattice", mode=SearchMode.KEYWORD, filters=SearchFilters(**filters)))

    assert hits(category="hep-lat") == [arxiv_id(3), arxiv_id(10)]
    assert hits(has_code=True) == [arxiv_id(10)]
    assert hits(listed=True) == [arxiv_id(10)]
    assert hits(category="cs") == []
    assert hits(published_from=date(2025, 6, 3), published_to=date(2025, 6, 3)) == [arxiv_id(3)]


def test_each_sort(indexed, searcher, catalogue):
    alice = add_user(catalogue, "alice")
    add_votes(catalogue, arxiv_id(5), alice)
    query = "sparse attention language models"

    relevance = found(indexed, searcher, query, mode=SearchMode.KEYWORD)
    by_date = found(indexed, searcher, query, mode=SearchMode.KEYWORD, sort=SearchSort.DATE)
    by_upvotes = found(indexed, searcher, query, mode=SearchMode.KEYWORD, sort=SearchSort.UPVOTES)

    assert set(relevance) == {arxiv_id(1), arxiv_id(2), arxiv_id(5)}
    assert relevance[0] in {arxiv_id(1), arxiv_id(5)}
    assert by_date == [arxiv_id(5), arxiv_id(2), arxiv_id(1)]
    # 20 imported upvotes, then 5, then one local vote.
    assert by_upvotes == [arxiv_id(2), arxiv_id(1), arxiv_id(5)]
    # Hybrid results, papers similar in meaning among them, newest first too.
    hybrid = search(indexed, searcher, query, sort=SearchSort.DATE).hits
    assert len(hybrid) > 3
    published = [hit.paper.published_at for hit in hybrid]
    assert published == sorted(published, reverse=True)


def test_the_default_order_is_by_relevance(indexed, searcher):
    assert found(indexed, searcher, "protein folding", mode=SearchMode.KEYWORD) == [arxiv_id(6)]
    assert found(indexed, searcher, "attention")[:2] == [arxiv_id(5), arxiv_id(1)]
    scores = [hit.score for hit in search(indexed, searcher, "sparse attention language models").hits]
    assert scores == sorted(scores, reverse=True)


def test_results_come_with_their_categories_unless_the_caller_needs_none(indexed, searcher):
    request = SearchRequest(query="sparse attention for long documents", mode=SearchMode.KEYWORD)
    with indexed.read_session() as session:
        [first, *_] = searcher.search(session, request).hits
        assert first.paper.title == PAPERS[1][0]
        assert [category.category for category in first.paper.categories] == ["cs.CL", "cs.LG"]
    with indexed.read_session() as session:
        [first, *_] = searcher.search(session, request, with_categories=False).hits
        assert first.paper.title == PAPERS[1][0]
        # Not loaded one paper at a time behind the caller's back: reading them is an error.
        with pytest.raises(InvalidRequestError, match="categories"):
            _ = first.paper.categories


def test_a_quoted_phrase_must_appear_word_for_word(indexed, searcher):
    # Both papers have "sparse" and "attention"; only paper 1 says "sparse attention".
    assert found(indexed, searcher, "sparse attention", mode=SearchMode.KEYWORD)[:2] in (
        [arxiv_id(1), arxiv_id(5)],
        [arxiv_id(5), arxiv_id(1)],
    )
    assert found(indexed, searcher, '"sparse attention"') == [arxiv_id(1)]
    assert found(indexed, searcher, '"attention is sparse"') == [arxiv_id(5)]
    # Punctuation and case between the words do not matter; an author's name is a phrase too.
    assert found(indexed, searcher, '"SUB saharan africa"') == [arxiv_id(4)]
    assert found(indexed, searcher, '"Łukasz Kaiser"') == [arxiv_id(1)]
    assert found(indexed, searcher, '"kaiser vaswani"') == []
    assert found(indexed, searcher, '"sparse attention" "language models"') == []
    assert found(indexed, searcher, '"documents in"') == []
    # An unpaired quote is no phrase.
    assert set(found(indexed, searcher, '"attention sparse', mode=SearchMode.KEYWORD)) == {arxiv_id(1), arxiv_id(5)}


def test_a_phrase_does_not_run_from_one_field_into_the_next(indexed, searcher):
    # Paper 1's title ends "long documents" and its abstract begins "In this paper".
    assert found(indexed, searcher, '"documents in this paper"') == []
    # Nor from one author to the next.
    assert found(indexed, searcher, '"Vaswani Łukasz"') == []
    assert found(indexed, searcher, '"Ashish Vaswani"') == [arxiv_id(1)]


def test_pages_follow_each_other(indexed, searcher):
    everything = search(indexed, searcher, "paper", mode=SearchMode.KEYWORD, limit=50)
    ranking = [hit.paper.arxiv_id for hit in everything.hits]
    assert sorted(ranking) == ALL and everything.total == len(PAPERS)

    pages = [
        search(indexed, searcher, "paper", mode=SearchMode.KEYWORD, limit=3, offset=offset) for offset in (0, 3, 6, 9)
    ]

    assert [hit.paper.arxiv_id for page in pages for hit in page.hits] == ranking
    assert [len(page.hits) for page in pages] == [3, 3, 2, 0]
    assert {page.total for page in pages} == {len(PAPERS)}


def test_papers_added_changed_and_withdrawn_are_searched_at_once_and_then_indexed(indexed, searcher, store, embedder):
    first = store.current_manifest()
    assert first is not None and first.papers == len(PAPERS) and first.vectors == len(PAPERS)
    assert found(indexed, searcher, "hypernetworks", mode=SearchMode.KEYWORD) == []
    assert found(indexed, searcher, "structure", mode=SearchMode.KEYWORD) == [arxiv_id(6)]
    assert found(indexed, searcher, "drought", mode=SearchMode.KEYWORD) == [arxiv_id(4)]

    add_numbered(
        indexed,
        10,
        title="Hypernetworks for retrieval",
        abstract="In this paper a hypernetwork writes the weights of a retrieval model.",
        categories=["cs.IR"],
        published_at=datetime(2025, 6, 9),
    )
    add_numbered(indexed, 6, title="Protein design with diffusion")
    add_numbered(indexed, 3, abstract="In this paper we simulate gluons on a discrete spacetime grid.")
    with indexed.session() as session:
        mark_deleted(session, arxiv_id(4), datetime(2025, 6, 11))

    # Before any build: found by their new words, no longer by their old ones, withdrawn ones no more at all.
    queries = ["hypernetworks", "diffusion", "structure", "protein", "gluons", "chromodynamics", "drought"]
    expected = {
        "hypernetworks": [arxiv_id(10)],
        "diffusion": [arxiv_id(6)],
        "structure": [],
        "protein": [arxiv_id(6)],
        "gluons": [arxiv_id(3)],
        "chromodynamics": [],
        "drought": [],
    }
    for query in queries:
        assert found(indexed, searcher, query, mode=SearchMode.KEYWORD) == expected[query], query
    assert arxiv_id(4) not in found(indexed, searcher, "harvests in dry seasons", mode=SearchMode.SEMANTIC)
    assert arxiv_id(4) not in found(indexed, searcher, "crop yields drought")
    assert found(indexed, searcher, "hypernetworks", filters=SearchFilters(category="cs.IR")) == [arxiv_id(10)]
    assert store.current_manifest() == first

    # The new paper is found by meaning once it has a vector, still before any build.
    description = "networks that generate other networks' weights"
    assert arxiv_id(10) not in found(indexed, searcher, description, mode=SearchMode.SEMANTIC)
    embed_pending(indexed, embedder)
    assert found(indexed, searcher, description, mode=SearchMode.SEMANTIC)[:1] == [arxiv_id(10)]

    every_query = [*queries, "paper", "sparse attention", "lattice", "networks that generate other networks' weights"]
    before = {(query, mode): found(indexed, searcher, query, mode=mode) for query in every_query for mode in SearchMode}
    assert before[("hypernetworks", SearchMode.HYBRID)][:1] == [arxiv_id(10)]

    manifest = build(indexed, store, embedder)

    assert manifest.generation != first.generation
    # Eight papers, less the withdrawn one, plus the new one; every one with its vector.
    assert manifest.papers == len(PAPERS) and manifest.vectors == len(PAPERS)
    loaded = store.load()
    assert loaded is not None
    assert arxiv_id(4) not in {paper.arxiv_id for paper in _papers(indexed, loaded.keyword.paper_ids)}
    after = {(query, mode): found(indexed, searcher, query, mode=mode) for query in every_query for mode in SearchMode}
    # The same papers are found. Their order may differ where scores are close: until the build, papers changed
    # since the last one are weighed with the corpus statistics of that build plus their own.
    assert {key: set(papers) for key, papers in after.items()} == {key: set(papers) for key, papers in before.items()}
    for query in queries:
        assert after[(query, SearchMode.KEYWORD)] == expected[query]
        assert after[(query, SearchMode.HYBRID)][:1] == before[(query, SearchMode.HYBRID)][:1], query


def _papers(database: Database, paper_ids: np.ndarray) -> list[Paper]:
    with database.read_session() as session:
        return list(session.scalars(select(Paper).where(Paper.id.in_(paper_ids.tolist()))))


def test_an_incremental_build_equals_a_full_one(indexed, searcher, store, embedder):
    add_numbered(indexed, 10, title="Hypernetworks for retrieval", abstract="In this paper: hypernetworks.")
    add_numbered(indexed, 6, title="Protein design with diffusion")
    with indexed.session() as session:
        mark_deleted(session, arxiv_id(4), datetime(2025, 6, 11))
    queries = ["hypernetworks", "protein design", "paper", "sparse attention language", "Łukasz Kaiser"]

    build(indexed, store, embedder)
    incremental = {query: search(indexed, searcher, query, mode=SearchMode.KEYWORD) for query in queries}
    build(indexed, store, embedder, full=True)
    full = {query: search(indexed, searcher, query, mode=SearchMode.KEYWORD) for query in queries}

    for query in queries:
        assert [hit.paper.arxiv_id for hit in incremental[query].hits] == [
            hit.paper.arxiv_id for hit in full[query].hits
        ], query
        assert [hit.score for hit in incremental[query].hits] == pytest.approx(
            [hit.score for hit in full[query].hits], rel=1e-5
        ), query


def test_an_incremental_build_in_many_slices_equals_a_full_one(embedded, embedder, tmp_path):
    store = IndexStore(tmp_path / "sliced", BuildSlices(rows=2, band_entries=7, graph_rows=3))
    searcher = Searcher(store, lambda: embedder)
    build(embedded, store, embedder, exact_max=2)
    add_numbered(embedded, 10, title="Hypernetworks for retrieval", abstract="In this paper: hypernetworks.")
    with embedded.session() as session:
        mark_deleted(session, arxiv_id(4), datetime(2025, 6, 11))
    queries = ["hypernetworks", "protein design", "paper", "sparse attention language", "Łukasz Kaiser"]

    build(embedded, store, embedder, exact_max=2)
    incremental = {query: search(embedded, searcher, query) for query in queries}
    build(embedded, store, embedder, exact_max=2, full=True)
    full = {query: search(embedded, searcher, query) for query in queries}

    for query in queries:
        assert [hit.paper.arxiv_id for hit in incremental[query].hits] == [
            hit.paper.arxiv_id for hit in full[query].hits
        ], query


def vector_files(store: IndexStore) -> tuple[list[int], np.ndarray, faiss.IndexHNSWFlat]:
    folder = store.directory / store.current_manifest().generation
    graph = VectorIndex.load_graph(folder / "hnsw.faiss")
    return np.load(folder / "vector_papers.npy").tolist(), np.load(folder / "vectors.npy"), graph


def with_a_sparser_graph(store: IndexStore) -> None:
    """The current generation's graph rebuilt with 4 neighbours a vector instead of 32: a build that extends the
    graph it finds keeps that, one that builds a new graph does not."""
    _, vectors, _ = vector_files(store)
    sparser = faiss.IndexHNSWFlat(vectors.shape[1], 4, faiss.METRIC_INNER_PRODUCT)
    sparser.add(vectors)
    faiss.write_index(sparser, str(store.directory / store.current_manifest().generation / "hnsw.faiss"))


@pytest.mark.parametrize("lag", [0, 2], ids=["graph extended", "graph linked, new vectors scanned"])
def test_an_incremental_build_adds_new_papers_vectors_to_the_graph_it_finds(embedded, embedder, tmp_path, lag):
    store = IndexStore(tmp_path / "search-index", BuildSlices(graph_lag=lag))
    searcher = Searcher(store, lambda: embedder)
    build(embedded, store, embedder, exact_max=2)
    previous = store.directory / store.current_manifest().generation
    with_a_sparser_graph(store)
    add_numbered(
        embedded, 10, title="Hypernetworks for retrieval", abstract="Networks that write the weights of others."
    )
    add_numbered(embedded, 11, title="Protein design with diffusion", abstract="Denoising models draw new proteins.")
    assert embed_pending(embedded, embedder) == 2
    queries = ["networks generating the weights of another network", "designing new proteins", "sparse attention"]

    build(embedded, store, embedder, exact_max=2)
    ids, vectors, graph = vector_files(store)
    assert graph.hnsw.nb_neighbors(0) == 8
    assert len(ids) == len(vectors) == 10
    if lag:
        # The graph lacks no more vectors than it may: it is the previous one, and searches scan the two new ones.
        assert graph.ntotal == 8
        assert (store.directory / store.current_manifest().generation / "hnsw.faiss").samefile(previous / "hnsw.faiss")
    else:
        assert graph.ntotal == 10
    incremental = {query: found(embedded, searcher, query, mode=SearchMode.SEMANTIC) for query in queries}
    build(embedded, store, embedder, exact_max=2, full=True)
    full_ids, full_vectors, full_graph = vector_files(store)

    assert full_graph.hnsw.nb_neighbors(0) == 64
    assert ids == full_ids
    assert np.array_equal(vectors, full_vectors)
    assert incremental == {query: found(embedded, searcher, query, mode=SearchMode.SEMANTIC) for query in queries}
    assert incremental[queries[0]][0] == arxiv_id(10)


@pytest.mark.parametrize("change", ["withdrawn", "embedded again"])
def test_a_graph_that_would_keep_a_stale_vector_is_built_anew(embedded, searcher, store, embedder, change):
    build(embedded, store, embedder, exact_max=2)
    with_a_sparser_graph(store)
    with embedded.session() as session:
        if change == "withdrawn":
            mark_deleted(session, arxiv_id(4), datetime(2025, 6, 11))
        else:
            session.execute(
                delete(PaperEmbedding).where(
                    PaperEmbedding.paper_id == session.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id(4)))
                )
            )
    embed_pending(embedded, embedder)

    build(embedded, store, embedder, exact_max=2)
    ids, vectors, graph = vector_files(store)
    full = build(embedded, store, embedder, exact_max=2, full=True)

    assert graph.hnsw.nb_neighbors(0) == 64
    assert graph.ntotal == len(ids) == len(vectors) == full.vectors
    assert ids == vector_files(store)[0]


def damage_deleted_folder(store: IndexStore) -> None:
    shutil.rmtree(store.directory)


def damage_pointer(store: IndexStore) -> None:
    store.pointer.write_text("{not json")


def damage_pointer_to_nowhere(store: IndexStore) -> None:
    store.pointer.write_text('{"generation": "g-gone"}')


def damage_truncated_vectors(store: IndexStore) -> None:
    path = _generation(store) / "vectors.npy"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_garbage_scores(store: IndexStore) -> None:
    (_generation(store) / "scores_data.npy").write_bytes(b"garbage, not an array")


def damage_missing_counts(store: IndexStore) -> None:
    (_generation(store) / "counts_data.npy").unlink()


def damage_truncated_facets(store: IndexStore) -> None:
    # The next build takes unchanged papers' facets from the generation it builds on: not from a damaged one.
    path = _generation(store) / "published.npy"
    path.write_bytes(path.read_bytes()[:-8])


def _generation(store: IndexStore) -> Path:
    manifest = store.current_manifest()
    assert manifest is not None
    return store.directory / manifest.generation


@pytest.mark.parametrize(
    "damage",
    [
        damage_deleted_folder,
        damage_pointer,
        damage_pointer_to_nowhere,
        damage_truncated_vectors,
        damage_garbage_scores,
        damage_missing_counts,
        damage_truncated_facets,
    ],
)
def test_a_lost_or_damaged_index_is_searched_from_the_database_and_rebuilt(indexed, store, embedder, damage):
    queries = ["sparse attention", "harvests in dry seasons", "Jürgen Schmidhuber", "paper"]

    def results(searcher: Searcher) -> dict:
        return {(query, mode): found(indexed, searcher, query, mode=mode) for query in queries for mode in SearchMode}

    expected = results(Searcher(store, lambda: embedder))
    vectors_stored = embedded_at(indexed)
    damage(store)

    # A worker started now, or one that was running: searches are answered as before.
    assert results(Searcher(store, lambda: embedder)) == expected
    manifest = build(indexed, store, embedder)

    assert manifest.papers == len(PAPERS) and manifest.vectors == len(PAPERS)
    loaded = store.load()
    assert loaded is not None and loaded.manifest == manifest
    assert len(loaded.keyword) == len(PAPERS) and len(loaded.vectors) == len(PAPERS)
    assert results(Searcher(store, lambda: embedder)) == expected
    assert embedded_at(indexed) == vectors_stored
    # The new generation is in use; at most the one it replaced is kept beside it, for workers opening it now.
    assert json.loads(store.pointer.read_text()) == {"generation": manifest.generation}
    generations = [path.name for path in store.directory.iterdir() if path.is_dir()]
    assert manifest.generation in generations and len(generations) <= 2


def test_a_running_searcher_survives_its_index_being_deleted(indexed, searcher, store):
    before = found(indexed, searcher, "sparse attention")
    damage_deleted_folder(store)

    assert found(indexed, searcher, "sparse attention") == before
    add_numbered(indexed, 10, title="Sparse attention once more", abstract="In this paper: sparse attention.")
    assert arxiv_id(10) in found(indexed, searcher, "sparse attention")


def test_semantic_search_finds_a_paraphrase(indexed, searcher):
    assert found(indexed, searcher, "harvests in dry seasons", mode=SearchMode.KEYWORD) == []
    assert found(indexed, searcher, "harvests in dry seasons", mode=SearchMode.SEMANTIC)[:1] == [arxiv_id(4)]
    assert found(indexed, searcher, "harvests in dry seasons")[:1] == [arxiv_id(4)]
    assert found(indexed, searcher, "speeding up LLM training", mode=SearchMode.SEMANTIC)[:1] == [arxiv_id(2)]
    assert found(indexed, searcher, "how do amino acid chains fold", mode=SearchMode.SEMANTIC)[:1] == [arxiv_id(6)]


def test_semantic_search_works_without_an_index_too(embedded, searcher, store):
    assert store.current_manifest() is None
    assert found(embedded, searcher, "harvests in dry seasons", mode=SearchMode.SEMANTIC)[:1] == [arxiv_id(4)]


def test_a_paper_without_a_vector_is_still_found_by_keyword_in_hybrid_mode(catalogue, searcher):
    assert found(catalogue, searcher, "harvests in dry seasons", mode=SearchMode.SEMANTIC) == []
    assert found(catalogue, searcher, "drought") == [arxiv_id(4)]


def similar_to(database: Database, searcher: Searcher, number: int, limit: int = 5) -> list[str]:
    with database.read_session() as session:
        paper = get_paper(session, arxiv_id(number))
        assert paper is not None
        return [found.arxiv_id for found in searcher.similar(session, paper, limit)]


def test_similar_papers_are_the_nearest_others(indexed, searcher):
    similar = similar_to(indexed, searcher, 1)

    assert similar[0] == arxiv_id(5)
    assert arxiv_id(1) not in similar
    assert arxiv_id(WITHDRAWN) not in similar
    assert len(similar_to(indexed, searcher, 1, limit=1)) == 1
    assert similar_to(indexed, searcher, 2)[0] in {arxiv_id(1), arxiv_id(5)}


def test_similar_papers_of_a_paper_without_a_vector_share_its_title_words(indexed, searcher):
    add_numbered(indexed, 10, title="Sparse attention kernels", abstract="In this paper: kernels.")

    similar = similar_to(indexed, searcher, 10)

    assert arxiv_id(10) not in similar
    assert set(similar[:2]) == {arxiv_id(1), arxiv_id(5)}


def test_similar_uses_a_vector_stored_after_the_build(indexed, searcher, embedder):
    add_numbered(indexed, 10, title="Rainfall and harvests", abstract="In this paper dry years cut farm output.")
    embed_pending(indexed, embedder)

    assert similar_to(indexed, searcher, 10)[0] == arxiv_id(4)
    assert similar_to(indexed, searcher, 4)[0] == arxiv_id(10)


def test_an_index_built_for_another_model_is_ignored(catalogue, tmp_path, embedder):
    # Indexes of another catalogue, where every title says "zebra": an index that is searched makes "zebra" find
    # this catalogue's papers of the same ids.
    other = Database(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    upgrade(other)
    for number in PAPERS:
        add_numbered(other, number, title=f"Zebra migrations, part {number}")
    same_model = IndexStore(tmp_path / "same-model")
    build(other, same_model, embedder)
    other_model = IndexStore(tmp_path / "other-model")
    other_model.build(other, "another-model", embedder.dimensions)
    other.dispose()

    assert arxiv_id(1) in found(catalogue, Searcher(same_model, lambda: embedder), "zebra", mode=SearchMode.KEYWORD)
    searcher = Searcher(other_model, lambda: embedder)
    assert found(catalogue, searcher, "zebra", mode=SearchMode.KEYWORD) == []
    assert set(found(catalogue, searcher, "sparse attention", mode=SearchMode.KEYWORD)) == {arxiv_id(1), arxiv_id(5)}


def test_status_tells_how_far_search_has_caught_up(catalogue, searcher, store, embedder):
    def status():
        with catalogue.read_session() as session:
            return searcher.status(session)

    empty = status()
    assert (empty.papers, empty.embedded, empty.indexed_papers, empty.indexed_vectors) == (len(PAPERS), 0, 0, 0)
    assert empty.built_at is None
    embed_pending(catalogue, embedder, limit=3)
    manifest = build(catalogue, store, embedder)

    now = status()
    assert (now.papers, now.embedded, now.indexed_papers, now.indexed_vectors) == (len(PAPERS), 3, len(PAPERS), 3)
    assert now.built_at == manifest.built_at
