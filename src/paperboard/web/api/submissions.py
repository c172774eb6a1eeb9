"""Submitting a paper to today's list: `POST /api/papers/index` with `{"arxivId": ...}`, the request with which
Hugging Face's site indexes a paper. The rules are the submission form's (`community.listings`), and so are the
statuses of its refusals."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from paperboard.community.listings import SubmissionRefused, arxiv_fetcher, submit_paper
from paperboard.web.api.auth import TokenUser
from paperboard.web.api.errors import error_responses
from paperboard.web.api.times import UtcDatetime
from paperboard.web.deps import DatabaseDep, SettingsDep
from paperboard.web.pages.submit import MAX_SUBMISSION_LENGTH, REFUSAL_STATUS
from paperboard.web.urls import absolute_url

router = APIRouter(tags=["submissions"])


class SubmissionRequest(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)

    arxiv_id: str = Field(
        max_length=MAX_SUBMISSION_LENGTH,
        description="The paper's arXiv id or address, in any form: `2501.12345`, `arXiv:2501.12345v2`, "
        "`https://arxiv.org/abs/2501.12345`.",
    )


class SubmittedPaper(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)

    arxiv_id: str = Field(description="The paper's canonical arXiv id, without version.")
    submitted_on_daily_at: UtcDatetime = Field(description="When the paper was put on today's list.")
    url: str = Field(description="The paper's page on this site.")


@router.post(
    "/api/papers/index",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 404, 409, 422, 503),
    summary="Submit a paper to today's list",
)
def submit(
    request: Request, body: SubmissionRequest, user: TokenUser, database: DatabaseDep, settings: SettingsDep
) -> SubmittedPaper:
    """Lists the paper on today's daily list (UTC). A paper the catalogue lacks is fetched from arXiv first.
    Refusals: 400 not an arXiv id, 404 unknown to arXiv, 409 already listed, 422 too old or withdrawn, 503 arXiv
    cannot be reached (try again later)."""
    try:
        submission = submit_paper(
            database,
            user,
            body.arxiv_id,
            fetch=arxiv_fetcher(database, settings),
            max_age_days=settings.submission_max_age_days,
        )
    except SubmissionRefused as refusal:
        raise HTTPException(REFUSAL_STATUS[type(refusal)], str(refusal)) from None
    return SubmittedPaper(
        arxiv_id=submission.arxiv_id,
        submitted_on_daily_at=submission.submitted_at,
        url=absolute_url(request, "paper", arxiv_id=submission.arxiv_id),
    )
