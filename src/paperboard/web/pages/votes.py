"""Upvoting: a form post that redirects back without JavaScript, or an htmx request answered with the new button."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from paperboard.community.votes import set_vote
from paperboard.web.deps import DatabaseDep
from paperboard.web.pages.paper import canonical_id, paper_or_404
from paperboard.web.security import CsrfChecked, RequiredUser, same_site_referrer
from paperboard.web.templating import templates

router = APIRouter()


@router.post("/papers/{arxiv_id:path}/upvote", name="upvote", dependencies=[CsrfChecked])
def upvote(
    request: Request,
    arxiv_id: str,
    database: DatabaseDep,
    user: RequiredUser,
    action: Annotated[Literal["add", "remove"], Form()],
) -> Response:
    canonical = canonical_id(arxiv_id)
    with database.session() as session:
        paper = paper_or_404(session, canonical)
        if paper.deleted_at is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, "This paper was withdrawn from arXiv; it takes no upvotes.")
        state = set_vote(session, user, paper.id, voted=action == "add")
    if request.headers.get("HX-Request"):
        return templates.TemplateResponse(
            request,
            "partials/vote_button.html",
            {"arxiv_id": canonical, "upvotes": state.upvotes, "voted": state.voted},
        )
    return RedirectResponse(
        same_site_referrer(request) or f"/papers/{canonical}", status_code=status.HTTP_303_SEE_OTHER
    )
