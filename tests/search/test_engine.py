"""Ranking without a database: keyword, semantic and hybrid modes with the packaged embedder, reciprocal-rank
fusion, several index parts, and masks."""

from __future__ import annotations

import numpy as np
import pytest

from paperboard.search.analysis import Document
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import blend
from paperboard.search.engine import (
    SEMANTIC_FLOOR,
    Fusion,
    FusionMethod,
    SearchEngine,
    SearchMode,
    fuse,
    rank,
    rows_of,
)
from paperboard.search.keyword_index import KeywordIndex
from paperboard.search.vector_index import VectorIndex

PAPERS = {
    11: Document(
        "Sparse attention for long documents",
        "We make the attention of transformers sparse so that they read inputs of a hundred thousand tokens.",
    ),
    12: Document(
        "Faster training of large language models",
        "We cut the memory and the time needed to train big transformer language models.",
    ),
    13: Document(
        "Gauge fields on the lattice",
        "We simulate quantum chromodynamics numerically with improved actions.",
    ),
    14: Document(
        "Crop yields under drought",
        "A survey of agriculture and rainfall in sub-Saharan Africa.",
    ),
    15: Document(
        "Attention sinks",
        "Language models put much attention on the first token; we explain why.",
    ),
    16: Document(
        "Protein structure prediction",
        "Predicting how proteins fold from their amino acid sequence with deep networks.",
    ),
}
IDS = np.array(sorted(PAPERS), dtype=np.int64)


@pytest.fixture(scope="module")
def engine(embedder: Embedder) -> SearchEngine:
    documents = [PAPERS[paper_id] for paper_id in IDS]
    vectors = paper_vectors(embedder, documents)
    return SearchEngine(KeywordIndex.build(IDS, documents), VectorIndex.build(IDS, vectors), embedder)


def paper_vectors(embedder: Embedder, documents: list[Document]) -> np.ndarray:
    """As the index has them: each paper's abstract vector blended with its title's."""
    return blend(embedder.embed([d.title for d in documents]), embedder.embed([d.abstract for d in documents]))


def mask(*paper_ids: int) -> np.ndarray:
    return np.isin(IDS, paper_ids)


# Textbook reciprocal-rank fusion, so that the arithmetic below does not move with the tuned defaults.
EVEN = Fusion(FusionMethod.RECIPROCAL_RANK, k=60.0, keyword_weight=1.0, semantic_weight=1.0)


def test_a_paper_found_by_both_rankings_beats_one_found_by_one():
    keyword = [(1, 9.0), (2, 5.0), (3, 1.0)]
    semantic = [(4, 0.9), (2, 0.8), (5, 0.7)]

    fused = fuse(keyword, semantic, EVEN)

    assert [paper_id for paper_id, _ in fused][:1] == [2]
    assert {paper_id for paper_id, _ in fused} == {1, 2, 3, 4, 5}
    assert dict(fused)[2] == pytest.approx(1 / 62 + 1 / 62)
    assert dict(fused)[1] == pytest.approx(1 / 61)


def test_fusion_ties_go_to_the_better_keyword_rank_then_the_lower_id():
    # 1 and 4 are both first in one ranking, 2 and 3 both second: the keyword one wins each tie.
    fused = fuse([(1, 3.0), (2, 2.0)], [(4, 0.9), (3, 0.8)], EVEN)

    assert [paper_id for paper_id, _ in fused] == [1, 4, 2, 3]
    assert [paper_id for paper_id, _ in fuse([], [(9, 0.5), (8, 0.5)], EVEN)] == [9, 8]


def test_score_fusion_maps_each_ranking_onto_0_to_1_and_weights_it():
    keyword = [(1, 12.0), (2, 7.0), (3, 2.0)]
    semantic = [(2, 0.6), (4, 0.5), (1, 0.4)]

    weighted = Fusion(FusionMethod.SCORES, keyword_weight=0.6, semantic_weight=0.4)

    assert dict(fuse(keyword, semantic, weighted)) == pytest.approx({1: 0.6, 2: 0.6 * 0.5 + 0.4, 3: 0.0, 4: 0.4 * 0.5})
    # One paper alone, or papers all tied, are each their ranking's best.
    assert dict(fuse([(7, 3.0)], [(8, 0.3), (9, 0.3)], weighted)) == pytest.approx({7: 0.6, 8: 0.4, 9: 0.4})


