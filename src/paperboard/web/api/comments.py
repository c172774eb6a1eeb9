"""Comments through the API: reading a paper's threads (public), and with a token writing a comment, replying,
editing and deleting one's own. The rules are the site's (`community.comments`): Markdown of 1 to 10,000
characters, replies one level deep, another user's comment is 403 and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from paperboard.community.comments import (
    MAX_COMMENT_LENGTH,
    CommentRefused,
    ThreadComment,
    add_comment,
    comment_on,
    delete_comment,
    edit_comment,
    paper_thread,
)
from paperboard.db.models import Comment, User
from paperboard.web.api.auth import TokenUser
from paperboard.web.api.errors import error_responses
from paperboard.web.api.times import UtcDatetime
from paperboard.web.deps import DatabaseDep, ReadSessionDep
from paperboard.web.pages.comments import http_errors
from paperboard.web.pages.paper import canonical_id, paper_or_404

router = APIRouter(tags=["comments"])
# Without Starlette's `:int`, so that an id that is no number is the API's 400, not a path that matches nothing.
COMMENT_PATH = "/api/papers/{arxiv_id:path}/comment/{comment_id}"
CommentId = Annotated[int, Path(ge=1, description="The comment's id, as its `id` field gives it.")]


class CommentRequest(BaseModel):
    comment: str = Field(
        description=f"The text, in Markdown (no raw HTML): 1 to {MAX_COMMENT_LENGTH:,} characters once surrounding "
        "blank space is trimmed."
    )


class CommentAuthor(BaseModel):
    name: str = Field(description="The author's user name.")
    fullname: str = Field(description="The author's display name.")


class ApiComment(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)

    id: int
    parent_id: int | None = Field(description="The comment this one replies to; null for a comment starting a thread.")
    removed: bool = Field(
        description="True for a deleted or hidden comment that keeps its place for its replies; its author and text "
        "are then null."
    )
    author: CommentAuthor | None
    created_at: UtcDatetime
    edited_at: UtcDatetime | None
    comment: str | None = Field(description="The Markdown source.")
    comment_html: str | None = Field(description="The Markdown rendered to HTML and sanitised, as the site shows it.")


class CommentThread(ApiComment):
    replies: list[ApiComment] = Field(description="The replies, oldest first.")


def _fields(comment: Comment, author: User, *, shown: bool = True) -> dict[str, Any]:
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "removed": not shown,
        "author": CommentAuthor(name=author.username, fullname=author.display_name) if shown else None,
        "created_at": comment.created_at,
        "edited_at": comment.edited_at,
        "comment": comment.body if shown else None,
        "comment_html": comment.body_html if shown else None,
    }


def _api_comment(comment: Comment, author: User) -> ApiComment:
    return ApiComment(**_fields(comment, author))


def _thread(item: ThreadComment) -> CommentThread:
    return CommentThread(
        **_fields(item.comment, item.author, shown=item.text_shown),
        replies=[_api_comment(reply.comment, reply.author) for reply in item.replies],
    )


@contextmanager
def _refusals_as_errors() -> Iterator[None]:
    """The service's refusals as API errors: an unknown comment 404, someone else's 403, unacceptable text 400."""
    try:
        with http_errors():
            yield
    except CommentRefused as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None


@router.get("/api/papers/{arxiv_id:path}/comments", responses=error_responses(404), summary="A paper's comments")
def list_comments(arxiv_id: str, session: ReadSessionDep) -> list[CommentThread]:
    """The paper's threads, oldest first, each with its replies. Needs no token. A deleted or hidden comment that
    has replies keeps its place, marked `removed`."""
    paper = paper_or_404(session, canonical_id(arxiv_id))
    return [_thread(item) for item in paper_thread(session, paper.id, None)]


@router.post(
    "/api/papers/{arxiv_id:path}/comment",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 404),
    summary="Comment on a paper",
)
def create_comment(arxiv_id: str, body: CommentRequest, database: DatabaseDep, user: TokenUser) -> ApiComment:
    with database.session() as session, _refusals_as_errors():
        paper = paper_or_404(session, canonical_id(arxiv_id))
        return _api_comment(add_comment(session, user, paper, body.comment), user)


@router.post(
    f"{COMMENT_PATH}/reply",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 404),
    summary="Reply to a comment",
)
def reply(
    arxiv_id: str, comment_id: CommentId, body: CommentRequest, database: DatabaseDep, user: TokenUser
) -> ApiComment:
    """Replies are one level deep: a reply to a reply joins the thread of the comment that started it."""
    with database.session() as session, _refusals_as_errors():
        paper = paper_or_404(session, canonical_id(arxiv_id))
        return _api_comment(add_comment(session, user, paper, body.comment, parent_id=comment_id), user)


@router.patch(COMMENT_PATH, responses=error_responses(400, 401, 403, 404), summary="Edit your comment")
def edit(
    arxiv_id: str, comment_id: CommentId, body: CommentRequest, database: DatabaseDep, user: TokenUser
) -> ApiComment:
    """Only the author edits a comment, and not once a moderator hid it (403)."""
    with database.session() as session, _refusals_as_errors():
        comment_on(session, paper_or_404(session, canonical_id(arxiv_id)), comment_id)
        return _api_comment(edit_comment(session, user, comment_id, body.comment), user)


@router.delete(
    COMMENT_PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404),
    summary="Delete your comment",
)
def delete(arxiv_id: str, comment_id: CommentId, database: DatabaseDep, user: TokenUser) -> None:
    """Only the author deletes a comment. Its text is erased; if it has replies, it keeps their place."""
    with database.session() as session, _refusals_as_errors():
        comment_on(session, paper_or_404(session, canonical_id(arxiv_id)), comment_id)
        delete_comment(session, user, comment_id)
