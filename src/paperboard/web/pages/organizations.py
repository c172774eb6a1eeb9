"""Organization pages, /organizations/{name}: the papers listed for a lab, company or university, newest first. The
name may be asked for in any case; another spelling than the organization's own redirects (308) to it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperboard.community.organizations import count_organization_papers, find_organization, organization_papers
from paperboard.github.repositories import refreshed_stars
from paperboard.web.deps import ReadSessionDep
from paperboard.web.pagination import PageNumber, Pagination
from paperboard.web.templating import templates

PAPERS_PER_PAGE = 30
# Long enough to recognise what was asked for in an error message, short enough to keep the message short.
_QUOTED_LENGTH = 64

router = APIRouter()


@router.get("/organizations/{name}", name="organization", response_class=HTMLResponse)
def organization_page(request: Request, name: str, session: ReadSessionDep, page: PageNumber = 1) -> Response:
    organization = find_organization(session, name)
    if organization is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"No paper of this site was listed for an organization {name[:_QUOTED_LENGTH]!r}.",
        )
    if organization.name != name:
        path = request.url_for("organization", name=organization.name).path
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(path + query, status.HTTP_308_PERMANENT_REDIRECT)
    total = count_organization_papers(session, organization.id)
    pagination = Pagination.of(page, per_page=PAPERS_PER_PAGE, total=total)
    papers = organization_papers(session, organization.id, limit=PAPERS_PER_PAGE, offset=pagination.offset)
    stars = refreshed_stars(session, [paper.code_url for paper in papers])
    return templates.TemplateResponse(
        request,
        "organizations/page.html",
        {
            "organization": organization,
            "papers": papers,
            "pagination": pagination,
            "stars": {paper.id: stars.get(paper.code_url or "") for paper in papers},
        },
    )
