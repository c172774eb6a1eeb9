"""Daily lists: papers submitted to the list of the day (UTC), the lists of a day, week or month ranked by upvotes,
and moderators hiding papers from them.

Rules of submission (refusals raise a `SubmissionRefused` whose message says why):
- the submitter is signed in and not suspended;
- the text is an arXiv id or address in any form people paste; a paper the catalogue lacks is not fetched by the
  request: the submission waits in `submission_fetches` (one row per paper, so a paper submitted many times is asked
  of arXiv once) for the worker, which fetches it (`community.submission_fetches`) and then lists it by these same
  rules, or records why it cannot;
- the paper was first published at most `max_age_days` days before today, and is not withdrawn;
- a paper is listed once, ever: `listings.paper_id` is unique, which also settles two submissions racing.

A paper listed is queued in the same transaction for the worker to make its first-page thumbnail
(`thumbnails.jobs`).

A list holds the listed papers of its period that are neither hidden by a moderator nor withdrawn, ranked by
upvotes (local votes plus imported ones, `community.counts`), ties going to the earlier submission.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Row, Select, bindparam, func, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.queries import get_paper
from paperboard.clock import utcnow
from paperboard.community.organizations import OrganizationRef
from paperboard.community.paper_details import paper_details
from paperboard.community.periods import Period, period_of
from paperboard.community.votes import voted_papers
from paperboard.db import Database
from paperboard.db.models import Listing, Paper, SubmissionFetch, User, Vote
from paperboard.github.repositories import refreshed_stars
from paperboard.thumbnails.queries import ThumbnailSize
from paperboard.thumbnails.queue import queue_thumbnails

# Cards show the start of an abstract; reading a little more than they show keeps whole abstracts out of memory.
ABSTRACT_START_LENGTH = 400

# The states of a submission waiting for arXiv (`SubmissionFetch.status`).
FetchStatus = Literal["pending", "listed", "refused"]
PENDING: FetchStatus = "pending"
LISTED: FetchStatus = "listed"
REFUSED: FetchStatus = "refused"
# A submitter's recent submissions from arXiv that the submission page shows.
RECENT_FETCHES_SHOWN = 10


class SubmissionRefused(Exception):
    """A paper cannot be listed; the message says why, in words fit for the person who submitted it."""


class MalformedId(SubmissionRefused):
    """The text is not an arXiv id or address."""


class UnknownPaper(SubmissionRefused):
    """arXiv has no paper with this id."""


class PaperTooOld(SubmissionRefused):
    """The paper was first published longer ago than submissions allow."""


class PaperWithdrawn(SubmissionRefused):
    """The paper was withdrawn from arXiv."""


class AlreadyListed(SubmissionRefused):
    """The paper is on a list already, possibly hidden there by a moderator."""


class SubmitterSuspended(SubmissionRefused):
    """The account is suspended."""


class ListingNotFound(LookupError):
    """The paper is not on any list."""


@dataclass(frozen=True, slots=True)
class Submission:
    """A paper just listed: where the list that now holds it is, and when it was put there."""

    arxiv_id: str
    day: date
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class FetchState:
    """A submission of a paper the catalogue lacked, as its submitter sees it: waiting for the worker to fetch it
    from arXiv, listed, or refused with the reason."""

    arxiv_id: str
    status: FetchStatus
    message: str
    submitted_at: datetime

    @classmethod
    def of(cls, fetch: SubmissionFetch) -> FetchState:
        status: FetchStatus = fetch.status  # type: ignore[assignment]
        if status == PENDING:
            message = f"We are fetching {fetch.arxiv_id} from arXiv; it will be listed when it arrives."
        elif status == LISTED:
            message = f"{fetch.arxiv_id} was fetched from arXiv and listed."
        else:
            message = fetch.message or f"{fetch.arxiv_id} could not be listed."
        return cls(fetch.arxiv_id, status, message, fetch.created_at)


@dataclass(frozen=True, slots=True)
class RankedListing:
    """A listed paper's place in a ranking: what ranks it, and the listing's own facts a card shows."""

    paper_id: int
    day: date
    submitted_at: datetime
    # The local user who submitted the paper; None for imported history.
    submitter_id: int | None
    # A local user's name, or the name imported with the listing; None when neither is known.
    submitter: str | None
    # How the submitter is shown: a local user's display name, or the imported name.
    submitter_display_name: str | None
    github_stars: int | None
    imported_upvotes: int
    imported_comments: int
    upvotes: int


@dataclass(frozen=True, slots=True)
class PaperCard:
    """Everything a card on a list shows about one listed paper."""

    paper_id: int
    arxiv_id: str
    title: str
    abstract_start: str
    authors: list[str]
    code_url: str | None
    project_url: str | None
    day: date
    submitter: str | None
    # GitHub's count when the worker has asked it (github/), else the archive's.
    github_stars: int | None
    upvotes: int
    comments: int
    voted: bool
    is_new: bool
    thumbnail: ThumbnailSize | None
    organization: OrganizationRef | None


@dataclass(frozen=True, slots=True)
class HiddenListing:
    """A paper a moderator hid from the lists, for the moderators' view of a period."""

    arxiv_id: str
    title: str
    day: date
    hidden_at: datetime
    hidden_by: str | None


