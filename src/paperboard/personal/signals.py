"""What a reader's feed learns from, read in one place: their follows, the papers of their collections, their
upvotes, the papers of the author names they have claimed (approved claims only), and their "not interested" marks.

The services that write these tables (collections, follows, claims) live beside this module; this one only reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from paperboard.db.models import (
    AuthorClaim,
    CollectionItem,
    Follow,
    NotInterested,
    Paper,
    PaperAuthor,
    PaperCollection,
    User,
    Vote,
)
from paperboard.personal.collections import collection_paper_ids

# A followed author's papers teach the model what the reader reads; the newest are enough, and a prolific name
# should not drown the reader's own choices.
FOLLOWED_AUTHOR_PAPERS = 50


class Source(StrEnum):
    """Why a paper counts as one the reader likes, strongest first: the reason a recommendation names."""

    CLAIMED = "claimed"
    COLLECTION = "collection"
    UPVOTED = "upvoted"
    FOLLOWED_AUTHOR = "followed_author"


@dataclass(frozen=True, slots=True)
class Positive:
    """A paper the reader likes and where it comes from: `place` is the collection's title ("Saved" for the
    default one), or the followed author's name; empty for claims and upvotes."""

    paper_id: int
    source: Source
    place: str = ""


@dataclass(frozen=True, slots=True)
class SavedSearch:
    label: str  # the query text as the reader wrote it


@dataclass(frozen=True, slots=True)
class ReaderSignals:
    positives: dict[int, Positive] = field(default_factory=dict)
    not_interested: frozenset[int] = frozenset()
    # Lookup key (catalog/authors.py) -> the name as the reader followed it.
    followed_authors: dict[str, str] = field(default_factory=dict)
    followed_categories: frozenset[str] = frozenset()
    saved_searches: tuple[SavedSearch, ...] = ()
    # Account id -> username.
    followed_users: dict[int, str] = field(default_factory=dict)

    @property
    def follows_anything(self) -> bool:
        return bool(self.followed_authors or self.followed_categories or self.saved_searches or self.followed_users)

    @property
    def is_empty(self) -> bool:
        return not (self.positives or self.not_interested or self.follows_anything)


def _live(paper_id_column: object) -> object:
    return exists().where(Paper.id == paper_id_column, Paper.deleted_at.is_(None))


def read_signals(session: Session, user_id: int) -> ReaderSignals:
    """Everything the reader's feed learns from. A paper reached several ways keeps its strongest source."""
    positives: dict[int, Positive] = {}

    def add(paper_id: int, source: Source, place: str = "") -> None:
        if paper_id not in positives:
            positives[paper_id] = Positive(paper_id, source, place)

    claimed = session.execute(
        select(PaperAuthor.paper_id)
        .join(AuthorClaim, AuthorClaim.name_key == PaperAuthor.name_key)
        .where(AuthorClaim.user_id == user_id, AuthorClaim.status == "approved", _live(PaperAuthor.paper_id))
        .distinct()
    )
    for (paper_id,) in claimed:
        add(paper_id, Source.CLAIMED)
    # The Saved collection first, then the others in the order they were made.
    for paper_id, holders in collection_paper_ids(session, user_id).items():
        add(paper_id, Source.COLLECTION, holders[0][0])
    for (paper_id,) in session.execute(select(Vote.paper_id).where(Vote.user_id == user_id, _live(Vote.paper_id))):
        add(paper_id, Source.UPVOTED)

    follows = session.scalars(select(Follow).where(Follow.user_id == user_id).order_by(Follow.id)).all()
    followed_authors = {follow.target_key: follow.label for follow in follows if follow.kind == "author"}
    for key, label in followed_authors.items():
        newest = session.scalars(
            select(Paper.id)
            .join(PaperAuthor, PaperAuthor.paper_id == Paper.id)
            .where(PaperAuthor.name_key == key, Paper.deleted_at.is_(None))
            .order_by(Paper.published_at.desc())
            .limit(FOLLOWED_AUTHOR_PAPERS)
        )
        for paper_id in newest:
            add(paper_id, Source.FOLLOWED_AUTHOR, label)
    followed_user_ids = [follow.followed_user_id for follow in follows if follow.kind == "user"]
    usernames = dict(
        session.execute(select(User.id, User.username).where(User.id.in_(followed_user_ids))).all()
        if followed_user_ids
        else []
    )
    not_interested = frozenset(session.scalars(select(NotInterested.paper_id).where(NotInterested.user_id == user_id)))
    for paper_id in not_interested:
        positives.pop(paper_id, None)
    return ReaderSignals(
        positives=positives,
        not_interested=not_interested,
        followed_authors=followed_authors,
        followed_categories=frozenset(follow.target_key for follow in follows if follow.kind == "category"),
        saved_searches=tuple(SavedSearch(follow.label) for follow in follows if follow.kind == "search"),
        followed_users=usernames,
    )


def has_signals(session: Session, user_id: int) -> bool:
    """Whether the reader has done anything their feed learns from, without reading it all."""
    checks = (
        select(Follow.id).where(Follow.user_id == user_id),
        select(CollectionItem.id)
        .join(PaperCollection, PaperCollection.id == CollectionItem.collection_id)
        .where(PaperCollection.owner_id == user_id),
        select(Vote.paper_id).where(Vote.user_id == user_id),
        select(AuthorClaim.id).where(AuthorClaim.user_id == user_id, AuthorClaim.status == "approved"),
        select(NotInterested.paper_id).where(NotInterested.user_id == user_id),
    )
    return any(session.execute(check.limit(1)).first() is not None for check in checks)
