"""A generation's files written a slice at a time: the same index as one built whole in memory, and an incremental
write the same as a fresh one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from paperboard.search.analysis import Document, terms
from paperboard.search.index_build import BuildSlices, write_keyword_files, write_vector_files
from paperboard.search.keyword_index import KeywordIndex, TermCounts
from paperboard.search.npy_stream import NpyAppender, read_rows
from paperboard.search.vector_index import VectorIndex
from tests.search.keyword_corpus import corpus, scores_by_paper_and_term

# Small enough that a corpus of a few hundred papers is merged and scored in many slices and bands.
TINY = BuildSlices(rows=13, band_entries=50, graph_rows=17)


def slices_of(documents: dict[int, Document], size: int) -> Iterator[tuple[np.ndarray, list[Document]]]:
    ids = sorted(documents)
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield np.array(chunk, dtype=np.int64), [documents[paper_id] for paper_id in chunk]


def one_shot(documents: dict[int, Document]) -> tuple[TermCounts, KeywordIndex]:
    ids = sorted(documents)
    counts = TermCounts.build(np.array(ids, dtype=np.int64), [documents[paper_id] for paper_id in ids])
    return counts, KeywordIndex.from_counts(counts)


def loaded(folder: Path) -> tuple[TermCounts, KeywordIndex]:
    """The counts and the index a generation's keyword files hold, read as the index store reads them."""
    papers = np.load(folder / "papers.npy")
    text = (folder / "vocabulary.txt").read_text(encoding="utf-8")
    vocabulary = text.split("\n") if text else []
    shape = (len(papers), len(vocabulary))
    counts = sparse.csr_matrix(
        tuple(np.load(folder / f"counts_{name}.npy") for name in ("data", "indices", "indptr")), shape=shape
    )
    scores = sparse.csc_matrix(
        tuple(np.load(folder / f"scores_{name}.npy", mmap_mode="r") for name in ("data", "indices", "indptr")),
        shape=shape,
    )
    return TermCounts(papers, vocabulary, counts), KeywordIndex(papers, vocabulary, scores)


def ranked(index: KeywordIndex, query: str) -> list[int]:
    rows, _ = index.top(terms(query), 50)
    return index.paper_ids[rows].tolist()


def assert_same_index(written: KeywordIndex, expected: KeywordIndex) -> None:
    assert written.paper_ids.tolist() == expected.paper_ids.tolist()
    written_scores = scores_by_paper_and_term(written)
    expected_scores = scores_by_paper_and_term(expected)
    assert written_scores.keys() == expected_scores.keys()
    for key, score in expected_scores.items():
        assert written_scores[key] == pytest.approx(score, rel=1e-5), key
    for query in ["word1 word2", "word7", "brand new", "schmidhuber", "kaiser word7"]:
        assert ranked(written, query) == ranked(expected, query), query


@pytest.mark.parametrize("slices", [TINY, BuildSlices()], ids=["many slices and bands", "one of each"])
def test_files_written_in_slices_hold_the_index_built_in_one_go(tmp_path, slices):
    documents = corpus(300, seed=1)
    counts, index = one_shot(documents)

    written = write_keyword_files(tmp_path, slices_of(documents, 7), slices=slices)
    written_counts, written_index = loaded(tmp_path)

    # Analysed in the same order, the vocabulary and the counts are the same, column for column.
    assert written.vocabulary == counts.vocabulary == written_counts.vocabulary
    assert (written_counts.counts != counts.counts).nnz == 0
    assert written.average_length == pytest.approx(counts.average_length())
    assert_same_index(written_index, index)
    # Each term's papers are stored in row order, as a query's column slices expect.
    indptr, indices = written_index.scores.indptr, written_index.scores.indices
    assert all(np.all(np.diff(indices[indptr[column] : indptr[column + 1]]) > 0) for column in range(len(indptr) - 1))


