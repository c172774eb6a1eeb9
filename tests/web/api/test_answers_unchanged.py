"""The read API's answers byte for byte: `answers_unchanged.json` holds what the API answered for this database
before its listing answers were read with fewer queries and written without pydantic (generated from main at
127e235), so that the faster path is held to Hugging Face's exact shape, field order, times and escaping."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from paperboard.db import Database
from paperboard.db.models import GithubRepository, Listing, Organization, PaperThumbnail
from paperboard.search.paper_keywords import store_archive_keywords
from tests.community.factories import add_comment, add_listing, add_paper, add_user, add_votes, paper_id
from tests.web.conftest import ClientFor

ANSWERS = Path(__file__).with_name("answers_unchanged.json")
ADDRESSES = (
    "/api/daily_papers",
    "/api/daily_papers?date=2025-06-04",
    "/api/daily_papers?week=2025-W23",
    "/api/daily_papers?month=2025-06&sort=upvotes",
    "/api/daily_papers?sort=trending",
    "/api/daily_papers?sort=trending&month=2025-06",
    "/api/daily_papers?submitter=ANN",
    "/api/daily_papers?limit=2&p=1",
    "/api/daily_papers?date=2025-06-30",
    "/api/papers/2506.00001",
    "/api/papers/2506.00006",
    "/api/papers/search",
)
# What JSON escapes or writes in several ways: quotes, backslashes, control characters, line separators, non-ASCII.
AWKWARD_TITLE = 'Caf\u00e9 \u2013 \u201cquoted\u201d "plain" \\ back\tslash \u2028 \U0001f600 <b>&amp;</b>'


def fill(database: Database) -> None:
    """Papers listed in June 2025 with everything an item can carry: local and imported submitters, an
    organization, refreshed and archived stars, a thumbnail, keywords, votes and comments; one hidden, one on no
    list."""
    ann, bea = add_user(database, "ann"), add_user(database, "Bea")
    moderator = add_user(database, "mod", role="moderator")
    for number in range(1, 7):
        add_paper(
            database,
            f"2506.0000{number}",
            title=AWKWARD_TITLE if number == 1 else f"Title {number}",
            abstract=f"We show $\\alpha < \\beta$ for {number} \u00e9t\u00e9s.\nSecond line.",
            authors=[f"Author {number}.{position} \u00c5ngstr\u00f6m" for position in range(number * 3)],
            published_at=datetime(2025, 6, 1, number, 2, 3, 456789 * (number % 2)),
            code_url="https://github.com/Owner/Repo" if number in (1, 2) else None,
            project_url="https://example.org/p" if number == 1 else None,
        )
    add_listing(
        database,
        "2506.00001",
        date(2025, 6, 4),
        submitted_at=datetime(2025, 6, 4, 8, 0, 0, 123400),
        submitter=ann,
        upvotes=3,
        comments=1,
        github_stars=7,
    )
    add_listing(database, "2506.00002", date(2025, 6, 4), submitted_at=datetime(2025, 6, 4, 9), imported_submitter="hf")
    add_listing(database, "2506.00003", date(2025, 6, 4), submitter=bea, hidden_by=moderator)
    add_listing(database, "2506.00004", date(2025, 6, 5), submitter=bea, upvotes=5, github_stars=2)
    add_listing(database, "2506.00005", date(2025, 6, 30), imported_submitter="ann", upvotes=1)
    add_votes(database, "2506.00002", ann, bea, moderator, cast_at=datetime(2025, 6, 20, 12))
    add_votes(database, "2506.00004", ann, cast_at=datetime(2025, 6, 5, 9))
    add_comment(database, "2506.00001", bea, written_at=datetime(2025, 6, 4, 13))
    add_comment(database, "2506.00004", ann, written_at=datetime(2025, 6, 5, 13), hidden=True)
    with database.session() as session:
        organization = Organization(name="Lab-\u00c9", name_key="lab-\u00e9", fullname="Lab \u00c9 \u201cR&D\u201d")
        session.add(organization)
        session.flush()
        first = paper_id(database, "2506.00001")
        session.execute(select(Listing).where(Listing.paper_id == first)).scalar_one().organization_id = organization.id
        # GitHub's count for paper 1's repository replaces the archive's 7; paper 2 links to the same repository.
        checked = datetime(2025, 7, 1)
        session.add(GithubRepository(repo_key="owner/repo", full_name="Owner/Repo", stars=42, checked_at=checked))
        session.add(PaperThumbnail(paper_id=first, image=b"webp", width=300, height=400, rendered_at=checked))
        store_archive_keywords(session, {first: ["alpha", "\u00e9t\u00e9"], paper_id(database, "2506.00004"): []})


@pytest.fixture
def filled(database: Database) -> Database:
    fill(database)
    return database


def test_answers_are_byte_for_byte_those_of_before(filled: Database, client_for: ClientFor):
    client = client_for(filled)
    expected = json.loads(ANSWERS.read_text())

    answers = {address: client.get(address).text for address in ADDRESSES}

    assert list(expected) == list(ADDRESSES)
    for address in ADDRESSES:
        assert answers[address] == expected[address], address
