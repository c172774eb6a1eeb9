"""`GET /api/daily_papers`: the daily lists, as Hugging Face's endpoint of that name serves them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from paperboard.community.daily_papers import DailyPapersSort, daily_papers
from paperboard.community.periods import InvalidPeriod, requested_period
from paperboard.web.api.errors import error_responses
from paperboard.web.api.schemas import DailyPaper, daily_paper
from paperboard.web.deps import ReadSessionDep
from paperboard.web.urls import site_url

router = APIRouter(tags=["daily papers"], responses=error_responses(status.HTTP_400_BAD_REQUEST))

# Deeper pages than this are refused rather than computed: no list runs so long, and an offset in the billions
# would only make the database count through every row to answer with nothing.
MAX_PAGE = 10_000


@router.get("/api/daily_papers", response_model=list[DailyPaper])
def list_daily_papers(
    request: Request,
    session: ReadSessionDep,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE, description="The page, from 0.")] = 0,
    limit: Annotated[int, Query(ge=1, le=100, description="Papers per page.")] = 50,
    date: Annotated[str | None, Query(description="A day's list: YYYY-MM-DD.", max_length=40)] = None,
    week: Annotated[str | None, Query(description="An ISO week's lists: YYYY-Www.", max_length=40)] = None,
    month: Annotated[str | None, Query(description="A month's lists: YYYY-MM.", max_length=40)] = None,
    submitter: Annotated[str | None, Query(description="Only papers this user submitted.", max_length=100)] = None,
    sort: Annotated[
        DailyPapersSort,
        Query(
            description="`publishedAt`: newest submission first; `trending`: by the trending score (at the end of "
            "the period for a past one); `upvotes`: most upvoted first, as the site's lists."
        ),
    ] = "publishedAt",
) -> list[DailyPaper]:
    """Listed papers of a day, week or month (all of them when none is given), a page at a time."""
    try:
        period = requested_period(date, week, month)
    except InvalidPeriod as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    listed = daily_papers(session, sort=sort, page=p, limit=limit, period=period, submitter=submitter)
    return [daily_paper(item, site_url(request)) for item in listed]
