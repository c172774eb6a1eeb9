"""The search page over HTTP: results in each mode, the query's words marked, markup in records shown as text,
filters, orders, pages of results, htmx asking for the results alone, and wrong input answered with the reason."""

from __future__ import annotations

import html
import re
import time
from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest

from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embed_pending
from paperboard.search.indexing import build_index
from paperboard.search.service import QUERY_MAX_LENGTH, REFRESH_SECONDS
from paperboard.web.pages.search import RESULTS_PER_PAGE
from tests.community.factories import add_listing
from tests.markup import elements

HOSTILE_TITLE = '<script>alert("title")</script> Attention & "quotes"'
HOSTILE_ABSTRACT = "Tom & Jerry's <b>attention</b> \"study\" <img src=x onerror=alert('abstract')>"
# Papers 1, 2, 3 and 5 say "attention" in some form; 4 is about molecules and shares no word with that query.
PAPERS = {
    1: {
        "title": "Sparse attention for long documents",
        "abstract": "We make attention sparse so that transformers can read documents of a hundred thousand tokens.",
        "categories": ["cs.CL", "cs.LG"],
        "published_at": datetime(2025, 6, 1, 9),
        "code_url": "https://github.com/example/sparse",
        "authors": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Emmy Noether", "Kurt Gödel"],
    },
    2: {
        "title": "Attention sinks in streaming language models",
        "abstract": "Keeping the first tokens in the cache keeps streaming generation stable.",
        "categories": ["cs.CL"],
        "published_at": datetime(2025, 6, 10, 9),
    },
    3: {
        "title": "Multi-head attentions in vision",
        "abstract": "Vision transformers with many heads classify images.",
        "categories": ["cs.CV"],
        "published_at": datetime(2025, 5, 20, 9),
        "code_url": "https://github.com/example/heads",
    },
    4: {
        "title": "Graph neural networks for molecules",
        "abstract": "Message passing over molecular graphs predicts chemical properties.",
        "categories": ["q-bio.BM"],
        "published_at": datetime(2025, 6, 5, 9),
    },
    5: {
        "title": HOSTILE_TITLE,
        "abstract": HOSTILE_ABSTRACT,
        "categories": ["cs.AI"],
        "published_at": datetime(2025, 4, 1, 9),
    },
}
ATTENTION = {1, 2, 3, 5}


@pytest.fixture
def catalogue(database, make_paper, add_papers):
    add_papers(database, *(make_paper(number, **fields) for number, fields in PAPERS.items()))
    add_listing(database, "2506.00001", date(2025, 6, 4), upvotes=2)
    add_listing(database, "2506.00002", date(2025, 6, 11), upvotes=9)
    return database


@pytest.fixture
def embedded(catalogue):
    """The catalogue with every paper's vectors stored, as `paperboard index` leaves it (the index file is not
    needed: the site reads papers and vectors newer than its index from the database)."""
    assert embed_pending(catalogue, Embedder(threads=1)) == len(PAPERS)
    return catalogue


def results_of(html_text: str) -> str:
    match = re.search(r'<ol class="papers search-hits".*?</ol>', html_text, re.S)
    return match.group(0) if match else ""


def numbers(response) -> list[int]:
    """The papers found, in the order shown, by their number in PAPERS."""
    assert response.status_code == 200, response.text
    return [int(number) for number in re.findall(r'<a href="/papers/2506\.(\d{5})">', results_of(response.text))]


def search(client, **parameters):
    return client.get("/search", params=parameters)


def test_keyword_results_link_to_their_papers_with_date_categories_authors_and_upvotes(catalogue, client_for):
    response = search(client_for(catalogue), q="attention", mode="keyword")

    assert set(numbers(response)) == ATTENTION
    found = results_of(response.text)
    first = found[found.index('href="/papers/2506.00001"') :].split("</article>")[0]
    assert '<time datetime="2025-06-01">1 Jun 2025</time>' in first
    assert re.findall(r'<a class="category" href="/categories/([^"]+)">\1</a>', first) == ["cs.CL", "cs.LG"]
    # Authors shortened as on the other lists, each linked to their page.
    assert "Ada Lovelace, Alan Turing, Grace Hopper" in re.sub(r"<[^>]+>", "", first) and "+ 2 more" in first
    assert '<a href="/authors/Ada%20Lovelace">Ada Lovelace</a>' in first
    assert "▲ 2" in first
    assert "4 results" in response.text and "for “attention”" in response.text
    assert "<title>attention · Search · Paperboard</title>" in response.text


