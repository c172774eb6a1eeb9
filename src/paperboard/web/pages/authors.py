"""Author pages, /authors/{name}: the papers that list a name as arXiv spells it, newest first, with its frequent
co-authors and categories. The name is a path (`{name:path}`): arXiv names may hold slashes, which links send
percent-encoded (templating.py: `author_path`) and the server decodes before routing."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from paperboard.catalog.authors import author_summary
from paperboard.catalog.queries import count_papers, newest_papers
from paperboard.web.deps import ReadSessionDep
from paperboard.web.pagination import PageNumber, Pagination
from paperboard.web.templating import templates

PAPERS_PER_PAGE = 30

router = APIRouter()


@router.get("/authors/{name:path}", name="author", response_class=HTMLResponse)
def author(request: Request, name: str, session: ReadSessionDep, page: PageNumber = 1) -> HTMLResponse:
    summary = author_summary(session, name)
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No paper of this catalogue lists the author {name!r}.")
    pagination = Pagination.of(page, per_page=PAPERS_PER_PAGE, total=count_papers(session, author=name))
    return templates.TemplateResponse(
        request,
        "authors/page.html",
        {
            "summary": summary,
            "papers": newest_papers(session, author=name, limit=PAPERS_PER_PAGE, offset=pagination.offset),
            "pagination": pagination,
        },
    )
