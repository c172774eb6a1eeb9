"""Small random corpora for keyword index tests, and their scores by paper and term."""

from __future__ import annotations

import numpy as np

from paperboard.search.analysis import Document
from paperboard.search.keyword_index import KeywordIndex


def corpus(size: int, seed: int) -> dict[int, Document]:
    rng = np.random.default_rng(seed)
    vocabulary = [f"word{number}" for number in range(60)]
    names = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Łukasz Kaiser"]
    return {
        int(paper_id): Document(
            " ".join(rng.choice(vocabulary, 4)),
            " ".join(rng.choice(vocabulary, int(rng.integers(5, 30)))),
            tuple(rng.choice(names, int(rng.integers(1, 3)), replace=False)),
        )
        for paper_id in rng.choice(np.arange(1, 10 * size), size, replace=False)
    }


def scores_by_paper_and_term(index: KeywordIndex) -> dict[tuple[int, str], float]:
    matrix = index.scores.tocoo()
    vocabulary = {column: term for term, column in index.term_ids.items()}
    return {
        (int(index.paper_ids[row]), vocabulary[column]): float(score)
        for row, column, score in zip(matrix.row, matrix.col, matrix.data, strict=True)
    }
