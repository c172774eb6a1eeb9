"""The page of one paper, `/papers/{arxiv_id}`: its record, upvotes, the list it is on, its comments, and papers
like it.

The address takes an arXiv id in any form people paste (`2506.03781v2`, `arXiv:2506.03781`, `hep-th/9901001`)
and redirects to the canonical one, so that each paper has one address. Its router must come after every other
`/papers/...` route: the id is a path (old-style ids hold a slash), so this route matches any address below it.
A request that prefers `text/markdown` gets the paper as Markdown, as `/papers/{arxiv_id}.md` serves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.queries import get_paper
from paperboard.community.comments import MAX_COMMENT_LENGTH
from paperboard.community.paper_activity import paper_activity
from paperboard.db.models import Paper, User
from paperboard.exports.markdown import paper_markdown
from paperboard.search.paper_keywords import paper_keywords
from paperboard.search.service import Searcher
from paperboard.thumbnails.queries import thumbnail_sizes
from paperboard.web.deps import ReadSessionDep, SearcherDep
from paperboard.web.negotiation import MARKDOWN_MEDIA_TYPE, page_media_type
from paperboard.web.security import OptionalUser
from paperboard.web.templating import templates

router = APIRouter()

# A short list under the abstract, as on Hugging Face's paper pages.
SIMILAR_PAPERS_SHOWN = 6


@dataclass(frozen=True, slots=True)
class CommentDraft:
    """A comment that was refused, shown again in its form with the reason, so that nothing typed is lost."""

    parent_id: int | None
    body: str
    error: str


def canonical_id(arxiv_id: str) -> str:
    """The canonical form of the id in an address; 404 for text that is no arXiv id at all."""
    try:
        return parse_arxiv_id(arxiv_id).id
    except InvalidArxivId as error:
        message = str(error)
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{message[:1].upper()}{message[1:]}.") from None


def paper_or_404(session: Session, arxiv_id: str) -> Paper:
    paper = get_paper(session, arxiv_id)
    if paper is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no paper {arxiv_id} here.")
    return paper


def paper_path(request: Request, arxiv_id: str) -> str:
    return request.url_for("paper", arxiv_id=arxiv_id).path


def paper_page(
    request: Request,
    session: Session,
    searcher: Searcher,
    paper: Paper,
    reader: User | None,
    *,
    draft: CommentDraft | None = None,
    status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "paper/page.html",
        {
            "paper": paper,
            "activity": paper_activity(session, paper, reader),
            "draft": draft,
            "max_comment_length": MAX_COMMENT_LENGTH,
            "similar_papers": searcher.similar(session, paper, SIMILAR_PAPERS_SHOWN),
            "thumbnail": thumbnail_sizes(session, [paper.id]).get(paper.id),
            "keywords": paper_keywords(session, paper.id),
        },
        status_code=status_code,
    )


def markdown_response(session: Session, paper: Paper) -> Response:
    return Response(paper_markdown(session, paper), media_type=f"{MARKDOWN_MEDIA_TYPE}; charset=utf-8")


@router.get("/papers/{arxiv_id:path}", name="paper", response_class=HTMLResponse)
def paper(
    request: Request, arxiv_id: str, session: ReadSessionDep, searcher: SearcherDep, reader: OptionalUser
) -> Response:
    canonical = canonical_id(arxiv_id)
    if canonical != arxiv_id:
        return RedirectResponse(paper_path(request, canonical), status_code=status.HTTP_301_MOVED_PERMANENTLY)
    found = get_paper(session, canonical)
    if found is None:
        return templates.TemplateResponse(
            request, "paper/missing.html", {"arxiv_id": canonical}, status_code=status.HTTP_404_NOT_FOUND
        )
    # Programs and language models may ask for the paper as Markdown rather than as a page.
    response = (
        markdown_response(session, found)
        if page_media_type(request.headers.get("accept")) == MARKDOWN_MEDIA_TYPE
        else paper_page(request, session, searcher, found, reader)
    )
    response.headers["Vary"] = "Accept"
    return response
