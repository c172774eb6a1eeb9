"""Comments on the web: writing, replying, editing and deleting one's own, and moderators hiding any.

Plain forms that work without JavaScript; each success redirects (303) to the paper's page at the comment. A
refused body comes back in its form with the reason (400); another user's comment is 403 and an unknown one 404,
with nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperboard.community.comments import (
    MAX_COMMENT_LENGTH,
    CommentForbidden,
    CommentNotFound,
    CommentRefused,
    add_comment,
    comment_to_edit,
    delete_comment,
    edit_comment,
    paper_of,
    set_comment_hidden,
)
from paperboard.db import Database
from paperboard.db.models import Comment, Paper, User
from paperboard.web.deps import DatabaseDep, ReadSessionDep, SearcherDep
from paperboard.web.pages.paper import CommentDraft, canonical_id, paper_or_404, paper_page, paper_path
from paperboard.web.security import CsrfChecked, ModeratorUser, RequiredUser
from paperboard.web.templating import templates

router = APIRouter()

# Routes give it the default "": FastAPI treats an empty form field as missing, and an empty box should get the
# service's message rather than a 422.
Body = Annotated[str, Form()]


@contextmanager
def http_errors() -> Iterator[None]:
    """The service's refusals that are not about the text typed, as the HTTP errors they are."""
    try:
        yield
    except CommentNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except CommentForbidden as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None


def _at_comment(request: Request, paper: Paper, comment: Comment) -> RedirectResponse:
    return RedirectResponse(
        f"{paper_path(request, paper.arxiv_id)}#comment-{comment.id}", status_code=status.HTTP_303_SEE_OTHER
    )


def _edit_page(
    request: Request, comment: Comment, paper: Paper, *, body: str, error: str | None, status_code: int
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "paper/edit_comment.html",
        {"comment": comment, "paper": paper, "body": body, "error": error, "max_comment_length": MAX_COMMENT_LENGTH},
        status_code=status_code,
    )


@router.post("/papers/{arxiv_id:path}/comments", name="add_comment", dependencies=[CsrfChecked])
def add(
    request: Request,
    arxiv_id: str,
    database: DatabaseDep,
    searcher: SearcherDep,
    user: RequiredUser,
    body: Body = "",
    parent_id: Annotated[int | None, Form()] = None,
) -> Response:
    canonical = canonical_id(arxiv_id)
    try:
        with database.session() as session, http_errors():
            paper = paper_or_404(session, canonical)
            comment = add_comment(session, user, paper, body, parent_id=parent_id)
            return _at_comment(request, paper, comment)
    except CommentRefused as error:
        # The transaction was rolled back; the page is read afresh around the refused draft.
        with database.read_session() as session:
            paper = paper_or_404(session, canonical)
            draft = CommentDraft(parent_id, body, str(error))
            return paper_page(
                request, session, searcher, paper, user, draft=draft, status_code=status.HTTP_400_BAD_REQUEST
            )


@router.get("/comments/{comment_id:int}/edit", name="edit_comment")
def edit_form(request: Request, comment_id: int, session: ReadSessionDep, user: RequiredUser) -> Response:
    with http_errors():
        comment = comment_to_edit(session, user, comment_id)
    return _edit_page(
        request, comment, paper_of(session, comment), body=comment.body, error=None, status_code=status.HTTP_200_OK
    )


@router.post("/comments/{comment_id:int}/edit", dependencies=[CsrfChecked])
def edit(request: Request, comment_id: int, database: DatabaseDep, user: RequiredUser, body: Body = "") -> Response:
    try:
        with database.session() as session, http_errors():
            comment = edit_comment(session, user, comment_id, body)
            return _at_comment(request, paper_of(session, comment), comment)
    except CommentRefused as error:
        with database.read_session() as session, http_errors():
            comment = comment_to_edit(session, user, comment_id)
            return _edit_page(
                request,
                comment,
                paper_of(session, comment),
                body=body,
                error=str(error),
                status_code=status.HTTP_400_BAD_REQUEST,
            )


@router.post("/comments/{comment_id:int}/delete", name="delete_comment", dependencies=[CsrfChecked])
def delete(request: Request, comment_id: int, database: DatabaseDep, user: RequiredUser) -> Response:
    with database.session() as session, http_errors():
        paper = paper_of(session, delete_comment(session, user, comment_id))
    return RedirectResponse(f"{paper_path(request, paper.arxiv_id)}#comments", status_code=status.HTTP_303_SEE_OTHER)


def _set_hidden(request: Request, database: Database, moderator: User, comment_id: int, *, hidden: bool) -> Response:
    with database.session() as session, http_errors():
        comment = set_comment_hidden(session, moderator, comment_id, hidden=hidden)
        return _at_comment(request, paper_of(session, comment), comment)


@router.post("/comments/{comment_id:int}/hide", name="hide_comment", dependencies=[CsrfChecked])
def hide(request: Request, comment_id: int, database: DatabaseDep, moderator: ModeratorUser) -> Response:
    return _set_hidden(request, database, moderator, comment_id, hidden=True)


@router.post("/comments/{comment_id:int}/unhide", name="unhide_comment", dependencies=[CsrfChecked])
def unhide(request: Request, comment_id: int, database: DatabaseDep, moderator: ModeratorUser) -> Response:
    return _set_hidden(request, database, moderator, comment_id, hidden=False)
