"""`GET /api/daily_papers`, `GET /api/papers/{id}` and `GET /api/papers/search` over HTTP: Hugging Face's shapes,
filters, paging and the answers to bad parameters."""

from __future__ import annotations

import time
from datetime import date, datetime

import pytest

from paperboard.community import accounts
from paperboard.community.accounts import suspend
from paperboard.db import Database
from tests.community.factories import add_comment, add_listing, add_paper, add_user, add_votes
from tests.web.conftest import ClientFor

DAY = date(2025, 6, 4)
PAPER_KEYS = {
    "id",
    "authors",
    "publishedAt",
    "title",
    "summary",
    "upvotes",
    "discussionId",
    "githubRepo",
    "githubStars",
    "projectPage",
    "submittedOnDailyAt",
    "submittedOnDailyBy",
    "organization",
    # Hugging Face's own spelling, not camelCase.
    "ai_keywords",
}
ITEM_KEYS = {
    "paper",
    "publishedAt",
    "title",
    "summary",
    "upvotes",
    "githubRepo",
    "githubStars",
    "projectPage",
    "ai_keywords",
    "thumbnail",
    "numComments",
    "submittedBy",
    "organization",
    "isAuthorParticipating",
}
SUBMITTER_KEYS = {"_id", "name", "user", "fullname", "avatarUrl", "isPro", "type"}


@pytest.fixture
def listed(database: Database) -> Database:
    """Three papers on 4 June 2025 (one hidden by a moderator), one on 5 June, one on no list."""
    ann, bea = add_user(database, "ann"), add_user(database, "Bea")
    moderator = add_user(database, "mod", role="moderator")
    for number in range(1, 6):
        add_paper(
            database,
            f"2506.0000{number}",
            title=f"Title {number}",
            abstract=f"Abstract {number}.",
            authors=[f"Author {number}A", f"Author {number}B"],
            published_at=datetime(2025, 6, 1, number),
            code_url="https://github.com/o/r" if number == 1 else None,
            project_url="https://example.org/p" if number == 1 else None,
        )
    add_listing(
        database,
        "2506.00001",
        DAY,
        submitted_at=datetime(2025, 6, 4, 8),
        submitter=ann,
        upvotes=3,
        comments=1,
        github_stars=7,
    )
    add_listing(database, "2506.00002", DAY, submitted_at=datetime(2025, 6, 4, 9), imported_submitter="hfuser")
    add_listing(database, "2506.00003", DAY, submitted_at=datetime(2025, 6, 4, 10), submitter=bea, hidden_by=moderator)
    add_listing(database, "2506.00004", date(2025, 6, 5), submitted_at=datetime(2025, 6, 5, 8), submitter=bea)
    add_votes(database, "2506.00002", ann, bea, moderator, cast_at=datetime(2025, 6, 20, 12))
    add_comment(database, "2506.00001", bea, written_at=datetime(2025, 6, 4, 13))
    return database


def test_a_day_lists_its_visible_papers_in_hugging_faces_shape(listed, client_for: ClientFor):
    response = client_for(listed).get("/api/daily_papers", params={"date": "2025-06-04"})

    assert response.status_code == 200
    items = response.json()
    assert [item["paper"]["id"] for item in items] == ["2506.00002", "2506.00001"]
    for item in items:
        assert set(item) == ITEM_KEYS
        assert set(item["paper"]) == PAPER_KEYS
        assert set(item["submittedBy"]) == SUBMITTER_KEYS
        assert item["thumbnail"] is None and item["isAuthorParticipating"] is False
    first = items[1]
    assert first["paper"]["authors"][0]["name"] == "Author 1A"
    assert set(first["paper"]["authors"][0]) == {"_id", "name", "hidden"}
    assert first["paper"]["upvotes"] == 3
    assert first["numComments"] == 2  # one imported, one written here
    assert first["paper"]["githubRepo"] == "https://github.com/o/r"
    assert first["paper"]["githubStars"] == 7
    assert first["paper"]["projectPage"] == "https://example.org/p"
    assert first["paper"]["publishedAt"] == "2025-06-01T01:00:00Z"
    assert first["publishedAt"] == first["paper"]["submittedOnDailyAt"] == "2025-06-04T08:00:00Z"
    assert first["submittedBy"]["name"] == "ann"
    assert first["submittedBy"]["avatarUrl"].endswith("/static/avatar.svg")
    assert items[0]["paper"]["upvotes"] == 3  # three local votes
    assert items[0]["submittedBy"]["name"] == "hfuser"


def test_ids_are_stable_between_requests(listed, client_for: ClientFor):
    client = client_for(listed)

    first, second = (client.get("/api/daily_papers").json() for _ in range(2))

    assert first == second
    ids = [item["submittedBy"]["_id"] for item in first] + [item["paper"]["discussionId"] for item in first]
    assert all(len(value) == 24 for value in ids)


