"""Author pages over HTTP: the papers of a name newest first, page by page, with co-authors and categories linked;
names of any shape reached from the links the site writes; unknown names are a 404."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

import pytest

from paperboard.web.pages.authors import PAPERS_PER_PAGE
from tests.markup import elements, main_of, paper_links


def test_an_author_page_lists_their_papers_newest_first_with_coauthors_and_categories(
    database, client_for, make_paper, add_papers
):
    add_papers(
        database,
        make_paper(1, authors=["Ada Lovelace", "Alan Turing"], categories=["cs.LG", "stat.ML"]),
        make_paper(2, authors=["Grace Hopper"], categories=["cs.PL"]),
        make_paper(3, authors=["Alan Turing", "ada lovelace", "Grace Hopper"], categories=["cs.LG"]),
        make_paper(4, authors=["Ada Lovelace"], categories=["cs.CL"]),
    )

    response = client_for(database).get("/authors/Ada%20Lovelace")

    assert response.status_code == 200
    page = main_of(response.text)
    assert '<h1 id="author-title">Ada Lovelace</h1>' in page
    assert "Papers listed under this exact name as arXiv spells it" in page
    assert paper_links(page) == ["2506.00004", "2506.00003", "2506.00001"]
    assert "<dt>Papers</dt>\n    <dd>3</dd>" in page
    coauthors = page[page.index('aria-label="Frequent co-authors"') :]
    assert re.findall(r'<li><a href="/authors/([^"]+)">[^<]+</a> \((\d+)\)</li>', coauthors) == [
        ("Alan%20Turing", "2"),
        ("Grace%20Hopper", "1"),
    ]
    assert re.findall(
        r'<a class="category" href="/categories/([^"]+)">[^<]+</a>\s*<span class="count">(\d+)', page
    ) == [
        ("cs.LG", "2"),
        ("cs.CL", "1"),
        ("stat.ML", "1"),
    ]
    # Another case or spacing reaches the same page.
    assert paper_links(client_for(database).get("/authors/ADA   lovelace").text) == paper_links(page)


def test_an_author_page_is_paginated_like_the_other_lists(database, client_for, make_paper, add_papers):
    add_papers(database, *(make_paper(number, authors=["Prolific Writer"]) for number in range(1, PAPERS_PER_PAGE + 2)))
    client = client_for(database)

    first = main_of(client.get("/authors/Prolific%20Writer").text)
    second = main_of(client.get("/authors/Prolific%20Writer?page=2").text)

    assert len(paper_links(first)) == PAPERS_PER_PAGE and paper_links(first)[0] == f"2506.{PAPERS_PER_PAGE + 1:05d}"
    assert paper_links(second) == ["2506.00001"]
    assert '<a href="/authors/Prolific%20Writer?page=2" rel="next">' in first
    assert '<ol class="papers" start="31" role="list">' in second
    assert client.get("/authors/Prolific%20Writer?page=3").status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "J. R. R. Tolkien",
        "The A/B Collaboration",
        'Zoë O\'Brien "Jr"',
        "李小龙",
        "Hash #1 & ?query 100% + more",
        "...",
    ],
)
def test_names_of_any_shape_link_to_their_page(sqlite_database, client_for, make_paper, add_papers, name):
    add_papers(sqlite_database, make_paper(1, authors=["Someone Else", name]))
    client = client_for(sqlite_database)

    paper_page = client.get("/papers/2506.00001").text
    hrefs = [href for href in elements(paper_page).values_of("href") if href and href.startswith("/authors/")]
    assert len(hrefs) == 2 and unquote(hrefs[1].removeprefix("/authors/")) == name
    response = client.get(hrefs[1])

    assert response.status_code == 200
    assert paper_links(main_of(response.text)) == ["2506.00001"]
    # The name is the page's title, as text.
    heading = re.search(r'<h1 id="author-title">([^<]*)</h1>', response.text)
    assert heading is not None and html.unescape(heading.group(1)) == name


def test_a_name_no_paper_lists_is_a_404(sqlite_database, client_for, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1, authors=["Ada Lovelace"]))

    response = client_for(sqlite_database).get("/authors/Charles%20Babbage")

    assert response.status_code == 404
    assert "No paper of this catalogue lists the author" in response.text
