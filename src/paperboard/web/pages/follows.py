"""Following and "not interested": the buttons' form posts (answered with the new button for htmx, or a redirect
back to the page for a plain form), and the reader's own page of both, `/following`.

Nothing here is shown to anyone but the reader: `/following` needs a session and lists only its own account's rows,
and the buttons' state is read for the signed-in reader alone (web/reader_state.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperboard.digest.statuses import SubscriberStatus
from paperboard.digest.subscriptions import subscription_for_user
from paperboard.personal.follows import (
    FOLLOW_KINDS,
    MAX_FOLLOWS,
    InvalidFollow,
    Target,
    UnknownTarget,
    follow,
    follows_of,
    resolve_target,
    unfollow,
)
from paperboard.personal.not_interested import MAX_MARKS, TooManyMarks, count_marks, mark, marked_papers, unmark
from paperboard.web.deps import DatabaseDep, ReadSessionDep
from paperboard.web.pages.paper import canonical_id, paper_or_404
from paperboard.web.pages.search import InvalidSearch, SearchForm
from paperboard.web.security import CsrfChecked, RequiredUser, local_path, same_site_referrer
from paperboard.web.templating import templates

# The marks /following lists, the latest first; each can be undone there.
MARKS_SHOWN = 200

router = APIRouter()

FormText = Annotated[str, Form()]
# The page a form was on, to go back to: `next` in the forms.
NextPath = Annotated[str, Form(alias="next")]
Action = Annotated[Literal["add", "remove"], Form()]


def _back(request: Request, next_path: str, fallback: str) -> RedirectResponse:
    """Back to the page the form was on (`next`, a path of this site), for browsers without JavaScript."""
    target = local_path(next_path) or same_site_referrer(request) or fallback
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


def _subject(target: Target) -> str:
    """What the button follows, in words, for screen readers and its title."""
    return f"the search {target.label}" if target.kind == "search" else target.label


def _fields(target: Target) -> dict[str, str]:
    """What the button posts to name its target again."""
    return dict(target.query) if target.query is not None else {"target": target.label}


@router.post("/follow", name="follow", dependencies=[CsrfChecked])
def follow_or_unfollow(
    request: Request,
    database: DatabaseDep,
    user: RequiredUser,
    kind: FormText,
    action: Action,
    target: FormText = "",
    q: FormText = "",
    mode: FormText = "",
    category: FormText = "",
    published_from: FormText = "",
    published_to: FormText = "",
    has_code: FormText = "",
    listed: FormText = "",
    next_path: NextPath = "",
) -> Response:
    # A saved search is checked as the search page checks it, so that its link opens a search that runs.
    posted = {
        "q": q,
        "mode": mode,
        "category": category,
        "published_from": published_from,
        "published_to": published_to,
        "has_code": has_code,
        "listed": listed,
    }
    search = SearchForm(**{name: value for name, value in posted.items() if value})
    try:
        with database.session() as session:
            chosen = search.saved_search() if kind == "search" else resolve_target(session, user, kind, target)
            if action == "add":
                follow(session, user, chosen)
            else:
                unfollow(session, user, chosen.kind, chosen.target_key)
    except UnknownTarget as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except InvalidSearch as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, " ".join(error.problems)) from None
    except InvalidFollow as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    if request.headers.get("HX-Request"):
        return templates.TemplateResponse(
            request,
            "partials/follow_button.html",
            {
                "kind": chosen.kind,
                "target_key": chosen.target_key,
                "fields": _fields(chosen),
                "subject": _subject(chosen),
                "following": action == "add",
                "next_path": local_path(next_path),
            },
        )
    return _back(request, next_path, request.url_for("following").path)


@router.post("/papers/{arxiv_id:path}/not-interested", name="not_interested", dependencies=[CsrfChecked])
def not_interested(
    request: Request, arxiv_id: str, database: DatabaseDep, user: RequiredUser, action: Action, next_path: NextPath = ""
) -> Response:
    canonical = canonical_id(arxiv_id)
    try:
        with database.session() as session:
            paper = paper_or_404(session, canonical)
            if action == "add":
                mark(session, user, paper.id)
            else:
                unmark(session, user, paper.id)
    except TooManyMarks as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    if request.headers.get("HX-Request"):
        return templates.TemplateResponse(
            request,
            "partials/not_interested_button.html",
            {"arxiv_id": canonical, "dismissed": action == "add", "next_path": local_path(next_path)},
        )
    return _back(request, next_path, f"/papers/{canonical}")


@router.get("/following", name="following", response_class=HTMLResponse)
def following_page(request: Request, session: ReadSessionDep, user: RequiredUser) -> HTMLResponse:
    follows = follows_of(session, user.id)
    subscription = subscription_for_user(session, user)
    return templates.TemplateResponse(
        request,
        "follows/following.html",
        {
            "by_kind": {kind: [row for row in follows if row.kind == kind] for kind in FOLLOW_KINDS},
            "max_follows": MAX_FOLLOWS,
            "marked": marked_papers(session, user.id, limit=MARKS_SHOWN),
            "marks": count_marks(session, user.id),
            "max_marks": MAX_MARKS,
            "digest": subscription
            if subscription is not None and subscription.status != SubscriberStatus.UNSUBSCRIBED
            else None,
        },
    )
