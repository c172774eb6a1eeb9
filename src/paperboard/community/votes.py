"""Upvotes: one per user per paper, added or removed explicitly so that a repeated request changes nothing."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.community.counts import upvote_counts
from paperboard.db.models import User, Vote
from paperboard.personal.activity import signals_changed


@dataclass(frozen=True)
class VoteState:
    voted: bool
    upvotes: int


def voted_papers(session: Session, user: User | None, paper_ids: Collection[int]) -> set[int]:
    """Which of these papers the user has upvoted."""
    if user is None or not paper_ids:
        return set()
    query = select(Vote.paper_id).where(Vote.user_id == user.id, Vote.paper_id.in_(list(paper_ids)))
    return set(session.scalars(query))


def set_vote(session: Session, user: User, paper_id: int, *, voted: bool) -> VoteState:
    """Add or remove the user's upvote; asking for the state the vote is already in changes nothing."""
    if voted:
        # A savepoint, so that losing a race with the same user's other request leaves the transaction usable.
        try:
            with session.begin_nested():
                session.add(Vote(user_id=user.id, paper_id=paper_id, created_at=utcnow()))
        except IntegrityError:
            pass
    else:
        session.execute(delete(Vote).where(Vote.user_id == user.id, Vote.paper_id == paper_id))
    # Upvotes are one of the signals the reader's feed learns from.
    signals_changed(session, user.id)
    return VoteState(voted=voted, upvotes=upvote_counts(session, [paper_id])[paper_id])
