"""Authors as arXiv names them: the lookup key of a name, the rows that index papers by author, and what an author
page shows besides the papers (frequent co-authors, categories).

A name is arXiv's string, not a person: two people with one name share a page, and one person whose name arXiv
spells two ways has two. The key only absorbs differences that are not spellings: Unicode forms (NFKC), letter case
and runs of white space. Accents are kept: "Müller" and "Muller" are spelt differently on arXiv, and merging them
would claim a disambiguation this catalogue cannot make.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from paperboard.db.models import Paper, PaperAuthor, PaperCategory

# Keys are cut here: a PostgreSQL index entry holds at most about 2.7 kB, and an imported record may carry a whole
# author list as one "name". Two names alike in their first 300 characters share a page.
AUTHOR_KEY_LENGTH = 300
FREQUENT_COAUTHORS = 12


def author_key(name: str) -> str:
    """The key under which a name is looked up: NFKC, case-folded, white space collapsed, accents kept."""
    # Most names are ASCII, which NFKC leaves alone and whose case folding is lower(): an import keys millions.
    folded = name.lower() if name.isascii() else unicodedata.normalize("NFKC", name).casefold()
    return " ".join(folded.split())[:AUTHOR_KEY_LENGTH]


# The columns of `author_rows`' tuples.
AUTHOR_COLUMNS = ("paper_id", "position", "name", "name_key")


def author_rows(paper_id: int, authors: Sequence[str]) -> list[tuple[int, int, str, str]]:
    """The `paper_authors` rows of a paper's author list, as tuples of `AUTHOR_COLUMNS`."""
    return [(paper_id, position, name, author_key(name)) for position, name in enumerate(authors)]


@dataclass(frozen=True, slots=True)
class NameCount:
    name: str
    papers: int


@dataclass(frozen=True, slots=True)
class AuthorSummary:
    """What an author page shows around the list of papers (catalog/queries.py: `newest_papers(author=...)`)."""

    name: str
    coauthors: list[NameCount]
    categories: list[NameCount]


def _live_papers_of(key: str) -> Select[tuple[int]]:
    """The ids of papers not withdrawn that list a name with this key."""
    return (
        select(PaperAuthor.paper_id)
        .join(Paper, Paper.id == PaperAuthor.paper_id)
        .where(PaperAuthor.name_key == key, Paper.deleted_at.is_(None))
    )


def author_spelling(session: Session, name: str) -> str | None:
    """The spelling of a name that most papers use, so that `/authors/ada lovelace` reads "Ada Lovelace"; None when
    no paper of the catalogue lists it."""
    return session.scalars(
        select(PaperAuthor.name)
        .where(PaperAuthor.name_key == author_key(name))
        .group_by(PaperAuthor.name)
        .order_by(func.count().desc(), PaperAuthor.name)
        .limit(1)
    ).first()


def author_summary(session: Session, name: str) -> AuthorSummary | None:
    """The author page's facts for a name (shown in `author_spelling`), or None when no paper of the catalogue
    lists it."""
    spelling = author_spelling(session, name)
    if spelling is None:
        return None
    key = author_key(name)
    papers = _live_papers_of(key)
    # An alias, so that the co-authors' rows are not correlated with the ones of `papers`; a co-author is shown in
    # one of their spellings (the greatest: any one would do).
    coauthor = aliased(PaperAuthor)
    coauthors = session.execute(
        select(func.max(coauthor.name), func.count(func.distinct(coauthor.paper_id)))
        .where(coauthor.paper_id.in_(papers), coauthor.name_key != key)
        .group_by(coauthor.name_key)
        .order_by(func.count(func.distinct(coauthor.paper_id)).desc(), coauthor.name_key)
        .limit(FREQUENT_COAUTHORS)
    ).all()
    categories = session.execute(
        select(PaperCategory.category, func.count(func.distinct(PaperCategory.paper_id)))
        .where(PaperCategory.paper_id.in_(papers))
        .group_by(PaperCategory.category)
        .order_by(func.count(func.distinct(PaperCategory.paper_id)).desc(), PaperCategory.category)
    ).all()
    return AuthorSummary(
        name=spelling,
        coauthors=[NameCount(coauthor_name, count) for coauthor_name, count in coauthors],
        categories=[NameCount(category, count) for category, count in categories],
    )
