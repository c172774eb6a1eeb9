"""Readers' Markdown: rendered, and anything that could run, restyle the page or carry no scheme made inert."""

import re

import pytest

from paperboard.community.markdown import render_markdown
from tests.markup import elements

HOSTILE = [
    "<script>alert('comment')</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="https://example.org" onclick="alert(1)">raw link</a>',
    "[click](javascript:alert(1))",
    "[click](JavaScript:alert(1))",
    "[click](  javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[vb](vbscript:msgbox(1))",
    "<span style=\"position:fixed;inset:0;background:url('https://evil.example/x.png')\">cover</span>",
    "<iframe src=https://evil.example></iframe>",
    '<svg onload="alert(1)"><circle/></svg>',
    "![tracker](https://evil.example/pixel.png)",
    "<style>body { display: none }</style>",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_is_inert(source):
    html = render_markdown(source)
    found = elements(html)
    assert found.tags <= {"p", "a"}, html
    assert found.attribute_names <= {"href", "rel"}, html
    assert all(re.match(r"https?://", href or "") for href in found.values_of("href")), html


def test_raw_html_is_shown_as_text():
    assert render_markdown("<b>bold</b> & <i>it</i>") == "<p>&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;it&lt;/i&gt;</p>\n"


def test_links_keep_safe_schemes_and_are_marked_user_generated():
    html = render_markdown(
        '[site](https://example.org/a?b=1&c=2 "Title") <http://example.com> [mail](mailto:someone@example.org) '
        "[relative](/logout) [no scheme](//evil.example/)"
    )
    assert '<a href="https://example.org/a?b=1&amp;c=2" title="Title" rel="nofollow ugc">site</a>' in html
    assert '<a href="http://example.com" rel="nofollow ugc">http://example.com</a>' in html
    assert '<a href="mailto:someone@example.org" rel="nofollow ugc">mail</a>' in html
    # Addresses without a scheme lose their href, so they go nowhere.
    assert '<a rel="nofollow ugc">relative</a>' in html and '<a rel="nofollow ugc">no scheme</a>' in html


def test_everyday_markdown_renders():
    html = render_markdown(
        "**bold** *italic* ~~gone~~ `code`\n\n> quoted\n\n3. three\n4. four\n\n```python\nx = 1 < 2\n```\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n# not a heading"
    )
    assert "<strong>bold</strong> <em>italic</em> <s>gone</s> <code>code</code>" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html
    assert '<ol start="3">' in html
    assert "<pre><code>x = 1 &lt; 2\n</code></pre>" in html
    # Table cells lose their alignment: it comes as a style attribute, and comments carry no styles.
    assert "<th>a</th>" in html and "<td>2</td>" in html and "style" not in html
    assert "<p># not a heading</p>" in html


@pytest.mark.parametrize(
    ("source", "html"),
    [
        # Stars and backslashes in a formula stay the formula's, not Markdown's emphasis and escapes.
        (
            r"Is $a*b$ like $c*d$?",
            r'<p>Is <span class="math inline">\(a*b\)</span> like <span class="math inline">\(c*d\)</span>?</p>',
        ),
        (r"$\{x \mid x_1 < 2\}$", r'<p><span class="math inline">\(\{x \mid x_1 &lt; 2\}\)</span></p>'),
        ("$$\\sum_i x_i \\\\ y$$", '<div class="math block">\n\\[\\sum_i x_i \\\\ y\\]\n</div>'),
        # Prices are not maths (as in pandoc), nor is a dollar followed by a space.
        ("It costs $5 or $10, $ 3 too.", "<p>It costs $5 or $10, $ 3 too.</p>"),
        # A formula is text like any other: escaped, never markup.
        (
            "$<script>alert(1)</script>$",
            r'<p><span class="math inline">\(&lt;script&gt;alert(1)&lt;/script&gt;\)</span></p>',
        ),
    ],
)
def test_maths_is_kept_for_katex_as_in_abstracts(source, html):
    assert render_markdown(source).strip() == html
