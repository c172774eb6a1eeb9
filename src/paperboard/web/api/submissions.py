"""Submitting a paper to today's list: `POST /api/papers/index` with `{"arxivId": ...}`, the request with which
Hugging Face's site indexes a paper. The rules are the submission form's (`community.listings`), and so are the
statuses of its refusals. A paper the catalogue lacks is fetched from arXiv by the worker, not by the request: the
answer is 202 with a pending state, which `GET /api/papers/index/{id}` follows."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from paperboard.community.listings import FetchState, SubmissionRefused, fetch_state, submit_paper
from paperboard.web.api.auth import TokenUser
from paperboard.web.api.errors import error_responses
from paperboard.web.api.times import UtcDatetime
from paperboard.web.deps import DatabaseDep, SettingsDep
from paperboard.web.pages.paper import canonical_id
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


class SubmissionState(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)

    arxiv_id: str = Field(description="The paper's canonical arXiv id, without version.")
    status: Literal["pending", "listed", "refused"] = Field(
        description="`pending`: the worker has yet to fetch the paper from arXiv; `listed`: it was fetched and put "
        "on the list of the day it arrived; `refused`: it was not listed, `message` says why."
    )
    message: str = Field(description="What became of the submission, in a sentence for the submitter.")
    submitted_at: UtcDatetime = Field(description="When the submission was made.")
    status_url: str = Field(description="Where to follow the submission: `GET` it with the same token.")


def _state(request: Request, state: FetchState) -> SubmissionState:
    return SubmissionState(
        arxiv_id=state.arxiv_id,
        status=state.status,
        message=state.message,
        submitted_at=state.submitted_at,
        status_url=absolute_url(request, "submission_state", arxiv_id=state.arxiv_id),
    )


@router.post(
    "/api/papers/index",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmittedPaper,
    responses={
        status.HTTP_202_ACCEPTED: {
            "model": SubmissionState,
            "description": "The catalogue lacks the paper: the worker fetches it from arXiv, then lists it.",
        },
        **error_responses(400, 401, 403, 404, 409, 422),
    },
    summary="Submit a paper to today's list",
)
def submit(
    request: Request, body: SubmissionRequest, user: TokenUser, database: DatabaseDep, settings: SettingsDep
) -> SubmittedPaper | Response:
    """Lists the paper on today's daily list (UTC): 201. A paper the catalogue lacks is not fetched by this request:
    the answer is 202 with `status: "pending"`, the site's worker fetches it from arXiv (one request at a time for
    the whole site, as arXiv asks) and lists it, or refuses it with the reason; `statusUrl` says which.
    Refusals: 400 not an arXiv id, 409 already listed (or being fetched for someone else), 422 too old or
    withdrawn."""
    try:
        outcome = submit_paper(database, user, body.arxiv_id, max_age_days=settings.submission_max_age_days)
    except SubmissionRefused as refusal:
        raise HTTPException(REFUSAL_STATUS[type(refusal)], str(refusal)) from None
    if isinstance(outcome, FetchState):
        state = _state(request, outcome)
        return JSONResponse(
            state.model_dump(mode="json", by_alias=True),
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Location": state.status_url},
        )
    return SubmittedPaper(
        arxiv_id=outcome.arxiv_id,
        submitted_on_daily_at=outcome.submitted_at,
        url=absolute_url(request, "paper", arxiv_id=outcome.arxiv_id),
    )


@router.get(
    "/api/papers/index/{arxiv_id:path}",
    name="submission_state",
    responses=error_responses(401, 403, 404),
    summary="Follow a submission of a paper fetched from arXiv",
)
def submission(request: Request, arxiv_id: str, user: TokenUser, database: DatabaseDep) -> SubmissionState:
    """The state of your submission of a paper the catalogue lacked (one answered 202): pending, listed, or refused
    with the reason. 404 when you made no such submission."""
    paper_id = canonical_id(arxiv_id)
    with database.read_session() as session:
        state = fetch_state(session, user, paper_id)
    if state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"You have no submission of {paper_id} fetched from arXiv.")
    return _state(request, state)
