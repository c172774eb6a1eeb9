"""The one signal every personal action sends: "this reader's taste may have changed", so that their model is
retrained before it ranks again (personal.reader_models reads `ReaderModel.signals_changed_at`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db.models import ReaderModel


def _insert(session: Session, user_id: int, signals_changed_at: datetime) -> Any:
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(ReaderModel).values(user_id=user_id, signals_changed_at=signals_changed_at)


def signals_changed(session: Session, user_id: int) -> None:
    """Record, in the caller's transaction, that the reader acted (followed, saved, upvoted, dismissed ...)."""
    now = utcnow()
    statement = _insert(session, user_id, now)
    session.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_={"signals_changed_at": now}))


def ensure_reader_model(session: Session, user_id: int, signals_changed_at: datetime) -> None:
    """Give the reader their row if they have none yet (signals written without `signals_changed`: imported, or
    from before the personal layer), as acting at `signals_changed_at`; a row already there is left as it is."""
    session.execute(_insert(session, user_id, signals_changed_at).on_conflict_do_nothing(index_elements=["user_id"]))
