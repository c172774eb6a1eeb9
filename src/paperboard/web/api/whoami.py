"""`GET /api/whoami-v2`: the token's owner, as Hugging Face answers it; `huggingface_hub` asks it for the caller's
name (`HfApi.whoami`, and `create_collection` without a namespace)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import Field

from paperboard.web.api.auth import TokenUser
from paperboard.web.api.errors import error_responses
from paperboard.web.api.schemas import AVATAR_PATH, ApiModel
from paperboard.web.urls import site_url

router = APIRouter(tags=["account"])


class WhoAmI(ApiModel):
    type: Literal["user"] = "user"
    id: str = Field(description="The account's id, 24 hexadecimal digits.")
    name: str = Field(description="The user name.")
    fullname: str = Field(description="The display name.")
    avatar_url: str
    orgs: list[str] = Field(default=[], description="Paperboard has no organisations: always empty.")


@router.get("/api/whoami-v2", responses=error_responses(401, 403), summary="Who the token belongs to")
def whoami(request: Request, user: TokenUser) -> WhoAmI:
    return WhoAmI(
        id=f"{user.id:024x}",
        name=user.username,
        fullname=user.display_name,
        avatar_url=site_url(request) + AVATAR_PATH,
    )
