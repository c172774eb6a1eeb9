"""What the personal-layer tests share: a reader signed in through the real form, and their page's CSRF token."""

from __future__ import annotations

from sqlalchemy import select

from paperboard.community.api_tokens import create_token
from paperboard.db import Database
from paperboard.db.models import ReaderModel, User
from tests.web.conftest import add_papers, client_for, create_user, make_paper, sign_in  # noqa: F401 - fixtures shared with the web tests


def user_named(database: Database, username: str) -> User:
    with database.read_session() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def token_for(database: Database, username: str) -> str:
    with database.session() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return create_token(session, user, "script").plaintext


def signals_changed_at(database: Database, username: str):
    user = user_named(database, username)
    with database.read_session() as session:
        return session.scalar(select(ReaderModel.signals_changed_at).where(ReaderModel.user_id == user.id))