def test_score_fusion_keeps_a_keyword_match_far_ahead_of_the_rest_first():
    # The keyword ranking's first paper stands far above its next; the semantic ranking barely tells its papers
    # apart. Reciprocal ranks see two firsts; scores see one clear winner and a near tie.
    keyword = [(1, 30.0), (2, 6.0), (3, 5.0), (4, 4.5)]
    semantic = [(2, 0.52), (1, 0.5), (3, 0.49), (4, 0.2)]

    scores_first = fuse(keyword, semantic, Fusion(FusionMethod.SCORES, keyword_weight=0.5, semantic_weight=0.5))
    ranks_first = fuse(keyword, semantic, EVEN)

    assert scores_first[0][0] == 1
    assert dict(ranks_first)[1] == pytest.approx(dict(ranks_first)[2])


def test_fusion_weights_and_depth():
    keyword = [(1, 3.0)]
    semantic = [(2, 0.9)]

    assert [pid for pid, _ in fuse(keyword, semantic, Fusion(keyword_weight=2.0, semantic_weight=1.0))] == [1, 2]
    assert [pid for pid, _ in fuse(keyword, semantic, Fusion(keyword_weight=1.0, semantic_weight=2.0))] == [2, 1]
    # `rank` decides how deep each ranking is read (`depth`, or the results wanted if more); fusion takes them whole.
    deep = [(paper_id, 1.0) for paper_id in range(1, 11)]
    assert [pid for pid, _ in fuse(deep, [], Fusion(depth=3))] == list(range(1, 11))


def ids_for(engine: SearchEngine, query: str, mode: SearchMode, **options) -> list[int]:
    return engine.rank(query, mode, limit=options.pop("limit", 10), **options)


def test_keyword_mode_finds_only_papers_with_the_words(engine):
    assert ids_for(engine, "attention", SearchMode.KEYWORD) == [15, 11]
    assert ids_for(engine, "proteins", SearchMode.KEYWORD) == [16]
    # A paraphrase without the paper's words is not found by keyword.
    assert ids_for(engine, "harvests in dry seasons", SearchMode.KEYWORD) == []


def test_semantic_mode_finds_a_paraphrase(engine):
    found = ids_for(engine, "harvests in dry seasons", SearchMode.SEMANTIC)

    assert found[0] == 14
    assert ids_for(engine, "speeding up LLM training", SearchMode.SEMANTIC)[0] == 12


def test_hybrid_mode_finds_what_either_finds_and_puts_agreement_first(engine):
    keyword = ids_for(engine, "attention language models", SearchMode.KEYWORD)
    semantic = ids_for(engine, "attention language models", SearchMode.SEMANTIC)
    hybrid = ids_for(engine, "attention language models", SearchMode.HYBRID)

    assert set(hybrid) == set(keyword) | set(semantic)
    both = set(keyword) & set(semantic)
    assert both and set(hybrid[: len(both)]) == both
    assert ids_for(engine, "harvests in dry seasons", SearchMode.HYBRID)[0] == 14


@pytest.mark.parametrize("mode", list(SearchMode))
@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_finds_nothing(engine, mode, query):
    assert ids_for(engine, query, mode) == []


def test_a_query_of_stopwords_has_no_keyword_results(engine):
    assert ids_for(engine, "the of and", SearchMode.KEYWORD) == []


@pytest.mark.parametrize("mode", [SearchMode.SEMANTIC, SearchMode.HYBRID])
@pytest.mark.parametrize("query", ["%", "*", "\x00", "😀 🚀", "' --"])
def test_a_query_without_a_word_is_not_searched_by_meaning(engine, mode, query):
    # Its vector would land near arbitrary papers (a "%" came within the floor of an abstract about tokens).
    assert ids_for(engine, query, mode) == []


@pytest.mark.parametrize("mode", list(SearchMode))
def test_nonsense_finds_nothing(engine, mode):
    assert ids_for(engine, "xqzv blorf", mode) == []


def test_semantic_results_are_above_the_floor(engine, embedder):
    query = embedder.embed_one("attention in transformers")
    similarities = engine.vectors.vectors @ query

    found = ids_for(engine, "attention in transformers", SearchMode.SEMANTIC)

    assert set(found) == set(IDS[similarities > SEMANTIC_FLOOR].tolist())
    assert found == IDS[np.argsort(-similarities)][: len(found)].tolist()


