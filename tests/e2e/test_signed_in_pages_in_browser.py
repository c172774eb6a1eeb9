"""Signed-in readers' lists and paper pages in Chromium, made once for all readers (web/reader_pages.py, on with the
default page cache): upvoting and saving on such a page work and show at once, after a reload too, and another
reader's page shows their own name and buttons."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.e2e.test_daily_in_browser import card, card_vote, sign_in

DAY = "2025-06-02"
PAPERS = ["2506.00011", "2506.00012"]


def test_voting_and_saving_on_a_shared_page_show_at_once(live_server, tmp_path, browser, page):
    records = [make_record(arxiv_id, title=f"Paper {arxiv_id}", published_at=DAY) for arxiv_id in PAPERS]
    assert (
        live_server.cli.run("import", str(write_lines(tmp_path / "p.jsonl", map(record_to_json, records)))).returncode
        == 0
    )
    archive = tmp_path / "archive.jsonl"
    archive.write_text(
        "".join(
            json.dumps({"date": DAY, "arxiv_id": arxiv_id, "title": "", "upvotes": 2, "comments": 0}) + "\n"
            for arxiv_id in PAPERS
        )
    )
    assert live_server.cli.run("import-hf-daily", str(archive)).returncode == 0
    day_list = live_server.url(f"/papers/date/{DAY}")
    other_context = browser.new_context()
    other = other_context.new_page()
    try:
        sign_in(other, live_server, "remy")
        sign_in(page, live_server, "quinn")
        # remy's visit makes the page that quinn's is then made from.
        other.goto(day_list)
        page.goto(day_list)
        expect(page.get_by_role("link", name="quinn", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="remy", exact=True)).to_have_count(0)

        page.evaluate("window.notReloaded = true")
        card_vote(page, PAPERS[0]).click()
        expect(card_vote(page, PAPERS[0])).to_have_attribute("aria-pressed", "true")
        expect(card_vote(page, PAPERS[0]).locator(".vote-count")).to_have_text("3")
        save = card(page, PAPERS[1]).locator(".save-button")
        save.click()
        expect(card(page, PAPERS[1]).locator(".save-button")).to_have_attribute("aria-pressed", "true")
        assert page.evaluate("window.notReloaded") is True

        # Both readers reload: the kept page was emptied by the writes, and each gets their own buttons.
        page.reload()
        expect(card_vote(page, PAPERS[0])).to_have_attribute("aria-pressed", "true")
        expect(card(page, PAPERS[1]).locator(".save-button")).to_have_attribute("aria-pressed", "true")
        other.reload()
        expect(other.get_by_role("link", name="remy", exact=True)).to_be_visible()
        expect(card_vote(other, PAPERS[0])).to_have_attribute("aria-pressed", "false")
        expect(card_vote(other, PAPERS[0]).locator(".vote-count")).to_have_text("3")
        expect(card(other, PAPERS[1]).locator(".save-button")).to_have_attribute("aria-pressed", "false")

        # remy upvotes the same paper on her page, made from the same kept page as quinn's.
        card_vote(other, PAPERS[0]).click()
        expect(card_vote(other, PAPERS[0]).locator(".vote-count")).to_have_text("4")
        page.goto(live_server.url(f"/papers/{PAPERS[0]}"))
        expect(page.locator(".paper-page-vote .vote-button")).to_have_attribute("aria-pressed", "true")
        expect(page.locator(".paper-page-vote .vote-count")).to_have_text("4")
    finally:
        other_context.close()
