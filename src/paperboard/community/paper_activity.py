"""What a paper's page shows beyond its catalogue record: upvotes, the daily list it is on and who put it there,
and its comments as the reader sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.community.comments import ThreadComment, paper_thread
from paperboard.community.counts import activity_counts
from paperboard.community.organizations import OrganizationRef, organizations_of
from paperboard.community.votes import voted_papers
from paperboard.db.models import Listing, Paper, User
from paperboard.github.repositories import refreshed_stars


@dataclass(frozen=True, slots=True)
class ListedOn:
    """The daily list a paper is on: submitted by a local user, or by someone named in imported history."""

    day: date
    submitter: User | None
    imported_submitter: str | None
    imported_comments: int
    # The archive's count of the code's stars.
    github_stars: int | None = None


@dataclass(frozen=True, slots=True)
class PaperActivity:
    upvotes: int
    voted: bool
    # Comments every reader sees plus imported ones: the number the lists show beside the paper.
    comment_count: int
    listing: ListedOn | None
    thread: list[ThreadComment]
    organization: OrganizationRef | None
    # GitHub's count when the worker has asked it (github/), else the archive's.
    github_stars: int | None


def listed_on(session: Session, paper_id: int) -> ListedOn | None:
    """The list the paper is on, unless a moderator took it off."""
    row = session.execute(
        select(Listing, User)
        .outerjoin(User, User.id == Listing.submitter_id)
        .where(Listing.paper_id == paper_id, Listing.hidden_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    listing, submitter = row
    return ListedOn(listing.day, submitter, listing.imported_submitter, listing.imported_comments, listing.github_stars)


def paper_activity(session: Session, paper: Paper, reader: User | None) -> PaperActivity:
    activity = activity_counts(session, [paper.id])[paper.id]
    listing = listed_on(session, paper.id)
    stars = refreshed_stars(session, [paper.code_url])
    return PaperActivity(
        upvotes=activity.upvotes,
        voted=paper.id in voted_papers(session, reader, [paper.id]),
        comment_count=activity.comments,
        listing=listing,
        thread=paper_thread(session, paper.id, reader),
        organization=organizations_of(session, [paper.id]).get(paper.id),
        github_stars=stars.get(paper.code_url or "", None if listing is None else listing.github_stars),
    )
