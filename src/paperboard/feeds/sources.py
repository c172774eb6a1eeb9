"""What each feed holds, as entries in the feed's order: a daily, weekly or monthly list ranked as its page ranks
it, trending, the newest papers of the catalogue (of one category), the matches of a search, and a reader's own
"for you" feed.

An entry's id is the address of the paper's page on this site: the same for the paper in every request and every
feed, and a link readers can open. Papers on a list are dated when they were listed, the others when first
published; an entry's `updated` moves on when arXiv has a newer version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from paperboard.catalog.latex import to_plain
from paperboard.catalog.queries import newest_papers, papers_by_ids
from paperboard.community.listings import RankedListing, ranked_listings
from paperboard.community.periods import Period
from paperboard.community.trending import trending
from paperboard.db.models import Paper, PaperCollection
from paperboard.feeds.documents import FeedEntry
from paperboard.personal.collections import recently_added
from paperboard.personal.feed import for_you_page
from paperboard.search.engine import SearchMode
from paperboard.search.service import Searcher, SearchRequest, SearchSort

# The absolute address of a paper's page on this site, from its arXiv id.
PaperUrl = Callable[[str], str]


def _entry(paper: Paper, since: datetime, paper_url: PaperUrl) -> FeedEntry:
    url = paper_url(paper.arxiv_id)
    return FeedEntry(
        id=url,
        # Feed readers show text, not LaTeX.
        title=to_plain(paper.title),
        link=url,
        authors=tuple(paper.authors),
        summary=to_plain(paper.abstract),
        categories=tuple(category.category for category in paper.categories),
        published=since,
        updated=max(since, paper.updated_at or paper.published_at),
    )


def collection_entries(
    session: Session, collection: PaperCollection, paper_url: PaperUrl, *, limit: int
) -> list[FeedEntry]:
    """The `limit` papers last added to a collection, dated when they were added, each with its note first."""
    entries = []
    for added in recently_added(session, collection, limit):
        entry = _entry(added.paper, added.item.added_at, paper_url)
        if added.item.note:
            entry = replace(entry, summary=f"{added.item.note}\n\n{entry.summary}")
        entries.append(entry)
    return entries


def _listed_entries(session: Session, listings: Sequence[RankedListing], paper_url: PaperUrl) -> list[FeedEntry]:
    listed_at = {listing.paper_id: listing.submitted_at for listing in listings}
    papers = papers_by_ids(session, [listing.paper_id for listing in listings])
    return [_entry(paper, listed_at[paper.id], paper_url) for paper in papers]


def list_entries(session: Session, period: Period, paper_url: PaperUrl, *, limit: int) -> list[FeedEntry]:
    """The `limit` highest ranked papers of the period's list."""
    return _listed_entries(session, ranked_listings(session, period.start, period.end)[:limit], paper_url)


def trending_entries(session: Session, paper_url: PaperUrl, *, limit: int) -> list[FeedEntry]:
    """The `limit` papers trending now, as the trending page ranks them."""
    return _listed_entries(session, [entry.listing for entry in trending(session, limit=limit).entries], paper_url)


def newest_entries(
    session: Session, paper_url: PaperUrl, *, limit: int, category: str | None = None
) -> list[FeedEntry]:
    """The `limit` most recently published papers of the catalogue, or of one category."""
    return [
        _entry(paper, paper.published_at, paper_url) for paper in newest_papers(session, limit=limit, category=category)
    ]


def search_entries(
    session: Session, searcher: Searcher, query: str, paper_url: PaperUrl, *, limit: int
) -> list[FeedEntry]:
    """The `limit` newest of the best keyword matches of `query`: whoever follows a search wants to see what is new,
    and papers that only resemble the query in meaning would crowd out the ones that match it, newest first.
    `search.service.QueryTooLong` for an over-long query."""
    request = SearchRequest(query=query, mode=SearchMode.KEYWORD, sort=SearchSort.DATE, limit=limit)
    results = searcher.search(session, request)
    return [_entry(hit.paper, hit.paper.published_at, paper_url) for hit in results.hits]


def for_you_entries(session: Session, user_id: int, paper_url: PaperUrl, *, limit: int) -> list[FeedEntry]:
    """The `limit` best papers of the reader's feed of the last week, as their page ranks them, each summary opening
    with why the paper is there (see `personal.feed.for_you_page` for the session)."""
    return [
        replace(entry, summary=f"{item.reason}.\n\n{entry.summary}")
        for item in for_you_page(session, user_id, None, page=0, limit=limit).items
        for entry in [_entry(item.listed.paper, item.listed.paper.published_at, paper_url)]
    ]
