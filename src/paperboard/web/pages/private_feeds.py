"""The private "for you" feed's address on the account page: making one, whose address is shown once in the answer,
and revoking it. The feed itself is served by `pages.feeds` (`/feeds/for-you/{secret}.atom`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response

from paperboard.personal.private_feeds import create_private_feed, revoke_private_feed
from paperboard.web.deps import DatabaseDep
from paperboard.web.pages.account import account_settings
from paperboard.web.security import CsrfChecked, RequiredUser
from paperboard.web.urls import absolute_url

router = APIRouter()


@router.post("/account/private-feed", name="create_private_feed", dependencies=[CsrfChecked])
def create(request: Request, database: DatabaseDep, user: RequiredUser) -> Response:
    with database.session() as session:
        secret = create_private_feed(session, user.id)
    # Answered here rather than after a redirect: the address exists only in this response, which no cache may keep.
    response = account_settings(
        request,
        database,
        user,
        new_private_feed_url=absolute_url(request, "for_you_feed", secret=secret, feed_format="atom"),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/private-feed/revoke", name="revoke_private_feed", dependencies=[CsrfChecked])
def revoke(database: DatabaseDep, user: RequiredUser) -> Response:
    with database.session() as session:
        revoke_private_feed(session, user.id)
    return RedirectResponse("/account?feed_revoked=true#private-feed", status_code=status.HTTP_303_SEE_OTHER)
