"""`GET /api/papers/search` and `GET /api/papers/{id}/similar` over HTTP, on each backend: modes, filters, sorts,
paging, Hugging Face's item shape, and the answers to bad parameters."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from paperboard.catalog.store import mark_deleted
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embed_pending, model_key
from paperboard.search.index_store import IndexStore
from tests.community.factories import add_listing, add_paper, add_user, add_votes
from tests.web.api.test_daily_papers import ITEM_KEYS, PAPER_KEYS
from tests.web.conftest import ClientFor

# A searcher looks for catalogue changes at most once a second; these tests change it between searches.
pytestmark = pytest.mark.usefixtures("searches_see_changes_at_once")

# arXiv number: (title, abstract, categories, first published, code link).
PAPERS = {
    1: (
        "Sparse attention for long documents",
        "We make the attention of transformers sparse so that they read a hundred thousand tokens.",
        ["cs.CL", "cs.LG"],
        datetime(2025, 6, 1, 9),
        "https://github.com/example/sparse",
    ),
    2: (
        "Faster training of large language models",
        "We cut the memory and the time needed to train big transformer language models.",
        ["cs.LG"],
        datetime(2025, 6, 2, 23, 30),
        None,
    ),
    3: (
        "Gauge fields on the lattice",
        "We simulate quantum chromodynamics numerically with improved actions.",
        ["hep-lat"],
        datetime(2025, 6, 3),
        None,
    ),
    4: (
        "Crop yields under drought",
        "A survey of agriculture and rainfall in sub-Saharan Africa.",
        ["physics.soc-ph"],
        datetime(2025, 6, 4),
        None,
    ),
    5: (
        "Attention is sparse in practice",
        "We measure how sparse the attention of language models really is.",
        ["cs.CL"],
        datetime(2025, 6, 5),
        "https://github.com/example/measure",
    ),
}


AUTHORS = {1: "Ashish Vaswani", 2: "Jürgen Schmidhuber", 3: "Kenneth Wilson", 4: "Amartya Sen", 5: "Ada Lovelace"}


def arxiv_id(number: int) -> str:
    return f"2506.{number:05d}"


@pytest.fixture
def catalogue(database: Database, embedder: Embedder, tmp_path) -> Database:
    """The papers above with their vectors and an index, as `paperboard index` leaves them; 1 and 2 listed, 3's
    listing hidden, and a withdrawn paper about sparse attention."""
    for number, (title, abstract, categories, published_at, code_url) in PAPERS.items():
        add_paper(
            database,
            arxiv_id(number),
            title=title,
            abstract=abstract,
            authors=[AUTHORS[number]],
            categories=categories,
            published_at=published_at,
            code_url=code_url,
        )
    add_paper(database, arxiv_id(9), title="Sparse attention, withdrawn", published_at=datetime(2025, 6, 9))
    with database.session() as session:
        mark_deleted(session, arxiv_id(9), datetime(2025, 6, 10))
    moderator = add_user(database, "mod", role="moderator")
    voter = add_user(database, "voter")
    add_listing(database, arxiv_id(1), date(2025, 6, 2), upvotes=5)
    add_listing(database, arxiv_id(2), date(2025, 6, 3), upvotes=20)
    add_listing(database, arxiv_id(3), date(2025, 6, 4), hidden_by=moderator)
    add_votes(database, arxiv_id(5), voter)
    embed_pending(database, embedder)
    # Where the app built by `client_for` looks for its index.
    directory = Settings(data_dir=tmp_path / "data").search_index_dir
    IndexStore(directory).build(database, model_key(embedder), embedder.dimensions)
    return database


def search_ids(client, **params) -> list[str]:
    response = client.get("/api/papers/search", params=params)
    assert response.status_code == 200, response.text
    return [item["paper"]["id"] for item in response.json()]


def test_results_are_daily_paper_items(catalogue, client_for: ClientFor):
    response = client_for(catalogue).get("/api/papers/search", params={"q": "sparse attention"})

    assert response.status_code == 200
    items = response.json()
    assert {item["paper"]["id"] for item in items[:2]} == {arxiv_id(1), arxiv_id(5)}
    for item in items:
        assert set(item) == ITEM_KEYS
        assert set(item["paper"]) == PAPER_KEYS
    first = next(item for item in items if item["paper"]["id"] == arxiv_id(1))
    assert first["title"] == first["paper"]["title"] == "Sparse attention for long documents"
    assert first["paper"]["githubRepo"] == "https://github.com/example/sparse"
    assert first["paper"]["upvotes"] == 5
    assert first["paper"]["submittedOnDailyAt"] == "2025-06-02T08:00:00Z"
    assert arxiv_id(9) not in [item["paper"]["id"] for item in items]


def test_each_mode(catalogue, client_for: ClientFor):
    client = client_for(catalogue)

    # A paraphrase: no word in common with paper 4, found by meaning.
    assert search_ids(client, q="harvests in dry seasons", mode="keyword") == []
    assert search_ids(client, q="harvests in dry seasons", mode="semantic")[:1] == [arxiv_id(4)]
    assert search_ids(client, q="harvests in dry seasons", mode="hybrid")[:1] == [arxiv_id(4)]
    assert search_ids(client, q="harvests in dry seasons")[:1] == [arxiv_id(4)]
    # Words only: keyword mode finds exactly the papers that have them.
    assert search_ids(client, q="lattice", mode="keyword") == [arxiv_id(3)]
    assert search_ids(client, q='"attention is sparse"') == [arxiv_id(5)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "cs.CL"}, [1, 5]),
        ({"category": "cs"}, [1, 2, 5]),
        ({"category": "hep-lat"}, [3]),
        ({"published_from": "2025-06-03"}, [3, 4, 5]),
        ({"published_to": "2025-06-02"}, [1, 2]),
        ({"published_from": "2025-06-02", "published_to": "2025-06-03"}, [2, 3]),
        ({"has_code": "true"}, [1, 5]),
        ({"listed": "true"}, [1, 2]),
        ({"listed": "true", "has_code": "true"}, [1]),
        ({"category": "astro-ph"}, []),
    ],
)
def test_filters(catalogue, client_for: ClientFor, params, expected):
    # One word of every paper, so that the filters alone decide.
    query = "sparse language lattice drought"
    client = client_for(catalogue)

    assert sorted(search_ids(client, q=query, mode="keyword", **params)) == [arxiv_id(n) for n in expected]
    assert sorted(search_ids(client, q=query, mode="hybrid", **params)) == [arxiv_id(n) for n in expected]


def test_sorts_and_pages(catalogue, client_for: ClientFor):
    client = client_for(catalogue)
    query = {"q": "sparse attention language models", "mode": "keyword"}

    relevance = search_ids(client, **query)
    by_date = search_ids(client, **query, sort="date")
    by_upvotes = search_ids(client, **query, sort="upvotes")

    assert set(relevance) == {arxiv_id(1), arxiv_id(2), arxiv_id(5)}
    assert search_ids(client, **query, sort="relevance") == relevance
    assert by_date == [arxiv_id(5), arxiv_id(2), arxiv_id(1)]
    assert by_upvotes == [arxiv_id(2), arxiv_id(1), arxiv_id(5)]
    pages = [search_ids(client, **query, sort="date", limit=2, offset=offset) for offset in (0, 2, 4)]
    assert pages == [by_date[:2], by_date[2:], []]


EXPLAIN_KEYS = {"rank", "keywordScore", "keywordRank", "cosine", "semanticRank", "fusedScore"}


def explained(client, **params) -> list[tuple[str, dict]]:
    response = client.get("/api/papers/search", params={**params, "explain": "1"})
    assert response.status_code == 200, response.text
    return [(item["paper"]["id"], item["explain"]) for item in response.json()]


def shares(values: list[float]) -> list[float]:
    """Scores mapped onto 0–1 between the best and the worst, as hybrid fusion maps each ranking's."""
    best, worst = max(values), min(values)
    return [(value - worst) / (best - worst) if best > worst else 1.0 for value in values]


