"""What the listing API keeps between requests (each paper's built JSON, the trending order) never shows an old
version: a paper changed, upvoted or hidden by another process (another worker or host writing the same database)
shows on the next answer, and the memo holds no more papers than its bound."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from paperboard.clock import utcnow
from paperboard.community.listings import hide_listing
from paperboard.community.paper_details import PaperVersions
from paperboard.db import Database
from tests.community.factories import add_comment, add_listing, add_paper, add_user, add_votes
from tests.web.api.test_answers_unchanged import fill
from tests.web.api.test_write_api import bearer, token_for
from tests.web.conftest import ClientFor

LATEST, TRENDING, PAPER = "/api/daily_papers", "/api/daily_papers?sort=trending", "/api/papers/2506.00001"


@pytest.fixture
def filled(database: Database) -> Database:
    fill(database)
    return database


def _papers(answer: list[dict]) -> dict[str, dict]:
    return {item["paper"]["id"]: item for item in answer}


def test_a_paper_changed_by_another_process_shows_on_the_next_answer(filled: Database, client_for: ClientFor):
    # The trending order is kept for a minute here: what is shown must be current all the same.
    client = client_for(filled, trending_scores_seconds=60)
    before = {address: client.get(address).json() for address in (LATEST, TRENDING, PAPER)}
    assert "2506.00004" in _papers(before[LATEST]) and "2506.00004" in _papers(before[TRENDING])

    # Written straight to the database, as another worker or host would, without this process hearing of it.
    add_paper(
        filled,
        "2506.00001",
        title="A new title",
        abstract="A new abstract.",
        authors=["Only One"],
        published_at=datetime(2025, 6, 1, 1, 2, 3, 456789),
    )
    add_votes(filled, "2506.00002", add_user(filled, "dee"))
    with filled.session() as session:
        hide_listing(session, add_user(filled, "mod2", role="moderator"), "2506.00004")

    after = {address: client.get(address).json() for address in (LATEST, TRENDING, PAPER)}
    for answer in (after[LATEST], after[TRENDING]):
        papers = _papers(answer)
        assert "2506.00004" not in papers
        changed = papers["2506.00001"]
        assert changed["title"] == changed["paper"]["title"] == "A new title"
        assert changed["summary"] == "A new abstract."
        assert [author["name"] for author in changed["paper"]["authors"]] == ["Only One"]
        assert papers["2506.00002"]["upvotes"] == _papers(before[LATEST])["2506.00002"]["upvotes"] + 1
    assert after[PAPER]["title"] == "A new title" and after[PAPER]["authors"][0]["name"] == "Only One"
    # The trending answer still fills its page from the rest of the ranking.
    assert len(after[TRENDING]) == len(before[TRENDING]) - 1


def test_counts_changed_without_the_paper_row_show_on_the_next_answer(filled: Database, client_for: ClientFor):
    # Votes and comments leave the paper's row (and its `changed_at`) as it is: each process keeps the row's
    # columns by that version, and must still count afresh for every answer.
    client = client_for(filled)
    before = _papers(client.get(LATEST).json())["2506.00004"]
    assert (before["upvotes"], before["numComments"]) == (6, 0)
    reader = add_user(filled, "reader")
    for number in range(1, 4):
        add_comment(filled, "2506.00004", reader, written_at=datetime(2025, 6, 6, number))
    add_votes(filled, "2506.00004", reader)

    after = _papers(client.get(LATEST).json())["2506.00004"]
    assert (after["upvotes"], after["paper"]["upvotes"], after["numComments"]) == (7, 7, 3)
    assert client.get("/api/papers/2506.00004").json()["numComments"] == 3
    assert after["title"] == before["title"] and after["paper"]["authors"] == before["paper"]["authors"]


def test_the_list_and_paper_pages_show_a_paper_changed_by_another_process(filled: Database, client_for: ClientFor):
    # The HTML lists read the papers' columns through the same per-version memo as the API.
    client = client_for(filled)
    assert "Title 2" in client.get("/papers/date/2025-06-04").text

    add_paper(filled, "2506.00002", title="Renamed by another host", published_at=datetime(2025, 6, 1, 2, 2, 3))

    day = client.get("/papers/date/2025-06-04").text
    assert "Renamed by another host" in day and "Title 2" not in day
    assert "Renamed by another host" in client.get("/papers/2506.00002").text


def _listed_now(database: Database) -> None:
    """Two papers listed three hours ago, the first with 5 imported upvotes (counted as cast at its listing)."""
    listed_at = utcnow() - timedelta(hours=3)
    for number, imported_upvotes in ((1, 5), (2, 0)):
        add_paper(database, f"2612.0000{number}")
        add_listing(database, f"2612.0000{number}", listed_at.date(), submitted_at=listed_at, upvotes=imported_upvotes)


def _trending(client: TestClient) -> list[str]:
    return [item["paper"]["id"] for item in client.get(TRENDING).json()]


def test_the_trending_order_is_kept_until_a_write_is_heard(database: Database, client_for: ClientFor):
    _listed_now(database)
    client = client_for(database, trending_scores_seconds=60)
    assert _trending(client) == ["2612.00001", "2612.00002"]

    # Three fresh votes outweigh the 5 older ones, written by another process.
    add_votes(database, "2612.00002", *(add_user(database, f"voter{number}") for number in range(3)))

    if database.backend == "postgresql":
        # Announced (NOTIFY) to the app's listener, on its own connection, a moment after the commit.
        deadline = time.monotonic() + 1
        while _trending(client) != ["2612.00002", "2612.00001"] and time.monotonic() < deadline:
            time.sleep(0.02)
    else:
        # SQLite announces nothing: the order stands until the TTL or a write in this process.
        assert _trending(client) == ["2612.00001", "2612.00002"]
        token = token_for(database, add_user(database, "writer"))
        assert client.post("/api/papers/2612.00001/upvote", headers=bearer(token)).status_code == 200
    assert _trending(client) == ["2612.00002", "2612.00001"]


def test_the_memo_of_papers_holds_at_most_its_bound_least_recently_used_first():
    memo: PaperVersions[str] = PaperVersions(max_papers=3)
    day = datetime(2025, 6, 1)
    for paper_id in (1, 2, 3):
        memo.put((paper_id, day), f"paper {paper_id}")

    assert memo.get((1, day)) == "paper 1"  # used again: 2 is now the least recently used
    memo.put((4, day), "paper 4")
    # Another version of paper 3 is another entry: the old one is never answered for it.
    assert memo.get((3, day + timedelta(seconds=1))) is None
    memo.put((3, day + timedelta(seconds=1)), "paper 3, changed")

    assert len(memo) == 3
    assert memo.get((2, day)) is None and memo.get((3, day)) is None  # the least recently used left first
    assert memo.get((1, day)) == "paper 1"
    assert memo.get((3, day + timedelta(seconds=1))) == "paper 3, changed"
