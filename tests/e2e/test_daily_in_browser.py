"""The daily lists in Chromium: submitting a paper, upvoting with and without JavaScript, moving between days,
weeks and months."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.conftest import PASSWORD

# Listed days for the navigation test: Monday and Wednesday of ISO week 23, a day in week 24, one in July.
HISTORY = [
    ("2506.00011", "2025-06-02"),
    ("2506.00012", "2025-06-04"),
    ("2506.00013", "2025-06-10"),
    ("2507.00014", "2025-07-01"),
]


def sign_in(page, live_server, username):
    live_server.create_user(username)
    page.goto(live_server.url("/login"))
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name=username)).to_be_visible()


def import_recent_paper(live_server, tmp_path):
    """A paper first published yesterday, so that it may be submitted to today's list."""
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    record = make_record("2606.00001", title="Sparse Attention for Long Documents", published_at=yesterday)
    path = write_lines(tmp_path / "recent.jsonl", [record_to_json(record)])
    assert live_server.cli.run("import", str(path)).returncode == 0


def card(page, arxiv_id):
    return page.locator(f'[id="paper-{arxiv_id}"]')


def card_vote(page, arxiv_id):
    return card(page, arxiv_id).locator(".vote-button")


def test_submit_a_paper_then_upvote_and_take_it_back_without_reloading(live_server, tmp_path, page):
    import_recent_paper(live_server, tmp_path)
    sign_in(page, live_server, "ada")
    page.get_by_role("link", name="Submit", exact=True).click()
    page.get_by_label("arXiv id or address").fill("https://arxiv.org/abs/2606.00001v2")
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page.get_by_role("heading", name="Sparse Attention for Long Documents")).to_be_visible()
    expect(card(page, "2606.00001").locator(".submitter")).to_have_text("ada")
    expect(card(page, "2606.00001").locator(".new-mark")).to_be_visible()

    # A marker on the window survives only if htmx swaps the button in place instead of loading a new page.
    page.evaluate("window.notReloaded = true")
    vote = card_vote(page, "2606.00001")
    vote.click()
    expect(vote).to_have_attribute("aria-pressed", "true")
    expect(vote.locator(".vote-count")).to_have_text("1")
    card_vote(page, "2606.00001").click()
    expect(card_vote(page, "2606.00001")).to_have_attribute("aria-pressed", "false")
    expect(card_vote(page, "2606.00001").locator(".vote-count")).to_have_text("0")
    assert page.evaluate("window.notReloaded") is True

    # Submitting it again is refused with the reason.
    page.get_by_role("link", name="Submit", exact=True).click()
    page.get_by_label("arXiv id or address").fill("arXiv:2606.00001")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("already listed")


def test_upvote_and_take_it_back_without_javascript(live_server, tmp_path, page, page_without_javascript):
    import_recent_paper(live_server, tmp_path)
    sign_in(page, live_server, "ben")
    page.get_by_role("link", name="Submit", exact=True).click()
    page.get_by_label("arXiv id or address").fill("2606.00001")
    page.get_by_role("button", name="Submit", exact=True).click()
    list_address = page.url.split("#")[0]

    plain = page_without_javascript
    sign_in(plain, live_server, "cleo")
    plain.goto(list_address)
    card_vote(plain, "2606.00001").click()
    expect(card_vote(plain, "2606.00001")).to_have_attribute("aria-pressed", "true")
    expect(card_vote(plain, "2606.00001").locator(".vote-count")).to_have_text("1")
    assert plain.url.split("#")[0] == list_address
    card_vote(plain, "2606.00001").click()
    expect(card_vote(plain, "2606.00001").locator(".vote-count")).to_have_text("0")


def test_move_between_days_weeks_and_months(live_server, tmp_path, page):
    records = [make_record(arxiv_id, title=f"Paper listed {day}", published_at=day) for arxiv_id, day in HISTORY]
    assert (
        live_server.cli.run("import", str(write_lines(tmp_path / "p.jsonl", map(record_to_json, records)))).returncode
        == 0
    )
    archive = tmp_path / "archive.jsonl"
    archive.write_text(
        "".join(
            json.dumps({"date": day, "arxiv_id": arxiv_id, "title": "", "upvotes": 1, "comments": 0}) + "\n"
            for arxiv_id, day in HISTORY
        )
    )
    assert live_server.cli.run("import-hf-daily", str(archive)).returncode == 0

    page.goto(live_server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("1 Jul 2025")
    page.get_by_role("link", name="← 10 Jun 2025").click()
    expect(page.get_by_role("heading", name="Paper listed 2025-06-10")).to_be_visible()
    page.get_by_role("link", name="← 4 Jun 2025").click()
    page.get_by_role("link", name="← 2 Jun 2025").click()
    expect(page).to_have_url(live_server.url("/papers/date/2025-06-02"))
    page.get_by_role("link", name="4 Jun 2025 →").click()

    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Week 23 of 2025")
    expect(page.locator(".listed-paper")).to_have_count(2)
    page.get_by_role("link", name="Week 24 of 2025 →").click()
    expect(page.locator(".listed-paper")).to_have_count(1)

    page.get_by_role("link", name="Month", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("June 2025")
    expect(page.locator(".listed-paper")).to_have_count(3)
    page.get_by_role("link", name="July 2025 →").click()
    expect(page).to_have_url(live_server.url("/papers/month/2025-07"))
    expect(page.get_by_role("heading", name="Paper listed 2025-07-01")).to_be_visible()
