"""Markdown that readers write (comments), turned into HTML that is safe to put in a page.

Two layers, so that a gap in one is caught by the other: markdown-it-py renders with raw HTML switched off (a
`<script>` typed in a comment comes out as text), then nh3 keeps only the tags and attributes listed here, links
only to http(s) and mailto addresses, and marks every link `rel="nofollow ugc"` so that spam earns no ranking.
Nothing with a `style` or an event handler survives, whatever the site's Content-Security-Policy would allow.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

TEXT_TAGS = frozenset({"p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote", "a", "ul", "ol", "li"})
TABLE_TAGS = frozenset({"table", "thead", "tbody", "tr", "th", "td"})

# Conversation, not documents: headings would break the page's outline and images would let a comment load
# (or track readers through) another site, so `# text` stays text and `![alt](url)` becomes a link.
_renderer = (
    MarkdownIt("commonmark", {"html": False})
    .enable(["table", "strikethrough"])
    .disable(["heading", "lheading", "image"])
)
_cleaner = nh3.Cleaner(
    tags=set(TEXT_TAGS | TABLE_TAGS),
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    url_schemes={"http", "https", "mailto"},
    # `/logout` or `//elsewhere.example` name no scheme; only absolute links to the schemes above are kept.
    url_relative="deny",
    link_rel="nofollow ugc",
)


def render_markdown(source: str) -> str:
    """Sanitised HTML for a reader's Markdown; the only HTML of readers' making that a template may mark safe."""
    return _cleaner.clean(_renderer.render(source))