def test_an_incremental_write_equals_a_fresh_one(tmp_path):
    before = corpus(300, seed=1)
    ids = sorted(before)
    removed = ids[::7]
    changed = ids[3::11]
    added = [max(ids) + 1, max(ids) + 5, 1_000_000, min(ids) - 1]
    after = {paper_id: document for paper_id, document in before.items() if paper_id not in removed}
    replacements = {
        paper_id: Document(f"brand new title {paper_id}", "novel words entirely", ("Jürgen Schmidhuber",))
        for paper_id in [*changed, *added]
    }
    after.update(replacements)
    previous, following = tmp_path / "previous", tmp_path / "following"
    previous.mkdir()
    following.mkdir()
    write_keyword_files(previous, slices_of(before, 50), slices=TINY)

    # As the index store calls it: every paper changed since is removed, and those still present come back
    # (read from the database in any order).
    written = write_keyword_files(
        following,
        iter([(np.array(sorted(replacements, reverse=True)), [replacements[i] for i in sorted(replacements)[::-1]])]),
        previous=previous,
        removed_ids=np.array([*removed, *changed, *added], dtype=np.int64),
        slices=TINY,
    )

    fresh_counts, fresh = one_shot(after)
    _, incremental = loaded(following)
    assert written.papers.tolist() == sorted(after)
    assert written.average_length == pytest.approx(fresh_counts.average_length())
    # The vocabulary only grows (terms of removed papers stay, unused), so scores are compared by term.
    assert set(fresh_counts.vocabulary) <= set(written.vocabulary)
    assert_same_index(incremental, fresh)


@pytest.mark.parametrize("removing", [True, False], ids=["rows removed", "rows in place"])
def test_an_incremental_write_keeps_the_previous_scores_with_each_terms_new_weight(tmp_path, removing):
    """Papers changed (and removed and added) so that the average length stays what it was: the kept scores, each
    term's multiplied by the change of its idf, are the scores of a fresh write."""
    before = corpus(300, seed=3)
    ids = sorted(before)

    def reworded(document: Document, new_words: list[str]) -> Document:
        # As many words in each field, some of them new: the paper's length is the same.
        abstract = document.abstract.split()
        return Document(document.title, " ".join(new_words + abstract[len(new_words) :]), document.authors)

    changed = {paper_id: reworded(before[paper_id], [f"fresh{paper_id}", "word3"]) for paper_id in ids[5::17]}
    removed = ids[2::41] if removing else []
    # Each removed paper comes back under a new id, so that the number of papers stays the same too.
    added = {max(ids) + number: before[paper_id] for number, paper_id in enumerate(removed, start=1)}
    after = {paper_id: document for paper_id, document in before.items() if paper_id not in removed}
    after.update(changed)
    after.update(added)
    previous, following = tmp_path / "previous", tmp_path / "following"
    previous.mkdir()
    following.mkdir()
    written_before = write_keyword_files(previous, slices_of(before, 50), slices=TINY)
    replacements = changed | added

    written = write_keyword_files(
        following,
        slices_of(replacements, 9),
        previous=previous,
        previous_average_length=written_before.average_length,
        removed_ids=np.array([*removed, *replacements], dtype=np.int64),
        slices=TINY,
    )

    fresh_counts, fresh = one_shot(after)
    assert written.average_length == written_before.average_length == pytest.approx(fresh_counts.average_length())
    assert_same_index(loaded(following)[1], fresh)


def test_an_incremental_write_can_empty_an_index_and_fill_it_again(tmp_path):
    documents = corpus(20, seed=2)
    ids = np.array(sorted(documents), dtype=np.int64)
    full, emptied, refilled = (tmp_path / name for name in ("full", "emptied", "refilled"))
    for folder in (full, emptied, refilled):
        folder.mkdir()
    write_keyword_files(full, slices_of(documents, 6), slices=TINY)

    write_keyword_files(emptied, iter([]), previous=full, removed_ids=ids, slices=TINY)
    first_three = {int(paper_id): documents[int(paper_id)] for paper_id in ids[:3]}
    write_keyword_files(refilled, slices_of(first_three, 2), previous=emptied, removed_ids=ids[:3], slices=TINY)

    assert len(loaded(emptied)[1]) == 0
    assert_same_index(loaded(refilled)[1], one_shot(first_three)[1])


def test_vector_files_written_in_slices_search_as_vectors_held_whole(tmp_path):
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    paper_ids = np.arange(10, 310, dtype=np.int64)
    chunks = [(paper_ids[start : start + 40], vectors[start : start + 40]) for start in range(0, 300, 40)]

    count = write_vector_files(tmp_path, chunks, 16, exact_max=100, slices=TINY)

    assert count == 300
    assert np.load(tmp_path / "vector_papers.npy").tolist() == paper_ids.tolist()
    assert np.array_equal(np.load(tmp_path / "vectors.npy"), vectors)
    written = VectorIndex(paper_ids, np.load(tmp_path / "vectors.npy"), VectorIndex.load_graph(tmp_path / "hnsw.faiss"))
    whole = VectorIndex.build(paper_ids, vectors, exact_max=100)
    assert written.graph is not None and written.graph.ntotal == 300
    for query in rng.standard_normal((20, 16)).astype(np.float32):
        assert written.search(query, 10)[0].tolist() == whole.search(query, 10)[0].tolist()


