"""`GET /api/papers/search` and `GET /api/papers/{id}`: finding papers and reading one, as on Hugging Face."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.queries import get_paper
from paperboard.community.daily_papers import listed_papers
from paperboard.search.keyword import QUERY_MAX_LENGTH, search_papers
from paperboard.web.api.errors import error_responses
from paperboard.web.api.schemas import DailyPaper, PaperDetail, daily_paper, paper_detail
from paperboard.web.deps import ReadSessionDep

router = APIRouter(tags=["papers"])


def _site_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get(
    "/api/papers/search",
    response_model=list[DailyPaper],
    responses=error_responses(status.HTTP_400_BAD_REQUEST),
)
def search(
    request: Request,
    session: ReadSessionDep,
    q: Annotated[str, Query(max_length=QUERY_MAX_LENGTH, description="Words to find in titles, abstracts, authors.")],
    limit: Annotated[int, Query(ge=1, le=120, description="At most this many papers.")] = 50,
) -> list[DailyPaper]:
    """Papers of the catalogue matching the query, best first, whether or not they are on a daily list."""
    papers = search_papers(session, q, limit=limit)
    site_url = _site_url(request)
    return [daily_paper(item, site_url) for item in listed_papers(session, papers)]


@router.get(
    "/api/papers/{arxiv_id:path}",
    response_model=PaperDetail,
    responses=error_responses(status.HTTP_404_NOT_FOUND),
)
def paper_info(request: Request, session: ReadSessionDep, arxiv_id: str) -> PaperDetail:
    """One paper of the catalogue, by its arXiv id in any usual form (`2506.03781v2`, `arXiv:2506.03781`)."""
    try:
        canonical = parse_arxiv_id(arxiv_id).id
    except InvalidArxivId as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no paper {arxiv_id!r} here: {error}.") from None
    paper = get_paper(session, canonical)
    if paper is None or paper.deleted_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no paper {canonical} here.")
    [listed] = listed_papers(session, [paper])
    return paper_detail(listed, _site_url(request))
