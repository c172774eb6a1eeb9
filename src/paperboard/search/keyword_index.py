"""BM25 over titles, abstracts and authors, held in memory as a sparse matrix of precomputed term scores.

Each term's BM25 score in each paper is computed when the index is built, so a query only adds up a few columns of
the matrix: 1–4 ms on 128k papers, where SQLite's FTS5 took 60–125 ms to rank common words (docs/architecture.md).
A title word counts `TITLE_WEIGHT` times and an author's name `AUTHOR_WEIGHT` times, a simple form of BM25F.

The raw term counts are kept beside the scores so that an index can be rebuilt with some papers changed, added or
removed without analysing the others again (search/index_build.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from paperboard.search.analysis import Document, terms

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3.0
AUTHOR_WEIGHT = 1.0


def document_counts(document: Document) -> Counter[str]:
    """A paper's weighted term frequencies: title terms count `TITLE_WEIGHT` times, author names `AUTHOR_WEIGHT`."""
    counts: Counter[str] = Counter()
    for term in terms(document.title):
        counts[term] += TITLE_WEIGHT
    for term in terms(document.abstract):
        counts[term] += 1.0
    for term in terms(" ".join(document.authors)):
        counts[term] += AUTHOR_WEIGHT
    return counts


def analyse(documents: Iterable[Document], term_ids: dict[str, int]) -> sparse.csr_matrix:
    """The documents' weighted term counts, a row each, over `term_ids`, to which their new terms are added."""
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for document in documents:
        for term, count in document_counts(document).items():
            indices.append(term_ids.setdefault(term, len(term_ids)))
            data.append(count)
        indptr.append(len(indices))
    return sparse.csr_matrix(
        (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32), np.asarray(indptr, np.int64)),
        shape=(len(indptr) - 1, len(term_ids)),
    )