def today() -> date:
    """The day of the list that submissions go to now."""
    return utcnow().date()


# Submitting


def _check_submitter(session: Session, submitter: User | int) -> User:
    # Read again: the caller's copy may predate a suspension.
    stored = session.get(User, submitter if isinstance(submitter, int) else submitter.id)
    if stored is None or stored.suspended_at is not None:
        raise SubmitterSuspended("A suspended account cannot submit papers.")
    return stored


def _already_listed(listing: Listing, arxiv_id: str) -> AlreadyListed:
    if listing.hidden_at is not None:
        return AlreadyListed(
            f"{arxiv_id} was listed on {listing.day.isoformat()} and removed by a moderator; it cannot be listed again."
        )
    return AlreadyListed(f"{arxiv_id} is already listed on {listing.day.isoformat()}.")


def _list(session: Session, paper: Paper, submitter: User, day: date, max_age_days: int) -> Submission:
    if paper.deleted_at is not None:
        raise PaperWithdrawn(f"{paper.arxiv_id} was withdrawn from arXiv, so it cannot be listed.")
    age = (day - paper.published_at.date()).days
    if age > max_age_days:
        raise PaperTooOld(
            f"{paper.arxiv_id} was first published on {paper.published_at.date().isoformat()}, {age} days ago; "
            f"only papers first published in the last {max_age_days} days may be submitted."
        )
    existing = session.scalars(select(Listing).where(Listing.paper_id == paper.id)).one_or_none()
    if existing is not None:
        raise _already_listed(existing, paper.arxiv_id)
    # A savepoint, so that losing a race with another submission of the same paper leaves the transaction usable
    # to say where that submission listed it.
    submitted_at = utcnow()
    try:
        with session.begin_nested():
            session.add(Listing(paper_id=paper.id, day=day, submitted_at=submitted_at, submitter_id=submitter.id))
    except IntegrityError:
        winner = session.scalars(select(Listing).where(Listing.paper_id == paper.id)).one()
        raise _already_listed(winner, paper.arxiv_id) from None
    queue_thumbnails(session, [paper.id])
    return Submission(paper.arxiv_id, day, submitted_at)


