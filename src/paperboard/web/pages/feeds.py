"""RSS 2.0 and Atom feeds, each at `.rss` and `.atom`: the daily list (`/feeds/daily`, the latest listed day like the
front page, or `?date=`, `?week=`, `?month=`), trending (`/feeds/trending`), the newest papers of the catalogue
(`/feeds/recent`) or of one arXiv category (`/feeds/category/cs.CL`), any search (`/feeds/search?q=`, a
keyword alert), and a reader's own "for you" feed at its secret address (`/feeds/for-you/{secret}`, made on the
account page: `personal.private_feeds`); and the links with which list pages advertise their feeds.

Feeds answer conditional requests themselves (ETag, Last-Modified, 304) and let clients keep them five minutes.
They stay out of the page cache (`CACHED_PATH_PREFIXES` in web/app.py), which would answer a feed reader whose copy
is current with the whole feed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import URL

from paperboard.catalog.queries import has_category
from paperboard.catalog.taxonomy import CATEGORY_NAMES
from paperboard.community.listings import latest_listed_day
from paperboard.community.periods import InvalidPeriod, Period, PeriodKind, period_of, requested_period
from paperboard.feeds.documents import FEED_FORMATS, MEDIA_TYPES, Feed, FeedEntry, FeedFormat, render_feed
from paperboard.feeds.sources import (
    PaperUrl,
    collection_entries,
    for_you_entries,
    list_entries,
    newest_entries,
    search_entries,
    trending_entries,
)
from paperboard.personal.collections import CollectionNotFound, collection_at, collection_slug, collection_view
from paperboard.personal.feed import DEFAULT_DAYS
from paperboard.personal.private_feeds import private_feed_owner
from paperboard.personal.reader_models import refresh_reader_model
from paperboard.search.service import RESULTS_DEPTH, QueryTooLong
from paperboard.web.conditional import conditional_response
from paperboard.web.deps import DatabaseDep, ReadSessionDep, SearcherDep
from paperboard.web.templating import author_path_params, format_date
from paperboard.web.urls import absolute_url

# As many as the first page of a list shows.
FEED_ENTRIES = 50
FEED_MAX_AGE_SECONDS = 300
# Long enough to recognise what was asked for in an error message, short enough to keep the message short.
_QUOTED_LENGTH = 64
_LIST_TITLES: dict[PeriodKind, str] = {
    "day": "Daily papers",
    "week": "Papers of the week",
    "month": "Papers of the month",
}
# The daily feed's parameter naming each kind of period, as /api/daily_papers names them, and the page of its list.
_PERIOD_PARAMETERS: dict[PeriodKind, str] = {"day": "date", "week": "week", "month": "month"}
_LIST_ROUTES: dict[PeriodKind, str] = {"day": "daily_day", "week": "daily_week", "month": "daily_month"}

router = APIRouter()


@dataclass(frozen=True, slots=True)
class FeedLinks:
    """A feed as a page advertises it: in its head, for browsers and feed readers, and as links people follow."""

    title: str
    rss: str
    atom: str


def _feed_links(
    request: Request, title: str, route: str, query: dict[str, str] | None = None, **path_params: str
) -> FeedLinks:
    def path(feed_format: FeedFormat) -> str:
        path = request.url_for(route, feed_format=feed_format, **path_params).path
        return f"{path}?{urlencode(query)}" if query else path

    return FeedLinks(title, path("rss"), path("atom"))


def list_feeds(request: Request, period: Period | None = None) -> list[FeedLinks]:
    """The feeds of a list page: the latest daily list's, then the period's own when the page shows one."""
    feeds = [_feed_links(request, "Daily papers", "daily_feed")]
    if period is not None:
        title = f"{_LIST_TITLES[period.kind]} {period.key}"
        feeds.append(_feed_links(request, title, "daily_feed", {_PERIOD_PARAMETERS[period.kind]: period.key}))
    return feeds


def trending_feeds(request: Request) -> list[FeedLinks]:
    return [_feed_links(request, "Trending papers", "trending_feed")]


def recent_feeds(request: Request) -> list[FeedLinks]:
    return [_feed_links(request, "Newest papers", "recent_feed")]


def category_feeds(request: Request, category: str) -> list[FeedLinks]:
    return [_feed_links(request, f"Newest papers in {category}", "category_feed", category=category)]


def search_feeds(request: Request, query: str) -> list[FeedLinks]:
    return [_feed_links(request, f"Papers matching “{query}”", "search_feed", {"q": query})]


def collection_feeds(request: Request, title: str, owner: str, slug: str) -> list[FeedLinks]:
    return [_feed_links(request, f"Papers added to “{title}”", "collection_feed", owner=owner, slug=slug)]


def _feed_format(text: str) -> FeedFormat:
    for feed_format in FEED_FORMATS:
        if text == feed_format:
            return feed_format
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"Feeds come as .rss or .atom, not .{text[:_QUOTED_LENGTH]}.")


def _paper_url(request: Request) -> PaperUrl:
    return lambda arxiv_id: absolute_url(request, "paper", arxiv_id=arxiv_id)


def _respond(
    request: Request,
    feed_format: FeedFormat,
    *,
    title: str,
    description: str,
    page_url: str,
    entries: list[FeedEntry],
    query: dict[str, str] | None = None,
    private: bool = False,
) -> Response:
    """The feed document; one `private` to its reader may be kept by their feed reader, never by a shared cache."""
    route: APIRoute = request.scope["route"]
    address = absolute_url(request, route.name, **request.path_params)
    feed = Feed(
        title=f"{title} · Paperboard",
        description=description,
        page_url=page_url,
        # The query rebuilt from what the feed is of, so that stray parameters or their order do not change its id.
        self_url=f"{address}?{urlencode(query)}" if query else address,
        entries=tuple(entries),
        author_url=lambda name: absolute_url(request, "author", **author_path_params(name)),
    )
    body = render_feed(feed, feed_format)
    response = conditional_response(
        request.headers, body, MEDIA_TYPES[feed_format], feed.last_modified, max_age=FEED_MAX_AGE_SECONDS
    )
    if private:
        response.headers["Cache-Control"] = f"private, max-age={FEED_MAX_AGE_SECONDS}"
    return response


def _latest_day(session: Session) -> Period | None:
    day = latest_listed_day(session)
    return None if day is None else period_of("day", day)


@router.get("/feeds/daily.{feed_format}", name="daily_feed")
def daily_feed(
    request: Request,
    feed_format: str,
    session: ReadSessionDep,
    day: Annotated[str | None, Query(alias="date")] = None,
    week: str | None = None,
    month: str | None = None,
) -> Response:
    chosen_format = _feed_format(feed_format)
    try:
        period = requested_period(day, week, month)
    except InvalidPeriod as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    if period is None:
        latest = _latest_day(session)
        return _respond(
            request,
            chosen_format,
            title="Daily papers",
            description="The latest daily list, ranked by upvotes"
            + (f": {format_date(latest.start)}." if latest else "; nothing is listed yet."),
            page_url=absolute_url(request, "home"),
            entries=[] if latest is None else list_entries(session, latest, _paper_url(request), limit=FEED_ENTRIES),
        )
    return _respond(
        request,
        chosen_format,
        title=f"{_LIST_TITLES[period.kind]} {period.key}",
        description=f"The papers listed in {period.key}, ranked by upvotes.",
        page_url=absolute_url(request, _LIST_ROUTES[period.kind], **{period.kind: period.key}),
        entries=list_entries(session, period, _paper_url(request), limit=FEED_ENTRIES),
        query={_PERIOD_PARAMETERS[period.kind]: period.key},
    )


@router.get("/feeds/trending.{feed_format}", name="trending_feed")
def trending_feed(request: Request, feed_format: str, session: ReadSessionDep) -> Response:
    return _respond(
        request,
        _feed_format(feed_format),
        title="Trending papers",
        description="Recently listed papers drawing upvotes and comments now.",
        page_url=absolute_url(request, "trending"),
        entries=trending_entries(session, _paper_url(request), limit=FEED_ENTRIES),
    )


@router.get("/feeds/recent.{feed_format}", name="recent_feed")
def recent_feed(request: Request, feed_format: str, session: ReadSessionDep) -> Response:
    return _respond(
        request,
        _feed_format(feed_format),
        title="Newest papers",
        description="The most recently published papers of the catalogue.",
        page_url=absolute_url(request, "recent"),
        entries=newest_entries(session, _paper_url(request), limit=FEED_ENTRIES),
    )


@router.get("/feeds/category/{category}.{feed_format}", name="category_feed")
def category_feed(request: Request, category: str, feed_format: str, session: ReadSessionDep) -> Response:
    chosen_format = _feed_format(feed_format)
    if not has_category(session, category):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"No paper of this catalogue is filed under {category[:_QUOTED_LENGTH]!r}. arXiv categories are written "
            "like cs.CL, math.AG or hep-th.",
        )
    return _respond(
        request,
        chosen_format,
        title=f"Newest papers in {category}",
        description=f"The most recently published papers of the catalogue filed under {category}.",
        # Categories outside arXiv's taxonomy (old ones, such as cmp-lg) have no page; the newest papers are nearest.
        page_url=(
            absolute_url(request, "category", category=category)
            if category in CATEGORY_NAMES
            else absolute_url(request, "recent")
        ),
        entries=newest_entries(session, _paper_url(request), limit=FEED_ENTRIES, category=category),
    )


@router.get("/feeds/search.{feed_format}", name="search_feed")
def search_feed(
    request: Request, feed_format: str, session: ReadSessionDep, searcher: SearcherDep, q: str = ""
) -> Response:
    chosen_format = _feed_format(feed_format)
    try:
        entries = search_entries(session, searcher, q, _paper_url(request), limit=FEED_ENTRIES)
    except QueryTooLong as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    return _respond(
        request,
        chosen_format,
        title=f"Papers matching “{q}”" if q.strip() else "Search",
        description=(
            f"The newest of the {RESULTS_DEPTH} papers that best match “{q}”."
            if q.strip()
            else "A search without words, which matches no paper: add ?q= and the words to look for."
        ),
        page_url=str(URL(absolute_url(request, "search")).include_query_params(q=q)),
        entries=entries,
        query={"q": q},
    )


@router.get("/feeds/for-you/{secret}.{feed_format}", name="for_you_feed")
def for_you_feed(request: Request, secret: str, feed_format: str, database: DatabaseDep) -> Response:
    chosen_format = _feed_format(feed_format)
    with database.read_session() as session:
        owner = private_feed_owner(session, secret)
    if owner is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "This private feed address is not valid: it was replaced or revoked, or never existed. Its owner makes "
            "a new one on their account page.",
        )
    refresh_reader_model(database, owner)
    with database.read_session() as session:
        entries = for_you_entries(session, owner, _paper_url(request), limit=FEED_ENTRIES)
    return _respond(
        request,
        chosen_format,
        title="For you",
        description=f"The papers first published in the last {DEFAULT_DAYS} days that suit you best, as your "
        "“For you” page ranks them.",
        page_url=absolute_url(request, "for_you"),
        entries=entries,
        private=True,
    )


@router.get("/feeds/collections/{owner}/{slug}.{feed_format}", name="collection_feed")
def collection_feed(request: Request, owner: str, slug: str, feed_format: str, session: ReadSessionDep) -> Response:
    """The papers last added to a public collection. A feed reader signs in as nobody: a private collection has no
    feed (404), as it has no page for anyone but its owner."""
    chosen_format = _feed_format(feed_format)
    try:
        collection = collection_at(session, owner, slug, None)
    except CollectionNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    view = collection_view(session, collection)
    owner_name, _, page_slug = collection_slug(view.owner, collection).partition("/")
    return _respond(
        request,
        chosen_format,
        title=collection.title,
        description=collection.description or f"A collection of papers by {view.owner.display_name}.",
        page_url=absolute_url(request, "collection", owner=owner_name, slug=page_slug),
        entries=collection_entries(session, collection, _paper_url(request), limit=FEED_ENTRIES),
    )
