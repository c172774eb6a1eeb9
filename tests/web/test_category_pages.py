"""Category pages over HTTP: a category's newest papers page by page, with its name and feeds; arXiv's spelling in
any case; unknown categories are a 404."""

from __future__ import annotations

from paperboard.web.pages.categories import PAPERS_PER_PAGE
from tests.markup import main_of, paper_links


def test_a_category_page_lists_its_papers_newest_first_with_its_name_and_feeds(
    database, client_for, make_paper, add_papers
):
    add_papers(
        database,
        make_paper(1, categories=["cs.CL"]),
        make_paper(2, categories=["cs.LG", "cs.CL"]),
        make_paper(3, categories=["cs.CV"]),
        *(make_paper(number, categories=["cs.CL"]) for number in range(10, 10 + PAPERS_PER_PAGE)),
    )
    client = client_for(database)

    first = client.get("/categories/cs.CL")
    second = client.get("/categories/cs.CL?page=2")

    assert first.status_code == 200
    assert "<title>cs.CL Computation and Language · Paperboard</title>" in first.text
    page = main_of(first.text)
    assert '<h1><span class="category-code">cs.CL</span> Computation and Language</h1>' in page
    assert f"{PAPERS_PER_PAGE + 2} papers filed under cs.CL" in page
    assert paper_links(page) == [f"2506.{number:05d}" for number in range(9 + PAPERS_PER_PAGE, 9, -1)]
    # Cross-listed papers count: 2506.00002's main category is cs.LG.
    assert paper_links(main_of(second.text)) == ["2506.00002", "2506.00001"]
    assert '<a href="/feeds/category/cs.CL.atom" type="application/atom+xml">Atom</a>' in page
    assert '<link rel="alternate" type="application/rss+xml" title="Newest papers in cs.CL (RSS)" ' in first.text
    assert '<a href="/categories/cs.CL?page=2" rel="next">' in page
    assert client.get("/categories/cs.CL?page=3").status_code == 404
    # The feed names the page as its home.
    # From PAPERBOARD_BASE_URL (its default here), never from the request's Host.
    assert '<link href="http://127.0.0.1:8000/categories/cs.CL"' in client.get("/feeds/category/cs.CL.atom").text


def test_a_category_spelt_in_another_case_redirects_to_arxivs_spelling(sqlite_database, client_for):
    response = client_for(sqlite_database).get("/categories/CS.cl?page=1", follow_redirects=False)

    assert response.status_code == 308
    assert response.headers["location"] == "/categories/cs.CL?page=1"


def test_a_category_without_papers_says_so_and_an_unknown_one_is_a_404(sqlite_database, client_for):
    client = client_for(sqlite_database)

    empty = client.get("/categories/hep-th")
    unknown = client.get("/categories/cs.XY")

    assert empty.status_code == 200
    assert "No paper of this catalogue is filed under hep-th yet." in empty.text
    assert "High Energy Physics - Theory" in empty.text
    # Its feed would be a 404 until a paper is filed there: not offered.
    assert "/feeds/category/" not in empty.text
    assert unknown.status_code == 404
    assert "arXiv has no category &#39;cs.XY&#39;" in unknown.text
