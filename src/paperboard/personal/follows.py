"""What an account follows: author names, arXiv categories and archives, saved searches and other accounts.

One set of follows per account, read by the reader's feed and by their email digest alike (a subscription connected to
an account takes its categories from the category follows and its keywords from the saved searches,
`digest_preferences`). Following is idempotent (following twice is one follow, whatever the spelling: a target is
stored under a canonical key) and bounded (`MAX_FOLLOWS` per account), and every change tells the reader's model
(`personal.activity.signals_changed`).

Follows are private: only their owner reads them (pages and API check the owner, never the follow's id).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperboard.catalog.authors import author_key, author_spelling
from paperboard.catalog.taxonomy import ARXIV_CATEGORIES
from paperboard.clock import utcnow
from paperboard.community.accounts import user_by_name
from paperboard.db.locks import lock_for_transaction
from paperboard.db.models import Follow, User
from paperboard.personal.activity import signals_changed
from paperboard.search.service import QUERY_MAX_LENGTH

FollowKind = Literal["author", "category", "search", "user"]
FOLLOW_KINDS: tuple[str, ...] = get_args(FollowKind)
# Enough for every author, topic and search a researcher reads about (Scholar Inbox suggests a few dozen); a bound
# keeps one account from making the digest's and the feed's per-reader work grow without limit.
MAX_FOLLOWS = 300
# The search page's parameters that make a saved search; its order (`sort`) and page (`offset`) only present it.
SEARCH_PARAMETERS = ("q", "mode", "category", "published_from", "published_to", "has_code", "listed")
# Longer than any author name arXiv lists (a few hundred characters at worst), username or category.
MAX_NAME_LENGTH = 1000
# Any filter's value is far shorter (a mode, a date, a category, "on"); the words have the search's own limit.
_FILTER_MAX_LENGTH = 64
# How much of a refused value a message quotes.
_QUOTED_LENGTH = 40


class InvalidFollow(ValueError):
    """Something that cannot be followed; the message says why, fit for the reader."""


class UnknownTarget(LookupError):
    """No author name, account or category of this site is named so; the message says which."""


class TooManyFollows(InvalidFollow):
    """The account follows `MAX_FOLLOWS` things already."""


@dataclass(frozen=True, slots=True)
class Target:
    """Something to follow, as it is stored: `target_key` is canonical, so one thing is one follow."""

    kind: FollowKind
    target_key: str
    label: str
    query: dict[str, str] | None = None
    followed_user_id: int | None = None


def _quoted(text: str) -> str:
    return repr(text if len(text) <= _QUOTED_LENGTH else f"{text[:_QUOTED_LENGTH]}…")


def author_target(session: Session, name: str) -> Target:
    """An author name as arXiv spells it, looked up by its key (catalog/authors.py); the label is the spelling most
    papers use. Raises `UnknownTarget` for a name no paper of the catalogue lists."""
    spelling = author_spelling(session, name) if name.strip() else None
    if spelling is None:
        raise UnknownTarget(f"No paper of this catalogue lists the author {_quoted(name)}.")
    return Target("author", author_key(spelling), spelling)


def category_target(category: str) -> Target:
    """An arXiv category or archive in any case, kept as arXiv spells it (`cs.cl` is cs.CL)."""
    known = ARXIV_CATEGORIES.get(category.strip().lower())
    if known is None:
        raise UnknownTarget(f"arXiv has no category {_quoted(category)}: write them like cs.CL, math.AG, hep-th or cs.")
    return Target("category", known, known)


def search_target(parameters: Mapping[str, str]) -> Target:
    """A saved search: the search page's parameters (`SEARCH_PARAMETERS`, values as the page writes them, the
    defaults left out). Its key is a digest of the words (in any case and spacing) and the filters, so that the same
    search typed again is the same follow."""
    unknown = set(parameters) - set(SEARCH_PARAMETERS)
    if unknown:
        raise InvalidFollow(f"A saved search has no parameter {_quoted(sorted(unknown)[0])}.")
    words = " ".join(parameters.get("q", "").split())
    if not words:
        raise InvalidFollow("Type some words to search for before saving the search.")
    if len(words) > QUERY_MAX_LENGTH:
        raise InvalidFollow(f"A saved search has at most {QUERY_MAX_LENGTH} characters.")
    filters = {name: value.strip() for name, value in parameters.items() if name != "q" and value.strip()}
    if any(len(value) > _FILTER_MAX_LENGTH for value in filters.values()):
        raise InvalidFollow(f"A search filter has at most {_FILTER_MAX_LENGTH} characters.")
    canonical = {"q": words.casefold()} | {name: value.casefold() for name, value in filters.items()}
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
    return Target("search", digest, words, query={"q": words} | filters)


def user_target(session: Session, follower: User, username: str) -> Target:
    """Another account, by its name; its key is its id, which a rename does not change."""
    followed = user_by_name(session, username) if username.strip() else None
    if followed is None:
        raise UnknownTarget(f"There is no user named {_quoted(username)}.")
    if followed.id == follower.id:
        raise InvalidFollow("You cannot follow yourself.")
    return Target("user", str(followed.id), followed.username, followed_user_id=followed.id)


def resolve_target(session: Session, user: User, kind: str, name: str) -> Target:
    """The author, category or user a form names (a saved search is named by its parameters: `search_target`).
    Raises `InvalidFollow` or `UnknownTarget`."""
    if kind not in FOLLOW_KINDS:
        raise InvalidFollow(f"One follows authors, categories, searches or users, not {_quoted(kind)}.")
    if kind == "search":
        raise InvalidFollow("A saved search is named by its words and filters, not by a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidFollow(f"A name to follow has at most {MAX_NAME_LENGTH} characters.")
    if kind == "author":
        return author_target(session, name)
    if kind == "category":
        return category_target(name)
    return user_target(session, user, name)


def follow(session: Session, user: User, target: Target) -> bool:
    """Follow `target`; True when this added a follow, False when the account followed it already. Raises
    `TooManyFollows` when the account follows `MAX_FOLLOWS` things already."""
    # Counting then adding must not interleave with another request of the same account's (PostgreSQL; SQLite's
    # writing sessions are serialised already).
    lock_for_transaction(session, f"follows:{user.id}")
    if _find(session, user.id, target.kind, target.target_key) is not None:
        return False
    if count_follows(session, user.id) >= MAX_FOLLOWS:
        raise TooManyFollows(f"You follow {MAX_FOLLOWS} things already: unfollow some before following more.")
    row = Follow(
        user_id=user.id,
        kind=target.kind,
        target_key=target.target_key,
        label=target.label,
        query=target.query,
        followed_user_id=target.followed_user_id,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # The same follow, added by another request since `_find` looked.
        return False
    signals_changed(session, user.id)
    return True


def unfollow(session: Session, user: User, kind: FollowKind, target_key: str) -> bool:
    """Stop following; True when there was such a follow."""
    removed = session.execute(
        delete(Follow).where(Follow.user_id == user.id, Follow.kind == kind, Follow.target_key == target_key)
    )
    if removed.rowcount == 0:  # type: ignore[attr-defined]
        return False
    signals_changed(session, user.id)
    return True


def _find(session: Session, user_id: int, kind: str, target_key: str) -> Follow | None:
    return session.scalars(
        select(Follow).where(Follow.user_id == user_id, Follow.kind == kind, Follow.target_key == target_key)
    ).one_or_none()


def count_follows(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Follow).where(Follow.user_id == user_id)) or 0


def follows_of(session: Session, user_id: int) -> list[Follow]:
    """Everything the account follows, by kind (authors, categories, searches, people), then by label."""
    rows = session.scalars(select(Follow).where(Follow.user_id == user_id)).all()
    return sorted(rows, key=lambda row: (FOLLOW_KINDS.index(row.kind), row.label.casefold(), row.id))


def followed_keys(session: Session, user_id: int) -> set[tuple[str, str]]:
    """The (kind, target_key) of everything the account follows: what its pages' buttons show."""
    return {
        (kind, key)
        for kind, key in session.execute(select(Follow.kind, Follow.target_key).where(Follow.user_id == user_id))
    }


