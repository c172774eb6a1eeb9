"""The home page: the newest papers of the catalogue, page by page, or how to fill an empty catalogue."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from paperboard.catalog.queries import count_papers, newest_papers
from paperboard.web.deps import ReadSessionDep
from paperboard.web.pagination import PageNumber, Pagination
from paperboard.web.templating import templates

PAPERS_PER_PAGE = 30
# The empty page suggests harvesting this many days back: enough to see a full page, quick enough to try.
SUGGESTED_HARVEST_DAYS = 7

router = APIRouter()


@router.get("/", name="home", response_class=HTMLResponse)
def home(request: Request, session: ReadSessionDep, page: PageNumber = 1) -> HTMLResponse:
    pagination = Pagination.of(page, per_page=PAPERS_PER_PAGE, total=count_papers(session))
    papers = newest_papers(session, limit=PAPERS_PER_PAGE, offset=pagination.offset)
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "papers": papers,
            "pagination": pagination,
            "harvest_from": date.today() - timedelta(days=SUGGESTED_HARVEST_DAYS),
        },
    )
