"""The one signal every personal action sends: "this reader's taste may have changed", so that their model is
retrained before it ranks again (personal.ranking reads `ReaderModel.signals_changed_at`)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db.models import ReaderModel


def signals_changed(session: Session, user_id: int) -> None:
    """Record, in the caller's transaction, that the reader acted (followed, saved, upvoted, dismissed ...)."""
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    statement = dialect_insert(ReaderModel).values(user_id=user_id, signals_changed_at=now)
    session.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_={"signals_changed_at": now}))
