"""What a reader's feed learns from, read in one place: their follows, the papers of their collections, their
upvotes, the papers of the author names they have claimed (approved claims only), and their "not interested" marks.

The services that write these tables (collections, follows, claims) live beside this module; this one only reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from paperboard.db.batches import in_batches
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
    follows_and_marks = read_follows_and_marks(session, [user_id])[user_id]
    for key, label in follows_and_marks.followed_authors.items():
        newest = session.scalars(
            select(Paper.id)
            .join(PaperAuthor, PaperAuthor.paper_id == Paper.id)
            .where(PaperAuthor.name_key == key, Paper.deleted_at.is_(None))
            .order_by(Paper.published_at.desc())
            .limit(FOLLOWED_AUTHOR_PAPERS)
        )
        for paper_id in newest:
            add(paper_id, Source.FOLLOWED_AUTHOR, label)
    for paper_id in follows_and_marks.not_interested:
        positives.pop(paper_id, None)
    return replace(follows_and_marks, positives=positives)


def read_follows_and_marks(session: Session, user_ids: Sequence[int]) -> dict[int, ReaderSignals]:
    """Each reader's follows and not-interested marks, in a few queries for all of them; `positives` left empty.

    The email digest reads these for thousands of readers at once and scores with their stored models: the papers a
    model was trained on are the worker's business (`personal.reader_models`), not the digest's."""
    follows: dict[int, list[Follow]] = {user_id: [] for user_id in user_ids}
    marks: dict[int, set[int]] = {user_id: set() for user_id in user_ids}
    for chunk in in_batches(user_ids):
        for follow in session.scalars(select(Follow).where(Follow.user_id.in_(chunk)).order_by(Follow.id)):
            follows[follow.user_id].append(follow)
        for user_id, paper_id in session.execute(
            select(NotInterested.user_id, NotInterested.paper_id).where(NotInterested.user_id.in_(chunk))
        ):
            marks[user_id].add(paper_id)
    followed_user_ids = sorted(
        {follow.followed_user_id for kept in follows.values() for follow in kept if follow.kind == "user"} - {None}
    )
    usernames: dict[int, str] = {}
    for chunk in in_batches(followed_user_ids):
        usernames.update(session.execute(select(User.id, User.username).where(User.id.in_(chunk))).all())
    return {
        user_id: ReaderSignals(
            not_interested=frozenset(marks[user_id]),
            followed_authors={follow.target_key: follow.label for follow in kept if follow.kind == "author"},
            followed_categories=frozenset(follow.target_key for follow in kept if follow.kind == "category"),
            saved_searches=tuple(SavedSearch(follow.label) for follow in kept if follow.kind == "search"),
            followed_users={
                follow.followed_user_id: usernames[follow.followed_user_id]
                for follow in kept
                if follow.kind == "user" and follow.followed_user_id in usernames
            },
        )
        for user_id, kept in follows.items()
    }


def has_signals(session: Session, user_id: int) -> bool:
    """Whether the reader has done anything their feed learns from, without reading it all."""
    return bool(readers_with_signals(session, [user_id]))


def readers_with_signals(session: Session, user_ids: Sequence[int]) -> set[int]:
    """Those of the readers who have done anything their feed learns from: five queries per thousand readers."""
    found: set[int] = set()
    for chunk in in_batches(user_ids):
        checks = (
            select(Follow.user_id).where(Follow.user_id.in_(chunk)),
            select(PaperCollection.owner_id)
            .join(CollectionItem, CollectionItem.collection_id == PaperCollection.id)
            .where(PaperCollection.owner_id.in_(chunk)),
            select(Vote.user_id).where(Vote.user_id.in_(chunk)),
            select(AuthorClaim.user_id).where(AuthorClaim.user_id.in_(chunk), AuthorClaim.status == "approved"),
            select(NotInterested.user_id).where(NotInterested.user_id.in_(chunk)),
        )
        for check in checks:
            found.update(session.scalars(check.distinct()))
    return found
