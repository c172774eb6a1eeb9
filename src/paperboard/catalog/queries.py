"""Reading the catalogue: single papers, the newest ones, every record in a stable order, and counts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, extract, func, select
from sqlalchemy.orm import Session

from paperboard.catalog.authors import author_key
from paperboard.catalog.record import RECORD_FIELDS, PaperRecord
from paperboard.db.models import Paper, PaperAuthor, PaperCategory

UNCATEGORISED = "(none)"
_RECORD_COLUMNS = tuple(name for name in RECORD_FIELDS if name != "categories")


def get_paper(session: Session, arxiv_id: str) -> Paper | None:
    return session.scalars(select(Paper).where(Paper.arxiv_id == arxiv_id)).one_or_none()


def papers_by_ids(session: Session, paper_ids: Sequence[int]) -> list[Paper]:
    """The papers with these row ids, in the order given; ids that name no paper are left out."""
    found = {paper.id: paper for paper in session.scalars(select(Paper).where(Paper.id.in_(list(paper_ids))))}
    return [found[paper_id] for paper_id in paper_ids if paper_id in found]


def _paper_filters(
    *,
    include_deleted: bool = False,
    category: str | None = None,
    author: str | None = None,
    author_keys: Sequence[str] | None = None,
) -> list[ColumnElement[bool]]:
    """Conditions on papers: not withdrawn unless `include_deleted`; filed under `category`, listing `author` (by
    its key) and listing any name of `author_keys` (keys already) when given."""
    filters: list[ColumnElement[bool]] = [] if include_deleted else [Paper.deleted_at.is_(None)]
    # Semi-joins along the (category, paper_id) and (name_key, paper_id) indexes: a paper counts once, whatever the
    # position of its category or author, and whether or not a name appears twice in its list.
    if category is not None:
        filters.append(Paper.id.in_(select(PaperCategory.paper_id).where(PaperCategory.category == category)))
    if author is not None:
        filters.append(Paper.id.in_(select(PaperAuthor.paper_id).where(PaperAuthor.name_key == author_key(author))))
    if author_keys is not None:
        filters.append(Paper.id.in_(select(PaperAuthor.paper_id).where(PaperAuthor.name_key.in_(author_keys))))
    return filters


def newest_papers(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    category: str | None = None,
    author: str | None = None,
    author_keys: Sequence[str] | None = None,
) -> list[Paper]:
    """Papers not withdrawn, most recently published first; only those filed under `category`, listing `author`
    (any spelling with the same key, see catalog/authors.py) and listing a name of `author_keys` when given."""
    query = select(Paper).where(*_paper_filters(category=category, author=author, author_keys=author_keys))
    return list(
        session.scalars(query.order_by(Paper.published_at.desc(), Paper.arxiv_id.desc()).limit(limit).offset(offset))
    )


def has_category(session: Session, category: str) -> bool:
    """Whether any stored paper, withdrawn ones included, is filed under `category`."""
    return session.scalar(select(PaperCategory.paper_id).where(PaperCategory.category == category).limit(1)) is not None


def count_papers(
    session: Session,
    *,
    include_deleted: bool = False,
    category: str | None = None,
    author: str | None = None,
    author_keys: Sequence[str] | None = None,
) -> int:
    """How many papers `newest_papers` lists with the same filters; withdrawn ones too with `include_deleted`."""
    filters = _paper_filters(include_deleted=include_deleted, category=category, author=author, author_keys=author_keys)
    return session.scalar(select(func.count()).select_from(Paper).where(*filters)) or 0


def iter_records(session: Session, *, batch_size: int = 2000) -> Iterator[PaperRecord]:
    """Every stored paper, withdrawn ones included, by publication time then id, read in batches."""
    columns = [Paper.id, *(getattr(Paper, name) for name in _RECORD_COLUMNS)]
    rows = session.execute(
        select(*columns).order_by(Paper.published_at, Paper.arxiv_id).execution_options(yield_per=batch_size)
    )
    for batch in rows.partitions():
        categories: dict[int, list[str]] = {row.id: [] for row in batch}
        for paper_id, category in session.execute(
            select(PaperCategory.paper_id, PaperCategory.category)
            .where(PaperCategory.paper_id.in_(list(categories)))
            .order_by(PaperCategory.paper_id, PaperCategory.position)
        ):
            categories[paper_id].append(category)
        for row in batch:
            values = {name: getattr(row, name) for name in _RECORD_COLUMNS}
            values["authors"] = tuple(values["authors"])
            yield PaperRecord(categories=tuple(categories[row.id]), **values)


@dataclass(frozen=True)
class CatalogueStats:
    papers: int
    withdrawn: int
    by_primary_category: list[tuple[str, int]]
    by_month: list[tuple[str, int]]


def catalogue_stats(session: Session) -> CatalogueStats:
    """Counts of papers in total, by primary category (most first) and by month of first publication."""
    papers = count_papers(session)
    withdrawn = count_papers(session, include_deleted=True) - papers
    live = Paper.deleted_at.is_(None)
    primary = session.execute(
        select(PaperCategory.category, func.count())
        .join(Paper, Paper.id == PaperCategory.paper_id)
        .where(PaperCategory.position == 0, live)
        .group_by(PaperCategory.category)
        .order_by(func.count().desc(), PaperCategory.category)
    ).all()
    by_category = [(category, count) for category, count in primary]
    uncategorised = papers - sum(count for _, count in by_category)
    if uncategorised:
        by_category.append((UNCATEGORISED, uncategorised))
    year, month = extract("year", Paper.published_at), extract("month", Paper.published_at)
    monthly = session.execute(
        select(year, month, func.count()).where(live).group_by(year, month).order_by(year, month)
    ).all()
    return CatalogueStats(
        papers=papers,
        withdrawn=withdrawn,
        by_primary_category=by_category,
        by_month=[(f"{int(y):04d}-{int(m):02d}", count) for y, m, count in monthly],
    )
