"""Listed papers with everything known about them, for the API that mirrors Hugging Face's `daily_papers`.

A listing query (`daily_papers`) pages through the lists of a day, week or month (or of all time), ordered by
submission time (Hugging Face's `publishedAt`), by trending score, or by upvotes as the site's lists are; single
papers and search results get the same details, with the listing when the paper is on a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.community.counts import activity_counts, comment_counts
from paperboard.community.listings import (
    ABSTRACT_START_LENGTH,
    PaperCard,
    RankedListing,
    listings_of,
    listings_page,
    today,
)
from paperboard.community.periods import Period
from paperboard.community.trending import trending, trending_listings
from paperboard.community.votes import voted_papers
from paperboard.db.models import Paper, User

DailyPapersSort = Literal["publishedAt", "trending", "upvotes"]


@dataclass(frozen=True, slots=True)
class ListedPaper:
    """A paper, the list it is on (None when it is on none), and its counts: local activity plus imported."""

    paper: Paper
    listing: RankedListing | None
    upvotes: int
    comments: int


def listed_papers(session: Session, papers: Sequence[Paper]) -> list[ListedPaper]:
    """Details of these papers, in their order."""
    ids = [paper.id for paper in papers]
    listings = listings_of(session, ids)
    activity = activity_counts(session, ids)
    return [
        ListedPaper(paper, listings.get(paper.id), activity[paper.id].upvotes, activity[paper.id].comments)
        for paper in papers
    ]


def listed_paper_cards(session: Session, listed: Sequence[ListedPaper], viewer: User | None) -> list[PaperCard]:
    """Cards for these papers, listed or not, in their order. A paper on no list is dated by its first publication
    and never marked new (which says "listed today")."""
    voted = voted_papers(session, viewer, [item.paper.id for item in listed])
    new_day = today()
    return [
        PaperCard(
            paper_id=item.paper.id,
            arxiv_id=item.paper.arxiv_id,
            title=item.paper.title,
            abstract_start=item.paper.abstract[:ABSTRACT_START_LENGTH],
            authors=item.paper.authors,
            code_url=item.paper.code_url,
            project_url=item.paper.project_url,
            day=item.paper.published_at.date() if item.listing is None else item.listing.day,
            submitter=None if item.listing is None else item.listing.submitter,
            github_stars=None if item.listing is None else item.listing.github_stars,
            upvotes=item.upvotes,
            comments=item.comments,
            voted=item.paper.id in voted,
            is_new=item.listing is not None and item.listing.day == new_day,
        )
        for item in listed
    ]


def daily_papers(
    session: Session,
    *,
    sort: DailyPapersSort,
    page: int,
    limit: int,
    period: Period | None = None,
    submitter: str | None = None,
) -> list[ListedPaper]:
    """Page `page` (from 0) of `limit` listed papers of `period` (all periods when None), of one submitter when
    given; an empty list past the end."""
    offset = page * limit
    if sort == "trending":
        if period is None and submitter is None:
            # The trending page's ranking, including its fallback to the latest listed day when nothing is recent.
            entries = trending(session, limit=offset + limit).entries
        else:
            entries = trending_listings(session, limit=offset + limit, period=period, submitter=submitter)
        listings = [entry.listing for entry in entries[offset:]]
    else:
        listings = listings_page(
            session,
            order="newest" if sort == "publishedAt" else "upvotes",
            limit=limit,
            offset=offset,
            start=None if period is None else period.start,
            end=None if period is None else period.end,
            submitter=submitter,
        )
    paper_ids = [listing.paper_id for listing in listings]
    papers = {paper.id: paper for paper in session.scalars(select(Paper).where(Paper.id.in_(paper_ids)))}
    comments = comment_counts(session, paper_ids)
    return [
        ListedPaper(papers[listing.paper_id], listing, listing.upvotes, comments[listing.paper_id])
        for listing in listings
        # A paper deleted since its listing was read, as PostgreSQL's statements each see the latest commit.
        if listing.paper_id in papers
    ]
