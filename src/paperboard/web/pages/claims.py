"""Claims of authorship on the web: claiming an author name from its page, withdrawing a claim, and moderators
approving or refusing one from the queue on /admin, or revoking an approved one (the service is
personal/claims.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from paperboard.catalog.record import MAX_AUTHOR_LENGTH
from paperboard.db import Database
from paperboard.personal.claims import (
    MAX_EVIDENCE_LENGTH,
    ClaimAlreadyDecided,
    ClaimForbidden,
    ClaimNotFound,
    ClaimRefused,
    claim_author,
    decide_claim,
    revoke_claim,
    withdraw_claim,
)
from paperboard.web.deps import DatabaseDep
from paperboard.web.pages.authors import author_page
from paperboard.web.security import CsrfChecked, ModeratorUser, RequiredUser, same_site_referrer
from paperboard.web.templating import author_path_params

router = APIRouter()


def _author_path(request: Request, name: str) -> str:
    return request.url_for("author", **author_path_params(name)).path


@router.post("/claims", name="claim_author", dependencies=[CsrfChecked])
def claim(
    request: Request,
    database: DatabaseDep,
    user: RequiredUser,
    name: Annotated[str, Form(max_length=MAX_AUTHOR_LENGTH)],
    # Twice the stored bound: evidence a little too long gets the service's sentence rather than a 422.
    evidence: Annotated[str, Form(max_length=2 * MAX_EVIDENCE_LENGTH)] = "",
) -> Response:
    try:
        with database.session() as session:
            claim_author(session, user, name, evidence)
    except ClaimRefused as error:
        with database.read_session() as session:
            return author_page(
                request,
                session,
                name,
                user,
                status_code=status.HTTP_400_BAD_REQUEST,
                claim_error=str(error),
                evidence=evidence,
            )
    return RedirectResponse(_author_path(request, name) + "#claim", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/claims/{claim_id:int}/withdraw", name="withdraw_claim", dependencies=[CsrfChecked])
def withdraw(request: Request, claim_id: int, database: DatabaseDep, user: RequiredUser) -> Response:
    try:
        with database.session() as session:
            withdraw_claim(session, user, claim_id)
    except ClaimNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    # Back to the page the button was on: the author page or the account page.
    back = same_site_referrer(request) or request.url_for("account").path
    return RedirectResponse(back, status_code=status.HTTP_303_SEE_OTHER)


def _moderate(
    request: Request, database: Database, action: Callable[[Session], object], *, section: str = "claims"
) -> Response:
    """Run a moderator's `action` on a claim, then back to its `section` of /admin; its refusals as HTTP errors."""
    try:
        with database.session() as session:
            action(session)
    except ClaimNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except ClaimForbidden as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    except ClaimAlreadyDecided as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return RedirectResponse(request.url_for("admin").path + f"#{section}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/admin/claims/{claim_id:int}/approve", name="approve_claim", dependencies=[CsrfChecked])
def approve(request: Request, claim_id: int, database: DatabaseDep, moderator: ModeratorUser) -> Response:
    return _moderate(request, database, lambda session: decide_claim(session, moderator, claim_id, approve=True))


@router.post("/admin/claims/{claim_id:int}/refuse", name="refuse_claim", dependencies=[CsrfChecked])
def refuse(request: Request, claim_id: int, database: DatabaseDep, moderator: ModeratorUser) -> Response:
    return _moderate(request, database, lambda session: decide_claim(session, moderator, claim_id, approve=False))


@router.post("/admin/claims/{claim_id:int}/revoke", name="revoke_claim", dependencies=[CsrfChecked])
def revoke(request: Request, claim_id: int, database: DatabaseDep, moderator: ModeratorUser) -> Response:
    return _moderate(
        request, database, lambda session: revoke_claim(session, moderator, claim_id), section="approved-claims"
    )
