"""A reader's own marks on papers, as the buttons of a page show them: which papers they upvoted, saved, marked "not
interested", and commented on. Read in one query for the papers of one page (web/reader_pages.py overlays them on a
page made once for every reader), or kind by kind for all the reader's papers (web/reader_state.py, for a page made
for them alone)."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from typing import Literal

from sqlalchemy import BindParameter, CompoundSelect, Select, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from paperboard.db.models import CollectionItem, Comment, NotInterested, Paper, PaperCollection, Vote

MarkKind = Literal["vote", "save", "not_interested", "commented"]
MARK_KINDS: tuple[MarkKind, ...] = ("vote", "save", "not_interested", "commented")


def _marked(kind: MarkKind, user_id: int | BindParameter[int]) -> Select[tuple[str, str]]:
    """The arXiv ids of the papers the user marked in this way, labelled with the kind."""
    query = select(literal(kind).label("kind"), Paper.arxiv_id)
    if kind == "vote":
        return query.join(Vote, Vote.paper_id == Paper.id).where(Vote.user_id == user_id)
    if kind == "save":
        return (
            query.join(CollectionItem, CollectionItem.paper_id == Paper.id)
            .join(PaperCollection, PaperCollection.id == CollectionItem.collection_id)
            .where(PaperCollection.owner_id == user_id, PaperCollection.is_saved.is_(True))
        )
    if kind == "not_interested":
        return query.join(NotInterested, NotInterested.paper_id == Paper.id).where(NotInterested.user_id == user_id)
    # Deleted and hidden comments too: a page shows its author their hidden comments and their actions.
    return query.join(Comment, Comment.paper_id == Paper.id).where(Comment.author_id == user_id)


def marks_of(session: Session, user_id: int, kind: MarkKind) -> set[str]:
    """Every paper the user marked in this way, by arXiv id."""
    return {arxiv_id for _, arxiv_id in session.execute(_marked(kind, user_id))}


@functools.cache
def _marked_among(kinds: tuple[MarkKind, ...]) -> CompoundSelect:
    """The query of `marks_among` for these kinds, built once: the user and each kind's ids are parameters
    (`user_id`, `<kind>_ids`), and building it would cost more than running it."""
    user_id = bindparam("user_id")
    return union_all(
        *(_marked(kind, user_id).where(Paper.arxiv_id.in_(bindparam(f"{kind}_ids", expanding=True))) for kind in kinds)
    )


def marks_among(session: Session, user_id: int, papers: Mapping[MarkKind, Collection[str]]) -> set[tuple[str, str]]:
    """Which of the given papers (arXiv ids, by kind of mark) the user marked, as (kind, arXiv id): one query."""
    asked = {kind: sorted(arxiv_ids) for kind, arxiv_ids in sorted(papers.items()) if arxiv_ids}
    if not asked:
        return set()
    parameters = {"user_id": user_id, **{f"{kind}_ids": arxiv_ids for kind, arxiv_ids in asked.items()}}
    return {(kind, arxiv_id) for kind, arxiv_id in session.execute(_marked_among(tuple(asked)), parameters)}
