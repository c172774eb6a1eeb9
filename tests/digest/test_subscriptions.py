"""The subscription service: double opt-in, the limit on link mails, preferences, connecting an account, and the
same visible outcome for every state an address can be in."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from paperboard.catalog.taxonomy import ARXIV_CATEGORIES
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Follow, OutboxMessage, Subscriber
from paperboard.digest.addresses import InvalidAddress
from paperboard.digest.statuses import SubscriberStatus
from paperboard.digest.subscriptions import (
    LINK_MAIL_INTERVAL,
    MAX_CATEGORIES,
    MAX_KEYWORDS,
    InvalidPreferences,
    Preferences,
    UnknownSubscriber,
    confirm,
    parse_preferences,
    request_manage_link,
    subscribe,
    subscription_for_user,
    unsubscribe,
    update_preferences,
)
from tests.community.factories import add_user

NOW = datetime(2026, 11, 30, 9, 15)
WEEKLY_CL = Preferences("weekly", ("cs.CL",), ("retrieval",))
# The client address the requests come from (documentation range, RFC 5737).
CLIENT = "192.0.2.1"
MATH_CATEGORIES = [name for name in ARXIV_CATEGORIES.values() if name.startswith("math.")]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, mail_from="Paperboard <digest@papers.example>")


def subscribe_at(
    database: Database, settings: Settings, address: str, preferences: Preferences = WEEKLY_CL, **options
) -> int | None:
    with database.session() as session:
        when, client = options.pop("now", NOW), options.pop("client", CLIENT)
        return subscribe(session, settings, address, preferences, client=client, now=when, **options)


def the_subscriber(database: Database, key: str) -> Subscriber:
    with database.read_session() as session:
        return session.scalars(select(Subscriber).where(Subscriber.email_key == key)).one()


def mails(database: Database) -> list[tuple[str, str, str]]:
    """Every outbox row as (address, kind, period key), oldest first."""
    with database.read_session() as session:
        rows = session.execute(
            select(Subscriber.email, OutboxMessage.kind, OutboxMessage.period_key)
            .join(Subscriber, Subscriber.id == OutboxMessage.subscriber_id)
            .order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in rows]


def set_status(database: Database, key: str, status: str) -> None:
    with database.session() as session:
        subscriber = session.scalars(select(Subscriber).where(Subscriber.email_key == key)).one()
        subscriber.status = status


# Preferences


def test_preferences_are_read_as_people_type_them():
    preferences = parse_preferences(
        "weekly", "CS.cl, cs.LG  hep-th,cs.cl", "Diffusion  models, retrieval\nRetrieval,, ", similar_to_upvoted=True
    )
    assert preferences == Preferences("weekly", ("cs.CL", "cs.LG", "hep-th"), ("Diffusion models", "retrieval"), True)
    assert parse_preferences("daily") == Preferences("daily")
    assert parse_preferences("daily", ["math", "q-bio.NC"], ["graphs"]).categories == ("math", "q-bio.NC")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("monthly",), "choose daily or weekly"),
        (("daily", "cs.XX"), "'cs.XX' is not an arXiv category or archive"),
        (("daily", "<script>"), "'<script>' is not an arXiv category"),
        (
            ("daily", " ".join(MATH_CATEGORIES[: MAX_CATEGORIES + 1])),
            f"at most {MAX_CATEGORIES} categories",
        ),
        (("daily", "", "x" * 101), "a keyword has at most 100 characters"),
        (("daily", "", "!!!"), "has no letter or digit"),
        (("daily", "", ",".join(f"word{n}" for n in range(MAX_KEYWORDS + 1))), f"at most {MAX_KEYWORDS} keywords"),
    ],
)
def test_preferences_that_cannot_be_kept_are_refused_with_a_reason(arguments, message):
    with pytest.raises(InvalidPreferences, match=message):
        parse_preferences(*arguments)


def test_twenty_categories_and_keywords_of_a_hundred_characters_are_kept():
    categories = MATH_CATEGORIES[:MAX_CATEGORIES]
    keywords = ["k" * 100, *[f"word{n}" for n in range(MAX_KEYWORDS - 1)]]
    preferences = parse_preferences("daily", categories, keywords)
    assert len(preferences.categories) == MAX_CATEGORIES and len(preferences.keywords) == MAX_KEYWORDS


# Subscribing


def test_a_new_address_is_pending_and_mailed_only_a_confirmation_link(sqlite_database, settings):
    outbox_id = subscribe_at(sqlite_database, settings, "  Ada@Example.COM ")

    subscriber = the_subscriber(sqlite_database, "ada@example.com")
    assert (subscriber.email, subscriber.status, subscriber.confirmed_at) == (
        "Ada@example.com",
        SubscriberStatus.PENDING,
        None,
    )
    assert (subscriber.frequency, subscriber.categories, subscriber.keywords) == ("weekly", ["cs.CL"], ["retrieval"])
    assert subscriber.link_mailed_at == NOW and subscriber.user_id is None
    assert mails(sqlite_database) == [("Ada@example.com", "confirmation", "2026-11-30T09:15")]
    with sqlite_database.read_session() as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None and row.status == "pending" and row.contents is None
        assert row.message_id.endswith("@papers.example>")


@pytest.mark.parametrize("text", ["", "not an address", "two@@example.com", "a@b", "x" * 250 + "@example.com"])
def test_a_malformed_or_over_long_address_is_refused_and_nothing_is_stored(sqlite_database, settings, text):
    with pytest.raises(InvalidAddress):
        subscribe_at(sqlite_database, settings, text)
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_repeated_subscriptions_make_one_subscriber_and_at_most_one_mail_in_ten_minutes(sqlite_database, settings):
    first = subscribe_at(sqlite_database, settings, "bob@example.com")
    again = subscribe_at(
        sqlite_database, settings, "BOB@example.com", Preferences("daily"), now=NOW + timedelta(minutes=9)
    )
    assert first is not None and again is None
    # While it is pending, the latest preferences are the ones a confirmation will confirm.
    subscriber = the_subscriber(sqlite_database, "bob@example.com")
    assert (subscriber.frequency, subscriber.categories, subscriber.email) == ("daily", [], "BOB@example.com")

    later = subscribe_at(sqlite_database, settings, "bob@example.com", now=NOW + LINK_MAIL_INTERVAL)
    assert later is not None and later != first
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 1
    assert [kind for _, kind, _ in mails(sqlite_database)] == ["confirmation", "confirmation"]


def test_a_confirmed_address_keeps_its_preferences_and_is_mailed_a_manage_link(sqlite_database, settings):
    subscribe_at(sqlite_database, settings, "carol@example.com")
    with sqlite_database.session() as session:
        confirm(session, the_subscriber(sqlite_database, "carol@example.com").id, now=NOW)

    outbox_id = subscribe_at(
        sqlite_database, settings, "carol@example.com", Preferences("daily"), now=NOW + timedelta(hours=1)
    )

    subscriber = the_subscriber(sqlite_database, "carol@example.com")
    assert outbox_id is not None
    assert (subscriber.status, subscriber.frequency, subscriber.categories) == (
        SubscriberStatus.ACTIVE,
        "weekly",
        ["cs.CL"],
    )
    assert [kind for _, kind, _ in mails(sqlite_database)] == ["confirmation", "manage"]


@pytest.mark.parametrize("status", [SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.PAUSED])
def test_an_unsubscribed_or_paused_address_goes_back_to_pending_with_a_confirmation(sqlite_database, settings, status):
    subscribe_at(sqlite_database, settings, "dan@example.com")
    set_status(sqlite_database, "dan@example.com", status)

    subscribe_at(sqlite_database, settings, "dan@example.com", Preferences("daily"), now=NOW + timedelta(days=1))

    subscriber = the_subscriber(sqlite_database, "dan@example.com")
    assert (subscriber.status, subscriber.frequency) == (SubscriberStatus.PENDING, "daily")
    assert [kind for _, kind, _ in mails(sqlite_database)] == ["confirmation", "confirmation"]


def test_every_state_of_an_address_looks_the_same_from_outside(sqlite_database, settings):
    """One mail per address and a truthy outbox id, whether it was new, pending, active, paused or unsubscribed."""
    for address, status in (
        ("p@example.com", SubscriberStatus.PENDING),
        ("a@example.com", SubscriberStatus.ACTIVE),
        ("u@example.com", SubscriberStatus.UNSUBSCRIBED),
        ("z@example.com", SubscriberStatus.PAUSED),
    ):
        subscribe_at(sqlite_database, settings, address, now=NOW - timedelta(days=1))
        set_status(sqlite_database, address, status)
    before = len(mails(sqlite_database))
    outcomes = [
        subscribe_at(sqlite_database, settings, address)
        for address in ("new@example.com", "p@example.com", "a@example.com", "u@example.com", "z@example.com")
    ]
    assert all(isinstance(outcome, int) for outcome in outcomes)
    assert len(mails(sqlite_database)) == before + 5


def test_upvote_matching_is_kept_only_when_asked_by_a_signed_in_user(sqlite_database, settings):
    ada = add_user(sqlite_database, "ada")
    asked = Preferences("daily", similar_to_upvoted=True)
    subscribe_at(sqlite_database, settings, "anonymous@example.com", asked)
    subscribe_at(sqlite_database, settings, "ada@example.com", asked, user=ada)
    assert the_subscriber(sqlite_database, "anonymous@example.com").similar_to_upvoted is False
    signed_in = the_subscriber(sqlite_database, "ada@example.com")
    # Typing an address while signed in does not connect it to the account: only a link mailed to it can.
    assert signed_in.similar_to_upvoted is True and signed_in.user_id is None


# Confirming, managing, unsubscribing


def test_confirming_activates_once_and_never_undoes_an_unsubscription(sqlite_database, settings):
    subscribe_at(sqlite_database, settings, "erin@example.com")
    subscriber_id = the_subscriber(sqlite_database, "erin@example.com").id
    with sqlite_database.session() as session:
        assert confirm(session, subscriber_id, now=NOW + timedelta(minutes=5)).status == SubscriberStatus.ACTIVE
    with sqlite_database.session() as session:
        # A second click changes nothing, not even the time of confirmation.
        assert confirm(session, subscriber_id, now=NOW + timedelta(hours=5)).confirmed_at == NOW + timedelta(minutes=5)
        unsubscribe(session, subscriber_id, now=NOW + timedelta(hours=6))
    with sqlite_database.session() as session:
        assert confirm(session, subscriber_id, now=NOW + timedelta(hours=7)).status == SubscriberStatus.UNSUBSCRIBED


def test_unsubscribing_twice_keeps_the_first_time(sqlite_database, settings):
    subscribe_at(sqlite_database, settings, "fay@example.com")
    subscriber_id = the_subscriber(sqlite_database, "fay@example.com").id
    for hours in (1, 2):
        with sqlite_database.session() as session:
            unsubscribe(session, subscriber_id, now=NOW + timedelta(hours=hours))
    subscriber = the_subscriber(sqlite_database, "fay@example.com")
    assert (subscriber.status, subscriber.unsubscribed_at) == (SubscriberStatus.UNSUBSCRIBED, NOW + timedelta(hours=1))


def test_a_removed_subscriber_is_unknown(sqlite_database):
    with sqlite_database.session() as session, pytest.raises(UnknownSubscriber):
        confirm(session, 404, now=NOW)


def test_a_signed_in_user_who_follows_a_link_connects_the_subscription(sqlite_database, settings):
    ada = add_user(sqlite_database, "ada")
    for address in ("first@example.com", "second@example.com"):
        subscribe_at(sqlite_database, settings, address, Preferences("daily", similar_to_upvoted=True), user=ada)
    first = the_subscriber(sqlite_database, "first@example.com").id
    second = the_subscriber(sqlite_database, "second@example.com").id

    with sqlite_database.session() as session:
        confirm(session, first, user=ada, now=NOW)
        assert subscription_for_user(session, ada).id == first
    with sqlite_database.session() as session:
        confirm(session, second, now=NOW)
        # Saving from the manage page while signed in moves the account's one subscription to this address.
        update_preferences(session, second, Preferences("weekly", similar_to_upvoted=True), user=ada)
    with sqlite_database.read_session() as session:
        assert subscription_for_user(session, ada).id == second
    moved_from = the_subscriber(sqlite_database, "first@example.com")
    assert (moved_from.user_id, moved_from.similar_to_upvoted) == (None, False)
    assert the_subscriber(sqlite_database, "second@example.com").similar_to_upvoted is True


def test_upvote_matching_needs_a_connected_account_when_preferences_are_saved(sqlite_database, settings):
    subscribe_at(sqlite_database, settings, "gus@example.com")
    subscriber_id = the_subscriber(sqlite_database, "gus@example.com").id
    with sqlite_database.session() as session:
        saved = update_preferences(session, subscriber_id, Preferences("daily", ("cs",), (), True))
        assert (saved.frequency, saved.categories, saved.similar_to_upvoted) == ("daily", ["cs"], False)


# Fresh links


def test_a_fresh_link_is_mailed_only_to_a_subscribed_address(sqlite_database, settings):
    subscribe_at(sqlite_database, settings, "pending@example.com", now=NOW - timedelta(hours=1))
    subscribe_at(sqlite_database, settings, "active@example.com", now=NOW - timedelta(hours=1))
    subscribe_at(sqlite_database, settings, "gone@example.com", now=NOW - timedelta(hours=1))
    with sqlite_database.session() as session:
        confirm(session, the_subscriber(sqlite_database, "active@example.com").id, now=NOW)
        unsubscribe(session, the_subscriber(sqlite_database, "gone@example.com").id, now=NOW)
    before = mails(sqlite_database)

    with sqlite_database.session() as session:
        outcomes = {
            address: request_manage_link(session, settings, address, client=CLIENT, now=NOW)
            for address in ("pending@example.com", "active@example.com", "gone@example.com", "nobody@example.com")
        }
        # The limit is the one subscribing has: no second mail within ten minutes.
        assert (
            request_manage_link(session, settings, "active@example.com", client=CLIENT, now=NOW + timedelta(minutes=1))
            is None
        )

    assert outcomes["gone@example.com"] is None and outcomes["nobody@example.com"] is None
    assert mails(sqlite_database)[len(before) :] == [
        ("pending@example.com", "confirmation", "2026-11-30T09:15"),
        ("active@example.com", "manage", "2026-11-30T09:15"),
    ]
    with sqlite_database.session() as session, pytest.raises(InvalidAddress):
        request_manage_link(session, settings, "no address", client=CLIENT, now=NOW)


# Both backends


def test_the_double_opt_in_on_each_backend(database, settings):
    ada = add_user(database, "ada")
    outbox_id = subscribe_at(database, settings, "Hal@Example.com", parse_preferences("daily", "cs.CL", "agents"))
    subscriber_id = the_subscriber(database, "hal@example.com").id
    with database.session() as session:
        confirm(session, subscriber_id, user=ada, now=NOW + timedelta(minutes=2))
        update_preferences(session, subscriber_id, parse_preferences("weekly", "cs", "", similar_to_upvoted=True))
    subscriber = the_subscriber(database, "hal@example.com")
    assert outbox_id is not None and subscriber.status == SubscriberStatus.ACTIVE and subscriber.user_id == ada.id
    # Connected to an account, its categories and keywords are the account's follows (made from its own when it was
    # connected: tests/digest/test_shared_preferences.py); the row keeps its own, and saving changes the rest.
    assert (subscriber.frequency, subscriber.categories, subscriber.keywords) == ("weekly", ["cs.CL"], ["agents"])
    with database.read_session() as session:
        assert sorted(session.execute(select(Follow.kind, Follow.label).where(Follow.user_id == ada.id)).all()) == [
            ("category", "cs.CL"),
            ("search", "agents"),
        ]
    assert subscriber.similar_to_upvoted is True
    assert subscribe_at(database, settings, "hal@example.com", now=NOW + timedelta(minutes=3)) is None
    assert mails(database) == [("Hal@example.com", "confirmation", "2026-11-30T09:15")]


def test_two_subscriptions_of_one_address_at_once_make_one_subscriber_and_one_mail(database, settings):
    """The second request waits for the first's transaction, then finds its row and its mail instead of failing."""
    results: list[int | None] = []
    with database.session() as first:
        results.append(subscribe(first, settings, "ivy@example.com", WEEKLY_CL, client=CLIENT, now=NOW))
        second = threading.Thread(target=lambda: results.append(subscribe_at(database, settings, "IVY@example.com")))
        second.start()
        # Long enough for the second request to reach the first's uncommitted row and wait on it.
        time.sleep(0.5)
    second.join(timeout=30)

    assert results[0] is not None and results[1] is None
    with database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 1
    assert len(mails(database)) == 1
