"""What search filters read of each paper, as arrays by index row: publication day, categories, a code link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from scipy import sparse

EPOCH = date(1970, 1, 1)


def day_number(day: date | datetime) -> int:
    return ((day.date() if isinstance(day, datetime) else day) - EPOCH).days


@dataclass(frozen=True)
class SearchFilters:
    """Published between two days (inclusive), in a category (`cs.CL`, or an archive such as `cs`), with a code
    link, listed on a daily page. Unset fields do not filter."""

    published_from: date | None = None
    published_to: date | None = None
    category: str | None = None
    has_code: bool = False
    listed: bool = False

    @property
    def is_empty(self) -> bool:
        return self == SearchFilters()


class PaperFacets:
    """`published[row]` (days since 1970), `has_code[row]`, and `categories`, a rows × category-names matrix."""

    def __init__(
        self, published: np.ndarray, has_code: np.ndarray, categories: sparse.csc_matrix, category_names: list[str]
    ) -> None:
        self.published = published
        self.has_code = has_code
        self.categories = categories
        self.category_names = category_names

    @classmethod
    def build(
        cls, published: Sequence[int], has_code: Sequence[bool], categories: Sequence[Sequence[str]]
    ) -> PaperFacets:
        names: dict[str, int] = {}
        indptr = [0]
        indices: list[int] = []
        for paper_categories in categories:
            indices.extend(names.setdefault(name, len(names)) for name in dict.fromkeys(paper_categories))
            indptr.append(len(indices))
        matrix = sparse.csr_matrix(
            (np.ones(len(indices), dtype=np.bool_), np.asarray(indices, dtype=np.int32), np.asarray(indptr, np.int64)),
            shape=(len(published), len(names)),
        )
        return cls(
            np.asarray(published, dtype=np.int32), np.asarray(has_code, dtype=np.bool_), matrix.tocsc(), list(names)
        )

    def merged(self, rows: np.ndarray, fresh: PaperFacets, fresh_rows: np.ndarray) -> PaperFacets:
        """Facets of `len(rows) + len(fresh_rows)` papers: row `rows[i]` of these at `i`-th place of the rows not
        in `fresh_rows`, taken in order, and `fresh`'s rows at `fresh_rows` (an incremental build keeps the facets of
        unchanged papers and reads only the others from the database)."""
        total = len(rows) + len(fresh_rows)
        kept_rows = np.setdiff1d(np.arange(total), fresh_rows, assume_unique=True)
        published = np.empty(total, dtype=np.int32)
        published[kept_rows] = self.published[rows]
        published[fresh_rows] = fresh.published
        has_code = np.empty(total, dtype=np.bool_)
        has_code[kept_rows] = self.has_code[rows]
        has_code[fresh_rows] = fresh.has_code
        names = {name: column for column, name in enumerate(self.category_names)}
        for name in fresh.category_names:
            names.setdefault(name, len(names))
        fresh_categories = fresh.categories.tocsr()
        fresh_categories = sparse.csr_matrix(
            (
                fresh_categories.data,
                np.array([names[name] for name in fresh.category_names], dtype=np.int32)[fresh_categories.indices],
                fresh_categories.indptr,
            ),
            shape=(len(fresh_rows), len(names)),
        )
        kept_categories = self.categories.tocsr()[rows]
        kept_categories.resize((len(rows), len(names)))
        stacked = sparse.vstack([kept_categories, fresh_categories], format="csr")
        order = np.argsort(np.concatenate([kept_rows, fresh_rows]), kind="stable")
        return PaperFacets(published, has_code, stacked[order].tocsc(), list(names))

    def mask(self, filters: SearchFilters) -> np.ndarray | None:
        """The rows that pass the filters this index can answer (all but `listed`), or None when none is set."""
        allowed: np.ndarray | None = None

        def narrow(rows: np.ndarray) -> None:
            nonlocal allowed
            allowed = rows if allowed is None else allowed & rows

        if filters.published_from is not None:
            narrow(self.published >= day_number(filters.published_from))
        if filters.published_to is not None:
            narrow(self.published <= day_number(filters.published_to))
        if filters.has_code:
            narrow(self.has_code.copy())
        if filters.category:
            narrow(self._in_category(filters.category))
        return allowed

    def _in_category(self, category: str) -> np.ndarray:
        # A name with no dot is an archive: `cs` covers cs.CL, cs.LG and the rest (and `math` math.PR and so on).
        wanted = category.strip()
        columns = [
            column
            for column, name in enumerate(self.category_names)
            if name.casefold() == wanted.casefold()
            or ("." not in wanted and name.casefold().startswith(f"{wanted.casefold()}."))
        ]
        rows = np.zeros(len(self.published), dtype=np.bool_)
        for column in columns:
            rows[self.categories.indices[self.categories.indptr[column] : self.categories.indptr[column + 1]]] = True
        return rows
