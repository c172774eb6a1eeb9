"""BibTeX and Markdown over HTTP: one paper, a day's, week's or month's list, search results; content types,
file names, redirects, negotiation on Accept, and the 404 and 400 pages."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from markdown_it import MarkdownIt
from pybtex.database import parse_string

from tests.community.factories import add_comment, add_listing, add_user, add_votes
from tests.markup import elements

HOSTILE_TITLE = "<script>alert(1)</script> & ]]> {braces} } [link](javascript:alert(1)) 50% _x_"
JUNE_4 = date(2025, 6, 4)


@pytest.fixture
def stored(database, make_paper, add_papers):
    add_papers(
        database,
        make_paper(
            1,
            title="Sparse attention for long documents",
            authors=["Ada Lovelace", "Émilie du Châtelet"],
            categories=["cs.CL", "cs.LG"],
            doi="10.1000/sparse.1",
            version=2,
            code_url="https://github.com/example/sparse",
        ),
        make_paper(2, title="Sparse attention again", authors=["Ada Lovelace"], categories=["cs.LG"]),
        make_paper(3, title="Gauge fields", authors=["Emmy Noether"], categories=["hep-th"]),
        make_paper(4, title="Hidden from the lists", authors=["Grace Hopper"]),
        make_paper(
            5, arxiv_id="hep-th/9901001", title="Old strings", categories=["hep-th"], published_at=datetime(1999, 1, 5)
        ),
    )
    moderator = add_user(database, "moderator", role="moderator")
    add_listing(database, "2506.00001", JUNE_4, upvotes=3, imported_submitter="akhaliq")
    add_listing(database, "2506.00002", JUNE_4, upvotes=7)
    add_listing(database, "2506.00003", date(2025, 6, 3), upvotes=1)
    add_listing(database, "2506.00004", JUNE_4, upvotes=50, hidden_by=moderator)
    return database


def entries(response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-bibtex; charset=utf-8"
    return dict(parse_string(response.text, "bibtex").entries)


def test_a_papers_bibtex_holds_what_was_stored(stored, client_for):
    response = client_for(stored).get("/papers/2506.00001.bib")

    assert response.headers["content-disposition"] == 'inline; filename="2506.00001.bib"'
    (key, entry), *_ = entries(response).items()
    assert key == "lovelace2025sparse"
    assert entry.fields["title"] == "{Sparse attention for long documents}"
    assert [str(person) for person in entry.persons["author"]] == ["Lovelace, Ada", "du Châtelet, Émilie"]
    assert (entry.fields["year"], entry.fields["month"]) == ("2025", "June")
    assert entry.fields["eprint"] == "2506.00001"
    assert entry.fields["primaryClass"] == "cs.CL"
    assert entry.fields["doi"] == "10.1000/sparse.1"
    assert entry.fields["url"] == "https://arxiv.org/abs/2506.00001"


def test_old_style_ids_and_other_spellings_of_an_id(stored, client_for):
    client = client_for(stored)

    old_style = client.get("/papers/hep-th/9901001.bib")
    versioned = client.get("/papers/2506.00001v2.bib", follow_redirects=False)
    markdown = client.get("/papers/arXiv:2506.00001.md", follow_redirects=False)

    assert old_style.headers["content-disposition"] == 'inline; filename="hep-th-9901001.bib"'
    assert entries(old_style)["author1999old"].fields["eprint"] == "hep-th/9901001"
    assert (versioned.status_code, versioned.headers["location"]) == (301, "/papers/2506.00001.bib")
    assert (markdown.status_code, markdown.headers["location"]) == (301, "/papers/2506.00001.md")


@pytest.mark.parametrize(
    ("path", "filename", "eprints"),
    [
        ("/papers/date/2025-06-04.bib", "2025-06-04.bib", ["2506.00002", "2506.00001"]),
        ("/papers/week/2025-W23.bib", "2025-W23.bib", ["2506.00002", "2506.00001", "2506.00003"]),
        ("/papers/month/2025-06.bib", "2025-06.bib", ["2506.00002", "2506.00001", "2506.00003"]),
        ("/papers/date/2025-06-05.bib", "2025-06-05.bib", []),
    ],
)
def test_a_lists_bibtex_holds_its_visible_papers_ranked(stored, client_for, path, filename, eprints):
    response = client_for(stored).get(path)

    assert response.headers["content-disposition"] == f'inline; filename="{filename}"'
    listed = entries(response)
    # Ranked as the list page ranks them; a paper a moderator hid is left out whatever its upvotes.
    assert [entry.fields["eprint"] for entry in listed.values()] == eprints
    if len(eprints) > 1:
        assert list(listed)[:2] == ["lovelace2025sparsea", "lovelace2025sparse"]


def test_unknown_periods_and_papers_are_404_pages(stored, client_for):
    client = client_for(stored)
    missing = ["/papers/date/2025-02-30.bib", "/papers/week/2025-W60.bib", "/papers/month/June.bib"]
    missing += [
        "/papers/2506.09999.bib",
        "/papers/2506.09999.md",
        "/papers/not-an-id.bib",
        "/papers/date/2025-06-04.md",
    ]

    for path in missing:
        response = client.get(path)

        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<p class="error-code">Error 404</p>' in response.text


def test_search_results_as_bibtex(stored, client_for):
    client = client_for(stored)

    found = client.get("/search.bib", params={"q": "sparse attention"})
    nothing = client.get("/search.bib", params={"q": ""})
    too_long = client.get("/search.bib", params={"q": "a" * 251})

    assert found.headers["content-disposition"] == 'inline; filename="search.bib"'
    assert {entry.fields["eprint"] for entry in entries(found).values()} == {"2506.00001", "2506.00002"}
    assert entries(nothing) == {}
    assert too_long.status_code == 400
    assert too_long.headers["content-type"].startswith("text/html")
    assert "at most 250 characters" in too_long.text


def test_a_hostile_title_stays_inside_its_bibtex_field(database, client_for, make_paper, add_papers):
    add_papers(database, make_paper(1, title=HOSTILE_TITLE, authors=["Mallory } Evil", "Ann Smith"]))

    (entry,) = entries(client_for(database).get("/papers/2506.00001.bib")).values()

    assert entry.fields["eprint"] == "2506.00001"
    assert entry.fields["title"] == (
        r"{\textless{}script\textgreater{}alert(1)\textless{}/script\textgreater{} \& ]]\textgreater{} {braces} "
        r"\textbraceright{} [link](javascript:alert(1)) 50\% \_x\_}"
    )
    assert [str(person) for person in entry.persons["author"]] == [r"\textbraceright{} Evil, Mallory", "Smith, Ann"]


def test_a_paper_as_markdown_with_its_standing_on_the_lists(stored, client_for):
    voter, writer = add_user(stored, "voter"), add_user(stored, "writer")
    add_votes(stored, "2506.00001", voter)
    add_comment(stored, "2506.00001", writer)
    client = client_for(stored)

    by_suffix = client.get("/papers/2506.00001.md")
    by_accept = client.get("/papers/2506.00001", headers={"Accept": "text/markdown"})
    unlisted = client.get("/papers/hep-th/9901001.md")

    assert by_suffix.headers["content-type"] == "text/markdown; charset=utf-8"
    assert by_accept.headers["content-type"] == "text/markdown; charset=utf-8"
    assert by_accept.text == by_suffix.text
    assert by_accept.headers["vary"] == "Accept"
    text = by_suffix.text
    assert text.startswith(
        "# Sparse attention for long documents\n\n[arXiv:2506.00001v2](<https://arxiv.org/abs/2506.00001>)"
    )
    assert "[Code](<https://github.com/example/sparse>)" in text
    assert "- **Authors:** Ada Lovelace, Émilie du Châtelet\n" in text
    assert "- **Published:** 2025-06-01\n" in text
    assert "- **Categories:** cs.CL, cs.LG\n" in text
    assert "- **Listed:** 2025-06-04, submitted by akhaliq\n- **Upvotes:** 4\n- **Comments:** 1\n" in text
    assert text.endswith("## Abstract\n\nThe abstract of paper number 1.\n")
    assert "# Old strings" in unlisted.text and "Upvotes" not in unlisted.text


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html; charset=utf-8"),
        ("*/*", "text/html; charset=utf-8"),
        ("text/markdown, text/html;q=0.9", "text/markdown; charset=utf-8"),
        ("text/html, text/markdown;q=0.5", "text/html; charset=utf-8"),
        ("text/markdown;q=0", "text/html; charset=utf-8"),
        ("text/*;q=0.5, text/markdown", "text/markdown; charset=utf-8"),
        ("application/json", "text/html; charset=utf-8"),
    ],
)
def test_the_paper_page_answers_in_the_type_the_client_prefers(stored, client_for, accept, expected):
    response = client_for(stored, page_cache_seconds=60).get("/papers/2506.00001", headers={"Accept": accept})

    assert response.status_code == 200
    assert response.headers["content-type"] == expected
    assert response.headers["vary"] == "Accept"


def test_with_the_page_cache_on_html_and_markdown_readers_each_get_their_own(stored, client_for):
    client = client_for(stored, page_cache_seconds=60)

    page = client.get("/papers/2506.00001")
    markdown = client.get("/papers/2506.00001", headers={"Accept": "text/markdown"})
    page_again = client.get("/papers/2506.00001")

    assert page.headers["content-type"].startswith("text/html")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert page_again.text == page.text


def test_a_hostile_title_cannot_inject_links_or_html_into_the_markdown(database, client_for, make_paper, add_papers):
    add_papers(database, make_paper(1, title=HOSTILE_TITLE, authors=["<img src=x onerror=alert(1)>", "Ann Smith"]))

    text = client_for(database).get("/papers/2506.00001.md").text
    rendered = MarkdownIt("commonmark", {"html": True}).render(text)

    assert elements(rendered).tags == {"h1", "h2", "p", "ul", "li", "strong", "a"}
    assert elements(rendered).values_of("href") == [
        "https://arxiv.org/abs/2506.00001",
        "https://arxiv.org/pdf/2506.00001",
    ]
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; ]]&gt; {braces} } [link](javascript:alert(1)) 50% _x_" in rendered
    )
    assert "&lt;img src=x onerror=alert(1)&gt;, Ann Smith" in rendered


def test_the_paper_page_links_its_bibtex_and_markdown_and_day_lists_their_bibtex(stored, client_for):
    client = client_for(stored)

    paper_page = client.get("/papers/hep-th/9901001").text
    day_page = client.get("/papers/date/2025-06-04").text

    assert '<a href="/papers/hep-th/9901001.bib" type="application/x-bibtex">BibTeX</a>' in paper_page
    assert '<a href="/papers/hep-th/9901001.md" type="text/markdown">Markdown</a>' in paper_page
    assert '<a href="/papers/date/2025-06-04.bib" type="application/x-bibtex">BibTeX of this list</a>' in day_page
    assert client.get("/papers/hep-th/9901001.bib").status_code == 200
    assert client.get("/papers/date/2025-06-04.bib").status_code == 200
