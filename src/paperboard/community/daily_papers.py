"""Listed papers with everything known about them, for the API that mirrors Hugging Face's `daily_papers`.

A listing query (`daily_papers`) pages through the lists of a day, week or month (or of all time), ordered by
submission time (Hugging Face's `publishedAt`), by trending score, or by upvotes as the site's lists are; single
papers and search results get the same details, with the listing when the paper is on a list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from paperboard.community.listings import (
    ABSTRACT_START_LENGTH,
    PaperCard,
    RankedListing,
    listings_of,
    listings_page,
    today,
)
from paperboard.community.organizations import OrganizationRef
from paperboard.community.paper_details import PaperFacts, paper_details
from paperboard.community.periods import Period
from paperboard.community.trending import TrendingScores, trending, trending_listings
from paperboard.community.votes import voted_papers
from paperboard.db.models import Paper, User
from paperboard.github.repositories import refreshed_stars
from paperboard.thumbnails.queries import ThumbnailSize

DailyPapersSort = Literal["publishedAt", "trending", "upvotes"]


@dataclass(frozen=True, slots=True)
class ListedPaper:
    """A paper (the caller's when it gave its papers, else its columns as read with the details), the list it is on
    (None when it is on none), its counts (local activity plus imported), the organization it was listed for, its
    code's stars (GitHub's when the worker asked, else the archive's), its first-page thumbnail once the worker has
    made it, and its keywords (None while it has none)."""

    paper: Paper | PaperFacts
    listing: RankedListing | None
    upvotes: int
    comments: int
    organization: OrganizationRef | None
    github_stars: int | None
    thumbnail: ThumbnailSize | None
    keywords: list[str] | None


def _with_details(
    session: Session,
    paper_ids: Sequence[int],
    listings: Mapping[int, RankedListing],
    papers: Mapping[int, Paper] | None = None,
) -> list[ListedPaper]:
    """These papers in this order, with their details; a paper deleted since its listing was read (PostgreSQL's
    statements each see the latest commit) is left out."""
    details = paper_details(session, paper_ids)
    stars = refreshed_stars(session, [item.paper.code_url for item in details.values()])
    listed = []
    for paper_id in paper_ids:
        if (item := details.get(paper_id)) is None:
            continue
        listing = listings.get(paper_id)
        listed.append(
            ListedPaper(
                item.paper if papers is None else papers[paper_id],
                listing,
                item.upvotes,
                item.comments,
                item.organization,
                stars.get(item.paper.code_url or "", None if listing is None else listing.github_stars),
                item.thumbnail,
                item.keywords,
            )
        )
    return listed


def listed_papers(session: Session, papers: Sequence[Paper]) -> list[ListedPaper]:
    """Details of these papers, in their order."""
    ids = [paper.id for paper in papers]
    return _with_details(session, ids, listings_of(session, ids), {paper.id: paper for paper in papers})


def listed_paper_cards(session: Session, listed: Sequence[ListedPaper], viewer: User | None) -> list[PaperCard]:
    """Cards for these papers, listed or not, in their order. A paper on no list is dated by its first publication
    and never marked new (which says "listed today")."""
    paper_ids = [item.paper.id for item in listed]
    voted = voted_papers(session, viewer, paper_ids)
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
            thumbnail=item.thumbnail,
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
    trending_scores: TrendingScores | None = None,
) -> list[ListedPaper]:
    """Page `page` (from 0) of `limit` listed papers of `period` (all periods when None), of one submitter when
    given; an empty list past the end. The trending ranking of no period is ordered by `trending_scores` when
    given."""
    offset = page * limit
    if sort == "trending":
        if period is None and submitter is None:
            # The trending page's ranking, including its fallback to the latest listed day when nothing is recent.
            entries = trending(session, limit=offset + limit, scores=trending_scores).entries
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
    return _with_details(
        session, [listing.paper_id for listing in listings], {listing.paper_id: listing for listing in listings}
    )
