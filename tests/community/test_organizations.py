"""Organizations: named by the Hugging Face archive's import (spellings merged, a repeat import changing nothing),
given a page with their papers newest first and linked from cards and paper pages, and sent in the API as
`huggingface_hub`'s newest parser reads them, checked through the real client against `paperboard serve`; on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from huggingface_hub import HfApi
from huggingface_hub.hf_api import Organization
from sqlalchemy import select

from paperboard.catalog.jsonl import BadLine
from paperboard.catalog.store import UpsertCounts
from paperboard.clock import utcnow
from paperboard.community.hf_daily import import_hf_daily
from paperboard.community.organizations import organization_name
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import GithubRepository, Listing, Paper
from paperboard.db.models import Organization as OrganizationRow
from paperboard.web.app import create_app
from paperboard.web.pages.organizations import PAPERS_PER_PAGE
from tests.community.factories import add_listing, add_paper, add_user, paper_id
from tests.conftest import Cli, LiveServer, cli_environment, serving
from tests.markup import main_of, paper_links

DAY = date(2025, 6, 4)
SITE_URL = "https://papers.example.org"


def archive_line(arxiv_id: str, day: str, organization: object, **fields: Any) -> str:
    return json.dumps(
        {
            "date": day,
            "arxiv_id": arxiv_id,
            "upvotes": 3,
            "comments": 0,
            "submitted_by": "akhaliq",
            "submitted_on_daily_at": f"{day}T06:00:00.000Z",
            "github": None,
            "github_stars": None,
            "project_page": None,
            "organization": organization,
            **fields,
        }
    )


def write_archive(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def organizations(database: Database) -> dict[str, tuple[str, list[str]]]:
    """Each stored organization's name: its full name and the papers listed for it."""
    with database.read_session() as session:
        stored = {row.id: (row.name, row.fullname) for row in session.scalars(select(OrganizationRow))}
        listed = session.execute(
            select(Listing.organization_id, Paper.arxiv_id)
            .join(Paper, Paper.id == Listing.paper_id)
            .where(Listing.organization_id.is_not(None))
            .order_by(Paper.arxiv_id)
        ).all()
    return {
        name: (fullname, [arxiv_id for owner, arxiv_id in listed if owner == organization_id])
        for organization_id, (name, fullname) in stored.items()
    }


def test_the_archive_names_organizations_and_importing_it_again_changes_nothing(database, tmp_path):
    for number in range(1, 6):
        add_paper(database, f"2506.0000{number}", published_at=datetime(2025, 6, 1))
    archive = write_archive(
        tmp_path / "archive.jsonl",
        archive_line("2506.00001", "2025-06-04", "ByteDance Seed"),
        # Another spelling of the same address is the same organization, shown as first met.
        archive_line("2506.00002", "2025-06-04", "Zhejiang University"),
        archive_line("2506.00003", "2025-06-04", "Zhejiang  university "),
        # Letters of any script make an address.
        archive_line("2506.00004", "2025-06-04", None),
        archive_line("2506.00004", "2025-06-05", "台灣大學"),
        # A later day's organization does not replace the first day's.
        archive_line("2506.00001", "2025-06-05", "Somebody Else"),
        # Nothing to name an organization by: the line is named and skipped, the others kept.
        archive_line("2506.00005", "2025-06-04", "—!—"),
        # A paper the catalogue lacks makes no organization.
        archive_line("2506.09999", "2025-06-04", "Nobody's Lab"),
    )
    bad: list[BadLine] = []

    first = import_hf_daily(database, archive, on_bad_line=bad.append)

    assert [str(line) for line in bad] == [
        f"{archive}:7: organization: '—!—' has no letter or digit to name an organization by",
        f"{archive}:8: 2506.09999 is not in the catalogue; import the papers first (paperboard import)",
    ]
    assert first.listings == UpsertCounts(inserted=4, updated=1, unchanged=1)
    assert organizations(database) == {
        "ByteDance-Seed": ("ByteDance Seed", ["2506.00001"]),
        "Zhejiang-University": ("Zhejiang University", ["2506.00002", "2506.00003"]),
        "台灣大學": ("台灣大學", ["2506.00004"]),
    }

    second = import_hf_daily(database, archive)

    assert second.listings == UpsertCounts(inserted=0, updated=0, unchanged=6)
    assert len(organizations(database)) == 3


