"""A paper as Markdown, rendered back by markdown-it-py: what it shows, and that record text never becomes markup."""

from __future__ import annotations

import html
import re
from datetime import date, datetime

import pytest
from markdown_it import MarkdownIt

from paperboard.community.paper_activity import ListedOn
from paperboard.exports.markdown import escape_markdown, render_paper_markdown
from tests.exports.test_bibtex import paper
from tests.markup import elements

# CommonMark with GitHub's strikethrough and tables, and raw HTML on, as the most permissive renderers have it.
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["strikethrough", "table"])

HOSTILE = (
    "[click](javascript:alert(1)) ![img](https://evil.example/x.png) <script>alert(1)</script> <https://evil.example> "
    "**bold** _em_ ~~gone~~ `code` &amp; &lt;b&gt; ]]> {braces} | pipe | \\textbf{x} trailing ##"
)


def rendered_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


def test_the_markdown_shows_title_links_facts_and_abstract():
    record = paper(
        "2506.00001",
        title="Attention Is All You Need",
        version=3,
        authors=["Ashish Vaswani", "Noam Shazeer"],
        published_at=datetime(2025, 6, 4, 17, 59),
        updated_at=datetime(2025, 6, 20, 9, 0),
        doi="10.1000/things.2025.1",
        journal_ref="Journal of Things 12 (2025)",
        comment="12 pages",
        code_url="https://github.com/example/attention",
        project_url="https://example.org/attention page",
        abstract="First paragraph.\n\nSecond paragraph.",
    )

    text = render_paper_markdown(record, ListedOn(date(2025, 6, 5), None, "akhaliq", 2), upvotes=42, comments=7)

    assert text.startswith("# Attention Is All You Need\n\n")
    assert text.endswith("## Abstract\n\nFirst paragraph.\n\nSecond paragraph.\n")
    page = RENDERER.render(text)
    links = dict(re.findall(r'<a href="([^"]+)">([^<]+)</a>', page))
    assert links == {
        "https://arxiv.org/abs/2506.00001": "arXiv:2506.00001v3",
        "https://arxiv.org/pdf/2506.00001": "PDF",
        "https://github.com/example/attention": "Code",
        "https://example.org/attention%20page": "Project page",
        "https://doi.org/10.1000/things.2025.1": "10.1000/things.2025.1",
    }
    facts = [rendered_text(item) for item in re.findall(r"<li>(.*?)</li>", page)]
    assert facts == [
        "Authors: Ashish Vaswani, Noam Shazeer",
        "Published: 2025-06-04",
        "Updated: 2025-06-20",
        "Categories: cs.CL, cs.LG",
        "DOI: 10.1000/things.2025.1",
        "Journal reference: Journal of Things 12 (2025)",
        "Authors' note: 12 pages",
        "Listed: 2025-06-05, submitted by akhaliq",
        "Upvotes: 42",
        "Comments: 7",
    ]


def test_a_paper_on_no_list_has_no_listing_figures_and_a_withdrawn_one_says_so():
    record = paper(deleted_at=datetime(2025, 7, 1), updated_at=None)

    text = render_paper_markdown(record, None, upvotes=0, comments=0)

    assert "Upvotes" not in text and "Comments" not in text and "Listed" not in text
    assert "- **Withdrawn:** 2025-07-01" in text


def test_a_hostile_title_name_and_abstract_render_as_the_text_they_are():
    record = paper(
        title=HOSTILE,
        authors=[HOSTILE, "Ann <b>Smith</b>"],
        abstract=f"{HOSTILE}\n\n- not a list\n\n1. not a list either\n\n2) nor this\n\n# not a heading\n\n"
        "> no quote\n\n+ no item\n\n= no underline\n\n    not code",
        journal_ref=HOSTILE,
        code_url="javascript:alert(1)",
        project_url="https://ok.example/a)b<c>d",
    )

    page = RENDERER.render(render_paper_markdown(record, None, upvotes=0, comments=0))

    assert elements(page).tags == {"h1", "h2", "p", "ul", "li", "strong", "a"}
    assert re.findall(r'<a href="([^"]+)"', page) == [
        "https://arxiv.org/abs/1706.03762",
        "https://arxiv.org/pdf/1706.03762",
        "https://ok.example/a%29b%3Cc%3Ed",
    ]
    assert rendered_text(re.search(r"<h1>(.*)</h1>", page)[1]) == HOSTILE
    paragraphs = [rendered_text(paragraph) for paragraph in re.findall(r"<p>(.*?)</p>", page, re.DOTALL)]
    assert paragraphs[-9:] == [
        HOSTILE,
        "- not a list",
        "1. not a list either",
        "2) nor this",
        "# not a heading",
        "> no quote",
        "+ no item",
        "= no underline",
        "not code",
    ]
    authors = next(item for item in re.findall(r"<li>(.*?)</li>", page) if "Authors" in item)
    assert rendered_text(authors) == f"Authors: {HOSTILE}, Ann <b>Smith</b>"


@pytest.mark.parametrize("text", ["*", "_x_", "\\", "`", "[a]", "<", "&", "#", "1.", "10) x", "-", "a\\*b", "~~x~~"])
def test_escaped_text_renders_as_itself(text):
    assert rendered_text(RENDERER.render(escape_markdown(text))) == text
