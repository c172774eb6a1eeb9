"""The numbers shown beside a paper: upvotes and comments, each local activity plus imported history.

Imported daily lists (the Hugging Face archive) carry their own counts; they are stored apart from the votes and
comments of local users and added to them only here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from paperboard.community.comments import VISIBLE
from paperboard.db.models import Comment, Listing, Paper, Vote


def _summed(session: Session, paper_ids: Collection[int], *queries: Select[tuple[int, int]]) -> dict[int, int]:
    counts = dict.fromkeys(paper_ids, 0)
    for query in queries:
        for paper_id, count in session.execute(query):
            counts[paper_id] += count
    return counts


def upvote_counts(session: Session, paper_ids: Collection[int]) -> dict[int, int]:
    """Each paper's upvotes; papers without any count 0."""
    ids = list(paper_ids)
    if not ids:
        return {}
    return _summed(
        session,
        ids,
        select(Vote.paper_id, func.count()).where(Vote.paper_id.in_(ids)).group_by(Vote.paper_id),
        select(Listing.paper_id, Listing.imported_upvotes).where(Listing.paper_id.in_(ids)),
    )


@dataclass(frozen=True, slots=True)
class Activity:
    upvotes: int
    comments: int


def activity_counts(session: Session, paper_ids: Collection[int]) -> dict[int, Activity]:
    """Each paper's upvotes (counted as `upvote_counts` counts them) and comments that every reader can see
    (`comments.VISIBLE`) plus imported ones, in one query
    (a page of search results shows both, and four queries cost it more than the counting)."""
    ids = list(paper_ids)
    if not ids:
        return {}
    local_votes = select(func.count()).where(Vote.paper_id == Paper.id).scalar_subquery()
    local_comments = select(func.count()).where(Comment.paper_id == Paper.id, VISIBLE).scalar_subquery()
    # A paper has at most one listing (`listings.paper_id` is unique), which carries the imported counts.
    imported_votes = select(Listing.imported_upvotes).where(Listing.paper_id == Paper.id).scalar_subquery()
    imported_comments = select(Listing.imported_comments).where(Listing.paper_id == Paper.id).scalar_subquery()
    counts = dict.fromkeys(ids, Activity(0, 0))
    for paper_id, upvotes, comments in session.execute(
        select(
            Paper.id,
            local_votes + func.coalesce(imported_votes, 0),
            local_comments + func.coalesce(imported_comments, 0),
        ).where(Paper.id.in_(ids))
    ):
        counts[paper_id] = Activity(upvotes, comments)
    return counts
