"""`/for-you`: the signed-in reader's own feed, a period at a time (`?date=`, `?week=`, `?month=`; the last week by
default), with the reason for each paper; an invitation to sign in for visitors, and to follow or save papers for a
reader the feed cannot learn from yet.

Never in the page cache (its path is none of `CACHED_PATH_PREFIXES`), and marked private for every other cache."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse

from paperboard.community.daily_papers import listed_paper_cards
from paperboard.community.listings import today
from paperboard.community.periods import InvalidPeriod, Period, period_of, requested_period
from paperboard.personal.feed import DEFAULT_DAYS, for_you_page
from paperboard.personal.reader_models import refresh_reader_model
from paperboard.web.deps import DatabaseDep
from paperboard.web.pagination import PageNumber, Pagination
from paperboard.web.security import OptionalUser
from paperboard.web.templating import templates

PAPERS_PER_PAGE = 30

router = APIRouter()

PeriodText = Annotated[str | None, Query(max_length=40)]


def _neighbours(period: Period) -> tuple[Period, Period | None]:
    """The period before, and the one after unless it has not begun."""
    following = period_of(period.kind, period.end)
    return period_of(period.kind, period.start - timedelta(days=1)), (following if following.start <= today() else None)


@router.get("/for-you", name="for_you", response_class=HTMLResponse)
def for_you(
    request: Request,
    database: DatabaseDep,
    viewer: OptionalUser,
    page: PageNumber = 1,
    day: Annotated[str | None, Query(alias="date", max_length=40)] = None,
    week: PeriodText = None,
    month: PeriodText = None,
) -> HTMLResponse:
    try:
        period = requested_period(day, week, month)
    except InvalidPeriod as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    previous, following = _neighbours(period) if period else (None, None)
    focus = period.start if period else today()
    context: dict[str, object] = {
        "period": period,
        "default_days": DEFAULT_DAYS,
        "previous": previous,
        "following": following,
        "views": {kind: period_of(kind, focus) for kind in ("day", "week", "month")},
    }
    if viewer is None:
        return templates.TemplateResponse(request, "for_you/page.html", context | {"cards": [], "feed": None})
    refresh_reader_model(database, viewer.id)
    with database.read_session() as session:
        feed = for_you_page(session, viewer.id, period, page=page - 1, limit=PAPERS_PER_PAGE)
        pagination = Pagination.of(page, per_page=PAPERS_PER_PAGE, total=feed.total)
        cards = listed_paper_cards(session, [item.listed for item in feed.items], viewer)
    response = templates.TemplateResponse(
        request,
        "for_you/page.html",
        context
        | {
            "feed": feed,
            "cards": cards,
            "reasons": {item.listed.paper.id: item.reason for item in feed.items},
            "pagination": pagination,
        },
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response
