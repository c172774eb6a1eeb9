"""Newest papers of the catalogue at /papers/recent: pages, the empty catalogue, escaping, and error pages."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from html.parser import HTMLParser

import pytest

from paperboard.web.pages.recent import PAPERS_PER_PAGE


def paper_cards(html: str) -> list[str]:
    """The markup of each paper card, in page order."""
    return html.split('<article class="paper"')[1:]


def test_the_empty_catalogue_says_how_to_fill_it(sqlite_database, client_for):
    response = client_for(sqlite_database).get("/papers/recent")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Newest papers · Paperboard</title>" in response.text
    assert "The catalogue is empty" in response.text
    assert re.search(r"<code>paperboard harvest --category cs.CL --from \d{4}-\d{2}-\d{2}</code>", response.text)
    assert "<code>paperboard import FILE.jsonl.gz</code>" in response.text
    assert paper_cards(response.text) == []


def test_the_newest_papers_come_first_with_their_details(database, client_for, make_paper, add_papers):
    add_papers(
        database,
        make_paper(1, authors=["Ada", "Bo", "Cy", "Di"]),
        make_paper(
            2,
            title=r"Attention in $\mathcal{O}(n)$",
            abstract=r"We show that $\alpha$-attention scales. " + "It is fast. " * 60,
            authors=[f"Author {letter}" for letter in "ABCDEFGH"],
            categories=["cs.LG", "cs.CL"],
            published_at=datetime(2025, 6, 4, 17, 59),
            code_url="https://github.com/example/attention",
            project_url="https://example.org/attention",
        ),
        make_paper(3, published_at=datetime(2025, 6, 3)),
        make_paper(4, published_at=datetime(2025, 6, 5), deleted_at=datetime(2025, 6, 6)),
    )

    response = client_for(database).get("/papers/recent")

    assert response.status_code == 200
    assert "3 papers, most recently published first." in response.text
    newest, middle, oldest = paper_cards(response.text)
    assert "2506.00002" in newest and "2506.00003" in middle and "2506.00001" in oldest
    # This page loads no KaTeX: formulas are shown as text, without their dollars.
    assert r'<a href="/papers/2506.00002">Attention in \mathcal{O}(n)</a>' in newest
    assert '<time datetime="2025-06-04">4 Jun 2025</time>' in newest
    assert '<a class="category" href="/categories/cs.LG">cs.LG</a>' in newest and "cs.CL" not in newest
    assert "Author A, Author B, Author C" in re.sub(r"<[^>]+>", "", newest)
    assert '<a href="/authors/Author%20A">Author A</a>' in newest and "+ 5 more" in newest and "Author D" not in newest
    assert r"We show that \alpha-attention scales." in newest and newest.count("It is fast.") < 60
    assert "…</p>" in newest
    for link in (
        'href="https://arxiv.org/abs/2506.00002"',
        'href="https://arxiv.org/pdf/2506.00002">PDF<',
        'href="https://github.com/example/attention"',
        'href="https://example.org/attention"',
    ):
        assert link in newest
    assert "Ada, Bo, Cy, Di" in re.sub(r"<[^>]+>", "", oldest) and "more" not in oldest
    assert "The abstract of paper number 1." in oldest
    assert "Code</a>" not in oldest and "Project page</a>" not in oldest


def test_pages_hold_thirty_papers_and_link_to_their_neighbours(sqlite_database, client_for, make_paper, add_papers):
    add_papers(sqlite_database, *(make_paper(number) for number in range(1, 2 * PAPERS_PER_PAGE + 2)))
    client = client_for(sqlite_database)

    first, second, last = (client.get("/papers/recent", params={"page": page}) for page in (1, 2, 3))

    assert [len(paper_cards(page.text)) for page in (first, second, last)] == [PAPERS_PER_PAGE, PAPERS_PER_PAGE, 1]
    assert "2506.00061" in paper_cards(first.text)[0] and "2506.00001" in paper_cards(last.text)[0]
    assert 'rel="prev"' not in first.text and '<a href="/papers/recent?page=2" rel="next">' in first.text
    assert '<a href="/papers/recent" rel="prev">' in second.text
    assert '<a href="/papers/recent?page=3" rel="next">' in second.text
    assert '<ol class="papers" start="31" role="list">' in second.text and "Page 2 of 3" in second.text
    assert '<a href="/papers/recent?page=2" rel="prev">' in last.text and 'rel="next"' not in last.text
    assert "<title>Page 3 · Newest papers · Paperboard</title>" in last.text


@pytest.mark.parametrize(
    ("page", "status"),
    [("2", 404), ("99999999999999999999999999", 404), ("0", 422), ("-1", 422), ("abc", 422), ("", 422)],
)
def test_a_bad_page_number_gets_the_friendly_error_page(
    sqlite_database, client_for, make_paper, add_papers, page, status
):
    add_papers(sqlite_database, make_paper(1))

    response = client_for(sqlite_database).get("/papers/recent", params={"page": page})

    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f"Error {status}" in response.text
    assert '<a href="/">Back to the daily papers</a>' in response.text
    if status == 404:
        assert "the list has 1 page." in response.text
    else:
        assert "page:" in response.text


def test_markup_in_papers_is_shown_as_text(sqlite_database, client_for, make_paper, add_papers):
    paper = make_paper(
        1,
        title="<script>alert('title')</script>",
        abstract="<script>alert('abstract')</script> & more",
        authors=["<script>alert('author')</script>"],
        project_url='https://example.org/" onmouseover="alert(1)',
    )
    # Records refuse non-http(s) links; the page must not trust that alone, so one is slipped past the check.
    add_papers(sqlite_database, replace(paper, code_url="javascript:alert('code')"))

    html = client_for(sqlite_database).get("/papers/recent").text

    # The only scripts are the site's own files; none comes from the papers.
    assert re.findall(r"<script[^>]*>", html, re.IGNORECASE) == ['<script src="/static/vendor/htmx/htmx.min.js" defer>']
    for field in ("title", "abstract", "author"):
        assert f"&lt;script&gt;alert(&#39;{field}&#39;)&lt;/script&gt;" in html
    assert "javascript:" not in html
    assert '" onmouseover="' not in html and "&#34; onmouseover=&#34;" in html


class _ResourceCollector(HTMLParser):
    """Every address the browser fetches by itself while loading a page: stylesheets, icons, scripts, images."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "link" and attributes.get("href"):
            self.addresses.append(attributes["href"] or "")
        if attributes.get("src"):
            self.addresses.append(attributes["src"] or "")


def test_the_page_loads_nothing_from_elsewhere(sqlite_database, client_for):
    client = client_for(sqlite_database)
    response = client.get("/")
    collector = _ResourceCollector()
    collector.feed(response.text)

    assert collector.addresses and all(re.match(r"/(?!/)|data:", address) for address in collector.addresses)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    stylesheet = client.get("/static/style.css")
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
    assert "@import" not in stylesheet.text and "url(" not in stylesheet.text
    assert "prefers-color-scheme: dark" in stylesheet.text and ":focus-visible" in stylesheet.text


def test_an_unknown_address_gets_the_friendly_not_found_page(sqlite_database, client_for):
    response = client_for(sqlite_database).get("/no/such/page")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Page not found · Paperboard</title>" in response.text
    assert "There is nothing at this address" in response.text


def test_api_errors_stay_json(sqlite_database, client_for):
    response = client_for(sqlite_database).get("/api/no/such/thing")

    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_a_failing_page_gets_the_friendly_error_page_without_details(unmigrated_database, client_for):
    response = client_for(unmigrated_database, raise_server_exceptions=False).get("/")

    assert response.status_code == 500
    assert "<title>Something went wrong · Paperboard</title>" in response.text
    assert "Traceback" not in response.text and "no such table" not in response.text
