"""The newest papers of the catalogue, page by page, at /papers/recent, or how to fill an empty catalogue."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from paperboard.catalog.queries import count_papers, newest_papers
from paperboard.web.deps import ReadSessionDep
from paperboard.web.pages.feeds import recent_feeds
from paperboard.web.pagination import PageNumber, Pagination
from paperboard.web.templating import templates

PAPERS_PER_PAGE = 30
# Empty pages suggest harvesting this many days back: enough to see a full page, quick enough to try.
SUGGESTED_HARVEST_DAYS = 7

router = APIRouter()


def suggested_harvest_start() -> date:
    """The date the command that fills an empty catalogue harvests from."""
    return date.today() - timedelta(days=SUGGESTED_HARVEST_DAYS)


@router.get("/papers/recent", name="recent", response_class=HTMLResponse)
def recent(request: Request, session: ReadSessionDep, page: PageNumber = 1) -> HTMLResponse:
    pagination = Pagination.of(page, per_page=PAPERS_PER_PAGE, total=count_papers(session))
    papers = newest_papers(session, limit=PAPERS_PER_PAGE, offset=pagination.offset)
    return templates.TemplateResponse(
        request,
        "recent.html",
        {
            "papers": papers,
            "pagination": pagination,
            "harvest_from": suggested_harvest_start(),
            "feeds": recent_feeds(request),
        },
    )
