"""Writing a generation's keyword and vector files a slice at a time, so that a build's memory does not grow with
the catalogue.

Held whole in memory at 1M papers, the term counts, their BM25 scores (twice, while turned column-wise), the
vectors and the graph's own copy of them took 11.3 GiB (docs/benchmarks.md). Here:

- the term counts are analysed (or, in an incremental build, merged from the previous generation's files with the
  changed papers) a slice of papers at a time and appended to their files, while each term's document frequency
  and each paper's length are added up;
- the BM25 scores, stored by term (column-wise), are then computed in bands of terms: each band reads the counts
  back slice by slice, keeps its terms' entries, and is turned column-wise and appended, so at most one band
  (`band_entries` entries) is in memory; an incremental build instead reads the previous scores a band at a time
  and merges the changed papers' into them (`_merge_scores`);
- the vectors are copied from the database to their file a chunk at a time, then read back in slices into the
  HNSW graph, which is the one structure held whole (its vectors and links: about 1.8 KiB a paper).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from scipy import sparse

from paperboard.search.analysis import Document
from paperboard.search.engine import rows_of
from paperboard.search.keyword_index import analyse, bm25, inverse_document_frequency
from paperboard.search.npy_stream import NpyAppender, read_rows, row_count
from paperboard.search.vector_index import graph_rows, new_graph

# Papers analysed, merged or scored together: a slice's counts are a few MiB.
SLICE_ROWS = 20_000
# BM25 entries turned column-wise at once: about 12 bytes each while at it (0.4 GiB). 2.8M papers hold about 340M.
BAND_ENTRIES = 32_000_000
# How far the average length of the papers may drift from the one the scores were computed with before an
# incremental build computes every score again (a score then differs by less than this share from its exact value).
AVERAGE_LENGTH_DRIFT = 0.01
# Vectors read back into the graph at once (150 MiB of 384 dimensions).
GRAPH_SLICE_ROWS = 100_000
# Vectors the graph may lack before a build extends it: until then the previous graph is linked, not read, extended
# and written whole (gigabytes at millions of papers), and searches scan the vectors it lacks (20,000 of 384
# dimensions: about 30 MiB, a few milliseconds).
GRAPH_LAG = 20_000


@dataclass(frozen=True)
class BuildSlices:
    """How much of an index a build holds at once: fewer rows or entries, less memory and more passes; and how many
    vectors the graph may lack (`GRAPH_LAG`)."""

    rows: int = SLICE_ROWS
    band_entries: int = BAND_ENTRIES
    graph_rows: int = GRAPH_SLICE_ROWS
    graph_lag: int = GRAPH_LAG


DEFAULT_SLICES = BuildSlices()


@dataclass(frozen=True)
class KeywordFiles:
    """What the keyword files of a generation hold, for its manifest."""

    papers: np.ndarray
    vocabulary: list[str]
    average_length: float


class _CountsWriter:
    """Appends slices of term counts (CSR rows, in paper id order) to a generation's files and adds up what BM25
    needs: each term's document frequency and each paper's length."""

    def __init__(self, folder: Path, vocabulary: list[str]) -> None:
        self.folder = folder
        self.term_ids = {term: index for index, term in enumerate(vocabulary)}
        self.data = NpyAppender(folder / "counts_data.npy", np.float32)
        self.indices = NpyAppender(folder / "counts_indices.npy", np.int32)
        self.paper_ids: list[np.ndarray] = []
        self.row_entries: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []
        self.frequency = np.zeros(len(vocabulary), dtype=np.int64)

    def add(self, paper_ids: np.ndarray, counts: sparse.csr_matrix) -> None:
        counts.sort_indices()
        self.data.append(counts.data)
        self.indices.append(counts.indices)
        self.paper_ids.append(paper_ids)
        self.row_entries.append(np.diff(counts.indptr))
        self.lengths.append(np.asarray(counts.sum(axis=1)).ravel().astype(np.float32))
        frequency = np.bincount(counts.indices, minlength=len(self.term_ids))
        frequency[: len(self.frequency)] += self.frequency
        self.frequency = frequency

    def finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Paper ids, row pointers and lengths of every row written, and the vocabulary."""
        self.data.close()
        self.indices.close()
        paper_ids = np.concatenate([*self.paper_ids, np.empty(0, dtype=np.int64)]).astype(np.int64)
        indptr = np.concatenate([[0], np.cumsum(np.concatenate([*self.row_entries, np.empty(0, np.int64)]))])
        indptr = indptr.astype(np.int64)
        lengths = np.concatenate([*self.lengths, np.empty(0, dtype=np.float32)])
        vocabulary = list(self.term_ids)
        if len(self.frequency) < len(vocabulary):
            self.frequency = np.concatenate([self.frequency, np.zeros(len(vocabulary) - len(self.frequency), np.int64)])
        np.save(self.folder / "papers.npy", paper_ids)
        np.save(self.folder / "counts_indptr.npy", indptr)
        (self.folder / "vocabulary.txt").write_text("\n".join(vocabulary), encoding="utf-8")
        return paper_ids, indptr, lengths, vocabulary