def test_listings_imported_before_organizations_get_theirs_from_a_new_import(database, tmp_path):
    add_paper(database, "2506.00001", published_at=datetime(2025, 6, 1))
    add_listing(database, "2506.00001", DAY, imported_submitter="akhaliq", upvotes=3)
    archive = write_archive(tmp_path / "archive.jsonl", archive_line("2506.00001", "2025-06-04", "NVIDIA"))

    report = import_hf_daily(database, archive)

    assert report.listings.updated == 1
    assert organizations(database) == {"NVIDIA": ("NVIDIA", ["2506.00001"])}


@pytest.mark.parametrize(
    ("fullname", "name"),
    [
        ("ByteDance Seed", "ByteDance-Seed"),
        ("KnowledgeXLab@Shanghai AI Lab", "KnowledgeXLab-Shanghai-AI-Lab"),
        ("OpenMOSS (SII, Fudan NLP)", "OpenMOSS-SII-Fudan-NLP"),
        (" IST Austria ", "IST-Austria"),
        ("ETH Zürich", "ETH-Zürich"),
        ("Mila – Quebec AI Institute", "Mila-Quebec-AI-Institute"),
        ("ｆｕｌｌｗｉｄｔｈ", "fullwidth"),
        ("snake_case_lab", "snake-case-lab"),
    ],
)
def test_an_organization_address_keeps_letters_and_digits(fullname, name):
    assert organization_name(fullname) == name


def test_a_name_whose_address_would_not_fit_is_refused(database, tmp_path):
    add_paper(database, "2506.00001", published_at=datetime(2025, 6, 1))
    # 100 characters, 200 once case-folded.
    archive = write_archive(tmp_path / "archive.jsonl", archive_line("2506.00001", "2025-06-04", "ß" * 100))
    bad: list[BadLine] = []

    import_hf_daily(database, archive, on_bad_line=bad.append)

    assert [line.message for line in bad] == []
    assert organizations(database) == {"ß" * 100: ("ß" * 100, ["2506.00001"])}

    archive = write_archive(tmp_path / "longer.jsonl", archive_line("2506.00001", "2025-06-04", "ß" * 101))
    import_hf_daily(database, archive, on_bad_line=bad.append)

    assert [line.message for line in bad] == ["organization: longer than 200 characters once normalised"]