def test_hybrid_search_finds_papers_by_meaning_as_well_as_by_words(embedded, client_for):
    client = client_for(embedded)

    # No paper says any of these words; the one about molecules means them.
    assert numbers(search(client, q="drug discovery chemistry", mode="keyword")) == []
    assert numbers(search(client, q="drug discovery chemistry", mode="semantic")) == [4]
    assert numbers(search(client, q="drug discovery chemistry")) == [4]  # hybrid is the default
    hybrid = numbers(search(client, q="sparse attention", mode="hybrid"))
    assert hybrid[0] == 1 and set(hybrid) >= ATTENTION


def test_matched_words_and_their_other_forms_are_marked(catalogue, client_for):
    response = search(client_for(catalogue), q="Attention transformer", mode="keyword")

    found = results_of(response.text)
    marks = re.findall(r"<mark>([^<]*)</mark>", found)
    assert {"attention", "Attention", "attentions", "transformers"} <= set(marks)
    assert '<a href="/papers/2506.00003">Multi-head <mark>attentions</mark> in vision</a>' in found
    assert "We make <mark>attention</mark> sparse so that <mark>transformers</mark> can read" in found
    # Only the query's words: not "sparse", not stopwords.
    assert not set(marks) - {"attention", "Attention", "attentions", "transformers"}


def test_a_quoted_phrase_is_marked_as_one_run(catalogue, client_for):
    response = search(client_for(catalogue), q='"attention sinks"', mode="keyword")

    assert numbers(response) == [2]
    assert "<mark>Attention sinks</mark> in streaming" in results_of(response.text)


def test_markup_in_a_record_is_shown_as_text(catalogue, client_for):
    response = search(client_for(catalogue), q="attention quotes study", mode="keyword")

    assert numbers(response)[0] == 5
    found = results_of(response.text)
    title = (
        "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; <mark>Attention</mark> &amp; &#34;<mark>quotes</mark>&#34;"
    )
    assert title in found
    assert "Tom &amp; Jerry&#39;s &lt;b&gt;<mark>attention</mark>&lt;/b&gt; &#34;<mark>study</mark>&#34;" in found
    assert html.unescape(re.sub(r"</?mark>", "", found)).count(HOSTILE_TITLE) == 1
    built = elements(found)
    assert not {"script", "img", "b"} & built.tags
    assert "onerror" not in built.attribute_names


def test_a_hostile_query_is_shown_as_text_too(catalogue, client_for):
    query = '"><script>alert(1)</script> attention'
    response = search(client_for(catalogue), q=query, mode="keyword")

    assert response.status_code == 200
    main = response.text[response.text.index("<main") : response.text.index("</main>")]
    assert "<script>" not in main
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt; attention"' in main
    assert "for “&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt; attention”" in main


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"category": "cs.CL"}, {1, 2}),
        ({"category": " cs "}, {1, 2, 3, 5}),  # an archive covers its categories
        ({"category": "hep-th"}, set()),
        ({"published_from": "2025-06-01"}, {1, 2}),
        ({"published_to": "2025-05-31"}, {3, 5}),
        ({"published_from": "2025-05-01", "published_to": "2025-06-01"}, {1, 3}),
        ({"has_code": "on"}, {1, 3}),
        ({"listed": "on"}, {1, 2}),
        ({"listed": "on", "has_code": "on", "category": "cs.CL"}, {1}),
        ({"has_code": "", "listed": "", "category": "", "published_from": "", "published_to": ""}, ATTENTION),
    ],
)
def test_filters_narrow_the_results(catalogue, client_for, filters, expected):
    response = search(client_for(catalogue), q="attention", mode="keyword", **filters)

    assert set(numbers(response)) == expected
    # The form shows the filters back as they were chosen.
    form = response.text[response.text.index('<form id="search-form"') : response.text.index("</form>")]
    if filters.get("has_code"):
        assert '<input type="checkbox" name="has_code" checked>' in form
    if filters.get("published_from"):
        assert f'name="published_from" value="{filters["published_from"]}"' in form


def test_sort_orders(catalogue, client_for):
    client = client_for(catalogue)

    assert numbers(search(client, q="attention", mode="keyword", sort="date")) == [2, 1, 3, 5]
    upvoted = numbers(search(client, q="attention", mode="keyword", sort="upvotes"))
    assert upvoted[:2] == [2, 1] and set(upvoted[2:]) == {3, 5}
    relevance = search(client, q="attention", mode="keyword")
    assert '<option value="relevance" selected>Relevance</option>' in relevance.text
    assert '<option value="date" selected>Newest</option>' in search(client, q="x", sort="date").text


