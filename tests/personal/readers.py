"""What a reader does that their feed learns from, written as rows with `personal.activity.signals_changed`, as the
follow and not-interested services write them (their own tests cover those services), and papers for a feed."""

from __future__ import annotations

from datetime import date, datetime

from paperboard.catalog.authors import author_key
from paperboard.catalog.store import mark_deleted
from paperboard.clock import utcnow
from paperboard.db import Database
from paperboard.db.models import Follow, NotInterested, User
from paperboard.personal.activity import signals_changed
from tests.community.factories import add_listing, add_paper, add_user, paper_id

# The papers `add_feed_papers` makes that a feed of the last week offers: one by Ada Lovelace, one listed.
BY_ADA, LISTED = "2601.00001", "2601.00002"
# Those it makes that no feed of the last week offers.
HIDDEN, WITHDRAWN, OLDER = "2601.00003", "2601.00004", "2601.00006"
# One more offered, for a reader to mark not interested.
DISMISSED = "2601.00005"


def follow_author(database: Database, reader: User, name: str) -> None:
    with database.session() as session:
        session.add(
            Follow(user_id=reader.id, kind="author", target_key=author_key(name), label=name, created_at=utcnow())
        )
        signals_changed(session, reader.id)


def mark_not_interested(database: Database, reader: User, arxiv_id: str) -> None:
    with database.session() as session:
        session.add(NotInterested(user_id=reader.id, paper_id=paper_id(database, arxiv_id), created_at=utcnow()))
        signals_changed(session, reader.id)


def withdraw(database: Database, arxiv_id: str) -> None:
    with database.session() as session:
        mark_deleted(session, arxiv_id, datetime(2026, 1, 1))


def add_feed_papers(database: Database) -> None:
    """Papers of the last week: one by Ada Lovelace, one listed, one hidden by a moderator, one withdrawn, one more;
    one of ten days ago; and, for periods, papers of 3 and 30 June and 1 July 2025."""
    moderator = add_user(database, "moderator", role="moderator")
    for arxiv_id, days_old, author in [
        (BY_ADA, 2, "Ada Lovelace"),
        (LISTED, 3, "Grace Hopper"),
        (HIDDEN, 1, "Grace Hopper"),
        (WITHDRAWN, 4, "Grace Hopper"),
        (DISMISSED, 2, "Grace Hopper"),
        (OLDER, 10, "Ada Lovelace"),
    ]:
        add_paper(database, arxiv_id, days_old=days_old, authors=[author, "Alan Turing"], title=f"On {arxiv_id}")
    add_listing(database, LISTED, date.today(), imported_submitter="hfuser", upvotes=4)
    add_listing(database, HIDDEN, date.today(), hidden_by=moderator)
    withdraw(database, WITHDRAWN)
    add_paper(database, "2506.00001", published_at=datetime(2025, 6, 3, 9), authors=["Ada Lovelace"])
    add_paper(database, "2506.00002", published_at=datetime(2025, 6, 30, 23), authors=["Grace Hopper"])
    add_paper(database, "2507.00001", published_at=datetime(2025, 7, 1, 0), authors=["Ada Lovelace"])
