"""The daily lists: the latest listed day at `/`, any day, ISO week or month under /papers/, trending, and the
moderators' forms that hide a paper from the lists or show it again."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.queries import count_papers
from paperboard.community import trending
from paperboard.community.listings import (
    ListingNotFound,
    hidden_listings,
    hide_listing,
    latest_listed_day,
    neighbouring_periods,
    paper_cards,
    ranked_listings,
    unhide_listing,
)
from paperboard.community.periods import InvalidPeriod, Period, PeriodKind, parse_period, period_of
from paperboard.db.models import Listing, User
from paperboard.web.deps import DatabaseDep, ReadSessionDep, SettingsDep, TrendingScoresDep
from paperboard.web.pages.feeds import list_feeds, trending_feeds
from paperboard.web.pages.recent import suggested_harvest_start
from paperboard.web.pagination import PageNumber, Pagination
from paperboard.web.security import CsrfChecked, ModeratorUser, OptionalUser, same_site_referrer
from paperboard.web.templating import templates

# A day rarely holds more; weeks and months run to several pages.
LISTINGS_PER_PAGE = 50
TRENDING_SHOWN = 50

router = APIRouter()


def period_or_404(kind: PeriodKind, text: str) -> Period:
    """The period an address names; 404, saying what is wrong, for one it cannot name."""
    try:
        return parse_period(kind, text)
    except InvalidPeriod as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None


def _list_page(
    request: Request, session: Session, period: Period, page: int, viewer: User | None, *, latest: bool = False
) -> HTMLResponse:
    """The list of a period; `latest` when it is the front page's, which advertises the feed that follows the latest
    list rather than this day's."""
    ranked = ranked_listings(session, period.start, period.end)
    pagination = Pagination.of(page, per_page=LISTINGS_PER_PAGE, total=len(ranked))
    cards = paper_cards(session, ranked[pagination.offset : pagination.offset + LISTINGS_PER_PAGE], viewer)
    previous, following = neighbouring_periods(session, period)
    # The other views open on the latest listed day of this one, so that "week" from a month lands on papers.
    focus = max((listing.day for listing in ranked), default=period.start)
    return templates.TemplateResponse(
        request,
        "daily/list.html",
        {
            "period": period,
            "cards": cards,
            "pagination": pagination,
            "previous": previous,
            "following": following,
            "views": {kind: period_of(kind, focus) for kind in ("day", "week", "month")},
            "hidden": hidden_listings(session, period) if viewer and viewer.is_moderator else [],
            "feeds": list_feeds(request, None if latest else period),
        },
    )


@router.get("/", name="home", response_class=HTMLResponse)
def latest_day(
    request: Request, session: ReadSessionDep, settings: SettingsDep, viewer: OptionalUser, page: PageNumber = 1
) -> HTMLResponse:
    day = latest_listed_day(session)
    if day is not None:
        return _list_page(request, session, period_of("day", day), page, viewer, latest=True)
    return templates.TemplateResponse(
        request,
        "daily/empty.html",
        {
            "catalogue_empty": count_papers(session) == 0,
            "harvest_from": suggested_harvest_start(),
            "max_age_days": settings.submission_max_age_days,
            "feeds": list_feeds(request),
        },
    )


@router.get("/papers/date/{day}", name="daily_day", response_class=HTMLResponse)
def day_list(
    request: Request, day: str, session: ReadSessionDep, viewer: OptionalUser, page: PageNumber = 1
) -> HTMLResponse:
    return _list_page(request, session, period_or_404("day", day), page, viewer)


@router.get("/papers/week/{week}", name="daily_week", response_class=HTMLResponse)
def week_list(
    request: Request, week: str, session: ReadSessionDep, viewer: OptionalUser, page: PageNumber = 1
) -> HTMLResponse:
    return _list_page(request, session, period_or_404("week", week), page, viewer)


@router.get("/papers/month/{month}", name="daily_month", response_class=HTMLResponse)
def month_list(
    request: Request, month: str, session: ReadSessionDep, viewer: OptionalUser, page: PageNumber = 1
) -> HTMLResponse:
    return _list_page(request, session, period_or_404("month", month), page, viewer)


@router.get("/papers/trending", name="trending", response_class=HTMLResponse)
def trending_list(
    request: Request, session: ReadSessionDep, viewer: OptionalUser, scores: TrendingScoresDep
) -> HTMLResponse:
    ranking = trending.trending(session, limit=TRENDING_SHOWN, scores=scores)
    return templates.TemplateResponse(
        request,
        "daily/trending.html",
        {
            "cards": paper_cards(session, [entry.listing for entry in ranking.current], viewer),
            "earlier_cards": paper_cards(session, [entry.listing for entry in ranking.earlier], viewer),
            "scores": {entry.listing.paper_id: entry.score for entry in ranking.entries},
            "formula": trending.FORMULA,
            "ranking": ranking,
            "feeds": trending_feeds(request),
        },
    )


def _moderate(
    request: Request,
    database: DatabaseDep,
    moderator: User,
    arxiv_id: str,
    action: Callable[[Session, User, str], Listing],
) -> Response:
    try:
        canonical = parse_arxiv_id(arxiv_id).id
    except InvalidArxivId as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    with database.session() as session:
        try:
            listing = action(session, moderator, canonical)
        except ListingNotFound as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
        day = listing.day
    target = same_site_referrer(request) or request.url_for("daily_day", day=day.isoformat()).path
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/papers/{arxiv_id:path}/hide", name="hide_listing", dependencies=[CsrfChecked])
def hide(request: Request, arxiv_id: str, database: DatabaseDep, moderator: ModeratorUser) -> Response:
    return _moderate(request, database, moderator, arxiv_id, hide_listing)


@router.post("/papers/{arxiv_id:path}/unhide", name="unhide_listing", dependencies=[CsrfChecked])
def unhide(request: Request, arxiv_id: str, database: DatabaseDep, moderator: ModeratorUser) -> Response:
    return _moderate(request, database, moderator, arxiv_id, unhide_listing)
