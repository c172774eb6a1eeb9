"""Keyword search as a service, on each backend: every word must match, title matches rank first, and no query
string can reach the database as anything but words."""

from __future__ import annotations

from datetime import datetime

import pytest

from paperboard.catalog.store import mark_deleted
from paperboard.db import Database
from paperboard.search.keyword import QUERY_MAX_LENGTH, QueryTooLong, query_words, search_papers
from tests.community.factories import add_paper


@pytest.fixture
def catalogue(database: Database) -> Database:
    add_paper(
        database,
        "2506.00001",
        title="Sparse attention for long documents",
        abstract="We make attention sparse.",
        authors=["Ada Lovelace"],
        published_at=datetime(2025, 6, 1),
    )
    add_paper(
        database,
        "2506.00002",
        title="Dense retrieval",
        abstract="Retrieval with sparse attention and 100% recall_at_k.",
        authors=["Alan Turing"],
        published_at=datetime(2025, 6, 2),
    )
    add_paper(
        database,
        "2506.00003",
        title="Graph networks",
        abstract='Message passing (GNN) "quoted".',
        authors=["Grace Hopper"],
        published_at=datetime(2025, 6, 3),
    )
    add_paper(
        database,
        "2506.00004",
        title="Withdrawn sparse attention",
        abstract="Gone.",
        authors=["X"],
        published_at=datetime(2025, 6, 4),
    )
    with database.session() as session:
        mark_deleted(session, "2506.00004", datetime(2025, 6, 5))
    return database


def found(database: Database, query: str, **options: int) -> list[str]:
    with database.read_session() as session:
        return [
            paper.arxiv_id
            for paper in search_papers(session, query, limit=options.get("limit", 10), offset=options.get("offset", 0))
        ]


def test_every_word_must_match_and_title_matches_come_first(catalogue):
    assert found(catalogue, "Sparse ATTENTION") == ["2506.00001", "2506.00002"]
    assert found(catalogue, "sparse graph") == []
    assert found(catalogue, "sparse", limit=1, offset=1) == ["2506.00002"]


def test_authors_are_searched(catalogue):
    assert found(catalogue, "hopper") == ["2506.00003"]


@pytest.mark.parametrize(
    "query",
    [
        '"sparse',
        "sparse AND (",
        "100%",
        "recall_at_k",
        "*",
        "' OR 1=1 --",
        "\\",
        "-sparse",
        "注意力",
        "NEAR(a b)",
        "\x00",
    ],
)
def test_hostile_queries_are_only_words(catalogue, query):
    results = found(catalogue, query)

    assert set(results) <= {"2506.00001", "2506.00002", "2506.00003"}


def test_wildcards_in_a_query_match_themselves_only(catalogue):
    # `%` and `_` are LIKE's wildcards: as wildcards they would match every paper.
    assert found(catalogue, "recall_at_k") == ["2506.00002"]
    assert found(catalogue, "_") == ["2506.00002"]  # the only underscore is in its abstract
    assert found(catalogue, "%") == []  # not a word character: the query has no words


def test_a_query_without_words_finds_nothing(catalogue):
    assert found(catalogue, "  ") == []
    assert found(catalogue, "()") == []


def test_a_too_long_query_is_refused(sqlite_database):
    with sqlite_database.read_session() as session, pytest.raises(QueryTooLong):
        search_papers(session, "x" * (QUERY_MAX_LENGTH + 1), limit=10)


def test_query_words_are_distinct_lower_case_words():
    assert query_words('Sparse "sparse" Attention-heads (GNN)') == ["sparse", "attention", "heads", "gnn"]
