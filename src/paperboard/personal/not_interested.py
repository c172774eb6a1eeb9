"""A reader's private "not interested" marks: a marked paper leaves their "for you" feed and their digest's "for you"
section, and counts as a negative for their model. A mark can be undone. Only its owner ever reads it.

Marking is idempotent and bounded (`MAX_MARKS` per account), and every change tells the reader's model
(`personal.activity.signals_changed`).
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db.locks import lock_for_transaction
from paperboard.db.models import NotInterested, Paper, User
from paperboard.personal.activity import signals_changed

# Far more than a reader dismisses in years of mornings; the bound keeps what every page a reader opens loads (their
# marks, to show each card's button) small.
MAX_MARKS = 5000


class TooManyMarks(ValueError):
    """The account has `MAX_MARKS` marks already; the message says what to do."""


def mark(session: Session, user: User, paper_id: int) -> bool:
    """Mark the paper "not interested" for this reader; True when this added the mark. Raises `TooManyMarks`."""
    lock_for_transaction(session, f"not-interested:{user.id}")
    if session.get(NotInterested, (user.id, paper_id)) is not None:
        return False
    if count_marks(session, user.id) >= MAX_MARKS:
        raise TooManyMarks(
            f"You marked {MAX_MARKS} papers as not interesting already: undo some on your Following page first."
        )
    try:
        with session.begin_nested():
            session.add(NotInterested(user_id=user.id, paper_id=paper_id, created_at=utcnow()))
    except IntegrityError:
        # Marked by another request since `get` looked.
        return False
    signals_changed(session, user.id)
    return True


def unmark(session: Session, user: User, paper_id: int) -> bool:
    """Undo the mark; True when there was one."""
    removed = session.execute(
        delete(NotInterested).where(NotInterested.user_id == user.id, NotInterested.paper_id == paper_id)
    )
    if removed.rowcount == 0:  # type: ignore[attr-defined]
        return False
    signals_changed(session, user.id)
    return True


def count_marks(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(NotInterested).where(NotInterested.user_id == user_id)) or 0


def not_interested_ids(session: Session, user_id: int) -> set[int]:
    """The ids of the papers this reader marked: what their feeds leave out."""
    return set(session.scalars(select(NotInterested.paper_id).where(NotInterested.user_id == user_id)))


def marked_papers(session: Session, user_id: int, *, limit: int, offset: int = 0) -> list[Paper]:
    """The papers this reader marked, the latest mark first."""
    return list(
        session.scalars(
            select(Paper)
            .join(NotInterested, NotInterested.paper_id == Paper.id)
            .where(NotInterested.user_id == user_id)
            .order_by(NotInterested.created_at.desc(), Paper.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