def test_explain_in_hybrid_mode_adds_up_to_the_fused_score(catalogue, client_for: ClientFor):
    client = client_for(catalogue)
    query = {"q": "sparse attention in language models", "mode": "hybrid"}

    results = explained(client, **query)

    # The same results in the same order, each with its explanation.
    assert [paper for paper, _ in results] == search_ids(client, **query)
    assert len(results) >= 3
    assert all(set(explanation) == EXPLAIN_KEYS for _, explanation in results)
    assert [explanation["rank"] for _, explanation in results] == list(range(1, len(results) + 1))
    # Every paper of both rankings is a result here (a small catalogue), so each ranking's scores can be mapped as
    # the fusion maps them and the fused scores recomputed from the explanations alone.
    keyword = [explanation for _, explanation in results if explanation["keywordScore"] is not None]
    semantic = [explanation for _, explanation in results if explanation["cosine"] is not None]
    assert {arxiv_id(1), arxiv_id(5)} <= {paper for paper, explanation in results if explanation["keywordRank"]}
    assert sorted(explanation["keywordRank"] for explanation in keyword) == list(range(1, len(keyword) + 1))
    assert sorted(explanation["semanticRank"] for explanation in semantic) == list(range(1, len(semantic) + 1))
    assert all(0.2 <= explanation["cosine"] <= 1 for explanation in semantic)
    fused = {id(explanation): 0.0 for _, explanation in results}
    for weight, ranking, score in ((0.6, keyword, "keywordScore"), (0.4, semantic, "cosine")):
        for explanation, share in zip(ranking, shares([item[score] for item in ranking]), strict=True):
            fused[id(explanation)] += weight * share
    for _, explanation in results:
        assert explanation["fusedScore"] == pytest.approx(fused[id(explanation)])
    assert [explanation["fusedScore"] for _, explanation in results] == sorted(fused.values(), reverse=True)


