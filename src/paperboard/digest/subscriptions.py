"""Subscribing to the digests by mail with double opt-in, and managing or cancelling a subscription.

Nothing here lets a caller learn whether an address is subscribed: subscribing an address, or asking for a link to
manage it, has the same visible outcome whatever its state, a mail to that address (a confirmation link while it is
not confirmed, a manage link once it is), at most one per `LINK_MAIL_INTERVAL`. Before confirmation an address is
mailed nothing but its confirmation link, so that nobody can subscribe someone else.

Nobody can flood an inbox or the site's mail server either: a mailbox gets at most `LINK_MAILS_PER_MAILBOX` link
mails per `MAILBOX_WINDOW` however its address is spelled (`addresses.mailbox_key`), silently like the interval
above; and a client address may ask for link mails only so often (`subscription_requests_per_address_per_hour`),
beyond which it is told to wait (`TooManyRequests`), whatever the addresses it typed.

A subscription is connected to an account (for "include my For-you picks") only by someone who both holds a
link mailed to the address and is signed in to that account: typing an address while signed in proves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperboard.catalog.taxonomy import ARXIV_CATEGORIES
from paperboard.config import Settings
from paperboard.db.models import OutboxMessage, Subscriber, User
from paperboard.db.rate_windows import take
from paperboard.digest.addresses import Address, mailbox_key, parse_address
from paperboard.digest.links import InvalidLink, LinkPurpose, LinkSigner
from paperboard.digest.outbox import NewMail, OutboxKind, enqueue
from paperboard.digest.periods import DigestKind
from paperboard.digest.statuses import SubscriberStatus
from paperboard.personal.follows import adopt_digest_preferences

MAX_CATEGORIES = 20
MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 100
# At most one link mail per address in this time, however often the form is sent: it cannot flood an inbox.
LINK_MAIL_INTERVAL = timedelta(minutes=10)
# ... and at most so many per mailbox, whatever the spellings of its address (a+1@, a+2@, A@ …).
LINK_MAILS_PER_MAILBOX = 3
MAILBOX_WINDOW = timedelta(hours=1)
REQUEST_WINDOW = timedelta(hours=1)
# How much of a refused value an error message quotes.
_QUOTED_LENGTH = 40

_CATEGORY_SEPARATORS = re.compile(r"[,\s]+")
_KEYWORD_SEPARATORS = re.compile(r"[,\n]+")


class InvalidPreferences(ValueError):
    """Preferences that cannot be kept; the message says why, fit for the reader."""


class TooManyRequests(Exception):
    """This client asked for too many link mails lately; `wait_seconds` until it may ask again."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(wait_seconds)
        self.wait_seconds = wait_seconds


class UnknownSubscriber(LookupError):
    """No subscriber has this id (an administrator removed it since its link was mailed)."""


@dataclass(frozen=True, slots=True)
class Preferences:
    frequency: DigestKind = "daily"
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    # Takes effect only for a subscription connected to an account, whose upvotes it follows.
    similar_to_upvoted: bool = False


def parse_preferences(
    frequency: str,
    categories: str | Iterable[str] = (),
    keywords: str | Iterable[str] = (),
    *,
    similar_to_upvoted: bool = False,
) -> Preferences:
    """Preferences from what a reader typed: categories separated by commas or spaces, keywords by commas or line
    breaks; duplicates are dropped. Raises `InvalidPreferences`."""
    if frequency not in get_args(DigestKind):
        raise InvalidPreferences("choose daily or weekly digests")
    return Preferences(
        frequency=frequency,  # type: ignore[arg-type]
        categories=_categories(_CATEGORY_SEPARATORS.split(categories) if isinstance(categories, str) else categories),
        keywords=_keywords(_KEYWORD_SEPARATORS.split(keywords) if isinstance(keywords, str) else keywords),
        similar_to_upvoted=similar_to_upvoted,
    )


def _categories(values: Iterable[str]) -> tuple[str, ...]:
    categories: list[str] = []
    for value in filter(None, (value.strip() for value in values)):
        category = ARXIV_CATEGORIES.get(value.lower())
        if category is None:
            raise InvalidPreferences(
                f"{value[:_QUOTED_LENGTH]!r} is not an arXiv category or archive: write them like cs.CL, math.AG, "
                "hep-th or cs"
            )
        if category not in categories:
            categories.append(category)
    if len(categories) > MAX_CATEGORIES:
        raise InvalidPreferences(f"choose at most {MAX_CATEGORIES} categories")
    return tuple(categories)


