"""The reader's feed in Chromium: found from the header, an invitation until the reader does something, the reasons
on the cards once they have, and the private feed address made, read by a feed reader and revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import feedparser
import httpx
from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.e2e.test_daily_in_browser import card, card_vote, sign_in


def import_papers_of_this_week(live_server, tmp_path) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    records = [
        make_record(
            "2606.00001", title="Sparse Attention for Long Documents", authors=["Grace Hopper"], published_at=yesterday
        ),
        make_record("2606.00002", title="Compilers for Everyone", authors=["Ada Lovelace"], published_at=yesterday),
    ]
    path = write_lines(tmp_path / "week.jsonl", [record_to_json(record) for record in records])
    assert live_server.cli.run("import", str(path)).returncode == 0


def test_the_feed_learns_from_an_upvote_and_follows_the_reader_into_a_feed_reader(live_server, tmp_path, page):
    import_papers_of_this_week(live_server, tmp_path)
    sign_in(page, live_server, "reader")
    page.get_by_role("link", name="For you").click()
    expect(page.get_by_role("heading", name="Tell your feed what you read")).to_be_visible()
    expect(card(page, "2606.00001")).to_be_visible()

    card_vote(page, "2606.00001").click()
    expect(card_vote(page, "2606.00001")).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.get_by_role("heading", name="Tell your feed what you read")).to_have_count(0)
    expect(page.locator(".feed-reason")).to_have_count(2)

    page.get_by_role("link", name="reader").click()
    page.get_by_role("button", name="Make an address").click()
    # Addresses are the site's base URL's (PAPERBOARD_BASE_URL, left at its default here): read at the live port.
    address = live_server.url(urlsplit(page.locator("#private-feed-url").inner_text()).path)
    assert address.startswith(live_server.url("/feeds/for-you/"))
    feed = feedparser.parse(httpx.get(address).content)
    assert {urlsplit(entry.link).path for entry in feed.entries} == {"/papers/2606.00001", "/papers/2606.00002"}
    page.goto(live_server.url("/account"))
    expect(page.get_by_text("You have an address")).to_be_visible()
    expect(page.locator("#private-feed-url")).to_have_count(0)
    page.get_by_role("button", name="Revoke the address").click()
    expect(page.get_by_text("The address was revoked")).to_be_visible()
    assert httpx.get(address).status_code == 404
