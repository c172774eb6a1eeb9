"""Submitting a paper to today's list: the form, and its answer (the list, or the form again with the reason)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperboard.community.listings import (
    AlreadyListed,
    ArxivFailure,
    MalformedId,
    PaperTooOld,
    PaperWithdrawn,
    SubmissionRefused,
    SubmitterSuspended,
    UnknownPaper,
    arxiv_fetcher,
    submit_paper,
)
from paperboard.config import Settings
from paperboard.web.deps import DatabaseDep, SettingsDep
from paperboard.web.security import CsrfChecked, RequiredUser
from paperboard.web.templating import templates

# Enough for any address of a paper; longer text is refused before it reaches the service.
MAX_SUBMISSION_LENGTH = 1000
REFUSAL_STATUS: dict[type[SubmissionRefused], int] = {
    MalformedId: status.HTTP_400_BAD_REQUEST,
    UnknownPaper: status.HTTP_404_NOT_FOUND,
    AlreadyListed: status.HTTP_409_CONFLICT,
    PaperTooOld: status.HTTP_422_UNPROCESSABLE_CONTENT,
    PaperWithdrawn: status.HTTP_422_UNPROCESSABLE_CONTENT,
    SubmitterSuspended: status.HTTP_403_FORBIDDEN,
    # Not the submitter's doing: arXiv failed, and the same submission may succeed later.
    ArxivFailure: status.HTTP_503_SERVICE_UNAVAILABLE,
}

router = APIRouter()


def _form(
    request: Request, settings: Settings, *, paper: str = "", error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "daily/submit.html",
        {"paper": paper, "error": error, "max_age_days": settings.submission_max_age_days},
        status_code=status_code,
    )


@router.get("/submit", name="submit", response_class=HTMLResponse)
def submit_form(request: Request, settings: SettingsDep, user: RequiredUser) -> HTMLResponse:
    return _form(request, settings)


@router.post("/submit", dependencies=[CsrfChecked])
def submit(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    user: RequiredUser,
    paper: Annotated[str, Form(max_length=MAX_SUBMISSION_LENGTH)] = "",
) -> Response:
    try:
        submission = submit_paper(
            database,
            user,
            paper,
            fetch=arxiv_fetcher(database, settings),
            max_age_days=settings.submission_max_age_days,
        )
    except SubmissionRefused as refusal:
        return _form(request, settings, paper=paper, error=str(refusal), status_code=REFUSAL_STATUS[type(refusal)])
    day_list = request.url_for("daily_day", day=submission.day.isoformat()).path
    return RedirectResponse(f"{day_list}#paper-{submission.arxiv_id}", status_code=status.HTTP_303_SEE_OTHER)
