"""RSS and Atom documents from plain feeds, read back by feedparser as feed readers read them."""

from __future__ import annotations

import html
import time
from datetime import datetime

import feedparser
import pytest

from paperboard.feeds.documents import FEED_FORMATS, Feed, FeedEntry, render_feed

HOSTILE_TITLE = "<script>alert(1)</script> & ]]> <![CDATA[ x ]]> {braces} &amp; \"quotes\" 'single'"


def entry(number: int, **fields: object) -> FeedEntry:
    values: dict[str, object] = {
        "id": f"https://papers.example/papers/2506.{number:05d}",
        "title": f"Paper {number}",
        "link": f"https://papers.example/papers/2506.{number:05d}",
        "authors": (f"Author {number}", "Ann Smith"),
        "summary": f"Abstract {number} with $x_i$ math.",
        "categories": ("cs.CL", "cs.LG"),
        "published": datetime(2025, 6, number, 8, 30),
        "updated": datetime(2025, 6, number, 9, 45),
    }
    values.update(fields)
    return FeedEntry(**values)  # type: ignore[arg-type]


def feed(*entries: FeedEntry) -> Feed:
    return Feed(
        title="Daily papers · Paperboard",
        description="The latest daily list.",
        page_url="https://papers.example/",
        self_url="https://papers.example/feeds/daily.atom",
        entries=entries,
    )


def as_time(moment: datetime) -> time.struct_time:
    return moment.timetuple()[:6]


@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_entries_keep_their_order_ids_titles_authors_links_summaries_and_dates(feed_format):
    parsed = feedparser.parse(render_feed(feed(entry(3), entry(1), entry(2)), feed_format))

    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.title == "Daily papers · Paperboard"
    assert parsed.feed.link == "https://papers.example/"
    assert [link.href for link in parsed.feed.links if link.rel == "self"] == [
        "https://papers.example/feeds/daily.atom"
    ]
    assert tuple(parsed.feed.updated_parsed)[:6] == as_time(datetime(2025, 6, 3, 9, 45))
    assert [item.id for item in parsed.entries] == [f"https://papers.example/papers/2506.0000{n}" for n in (3, 1, 2)]
    first = parsed.entries[0]
    assert first.title == "Paper 3"
    assert first.link == "https://papers.example/papers/2506.00003"
    assert [author.name for author in first.authors] == ["Author 3", "Ann Smith"]
    assert first.summary == "<p>Abstract 3 with $x_i$ math.</p>"
    assert [tag.term for tag in first.tags] == ["cs.CL", "cs.LG"]
    assert tuple(first.published_parsed)[:6] == as_time(datetime(2025, 6, 3, 8, 30))
    if feed_format == "atom":
        assert tuple(first.updated_parsed)[:6] == as_time(datetime(2025, 6, 3, 9, 45))


@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_a_hostile_title_and_names_come_back_as_the_text_they_are(feed_format):
    hostile = entry(1, title=HOSTILE_TITLE, authors=(HOSTILE_TITLE,), summary=HOSTILE_TITLE)

    document = render_feed(feed(hostile), feed_format)
    parsed = feedparser.parse(document)

    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert b"<script>" not in document
    assert parsed.entries[0].title == HOSTILE_TITLE
    assert parsed.entries[0].authors[0].name == HOSTILE_TITLE
    assert parsed.entries[0].summary == f"<p>{html.escape(HOSTILE_TITLE)}</p>"


@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_characters_xml_forbids_are_dropped_rather_than_failing(feed_format):
    parsed = feedparser.parse(
        render_feed(feed(entry(1, title="Bell\x07 and \x00null", authors=("Ann\x1b",))), feed_format)
    )

    assert parsed.bozo == 0
    assert parsed.entries[0].title == "Bell and null"
    assert parsed.entries[0].authors[0].name == "Ann"


@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_the_same_feed_makes_the_same_bytes_and_an_empty_feed_is_valid(feed_format):
    empty = render_feed(feed(), feed_format)
    time.sleep(1.1)  # feedgen would otherwise stamp the time of writing, a second later

    assert render_feed(feed(), feed_format) == empty
    assert render_feed(feed(entry(1)), feed_format) == render_feed(feed(entry(1)), feed_format)
    parsed = feedparser.parse(empty)
    assert parsed.bozo == 0 and parsed.entries == []
    assert parsed.feed.title == "Daily papers · Paperboard"
