"""BM25 as a sparse matrix of term scores: ranking sanity, author search, statistics, conjunctions."""

from __future__ import annotations

import numpy as np
import pytest

from paperboard.search.analysis import Document, terms
from paperboard.search.keyword_index import KeywordIndex, TermCounts, document_counts, top_rows
from tests.search.keyword_corpus import corpus, scores_by_paper_and_term

FILLER = "We report experiments on several benchmarks and discuss the results in detail."


def index_of(documents: dict[int, Document]) -> KeywordIndex:
    ids = sorted(documents)
    return KeywordIndex.build(np.array(ids, dtype=np.int64), [documents[paper_id] for paper_id in ids])


def ranked(index: KeywordIndex, query: str, limit: int = 10) -> list[int]:
    rows, _ = index.top(terms(query), limit)
    return index.paper_ids[rows].tolist()


def test_a_title_match_beats_an_abstract_only_match():
    index = index_of(
        {
            1: Document("Graph networks for chemistry", f"{FILLER} We also try attention."),
            2: Document("Attention for graph networks", FILLER),
            3: Document("Protein folding", FILLER),
        }
    )

    assert ranked(index, "attention") == [2, 1]


def test_a_rarer_term_weighs_more_than_a_common_one():
    # "model" is in every paper, "diffusion" in one: the paper with the rare word wins although the other says
    # "model" twice.
    documents = {number: Document(f"A model of topic {number}", "A model.", ()) for number in range(3, 12)} | {
        1: Document("Diffusion for images", FILLER),
        2: Document("A model, a model", FILLER),
    }
    index = index_of(documents)

    assert ranked(index, "diffusion model")[0] == 1
    scores = index.scores_of(terms("diffusion model"))
    assert scores[0] > scores[1] > 0


def test_more_matching_terms_rank_higher():
    index = index_of(
        {
            1: Document("Sparse attention", FILLER),
            2: Document("Sparse attention for long documents", FILLER),
            3: Document("Long documents", FILLER),
        }
    )

    assert ranked(index, "sparse attention long documents")[0] == 2
    assert set(ranked(index, "sparse attention long documents")) == {1, 2, 3}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Łukasz Kaiser", 1),
        ("łukasz", 1),
        ("KAISER", 1),
        ("Jürgen Schmidhuber", 2),
        ("schmidhuber", 2),
        ("Émilie du Châtelet", 3),
    ],
)
def test_authors_are_found_by_their_names_as_typed(query, expected):
    index = index_of(
        {
            1: Document("Attention is all you need", FILLER, ("Ashish Vaswani", "Łukasz Kaiser")),
            2: Document("Long short-term memory", FILLER, ("Sepp Hochreiter", "Jürgen Schmidhuber")),
            3: Document("Institutions de physique", FILLER, ("Émilie du Châtelet",)),
            4: Document("Unrelated", FILLER, ("Ada Lovelace",)),
        }
    )

    assert ranked(index, query) == [expected]


def test_title_and_author_words_are_weighted():
    counts = document_counts(Document("Sparse attention", "Sparse matrices.", ("Ada Sparse",)))

    # Three for the title, one for the abstract, one for the author's name.
    assert counts["spars"] == 5.0
    assert counts["attent"] == 3.0
    assert counts["matric"] == 1.0
    assert counts["ada"] == 1.0


def test_unknown_terms_and_empty_queries_score_nothing():
    index = index_of({1: Document("Sparse attention", FILLER)})

    assert ranked(index, "zebra") == []
    assert ranked(index, "") == []
    assert index.scores_of([]).tolist() == [0.0]


def test_top_respects_the_allowed_rows_and_the_limit():
    index = index_of({number: Document(f"Attention paper {number}", FILLER) for number in range(1, 11)})
    allowed = np.zeros(10, dtype=np.bool_)
    allowed[[2, 5, 7]] = True

    rows, scores = index.top(["attent"], 10, allowed)

    assert sorted(index.paper_ids[rows].tolist()) == [3, 6, 8]
    assert np.all(scores > 0)
    assert len(index.top(["attent"], 4)[0]) == 4
    assert len(index.top(["attent"], 10, np.zeros(10, dtype=np.bool_))[0]) == 0


def test_top_rows_orders_by_score_then_row():
    rows, scores = top_rows(np.array([0.5, 2.0, 0.0, 2.0, 1.0], dtype=np.float32), 3)

    assert rows.tolist() == [1, 3, 4]
    assert scores.tolist() == [2.0, 2.0, 1.0]
    assert top_rows(np.array([0.1, 0.3], dtype=np.float32), 5, floor=0.2)[0].tolist() == [1]


def test_rows_with_all_is_the_conjunction_of_the_terms():
    index = index_of(
        {
            10: Document("Sparse attention", FILLER),
            20: Document("Sparse matrices", FILLER),
            30: Document("Dense attention", FILLER),
            40: Document("Sparse dense attention", FILLER),
        }
    )

    def papers_with_all(query: str) -> list[int]:
        return sorted(index.paper_ids[index.rows_with_all(terms(query))].tolist())

    assert papers_with_all("sparse attention") == [10, 40]
    assert papers_with_all("sparse") == [10, 20, 40]
    assert papers_with_all("sparse dense attention") == [40]
    assert papers_with_all("sparse zebra") == []
    assert papers_with_all("") == []


def test_build_refuses_ids_that_do_not_match_the_documents():
    with pytest.raises(ValueError, match="2 paper ids for 1 documents"):
        TermCounts.build(np.array([1, 2]), [Document("One", "")])


def test_statistics_of_a_loaded_index_match_its_counts():
    documents = corpus(50, seed=3)
    ids = np.array(sorted(documents), dtype=np.int64)
    counts = TermCounts.build(ids, [documents[paper_id] for paper_id in ids])
    index = KeywordIndex.from_counts(counts)

    from_counts = counts.statistics()
    from_scores = index.statistics(counts.average_length())

    assert from_scores.papers == from_counts.papers == 50
    assert from_scores.average_length == pytest.approx(from_counts.average_length)
    for term in ["word1", "word30", "ada", "łukasz"]:
        assert from_scores.document_frequency(term) == from_counts.document_frequency(term) > 0
    assert from_scores.document_frequency("zebra") == 0


def test_a_small_index_scored_with_a_main_ones_statistics_matches_one_big_index():
    # How the search service scores papers changed since the main index was built: with the main index's
    # statistics combined with their own, their scores are those a single index over all papers would give.
    documents = corpus(120, seed=4)
    ids = sorted(documents)
    main_ids, recent_ids = ids[:100], ids[100:]
    main_counts = TermCounts.build(np.array(main_ids), [documents[paper_id] for paper_id in main_ids])
    main = KeywordIndex.from_counts(main_counts)
    recent = KeywordIndex.from_counts(
        TermCounts.build(np.array(recent_ids), [documents[paper_id] for paper_id in recent_ids]),
        main.statistics(main_counts.average_length()),
    )
    whole = KeywordIndex.from_counts(TermCounts.build(np.array(ids), [documents[paper_id] for paper_id in ids]))

    whole_scores = scores_by_paper_and_term(whole)
    for key, score in scores_by_paper_and_term(recent).items():
        assert score == pytest.approx(whole_scores[key], rel=1e-5), key
