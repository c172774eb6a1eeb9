"""Reading HTML in tests the way a browser builds it, so that escaped text never passes for markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class ElementCollector(HTMLParser):
    """The elements and attributes a browser would build from some HTML, as opposed to text that looks like them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def values_of(self, name: str) -> list[str | None]:
        return [value for _, attribute, value in self.attributes if attribute == name]

    @property
    def attribute_names(self) -> set[str]:
        return {name for _, name, _ in self.attributes}


def elements(html: str) -> ElementCollector:
    collector = ElementCollector()
    collector.feed(html)
    collector.close()
    return collector


def main_of(html: str) -> str:
    """A page's own content, without the header and footer every page shares."""
    return html[html.index("<main") : html.index("</main>")]


def paper_links(html: str) -> list[str]:
    """The arXiv ids of a paper list's entries (`_paper_list.html`), in the order shown."""
    return re.findall(r'<h2 id="paper-\d+" class="paper-title">\s*<a href="/papers/([^"]+)">', html)
