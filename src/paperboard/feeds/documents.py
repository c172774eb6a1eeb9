"""Feeds as RSS 2.0 and Atom documents, written by feedgen from a `Feed` of plain values.

The same feed always makes the same bytes: every date in a document is one of its entries' (feedgen would stamp
the time of writing), so an unchanged feed keeps its ETag. Authors go into Atom's `<author>`, with the address of
their author page when the feed has `author_url`, and, as RSS's own
`<author>` requires an e-mail address, into RSS as Dublin Core `<dc:creator>`, which feed readers show instead.
Summaries are HTML, one paragraph per paragraph of the abstract, as readers expect of RSS's `<description>`: the
abstract's text is escaped into it, so a `<` in an abstract is shown, never taken for markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from feedgen.feed import FeedGenerator

import paperboard

FeedFormat = Literal["rss", "atom"]
FEED_FORMATS: tuple[FeedFormat, ...] = ("rss", "atom")
MEDIA_TYPES: dict[FeedFormat, str] = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
# The `updated` of a feed without entries, which has no date of its own; a fixed one keeps its bytes unchanged.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1)
# arXiv's scheme for categories in its own Atom feeds.
CATEGORY_SCHEME = "http://arxiv.org/schemas/atom"
# Characters XML 1.0 forbids, which lxml refuses to write; an imported record may hold one.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One paper in a feed. Times are naive UTC, as stored."""

    # Stays the same for the paper from one request to the next, so readers never show it twice.
    id: str
    title: str
    link: str
    authors: tuple[str, ...]
    summary: str
    categories: tuple[str, ...]
    # When the paper came into this feed (listed, or first published) and when it last changed (a new version).
    published: datetime
    updated: datetime


@dataclass(frozen=True, slots=True)
class Feed:
    title: str
    description: str
    # The page on this site showing what the feed holds, and the feed's own address; both absolute.
    page_url: str
    self_url: str
    entries: tuple[FeedEntry, ...]
    # The absolute address of an author name's page on this site.
    author_url: Callable[[str], str] | None = None

    @property
    def last_modified(self) -> datetime | None:
        """When the newest entry changed; None for an empty feed."""
        return max((entry.updated for entry in self.entries), default=None)


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def _html_paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in text.split("\n\n") if paragraph)


def _author(name: str, author_url: Callable[[str], str] | None) -> dict[str, str]:
    return {"name": _xml(name)} | ({"uri": author_url(name)} if author_url else {})


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def render_feed(feed: Feed, feed_format: FeedFormat) -> bytes:
    """The feed as an RSS 2.0 or Atom document, UTF-8 encoded."""
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    # The Atom id is the feed's address, which is also what readers subscribe to.
    generator.id(feed.self_url)
    generator.title(_xml(feed.title))
    generator.description(_xml(feed.description))
    generator.link(href=feed.self_url, rel="self", type=MEDIA_TYPES[feed_format])
    # Added last: RSS's single channel link is the last one given.
    generator.link(href=feed.page_url, rel="alternate", type="text/html")
    generator.updated(_utc(feed.last_modified or EMPTY_FEED_UPDATED))
    generator.generator("Paperboard", version=paperboard.__version__)
    generator.language("en")
    for entry in feed.entries:
        item = generator.add_entry(order="append")
        item.guid(entry.id, permalink=entry.id == entry.link)
        item.title(_xml(entry.title))
        item.link(href=entry.link, rel="alternate", type="text/html")
        if entry.authors:
            item.author([_author(name, feed.author_url) for name in entry.authors])
            item.dc.dc_creator([_xml(name) for name in entry.authors])
        item.summary(_html_paragraphs(_xml(entry.summary)), type="html")
        if entry.categories:
            item.category([{"term": category, "scheme": CATEGORY_SCHEME} for category in entry.categories])
        item.published(_utc(entry.published))
        item.updated(_utc(entry.updated))
    document: bytes = generator.rss_str() if feed_format == "rss" else generator.atom_str()
    return document