@pytest.fixture
def many(sqlite_database, make_paper, add_papers):
    """25 papers about paging, numbered 101 to 125 from the oldest."""
    add_papers(
        sqlite_database,
        *(make_paper(number, title=f"Paging study {number}", abstract="On paging.") for number in range(101, 126)),
    )
    return sqlite_database


def test_results_come_a_page_at_a_time(many, client_for):
    client = client_for(many)

    first = search(client, q="paging", mode="keyword", sort="date")
    second = search(client, q="paging", mode="keyword", sort="date", offset="20")

    assert numbers(first) == list(range(125, 125 - RESULTS_PER_PAGE, -1))
    assert numbers(second) == [105, 104, 103, 102, 101]
    assert "25 results" in first.text and "Results 1–20 of 25" in first.text
    assert '<ol class="papers search-hits" start="21" role="list">' in second.text
    next_link = re.search(r'<a href="([^"]+)" rel="next"', first.text).group(1)
    assert html.unescape(next_link) == "/search?q=paging&mode=keyword&sort=date&offset=20"
    previous_link = re.search(r'<a href="([^"]+)" rel="prev"', second.text).group(1)
    assert html.unescape(previous_link) == "/search?q=paging&mode=keyword&sort=date"
    assert 'rel="next"' not in second.text and 'rel="prev"' not in first.text


def test_a_page_past_the_last_result_says_so(many, client_for):
    response = search(client_for(many), q="paging", mode="keyword", offset="200")

    assert response.status_code == 200
    assert numbers(response) == []
    assert "There are no results this far: the search has 25." in response.text
    assert 'href="/search?q=paging&amp;mode=keyword"' in response.text


