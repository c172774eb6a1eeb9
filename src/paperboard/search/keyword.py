"""Keyword search: papers whose title, abstract or authors contain every word of the query.

The words are matched as substrings, case-insensitively, through LIKE patterns with their wildcards escaped, so no
query (quotes, operators, `%`, unbalanced parentheses, any script) can change what is asked of the database. Papers
with more query words in their title come first, then the most recently published.

This scans the catalogue; ranking by BM25 over an index belongs to the search issue, which replaces this module's
internals and keeps `search_papers` as it is.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Text, case, cast, or_, select
from sqlalchemy.orm import Session

from paperboard.db.models import Paper

QUERY_MAX_LENGTH = 250
# More words narrow the results no further in practice and make every query scan longer.
MAX_WORDS = 8
_WORD = re.compile(r"\w+")
_LIKE_ESCAPE = "\\"


class QueryTooLong(ValueError):
    """The query is longer than `QUERY_MAX_LENGTH` characters."""


def query_words(query: str) -> list[str]:
    """The distinct words of a query, in order, lower-cased; punctuation and operators are dropped."""
    words: list[str] = []
    for word in _WORD.findall(query.casefold()):
        if word not in words:
            words.append(word)
    return words[:MAX_WORDS]


def _contains(column: ColumnElement[str], word: str) -> ColumnElement[bool]:
    escaped = word.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", r"\%").replace("_", r"\_")
    return column.ilike(f"%{escaped}%", escape=_LIKE_ESCAPE)


def search_papers(session: Session, query: str, *, limit: int, offset: int = 0) -> list[Paper]:
    """Papers not withdrawn that contain every word of `query`, best first; none for a query without words."""
    if len(query) > QUERY_MAX_LENGTH:
        raise QueryTooLong(f"A search query can be at most {QUERY_MAX_LENGTH} characters long.")
    words = query_words(query)
    if not words:
        return []
    # The authors' JSON as text: a name matches wherever it sits in the list. (SQLite stores non-ASCII letters of
    # JSON as \u escapes, so there only ASCII names match; the search issue's index lifts that.)
    authors: ColumnElement[str] = cast(Paper.authors, Text)
    title_hits: ColumnElement[int] = case((_contains(Paper.title, words[0]), 1), else_=0)
    for word in words[1:]:
        title_hits = title_hits + case((_contains(Paper.title, word), 1), else_=0)
    every_word = [or_(_contains(Paper.title, w), _contains(Paper.abstract, w), _contains(authors, w)) for w in words]
    statement = (
        select(Paper)
        .where(Paper.deleted_at.is_(None), *every_word)
        .order_by(title_hits.desc(), Paper.published_at.desc(), Paper.arxiv_id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(statement))
