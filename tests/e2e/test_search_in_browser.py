"""The search page in Chromium: results that follow the typing and the filters without a page load (htmx), the
address kept in step, the matched words marked, nothing refused by the Content-Security-Policy; and the same search
without JavaScript, from the box in the header."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.e2e.test_api_docs_in_browser import RECORD_VIOLATIONS

# Three papers about attention, two of them with code; one about something else.
PAPERS = [
    make_record(
        "2506.00001",
        title="Sparse attention for long documents",
        abstract="We make attention sparse so that transformers read long documents.",
        categories=["cs.CL"],
        code_url="https://github.com/example/sparse",
    ),
    make_record(
        "2506.00002",
        title="Attention sinks in streaming language models",
        abstract="The first tokens keep streaming generation stable.",
        categories=["cs.CL"],
    ),
    make_record(
        "2506.00003",
        title="Multi-head attentions in vision",
        abstract="Vision transformers with many heads.",
        categories=["cs.CV"],
        code_url="https://github.com/example/heads",
    ),
    make_record(
        "2506.00004",
        title="Graph neural networks for molecules",
        abstract="Message passing over molecular graphs.",
        categories=["q-bio.BM"],
    ),
]


@pytest.fixture
def catalogue(live_server, tmp_path):
    path = write_lines(tmp_path / "papers.jsonl", [record_to_json(record) for record in PAPERS])
    result = live_server.cli.run("import", str(path))
    assert result.returncode == 0, result.stderr
    return live_server


def titles(page):
    return page.locator("#search-results .search-hits .paper-title a")


def test_results_follow_the_typing_and_the_filters_without_a_page_load(catalogue, page):
    errors: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(catalogue.url("/search"))
    expect(page.get_by_text("Type what you are looking for.")).to_be_visible()
    # A marker on the window survives only if the results are swapped in instead of a new page being loaded.
    page.evaluate("window.notReloaded = true")

    page.get_by_label("Search for").press_sequentially("attention", delay=40)

    expect(titles(page)).to_have_count(3)
    expect(page).to_have_url(catalogue.url("/search?q=attention"))
    expect(page).to_have_title("attention · Search · Paperboard")
    expect(page.locator("#search-summary")).to_contain_text("3 results")
    expect(titles(page).filter(has_text="Multi-head").locator("mark")).to_have_text("attentions")
    expect(page.locator("#search-results .abstract mark").first).to_have_text("attention")

    page.get_by_label("Has code").check()

    expect(titles(page)).to_have_count(2)
    expect(titles(page).filter(has_text="Attention sinks")).to_have_count(0)
    expect(page).to_have_url(catalogue.url("/search?q=attention&has_code=on"))

    page.get_by_label("Category").fill("cs.CV")
    page.get_by_label("Category").press("Tab")  # a text box reports its change when it loses the focus

    expect(titles(page)).to_have_text(["Multi-head attentions in vision"])
    expect(page).to_have_url(catalogue.url("/search?q=attention&category=cs.CV&has_code=on"))

    page.get_by_label("Search for").fill("")
    expect(page.get_by_text("Type what you are looking for.")).to_be_visible()

    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("window.policyViolations") == []
    assert errors == []

    # A day the date picker would not offer, typed anyway: the 400's message takes the results' place.
    page.get_by_label("Search for").fill("attention")
    expect(titles(page)).to_have_count(1)
    page.evaluate("document.querySelector('[name=published_from]').type = 'text'")
    page.get_by_label("Published from").fill("2025-02-30")
    page.get_by_label("Published from").press("Tab")
    expect(page.get_by_role("alert")).to_contain_text("'2025-02-30' is not a date")
    expect(titles(page)).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True


def test_an_address_from_the_address_bar_opens_the_whole_page_with_its_results(catalogue, page):
    page.goto(catalogue.url("/search?q=attention&category=cs.CL&sort=date"))

    expect(titles(page)).to_have_count(2)
    expect(page.get_by_label("Search for")).to_have_value("attention")
    expect(page.get_by_label("Category")).to_have_value("cs.CL")
    expect(page.get_by_label("Sort by")).to_have_value("date")


def test_without_javascript_the_header_box_and_the_form_search_too(catalogue, page_without_javascript):
    page = page_without_javascript
    page.goto(catalogue.url("/"))

    page.get_by_label("Search papers").fill("attention")
    page.get_by_label("Search papers").press("Enter")

    expect(page).to_have_url(re.compile(r"/search\?q=attention$"))
    expect(titles(page)).to_have_count(3)
    expect(page.locator("#search-results mark").first).to_be_visible()

    page.get_by_label("Has code").check()
    page.get_by_role("button", name="Search", exact=True).click()

    expect(page).to_have_url(re.compile(r"has_code=on"))
    expect(titles(page)).to_have_count(2)
    expect(page.get_by_label("Has code")).to_be_checked()


def test_an_arxiv_id_finds_its_paper_as_typed_and_leads_to_it_from_a_search_box(catalogue, page):
    page.goto(catalogue.url("/search"))

    # As you type, an address of an arXiv paper is its one result, not the papers that share its words.
    page.get_by_label("Search for").fill("https://arxiv.org/abs/2506.00004v1")
    expect(titles(page)).to_have_text(["Graph neural networks for molecules"])
    page.get_by_label("Search for").fill("arXiv:2506.00099")
    expect(page.locator("#search-results")).to_contain_text("arXiv 2506.00099 is not in this catalogue")

    # From the header's box (a plain form) or an address, the search goes straight to the paper's page.
    page.goto(catalogue.url("/"))
    page.get_by_label("Search papers").fill("arXiv:2506.00002v2")
    page.get_by_label("Search papers").press("Enter")
    expect(page).to_have_url(catalogue.url("/papers/2506.00002"))
    expect(page.locator("#paper-title")).to_have_text("Attention sinks in streaming language models")
