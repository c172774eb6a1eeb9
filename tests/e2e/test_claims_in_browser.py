"""Claiming authorship in Chromium, against a served site: a reader claims a name from its author page, a moderator
approves the claim in the queue on /admin, and the author page then shows who claimed it, linking their profile,
which lists the name's papers."""

from __future__ import annotations

from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.e2e.test_daily_in_browser import sign_in

EVIDENCE = "My homepage lists both papers: https://example.org/ada"


def test_a_claim_made_on_the_author_page_and_approved_on_admin_shows_the_profile_box(
    live_server, tmp_path, page, browser
):
    lines = [
        record_to_json(make_record("2506.00001", title="Notes on the Engine", authors=["Ada Lovelace"])),
        record_to_json(
            make_record(
                "2506.00002",
                title="Bernoulli Numbers",
                authors=["Charles Babbage", "Ada Lovelace"],
                published_at="2025-06-05",
            )
        ),
    ]
    assert live_server.cli.run("import", str(write_lines(tmp_path / "papers.jsonl", lines))).returncode == 0
    sign_in(page, live_server, "ada")
    page.goto(live_server.url("/authors/Ada%20Lovelace"))

    page.get_by_text("Are you Ada Lovelace? Claim this name").click()
    page.get_by_label("Evidence").fill(EVIDENCE)
    page.get_by_role("button", name="Claim this name").click()

    expect(page.locator("#own-claim")).to_contain_text("the claim waits for a moderator")
    expect(page.locator(".claimed-by")).to_have_count(0)

    moderator_context = browser.new_context()
    try:
        moderator = moderator_context.new_page()
        sign_in(moderator, live_server, "mod")
        assert live_server.cli.run("user", "role", "mod", "moderator").returncode == 0
        moderator.reload()
        moderator.get_by_role("link", name="Admin").click()
        claim = moderator.get_by_role("article", name="Claim of ada to Ada Lovelace")
        expect(claim).to_contain_text(EVIDENCE)
        expect(claim).to_contain_text("2 papers")
        claim.get_by_role("button", name="Approve").click()
        expect(moderator.locator("#no-claims")).to_be_visible()
    finally:
        moderator_context.close()

    page.reload()
    box = page.get_by_role("complementary", name="Claimed by ada")
    expect(box).to_contain_text("Claimed by @ada")
    expect(page.locator("#own-claim")).to_contain_text("Your claim to this name was approved")
    box.get_by_role("link", name="@ada").click()

    expect(page.locator("#profile-title")).to_have_text("ada")
    expect(page.locator("#claimed-names")).to_have_text("Ada Lovelace")
    expect(page.locator("ol.papers .paper-title")).to_have_text(["Bernoulli Numbers", "Notes on the Engine"])
