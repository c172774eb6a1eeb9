"""Following and "not interested" in Chromium, against `paperboard serve`: a reader follows an author and a
category with htmx's in-place buttons, marks a paper not interested and undoes it, and finds it all on /following."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.conftest import PASSWORD


def test_following_an_author_and_a_category_and_marking_a_paper_not_interested(live_server, tmp_path, page):
    lines = [
        record_to_json(
            make_record("2506.00001", title="First paper", authors=["Ada Lovelace"], published_at="2025-06-01")
        ),
        record_to_json(
            make_record("2506.00002", title="Second paper", authors=["Alan Turing"], published_at="2025-06-02")
        ),
    ]
    assert live_server.cli.run("import", str(write_lines(tmp_path / "papers.jsonl", lines))).returncode == 0
    live_server.create_user("ann")
    page.goto(live_server.url("/login"))
    page.get_by_label("User name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Following")).to_be_visible()

    page.goto(live_server.url("/authors/Ada%20Lovelace"))
    address = page.url
    page.get_by_role("button", name=re.compile(r"^Follow\W+Ada Lovelace")).click()
    # htmx swapped the button in place: the page itself did not change.
    expect(page.get_by_role("button", name=re.compile(r"^Following\W+Ada Lovelace"))).to_have_attribute(
        "aria-pressed", "true"
    )
    assert page.url == address

    page.goto(live_server.url("/categories/cs.CL"))
    page.get_by_role("button", name=re.compile(r"^Follow\W+cs\.CL")).click()
    expect(page.get_by_role("button", name=re.compile(r"^Following\W+cs\.CL"))).to_be_visible()

    page.goto(live_server.url("/papers/recent"))
    page.get_by_role("button", name=re.compile(r"^Not interested\W+arXiv:2506\.00002")).click()
    expect(page.get_by_text("Hidden from your feed.")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Undo")).click()
    expect(page.get_by_role("button", name=re.compile(r"^Not interested\W+arXiv:2506\.00002"))).to_be_visible()
    expect(page.get_by_text("Hidden from your feed.")).to_have_count(0)
    page.get_by_role("button", name=re.compile(r"^Not interested\W+arXiv:2506\.00001")).click()
    expect(page.get_by_text("Hidden from your feed.")).to_be_visible()

    page.get_by_role("link", name="Following").click()
    following = page.locator("section.following")
    expect(following.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    expect(following.get_by_role("link", name="cs.CL")).to_be_visible()
    expect(page.locator(".not-interested-list").get_by_role("link")).to_have_text(["First paper"])
    # Unfollowing from the list, in place.
    following.get_by_role("button", name=re.compile(r"^Following\W+Ada Lovelace")).click()
    expect(following.get_by_role("button", name=re.compile(r"^Follow\W+Ada Lovelace"))).to_be_visible()
    page.reload()
    expect(page.locator("section.following").get_by_role("link", name="Ada Lovelace")).to_have_count(0)