def test_explain_in_one_ranking_modes(catalogue, client_for: ClientFor):
    client = client_for(catalogue)

    by_keyword = explained(client, q="sparse attention language models", mode="keyword")
    by_meaning = explained(client, q="harvests in dry seasons", mode="semantic")

    assert by_keyword and by_meaning
    for position, (_, explanation) in enumerate(by_keyword, start=1):
        assert explanation["keywordRank"] == explanation["rank"] == position
        assert explanation["keywordScore"] > 0
        assert explanation["cosine"] is explanation["semanticRank"] is explanation["fusedScore"] is None
    assert [explanation["keywordScore"] for _, explanation in by_keyword] == sorted(
        (explanation["keywordScore"] for _, explanation in by_keyword), reverse=True
    )
    assert by_meaning[0][0] == arxiv_id(4)
    for position, (_, explanation) in enumerate(by_meaning, start=1):
        assert explanation["semanticRank"] == explanation["rank"] == position
        assert explanation["keywordScore"] is explanation["keywordRank"] is explanation["fusedScore"] is None
    assert [explanation["cosine"] for _, explanation in by_meaning] == sorted(
        (explanation["cosine"] for _, explanation in by_meaning), reverse=True
    )


def test_explain_keeps_the_rank_by_relevance_under_another_order(catalogue, client_for: ClientFor):
    results = explained(client_for(catalogue), q="sparse attention language models", mode="keyword", sort="date")

    assert [paper for paper, _ in results] == [arxiv_id(5), arxiv_id(2), arxiv_id(1)]
    assert sorted(explanation["rank"] for _, explanation in results) == [1, 2, 3]


def test_without_explain_items_are_unchanged(catalogue, client_for: ClientFor):
    client = client_for(catalogue)

    for params in ({}, {"explain": "0"}, {"explain": "false"}):
        response = client.get("/api/papers/search", params={"q": "sparse attention", **params})
        assert response.status_code == 200
        assert response.json()
        assert all(set(item) == ITEM_KEYS for item in response.json())
    # An arXiv id names its paper: no ranking chose it, so there is nothing to explain.
    response = client.get("/api/papers/search", params={"q": arxiv_id(2), "explain": "1"})
    assert [set(item) for item in response.json()] == [ITEM_KEYS]


