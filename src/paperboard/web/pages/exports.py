"""Papers to take elsewhere: BibTeX of one paper (`/papers/{id}.bib`), of a day's, week's or month's list
(`/papers/date/2025-06-04.bib`, `/papers/week/2025-W23.bib`, `/papers/month/2025-06.bib`) and of a search
(`/search.bib?q=`) and of a collection (`/collections/{owner}/{slug}.bib`), and one paper as Markdown
(`/papers/{id}.md`).

Its router comes before the daily lists' and the paper page's: their `/papers/date/{day}` and
`/papers/{arxiv_id:path}` would take these addresses for a malformed day or an unknown paper (and the collection pages'
`/collections/{owner}/{slug}` a collection's BibTeX). The paper routes come
after the list routes here for the same reason: `date/2025-06-04` could be read as an (old-style) id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from paperboard.catalog.queries import papers_by_ids
from paperboard.community.listings import ranked_listings
from paperboard.community.periods import PeriodKind
from paperboard.db.models import Paper
from paperboard.exports.bibtex import bibtex_file
from paperboard.personal.collections import collection_at, collection_view, title_slug
from paperboard.search.service import QueryTooLong, SearchRequest
from paperboard.web.deps import ReadSessionDep, SearcherDep
from paperboard.web.pages.collections import http_errors
from paperboard.web.pages.daily import period_or_404
from paperboard.web.pages.paper import canonical_id, markdown_response, paper_or_404
from paperboard.web.security import OptionalUser

BIBTEX_MEDIA_TYPE = "application/x-bibtex; charset=utf-8"
# As many results as a reference manager is likely to want from one search; the best matches come first.
SEARCH_EXPORT_LIMIT = 100

router = APIRouter()


def _bibtex_response(papers: Sequence[Paper], filename: str) -> Response:
    # Inline: browsers show the entries to copy, while `curl -OJ` and download links keep the name.
    return Response(
        bibtex_file(papers),
        media_type=BIBTEX_MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def _list_bibtex(session: Session, kind: PeriodKind, text: str) -> Response:
    period = period_or_404(kind, text)
    ranked = ranked_listings(session, period.start, period.end)
    return _bibtex_response(papers_by_ids(session, [listing.paper_id for listing in ranked]), f"{period.key}.bib")


@router.get("/papers/date/{day}.bib", name="day_bibtex")
def day_bibtex(day: str, session: ReadSessionDep) -> Response:
    return _list_bibtex(session, "day", day)


@router.get("/papers/week/{week}.bib", name="week_bibtex")
def week_bibtex(week: str, session: ReadSessionDep) -> Response:
    return _list_bibtex(session, "week", week)


@router.get("/papers/month/{month}.bib", name="month_bibtex")
def month_bibtex(month: str, session: ReadSessionDep) -> Response:
    return _list_bibtex(session, "month", month)


@router.get("/collections/{owner}/{slug}.bib", name="collection_bibtex")
def collection_bibtex(owner: str, slug: str, session: ReadSessionDep, reader: OptionalUser) -> Response:
    """A collection's papers in its order: anyone's for a public collection, only its owner's for a private one."""
    with http_errors():
        collection = collection_at(session, owner, slug, None if reader is None else reader.id)
    view = collection_view(session, collection)
    return _bibtex_response([entry.paper for entry in view.items], f"{title_slug(collection.title)}.bib")


@router.get("/search.bib", name="search_bibtex")
def search_bibtex(session: ReadSessionDep, searcher: SearcherDep, q: str = "") -> Response:
    try:
        results = searcher.search(session, SearchRequest(query=q, limit=SEARCH_EXPORT_LIMIT))
    except QueryTooLong as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    return _bibtex_response([hit.paper for hit in results.hits], "search.bib")


def _paper_export(
    request: Request, arxiv_id: str, session: Session, route: str, respond: Callable[[Paper], Response]
) -> Response:
    """The export of one paper, after a redirect from any other form of its id to the canonical one."""
    canonical = canonical_id(arxiv_id)
    if canonical != arxiv_id:
        target = request.url_for(route, arxiv_id=canonical).path
        return RedirectResponse(target, status_code=status.HTTP_301_MOVED_PERMANENTLY)
    return respond(paper_or_404(session, canonical))


@router.get("/papers/{arxiv_id:path}.bib", name="paper_bibtex")
def paper_bibtex(request: Request, arxiv_id: str, session: ReadSessionDep) -> Response:
    # Old-style ids hold a slash, which no file name may.
    return _paper_export(
        request,
        arxiv_id,
        session,
        "paper_bibtex",
        lambda paper: _bibtex_response([paper], f"{paper.arxiv_id.replace('/', '-')}.bib"),
    )


@router.get("/papers/{arxiv_id:path}.md", name="paper_markdown")
def paper_markdown(request: Request, arxiv_id: str, session: ReadSessionDep) -> Response:
    return _paper_export(request, arxiv_id, session, "paper_markdown", lambda paper: markdown_response(session, paper))
