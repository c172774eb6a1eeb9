"""The paper page over HTTP: the record in full, links, listing, withdrawn papers, ids in every form, 404s, and
the LaTeX left for KaTeX, which the site serves itself."""

from __future__ import annotations

import re
from datetime import date, datetime

import feedparser
import pytest
from starlette.requests import Request

from paperboard.catalog.queries import get_paper
from paperboard.web.app import SECURITY_HEADERS
from paperboard.web.templating import templates
from tests.community.factories import add_listing
from tests.markup import elements, main_of


def test_the_page_shows_the_whole_record(database, client_for, make_paper, add_papers):
    authors = [f"Author {letter}" for letter in "ABCDEFGHIJ"]
    abstract = "We show that attention is enough. " * 40
    add_papers(
        database,
        make_paper(
            1,
            title="Attention over everything",
            abstract=abstract,
            authors=authors,
            categories=["cs.LG", "cs.CL", "stat.ML"],
            published_at=datetime(2025, 6, 4, 17, 59),
            updated_at=datetime(2025, 6, 20, 9, 0),
            version=3,
            comment="12 pages, 4 figures",
            journal_ref="Journal of Things 12 (2025) 1-12",
            doi="10.1000/things.2025.1",
            code_url="https://github.com/example/attention",
            project_url="https://example.org/attention",
        ),
    )

    response = client_for(database).get("/papers/2506.00001")

    assert response.status_code == 200
    page = main_of(response.text)
    assert "<title>Attention over everything · Paperboard</title>" in response.text
    assert '<h1 id="paper-title" class="paper-page-title" data-math>Attention over everything</h1>' in page
    assert "arXiv:2506.00001v3" in page
    assert all(f'<li><a href="/authors/Author%20{author[-1]}">{author}</a></li>' in page for author in authors)
    assert abstract.strip() in page  # the whole abstract, not its start
    assert '<time datetime="2025-06-04">4 Jun 2025</time>' in page
    assert '<time datetime="2025-06-20">20 Jun 2025</time>' in page
    assert re.findall(r'<a class="category" href="/categories/([^"]+)">\1</a>', page) == ["cs.LG", "cs.CL", "stat.ML"]
    assert "12 pages, 4 figures" in page and "Journal of Things 12 (2025) 1-12" in page
    assert '<a href="https://doi.org/10.1000/things.2025.1">10.1000/things.2025.1</a>' in page
    links = dict(re.findall(r'<a href="([^"]+)"[^>]*>(arXiv page|PDF|Code|Project page)</a>', page))
    assert links == {
        "https://arxiv.org/abs/2506.00001": "arXiv page",
        "https://arxiv.org/pdf/2506.00001": "PDF",
        "https://github.com/example/attention": "Code",
        "https://example.org/attention": "Project page",
    }
    assert 'class="vote-count">0<' in page
    assert "Similar papers" not in page  # the slot stays empty until search fills it: no made-up results


def test_links_other_than_http_are_not_made_links(sqlite_database, client_for, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1))
    with sqlite_database.session() as session:
        # Record validation refuses such links on the way in; the page must not rely on it.
        paper = get_paper(session, "2506.00001")
        paper.code_url = "javascript:alert(1)"
        paper.project_url = "data:text/html,<script>alert(1)</script>"

    page = main_of(client_for(sqlite_database).get("/papers/2506.00001").text)

    assert "javascript:" not in page and "data:text" not in page
    assert ">Code<" not in page and ">Project page<" not in page


def test_markup_in_a_record_is_shown_as_text(sqlite_database, client_for, make_paper, add_papers):
    add_papers(
        sqlite_database,
        make_paper(1, title="<script>alert('title')</script>", abstract="<img src=x onerror=alert(1)> $x<y$"),
    )
    page = main_of(client_for(sqlite_database).get("/papers/2506.00001").text)
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt; $x&lt;y$" in page
    assert "img" not in elements(page).tags and "script" not in elements(page).tags


