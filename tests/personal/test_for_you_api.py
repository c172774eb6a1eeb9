"""`GET /api/for_you` over HTTP: the caller's papers first published in a period (listed or not; never withdrawn,
hidden by a moderator or marked not interested), ranked for them with a reason, in the daily-papers shape; tokens
or a signed-in browser; nobody else's feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from paperboard.community.api_tokens import create_token
from paperboard.community.listings import hide_listing, unhide_listing
from paperboard.db import Database
from paperboard.db.models import ReaderModel, User
from tests.community.factories import add_user
from tests.personal.readers import (
    BY_ADA,
    DISMISSED,
    HIDDEN,
    LISTED,
    add_feed_papers,
    follow_author,
    mark_not_interested,
    withdraw,
)
from tests.web.conftest import ClientFor

DAILY_ITEM_KEYS = {
    "paper",
    "publishedAt",
    "title",
    "summary",
    "upvotes",
    "githubRepo",
    "githubStars",
    "projectPage",
    "thumbnail",
    "ai_keywords",
    "numComments",
    "submittedBy",
    "organization",
    "isAuthorParticipating",
}


def token_for(database: Database, user: User) -> dict[str, str]:
    with database.session() as session:
        return {"Authorization": f"Bearer {create_token(session, user, 'feed reader').plaintext}"}


@dataclass
class Site:
    database: Database
    client: TestClient
    ann: User
    bob: User
    as_ann: dict[str, str]
    as_bob: dict[str, str]

    def feed(self, headers: dict[str, str], **params: object) -> list[dict[str, object]]:
        response = self.client.get("/api/for_you", params=params, headers=headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, object]] = response.json()
        return items


def ids(items: list[dict[str, object]]) -> list[str]:
    return [item["paper"]["id"] for item in items]  # type: ignore[index]


@pytest.fixture
def site(database: Database, client_for: ClientFor) -> Site:
    """`add_feed_papers`; ann follows Ada Lovelace and marked one paper not interested; bob did nothing."""
    add_feed_papers(database)
    ann, bob = add_user(database, "ann"), add_user(database, "bob")
    follow_author(database, ann, "Ada Lovelace")
    mark_not_interested(database, ann, DISMISSED)
    return Site(database, client_for(database), ann, bob, token_for(database, ann), token_for(database, bob))


def test_the_feed_holds_the_week_s_papers_listed_or_not_ranked_for_the_caller_with_reasons(site: Site):
    items = site.feed(site.as_ann)
    # Neither hidden by a moderator, withdrawn, marked not interested, nor older than a week.
    assert sorted(ids(items)) == [BY_ADA, LISTED]
    assert ids(items)[0] == BY_ADA
    assert items[0]["reason"] == "You follow Ada Lovelace"
    assert all(isinstance(item["reason"], str) and item["reason"] for item in items)


def test_items_are_daily_papers_items_with_a_reason(site: Site):
    items = {item["paper"]["id"]: item for item in site.feed(site.as_ann)}  # type: ignore[index]
    daily = site.client.get("/api/daily_papers").json()
    [listed] = [item for item in daily if item["paper"]["id"] == LISTED]
    assert set(items[LISTED]) == DAILY_ITEM_KEYS | {"reason"}
    assert {key: value for key, value in items[LISTED].items() if key != "reason"} == listed
    # A paper on no list: its own publication date, no submitter, like /api/papers/{id} describes it.
    unlisted = items[BY_ADA]
    assert unlisted["submittedBy"] is None
    assert unlisted["publishedAt"] == unlisted["paper"]["publishedAt"]  # type: ignore[index]
    paper = site.client.get(f"/api/papers/{BY_ADA}").json()
    assert unlisted["paper"] == {key: value for key, value in paper.items() if key != "numComments"}


def test_periods_and_pages_as_daily_papers_takes_them(site: Site):
    assert ids(site.feed(site.as_ann, month="2025-06")) == ["2506.00001", "2506.00002"]
    assert ids(site.feed(site.as_ann, date="2025-06-30")) == ["2506.00002"]
    # ISO week 27 of 2025 runs from Monday 30 June.
    assert ids(site.feed(site.as_ann, week="2025-W27")) == ["2507.00001", "2506.00002"]
    pages = [ids(site.feed(site.as_ann, month="2025-06", limit=1, p=page)) for page in range(3)]
    assert pages == [["2506.00001"], ["2506.00002"], []]
    for params, message in [
        ({"month": "2025-13"}, "There is no month 2025-13"),
        ({"week": "2025-W01", "month": "2025-06"}, "Ask for one period at a time"),
        ({"limit": 0}, "limit"),
    ]:
        response = site.client.get("/api/for_you", params=params, headers=site.as_ann)
        assert response.status_code == 400
        assert message in response.json()["error"]


def test_without_a_valid_token_or_session_the_feed_is_refused(site: Site):
    for headers in ({}, {"Authorization": "Bearer pb_made-up"}):
        response = site.client.get("/api/for_you", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "paper" not in response.text


def test_a_signed_in_browser_reads_its_own_feed(site: Site, sign_in):
    browser = sign_in(site.database, "carol")
    assert browser.get("/api/for_you").status_code == 200
    # A token wins over the cookie: the answer is the token owner's feed.
    assert site.feed(site.as_ann) == browser.get("/api/for_you", headers=site.as_ann).json()


def test_another_account_gets_its_own_feed_not_the_caller_s(site: Site):
    bobs = site.feed(site.as_bob)
    # Bob follows nobody and dismissed nothing: ann's reasons and marks are not his.
    assert DISMISSED in ids(bobs)
    assert all("Ada Lovelace" not in str(item["reason"]) for item in bobs)


def test_rankings_kept_between_requests_are_each_reader_s_own_and_follow_what_they_do(site: Site):
    anns = site.feed(site.as_ann)
    bobs = site.feed(site.as_bob)
    # Asked right after ann's, bob's feed is ranked for him, not taken from what was kept for her.
    assert DISMISSED in ids(bobs)
    assert all("Ada Lovelace" not in str(item["reason"]) for item in bobs)
    assert site.feed(site.as_ann) == anns
    assert site.feed(site.as_bob) == bobs
    # Bob acts: his next request is ranked again; ann's kept ranking is still hers.
    follow_author(site.database, site.bob, "Grace Hopper")
    followed = site.feed(site.as_bob)
    assert ids(followed)[:2] == [LISTED, DISMISSED]
    assert {item["reason"] for item in followed[:2]} == {"You follow Grace Hopper"}
    assert site.feed(site.as_ann) == anns
    # Pages of a kept ranking are its slices.
    pages = [ids(site.feed(site.as_bob, limit=1, p=page)) for page in range(3)]
    assert pages == [[paper] for paper in ids(followed)]
    # Even two readers whose models were trained at the same instant get their own.
    with site.database.session() as session:
        session.execute(
            update(ReaderModel).values(signals_changed_at=datetime(2026, 1, 1), trained_at=datetime(2026, 1, 1))
        )
    assert site.feed(site.as_ann) == anns
    assert site.feed(site.as_bob) == followed


def test_a_paper_withdrawn_hidden_or_shown_again_after_a_request_changes_the_next_one(site: Site):
    assert sorted(ids(site.feed(site.as_bob))) == [BY_ADA, LISTED, DISMISSED]
    withdraw(site.database, BY_ADA)
    with site.database.session() as session:
        moderator = session.scalars(select(User).where(User.username == "moderator")).one()
        hide_listing(session, moderator, LISTED)
        unhide_listing(session, moderator, HIDDEN)
    assert sorted(ids(site.feed(site.as_bob))) == [HIDDEN, DISMISSED]