def write_keyword_files(
    folder: Path,
    documents: Iterable[tuple[np.ndarray, list[Document]]],
    *,
    previous: Path | None = None,
    previous_average_length: float = 0.0,
    removed_ids: np.ndarray | None = None,
    slices: BuildSlices = DEFAULT_SLICES,
) -> KeywordFiles:
    """Write the term counts and BM25 scores of a generation into `folder`.

    Without `previous`, `documents` are every paper, in slices by increasing id. With `previous` (a generation's
    folder, whose scores were computed with `previous_average_length`), they are the papers changed since (all in
    memory: a day's worth), which replace their older rows; the papers of `removed_ids` are dropped; the other rows
    are copied from the previous counts without analysing them again, and their scores from the previous scores
    without computing them again, unless the average length drifted past `AVERAGE_LENGTH_DRIFT`
    (`_merge_scores`)."""
    vocabulary = [] if previous is None else read_vocabulary(previous)
    previous_terms = len(vocabulary)
    writer = _CountsWriter(folder, vocabulary)
    if previous is None:
        for paper_ids, slice_documents in documents:
            writer.add(np.asarray(paper_ids, dtype=np.int64), analyse(slice_documents, writer.term_ids))
    else:
        changed_ids: list[np.ndarray] = []
        changed: list[Document] = []
        for paper_ids, slice_documents in documents:
            changed_ids.append(np.asarray(paper_ids, dtype=np.int64))
            changed.extend(slice_documents)
        added_ids = np.concatenate([*changed_ids, np.empty(0, dtype=np.int64)])
        order = np.argsort(added_ids, kind="stable")
        added_ids = added_ids[order]
        added = analyse(changed, writer.term_ids)[order]
        dropped = np.concatenate([added_ids, np.empty(0, np.int64) if removed_ids is None else removed_ids])
        for paper_ids, counts in _merged_slices(previous, added_ids, added, dropped, slices.rows):
            counts.resize((counts.shape[0], len(writer.term_ids)))
            writer.add(paper_ids, counts)
    paper_ids, indptr, lengths, vocabulary = writer.finish()
    average_length = float(lengths.mean()) if len(lengths) else 0.0
    if (
        previous is not None
        and _within_drift(average_length, previous_average_length)
        and readable_scores(previous, previous_terms)
    ):
        added.resize((added.shape[0], len(vocabulary)))
        _merge_scores(
            folder,
            previous,
            paper_ids,
            added_ids,
            added,
            dropped,
            writer.frequency,
            previous_average_length,
            slices.band_entries,
        )
        return KeywordFiles(paper_ids, vocabulary, previous_average_length)
    _write_scores(folder, indptr, lengths, writer.frequency, average_length, slices)
    return KeywordFiles(paper_ids, vocabulary, average_length)


def readable_scores(generation: Path, terms: int) -> bool:
    """Whether a generation's score files are there and hold `terms` columns of as many entries as they say."""
    try:
        pointers = np.load(generation / "scores_indptr.npy", mmap_mode="r")
        entries = int(pointers[-1])
        return len(pointers) == terms + 1 and all(
            row_count(generation / f"scores_{name}.npy") == entries for name in ("data", "indices")
        )
    except (OSError, ValueError, IndexError):
        return False


def _within_drift(average_length: float, scored_with: float) -> bool:
    """Whether scores computed with the average length `scored_with` may be kept for a corpus whose average length
    is now `average_length`."""
    return scored_with > 0 and abs(average_length / scored_with - 1) <= AVERAGE_LENGTH_DRIFT