def test_sorts_filters_and_pages(listed, client_for: ClientFor):
    client = client_for(listed)

    def ids(**params: object) -> list[str]:
        response = client.get("/api/daily_papers", params=params)
        assert response.status_code == 200, response.text
        return [item["paper"]["id"] for item in response.json()]

    assert ids() == ["2506.00004", "2506.00002", "2506.00001"]
    assert ids(week="2025-W23", sort="upvotes") == ["2506.00001", "2506.00002", "2506.00004"]
    # As June ended, the three votes of 20 June outweigh the imported counts of 4 June.
    assert ids(month="2025-06", sort="trending") == ["2506.00002", "2506.00001", "2506.00004"]
    # Nothing was listed lately: the ranking as the latest listed day (5 June) closed, before those votes.
    assert ids(sort="trending") == ["2506.00001", "2506.00002", "2506.00004"]
    assert ids(submitter="bea") == ["2506.00004"]
    assert ids(submitter="nobody") == []
    assert ids(limit=1, p=1) == ["2506.00002"]
    assert ids(limit=2, p=5) == []
    assert ids(date="2025-06-06") == []


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"date": "2025-6-4"}, "not a day"),
        ({"date": "2025-02-30"}, "2025-02-30"),
        ({"week": "2025-W54"}, "no week"),
        ({"month": "2025-13"}, "2025-13"),
        ({"date": "2025-06-04", "week": "2025-W23"}, "one period at a time"),
        ({"sort": "random"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"p": "-1"}, "p"),
        ({"p": "99999999999999999999999"}, "p"),
    ],
)
def test_bad_parameters_are_400_with_a_message(sqlite_database, client_for: ClientFor, params, problem):
    response = client_for(sqlite_database).get("/api/daily_papers", params=params)

    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert problem in response.json()["error"]


def test_paper_info_is_flat_with_its_comment_count(listed, client_for: ClientFor):
    client = client_for(listed)

    listed_paper = client.get("/api/papers/2506.00001").json()
    unlisted = client.get("/api/papers/arXiv:2506.00005v2").json()

    assert set(listed_paper) == PAPER_KEYS | {"numComments"}
    assert listed_paper["numComments"] == 2
    assert listed_paper["submittedOnDailyBy"]["name"] == "ann"
    assert unlisted["id"] == "2506.00005"
    assert unlisted["submittedOnDailyAt"] is None and unlisted["submittedOnDailyBy"] is None
    assert unlisted["upvotes"] == 0


@pytest.mark.parametrize("arxiv_id", ["2506.09999", "not-an-id", "hep-th/99"])
def test_an_unknown_paper_is_a_json_404(listed, client_for: ClientFor, arxiv_id):
    response = client_for(listed).get(f"/api/papers/{arxiv_id}")

    assert response.status_code == 404
    assert "error" in response.json()


def test_a_hidden_listing_is_still_a_paper_but_on_no_list(listed, client_for: ClientFor):
    paper = client_for(listed).get("/api/papers/2506.00003").json()

    assert paper["submittedOnDailyAt"] is None


def test_search_returns_items_of_the_daily_shape(listed, client_for: ClientFor):
    client = client_for(listed)

    found = client.get("/api/papers/search", params={"q": "title 4"}).json()
    limited = client.get("/api/papers/search", params={"q": "abstract", "limit": 2}).json()
    nothing = client.get("/api/papers/search", params={"q": "zebra"}).json()

    # Every paper's title says "Title"; the one that also says "4" comes first.
    assert found[0]["paper"]["id"] == "2506.00004"
    assert {item["paper"]["id"] for item in found} == {f"2506.0000{number}" for number in range(1, 6)}
    assert set(found[0]) == ITEM_KEYS
    assert found[0]["submittedBy"]["name"] == "Bea"
    assert len(limited) == 2
    assert nothing == []


@pytest.mark.parametrize(
    ("params", "problem"),
    # A missing `q` is no error: it asks for the daily papers (test_huggingface_hub.py).
    [({"q": "x" * 251}, "q"), ({"q": "x", "limit": "121"}, "limit"), ({"q": "x", "limit": "0"}, "limit")],
)
def test_bad_search_parameters_are_400(sqlite_database, client_for: ClientFor, params, problem):
    response = client_for(sqlite_database).get("/api/papers/search", params=params)

    assert response.status_code == 400
    assert problem in response.json()["error"]


def test_a_suspended_submitters_listing_still_shows(listed, client_for: ClientFor):
    with listed.session() as session:
        suspend(accounts.user_by_name(session, "Bea"))

    items = client_for(listed).get("/api/daily_papers", params={"date": "2025-06-05"}).json()

    assert [item["submittedBy"]["name"] for item in items] == ["Bea"]


def test_api_reads_are_served_from_the_page_cache(listed, client_for: ClientFor):
    client = client_for(listed, page_cache_seconds=60)
    before = client.get("/api/daily_papers").json()
    add_paper(listed, "2506.00009", title="Late", published_at=datetime(2025, 6, 5, 9))
    add_listing(listed, "2506.00009", date(2025, 6, 5), submitted_at=datetime(2025, 6, 5, 9))

    if listed.backend == "postgresql":
        # Writes are announced to every process there (db.changes): the next read is made afresh.
        deadline = time.monotonic() + 2
        while client.get("/api/daily_papers").json() == before:
            assert time.monotonic() < deadline, "the announced write never emptied the cache"
            time.sleep(0.02)
        return
    assert client.get("/api/daily_papers").json() == before
    assert client.get("/api/daily_papers", params={"limit": 10}).json()[0]["paper"]["id"] == "2506.00009"