def _keywords(values: Iterable[str]) -> tuple[str, ...]:
    keywords: dict[str, str] = {}
    for value in values:
        keyword = " ".join(value.split())
        if not keyword:
            continue
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise InvalidPreferences(f"a keyword has at most {MAX_KEYWORD_LENGTH} characters")
        if not any(character.isalnum() for character in keyword):
            raise InvalidPreferences(f"the keyword {keyword[:_QUOTED_LENGTH]!r} has no letter or digit")
        keywords.setdefault(keyword.casefold(), keyword)
    if len(keywords) > MAX_KEYWORDS:
        raise InvalidPreferences(f"give at most {MAX_KEYWORDS} keywords")
    return tuple(keywords.values())


def subscribe(
    session: Session,
    settings: Settings,
    address_text: str,
    preferences: Preferences,
    *,
    user: User | None = None,
    client: str,
    now: datetime,
) -> int | None:
    """Ask for digests at an address: a new, pending, paused or unsubscribed address (pending from now on) takes
    these preferences and is mailed a confirmation link; a confirmed one keeps its preferences and is mailed a link
    to manage them. "Include my For-you picks" is kept only when asked by a signed-in `user`.

    Returns the id of the link mail put in the outbox, or None when this address was mailed a link less than
    `LINK_MAIL_INTERVAL` ago or its mailbox reached its limit; a caller must not let its user tell these apart.
    Raises `InvalidAddress`, and `TooManyRequests` when the `client` address asked too often."""
    address = parse_address(address_text)
    _count_request(session, settings, client, now)
    subscriber = _subscriber_at(session, address, preferences.frequency, now)
    if subscriber.status != SubscriberStatus.ACTIVE:
        subscriber.email = address.email
        subscriber.status = SubscriberStatus.PENDING
        _apply(subscriber, preferences, similar_allowed=user is not None)
    return _mail_link(session, settings, subscriber, now)


def request_manage_link(
    session: Session, settings: Settings, address_text: str, *, client: str, now: datetime
) -> int | None:
    """Mail a fresh link to an address that is subscribed (a confirmation link if it is still pending), within the
    same limits as `subscribe`, and nothing to any other; returns the outbox row's id, if any. Raises
    `InvalidAddress`, and `TooManyRequests` when the `client` address asked too often (whether or not the address
    typed is subscribed, so that the refusal tells nothing)."""
    address = parse_address(address_text)
    _count_request(session, settings, client, now)
    subscriber = session.scalars(select(Subscriber).where(Subscriber.email_key == address.key)).one_or_none()
    if subscriber is None or subscriber.status not in (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE):
        return None
    return _mail_link(session, settings, subscriber, now)


