"""The private address of a reader's feed (`/feeds/for-you/{secret}.atom`): made on the account page and shown once,
read by feedparser, private to its reader, replaced or revoked into a 404; nobody else's feed behind it."""

from __future__ import annotations

import hashlib
import re

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from paperboard.db import Database
from paperboard.db.models import PrivateFeed, User
from tests.personal.readers import BY_ADA, DISMISSED, LISTED, add_feed_papers, follow_author, mark_not_interested
from tests.web.conftest import csrf_from

SITE = "http://127.0.0.1:8000"
FEED_URL = re.compile(r'<code id="private-feed-url">(http://127\.0\.0\.1:8000(/feeds/for-you/[^<]+))</code>')


def make_address(browser: TestClient) -> str:
    """Make a feed address on the account page, as a reader would; its path."""
    response = browser.post("/account/private-feed", data={"csrf_token": csrf_from(browser.get("/account").text)})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    match = FEED_URL.search(response.text)
    assert match, "the answer shows no feed address"
    return match[2]


def revoke_address(browser: TestClient) -> None:
    token = csrf_from(browser.get("/account").text)
    response = browser.post("/account/private-feed/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303


def entries(client: TestClient, path: str) -> list[feedparser.FeedParserDict]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, max-age=300"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "For you · Paperboard"
    return list(feed.entries)


@pytest.fixture
def readers(database: Database, sign_in) -> tuple[Database, TestClient, TestClient]:
    """`add_feed_papers`; ann, signed in, follows Ada Lovelace and dismissed a paper; bob, signed in, did nothing."""
    add_feed_papers(database)
    ann_browser, bob_browser = sign_in(database, "ann"), sign_in(database, "bob")
    with database.read_session() as session:
        ann = session.scalars(select(User).where(User.username == "ann")).one()
    follow_author(database, ann, "Ada Lovelace")
    mark_not_interested(database, ann, DISMISSED)
    return database, ann_browser, bob_browser


def test_a_feed_reader_reads_the_reader_s_feed_at_the_address_shown_once(readers, client_for):
    database, ann_browser, _ = readers
    path = make_address(ann_browser)
    assert path.endswith(".atom")
    # Shown once: the account page afterwards says there is an address, not what it is.
    account = ann_browser.get("/account").text
    assert path not in account and "You have an address" in account
    # A feed reader has no cookie.
    feed_reader = client_for(database, base_url=SITE)
    shown = entries(feed_reader, path)
    assert [entry.link for entry in shown] == [f"{SITE}/papers/{BY_ADA}", f"{SITE}/papers/{LISTED}"]
    assert shown[0].summary.startswith("<p>You follow Ada Lovelace.</p>")
    # Only the secret's digest is stored.
    secret = path.removeprefix("/feeds/for-you/").removesuffix(".atom")
    with database.read_session() as session:
        assert list(session.scalars(select(PrivateFeed.token_hash))) == [hashlib.sha256(secret.encode()).hexdigest()]


def test_each_address_holds_its_own_reader_s_feed(readers, client_for):
    database, ann_browser, bob_browser = readers
    ann_path, bob_path = make_address(ann_browser), make_address(bob_browser)
    assert ann_path != bob_path
    feed_reader = client_for(database, base_url=SITE)
    bobs = entries(feed_reader, bob_path)
    assert f"{SITE}/papers/{DISMISSED}" in [entry.link for entry in bobs]
    assert not any("Ada Lovelace." in entry.summary for entry in bobs)
    assert f"{SITE}/papers/{DISMISSED}" not in [entry.link for entry in entries(feed_reader, ann_path)]


def test_a_revoked_replaced_or_made_up_address_gives_404_and_nothing_of_anyone(readers, client_for):
    database, ann_browser, _ = readers
    feed_reader = client_for(database, base_url=SITE)
    first = make_address(ann_browser)
    second = make_address(ann_browser)
    for path in (first, first.replace(".atom", "x.atom"), "/feeds/for-you/pb_made-up.atom"):
        response = feed_reader.get(path)
        assert response.status_code == 404
        assert "not valid" in response.text and "Ada" not in response.text
    assert entries(feed_reader, second)
    revoke_address(ann_browser)
    assert "The address was revoked" in ann_browser.get("/account?feed_revoked=true").text
    assert feed_reader.get(second).status_code == 404
    with database.read_session() as session:
        assert session.scalars(select(PrivateFeed)).all() == []


def test_only_a_signed_in_reader_makes_or_revokes_an_address(readers, client_for):
    database, *_ = readers
    visitor = client_for(database)
    token = csrf_from(visitor.get("/login").text)
    for path in ("/account/private-feed", "/account/private-feed/revoke"):
        response = visitor.post(path, data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    with database.read_session() as session:
        assert session.scalars(select(PrivateFeed)).all() == []
