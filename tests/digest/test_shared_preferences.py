"""One set of preferences per account: a digest subscription connected to an account takes its categories and keywords
from the account's follows (categories, saved searches) and leaves out the papers marked "not interested"; connecting
a subscription makes its own choices follows; its manage pages send the reader to /following; migration 0015 does
the same for subscriptions connected before it. Subscribers without an account keep their own form."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, select

from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Follow, Subscriber, User
from paperboard.db.schema import _alembic_config
from paperboard.digest.compose import compose_digests
from paperboard.digest.periods import digest_period
from paperboard.personal.follows import author_target, category_target, follow, search_target
from paperboard.personal.not_interested import mark
from tests.community.factories import add_paper, add_user, paper_id
from tests.digest.factories import add_subscriber
from tests.digest.test_compose import digests, ids
from tests.web.conftest import csrf_from
from tests.web.test_subscription_pages import link, subscribe, subscriber

DAILY = digest_period("daily", date(2026, 11, 24))
NOW = datetime(2026, 11, 24, 7)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="a secret key for signing the links in these tests")


def follows_of(database: Database, username: str) -> list[tuple[str, str]]:
    with database.read_session() as session:
        return sorted(
            session.execute(
                select(Follow.kind, Follow.label).join(User, User.id == Follow.user_id).where(User.username == username)
            ).all()
        )


def test_an_account_holder_s_digest_reads_their_follows_and_leaves_out_their_marks(
    database: Database, settings: Settings
) -> None:
    for number, title, categories in [
        (1, "Diffusion models for proteins", ["q-bio.BM"]),
        (2, "Diffusion models for text", ["cs.CL"]),
        (3, "Quantum error correction", ["quant-ph"]),
        (4, "Graph neural networks", ["cs.LG"]),
    ]:
        add_paper(
            database,
            f"2611.{number:05d}",
            title=title,
            categories=categories,
            published_at=datetime(2026, 11, 23, 9 + number),
        )
    ann = add_user(database, "ann")
    with database.session() as session:
        follow(session, ann, category_target("quant-ph"))
        follow(session, ann, search_target({"q": "diffusion models"}))
        mark(session, ann, paper_id(database, "2611.00002"))
    # The row's own lists predate the follows: an account holder's are the follows.
    holder = add_subscriber(database, "ann@example.org", user=ann, categories=["cs.LG"], keywords=["graph"])
    # The same preferences without an account: their own, and no one's marks.
    anonymous = add_subscriber(database, "someone@example.org", categories=["quant-ph"], keywords=["diffusion models"])

    compose_digests(database, settings, DAILY, now=NOW)

    composed = digests(database)
    # They did not ask for their For-you picks: the section is their follows' papers (the saved search's, then the
    # category's), without the paper they marked.
    assert composed[holder]["for_you"] == ids(database, "2611.00001", "2611.00003")
    assert composed[anonymous]["for_you"] == ids(database, "2611.00002", "2611.00001", "2611.00003")


def test_connecting_a_subscription_makes_its_choices_follows_and_its_pages_point_to_following(
    sqlite_database: Database, sign_in
) -> None:
    database = sqlite_database
    client = sign_in(database, "gus")
    assert subscribe(client, "gus@example.com", categories="cs.CL, hep-th", keywords="retrieval").status_code == 200
    pending = subscriber(database, "gus@example.com")
    confirm_link = link(client, "confirm", pending.id, "/subscriptions/confirm")
    client.post(confirm_link, data={"csrf_token": csrf_from(client.get(confirm_link).text)})

    assert follows_of(database, "gus") == [("category", "cs.CL"), ("category", "hep-th"), ("search", "retrieval")]
    following = client.get("/following").text
    assert 'id="digest-follows"' in following and "gus@example.com" in following

    # Its manage link and the account page link to /following instead of a second form.
    manage_link = link(client, "manage", pending.id, "/subscriptions/manage")
    for page in (client.get(manage_link).text, client.get("/account").text):
        assert 'name="categories"' not in page and 'name="keywords"' not in page
        assert '<a href="/following">Edit them on your Following page</a>' in page
    token = csrf_from(client.get("/account").text)
    saved = client.post(
        "/account/subscription",
        data={"csrf_token": token, "frequency": "daily", "keywords": "ignored", "similar_to_upvoted": "true"},
    )
    assert saved.status_code == 200
    stored = subscriber(database, "gus@example.com")
    # Nothing destroyed: the row keeps its own lists; the follows are untouched.
    assert (stored.frequency, stored.categories, stored.keywords, stored.similar_to_upvoted) == (
        "daily",
        ["cs.CL", "hep-th"],
        ["retrieval"],
        True,
    )
    assert follows_of(database, "gus") == [("category", "cs.CL"), ("category", "hep-th"), ("search", "retrieval")]


def test_for_you_picks_are_the_section_only_for_those_who_tick_them(
    database: Database, settings: Settings, sign_in
) -> None:
    # Today's papers, in the daily digest that goes out tomorrow (the subscriptions are confirmed now, before it).
    today = utcnow().date()
    period = digest_period("daily", today + timedelta(days=1))
    for arxiv_id, title, author, category in [
        ("2612.00001", "Notes on the analytical engine", "Ada Lovelace", "cs.CL"),
        ("2612.00002", "Quantum error correction", "Alan Turing", "quant-ph"),
    ]:
        add_paper(
            database,
            arxiv_id,
            title=title,
            authors=[author],
            categories=[category],
            published_at=datetime.combine(today, time()),
        )
    subscribers = {}
    for username, ticked in (("ann", True), ("bob", False)):
        client = sign_in(database, username)
        with database.session() as session:
            reader = session.scalars(select(User).where(User.username == username)).one()
            follow(session, reader, author_target(session, "Ada Lovelace"))
            follow(session, reader, category_target("quant-ph"))
        choice = {"similar_to_upvoted": "true"} if ticked else {}
        email = f"{username}@example.org"
        assert subscribe(client, email, frequency="daily", categories="", keywords="", **choice).status_code == 200
        pending = subscriber(database, email)
        confirm_link = link(client, "confirm", pending.id, "/subscriptions/confirm")
        client.post(confirm_link, data={"csrf_token": csrf_from(client.get(confirm_link).text)})
        stored = subscriber(database, email)
        assert (stored.status, stored.user_id is not None, stored.similar_to_upvoted) == ("active", True, ticked)
        box = re.search(
            r'<input type="checkbox" name="similar_to_upvoted"[^>]*> Include my For-you picks',
            client.get("/account").text,
        )
        assert box is not None and (" checked" in box.group(0)) == ticked
        subscribers[username] = (stored.id, client)

    compose_digests(database, settings, period, now=utcnow())

    composed = digests(database)
    # Ann's section is her feed's ranking: the followed author's paper first, then the rest of the day.
    assert composed[subscribers["ann"][0]]["for_you"] == ids(database, "2612.00001", "2612.00002")
    # Bob's is the day's papers of his categories and saved searches: an author followed is not one.
    assert composed[subscribers["bob"][0]]["for_you"] == ids(database, "2612.00002")
    # Unticked on the account page, the choice is kept off.
    ann = subscribers["ann"][1]
    saved = ann.post(
        "/account/subscription", data={"csrf_token": csrf_from(ann.get("/account").text), "frequency": "daily"}
    )
    assert saved.status_code == 200
    assert subscriber(database, "ann@example.org").similar_to_upvoted is False


def test_a_subscriber_without_an_account_keeps_the_form(sqlite_database: Database, client_for) -> None:
    client = client_for(sqlite_database)
    assert subscribe(client, "ivy@example.com").status_code == 200
    pending = subscriber(sqlite_database, "ivy@example.com")
    page = client.get(link(client, "manage", pending.id, "/subscriptions/manage")).text
    assert 'name="categories" value="cs.CL"' in page and 'name="keywords" value="retrieval"' in page
    assert "/following" not in page


def test_migration_0015_makes_connected_subscriptions_choices_follows(database_url: str) -> None:
    database = Database(database_url)
    config = _alembic_config(database)
    command.upgrade(config, "0011")
    created = datetime(2026, 11, 1)
    with database.session() as session:
        session.execute(
            insert(User),
            [
                {
                    "username": name,
                    "username_key": name,
                    "display_name": name,
                    "password_hash": "-",
                    "role": "user",
                    "created_at": created,
                    "password_changed_at": created,
                }
                for name in ("ann", "bob")
            ],
        )
        ann, bob = (session.scalar(select(User.id).where(User.username == name)) for name in ("ann", "bob"))
        # Bob follows cs.CL already: not twice.
        session.add(Follow(user_id=bob, kind="category", target_key="cs.CL", label="cs.CL", created_at=created))
        for email, user_id, categories, keywords in [
            ("ann@example.org", ann, ["cs.CL", "cs"], ["Retrieval", "diffusion models"]),
            ("bob@example.org", bob, ["cs.CL"], []),
            ("nobody@example.org", None, ["hep-th"], ["agents"]),
        ]:
            session.add(
                Subscriber(
                    email=email,
                    email_key=email,
                    user_id=user_id,
                    frequency="daily",
                    categories=categories,
                    keywords=keywords,
                    similar_to_upvoted=False,
                    status="active",
                    created_at=created,
                    consecutive_failures=0,
                )
            )

    command.upgrade(config, "0015")

    with database.read_session() as session:
        rows = session.execute(
            select(User.username, Follow.kind, Follow.label, Follow.query).join(User, User.id == Follow.user_id)
        ).all()
        assert sorted(rows, key=lambda row: (row[0], row[1], row[2])) == [
            ("ann", "category", "cs", None),
            ("ann", "category", "cs.CL", None),
            ("ann", "search", "Retrieval", {"q": "Retrieval"}),
            ("ann", "search", "diffusion models", {"q": "diffusion models"}),
            ("bob", "category", "cs.CL", None),
        ]
        # The subscriptions keep their own lists.
        assert session.scalar(select(Subscriber.keywords).where(Subscriber.email_key == "ann@example.org")) == [
            "Retrieval",
            "diffusion models",
        ]
    database.dispose()
