"""The caller's own follows and "not interested" marks, read with their API token: nobody else's can be asked for
(the routes take no user), and they are never cached (`/api/me/` is not among the page cache's paths)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from paperboard.db.models import Follow
from paperboard.personal.follows import follows_of
from paperboard.personal.not_interested import MAX_MARKS, marked_papers
from paperboard.web.api.auth import TokenUser
from paperboard.web.api.errors import error_responses
from paperboard.web.api.schemas import ApiModel
from paperboard.web.api.times import UtcDatetime
from paperboard.web.deps import ReadSessionDep

router = APIRouter(tags=["personal"], responses=error_responses(401, 403))


class FollowItem(ApiModel):
    kind: str = Field(description="`author`, `category`, `search` or `user`.")
    label: str = Field(description="The author's name as arXiv spells it, the category, the search's words, the user.")
    key: str = Field(description="The canonical key: one follow per key and kind.")
    query: dict[str, str] | None = Field(None, description="A saved search's parameters, as /search takes them.")
    created_at: UtcDatetime


class NotInterestedItem(BaseModel):
    id: str = Field(description="The paper's arXiv id.")
    title: str


def _follow_item(row: Follow) -> FollowItem:
    return FollowItem(kind=row.kind, label=row.label, key=row.target_key, query=row.query, created_at=row.created_at)


@router.get("/api/me/follows", summary="What you follow")
def my_follows(session: ReadSessionDep, user: TokenUser) -> list[FollowItem]:
    return [_follow_item(row) for row in follows_of(session, user.id)]


@router.get("/api/me/not_interested", summary='The papers you marked "not interested", the latest first')
def my_not_interested(session: ReadSessionDep, user: TokenUser) -> list[NotInterestedItem]:
    return [
        NotInterestedItem(id=paper.arxiv_id, title=paper.title)
        for paper in marked_papers(session, user.id, limit=MAX_MARKS)
    ]