def find_subscriber(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise UnknownSubscriber(subscriber_id)
    return subscriber


def subscriber_for_link(session: Session, settings: Settings, purpose: LinkPurpose, token: str) -> Subscriber:
    """The subscriber a mailed link was made for; raises `InvalidLink` or `ExpiredLink`."""
    try:
        return find_subscriber(session, LinkSigner(settings).subscriber_id(purpose, token))
    except UnknownSubscriber:
        raise InvalidLink("this link is not valid") from None


def confirm(session: Session, subscriber_id: int, *, user: User | None = None, now: datetime) -> Subscriber:
    """Follow a confirmation link: a pending subscription becomes active; one that is active already stays so, and
    a cancelled or paused one is left as it is (an old link must not undo an unsubscription). A signed-in `user`
    gets the subscription connected to the account."""
    subscriber = find_subscriber(session, subscriber_id)
    if subscriber.status == SubscriberStatus.PENDING:
        subscriber.status = SubscriberStatus.ACTIVE
        subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None
        subscriber.paused_at = None
        subscriber.consecutive_failures = 0
    if user is not None and subscriber.status == SubscriberStatus.ACTIVE:
        _connect(session, subscriber, user)
    return subscriber


def update_preferences(
    session: Session, subscriber_id: int, preferences: Preferences, *, user: User | None = None
) -> Subscriber:
    """Save preferences from a manage link or the account page. A signed-in `user` gets the subscription connected
    to the account; "include my For-you picks" is kept only for a subscription connected to one. The
    categories and keywords of a subscription connected to an account are the account's follows
    (`personal.follows`), edited on its Following page: those in `preferences` are then ignored."""
    subscriber = find_subscriber(session, subscriber_id)
    if subscriber.user_id is None:
        # Kept before connecting, which makes them follows of the account.
        subscriber.categories = list(preferences.categories)
        subscriber.keywords = list(preferences.keywords)
    if user is not None:
        _connect(session, subscriber, user)
    subscriber.frequency = preferences.frequency
    subscriber.similar_to_upvoted = preferences.similar_to_upvoted and subscriber.user_id is not None
    return subscriber


def unsubscribe(session: Session, subscriber_id: int, *, now: datetime) -> Subscriber:
    """Stop every digest to this subscriber; doing it again changes nothing. The row stays, see `Subscriber`."""
    subscriber = find_subscriber(session, subscriber_id)
    if subscriber.status != SubscriberStatus.UNSUBSCRIBED:
        subscriber.status = SubscriberStatus.UNSUBSCRIBED
        subscriber.unsubscribed_at = now
    return subscriber


def subscription_for_user(session: Session, user: User) -> Subscriber | None:
    """The subscription connected to this account, in whatever state."""
    return session.scalars(select(Subscriber).where(Subscriber.user_id == user.id)).one_or_none()


def _subscriber_at(session: Session, address: Address, frequency: str, now: datetime) -> Subscriber:
    """The subscriber of this address, made (pending) if there is none."""
    by_key = select(Subscriber).where(Subscriber.email_key == address.key)
    existing = session.scalars(by_key).one_or_none()
    if existing is not None:
        return existing
    subscriber = Subscriber(
        email=address.email,
        email_key=address.key,
        frequency=frequency,
        categories=[],
        keywords=[],
        similar_to_upvoted=False,
        status=SubscriberStatus.PENDING,
        created_at=now,
        consecutive_failures=0,
    )
    try:
        # In a savepoint: when another request adds the same address at the same moment, its row is used instead.
        with session.begin_nested():
            session.add(subscriber)
    except IntegrityError:
        return session.scalars(by_key).one()
    return subscriber


def _apply(subscriber: Subscriber, preferences: Preferences, *, similar_allowed: bool) -> None:
    subscriber.frequency = preferences.frequency
    subscriber.categories = list(preferences.categories)
    subscriber.keywords = list(preferences.keywords)
    subscriber.similar_to_upvoted = preferences.similar_to_upvoted and similar_allowed


def _connect(session: Session, subscriber: Subscriber, user: User) -> None:
    """Connect the subscription to the account, which leaves any other subscription it had (one per account). Its
    categories and keywords become follows of the account, which are its preferences from then on; its row keeps
    them, should it ever be disconnected."""
    if subscriber.user_id == user.id:
        return
    adopt_digest_preferences(session, user, subscriber.categories, subscriber.keywords)
    session.execute(
        update(Subscriber)
        .where(Subscriber.user_id == user.id)
        .values(user_id=None, similar_to_upvoted=False)
        .execution_options(synchronize_session="fetch")
    )
    subscriber.user_id = user.id


def _count_request(session: Session, settings: Settings, client: str, now: datetime) -> None:
    limit = settings.subscription_requests_per_address_per_hour
    wait = take(session, f"subscription-request:{client}", limit=limit, window=REQUEST_WINDOW, now=now)
    if wait > 0:
        raise TooManyRequests(wait)


def _mail_link(session: Session, settings: Settings, subscriber: Subscriber, now: datetime) -> int | None:
    # Claimed by a conditional update, so that two requests at once cannot both mail the address.
    claimed = session.execute(
        update(Subscriber)
        .where(
            Subscriber.id == subscriber.id,
            or_(Subscriber.link_mailed_at.is_(None), Subscriber.link_mailed_at <= now - LINK_MAIL_INTERVAL),
        )
        .values(link_mailed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    mailbox = f"link-mail:{mailbox_key(subscriber.email_key)}"
    if take(session, mailbox, limit=LINK_MAILS_PER_MAILBOX, window=MAILBOX_WINDOW, now=now) > 0:
        return None
    kind: OutboxKind = "manage" if subscriber.status == SubscriberStatus.ACTIVE else "confirmation"
    # Keyed by the minute it was asked for: the interval above keeps two link mails of one kind apart.
    period_key = now.strftime("%Y-%m-%dT%H:%M")
    if not enqueue(session, [NewMail(subscriber.id, kind, period_key)], mail_from=settings.mail_from, now=now):
        return None
    return session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.subscriber_id == subscriber.id,
            OutboxMessage.kind == kind,
            OutboxMessage.period_key == period_key,
        )
    ).one()