def test_old_style_ids_have_pages(sqlite_database, client_for, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1, arxiv_id="hep-th/9901001", published_at=datetime(1999, 1, 4)))
    response = client_for(sqlite_database).get("/papers/hep-th/9901001")
    assert response.status_code == 200
    page = main_of(response.text)
    assert "arXiv:hep-th/9901001" in page
    assert '<a href="https://arxiv.org/pdf/hep-th/9901001">PDF</a>' in page
    assert 'action="/papers/hep-th/9901001/upvote"' not in page  # visitors get a link to sign in instead
    assert "/login?next=/papers/hep-th/9901001" in page


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/papers/2506.00001v2", "/papers/2506.00001"),
        ("/papers/arXiv:2506.00001", "/papers/2506.00001"),
        ("/papers/https://arxiv.org/abs/2506.00001v1", "/papers/2506.00001"),
        ("/papers/math.GT/0309136", "/papers/math/0309136"),
    ],
)
def test_other_forms_of_an_id_redirect_to_the_canonical_address(sqlite_database, client_for, path, canonical):
    response = client_for(sqlite_database).get(path, follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == canonical


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/papers/not-an-id", "is not an arXiv id (expected e.g. 2506.03781 or hep-th/9901001)"),
        ("/papers/2513.00001", "month 13 does not exist"),
        ("/papers/2506.00001/nonsense", "is not an arXiv id"),
        # Brackets read as an IPv6 host by urllib, which refused them with its own error (a 500).
        ("/papers/[cs.LG]", "is not an arXiv id"),
    ],
)
def test_malformed_ids_are_a_friendly_404(sqlite_database, client_for, path, message):
    response = client_for(sqlite_database).get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def test_a_well_formed_id_not_in_the_catalogue_suggests_submitting_it(sqlite_database, client_for):
    response = client_for(sqlite_database).get("/papers/2506.99999")
    assert response.status_code == 404
    page = main_of(response.text)
    assert "arXiv:2506.99999 is not in this catalogue" in page
    assert '<a href="/submit">submit it' in page
    assert '<a href="https://arxiv.org/abs/2506.99999">arXiv</a>' in page


def test_a_withdrawn_paper_says_so_and_takes_no_votes_or_comments(sqlite_database, sign_in, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1, deleted_at=datetime(2025, 6, 9, 10, 0)))
    client = sign_in(sqlite_database, "ann")
    response = client.get("/papers/2506.00001")
    assert response.status_code == 200
    page = main_of(response.text)
    assert "This paper was withdrawn from arXiv on" in page and "9 Jun 2025" in page
    assert "/upvote" not in page and "vote-button" not in page
    assert 'name="body"' not in page and "takes no new comments" in page


def test_a_listed_paper_names_its_day_and_submitter(sqlite_database, client_for, create_user, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1), make_paper(2), make_paper(3), make_paper(4))
    ann = create_user(sqlite_database, "ann")
    moderator = create_user(sqlite_database, "mod", role="moderator")
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 5), submitter=ann, upvotes=7, comments=2)
    add_listing(sqlite_database, "2506.00002", date(2025, 6, 6), imported_submitter="akhaliq")
    add_listing(sqlite_database, "2506.00003", date(2025, 6, 6), submitter=ann, hidden_by=moderator)
    client = client_for(sqlite_database)

    local = main_of(client.get("/papers/2506.00001").text)
    assert re.search(
        r'on <a href="/papers/date/2025-06-05"><time datetime="2025-06-05">5 Jun 2025</time></a>\s+'
        r'by <a href="/users/ann">ann</a>',
        local,
    )
    assert 'class="vote-count">7<' in local  # imported upvotes count
    assert 'Comments <span class="count">(2)</span>' in local and "2 comments" in local

    imported = main_of(client.get("/papers/2506.00002").text)
    assert 'href="/papers/date/2025-06-06"' in imported
    assert '<span class="imported-submitter">akhaliq</span>' in imported

    for unlisted in ("2506.00003", "2506.00004"):  # taken off its list by a moderator, or never listed
        page = main_of(client.get(f"/papers/{unlisted}").text)
        assert "Listed" not in page and "/papers/date/" not in page


def test_the_latex_is_left_for_katex_and_only_files_of_the_site_are_loaded(
    sqlite_database, client_for, make_paper, add_papers
):
    title = r"Attention in $\mathcal{O}(n)$ time"
    abstract = r"We prove $$\sum_{i=1}^n x_i \le \frac{1}{2}$$ and \(\alpha < \beta\) and \[E = mc^2\]."
    add_papers(sqlite_database, make_paper(1, title=title, abstract=abstract))
    response = client_for(sqlite_database).get("/papers/2506.00001")

    html = response.text
    assert r"Attention in $\mathcal{O}(n)$ time</h1>" in html
    assert r"<p data-math>We prove $$\sum_{i=1}^n x_i \le \frac{1}{2}$$ and \(\alpha &lt; \beta\)" in html
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts == [
        ' src="/static/vendor/htmx/htmx.min.js" defer',
        ' src="/static/vendor/katex/katex.min.js" defer',
        ' src="/static/vendor/katex/auto-render.min.js" defer',
        ' src="/static/paperboard.js" defer',
    ]
    assert '<link rel="stylesheet" href="/static/vendor/katex/katex.min.css">' in html
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//(?!arxiv\.org|doi\.org)""", html.split("</head>")[0])
    policy = response.headers["content-security-policy"]
    assert policy == SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src" not in policy  # scripts: this site's files only
    assert "style-src 'self';" in policy and "font-src 'self'" in policy and "unsafe" not in policy


