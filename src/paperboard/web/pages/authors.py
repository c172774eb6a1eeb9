"""Author pages, /authors/{name}: the papers that list a name as arXiv spells it, newest first, with its frequent
co-authors and categories, and who claims the name (pages/claims.py). The name is a path (`{name:path}`): arXiv
names may hold slashes, which links send percent-encoded (templating.py: `author_path`) and the server decodes
before routing."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from paperboard.catalog.authors import author_summary
from paperboard.catalog.queries import count_papers, newest_papers
from paperboard.db.models import User
from paperboard.personal.claims import MAX_EVIDENCE_LENGTH, claim_of, claimants_of
from paperboard.web.deps import ReadSessionDep
from paperboard.web.pagination import PageNumber, Pagination
from paperboard.web.security import OptionalUser
from paperboard.web.templating import templates

PAPERS_PER_PAGE = 30

router = APIRouter()


def author_page(
    request: Request,
    session: Session,
    name: str,
    reader: User | None,
    *,
    page: int = 1,
    status_code: int = 200,
    claim_error: str | None = None,
    evidence: str = "",
) -> HTMLResponse:
    """The page of `name` as `reader` sees it; a refused claim form's answer adds its error and evidence."""
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
            "claimants": claimants_of(session, name),
            "own_claim": claim_of(session, reader, name),
            "claim_error": claim_error,
            "evidence": evidence,
            "max_evidence": MAX_EVIDENCE_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/authors/{name:path}", name="author", response_class=HTMLResponse)
def author(
    request: Request, name: str, session: ReadSessionDep, reader: OptionalUser, page: PageNumber = 1
) -> HTMLResponse:
    return author_page(request, session, name, reader, page=page)
