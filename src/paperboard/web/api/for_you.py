"""`GET /api/for_you`: the caller's own feed, ranked for them, in the shape of `/api/daily_papers` plus a reason."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import Field

from paperboard.personal.feed import for_you_page
from paperboard.personal.reader_models import refresh_reader_model
from paperboard.web.api.auth import TokenOrSessionUser
from paperboard.web.api.daily_papers import (
    DayParameter,
    LimitParameter,
    MonthParameter,
    PageParameter,
    WeekParameter,
    period_or_400,
)
from paperboard.web.api.errors import error_responses
from paperboard.web.api.schemas import DailyPaper, daily_paper
from paperboard.web.deps import DatabaseDep
from paperboard.web.urls import site_url

router = APIRouter(tags=["for you"])


class ForYouPaper(DailyPaper):
    """One item of `GET /api/for_you`: a daily-papers item, and why it is in the caller's feed."""

    reason: str = Field(examples=["You follow Ada Lovelace", "Like 'Attention Is All You Need' in Saved"])


@router.get(
    "/api/for_you",
    response_model=list[ForYouPaper],
    responses=error_responses(status.HTTP_400_BAD_REQUEST, status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN),
    summary="Your feed",
)
def list_for_you(
    request: Request,
    database: DatabaseDep,
    reader: TokenOrSessionUser,
    p: PageParameter = 0,
    limit: LimitParameter = 50,
    date: DayParameter = None,
    week: WeekParameter = None,
    month: MonthParameter = None,
) -> list[ForYouPaper]:
    """The catalogue's papers first published in a day, week or month (the last 7 days when none is given), listed
    or not, ranked for the caller from what they follow, save, upvote, claim and mark not interested; best first, a
    page at a time. Papers the caller marked not interested are left out."""
    period = period_or_400(date, week, month)
    refresh_reader_model(database, reader.id)
    with database.read_session() as session:
        feed = for_you_page(session, reader.id, period, page=p, limit=limit)
        base = site_url(request)
        return [ForYouPaper(**daily_paper(item.listed, base), reason=item.reason) for item in feed.items]
