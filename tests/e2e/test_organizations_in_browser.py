"""A card in Chromium shows the organization a paper was listed for and its code's GitHub stars, as the worker
refreshed them from a local server that answers as GitHub does; the organization's link leads to its page."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.conftest import Cli
from tests.github_server import GithubServer


def test_a_card_shows_its_organization_and_stars(live_server, tmp_path, page):
    record = make_record(
        "2506.00001",
        title="Sparse Attention for Long Documents",
        published_at="2025-06-03",
        code_url="https://github.com/example/sparse",
    )
    assert (
        live_server.cli.run("import", str(write_lines(tmp_path / "p.jsonl", [record_to_json(record)]))).returncode == 0
    )
    archive = tmp_path / "archive.jsonl"
    line = {"date": "2025-06-04", "arxiv_id": "2506.00001", "upvotes": 5, "comments": 0}
    archive.write_text(json.dumps(line | {"organization": "ByteDance Seed", "github_stars": 1200}) + "\n")
    assert live_server.cli.run("import-hf-daily", str(archive)).returncode == 0

    with GithubServer() as github:
        github.add("example/sparse", 1534)
        worker = Cli(
            live_server.cli.env
            | {"PAPERBOARD_GITHUB_API_URL": github.base_url, "PAPERBOARD_GITHUB_STARS_PER_RUN": "10"}
        )
        result = worker.run("worker", "--once", timeout=600)
    assert result.returncode == 0, result.stderr

    page.goto(live_server.url("/papers/date/2025-06-04"))
    card = page.locator('[id="paper-2506.00001"]')
    expect(card.locator(".organization")).to_have_text("ByteDance Seed")
    expect(card.locator(".repository")).to_have_text("example/sparse")
    # GitHub's count, which the worker stored, not the archive's.
    expect(card.locator(".stars")).to_have_text("★ 1,534 stars")
    expect(card.locator(".stars")).to_be_visible()

    card.get_by_role("link", name="ByteDance Seed").click()
    expect(page).to_have_url(live_server.url("/organizations/ByteDance-Seed"))
    expect(page.get_by_role("heading", level=1)).to_have_text("ByteDance Seed")
    expect(page.get_by_role("link", name="Sparse Attention for Long Documents")).to_be_visible()
    expect(page.locator(".papers .stars")).to_have_text("★ 1,534 stars")
