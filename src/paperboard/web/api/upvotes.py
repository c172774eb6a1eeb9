"""Upvoting through the API: `POST` adds the caller's upvote, `DELETE` removes it. Both are idempotent and answer
with the paper's upvotes and whether the caller upvoted it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from paperboard.community.votes import set_vote
from paperboard.db import Database
from paperboard.db.models import User
from paperboard.web.api.auth import TokenUser
from paperboard.web.api.errors import error_responses
from paperboard.web.deps import DatabaseDep
from paperboard.web.pages.paper import canonical_id, paper_or_404

router = APIRouter(tags=["upvotes"])
PATH = "/api/papers/{arxiv_id:path}/upvote"
RESPONSES = error_responses(401, 403, 404, 409)


class UpvoteState(BaseModel):
    upvotes: int = Field(description="The paper's upvotes: local ones plus any imported with its listing.")
    upvoted: bool = Field(description="Whether the caller upvotes the paper now.")


def _set_vote(database: Database, user: User, arxiv_id: str, *, voted: bool) -> UpvoteState:
    with database.session() as session:
        paper = paper_or_404(session, canonical_id(arxiv_id))
        if paper.deleted_at is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, "This paper was withdrawn from arXiv; it takes no upvotes.")
        state = set_vote(session, user, paper.id, voted=voted)
    return UpvoteState(upvotes=state.upvotes, upvoted=state.voted)


@router.post(PATH, responses=RESPONSES, summary="Upvote a paper")
def upvote(arxiv_id: str, database: DatabaseDep, user: TokenUser) -> UpvoteState:
    return _set_vote(database, user, arxiv_id, voted=True)


@router.delete(PATH, responses=RESPONSES, summary="Take back an upvote")
def remove_upvote(arxiv_id: str, database: DatabaseDep, user: TokenUser) -> UpvoteState:
    return _set_vote(database, user, arxiv_id, voted=False)