def read_vocabulary(generation: Path) -> list[str]:
    text = (generation / "vocabulary.txt").read_text(encoding="utf-8")
    return text.split("\n") if text else []


def _counts_slice(generation: Path, indptr: np.ndarray, start: int, stop: int, width: int) -> sparse.csr_matrix:
    """Rows `start` to `stop` of a generation's term counts, read from its files."""
    first, last = int(indptr[start]), int(indptr[stop])
    return sparse.csr_matrix(
        (
            read_rows(generation / "counts_data.npy", first, last),
            read_rows(generation / "counts_indices.npy", first, last),
            indptr[start : stop + 1] - first,
        ),
        shape=(stop - start, width),
    )


def _merged_slices(
    previous: Path, added_ids: np.ndarray, added: sparse.csr_matrix, dropped: np.ndarray, slice_rows: int
) -> Iterator[tuple[np.ndarray, sparse.csr_matrix]]:
    """The previous generation's counts without the `dropped` papers, with the `added` rows (sorted by id) put in
    their places, in slices by increasing id."""
    previous_ids = np.load(previous / "papers.npy")
    indptr = np.load(previous / "counts_indptr.npy")
    kept = ~np.isin(previous_ids, dropped)
    width = added.shape[1]
    # Each slice of previous rows takes the added papers whose ids fall before the next slice's first id.
    starts = list(range(0, len(previous_ids), slice_rows)) or [0]
    for number, start in enumerate(starts):
        stop = min(start + slice_rows, len(previous_ids))
        first = 0 if number == 0 else np.searchsorted(added_ids, previous_ids[start])
        last = len(added_ids) if number == len(starts) - 1 else np.searchsorted(added_ids, previous_ids[stop])
        own = _counts_slice(previous, indptr, start, stop, width)
        if first == last and kept[start:stop].all():
            # Most slices of a day's build: nothing to take out or put in.
            yield previous_ids[start:stop], own
            continue
        own = own[kept[start:stop]]
        paper_ids = np.concatenate([previous_ids[start:stop][kept[start:stop]], added_ids[first:last]])
        counts = sparse.vstack([own, added[first:last]], format="csr", dtype=np.float32)
        order = np.argsort(paper_ids, kind="stable")
        yield paper_ids[order], counts[order]


def _write_scores(
    folder: Path,
    indptr: np.ndarray,
    lengths: np.ndarray,
    frequency: np.ndarray,
    average_length: float,
    slices: BuildSlices,
) -> None:
    """The BM25 scores by term (CSC), from the counts just written, a band of terms at a time."""
    papers = len(lengths)
    idf = inverse_document_frequency(papers, frequency.astype(np.float64))
    column_pointers = np.concatenate([[0], np.cumsum(frequency)]).astype(np.int64)
    np.save(folder / "scores_indptr.npy", column_pointers)
    with (
        NpyAppender(folder / "scores_data.npy", np.float32) as data_file,
        NpyAppender(folder / "scores_indices.npy", np.int32) as indices_file,
    ):
        for first_term, last_term in _bands(column_pointers, slices.band_entries):
            band = _score_band(folder, indptr, lengths, idf, average_length, first_term, last_term, slices.rows)
            data_file.append(band.data)
            indices_file.append(band.indices)