def digest_preferences(session: Session, user_ids: Select[tuple[int]]) -> dict[int, tuple[list[str], list[str]]]:
    """The categories and keywords of the digests of these accounts (a query of their ids) that follow any: the
    categories and archives they follow, and the words of their saved searches."""
    preferences: dict[int, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for user_id, kind, target_key, label in session.execute(
        select(Follow.user_id, Follow.kind, Follow.target_key, Follow.label)
        .where(Follow.kind.in_(("category", "search")), Follow.user_id.in_(user_ids))
        .order_by(Follow.user_id, Follow.id)
    ):
        categories, keywords = preferences[user_id]
        if kind == "category":
            categories.append(target_key)
        else:
            # A saved search's label is its words (`search_target`).
            keywords.append(label)
    return dict(preferences)


def adopt_digest_preferences(session: Session, user: User, categories: Iterable[str], keywords: Iterable[str]) -> int:
    """Make a digest subscription's own categories and keywords follows of the account it is connected to, so
    that connecting it loses nothing (from then on, the follows are its preferences); returns how many follows were
    added. What the account cannot follow any more (over `MAX_FOLLOWS`) stays in the subscription's row only."""
    added = 0
    try:
        for category in categories:
            added += follow(session, user, category_target(category))
        for keyword in keywords:
            added += follow(session, user, search_target({"q": keyword}))
    except TooManyFollows:
        pass
    return added
