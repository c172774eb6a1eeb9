"""`huggingface_hub.HfApi(endpoint=...)`, installed from PyPI, against a running Paperboard (`paperboard serve`):
every papers call of the client reads what was stored, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import PaperAuthor, PaperInfo, User
from sqlalchemy import select

from paperboard.catalog.queries import get_paper
from paperboard.catalog.record import build_record
from paperboard.catalog.store import upsert_papers
from paperboard.clock import utcnow
from paperboard.community import accounts
from paperboard.community.trending import FORMULA
from paperboard.db import Database
from paperboard.db.models import Listing, PaperThumbnail, Vote
from paperboard.db.models import User as Account
from paperboard.search.paper_keywords import store_archive_keywords
from paperboard.thumbnails.render import render_first_page
from tests.community.factories import add_comment
from tests.conftest import PASSWORD, Cli, LiveServer, cli_environment, serving
from tests.pdfs import pdf_document


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


# Papers and where they are listed: (number, day, submitted at hour, submitter, imported upvotes, local votes at).
JUNE_4 = datetime(2025, 6, 4)
LISTED = {
    1: (JUNE_4 + timedelta(hours=8), "alice", 5, []),
    2: (JUNE_4 + timedelta(hours=9), "bob", 0, [JUNE_4 + timedelta(hours=10), JUNE_4 + timedelta(hours=11)]),
    3: (JUNE_4 + timedelta(hours=10), "carol (imported)", 10, []),
    4: (datetime(2025, 6, 6, 7), "alice", 1, []),
    # Upvoted at the very end of June: the month's trending ranking puts it first.
    5: (datetime(2025, 6, 20, 7), "bob", 0, [datetime(2025, 6, 30, 20), datetime(2025, 6, 30, 21)]),
    6: (datetime(2025, 7, 1, 7), "alice", 50, []),
}

# The Hugging Face archive's keywords of the first paper.
KEYWORDS = ["sparse attention", "long documents"]

# The site's public address (PAPERBOARD_BASE_URL), unlike the loopback address the client calls.
SITE_URL = "https://papers.example.org"


@pytest.fixture
def served(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    records = [
        build_record(
            arxiv_id=f"2506.{number:05d}",
            title=f"Sparse attention for long documents, part {number}",
            abstract=f"We study sparse attention. Part {number} of a series, with $O(n \\log n)$ cost.",
            authors=[f"Ada Lovelace {number}", "Émilie du Châtelet"],
            categories=["cs.CL", "cs.LG"],
            published_at=datetime(2025, 6, 1, 12) + timedelta(hours=number),
            code_url="https://github.com/example/sparse" if number == 1 else None,
            project_url="https://example.org/sparse" if number == 1 else None,
        )
        for number in LISTED
    ]
    password_hash = accounts.hash_password(PASSWORD)
    with database.session() as session:
        upsert_papers(session, records)
        user_ids = {
            name: accounts.create_user(session, name, password_hash, display_name=f"{name.title()} Example").id
            for name in ("alice", "bob")
        }
        for number, (submitted_at, submitter, imported, votes) in LISTED.items():
            paper = get_paper(session, f"2506.{number:05d}")
            assert paper is not None
            session.add(
                Listing(
                    paper_id=paper.id,
                    day=submitted_at.date(),
                    submitted_at=submitted_at,
                    submitter_id=user_ids.get(submitter),
                    imported_submitter=None if submitter in user_ids else submitter,
                    imported_upvotes=imported,
                    github_stars=42 if number == 1 else None,
                )
            )
            for voter_id, cast_at in zip(user_ids.values(), votes, strict=False):
                session.add(Vote(user_id=voter_id, paper_id=paper.id, created_at=cast_at))
            if number == 1:
                store_archive_keywords(session, {paper.id: KEYWORDS})
    url = database.url.render_as_string(hide_password=False)
    cli = Cli(cli_environment(tmp_path / "data", url, base_url=SITE_URL))
    with serving(cli, tmp_path / "data") as server:
        yield server


def _upvotes(number: int) -> int:
    return LISTED[number][2] + len(LISTED[number][3])


def _number(arxiv_id: str) -> int:
    return int(arxiv_id.split(".")[1])


def test_list_daily_papers_of_a_day_reads_what_was_stored(served: LiveServer) -> None:
    papers = list(HfApi(endpoint=served.base_url).list_daily_papers(date="2025-06-04"))

    # Newest submission first, Hugging Face's default order.
    assert [paper.id for paper in papers] == ["2506.00003", "2506.00002", "2506.00001"]
    for paper in papers:
        number = _number(paper.id)
        submitted_at, submitter, _, _ = LISTED[number]
        assert paper.title == f"Sparse attention for long documents, part {number}"
        assert paper.summary.startswith(f"We study sparse attention. Part {number} ")
        assert [author.name for author in paper.authors] == [f"Ada Lovelace {number}", "Émilie du Châtelet"]
        assert paper.upvotes == _upvotes(number)
        assert paper.published_at == _utc(datetime(2025, 6, 1, 12) + timedelta(hours=number))
        assert paper.submitted_at == _utc(submitted_at)
        assert paper.submitted_by is not None
        assert paper.submitted_by.username == submitter
    by_id = {paper.id: paper for paper in papers}
    assert by_id["2506.00001"].submitted_by.fullname == "Alice Example"
    assert by_id["2506.00001"].comments == 0


def test_list_daily_papers_of_a_week_and_a_submitter(served: LiveServer) -> None:
    api = HfApi(endpoint=served.base_url)

    week = list(api.list_daily_papers(week="2025-W23"))
    alices = list(api.list_daily_papers(month="2025-06", submitter="alice"))
    paged = [paper.id for page in range(3) for paper in api.list_daily_papers(week="2025-W23", limit=2, p=page)]

    assert [paper.id for paper in week] == ["2506.00004", "2506.00003", "2506.00002", "2506.00001"]
    assert [paper.id for paper in alices] == ["2506.00004", "2506.00001"]
    assert paged == [paper.id for paper in week]


def test_list_daily_papers_of_a_month_by_trending(served: LiveServer) -> None:
    papers = list(HfApi(endpoint=served.base_url).list_daily_papers(month="2025-06", sort="trending"))

    # The ranking as June closed: every upvote weighed by its age at midnight on 1 July.
    end_of_june = datetime(2025, 7, 1)

    def score(number: int) -> float:
        submitted_at, _, imported, votes = LISTED[number]
        return FORMULA.weight(imported, submitted_at, end_of_june) + sum(
            FORMULA.weight(1, cast_at, end_of_june) for cast_at in votes
        )

    expected = sorted((number for number in LISTED if number != 6), key=lambda number: -score(number))
    assert [_number(paper.id) for paper in papers] == expected
    assert expected[0] == 5


def test_paper_info_search_and_read_paper(served: LiveServer) -> None:
    api = HfApi(endpoint=served.base_url)

    info = api.paper_info("2506.00002")
    with_code = api.paper_info("2506.00001")
    found = list(api.list_papers(query="sparse attention part 3"))
    markdown = api.read_paper("2506.00001")

    assert info.id == "2506.00002"
    assert info.title == "Sparse attention for long documents, part 2"
    assert [author.name for author in info.authors] == ["Ada Lovelace 2", "Émilie du Châtelet"]
    assert info.upvotes == 2
    assert info.submitted_by is not None and info.submitted_by.username == "bob"
    assert info.submitted_at == _utc(LISTED[2][0])
    assert info.published_at == _utc(datetime(2025, 6, 1, 14))
    assert info.comments == 0
    assert with_code.github_repo == "https://github.com/example/sparse"
    assert with_code.github_stars == 42
    # Every paper is about sparse attention; part 3 matches every word of the query and comes first.
    assert found[0].id == "2506.00003"
    assert {paper.id for paper in found} == {f"2506.{number:05d}" for number in LISTED}
    assert found[0].title == "Sparse attention for long documents, part 3"
    assert "# Sparse attention for long documents, part 1" in markdown
    assert "We study sparse attention. Part 1" in markdown
    with pytest.raises(HfHubHTTPError) as missing:
        api.paper_info("2506.09999")
    assert missing.value.response.status_code == 404


# What the client would read that Paperboard does not have, and why; every other attribute must carry stored data.
NOT_SENT = {
    "source": "Hugging Face's own mark of where it found a paper; every paper here comes from arXiv",
    "ai_summary": "Paperboard writes no AI summaries",
    "linked_models": "Paperboard hosts no models, datasets or Spaces",
    "num_total_models": "idem",
    "linked_datasets": "idem",
    "num_total_datasets": "idem",
    "linked_spaces": "idem",
}


def _attributes(value: Any) -> Any:
    """A client object as a dict of every attribute its dataclass declares (a new one shows up), recursively."""
    if isinstance(value, PaperInfo | PaperAuthor | User):
        return {field.name: _attributes(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, list):
        return [_attributes(item) for item in value]
    return value


def test_every_attribute_the_client_reads_carries_what_was_stored(served: LiveServer, database: Database) -> None:
    with database.read_session() as session:
        paper = get_paper(session, "2506.00001")
        alice = session.scalar(select(Account).where(Account.username == "alice"))
    assert paper is not None and alice is not None
    add_comment(database, "2506.00001", alice, written_at=JUNE_4 + timedelta(hours=12))
    api = HfApi(endpoint=served.base_url)
    expected = {
        "id": "2506.00001",
        "authors": [
            {"name": name, "user": None, "status": None, "status_last_changed_at": None, "hidden": False}
            for name in ("Ada Lovelace 1", "Émilie du Châtelet")
        ],
        "published_at": _utc(datetime(2025, 6, 1, 13)),
        "title": "Sparse attention for long documents, part 1",
        "summary": "We study sparse attention. Part 1 of a series, with $O(n \\log n)$ cost.",
        "upvotes": 5,
        "discussion_id": f"{paper.id:024x}",
        "comments": 1,
        "submitted_at": _utc(LISTED[1][0]),
        "submitted_by": {
            "username": "alice",
            "fullname": "Alice Example",
            # Made from PAPERBOARD_BASE_URL, never from the address the request was sent to.
            "avatar_url": f"{SITE_URL}/static/avatar.svg",
            "is_pro": False,
            # What Hugging Face's user pages say about a person, not its papers API.
            "details": None,
            "is_following": None,
            "num_models": None,
            "num_datasets": None,
            "num_spaces": None,
            "num_discussions": None,
            "num_papers": None,
            "num_upvotes": None,
            "num_likes": None,
            "num_following": None,
            "num_followers": None,
            "orgs": [],
        },
        "project_page": "https://example.org/sparse",
        "github_repo": "https://github.com/example/sparse",
        "github_stars": 42,
        "ai_keywords": KEYWORDS,
        # Listed for no organization here; tests/community/test_organizations.py reads one through the client.
        "organization": None,
    } | dict.fromkeys(NOT_SENT)
    assert set(expected) == {field.name for field in fields(PaperInfo)}
    assert set(expected["submitted_by"]) == {field.name for field in fields(User)}
    assert set(expected["authors"][0]) == {field.name for field in fields(PaperAuthor)}

    info = api.paper_info("arXiv:2506.00001v1")
    [listed] = [item for item in api.list_daily_papers(date="2025-06-04") if item.id == "2506.00001"]
    [found] = api.list_papers(query="https://arxiv.org/abs/2506.00001")

    for read in (info, listed, found):
        assert _attributes(read) == expected


def test_list_papers_without_a_query_gives_the_daily_papers_newest_submission_first(served: LiveServer) -> None:
    api = HfApi(endpoint=served.base_url)

    newest_first = sorted(LISTED, key=lambda number: LISTED[number][0], reverse=True)
    assert [_number(paper.id) for paper in api.list_papers(query="")] == newest_first
    assert [_number(paper.id) for paper in api.list_papers()] == newest_first
    assert [_number(paper.id) for paper in api.list_papers(limit=2)] == newest_first[:2]


def test_the_client_reads_a_daily_papers_thumbnail_as_an_address_under_the_base_url(
    served: LiveServer, database: Database
) -> None:
    # A thumbnail as the worker stores it (tests/web/test_thumbnails.py follows one from the queue).
    image = render_first_page(pdf_document())
    with database.session() as session:
        paper = get_paper(session, "2506.00001")
        assert paper is not None
        session.add(PaperThumbnail(paper_id=paper.id, image=image, width=400, height=518, rendered_at=utcnow()))

    listed = {item.id: item for item in HfApi(endpoint=served.base_url).list_daily_papers(date="2025-06-04")}

    # Hugging Face sends `thumbnail` on each daily item; PaperInfo keeps such fields as attributes.
    assert listed["2506.00001"].thumbnail == f"{SITE_URL}/papers/2506.00001/thumbnail.webp"
    assert listed["2506.00002"].thumbnail is None
    assert httpx.get(served.url("/papers/2506.00001/thumbnail.webp")).content == image
