"""Author and category pages in Chromium, on a catalogue imported through the CLI and served by uvicorn: a reader
clicks an author's name on a paper page, lands on the page of that name, and goes on to a category."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines

# A slash, an accent and a quote: the name must survive the link, the browser and the server's decoding.
NAME = "Zoë O'Brien / A&B Lab"


def test_clicking_an_author_on_a_paper_page_opens_their_page(live_server, tmp_path, page):
    lines = [
        record_to_json(
            make_record("2506.00001", title="First paper", authors=["Ada Lovelace", NAME], published_at="2025-06-01")
        ),
        record_to_json(make_record("2506.00002", title="Second paper", authors=[NAME], published_at="2025-06-03")),
        record_to_json(make_record("2506.00003", title="Someone else's", authors=["Alan Turing"])),
    ]
    result = live_server.cli.run("import", str(write_lines(tmp_path / "papers.jsonl", lines)))
    assert result.returncode == 0, result.stderr

    page.goto(live_server.url("/papers/2506.00001"))
    page.locator(".author-list").get_by_role("link", name=NAME).click()

    expect(page.locator("#author-title")).to_have_text(NAME)
    assert re.fullmatch(r".*/authors/Zo%C3%AB%20O%27Brien%20%2F%20A%26B%20Lab", page.url)
    expect(page.locator("ol.papers .paper-title")).to_have_text(["Second paper", "First paper"])
    expect(page.get_by_text("Papers listed under this exact name as arXiv spells it")).to_be_visible()
    page.get_by_label("Frequent co-authors").get_by_role("link", name="Ada Lovelace").click()

    expect(page.locator("#author-title")).to_have_text("Ada Lovelace")
    expect(page.locator("ol.papers .paper-title")).to_have_text(["First paper"])
    page.locator("ol.papers").get_by_role("link", name="cs.CL").click()

    expect(page.locator("h1")).to_have_text("cs.CL Computation and Language")
    expect(page.locator("ol.papers .paper-title")).to_have_count(3)