def _merge_scores(
    folder: Path,
    previous: Path,
    paper_ids: np.ndarray,
    added_ids: np.ndarray,
    added: sparse.csr_matrix,
    dropped: np.ndarray,
    frequency: np.ndarray,
    average_length: float,
    band_entries: int,
) -> None:
    """The BM25 scores by term (CSC) of the papers `paper_ids`: the previous generation's, but for the `dropped`
    papers, and those of the `added` papers' counts, computed with `average_length` (the one the previous scores
    were computed with) and the new document frequencies.

    A score is idf(term) × a factor of the paper's term count, its length and the average length alone, so a term's
    kept scores take its new idf (the papers and the term's papers changed) by a multiplication: only the average
    length is the previous one. The previous scores are read a band of terms at a time, as `_write_scores` writes
    them."""
    previous_ids = np.load(previous / "papers.npy")
    previous_pointers = np.load(previous / "scores_indptr.npy")
    previous_frequency = np.diff(previous_pointers)
    old_terms = len(previous_frequency)
    # Each previous row's row in the new index, or -1 for a paper dropped (removed, or changed and added again).
    new_row = rows_of(paper_ids, previous_ids)
    new_row[np.isin(previous_ids, dropped)] = -1
    kept_rows = new_row >= 0
    # Usually (a day's papers come after the others, a changed paper keeps its row) no kept row moves, and the
    # previous row numbers stand as they are.
    moved = not np.array_equal(new_row[kept_rows], np.flatnonzero(kept_rows))
    idf = inverse_document_frequency(len(paper_ids), frequency.astype(np.float64))
    old_idf = inverse_document_frequency(len(previous_ids), previous_frequency.astype(np.float64))
    rescale = (idf[:old_terms] / np.where(previous_frequency > 0, old_idf, 1)).astype(np.float32)
    lengths = np.asarray(added.sum(axis=1)).ravel().astype(np.float32)
    row_of_entry = np.repeat(np.arange(added.shape[0]), np.diff(added.indptr))
    # The added papers' scores, in their rows of the new index, term by term.
    fresh = sparse.csc_matrix(
        (
            bm25(added.data, lengths[row_of_entry], idf[added.indices], average_length),
            (rows_of(paper_ids, added_ids)[row_of_entry], added.indices),
        ),
        shape=(len(paper_ids), len(frequency)),
    )
    column_pointers = np.concatenate([[0], np.cumsum(frequency)]).astype(np.int64)
    np.save(folder / "scores_indptr.npy", column_pointers)
    with (
        NpyAppender(folder / "scores_data.npy", np.float32) as data_file,
        NpyAppender(folder / "scores_indices.npy", np.int32) as indices_file,
    ):
        for first_term, last_term in _bands(previous_pointers, band_entries):
            first, last = int(previous_pointers[first_term]), int(previous_pointers[last_term])
            width = last_term - first_term
            rows = read_rows(previous / "scores_indices.npy", first, last)
            data = read_rows(previous / "scores_data.npy", first, last)
            data *= np.repeat(rescale[first_term:last_term], previous_frequency[first_term:last_term])
            pointers = previous_pointers[first_term : last_term + 1] - first
            dropped_entries = np.flatnonzero(~kept_rows[rows])
            if len(dropped_entries):
                # Few entries (the changed papers'): each term loses those that fall within it.
                terms_of_dropped = np.searchsorted(pointers, dropped_entries, side="right") - 1
                pointers = pointers - np.concatenate([[0], np.cumsum(np.bincount(terms_of_dropped, minlength=width))])
                keep = np.ones(len(rows), dtype=np.bool_)
                keep[dropped_entries] = False
                rows, data = rows[keep], data[keep]
            if moved:
                # Kept rows stay in order (the mapping keeps it), so each term's papers are still by row.
                rows = new_row[rows].astype(np.int32)
            band = sparse.csc_matrix((data, rows, pointers), shape=(len(paper_ids), width))
            band = band + fresh[:, first_term:last_term]
            data_file.append(band.data)
            indices_file.append(band.indices)
        # Terms the previous generation did not know: only added papers hold them.
        if len(frequency) > old_terms:
            band = fresh[:, old_terms:]
            data_file.append(band.data)
            indices_file.append(band.indices)


def _bands(column_pointers: np.ndarray, band_entries: int) -> Iterator[tuple[int, int]]:
    """Runs of terms holding at most `band_entries` entries between them (or one term, if it alone holds more)."""
    terms = len(column_pointers) - 1
    first = 0
    while first < terms:
        last = int(np.searchsorted(column_pointers, column_pointers[first] + band_entries, side="right")) - 1
        last = min(max(last, first + 1), terms)
        yield first, last
        first = last


