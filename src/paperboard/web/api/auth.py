"""Who is calling the API: the owner of the personal token sent as `Authorization: Bearer <token>`.

The API reads the session cookie only for `token_or_session_user`, on reads of the caller's own data (their feed):
a browser sends that cookie along with any request a hostile page makes it send, which is why the site's forms need
CSRF tokens, but a read changes nothing, and the same-origin policy keeps its answer from the hostile page (the API
sends no CORS headers). Everything that changes something needs a bearer token, which is only ever sent on purpose.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from paperboard.community.api_tokens import AccountSuspended, user_for_api_token
from paperboard.db.models import User
from paperboard.web.deps import DatabaseDep
from paperboard.web.security import OptionalUser

# Declares the scheme in the OpenAPI schema, so that /docs offers to authorise its requests; the route dependency
# below gives the errors, in the API's shape.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="PersonalToken",
    bearerFormat="pb_…",
    description="A personal API token, created on your account page; sent as `Authorization: Bearer <token>`.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def _unauthorised(message: str, challenge: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": challenge})


def token_user(database: DatabaseDep, credentials: Credentials) -> User:
    """The token's owner: 401 without a token this site knows, 403 when the owner is suspended."""
    if credentials is None:
        raise _unauthorised(
            "This request needs a personal API token, sent as `Authorization: Bearer <token>`; "
            "create one on your account page.",
            "Bearer",
        )
    try:
        user = user_for_api_token(database, credentials.credentials)
    except AccountSuspended as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    if user is None:
        # RFC 6750's error code tells a client that asking again with the same token is pointless.
        raise _unauthorised(
            "This API token is not valid: it was revoked, or never existed.", 'Bearer error="invalid_token"'
        )
    return user


TokenUser = Annotated[User, Depends(token_user)]


def token_or_session_user(database: DatabaseDep, credentials: Credentials, signed_in: OptionalUser) -> User:
    """The token's owner, or without a token the signed-in user of the browser asking; 401 with neither."""
    if credentials is None and signed_in is not None:
        return signed_in
    return token_user(database, credentials)


TokenOrSessionUser = Annotated[User, Depends(token_or_session_user)]


def optional_token_user(database: DatabaseDep, credentials: Credentials) -> User | None:
    """The token's owner when a token is sent (with `token_user`'s errors for a bad one), None without one: for
    reads that anyone may make but that show a token's owner more (their private collections)."""
    if credentials is None:
        return None
    return token_user(database, credentials)


OptionalTokenUser = Annotated[User | None, Depends(optional_token_user)]