def test_an_htmx_request_gets_the_results_alone_and_the_address_to_show(catalogue, client_for):
    client = client_for(catalogue)
    parameters = {"q": "attention", "mode": "keyword", "category": "cs.CL", "has_code": "", "sort": "relevance"}

    partial = client.get("/search", params=parameters, headers={"HX-Request": "true"})
    whole = client.get("/search", params=parameters)

    assert partial.status_code == 200
    assert "<html" not in partial.text and "search-form" not in partial.text and "<main" not in partial.text
    assert partial.text.lstrip().startswith("<title>attention · Search · Paperboard</title>")
    assert numbers(partial) == numbers(whole) and set(numbers(partial)) == {1, 2}
    assert results_of(partial.text) == results_of(whole.text)
    # The address bar gets the search's own address: only what differs from the defaults.
    assert partial.headers["hx-push-url"] == "/search?q=attention&mode=keyword&category=cs.CL"
    assert "hx-push-url" not in whole.headers
    assert "HX-Request" in partial.headers["vary"] and "HX-Request" in whole.headers["vary"]
    # That address, loaded afresh, is the whole page with the same results.
    reloaded = client.get(partial.headers["hx-push-url"])
    assert "search-form" in reloaded.text and results_of(reloaded.text) == results_of(whole.text)
    # When its history cache misses, htmx asks again with HX-Request, and then needs the whole page.
    restored = client.get(
        "/search", params=parameters, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restored.text and "search-form" in restored.text


def test_the_form_asks_htmx_for_results_as_the_reader_types_and_filters(sqlite_database, client_for):
    page = client_for(sqlite_database).get("/search").text

    box = re.search(r'<input id="search-q"[^>]*>', page, re.S).group(0)
    assert 'hx-get="/search"' in box and 'hx-trigger="input changed delay:300ms, search"' in box
    assert 'hx-include="closest form"' in box and 'maxlength="250"' in box
    filters = re.search(r'<fieldset class="search-filters"[^>]*>', page, re.S).group(0)
    assert 'hx-trigger="change"' in filters and 'hx-include="closest form"' in filters
    form = re.search(r'<form id="search-form"[^>]*>', page, re.S).group(0)
    assert 'action="/search"' in form and 'method="get"' in form
    assert 'hx-target="#search-results"' in form and 'hx-push-url="true"' in form
    assert '<section id="search-results"' in page


def test_an_empty_query_is_the_page_with_a_hint(catalogue, client_for):
    client = client_for(catalogue)

    for query in [None, "", "   "]:
        response = client.get("/search", params={} if query is None else {"q": query})

        assert response.status_code == 200
        assert "Type what you are looking for." in response.text
        assert numbers(response) == []
        assert "/feeds/search" not in response.text
        assert "<title>Search · Paperboard</title>" in response.text


def test_a_query_without_matches_says_so(catalogue, client_for):
    response = search(client_for(catalogue), q="zymurgy", mode="keyword", has_code="on")

    assert response.status_code == 200
    assert numbers(response) == []
    assert "0 results" in response.text and "No paper matches." in response.text
    assert "Try without some of the filters" in response.text


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("2506.00004", "/papers/2506.00004"),
        ("2506.00004v2", "/papers/2506.00004"),
        ("arXiv:2506.00004", "/papers/2506.00004"),
        (" ARXIV:2506.00004v1 ", "/papers/2506.00004"),
        ("https://arxiv.org/abs/2506.00004", "/papers/2506.00004"),
        ("arxiv.org/pdf/2506.00004v3.pdf", "/papers/2506.00004"),
        ("https://huggingface.co/papers/2506.00004", "/papers/2506.00004"),
        ("hep-th/9901001", "/papers/hep-th/9901001"),
        ("arXiv:hep-th/9901001v2", "/papers/hep-th/9901001"),
        ("https://arxiv.org/abs/hep-th/9901001", "/papers/hep-th/9901001"),
    ],
)
def test_an_arxiv_id_in_any_form_finds_its_paper_on_the_page_the_api_and_the_feed(
    catalogue, client_for, make_paper, add_papers, query, path
):
    # An old-style paper whose title shares words with the addresses ("arxiv", "abs"), which must not rank.
    add_papers(catalogue, make_paper(9, arxiv_id="hep-th/9901001", title="Abs of arXiv strings"))
    client = client_for(catalogue)

    # The page goes to the paper; as you type (htmx) it is the one result, whatever the mode and filters.
    page = client.get("/search", params={"q": query}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == path
    for mode in ("hybrid", "keyword", "semantic"):
        typed = client.get("/search", params={"q": query, "mode": mode, "sort": "date"}, headers={"HX-Request": "true"})
        assert re.findall(r'<a href="(/papers/[^"]+)">', results_of(typed.text)) == [path], mode
        assert "1 result" in typed.text
    api = client.get("/api/papers/search", params={"q": query, "category": "cs.CL"})
    assert [item["paper"]["id"] for item in api.json()] == [path.removeprefix("/papers/")]
    feed = feedparser.parse(client.get("/feeds/search.atom", params={"q": query}).content)
    assert [urlsplit(entry.link).path for entry in feed.entries] == [path]


def test_an_arxiv_id_the_catalogue_lacks_finds_nothing_and_says_so(catalogue, client_for):
    client = client_for(catalogue)

    page = client.get("/search", params={"q": "https://arxiv.org/abs/2506.09999v2"}, follow_redirects=False)

    assert page.status_code == 200 and numbers(page) == []
    assert "arXiv 2506.09999 is not in this catalogue" in page.text
    assert '<a href="https://arxiv.org/abs/2506.09999" rel="noopener">' in page.text
    assert client.get("/api/papers/search", params={"q": "arXiv:2506.09999"}).json() == []


def test_an_over_long_query_is_a_400_that_keeps_the_query(catalogue, client_for):
    client = client_for(catalogue)
    too_long = "attention " * 25 + "x"
    assert len(too_long) == QUERY_MAX_LENGTH + 1

    response = search(client, q=too_long)
    longest = search(client, q=too_long[:-1], mode="keyword")

    assert response.status_code == 400
    assert "at most 250 characters" in response.text
    assert f'value="{too_long}"' in response.text
    assert results_of(response.text) == ""
    assert longest.status_code == 200 and set(numbers(longest)) == ATTENTION


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"published_from": "2025-13-01"}, "The first day (published_from) &#39;2025-13-01&#39; is not a date"),
        ({"published_to": "yesterday"}, "The last day (published_to) &#39;yesterday&#39; is not a date"),
        (
            {"published_from": "2025-06-02", "published_to": "2025-06-01"},
            "The first day (2025-06-02) comes after the last (2025-06-01)",
        ),
        ({"mode": "fuzzy"}, "mode must be one of keyword, semantic, hybrid, not &#39;fuzzy&#39;"),
        ({"sort": "stars"}, "sort must be one of relevance, date, upvotes"),
        ({"has_code": "maybe"}, "Has code (has_code) is ticked or not"),
        ({"offset": "-20"}, "offset is a number of results to skip, from 0 to 200"),
        ({"offset": "201"}, "offset is a number of results to skip, from 0 to 200"),
        ({"category": "c" * 65}, "A category is at most 64 characters long"),
    ],
)
def test_wrong_parameters_are_a_400_saying_what_is_wrong(catalogue, client_for, parameters, message):
    response = search(client_for(catalogue), q="attention", **parameters)

    assert response.status_code == 400
    assert message in response.text
    assert 'role="alert"' in response.text
    assert results_of(response.text) == ""
    # The form keeps what was typed.
    assert 'value="attention"' in response.text


