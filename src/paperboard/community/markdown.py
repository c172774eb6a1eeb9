r"""Markdown that readers write (comments), turned into HTML that is safe to put in a page.

Two layers, so that a gap in one is caught by the other: markdown-it-py renders with raw HTML switched off (a
`<script>` typed in a comment comes out as text), then nh3 keeps only the tags and attributes listed here, links
only to http(s) and mailto addresses, and marks every link `rel="nofollow ugc"` so that spam earns no ranking.
Nothing with a `style` or an event handler survives, whatever the site's Content-Security-Policy would allow.

Maths is written as in abstracts, `$…$` inline and `$$…$$` on its own lines, and typeset in the page by KaTeX as
abstracts are. mdit-py-plugins' dollarmath reads it before Markdown can take `*` for emphasis or `\{` for an escape,
and leaves its source, escaped, in `<span class="math inline">\(…\)</span>` (`<div class="math block">\[…\]</div>`),
which the page's script typesets. As in pandoc, `$5 and $10` is not maths: a `$` followed by a space or a closing
one followed by a digit does not delimit.
"""

from __future__ import annotations

from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

TEXT_TAGS = frozenset({"p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote", "a", "ul", "ol", "li"})
TABLE_TAGS = frozenset({"table", "thead", "tbody", "tr", "th", "td"})

# Conversation, not documents: headings would break the page's outline and images would let a comment load
# (or track readers through) another site, so `# text` stays text and `![alt](url)` becomes a link.
_renderer = (
    MarkdownIt("commonmark", {"html": False})
    .enable(["table", "strikethrough"])
    .disable(["heading", "lheading", "image"])
)


def _math_source(content: str, options: dict[str, Any]) -> str:
    """The formula as KaTeX's auto-render finds it in the page, escaped as any text."""
    if options.get("display_mode"):
        return f"\\[{escape(content)}\\]"
    return f"\\({escape(content)}\\)"


dollarmath_plugin(
    _renderer, allow_labels=False, allow_space=False, allow_digits=False, double_inline=True, renderer=_math_source
)
MATH_TAGS = frozenset({"span", "div"})
_cleaner = nh3.Cleaner(
    tags=set(TEXT_TAGS | TABLE_TAGS | MATH_TAGS),
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    # Only the plugin's own marks: a span or div has no other use in a comment.
    allowed_classes={"span": {"math", "inline"}, "div": {"math", "block"}},
    url_schemes={"http", "https", "mailto"},
    # `/logout` or `//elsewhere.example` name no scheme; only absolute links to the schemes above are kept.
    url_relative="deny",
    link_rel="nofollow ugc",
)


def render_markdown(source: str) -> str:
    """Sanitised HTML for a reader's Markdown; the only HTML of readers' making that a template may mark safe."""
    return _cleaner.clean(_renderer.render(source))
