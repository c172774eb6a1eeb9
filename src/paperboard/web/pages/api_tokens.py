"""API tokens on the account page: creating one, whose plaintext is shown once in the answer, and revoking one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from paperboard.community.api_tokens import TokenNotFound, TokenRefused, create_token, revoke_token
from paperboard.web.deps import DatabaseDep
from paperboard.web.pages.account import account_settings
from paperboard.web.security import CsrfChecked, RequiredUser

router = APIRouter()


@router.post("/account/tokens", name="create_api_token", dependencies=[CsrfChecked])
def create(
    request: Request,
    database: DatabaseDep,
    user: RequiredUser,
    # Longer than a name may be, so that an over-long one gets the service's sentence rather than a 422.
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        with database.session() as session:
            new_token = create_token(session, user, name)
    except TokenRefused as error:
        return account_settings(
            request, database, user, status_code=status.HTTP_400_BAD_REQUEST, token_error=str(error), token_name=name
        )
    # Answered here rather than after a redirect: the plaintext exists only in this response, which no cache may
    # keep (nor a browser's history, as far as it obeys).
    response = account_settings(request, database, user, new_token=new_token)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/tokens/{token_id:int}/revoke", name="revoke_api_token", dependencies=[CsrfChecked])
def revoke(token_id: int, database: DatabaseDep, user: RequiredUser) -> Response:
    try:
        with database.session() as session:
            revoke_token(session, user, token_id)
    except TokenNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    return RedirectResponse("/account?revoked=true#api-tokens", status_code=status.HTTP_303_SEE_OTHER)