def test_text_mode_latex_is_rendered_in_pages_and_plain_where_no_markup_goes(
    sqlite_database, client_for, make_paper, add_papers
):
    title = r"D$^{2}$R$^{2}$OSR: \textsc{Sota} \emph{bridges}"
    abstract = r"We gain \textbf{policy efficiency} of 51.4\% \& more, for \$5 (\url{https://example.org/c})."
    add_papers(sqlite_database, make_paper(1, title=title, abstract=abstract))
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 4))
    client = client_for(sqlite_database)

    page = client.get("/papers/2506.00001").text
    assert "<title>D²R²OSR: Sota bridges · Paperboard</title>" in page
    assert '<meta name="description" content="We gain policy efficiency of 51.4% &amp; more, for $5 (https' in page
    assert (
        '<h1 id="paper-title" class="paper-page-title" data-math>'
        'D$^{2}$R$^{2}$OSR: <span class="small-caps">Sota</span> <em>bridges</em></h1>'
    ) in page
    assert (
        "<p data-math>We gain <strong>policy efficiency</strong> of 51.4% &amp; more, for "
        '<span class="tex-text">$</span>5 (<a href="https://example.org/c" rel="nofollow">https://example.org/c</a>).'
        "</p>"
    ) in page
    # The lists load no KaTeX: their formulas are text there.
    for listing in (client.get("/").text, client.get("/papers/recent").text):
        assert '">D²R²OSR: <span class="small-caps">Sota</span> <em>bridges</em></a>' in listing
        assert "We gain <strong>policy efficiency</strong> of 51.4% &amp; more" in listing
    [entry] = feedparser.parse(client.get("/feeds/recent.rss").content).entries
    assert entry.title == "D²R²OSR: Sota bridges"
    assert entry.summary == "<p>We gain policy efficiency of 51.4% &amp; more, for $5 (https://example.org/c).</p>"


def test_the_katex_files_are_served_with_their_types(sqlite_database, client_for):
    client = client_for(sqlite_database)
    expected = {
        "/static/paperboard.js": "text/javascript",
        "/static/vendor/katex/katex.min.js": "text/javascript",
        "/static/vendor/katex/auto-render.min.js": "text/javascript",
        "/static/vendor/katex/katex.min.css": "text/css",
    }
    for path, content_type in expected.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(content_type), path
    script = client.get("/static/paperboard.js").text
    assert "renderMathInElement" in script and "throwOnError: false" in script
    for delimiter in ('left: "$$"', 'left: "$"', r'left: "\\("', r'left: "\\["'):
        assert delimiter in script
    # Every font the stylesheet asks for in WOFF2 is there, the format all current browsers take first.
    fonts = set(re.findall(r"url\((fonts/[^)]+\.woff2)\)", client.get("/static/vendor/katex/katex.min.css").text))
    assert len(fonts) >= 10
    for font in fonts:
        response = client.get(f"/static/vendor/katex/{font}")
        assert response.status_code == 200, font
        assert response.headers["content-type"] == "font/woff2"


def test_the_similar_papers_section_shows_the_papers_it_is_given(sqlite_database, client_for, make_paper):
    app = client_for(sqlite_database).app
    scope = {
        "type": "http",
        "app": app,
        "router": app.router,
        "scheme": "http",
        "server": ("testserver", 80),
        "path": "/",
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    template = templates.env.from_string(
        '{% from "paper/_similar.html" import similar_section with context %}{{ similar_section(papers) }}'
    )
    papers = [make_paper(7, title="A similar paper"), make_paper(8, arxiv_id="hep-th/9901001", title="An old one")]

    html = template.render(request=Request(scope), papers=papers)

    assert '<h2 id="similar-title">Similar papers</h2>' in html
    assert '<a href="/papers/2506.00007">A similar paper</a>' in html
    assert '<a href="/papers/hep-th/9901001">An old one</a>' in html
    assert template.render(request=Request(scope), papers=[]).strip() == ""
