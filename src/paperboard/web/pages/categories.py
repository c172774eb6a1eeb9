"""Category pages, /categories/{category}: the newest papers filed under one arXiv category, with its name and its
feeds. Categories are those of arXiv's taxonomy (catalog/taxonomy.py), in any case: `cs.cl` redirects to cs.CL."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperboard.catalog.queries import count_papers, newest_papers
from paperboard.catalog.taxonomy import ARXIV_CATEGORIES, CATEGORY_NAMES
from paperboard.web.deps import ReadSessionDep
from paperboard.web.pages.feeds import category_feeds
from paperboard.web.pagination import PageNumber, Pagination
from paperboard.web.templating import templates

PAPERS_PER_PAGE = 30
# Long enough to recognise what was asked for in an error message, short enough to keep the message short.
_QUOTED_LENGTH = 64

router = APIRouter()


@router.get("/categories/{category}", name="category", response_class=HTMLResponse)
def category_page(request: Request, category: str, session: ReadSessionDep, page: PageNumber = 1) -> Response:
    known = ARXIV_CATEGORIES.get(category.lower())
    if known is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"arXiv has no category {category[:_QUOTED_LENGTH]!r}. Categories are written like cs.CL, math.AG or "
            "hep-th.",
        )
    if known != category:
        path = request.url_for("category", category=known).path
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(path + query, status.HTTP_308_PERMANENT_REDIRECT)
    pagination = Pagination.of(page, per_page=PAPERS_PER_PAGE, total=count_papers(session, category=known))
    return templates.TemplateResponse(
        request,
        "categories/page.html",
        {
            "category": known,
            "category_name": CATEGORY_NAMES[known],
            "papers": newest_papers(session, category=known, limit=PAPERS_PER_PAGE, offset=pagination.offset),
            "pagination": pagination,
            # A category without papers has no feed yet (it answers 404).
            "feeds": category_feeds(request, known) if pagination.total else [],
        },
    )