def _await_fetch(session: Session, submitter: User, arxiv_id: str) -> FetchState:
    """Queue the paper for the worker to fetch, once however many ask for it. Asking again for one's own pending
    submission changes nothing; one that was refused (arXiv did not have it yet, say) is tried again."""
    now = utcnow()
    fetch = session.scalars(
        select(SubmissionFetch).where(SubmissionFetch.arxiv_id == arxiv_id).with_for_update()
    ).one_or_none()
    if fetch is None:
        # A savepoint, so that losing a race with another submission of the same paper leaves the transaction usable
        # to read the winner's row.
        try:
            with session.begin_nested():
                fetch = SubmissionFetch(
                    arxiv_id=arxiv_id,
                    submitter_id=submitter.id,
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                session.add(fetch)
        except IntegrityError:
            fetch = session.scalars(
                select(SubmissionFetch).where(SubmissionFetch.arxiv_id == arxiv_id).with_for_update()
            ).one()
        else:
            return FetchState.of(fetch)
    if fetch.status == PENDING:
        if fetch.submitter_id != submitter.id:
            raise AlreadyListed(
                f"{arxiv_id} was submitted by someone else and is being fetched from arXiv; it will be listed when it "
                "arrives."
            )
        return FetchState.of(fetch)
    # Refused, or listed and since gone from the catalogue: a new submission starts afresh.
    fetch.submitter_id = submitter.id
    fetch.status = PENDING
    fetch.attempts = 0
    fetch.next_attempt_at = now
    fetch.message = None
    fetch.created_at = now
    fetch.finished_at = None
    return FetchState.of(fetch)


def submit_paper(database: Database, submitter: User, text: str, *, max_age_days: int) -> Submission | FetchState:
    """List the paper `text` names on today's list; SubmissionRefused when it may not be, with nothing listed.
    A paper the catalogue lacks is queued for the worker to fetch from arXiv: its pending `FetchState` is returned,
    and the worker lists it (`list_fetched`) or records why not. The request never waits for arXiv."""
    try:
        arxiv_id = parse_arxiv_id(text).id
    except InvalidArxivId as error:
        message = str(error)
        raise MalformedId(f"{message[:1].upper()}{message[1:]}.") from None
    with database.session() as session:
        stored_submitter = _check_submitter(session, submitter)
        paper = get_paper(session, arxiv_id)
        if paper is None:
            return _await_fetch(session, stored_submitter, arxiv_id)
        return _list(session, paper, stored_submitter, today(), max_age_days)


def list_fetched(session: Session, submitter_id: int, arxiv_id: str, max_age_days: int) -> Submission:
    """List a paper the worker fetched for a submission, by the rules a submission of a catalogued paper follows;
    SubmissionRefused (or UnknownPaper if it is not in the catalogue after all) when it may not be."""
    submitter = _check_submitter(session, submitter_id)
    paper = get_paper(session, arxiv_id)
    if paper is None:
        raise UnknownPaper(f"arXiv has no paper {arxiv_id}.")
    return _list(session, paper, submitter, today(), max_age_days)


def fetch_state(session: Session, submitter: User, arxiv_id: str) -> FetchState | None:
    """The state of `submitter`'s submission of a paper the catalogue lacked; None if they have none."""
    fetch = session.scalars(
        select(SubmissionFetch).where(
            SubmissionFetch.arxiv_id == arxiv_id, SubmissionFetch.submitter_id == submitter.id
        )
    ).one_or_none()
    return None if fetch is None else FetchState.of(fetch)


def recent_fetches(session: Session, submitter: User) -> list[FetchState]:
    """The submitter's latest submissions of papers the catalogue lacked, newest first: what is still awaited and
    what was refused after the request had answered, which the lists themselves cannot show."""
    fetches = session.scalars(
        select(SubmissionFetch)
        .where(SubmissionFetch.submitter_id == submitter.id)
        .order_by(SubmissionFetch.created_at.desc(), SubmissionFetch.id.desc())
        .limit(RECENT_FETCHES_SHOWN)
    )
    return [FetchState.of(fetch) for fetch in fetches]


# Reading lists


def _visible_listings(*columns: Any) -> Select[Any]:
    """Listings readers see: not hidden by a moderator, of papers not withdrawn."""
    return (
        select(*columns)
        .select_from(Listing)
        .join(Paper, Paper.id == Listing.paper_id)
        .where(Listing.hidden_at.is_(None), Paper.deleted_at.is_(None))
    )


ListingOrder = Literal["upvotes", "newest"]


def _listings_query(start: Any, end: Any, submitter: Any, *columns: Any) -> Select[Any]:
    """The visible listings of the days from `start` up to `end` (either open when None), of one submitter (a local
    user's name or an imported one, in any case; given in lower case) when given: these columns of them, or by
    default all that make a `RankedListing`. The bounds and the name are values or bound parameters."""
    submitter_name = func.coalesce(User.username, Listing.imported_submitter)
    if not columns:
        # Local votes are counted in the same query, per listing, along the votes' (paper, time) index; the
        # imported count is on the row already.
        local_votes = select(func.count()).where(Vote.paper_id == Listing.paper_id).scalar_subquery()
        columns = (
            Listing.paper_id,
            Listing.day,
            Listing.submitted_at,
            Listing.submitter_id,
            submitter_name.label("submitter"),
            func.coalesce(User.display_name, Listing.imported_submitter).label("submitter_display_name"),
            Listing.github_stars,
            Listing.imported_upvotes,
            Listing.imported_comments,
            (Listing.imported_upvotes + local_votes).label("upvotes"),
        )
    query = _visible_listings(*columns).outerjoin(User, User.id == Listing.submitter_id)
    if start is not None:
        query = query.where(Listing.day >= start)
    if end is not None:
        query = query.where(Listing.day < end)
    if submitter is not None:
        query = query.where(func.lower(submitter_name) == submitter)
    return query


def _ranked_listing(row: Row[Any]) -> RankedListing:
    return RankedListing(
        paper_id=row.paper_id,
        day=row.day,
        submitted_at=row.submitted_at,
        submitter_id=row.submitter_id,
        submitter=row.submitter,
        submitter_display_name=row.submitter_display_name,
        github_stars=row.github_stars,
        imported_upvotes=row.imported_upvotes,
        imported_comments=row.imported_comments,
        upvotes=row.upvotes,
    )


def ranked_listings(
    session: Session, start: date, end: date | None = None, *, submitter: str | None = None
) -> list[RankedListing]:
    """The visible listings of the days from `start` up to `end` (open-ended when None), most upvoted first;
    ties go to the earlier submission."""
    query = _listings_query(start, end, None if submitter is None else submitter.lower())
    ranked = [_ranked_listing(row) for row in session.execute(query)]
    ranked.sort(key=lambda listing: (-listing.upvotes, listing.submitted_at, listing.paper_id))
    return ranked


def listings_page(
    session: Session,
    *,
    order: ListingOrder,
    limit: int,
    offset: int = 0,
    start: date | None = None,
    end: date | None = None,
    submitter: str | None = None,
) -> list[RankedListing]:
    """One page of the visible listings between `start` and `end` (see `ranked_listings`), ordered by the database:
    most upvoted first as on the lists, or most recently submitted first."""
    filters = {"start": start, "end": end, "submitter": None if submitter is None else submitter.lower()}
    given = {name: value for name, value in filters.items() if value is not None}
    query = _page_query(order, "start" in given, "end" in given, "submitter" in given)
    rows = session.execute(query, {**given, "limit": limit, "offset": offset})
    return [_ranked_listing(row) for row in rows]


# The statements below are built once (for each combination of filters): building one and working out its cache key
# at each call took three times as long as running it (0.75 of 1.0 ms for the newest 50 listings of the shared
# corpus); SQLAlchemy keeps the key of one statement object and its compiled form.


@functools.cache
def _page_query(order: ListingOrder, start: bool, end: bool, submitter: bool) -> Select[Any]:
    """`listings_page`'s statement, with bound parameters for the filters that are given, and the page."""
    bounds = [bindparam(name) if given else None for name, given in (("start", start), ("end", end))]
    name = bindparam("submitter") if submitter else None
    limit, offset = bindparam("limit"), bindparam("offset")
    if order == "upvotes":
        return (
            _listings_query(*bounds, name)
            .order_by(literal_column("upvotes").desc(), Listing.submitted_at, Listing.paper_id)
            .limit(limit)
            .offset(offset)
        )
    # The page is chosen first from the bare listings, so that upvotes are counted for its rows only.
    newest = (Listing.submitted_at.desc(), Listing.paper_id.desc())
    page = _listings_query(*bounds, name, Listing.id).order_by(*newest).limit(limit).offset(offset)
    return _listings_query(None, None, None).where(Listing.id.in_(page.scalar_subquery())).order_by(*newest)


_LISTINGS_OF = _listings_query(None, None, None).where(Listing.paper_id.in_(bindparam("paper_ids", expanding=True)))


def listings_of(session: Session, paper_ids: Collection[int]) -> dict[int, RankedListing]:
    """The visible listings of these papers, by paper; papers on no list (or hidden from it) are absent."""
    ids = list(paper_ids)
    if not ids:
        return {}
    return {row.paper_id: _ranked_listing(row) for row in session.execute(_LISTINGS_OF, {"paper_ids": ids})}


def paper_cards(session: Session, listings: Sequence[RankedListing], viewer: User | None) -> list[PaperCard]:
    """Cards for these listings, in their order: the papers' details (`paper_details`), and the viewer's votes."""
    paper_ids = [listing.paper_id for listing in listings]
    if not paper_ids:
        return []
    details = paper_details(session, paper_ids)
    voted = voted_papers(session, viewer, paper_ids)
    stars = refreshed_stars(session, [item.paper.code_url for item in details.values()])
    new_day = today()
    cards = []
    for listing in listings:
        item = details.get(listing.paper_id)
        if item is None:  # deleted since the listings were read, as PostgreSQL's statements see each commit
            continue
        paper = item.paper
        cards.append(
            PaperCard(
                paper_id=listing.paper_id,
                arxiv_id=paper.arxiv_id,
                title=paper.title,
                abstract_start=paper.abstract[:ABSTRACT_START_LENGTH],
                authors=paper.authors,
                code_url=paper.code_url,
                project_url=paper.project_url,
                day=listing.day,
                submitter=listing.submitter,
                github_stars=stars.get(paper.code_url or "", listing.github_stars),
                upvotes=listing.upvotes,
                comments=item.comments,
                voted=listing.paper_id in voted,
                is_new=listing.day == new_day,
                thumbnail=item.thumbnail,
                organization=item.organization,
            )
        )
    return cards


def latest_listed_day(session: Session, *, before: date | None = None) -> date | None:
    """The most recent day with a visible listing (before the day `before`, when given)."""
    query = _visible_listings(Listing.day)
    if before is not None:
        query = query.where(Listing.day < before)
    day: date | None = session.scalar(query.order_by(Listing.day.desc()).limit(1))
    return day


def neighbouring_periods(session: Session, period: Period) -> tuple[Period | None, Period | None]:
    """The nearest earlier and later periods of the same kind that have visible listings."""
    # Ordered and limited rather than max()/min(): the database walks the day index and stops at the first match.
    before: date | None = session.scalar(
        _visible_listings(Listing.day).where(Listing.day < period.start).order_by(Listing.day.desc()).limit(1)
    )
    after: date | None = session.scalar(
        _visible_listings(Listing.day).where(Listing.day >= period.end).order_by(Listing.day).limit(1)
    )
    return (
        None if before is None else period_of(period.kind, before),
        None if after is None else period_of(period.kind, after),
    )


def hidden_listings(session: Session, period: Period) -> list[HiddenListing]:
    """The papers of a period that moderators hid, most recently hidden first."""
    moderator = aliased(User)
    rows = session.execute(
        select(Paper.arxiv_id, Paper.title, Listing.day, Listing.hidden_at, moderator.username)
        .select_from(Listing)
        .join(Paper, Paper.id == Listing.paper_id)
        .outerjoin(moderator, moderator.id == Listing.hidden_by_id)
        .where(Listing.hidden_at.is_not(None), Listing.day >= period.start, Listing.day < period.end)
        .order_by(Listing.hidden_at.desc())
    )
    return [HiddenListing(*row) for row in rows]


# Moderation


def _listing_of(session: Session, moderator: User, arxiv_id: str) -> Listing:
    if not moderator.is_moderator:
        raise PermissionError("Only moderators may hide papers from the lists or show them again.")
    listing = session.scalars(
        select(Listing).join(Paper, Paper.id == Listing.paper_id).where(Paper.arxiv_id == arxiv_id)
    ).one_or_none()
    if listing is None:
        raise ListingNotFound(f"{arxiv_id} is not on any list.")
    return listing


def hide_listing(session: Session, moderator: User, arxiv_id: str) -> Listing:
    """Take a paper off the lists; hiding it again keeps the first hiding's time and moderator."""
    listing = _listing_of(session, moderator, arxiv_id)
    if listing.hidden_at is None:
        listing.hidden_at = utcnow()
        listing.hidden_by_id = moderator.id
    return listing


def unhide_listing(session: Session, moderator: User, arxiv_id: str) -> Listing:
    """Put a hidden paper back on its list."""
    listing = _listing_of(session, moderator, arxiv_id)
    listing.hidden_at = None
    listing.hidden_by_id = None
    return listing
