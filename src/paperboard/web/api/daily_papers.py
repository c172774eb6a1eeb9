"""`GET /api/daily_papers`: the daily lists, as Hugging Face's endpoint of that name serves them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from paperboard.community.daily_papers import DailyPapersSort, ListedPaper, daily_papers
from paperboard.community.periods import InvalidPeriod, Period, requested_period
from paperboard.db import Database
from paperboard.web.api.errors import error_responses
from paperboard.web.api.schemas import DailyPaper, daily_paper, encode
from paperboard.web.deps import DatabaseDep, TrendingScoresDep
from paperboard.web.urls import site_url

router = APIRouter(tags=["daily papers"], responses=error_responses(status.HTTP_400_BAD_REQUEST))

# Deeper pages than this are refused rather than computed: no list runs so long, and an offset in the billions
# would only make the database count through every row to answer with nothing.
MAX_PAGE = 10_000
# The paging and period parameters, which /api/for_you takes alike.
PageParameter = Annotated[int, Query(ge=0, le=MAX_PAGE, description="The page, from 0.")]
LimitParameter = Annotated[int, Query(ge=1, le=100, description="Papers per page.")]
DayParameter = Annotated[str | None, Query(description="A day: YYYY-MM-DD.", max_length=40)]
WeekParameter = Annotated[str | None, Query(description="An ISO week: YYYY-Www.", max_length=40)]
MonthParameter = Annotated[str | None, Query(description="A month: YYYY-MM.", max_length=40)]


def period_or_400(date: str | None, week: str | None, month: str | None) -> Period | None:
    """The period the query names (None for none); 400, saying what is wrong, for one it cannot name."""
    try:
        return requested_period(date, week, month)
    except InvalidPeriod as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None


@router.get("/api/daily_papers", response_model=list[DailyPaper])
async def list_daily_papers(
    request: Request,
    database: DatabaseDep,
    scores: TrendingScoresDep,
    p: PageParameter = 0,
    limit: LimitParameter = 50,
    date: DayParameter = None,
    week: WeekParameter = None,
    month: MonthParameter = None,
    submitter: Annotated[str | None, Query(description="Only papers this user submitted.", max_length=100)] = None,
    sort: Annotated[
        DailyPapersSort,
        Query(
            description="`publishedAt`: newest submission first; `trending`: by the trending score (at the end of "
            "the period for a past one); `upvotes`: most upvoted first, as the site's lists."
        ),
    ] = "publishedAt",
) -> Response:
    """Listed papers of a day, week or month (all of them when none is given), a page at a time."""
    period = period_or_400(date, week, month)
    # One trip to the thread pool for the session, the reads and the encoding, where a plain route with a session
    # takes three (as `/api/papers/search` does, web/api/papers.py).
    answer = await run_in_threadpool(
        _daily_papers,
        database,
        site_url(request),
        partial(
            daily_papers, sort=sort, page=p, limit=limit, period=period, submitter=submitter, trending_scores=scores
        ),
    )
    return Response(answer, media_type="application/json")


def _daily_papers(database: Database, site_url: str, listed: Callable[[Session], list[ListedPaper]]) -> bytes:
    # Encoded here rather than checked against `DailyPaper` by FastAPI, which took a fifth of the time of a page of
    # 50 (tests/web/api/test_answers_unchanged.py holds the answers to the models' shape byte for byte).
    with database.read_session() as session:
        return encode([daily_paper(item, site_url) for item in listed(session)])
