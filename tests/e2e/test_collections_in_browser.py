"""Collections in Chromium: saving from a card without reloading, then making a collection, filling it from a
paper's "Add to collection…", reordering it and reading it as an anonymous visitor once public."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.e2e.test_daily_in_browser import sign_in


def import_papers(live_server, tmp_path):
    records = [make_record(f"2506.0000{n}", title=f"Sparse attention, part {n}") for n in (1, 2)]
    path = write_lines(tmp_path / "papers.jsonl", map(record_to_json, records))
    assert live_server.cli.run("import", str(path)).returncode == 0


def test_save_from_a_card_then_build_and_share_a_collection(live_server, tmp_path, page, browser):
    import_papers(live_server, tmp_path)
    sign_in(page, live_server, "ada")
    page.goto(live_server.url("/papers/recent"))

    # A marker on the window survives only if htmx swaps the button in place instead of loading a new page.
    page.evaluate("window.notReloaded = true")
    save = page.get_by_role("button", name="Save arXiv:2506.00001")
    save.click()
    saved = page.get_by_role("button", name="Saved arXiv:2506.00001")
    expect(saved).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.notReloaded") is True

    page.get_by_role("link", name="Collections").click()
    page.get_by_label("Title").fill("Reading group")
    page.get_by_label("Description (optional)").fill("Fridays at ten")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Reading group")).to_be_visible()
    page.get_by_label("arXiv id or address").fill("https://arxiv.org/abs/2506.00001")
    page.get_by_label("Note (optional)").fill("Read the appendix")
    page.get_by_role("button", name="Add", exact=True).click()

    page.goto(live_server.url("/papers/2506.00002"))
    page.get_by_role("link", name="Add to collection… arXiv:2506.00002").click()
    page.get_by_role("button", name="Add to Reading group").click()
    expect(page.get_by_role("button", name="Remove from Reading group")).to_be_visible()

    page.get_by_role("link", name="Collections").click()
    page.get_by_role("link", name="Reading group").click()
    page.get_by_role("button", name=re.compile(r"^Move up\W+Sparse attention, part 2$")).click()
    titles = page.locator(".collection-items .paper-title")
    expect(titles).to_have_text(["Sparse attention, part 2", "Sparse attention, part 1"])
    expect(page.locator(".item-note")).to_contain_text("Read the appendix")

    # Public by default: an anonymous visitor reads the page, with its feed and BibTeX.
    visitor = browser.new_page()
    try:
        visitor.goto(page.url)
        expect(visitor.locator(".collection-items .paper-title")).to_have_text(
            ["Sparse attention, part 2", "Sparse attention, part 1"]
        )
        expect(visitor.get_by_role("link", name="BibTeX of this list")).to_be_visible()
        expect(visitor.get_by_role("button", name="Delete this collection")).to_have_count(0)
    finally:
        visitor.close()

    # Made private, it is gone for the visitor.
    page.get_by_label("Private: only you can see it").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".summary").first).to_contain_text("private: only you can see it")
    visitor = browser.new_page()
    try:
        response = visitor.goto(page.url)
        assert response is not None and response.status == 404
    finally:
        visitor.close()
