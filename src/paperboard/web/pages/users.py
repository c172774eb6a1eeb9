"""People: a user's public profile with their comments, and moderators suspending or reinstating accounts."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from paperboard.community.accounts import user_by_name
from paperboard.community.comments import comments_by, count_comments_by
from paperboard.community.moderation import (
    ModerationForbidden,
    UserNotFound,
    can_moderate,
    reinstate_user,
    suspend_user,
)
from paperboard.db import Database
from paperboard.db.models import User
from paperboard.web.deps import DatabaseDep, ReadSessionDep
from paperboard.web.pages.collections import public_collections
from paperboard.web.pagination import PageNumber, Pagination
from paperboard.web.security import CsrfChecked, ModeratorUser, OptionalUser
from paperboard.web.templating import templates

COMMENTS_PER_PAGE = 30

# `moderation.suspend_user` or `moderation.reinstate_user`: (session, acting moderator, username) -> the account.
ModerationAction = Callable[[Session, User, str], User]

router = APIRouter()


def _profile_path(request: Request, username: str) -> str:
    return request.url_for("user_profile", username=username).path


@router.get("/users/{username}", name="user_profile", response_class=HTMLResponse)
def profile(
    request: Request, username: str, session: ReadSessionDep, reader: OptionalUser, page: PageNumber = 1
) -> HTMLResponse:
    user = user_by_name(session, username)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no user named {username}.")
    pagination = Pagination.of(page, per_page=COMMENTS_PER_PAGE, total=count_comments_by(session, user))
    return templates.TemplateResponse(
        request,
        "users/profile.html",
        {
            "profile": user,
            "comments": comments_by(session, user, limit=COMMENTS_PER_PAGE, offset=pagination.offset),
            "pagination": pagination,
            "can_moderate": can_moderate(reader, user),
            **public_collections(request, session, user),
        },
    )


def _moderate(
    request: Request, database: Database, moderator: User, username: str, action: ModerationAction
) -> Response:
    try:
        with database.session() as session:
            target = action(session, moderator, username)
    except UserNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except ModerationForbidden as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    return RedirectResponse(_profile_path(request, target.username), status_code=status.HTTP_303_SEE_OTHER)


@router.post("/users/{username}/suspend", name="suspend_user", dependencies=[CsrfChecked])
def suspend(request: Request, username: str, database: DatabaseDep, moderator: ModeratorUser) -> Response:
    return _moderate(request, database, moderator, username, suspend_user)


@router.post("/users/{username}/reinstate", name="reinstate_user", dependencies=[CsrfChecked])
def reinstate(request: Request, username: str, database: DatabaseDep, moderator: ModeratorUser) -> Response:
    return _moderate(request, database, moderator, username, reinstate_user)