@pytest.fixture
def site(database: Database, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database.url.render_as_string(hide_password=False),
        data_dir=tmp_path / "data",
        page_cache_seconds=0,
        page_requests_per_minute=0,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def list_for(database: Database, tmp_path: Path, organization: str, *arxiv_ids: str, day: date = DAY) -> None:
    archive = write_archive(
        tmp_path / f"{organization}.jsonl",
        *(archive_line(arxiv_id, day.isoformat(), organization) for arxiv_id in arxiv_ids),
    )
    assert not import_hf_daily(database, archive).bad_lines


def test_an_organization_page_lists_its_papers_newest_first_page_by_page(database, site, tmp_path):
    numbers = range(1, PAPERS_PER_PAGE + 4)
    for number in numbers:
        add_paper(database, f"2506.{number:05d}", published_at=datetime(2025, 6, 1) + timedelta(hours=number))
    list_for(database, tmp_path, "ByteDance Seed", *(f"2506.{number:05d}" for number in numbers if number != 5))
    add_paper(database, "2506.00099", published_at=datetime(2025, 6, 3))
    list_for(database, tmp_path, "Other Lab", "2506.00099")
    # Hidden by a moderator: off the lists, and off the organization's page.
    moderator = add_user(database, "mod", role="moderator")
    with database.session() as session:
        hidden = session.scalars(select(Listing).where(Listing.paper_id == paper_id(database, "2506.00007"))).one()
        hidden.hidden_at, hidden.hidden_by_id = utcnow(), moderator.id

    first = site.get("/organizations/ByteDance-Seed")
    second = site.get("/organizations/ByteDance-Seed?page=2")

    assert first.status_code == 200 and second.status_code == 200
    shown = [*paper_links(main_of(first.text)), *paper_links(main_of(second.text))]
    expected = [f"2506.{number:05d}" for number in reversed(numbers) if number not in (5, 7)]
    assert shown == expected and len(paper_links(main_of(first.text))) == PAPERS_PER_PAGE
    assert "<h1" in first.text and "ByteDance Seed" in main_of(first.text)
    assert f"<dd>{len(expected)}</dd>" in main_of(first.text)
    assert '<a href="/organizations/ByteDance-Seed?page=2" rel="next">' in first.text
    assert site.get("/organizations/ByteDance-Seed?page=3").status_code == 404
    # Another case is the same organization, at its own address.
    moved = site.get("/organizations/bytedance-seed?page=2", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/organizations/ByteDance-Seed?page=2"
    assert site.get("/organizations/No-Such-Lab").status_code == 404


def test_cards_and_paper_pages_link_to_the_organization(database, site, tmp_path):
    add_paper(database, "2506.00001", published_at=datetime(2025, 6, 1), code_url="https://github.com/example/code")
    add_paper(database, "2506.00002", published_at=datetime(2025, 6, 1))
    list_for(database, tmp_path, "台灣大學", "2506.00001")
    add_listing(database, "2506.00002", DAY, imported_submitter="akhaliq")

    day = main_of(site.get(f"/papers/date/{DAY.isoformat()}").text)
    paper = main_of(site.get("/papers/2506.00001").text)
    other = main_of(site.get("/papers/2506.00002").text)

    link = re.compile(r'<a class="organization" href="([^"]+)">.*?</a>', re.DOTALL)
    first_card, second_card = day.split('<li id="paper-2506.0000')[1:]
    assert link.findall(first_card) == ["/organizations/台灣大學"]
    assert link.findall(second_card) == []
    assert link.findall(paper) == ["/organizations/台灣大學"] and "<dt>Organization</dt>" in paper
    assert "<dt>Organization</dt>" not in other
    # The link reaches the page, as a browser sends it: percent-encoded.
    assert paper_links(main_of(site.get("/organizations/%E5%8F%B0%E7%81%A3%E5%A4%A7%E5%AD%B8").text)) == ["2506.00001"]
    # The GitHub repository is named beside the code link.
    assert '<span class="repository">example/code</span>' in first_card


@pytest.fixture
def served(database: Database, tmp_path: Path) -> Iterator[LiveServer]:
    """Two papers listed for an organization (one with code whose stars the worker refreshed), one listed for none."""
    add_paper(database, "2506.00001", published_at=datetime(2025, 6, 1), code_url="https://github.com/example/code")
    add_paper(database, "2506.00002", published_at=datetime(2025, 6, 2))
    add_paper(database, "2506.00003", published_at=datetime(2025, 6, 3))
    list_for(database, tmp_path, "ByteDance Seed", "2506.00001", "2506.00002")
    add_listing(database, "2506.00003", DAY, imported_submitter="akhaliq")
    with database.session() as session:
        session.execute(
            Listing.__table__.update()
            .where(Listing.paper_id == paper_id(database, "2506.00001"))
            .values(github_stars=70)
        )
        session.add(GithubRepository(repo_key="example/code", full_name="example/code", stars=77, checked_at=utcnow()))
    url = database.url.render_as_string(hide_password=False)
    cli = Cli(cli_environment(tmp_path / "site", url, base_url=SITE_URL))
    with serving(cli, tmp_path / "site") as server:
        yield server


def test_the_api_sends_the_organization_as_huggingface_hub_reads_it(served):
    api = HfApi(endpoint=served.base_url)

    info = api.paper_info("2506.00001")
    listed = {paper.id: paper for paper in api.list_daily_papers(date=DAY.isoformat())}
    found = {paper.id: paper for paper in api.list_papers(query="")}

    for paper in (info, listed["2506.00001"], listed["2506.00002"], found["2506.00001"]):
        organization = paper.organization
        assert isinstance(organization, Organization)
        assert organization.name == "ByteDance-Seed"
        assert organization.fullname == "ByteDance Seed"
        assert organization.avatar_url == f"{SITE_URL}/static/organization.svg"
        # What Paperboard does not know stays unset, rather than made up.
        assert [
            organization.details,
            organization.is_verified,
            organization.is_following,
            organization.num_users,
            organization.num_models,
            organization.num_spaces,
            organization.num_datasets,
            organization.num_followers,
            organization.num_papers,
            organization.plan,
        ] == [None] * 10
        # Hugging Face's own field name, which its answers use, is sent too.
        assert organization.avatar == organization.avatar_url  # type: ignore[attr-defined]
    assert listed["2506.00003"].organization is None
    # The code's stars: GitHub's, as the worker last stored them, not the archive's older count.
    assert (info.github_repo, info.github_stars) == ("https://github.com/example/code", 77)
    assert (listed["2506.00001"].github_repo, listed["2506.00001"].github_stars) == (
        "https://github.com/example/code",
        77,
    )
    assert (listed["2506.00002"].github_repo, listed["2506.00002"].github_stars) == (None, None)
