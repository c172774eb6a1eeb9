"""The feeds over HTTP, read by feedparser: every kind, their entries against what was stored, stable ids,
conditional GET (with and without the page cache), escaping, errors, empty feeds, and autodiscovery on list pages."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import feedparser
import pytest

from paperboard.feeds.documents import FEED_FORMATS
from tests.community.factories import add_listing

# The site's public address, with a path as behind a proxy that serves it under one: every absolute address in a
# feed is made from it, never from the request's Host.
SITE = "https://example.org/board"
MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
HOSTILE_TITLE = "<script>alert(1)</script> & ]]> {braces} &amp; <b>bold</b>"
JUNE_4, JUNE_3 = date(2025, 6, 4), date(2025, 6, 3)
# When each listed paper was submitted: the date of its entry in the list feeds.
SUBMITTED = {1: datetime(2025, 6, 4, 8), 2: datetime(2025, 6, 4, 9), 3: datetime(2025, 6, 3, 8)}
AUTHORS = {
    1: ["Ada Lovelace", "Émilie du Châtelet"],
    2: ["Alan Turing"],
    3: ["Emmy Noether", "Hermann Weyl"],
    4: ["Grace Hopper"],
    6: ["Kurt Gödel"],
}


@pytest.fixture
def stored(database, make_paper, add_papers):
    """Three listed papers (2 then 1 on 4 June, by upvotes; 3 on 3 June), and unlisted ones for the catalogue."""
    add_papers(
        database,
        make_paper(1, title="Sparse attention for long documents", authors=AUTHORS[1], categories=["cs.CL", "cs.LG"]),
        make_paper(2, title="Dense retrieval at scale", authors=AUTHORS[2], categories=["cs.IR", "cs.CL"]),
        make_paper(3, title="Gauge fields", authors=AUTHORS[3], categories=["hep-th"]),
        make_paper(4, title="Attention sinks", authors=AUTHORS[4], categories=["cs.CL"]),
        make_paper(6, title="Long context", abstract="We use attention.", authors=AUTHORS[6], categories=["cs.LG"]),
        make_paper(
            5, arxiv_id="hep-th/9901001", title="Old strings", categories=["hep-th"], published_at=datetime(1999, 1, 5)
        ),
    )
    add_listing(database, "2506.00001", JUNE_4, submitted_at=SUBMITTED[1], upvotes=3)
    add_listing(database, "2506.00002", JUNE_4, submitted_at=SUBMITTED[2], upvotes=7)
    add_listing(database, "2506.00003", JUNE_3, submitted_at=SUBMITTED[3], upvotes=1)
    return database


def parsed_feed(response, feed_format: str):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MEDIA_TYPES[feed_format]
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == ("rss20" if feed_format == "rss" else "atom10")
    return feed


def numbers(feed) -> list[int]:
    return [int(entry.id.rsplit(".", 1)[1]) for entry in feed.entries]


def self_link(feed) -> str:
    (link,) = [link.href for link in feed.feed.links if link.rel == "self"]
    return link


def struct(moment: datetime) -> tuple[int, ...]:
    return moment.timetuple()[:6]


@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_the_daily_feed_holds_the_latest_list_ranked_with_what_was_stored(stored, client_for, feed_format):
    response = client_for(stored, base_url=SITE).get(f"/feeds/daily.{feed_format}")

    feed = parsed_feed(response, feed_format)
    assert feed.feed.title == "Daily papers · Paperboard"
    assert feed.feed.link == f"{SITE}/"
    assert self_link(feed) == f"{SITE}/feeds/daily.{feed_format}"
    assert "4 Jun 2025" in feed.feed.subtitle
    assert numbers(feed) == [2, 1]
    for entry, number in zip(feed.entries, (2, 1), strict=True):
        url = f"{SITE}/papers/2506.{number:05d}"
        assert entry.id == url and entry.link == url
        assert entry.title == ("Dense retrieval at scale" if number == 2 else "Sparse attention for long documents")
        assert [author.name for author in entry.authors] == AUTHORS[number]
        assert entry.summary == f"<p>The abstract of paper number {number}.</p>"
        assert struct(datetime(*entry.published_parsed[:6])) == struct(SUBMITTED[number])
    assert [tag.term for tag in feed.entries[0].tags] == ["cs.IR", "cs.CL"]
    assert response.headers["cache-control"] == "public, max-age=300"
    assert parsedate_to_datetime(response.headers["last-modified"]).replace(tzinfo=None) == SUBMITTED[2]
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])


def test_a_feed_takes_its_addresses_from_the_base_url_whatever_host_the_request_names(stored, client_for):
    response = client_for(stored, base_url=SITE).get("/feeds/daily.atom", headers={"Host": "evil.example"})

    feed = parsed_feed(response, "atom")
    assert "evil.example" not in response.text
    assert self_link(feed) == f"{SITE}/feeds/daily.atom"
    assert [entry.link for entry in feed.entries] == [f"{SITE}/papers/2506.00002", f"{SITE}/papers/2506.00001"]


def test_atom_authors_link_to_their_author_pages(stored, client_for):
    feed = parsed_feed(client_for(stored, base_url=SITE).get("/feeds/recent.atom"), "atom")

    entry = next(entry for entry in feed.entries if entry.id.endswith("/2506.00001"))
    assert [(author.name, author.href) for author in entry.authors] == [
        ("Ada Lovelace", f"{SITE}/authors/Ada%20Lovelace"),
        ("Émilie du Châtelet", f"{SITE}/authors/%C3%89milie%20du%20Ch%C3%A2telet"),
    ]


@pytest.mark.parametrize(
    ("query", "expected", "title"),
    [
        ("date=2025-06-03", [3], "Daily papers 2025-06-03 · Paperboard"),
        ("week=2025-W23", [2, 1, 3], "Papers of the week 2025-W23 · Paperboard"),
        ("month=2025-06", [2, 1, 3], "Papers of the month 2025-06 · Paperboard"),
        ("month=2025-07", [], "Papers of the month 2025-07 · Paperboard"),
    ],
)
def test_the_daily_feed_of_a_day_week_or_month(stored, client_for, query, expected, title):
    client = client_for(stored, base_url=SITE)

    feed = parsed_feed(client.get(f"/feeds/daily.atom?{query}&utm_source=reader"), "atom")

    assert numbers(feed) == expected
    assert feed.feed.title == title
    # The feed's address, and so its id, leaves out parameters that do not change what it holds.
    assert self_link(feed) == f"{SITE}/feeds/daily.atom?{query}"
    # The list pages' addresses use the parameters' words: /papers/date/…, /papers/week/…, /papers/month/….
    kind, key = query.split("=")
    assert feed.feed.link == f"{SITE}/papers/{kind}/{key}"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date=2025-02-30", "There is no day 2025-02-30: February 2025 has 28 days."),
        ("week=2025-W60", "There is no week 2025-W60"),
        ("month=June", "&#39;June&#39; is not a month"),
        ("date=2025-06-04&week=2025-W23", "Ask for one period at a time"),
    ],
)
def test_a_malformed_period_is_a_400_saying_why(sqlite_database, client_for, query, message):
    response = client_for(sqlite_database).get(f"/feeds/daily.rss?{query}")

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def test_the_trending_feed_ranks_as_the_trending_page(stored, client_for):
    client = client_for(stored, base_url=SITE)

    feed = parsed_feed(client.get("/feeds/trending.rss"), "rss")

    page_order = [
        int(arxiv_id[-5:]) for arxiv_id in re.findall(r'<li id="paper-([^"]+)">', client.get("/papers/trending").text)
    ]
    assert numbers(feed) == page_order == [2, 1, 3]
    assert feed.feed.link == f"{SITE}/papers/trending"
    assert [entry.title for entry in feed.entries] == [
        "Dense retrieval at scale",
        "Sparse attention for long documents",
        "Gauge fields",
    ]
    assert struct(datetime(*feed.entries[2].published_parsed[:6])) == struct(SUBMITTED[3])


@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_the_recent_and_category_feeds_hold_the_newest_papers_of_the_catalogue(stored, client_for, feed_format):
    client = client_for(stored, base_url=SITE)

    recent = parsed_feed(client.get(f"/feeds/recent.{feed_format}"), feed_format)
    language = parsed_feed(client.get(f"/feeds/category/cs.CL.{feed_format}"), feed_format)
    physics = parsed_feed(client.get(f"/feeds/category/hep-th.{feed_format}"), feed_format)

    assert [entry.link.rsplit("/papers/", 1)[1] for entry in recent.entries] == [
        "2506.00006", "2506.00004", "2506.00003", "2506.00002", "2506.00001", "hep-th/9901001"
    ]  # fmt: skip
    # A paper counts in a category wherever the category stands in its list, primary or not.
    assert numbers(language) == [4, 2, 1]
    assert language.feed.title == "Newest papers in cs.CL · Paperboard"
    assert self_link(language) == f"{SITE}/feeds/category/cs.CL.{feed_format}"
    assert [entry.id for entry in physics.entries] == [
        f"{SITE}/papers/2506.00003",
        f"{SITE}/papers/hep-th/9901001",
    ]
    old = physics.entries[1]
    assert old.title == "Old strings" and struct(datetime(*old.published_parsed[:6])) == struct(datetime(1999, 1, 5))
    assert struct(datetime(*language.entries[0].published_parsed[:6])) == struct(datetime(2025, 6, 1, 16))


def test_an_unknown_or_malformed_category_is_a_404_page_saying_so(stored, client_for):
    client = client_for(stored)

    for category in ["cs.XX", "nonsense", "%3Cscript%3E", "x" * 300]:
        response = client.get(f"/feeds/category/{category}.rss")

        assert response.status_code == 404, category
        assert response.headers["content-type"].startswith("text/html")
        assert "No paper of this catalogue is filed under" in response.text
        assert "arXiv categories are written like cs.CL" in response.text
        assert "<script>" not in response.text


def test_the_search_feed_holds_the_best_matches_newest_first(stored, client_for):
    client = client_for(stored, base_url=SITE)

    feed = parsed_feed(client.get("/feeds/search.atom", params={"q": "attention"}), "atom")

    # By relevance, the two titles that say "attention" come first; a feed shows the newest first.
    assert numbers(feed) == [6, 4, 1]
    assert feed.feed.title == "Papers matching “attention” · Paperboard"
    assert self_link(feed) == f"{SITE}/feeds/search.atom?q=attention"


@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_a_search_without_matches_is_a_valid_empty_feed(stored, client_for, feed_format):
    client = client_for(stored)

    # Any one word of a query can match (the abstracts all say "paper"), so the SQL names a table they do not.
    for query in ["no such words anywhere", "", "   ", "'; DROP TABLE users; --", "%_\\"]:
        response = client.get(f"/feeds/search.{feed_format}", params={"q": query})

        assert parsed_feed(response, feed_format).entries == [], query
        assert "last-modified" not in response.headers


def test_an_over_long_search_is_a_400_page(sqlite_database, client_for):
    client = client_for(sqlite_database)

    too_long = client.get("/feeds/search.rss", params={"q": "a" * 251})
    longest = client.get("/feeds/search.rss", params={"q": "a" * 250})

    assert too_long.status_code == 400
    assert too_long.headers["content-type"].startswith("text/html")
    assert "at most 250 characters" in too_long.text
    assert longest.status_code == 200


@pytest.mark.parametrize("path", ["/feeds/daily", "/feeds/trending", "/feeds/recent", "/feeds/search"])
@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_with_nothing_stored_every_feed_is_valid_and_empty(sqlite_database, client_for, path, feed_format):
    feed = parsed_feed(client_for(sqlite_database).get(f"{path}.{feed_format}"), feed_format)

    assert feed.entries == []
    assert feed.feed.title.endswith("· Paperboard")


@pytest.mark.parametrize("path", ["/feeds/daily.json", "/feeds/daily.xml", "/feeds/trending.", "/feeds/nothing.rss"])
def test_other_formats_and_feeds_are_404(sqlite_database, client_for, path):
    response = client_for(sqlite_database).get(path)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path", ["/feeds/daily.rss", "/feeds/trending.atom", "/feeds/recent.rss", "/feeds/category/cs.CL.atom"]
)
def test_entry_ids_and_bodies_are_stable_across_requests_and_formats(stored, client_for, path):
    client = client_for(stored)

    first, second = client.get(path), client.get(path)
    other_format = client.get(path.replace(".rss", ".atom") if path.endswith(".rss") else path.replace(".atom", ".rss"))

    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    ids = [entry.id for entry in feedparser.parse(first.content).entries]
    assert ids and ids == [entry.id for entry in feedparser.parse(other_format.content).entries]


@pytest.mark.parametrize("page_cache_seconds", [0, 60])
def test_conditional_get_answers_304_without_a_body(stored, client_for, page_cache_seconds):
    client = client_for(stored, page_cache_seconds=page_cache_seconds)
    first = client.get("/feeds/daily.atom")
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    a_second_earlier = format_datetime(parsedate_to_datetime(last_modified) - timedelta(seconds=1), usegmt=True)

    by_etag = client.get("/feeds/daily.atom", headers={"If-None-Match": etag})
    by_weak_etag = client.get("/feeds/daily.atom", headers={"If-None-Match": f'"other", W/{etag}'})
    by_date = client.get("/feeds/daily.atom", headers={"If-Modified-Since": last_modified})
    stale_etag = client.get(
        "/feeds/daily.atom", headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified}
    )
    older_copy = client.get("/feeds/daily.atom", headers={"If-Modified-Since": a_second_earlier})
    garbled_date = client.get("/feeds/daily.atom", headers={"If-Modified-Since": "yesterday"})

    for response in (by_etag, by_weak_etag, by_date):
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == etag and response.headers["last-modified"] == last_modified
        assert response.headers["cache-control"] == "public, max-age=300"
    # If-None-Match, when sent, decides: a reader with another copy gets the feed whatever its date says.
    for response in (stale_etag, older_copy, garbled_date):
        assert response.status_code == 200
        assert response.content == first.content


@pytest.mark.parametrize("page_cache_seconds", [0, 60])
def test_a_new_listing_changes_the_feed_and_its_validators_at_once(stored, client_for, page_cache_seconds):
    client = client_for(stored, page_cache_seconds=page_cache_seconds)
    before = client.get("/feeds/daily.rss")

    add_listing(stored, "2506.00004", JUNE_4, submitted_at=datetime(2025, 6, 4, 12), upvotes=9)
    after = client.get("/feeds/daily.rss", headers={"If-None-Match": before.headers["etag"]})

    assert after.status_code == 200
    assert numbers(parsed_feed(after, "rss")) == [4, 2, 1]
    assert after.headers["etag"] != before.headers["etag"]
    assert after.headers["last-modified"] == "Wed, 04 Jun 2025 12:00:00 GMT"
    assert (
        client.get("/feeds/daily.rss", headers={"If-Modified-Since": before.headers["last-modified"]}).status_code
        == 200
    )


@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_a_hostile_title_and_author_round_trip_escaped(database, client_for, make_paper, add_papers, feed_format):
    add_papers(
        database, make_paper(1, title=HOSTILE_TITLE, authors=[HOSTILE_TITLE, "Ann Smith"], abstract=HOSTILE_TITLE)
    )
    add_listing(database, "2506.00001", JUNE_4)

    response = client_for(database).get(f"/feeds/daily.{feed_format}")

    assert b"<script>" not in response.content and b"<b>" not in response.content
    entry = parsed_feed(response, feed_format).entries[0]
    # Titles and abstracts are told as plain text, where LaTeX's grouping braces are no characters.
    as_text = HOSTILE_TITLE.replace("{braces}", "braces")
    assert entry.title == as_text
    assert [author.name for author in entry.authors] == [HOSTILE_TITLE, "Ann Smith"]
    assert entry.summary == f"<p>{html.escape(as_text)}</p>"


ALTERNATE = re.compile(r'<link rel="alternate" type="([^"]+)" title="([^"]+)" href="([^"]+)">')


@pytest.mark.parametrize(
    ("page", "own_feed"),
    [
        ("/", None),
        ("/papers/date/2025-06-03", "/feeds/daily.{}?date=2025-06-03"),
        ("/papers/week/2025-W23", "/feeds/daily.{}?week=2025-W23"),
        ("/papers/month/2025-06", "/feeds/daily.{}?month=2025-06"),
        ("/papers/trending", "/feeds/trending.{}"),
        ("/papers/recent", "/feeds/recent.{}"),
    ],
)
def test_every_list_page_advertises_feeds_that_serve(stored, client_for, page, own_feed):
    client = client_for(stored, base_url=SITE)
    markup = client.get(page).text
    head = markup[: markup.index("</head>")]

    advertised = [(media_type, title, html.unescape(href)) for media_type, title, href in ALTERNATE.findall(head)]

    hrefs = [href for _, _, href in advertised]
    assert {media_type for media_type, _, _ in advertised} == set(MEDIA_TYPES.values())
    if page not in ("/papers/trending", "/papers/recent"):
        assert hrefs[:2] == ["/feeds/daily.rss", "/feeds/daily.atom"]
    if own_feed:
        assert own_feed.format("rss") in hrefs and own_feed.format("atom") in hrefs
    for media_type, title, href in advertised:
        feed_format = "rss" if media_type == MEDIA_TYPES["rss"] else "atom"
        assert title.endswith(f"({feed_format.upper() if feed_format == 'rss' else 'Atom'})")
        feed = parsed_feed(client.get(href), feed_format)
        assert self_link(feed) == f"{SITE}{href}"
        assert feed.entries
        # People see the same feeds as links in the page.
        assert f'<a href="{html.escape(href)}" type="{media_type}">' in markup


def test_the_front_page_advertises_the_daily_feed_before_anything_is_listed(sqlite_database, client_for):
    client = client_for(sqlite_database)
    markup = client.get("/").text

    advertised = [html.unescape(href) for _, _, href in ALTERNATE.findall(markup[: markup.index("</head>")])]

    assert advertised == ["/feeds/daily.rss", "/feeds/daily.atom"]
    assert parsed_feed(client.get("/feeds/daily.rss"), "rss").entries == []
