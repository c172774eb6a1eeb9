"""Importing the Hugging Face Daily Papers archive: listings, merged repeats, links, bad lines, and repeating it."""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from paperboard.catalog.jsonl import BadLine, parse_lines
from paperboard.catalog.record import RecordError
from paperboard.catalog.store import UpsertCounts
from paperboard.community.hf_daily import MAX_COUNT, HfListing, hf_listing_from_json, import_hf_daily
from paperboard.db import Database
from paperboard.db.models import Listing, Paper
from tests.arxiv_server import FIXTURES
from tests.community.factories import add_listing, add_paper, add_user
from tests.fuzzing import assert_texts_allowed, fuzz_settings, hostile_values

ARCHIVE = FIXTURES / "hf_daily" / "archive.jsonl"


def stored_listings(database: Database) -> dict[str, tuple[object, ...]]:
    with database.read_session() as session:
        rows = session.execute(
            select(
                Paper.arxiv_id,
                Listing.day,
                Listing.submitted_at,
                Listing.imported_submitter,
                Listing.imported_upvotes,
                Listing.imported_comments,
                Listing.github_stars,
                Listing.submitter_id,
            ).join(Paper, Paper.id == Listing.paper_id)
        )
        return {arxiv_id: tuple(rest) for arxiv_id, *rest in rows}


def paper_links(database: Database) -> dict[str, tuple[str | None, str | None, datetime]]:
    with database.read_session() as session:
        rows = session.execute(select(Paper.arxiv_id, Paper.code_url, Paper.project_url, Paper.changed_at))
        return {arxiv_id: (code, project, changed) for arxiv_id, code, project, changed in rows}


@pytest.fixture
def catalogue(database: Database) -> Database:
    """The papers the archive fixture names, but 2506.09999; one already has a code link, one a local listing."""
    for arxiv_id in ("2506.00001", "2506.00002", "2506.00004"):
        add_paper(database, arxiv_id, published_at=datetime(2025, 5, 30))
    add_paper(database, "2506.00003", published_at=datetime(2025, 5, 30), code_url="https://github.com/kept/code")
    add_paper(database, "2506.00005", published_at=datetime(2025, 6, 8))
    ann = add_user(database, "ann")
    add_listing(database, "2506.00005", date(2025, 6, 10), submitted_at=datetime(2025, 6, 10, 9), submitter=ann)
    return database


def test_the_archive_becomes_listings_and_bad_lines_are_named_and_skipped(catalogue):
    reported: list[BadLine] = []

    report = import_hf_daily(catalogue, ARCHIVE, on_bad_line=reported.append)

    assert report.lines == 15
    assert report.listings == UpsertCounts(inserted=4, updated=3, unchanged=0)
    assert report.papers_given_links == 3
    path = str(ARCHIVE)
    assert [str(bad) for bad in reported] == [
        f"{path}:4: bad JSON: Expecting value at column 1",
        f"{path}:5: date: There is no day 2025-02-30: February 2025 has 28 days.",
        f"{path}:6: arxiv_id: 'not-an-id' is not an arXiv id (expected e.g. 2506.03781 or hep-th/9901001)",
        f"{path}:7: upvotes: -3 is not a count",
        f"{path}:8: github: 'javascript:alert(1)' is not an http(s) URL",
        f"{path}:9: 2506.09999 is not in the catalogue; import the papers first (paperboard import)",
        f"{path}:12: expected a JSON object, got list",
    ]
    assert report.bad_lines == reported
    ann_id = stored_listings(catalogue)["2506.00005"][-1]
    assert stored_listings(catalogue) == {
        # Listed again three days later with more upvotes: the first day and its submitter stay, the counts rise.
        "2506.00001": (date(2025, 6, 2), datetime(2025, 6, 2, 3, 50, 58, 348000), "akhaliq", 25, 2, 9, None),
        "2506.00002": (date(2025, 6, 2), datetime(2025, 6, 1, 22, 10), None, 3, 0, None, None),
        # Markup is stored as the text it is; pages escape it. No time of submission: the day's start.
        "2506.00003": (date(2025, 6, 3), datetime(2025, 6, 3), "<b>bold</b>", 0, 4, None, None),
        # The earlier of two days wins even when it comes later in the file.
        "2506.00004": (date(2025, 6, 3), datetime(2025, 6, 3, 2), "early", 2, 1, None, None),
        # Listed here before the archive said it was listed on Hugging Face a day earlier: the earlier day wins,
        # and the local submitter keeps the credit.
        "2506.00005": (date(2025, 6, 9), datetime(2025, 6, 9, 5), "hf-user", 7, 0, None, ann_id),
    }
    links = {arxiv_id: (code, project) for arxiv_id, (code, project, _) in paper_links(catalogue).items()}
    assert links == {
        "2506.00001": ("https://github.com/one/first", "https://one.example.org/"),
        "2506.00002": (None, "https://two.example.org/"),
        "2506.00003": ("https://github.com/kept/code", "https://three.example.org/"),
        "2506.00004": (None, None),
        "2506.00005": (None, None),
    }


