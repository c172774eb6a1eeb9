"""Listed papers with everything known about them, for the API that mirrors Hugging Face's `daily_papers`.

A listing query (`daily_papers`) pages through the lists of a day, week or month (or of all time), ordered by
submission time (Hugging Face's `publishedAt`), by trending score, or by upvotes as the site's lists are; single
papers and search results get the same details, with the listing when the paper is on a list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.community.counts import Activity, activity_counts, comment_counts
from paperboard.community.listings import (
    ABSTRACT_START_LENGTH,
    PaperCard,
    RankedListing,
    listings_of,
    listings_page,
    today,
)
from paperboard.community.organizations import OrganizationRef, organizations_of
from paperboard.community.periods import Period
from paperboard.community.trending import trending, trending_listings
from paperboard.community.votes import voted_papers
from paperboard.db.models import Paper, User
from paperboard.github.repositories import refreshed_stars
from paperboard.search.paper_keywords import keywords_of
from paperboard.thumbnails.queries import thumbnail_sizes

DailyPapersSort = Literal["publishedAt", "trending", "upvotes"]


@dataclass(frozen=True, slots=True)
class ListedPaper:
    """A paper, the list it is on (None when it is on none), its counts (local activity plus imported), the
    organization it was listed for, its code's stars (GitHub's when the worker asked, else the archive's),
    whether the worker has made its first-page thumbnail, and its keywords (None while it has none)."""

    paper: Paper
    listing: RankedListing | None
    upvotes: int
    comments: int
    organization: OrganizationRef | None
    github_stars: int | None
    has_thumbnail: bool
    keywords: list[str] | None


def _with_details(
    session: Session, papers: Sequence[Paper], listings: Mapping[int, RankedListing], counts: Mapping[int, Activity]
) -> list[ListedPaper]:
    organizations = organizations_of(session, [paper.id for paper in papers])
    stars = refreshed_stars(session, [paper.code_url for paper in papers])
    thumbnails = thumbnail_sizes(session, [paper.id for paper in papers])
    keywords = keywords_of(session, [paper.id for paper in papers])
    details = []
    for paper in papers:
        listing = listings.get(paper.id)
        details.append(
            ListedPaper(
                paper,
                listing,
                counts[paper.id].upvotes,
                counts[paper.id].comments,
                organizations.get(paper.id),
                stars.get(paper.code_url or "", None if listing is None else listing.github_stars),
                paper.id in thumbnails,
                keywords.get(paper.id),
            )
        )
    return details


def listed_papers(session: Session, papers: Sequence[Paper]) -> list[ListedPaper]:
    """Details of these papers, in their order."""
    ids = [paper.id for paper in papers]
    return _with_details(session, papers, listings_of(session, ids), activity_counts(session, ids))


def listed_paper_cards(session: Session, listed: Sequence[ListedPaper], viewer: User | None) -> list[PaperCard]:
    """Cards for these papers, listed or not, in their order. A paper on no list is dated by its first publication
    and never marked new (which says "listed today")."""
    paper_ids = [item.paper.id for item in listed]
    voted = voted_papers(session, viewer, paper_ids)
    thumbnails = thumbnail_sizes(session, paper_ids)
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
            github_stars=item.github_stars,
            upvotes=item.upvotes,
            comments=item.comments,
            voted=item.paper.id in voted,
            is_new=item.listing is not None and item.listing.day == new_day,
            thumbnail=thumbnails.get(item.paper.id),
            organization=item.organization,
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
    return _with_details(
        session,
        # A paper deleted since its listing was read (PostgreSQL's statements each see the latest commit) is left out.
        [papers[listing.paper_id] for listing in listings if listing.paper_id in papers],
        {listing.paper_id: listing for listing in listings},
        {listing.paper_id: Activity(listing.upvotes, comments[listing.paper_id]) for listing in listings},
    )