def test_few_vectors_get_no_graph(tmp_path):
    count = write_vector_files(tmp_path, [(np.array([1, 2]), np.eye(2, 4, dtype=np.float32))], 4, exact_max=100)

    assert count == 2
    assert not (tmp_path / "hnsw.faiss").exists()


def test_an_appended_npy_file_is_an_ordinary_one_and_reads_back_in_slices(tmp_path):
    path = tmp_path / "rows.npy"
    rows = np.arange(60, dtype=np.float32).reshape(20, 3)
    with NpyAppender(path, np.float32, (3,)) as appender:
        for start in range(0, 20, 7):
            appender.append(rows[start : start + 7])

    assert np.array_equal(np.load(path), rows)
    assert np.array_equal(np.load(path, mmap_mode="r"), rows)
    assert np.array_equal(read_rows(path, 5, 9), rows[5:9])
    assert np.array_equal(read_rows(path, 18, 30), rows[18:])
    assert read_rows(path, 20, 20).shape == (0, 3)
    with pytest.raises(ValueError, match="shape"):
        NpyAppender(tmp_path / "other.npy", np.int64).append(rows)


@pytest.mark.parametrize("header", ["appended", "numpy 2.0"])
def test_vectors_are_appended_to_a_copy_of_the_previous_ones_whatever_wrote_them(tmp_path, header):
    rng = np.random.default_rng(6)
    vectors = rng.standard_normal((50, 8)).astype(np.float32)
    previous, following = tmp_path / "previous", tmp_path / "following"
    previous.mkdir()
    following.mkdir()
    write_vector_files(previous, [(np.arange(1, 41), vectors[:40])], 8, exact_max=100)
    if header == "numpy 2.0":
        # A header an appender cannot extend in place: the rows are then copied a slice at a time.
        with (previous / "vectors.npy").open("wb") as stream:
            np.lib.format.write_array(stream, vectors[:40], version=(2, 0))

    count = write_vector_files(
        following, [(np.arange(41, 51), vectors[40:])], 8, exact_max=100, slices=TINY, previous=previous
    )

    assert count == 50
    assert np.load(following / "vector_papers.npy").tolist() == list(range(1, 51))
    assert np.array_equal(np.load(following / "vectors.npy"), vectors)
    assert np.array_equal(np.load(previous / "vectors.npy"), vectors[:40])
    with pytest.raises(ValueError, match="rows of"):
        NpyAppender(following / "vectors.npy", np.float64, (8,), extend=True)


def test_a_graph_lacking_the_newest_vectors_is_linked_and_searched_with_them(tmp_path, monkeypatch):
    # Every search goes through the graph here, however few the vectors.
    monkeypatch.setattr("paperboard.search.vector_index.SCAN_BELOW", 0)
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    paper_ids = np.arange(1, 301, dtype=np.int64)
    previous, following, extended = tmp_path / "previous", tmp_path / "following", tmp_path / "extended"
    for folder in (previous, following, extended):
        folder.mkdir()
    write_vector_files(previous, [(paper_ids[:250], vectors[:250])], 16, exact_max=100)
    lagging = BuildSlices(graph_lag=50)

    write_vector_files(following, [(paper_ids[250:], vectors[250:])], 16, 100, lagging, previous=previous)
    write_vector_files(
        extended, [(paper_ids[250:], vectors[250:])], 16, 100, BuildSlices(graph_lag=49), previous=previous
    )

    assert (following / "hnsw.faiss").samefile(previous / "hnsw.faiss")
    assert VectorIndex.load_graph(extended / "hnsw.faiss").ntotal == 300
    written = VectorIndex(
        paper_ids, np.load(following / "vectors.npy"), VectorIndex.load_graph(following / "hnsw.faiss")
    )
    assert written.graph is not None and written.graph.ntotal == 250
    exact = VectorIndex.build(paper_ids, vectors, exact_max=1000)
    allowed = rng.random(300) < 0.5
    for query in rng.standard_normal((20, 16)).astype(np.float32):
        for mask in (None, allowed):
            rows, similarities = written.search(query, 10, mask)
            expected_rows, expected_similarities = exact.search(query, 10, mask)
            assert rows.tolist() == expected_rows.tolist()
            assert similarities == pytest.approx(expected_similarities, rel=1e-5)
    # The newest vectors are found: each is its own nearest.
    assert [written.search(vector, 1)[0].tolist() for vector in vectors[250:]] == [[row] for row in range(250, 300)]