def _score_band(
    folder: Path,
    indptr: np.ndarray,
    lengths: np.ndarray,
    idf: np.ndarray,
    average_length: float,
    first_term: int,
    last_term: int,
    slice_rows: int,
) -> sparse.csc_matrix:
    papers = len(lengths)
    data: list[np.ndarray] = []
    terms: list[np.ndarray] = []
    row_entries: list[np.ndarray] = []
    for start in range(0, papers, slice_rows):
        stop = min(start + slice_rows, papers)
        counts = _counts_slice(folder, indptr, start, stop, len(idf))
        rows = np.repeat(np.arange(start, stop), np.diff(counts.indptr))
        inside = (counts.indices >= first_term) & (counts.indices < last_term)
        term_of_entry = counts.indices[inside]
        data.append(bm25(counts.data[inside], lengths[rows[inside]], idf[term_of_entry], average_length))
        terms.append(term_of_entry - first_term)
        row_entries.append(np.bincount(rows[inside] - start, minlength=stop - start))
    band_indptr = np.concatenate([[0], np.cumsum(np.concatenate([*row_entries, np.empty(0, np.int64)]))])
    band = sparse.csr_matrix(
        (
            np.concatenate([*data, np.empty(0, np.float32)]),
            np.concatenate([*terms, np.empty(0, np.int32)]),
            band_indptr.astype(np.int64),
        ),
        shape=(papers, last_term - first_term),
    )
    # Row by row in, term by term out: csr→csc keeps each term's papers in row order.
    return band.tocsc()


def write_vector_files(
    folder: Path,
    chunks: Iterable[tuple[np.ndarray, np.ndarray]],
    dimensions: int,
    exact_max: int,
    slices: BuildSlices = DEFAULT_SLICES,
    *,
    previous: Path | None = None,
) -> int:
    """Copy (paper ids, vectors) chunks to the generation's files and, above `exact_max` vectors, build the graph
    from them slice by slice; returns how many vectors.

    With `previous` (a generation's folder whose vectors are all still current), `chunks` are only the vectors of
    papers after its last one: its rows are copied first and its graph, read whole, takes the new rows only, so a
    day's papers cost seconds where the graph of millions takes the best part of an hour; while the graph lacks at
    most `slices.graph_lag` vectors, it is linked as it is, and searches scan those it lacks."""
    vectors_path = folder / "vectors.npy"
    with (
        _started(folder / "vector_papers.npy", np.int64, (), previous, slices) as ids_file,
        _started(vectors_path, np.float32, (dimensions,), previous, slices) as vectors_file,
    ):
        reused = vectors_file.rows
        for paper_ids, vectors in chunks:
            ids_file.append(paper_ids)
            vectors_file.append(vectors)
        count = vectors_file.rows
    if count > exact_max:
        covered = None if previous is None else graph_rows(previous / "hnsw.faiss")
        if covered is not None and covered <= reused and count - covered <= slices.graph_lag:
            link_or_copy(previous / "hnsw.faiss", folder / "hnsw.faiss")
            return count
        graph = None if previous is None else _readable_graph(previous / "hnsw.faiss", reused)
        if graph is None:
            graph = new_graph(dimensions)
        for start in range(graph.ntotal, count, slices.graph_rows):
            graph.add(read_rows(vectors_path, start, min(start + slices.graph_rows, count)))
        faiss.write_index(graph, str(folder / "hnsw.faiss"))
    return count


def _started(
    path: Path, dtype: type, row_shape: tuple[int, ...], previous: Path | None, slices: BuildSlices
) -> NpyAppender:
    """A file to append rows to at `path`, holding first the rows of the file of that name in `previous`: copied
    whole by the kernel (`copyfile`), or a slice at a time when that file was not written by an `NpyAppender`."""
    if previous is None:
        return NpyAppender(path, dtype, row_shape)
    shutil.copyfile(previous / path.name, path)
    try:
        return NpyAppender(path, dtype, row_shape, extend=True)
    except ValueError:
        appender = NpyAppender(path, dtype, row_shape)
        for start in range(0, row_count(previous / path.name), slices.graph_rows):
            appender.append(read_rows(previous / path.name, start, start + slices.graph_rows))
        return appender


def link_or_copy(source: Path, target: Path) -> None:
    """A file the next generation holds unchanged: hard-linked, so that it takes no room or time (and removing the
    older generation leaves it to the newer; nothing writes a generation's files in place), or copied where the file
    system has no links."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _readable_graph(path: Path, rows: int) -> faiss.Index | None:
    """The graph at `path`, read whole to be extended, if it is there, readable, and holds at most the first `rows`
    vectors."""
    if not path.is_file():
        return None
    try:
        graph = faiss.read_index(str(path))
    except RuntimeError:
        return None
    return graph if graph.ntotal <= rows else None