def test_a_wrong_parameter_in_an_htmx_request_gets_the_message_in_the_results(catalogue, client_for):
    response = client_for(catalogue).get(
        "/search", params={"q": "attention", "published_from": "2025-02-30"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 400
    assert "<html" not in response.text
    assert "is not a date" in response.text and 'role="alert"' in response.text


def test_the_page_links_the_feed_and_bibtex_of_its_query(catalogue, client_for):
    client = client_for(catalogue)

    page = search(client, q="sparse attention").text
    filtered = search(client, q="sparse attention", category="cs.CL").text

    assert 'href="/feeds/search.rss?q=sparse+attention"' in page
    assert 'href="/feeds/search.atom?q=sparse+attention"' in page
    assert 'href="/search.bib?q=sparse+attention"' in page
    assert '<link rel="alternate" type="application/rss+xml"' in page
    assert "These follow the words only" not in page and "These follow the words only" in filtered
    bibtex = client.get(html.unescape(re.search(r'href="(/search\.bib[^"]+)"', page).group(1)))
    assert bibtex.status_code == 200 and "Sparse attention for long documents" in bibtex.text


def test_the_search_feed_leads_to_the_search_page(catalogue, client_for):
    client = client_for(catalogue)

    feed = feedparser.parse(client.get("/feeds/search.atom", params={"q": "sparse attention"}).content)

    link = urlsplit(feed.feed.link)
    assert link.path == "/search" and parse_qs(link.query) == {"q": ["sparse attention"]}
    assert numbers(client.get(link.path + "?" + link.query))[0] == 1


def test_every_page_has_a_search_box_in_its_header_but_the_search_page(catalogue, client_for):
    client = client_for(catalogue)

    for path in ["/", "/papers/recent", "/papers/2506.00001", "/login"]:
        header = client.get(path).text.split("</header>")[0]
        assert '<form class="site-search" role="search" method="get" action="/search">' in header, path
        assert '<input type="search" name="q" aria-label="Search papers"' in header, path
    assert "site-search" not in client.get("/search").text


def coverage_note(client) -> str | None:
    """The search page's line on how much of the catalogue meaning can find, as a reader reads it."""
    match = re.search(r'<p id="search-coverage"[^>]*>(.*?)</p>', client.get("/search").text, re.S)
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split()) if match else None


def test_the_page_says_how_much_meaning_can_find_until_every_paper_has_a_vector(
    catalogue, client_for, make_paper, add_papers
):
    embedder = Embedder(threads=1)
    assert embed_pending(catalogue, embedder, limit=2) == 2
    client = client_for(catalogue)
    # Before any index: every paper is read from the database.
    assert coverage_note(client) == (
        "Search by meaning covers 40.0% of the papers so far (2 of 5): the others are found by their words until "
        "the worker has read them."
    )

    # An index of those, then one more vector and one more paper since: each part of what search holds counts.
    build_index(catalogue, client.app.state.settings, embedder)
    assert embed_pending(catalogue, embedder, limit=1) == 1
    add_papers(catalogue, make_paper(6))
    time.sleep(REFRESH_SECONDS)
    assert coverage_note(client).startswith("Search by meaning covers 50.0% of the papers so far (3 of 6)")

    assert embed_pending(catalogue, embedder) == 3
    time.sleep(REFRESH_SECONDS)
    assert coverage_note(client) is None
    # The results swapped in as the reader types do not repeat it.
    assert (
        "search-coverage" not in client.get("/search", params={"q": "attention"}, headers={"HX-Request": "true"}).text
    )


def test_a_fully_embedded_catalogue_needs_no_note(embedded, client_for):
    assert coverage_note(client_for(embedded)) is None


def test_latex_in_titles_and_abstracts_is_shown_as_text_not_as_source(database, make_paper, add_papers, client_for):
    add_papers(
        database,
        make_paper(
            1,
            title=r"D$^{2}$R$^{2}$OSR: \textbf{Policy} efficiency",
            abstract=r"We raise \emph{policy efficiency} by 51.4\% with \textsc{Rollout} caching.",
        ),
    )
    response = search(client_for(database), q="policy efficiency", mode="keyword")

    assert numbers(response) == [1]
    found = html.unescape(re.sub(r"</?mark>", "", results_of(response.text)))
    assert "D²R²OSR: Policy efficiency" in found
    assert "We raise policy efficiency by 51.4% with Rollout caching." in found
    assert "\\" not in found and "$" not in found
    assert "<mark>policy</mark> <mark>efficiency</mark>" in results_of(response.text)