# A NUL never reaches the search: every query holding one is refused with a 400 (tests/web/test_bad_bytes.py).
@pytest.mark.parametrize("query", ["' OR 1=1 --", "%", "_", "\\", "*", "(", '"', "AND", "😀", "the of and"])
def test_hostile_queries_are_answered_with_nothing(catalogue, client_for: ClientFor, query):
    client = client_for(catalogue)

    for mode in ("keyword", "semantic", "hybrid"):
        assert search_ids(client, q=query, mode=mode) == [], mode


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"q": "x" * 251}, "q"),
        ({"q": "x", "mode": "fuzzy"}, "mode"),
        ({"q": "x", "sort": "best"}, "sort"),
        ({"q": "x", "limit": "0"}, "limit"),
        ({"q": "x", "limit": "121"}, "limit"),
        ({"q": "x", "offset": "-1"}, "offset"),
        ({"q": "x", "offset": "201"}, "offset"),
        ({"q": "x", "offset": "many"}, "offset"),
        ({"q": "x", "published_from": "June"}, "published_from"),
        ({"q": "x", "published_to": "2025-02-30"}, "published_to"),
        # Not seconds since 1970, which the parser would read it as.
        ({"q": "x", "published_to": "0"}, "published_to"),
        ({"published_from": "1749000000"}, "published_from"),
        ({"q": "x", "has_code": "maybe"}, "has_code"),
        ({"q": "x", "listed": "2"}, "listed"),
        ({"q": "x", "explain": "very"}, "explain"),
        ({"q": "x", "category": "c" * 65}, "category"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(sqlite_database, client_for: ClientFor, params, problem):
    response = client_for(sqlite_database).get("/api/papers/search", params=params)

    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert problem in response.json()["error"]


def test_the_longest_query_is_accepted(catalogue, client_for: ClientFor):
    query = ("sparse attention " * 15)[:250]

    assert {arxiv_id(1), arxiv_id(5)} <= set(search_ids(client_for(catalogue), q=query))


def test_papers_stored_after_the_index_was_built_are_found(catalogue, client_for: ClientFor):
    client = client_for(catalogue)
    assert search_ids(client, q="hypernetworks", mode="keyword") == []

    add_paper(catalogue, arxiv_id(10), title="Hypernetworks for retrieval", published_at=datetime(2025, 6, 10))

    assert search_ids(client, q="hypernetworks", mode="keyword") == [arxiv_id(10)]


def test_the_answer_says_how_many_papers_meaning_can_find(catalogue, client_for: ClientFor, embedder: Embedder):
    client = client_for(catalogue)
    assert client.get("/api/papers/search", params={"q": "attention"}).headers["X-Semantic-Coverage"] == "5/5"

    # A paper without a vector yet is searched by its words, and counted as not covered; nothing waits for it.
    add_paper(catalogue, arxiv_id(10), title="Hypernetworks for retrieval", published_at=datetime(2025, 6, 10))
    response = client.get("/api/papers/search", params={"q": "hypernetworks"})
    assert [item["paper"]["id"] for item in response.json()] == [arxiv_id(10)]
    assert response.headers["X-Semantic-Coverage"] == "5/6"

    assert embed_pending(catalogue, embedder) == 1
    assert client.get("/api/papers/search", params={"q": "attention"}).headers["X-Semantic-Coverage"] == "6/6"
    # The daily papers (no query) are no search.
    assert "X-Semantic-Coverage" not in client.get("/api/papers/search").headers


def similar_ids(client, paper: str, **params) -> list[str]:
    response = client.get(f"/api/papers/{paper}/similar", params=params)
    assert response.status_code == 200, response.text
    return [item["paper"]["id"] for item in response.json()]


def test_similar_papers(catalogue, client_for: ClientFor):
    client = client_for(catalogue)

    similar = similar_ids(client, arxiv_id(1))

    assert similar[0] == arxiv_id(5)
    assert arxiv_id(1) not in similar and arxiv_id(9) not in similar
    items = client.get(f"/api/papers/{arxiv_id(1)}/similar").json()
    assert all(set(item) == ITEM_KEYS for item in items)
    assert similar_ids(client, f"{arxiv_id(1)}v3", limit=1) == [arxiv_id(5)]
    assert similar_ids(client, f"arXiv:{arxiv_id(1)}") == similar
    assert len(similar_ids(client, arxiv_id(1), limit=50)) <= 4


@pytest.mark.parametrize("limit", ["0", "51", "-3", "ten"])
def test_similar_limit_bounds(catalogue, client_for: ClientFor, limit):
    response = client_for(catalogue).get(f"/api/papers/{arxiv_id(1)}/similar", params={"limit": limit})

    assert response.status_code == 400
    assert "limit" in response.json()["error"]


@pytest.mark.parametrize("paper", ["2506.09999", "2506.00009", "not-an-id", "hep-th/9901001"])
def test_similar_of_an_unknown_or_withdrawn_paper_is_404(catalogue, client_for: ClientFor, paper):
    response = client_for(catalogue).get(f"/api/papers/{paper}/similar")

    assert response.status_code == 404
    assert "There is no paper" in response.json()["error"]
