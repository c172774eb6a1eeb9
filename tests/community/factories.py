"""Building listings, users and activity for tests, straight into storage, with sensible defaults."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from paperboard.catalog.store import upsert_papers
from paperboard.clock import utcnow
from paperboard.community import accounts
from paperboard.db import Database
from paperboard.db.models import Comment, Listing, Paper, User, Vote
from tests.catalog.factories import make_record

PASSWORD = "a long enough password"


def add_paper(database: Database, arxiv_id: str, *, days_old: int = 1, **fields: Any) -> None:
    """A paper in the catalogue, first published `days_old` days ago unless `published_at` says otherwise."""
    fields.setdefault("published_at", utcnow() - timedelta(days=days_old))
    with database.session() as session:
        upsert_papers(session, [make_record(arxiv_id, **fields)])


def add_user(database: Database, username: str, *, role: str = "user") -> User:
    password_hash = accounts.hash_password(PASSWORD)
    with database.session() as session:
        return accounts.create_user(session, username, password_hash, role=role)  # type: ignore[arg-type]


def paper_id(database: Database, arxiv_id: str) -> int:
    with database.read_session() as session:
        return session.scalars(select(Paper.id).where(Paper.arxiv_id == arxiv_id)).one()


def add_listing(
    database: Database,
    arxiv_id: str,
    day: date,
    *,
    submitted_at: datetime | None = None,
    submitter: User | None = None,
    imported_submitter: str | None = None,
    upvotes: int = 0,
    comments: int = 0,
    github_stars: int | None = None,
    hidden_by: User | None = None,
) -> None:
    """A listing of a catalogued paper on `day`; `upvotes` and `comments` are imported counts."""
    target = paper_id(database, arxiv_id)
    with database.session() as session:
        session.add(
            Listing(
                paper_id=target,
                day=day,
                submitted_at=submitted_at or datetime(day.year, day.month, day.day, 8),
                submitter_id=submitter.id if submitter else None,
                imported_submitter=imported_submitter,
                imported_upvotes=upvotes,
                imported_comments=comments,
                github_stars=github_stars,
                hidden_at=utcnow() if hidden_by else None,
                hidden_by_id=hidden_by.id if hidden_by else None,
            )
        )


def add_votes(database: Database, arxiv_id: str, *voters: User, cast_at: datetime | None = None) -> None:
    target = paper_id(database, arxiv_id)
    with database.session() as session:
        session.add_all(Vote(user_id=voter.id, paper_id=target, created_at=cast_at or utcnow()) for voter in voters)


def add_comment(
    database: Database, arxiv_id: str, author: User, *, written_at: datetime | None = None, hidden: bool = False
) -> None:
    target = paper_id(database, arxiv_id)
    with database.session() as session:
        session.add(
            Comment(
                paper_id=target,
                author_id=author.id,
                body="A comment.",
                body_html="<p>A comment.</p>",
                created_at=written_at or utcnow(),
                hidden_at=utcnow() if hidden else None,
            )
        )