@pytest.mark.parametrize("mode", list(SearchMode))
def test_masks_are_respected_in_every_mode(engine, mode):
    unmasked = ids_for(engine, "attention language models", mode)
    allowed = mask(*[paper_id for paper_id in IDS.tolist() if paper_id != unmasked[0]])

    masked = ids_for(engine, "attention language models", mode, allowed=allowed)

    assert unmasked[0] not in masked
    assert masked == [paper_id for paper_id in unmasked if paper_id != unmasked[0]]
    assert ids_for(engine, "attention language models", mode, allowed=mask()) == []


def test_the_limit_cuts_the_ranking(engine):
    full = ids_for(engine, "attention language models", SearchMode.HYBRID)

    assert len(full) > 2
    assert ids_for(engine, "attention language models", SearchMode.HYBRID, limit=2) == full[:2]


def test_rank_merges_several_parts_each_within_its_mask(engine, embedder):
    # A main index and a part of recent changes, as the search service has them: paper 15 changed, so it is
    # masked in the main index and found in the recent part with its new text.
    recent_ids = np.array([15, 20], dtype=np.int64)
    recent_documents = [
        Document("Attention sinks and registers", "Where language models park their attention."),
        Document("A new attention paper", "Attention, attention, attention."),
    ]
    recent = KeywordIndex.build(recent_ids, recent_documents)
    recent_vectors = VectorIndex.build(recent_ids, paper_vectors(embedder, recent_documents))
    main_allowed = ~mask(15)

    for mode in SearchMode:
        ranking = rank(
            [(engine.keyword, main_allowed), (recent, None)],
            [(engine.vectors, main_allowed), (recent_vectors, None)],
            "attention",
            mode,
            embedder=embedder,
            limit=10,
        )
        found = [paper_id for paper_id, _ in ranking]
        assert len(found) == len(set(found)), mode
        assert {15, 20} <= set(found), mode
        assert 11 in found, mode
    parts = [(engine.keyword, main_allowed), (recent, None)]
    keyword = rank(parts, [], "attention", SearchMode.KEYWORD, embedder=None, limit=10)
    scores = [score for _, score in keyword]
    assert scores == sorted(scores, reverse=True)


def test_without_an_embedder_semantic_finds_nothing_and_hybrid_is_keyword(engine):
    parts = [(engine.keyword, None)]
    vectors = [(engine.vectors, None)]

    assert rank(parts, vectors, "attention", SearchMode.SEMANTIC, embedder=None, limit=10) == []
    hybrid = rank(parts, vectors, "attention", SearchMode.HYBRID, embedder=None, limit=10)
    assert [paper_id for paper_id, _ in hybrid] == ids_for(engine, "attention", SearchMode.KEYWORD)


def test_rows_of_finds_ids_in_a_sorted_array():
    assert rows_of(np.array([2, 5, 9]), np.array([9, 2, 3, 10, 1])).tolist() == [2, 0, -1, -1, -1]
    assert rows_of(np.empty(0, dtype=np.int64), np.array([1])).tolist() == [-1]


def test_an_engine_checks_its_indexes(embedder):
    documents = [PAPERS[11], PAPERS[12]]
    with pytest.raises(ValueError, match="sorted and distinct"):
        SearchEngine(KeywordIndex.build(np.array([12, 11]), documents))
    vectors = VectorIndex.build(np.array([11, 99]), embedder.embed(["a", "b"]))
    with pytest.raises(ValueError, match="must be in the keyword index"):
        SearchEngine(KeywordIndex.build(np.array([11, 12]), documents), vectors, embedder)


def test_an_engine_with_vectors_for_some_papers_maps_masks_onto_them(embedder):
    documents = [PAPERS[paper_id] for paper_id in IDS]
    with_vectors = np.array([12, 14], dtype=np.int64)
    vectors = VectorIndex.build(with_vectors, paper_vectors(embedder, [PAPERS[i] for i in with_vectors]))
    engine = SearchEngine(KeywordIndex.build(IDS, documents), vectors, embedder)

    assert engine.vector_mask(None) is None
    assert engine.vector_mask(mask(14, 15)).tolist() == [False, True]
    assert engine.rank("harvests in dry seasons", SearchMode.SEMANTIC, limit=10, allowed=mask(12, 13)) == []
