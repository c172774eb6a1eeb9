"""Submitting a paper to today's list: the form, and its answer (the list; the form again with the reason; or, for a
paper the worker must fetch from arXiv first, the form saying so). The form lists the submitter's recent submissions
of such papers with what became of them, which is where a refusal made after the answer is seen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperboard.community.listings import (
    AlreadyListed,
    FetchState,
    MalformedId,
    PaperTooOld,
    PaperWithdrawn,
    SubmissionRefused,
    SubmitterSuspended,
    UnknownPaper,
    recent_fetches,
    submit_paper,
)
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import User
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
}

router = APIRouter()


def _form(
    request: Request,
    database: Database,
    settings: Settings,
    user: User,
    *,
    paper: str = "",
    error: str | None = None,
    pending: FetchState | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with database.read_session() as session:
        fetches = recent_fetches(session, user)
    return templates.TemplateResponse(
        request,
        "daily/submit.html",
        {
            "paper": paper,
            "error": error,
            "pending": pending,
            "fetches": fetches,
            "max_age_days": settings.submission_max_age_days,
        },
        status_code=status_code,
    )


@router.get("/submit", name="submit", response_class=HTMLResponse)
def submit_form(request: Request, database: DatabaseDep, settings: SettingsDep, user: RequiredUser) -> HTMLResponse:
    return _form(request, database, settings, user)


@router.post("/submit", dependencies=[CsrfChecked])
def submit(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    user: RequiredUser,
    paper: Annotated[str, Form(max_length=MAX_SUBMISSION_LENGTH)] = "",
) -> Response:
    try:
        outcome = submit_paper(database, user, paper, max_age_days=settings.submission_max_age_days)
    except SubmissionRefused as refusal:
        return _form(
            request,
            database,
            settings,
            user,
            paper=paper,
            error=str(refusal),
            status_code=REFUSAL_STATUS[type(refusal)],
        )
    if isinstance(outcome, FetchState):
        return _form(request, database, settings, user, pending=outcome, status_code=status.HTTP_202_ACCEPTED)
    day_list = request.url_for("daily_day", day=outcome.day.isoformat()).path
    return RedirectResponse(f"{day_list}#paper-{outcome.arxiv_id}", status_code=status.HTTP_303_SEE_OTHER)