def inverse_document_frequency(papers: int, frequency: np.ndarray) -> np.ndarray:
    return np.log1p((papers - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)


def bm25(tf: np.ndarray, lengths: np.ndarray, idf: np.ndarray, average_length: float) -> np.ndarray:
    """BM25 scores of matrix entries from their weighted term frequencies, their papers' lengths and their terms'
    inverse document frequencies (all by entry)."""
    norm = K1 * (1 - B + B * lengths / max(average_length, 1e-9))
    return (idf * tf * (K1 + 1) / (tf + norm)).astype(np.float32)


@dataclass(frozen=True)
class CorpusStatistics:
    """What BM25's weights depend on: how many papers, their average length, and each term's document frequency."""

    papers: int
    average_length: float
    document_frequency: Callable[[str], int]


class TermCounts:
    """Weighted term counts, one row per paper (`paper_ids[row]`), over a vocabulary that only grows."""

    def __init__(self, paper_ids: np.ndarray, vocabulary: list[str], counts: sparse.csr_matrix) -> None:
        self.paper_ids = paper_ids
        self.vocabulary = vocabulary
        self.counts = counts

    @classmethod
    def build(cls, paper_ids: np.ndarray, documents: Iterable[Document], vocabulary: Sequence[str] = ()) -> TermCounts:
        term_ids = {term: index for index, term in enumerate(vocabulary)}
        counts = analyse(documents, term_ids)
        if counts.shape[0] != len(paper_ids):
            raise ValueError(f"{len(paper_ids)} paper ids for {counts.shape[0]} documents")
        return cls(np.asarray(paper_ids, dtype=np.int64), list(term_ids), counts)

    def statistics(self) -> CorpusStatistics:
        lengths = np.asarray(self.counts.sum(axis=1)).ravel()
        frequencies = np.bincount(self.counts.indices, minlength=len(self.vocabulary))
        return CorpusStatistics(
            papers=len(self.paper_ids),
            average_length=float(lengths.mean()) if len(lengths) else 0.0,
            document_frequency=dict(zip(self.vocabulary, frequencies.tolist(), strict=True)).__getitem__,
        )

    def average_length(self) -> float:
        return float(self.counts.sum() / max(self.counts.shape[0], 1))


class KeywordIndex:
    """BM25 scores as a papers × terms matrix, stored by column so that a term's papers are one slice."""

    def __init__(self, paper_ids: np.ndarray, vocabulary: Sequence[str], scores: sparse.csc_matrix) -> None:
        self.paper_ids = paper_ids
        self.term_ids = {term: index for index, term in enumerate(vocabulary)}
        self.scores = scores

    def __len__(self) -> int:
        return len(self.paper_ids)

    def statistics(self, average_length: float) -> CorpusStatistics:
        """This index's statistics, given the average length its counts had (the scores no longer tell it)."""

        def document_frequency(term: str) -> int:
            column = self.term_ids.get(term)
            return 0 if column is None else int(self.scores.indptr[column + 1] - self.scores.indptr[column])

        return CorpusStatistics(len(self.paper_ids), average_length, document_frequency)

    @classmethod
    def build(cls, paper_ids: np.ndarray, documents: Iterable[Document]) -> KeywordIndex:
        return cls.from_counts(TermCounts.build(paper_ids, documents))

    @classmethod
    def from_counts(cls, counts: TermCounts, statistics: CorpusStatistics | None = None) -> KeywordIndex:
        """Scores from counts, with the statistics of these counts or, for a small index of recent changes searched
        beside a main one, the main index's statistics combined with its own."""
        own = counts.statistics()
        if statistics is None:
            papers, average_length = own.papers, own.average_length
            frequency = np.array([own.document_frequency(term) for term in counts.vocabulary], dtype=np.float64)
        else:
            papers = statistics.papers + own.papers
            average_length = (statistics.average_length * statistics.papers + own.average_length * own.papers) / max(
                papers, 1
            )
            frequency = np.array(
                [statistics.document_frequency(term) + own.document_frequency(term) for term in counts.vocabulary],
                dtype=np.float64,
            )
        idf = inverse_document_frequency(papers, frequency)
        matrix = counts.counts
        lengths = np.asarray(matrix.sum(axis=1)).ravel().astype(np.float32)
        row_of_entry = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        data = bm25(matrix.data, lengths[row_of_entry], idf[matrix.indices], average_length)
        scores = sparse.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)
        return cls(counts.paper_ids, counts.vocabulary, scores.tocsc())

    def scores_of(self, query_terms: Sequence[str]) -> np.ndarray:
        """Each paper's BM25 score for the terms (0 for papers with none of them), by row."""
        total = np.zeros(len(self.paper_ids), dtype=np.float32)
        for term in query_terms:
            column = self.term_ids.get(term)
            if column is None:
                continue
            start, end = self.scores.indptr[column], self.scores.indptr[column + 1]
            total[self.scores.indices[start:end]] += self.scores.data[start:end]
        return total

    def rows_with_all(self, query_terms: Sequence[str]) -> np.ndarray:
        """The rows of papers that contain every one of the terms."""
        rows: np.ndarray | None = None
        for term in query_terms:
            column = self.term_ids.get(term)
            if column is None:
                return np.empty(0, dtype=np.int64)
            found = self.scores.indices[self.scores.indptr[column] : self.scores.indptr[column + 1]]
            rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
        return np.empty(0, dtype=np.int64) if rows is None else rows.astype(np.int64)

    def top(
        self, query_terms: Sequence[str], limit: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the `limit` best-scoring papers with at least one term (among `allowed` rows if given), best
        first, and their scores."""
        total = self.scores_of(query_terms)
        if allowed is not None:
            total[~allowed] = 0
        return top_rows(total, limit)


def top_rows(scores: np.ndarray, limit: int, *, floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the `limit` highest scores above `floor`, best first (ties by row), and those scores."""
    candidates = np.flatnonzero(scores > floor)
    if len(candidates) > limit:
        candidates = candidates[np.argpartition(-scores[candidates], limit - 1)[:limit]]
    order = np.lexsort((candidates, -scores[candidates]))
    rows = candidates[order]
    return rows, scores[rows]
