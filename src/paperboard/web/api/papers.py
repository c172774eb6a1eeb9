"""`GET /api/papers/search` and `GET /api/papers/{id}`: finding papers and reading one, as on Hugging Face."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.queries import get_paper
from paperboard.community.daily_papers import daily_papers, listed_papers
from paperboard.db import Database
from paperboard.db.models import Paper
from paperboard.search.engine import SearchMode
from paperboard.search.facets import SearchFilters
from paperboard.search.service import (
    QUERY_MAX_LENGTH,
    RESULTS_DEPTH,
    Searcher,
    SearchRequest,
    SearchSort,
    SemanticCoverage,
)
from paperboard.web.api.errors import error_responses
from paperboard.web.api.schemas import (
    ApiItem,
    DailyPaper,
    PaperDetail,
    SearchItem,
    daily_paper,
    encode,
    paper_detail,
    search_item,
)
from paperboard.web.api.times import IsoDay
from paperboard.web.deps import DatabaseDep, ReadSessionDep, SearcherDep
from paperboard.web.urls import site_url

router = APIRouter(tags=["papers"])


@router.get(
    "/api/papers/search",
    response_model=list[SearchItem],
    responses=error_responses(status.HTTP_400_BAD_REQUEST),
)
async def search(
    request: Request,
    response: Response,
    database: DatabaseDep,
    searcher: SearcherDep,
    q: Annotated[
        str,
        Query(
            max_length=QUERY_MAX_LENGTH,
            description='What to look for: words, "a phrase", a description, or an arXiv id or address. Empty or '
            "left out: the daily papers, newest submission first (what `huggingface_hub`'s `list_papers()` asks "
            "for without a query).",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=120, description="At most this many papers.")] = 50,
    offset: Annotated[int, Query(ge=0, le=RESULTS_DEPTH, description="Skip this many results first (paging).")] = 0,
    mode: Annotated[
        SearchMode, Query(description="`hybrid` (the default) fuses `keyword` (BM25) and `semantic` (by meaning).")
    ] = SearchMode.HYBRID,
    sort: Annotated[SearchSort, Query(description="`relevance`, or the results newest first, or most upvoted.")] = (
        SearchSort.RELEVANCE
    ),
    category: Annotated[
        str | None, Query(max_length=64, description="An arXiv category (`cs.CL`) or archive (`cs`).")
    ] = None,
    published_from: Annotated[IsoDay | None, Query(description="First published on or after this day.")] = None,
    published_to: Annotated[IsoDay | None, Query(description="First published on or before this day.")] = None,
    has_code: Annotated[bool, Query(description="Only papers with a link to their code.")] = False,
    listed: Annotated[bool, Query(description="Only papers that were on a daily list.")] = False,
    explain: Annotated[
        bool,
        Query(
            description="Each result also carries `explain`: its BM25 score and cosine, its fused score and its "
            "rank in each ranking (for the curious; the results are the same)."
        ),
    ] = False,
) -> list[ApiItem]:
    """Papers of the catalogue for a query, best first, whether or not they are on a daily list. Hugging Face's
    endpoint takes `q` and `limit`; the other parameters are Paperboard's. The `X-Semantic-Coverage` header says
    how many of the papers searched could be found by meaning (those with a vector so far): `N/M`."""
    filters = SearchFilters(
        published_from=published_from, published_to=published_to, category=category, has_code=has_code, listed=listed
    )
    search_request = SearchRequest(
        query=q, mode=mode, filters=filters, sort=sort, limit=limit, offset=offset, explain=explain
    )
    # One trip to the thread pool for the search and its papers' details, where a plain route takes four (its
    # session's start and end, the route, the check of its answer): each took about 0.45 ms on the benchmark's
    # 2-core machine (docs/benchmarks.md), a tenth of a hybrid search.
    found, coverage = await run_in_threadpool(_search, database, searcher, search_request, site_url(request))
    if coverage is not None:
        # Hugging Face's answer is a bare list, so what meaning covers goes beside it, for clients that look.
        response.headers["X-Semantic-Coverage"] = f"{coverage.with_vectors}/{coverage.papers}"
    return found


def _search(
    database: Database, searcher: Searcher, search_request: SearchRequest, site_url: str
) -> tuple[list[ApiItem], SemanticCoverage | None]:
    with database.read_session() as session:
        if not search_request.query.strip():
            # `huggingface_hub` leaves `q` out for an empty query, whose papers its docs call "daily papers"
            # narrowed by the query "if provided": so, unnarrowed, the daily papers as `/api/daily_papers` has them.
            end = search_request.offset + search_request.limit
            listed = daily_papers(session, sort="publishedAt", page=0, limit=end)[search_request.offset :]
            return [daily_paper(item, site_url) for item in listed], None
        results = searcher.search(session, search_request, with_categories=False)
        found = _daily_papers(session, [hit.paper for hit in results.hits], site_url)
        coverage = searcher.semantic_coverage(session)
        if not search_request.explain:
            return found, coverage
        explanations = {hit.paper.arxiv_id: hit.explanation for hit in results.hits}
        return [search_item(item, explanations[item["paper"]["id"]]) for item in found], coverage


@router.get(
    "/api/papers/{arxiv_id:path}/similar",
    response_model=list[DailyPaper],
    responses=error_responses(status.HTTP_404_NOT_FOUND),
)
def similar(
    request: Request,
    session: ReadSessionDep,
    searcher: SearcherDep,
    arxiv_id: str,
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many papers.")] = 10,
) -> list[ApiItem]:
    """The papers nearest in meaning to this one, nearest first (by its title's words while it has no vector)."""
    paper = _stored_paper(session, arxiv_id)
    return _daily_papers(session, searcher.similar(session, paper, limit), site_url(request))


def _daily_papers(session: Session, found: list[Paper], site_url: str) -> list[ApiItem]:
    return [daily_paper(item, site_url) for item in listed_papers(session, found)]


def _stored_paper(session: Session, arxiv_id: str) -> Paper:
    try:
        canonical = parse_arxiv_id(arxiv_id).id
    except InvalidArxivId as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no paper {arxiv_id!r} here: {error}.") from None
    paper = get_paper(session, canonical)
    if paper is None or paper.deleted_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no paper {canonical} here.")
    return paper


@router.get(
    "/api/papers/{arxiv_id:path}",
    response_model=PaperDetail,
    responses=error_responses(status.HTTP_404_NOT_FOUND),
)
def paper_info(request: Request, session: ReadSessionDep, arxiv_id: str) -> Response:
    """One paper of the catalogue, by its arXiv id in any usual form (`2506.03781v2`, `arXiv:2506.03781`)."""
    [listed] = listed_papers(session, [_stored_paper(session, arxiv_id)])
    # Encoded as `list_daily_papers` encodes its answer, held to `PaperDetail` by the same tests.
    return Response(encode(paper_detail(listed, site_url(request))), media_type="application/json")