def test_importing_again_changes_nothing(catalogue):
    first = import_hf_daily(catalogue, ARCHIVE)
    listings, papers = stored_listings(catalogue), paper_links(catalogue)

    again = import_hf_daily(catalogue, ARCHIVE)

    assert first.listings.total == again.listings.total == 7
    assert again.listings == UpsertCounts(inserted=0, updated=0, unchanged=7)
    assert again.papers_given_links == 0
    assert len(again.bad_lines) == len(first.bad_lines) == 7
    assert stored_listings(catalogue) == listings
    assert paper_links(catalogue) == papers


def test_a_gzipped_archive_cut_short_keeps_the_lines_before_the_damage(sqlite_database, tmp_path: Path):
    add_paper(sqlite_database, "2506.00001", published_at=datetime(2025, 5, 30))
    add_paper(sqlite_database, "2506.00002", published_at=datetime(2025, 5, 30))
    compressed = gzip.compress(b"".join(ARCHIVE.read_bytes().splitlines(keepends=True)[:2]) * 200)
    damaged = tmp_path / "archive.jsonl.gz"
    damaged.write_bytes(compressed[: len(compressed) - 20])

    report = import_hf_daily(sqlite_database, damaged)

    assert report.listings.inserted == 2
    (bad,) = report.bad_lines
    assert bad.message.startswith("the file ends early or is damaged")
    assert set(stored_listings(sqlite_database)) == {"2506.00001", "2506.00002"}


def _hf_line(arxiv_id: str) -> dict[str, object]:
    return {
        "date": "2025-06-04",
        "arxiv_id": arxiv_id,
        "upvotes": 3,
        "comments": 1,
        "submitted_by": "someone",
        "submitted_on_daily_at": "2025-06-04T10:00:00Z",
        "github": "https://github.com/ann/good",
        "github_stars": 5,
        "project_page": None,
    }


@st.composite
def _hf_archive(draw: st.DrawFn) -> tuple[list[bytes], set[str]]:
    lines: list[bytes] = []
    good: set[str] = set()
    for number in range(1, draw(st.integers(1, 10)) + 1):
        line = _hf_line(f"2506.{number:05d}")
        if draw(st.booleans()):
            good.add(f"2506.{number:05d}")
        elif draw(st.booleans()):
            line[draw(st.sampled_from(sorted(line)))] = draw(hostile_values())
        else:
            lines.append(draw(st.binary(max_size=100)).replace(b"\n", b""))
            continue
        lines.append(json.dumps(line, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass"))
    return lines, good


@fuzz_settings(80)
@given(_hf_archive())
def test_fuzzed_archive_lines_give_listings_or_named_errors_and_keep_every_good_line(archive):
    lines, good = archive

    results = parse_lines(1, lines, hf_listing_from_json)

    listings = {}
    for _, result in results:
        assert isinstance(result, HfListing | RecordError)
        if isinstance(result, HfListing):
            assert_texts_allowed([result.submitter, result.code_url, result.project_url])
            assert all(0 <= count <= MAX_COUNT for count in (result.upvotes, result.comments, result.github_stars or 0))
            listings[result.arxiv_id] = result
    assert good <= set(listings)
    assert all(listings[arxiv_id].submitter == "someone" for arxiv_id in good)
