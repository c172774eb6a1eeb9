"""The search page, `/search`: a query with its mode, filters and order, all in the address, and the results a page
at a time, each with the query's words marked in its title and in a passage of its abstract.

A plain GET form, so searching needs no JavaScript. With htmx the results follow the typing: the box and the
filters ask for the same address with `HX-Request`, get only the results (`partials/search_results.html`), and put
the search's own address in the address bar (`HX-Push-Url`), which, loaded afresh, renders the whole page.

Every parameter arrives as the text that was typed and is checked here, so that a wrong one is a 400 that says
what is wrong while the form still holds what was typed (rather than FastAPI's 422 on the error page).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from paperboard.catalog import latex
from paperboard.community.counts import upvote_counts
from paperboard.db.models import Paper
from paperboard.personal.follows import SEARCH_PARAMETERS, Target, search_target
from paperboard.search.engine import SearchMode
from paperboard.search.facets import SearchFilters
from paperboard.search.highlight import Segment, segments, snippet
from paperboard.search.service import (
    QUERY_MAX_LENGTH,
    RESULTS_DEPTH,
    QueryTooLong,
    SearchRequest,
    SearchResults,
    SearchSort,
)
from paperboard.web.deps import ReadSessionDep, SearcherDep
from paperboard.web.pages.exports import SEARCH_EXPORT_LIMIT
from paperboard.web.pages.feeds import search_feeds
from paperboard.web.templating import templates

RESULTS_PER_PAGE = 20
# As long as the API allows (`GET /api/papers/search`): arXiv's category names are far shorter.
CATEGORY_MAX_LENGTH = 64
# Enough of a wrong value to recognise it in the message, not so much that the message drowns in it.
_QUOTED_LENGTH = 40
# What a ticked checkbox sends ("on"), and what people write by hand in an address.
_YES = frozenset({"on", "true", "1", "yes"})
_NO = frozenset({"", "off", "false", "0", "no"})
MODE_LABELS = {
    SearchMode.HYBRID: "Words and meaning",
    SearchMode.KEYWORD: "Words only",
    SearchMode.SEMANTIC: "Meaning only",
}
SORT_LABELS = {SearchSort.RELEVANCE: "Relevance", SearchSort.DATE: "Newest", SearchSort.UPVOTES: "Most upvoted"}

router = APIRouter()

Text = Annotated[str, Query()]
Choice = TypeVar("Choice", bound=StrEnum)


class InvalidSearch(ValueError):
    """Parameters that do not make a search; `problems` says what is wrong with each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class SearchForm:
    """A search as the address spells it, kept as typed, so that the form can show it back."""

    q: str = ""
    mode: str = SearchMode.HYBRID.value
    category: str = ""
    published_from: str = ""
    published_to: str = ""
    has_code: str = ""
    listed: str = ""
    sort: str = SearchSort.RELEVANCE.value
    offset: str = ""

    def checked(self, name: str) -> bool:
        """Whether a checkbox is ticked (an unreadable value shows unticked; `search_request` reports it)."""
        return getattr(self, name).strip().casefold() in _YES

    @property
    def is_blank(self) -> bool:
        return not self.q.strip()

    @property
    def narrows(self) -> bool:
        """Whether anything besides the words shapes the results (which the feeds and BibTeX do not follow)."""
        return (
            any(text.strip() for text in (self.category, self.published_from, self.published_to))
            or self.checked("has_code")
            or self.checked("listed")
            or self.mode.strip() != SearchMode.HYBRID.value
        )

    def parameters(self) -> dict[str, str]:
        """The parameters that differ from the defaults, but the offset, in a fixed order, with checkboxes as the
        browser sends them."""
        defaults = SearchForm()
        parameters: dict[str, str] = {}
        for field in fields(self):
            if field.name == "offset":
                continue
            value = getattr(self, field.name)
            if field.name in ("has_code", "listed"):
                value = "on" if self.checked(field.name) else ""
            elif field.name == "category":
                value = value.strip()
            if value != getattr(defaults, field.name):
                parameters[field.name] = value
        return parameters

    def saved_search(self) -> Target:
        """This search to follow: its words and filters (not its order). Raises `InvalidSearch`, `InvalidFollow`."""
        self.search_request()
        return search_target({name: value for name, value in self.parameters().items() if name in SEARCH_PARAMETERS})

    def address(self, path: str, offset: int | None = None) -> str:
        """The search's own address: `parameters`, and `offset` instead of the form's when given."""
        parameters = self.parameters()
        chosen = offset if offset is not None else _offset(self.offset, [])
        if chosen:
            parameters["offset"] = str(chosen)
        return f"{path}?{urlencode(parameters)}" if parameters else path

    def search_request(self) -> SearchRequest:
        """The request for the search service; `InvalidSearch` naming every parameter it cannot read."""
        problems: list[str] = []
        mode = _choice(SearchMode, "mode", self.mode, problems)
        sort = _choice(SearchSort, "sort", self.sort, problems)
        published_from = _day("published_from", "The first day", self.published_from, problems)
        published_to = _day("published_to", "The last day", self.published_to, problems)
        if published_from and published_to and published_from > published_to:
            problems.append(
                f"The first day ({published_from.isoformat()}) comes after the last ({published_to.isoformat()}): "
                "no paper can be published between them."
            )
        category = self.category.strip()
        if len(category) > CATEGORY_MAX_LENGTH:
            problems.append(
                f"A category is at most {CATEGORY_MAX_LENGTH} characters long, like cs.CL, math.AG, hep-th or cs."
            )
        has_code = _flag("has_code", "Has code", self.has_code, problems)
        listed = _flag("listed", "Listed on a daily page", self.listed, problems)
        offset = _offset(self.offset, problems)
        if problems:
            raise InvalidSearch(problems)
        assert mode is not None and sort is not None
        filters = SearchFilters(
            published_from=published_from,
            published_to=published_to,
            category=category or None,
            has_code=has_code,
            listed=listed,
        )
        return SearchRequest(query=self.q, mode=mode, filters=filters, sort=sort, limit=RESULTS_PER_PAGE, offset=offset)


def _quoted(text: str) -> str:
    return repr(text if len(text) <= _QUOTED_LENGTH else f"{text[:_QUOTED_LENGTH]}…")


def _choice(kind: type[Choice], name: str, text: str, problems: list[str]) -> Choice | None:
    try:
        return kind(text.strip())
    except ValueError:
        choices = ", ".join(choice.value for choice in kind)
        problems.append(f"{name} must be one of {choices}, not {_quoted(text)}.")
        return None


def _day(name: str, label: str, text: str, problems: list[str]) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        problems.append(f"{label} ({name}) {_quoted(text)} is not a date: write it as YYYY-MM-DD, like 2025-06-04.")
        return None


def _flag(name: str, label: str, text: str, problems: list[str]) -> bool:
    value = text.strip().casefold()
    if value in _YES:
        return True
    if value not in _NO:
        problems.append(f"{label} ({name}) is ticked or not: {_quoted(text)} is neither (use on or leave it out).")
    return False


def _offset(text: str, problems: list[str]) -> int:
    value = text.strip()
    if not value:
        return 0
    if value.isascii() and value.isdigit() and int(value) <= RESULTS_DEPTH:
        return int(value)
    problems.append(f"offset is a number of results to skip, from 0 to {RESULTS_DEPTH}, not {_quoted(text)}.")
    return 0


@dataclass(frozen=True, slots=True)
class Result:
    """A hit as the page shows it: its title and a passage of its abstract cut into marked segments."""

    paper: Paper
    title: list[Segment]
    snippet: list[Segment]
    upvotes: int


@dataclass(frozen=True, slots=True)
class ResultsPage:
    """The results shown: `first` is the position of the first, counted from 1; the neighbours' offsets are None
    where there is no such page."""

    results: list[Result]
    total: int
    first: int
    previous_offset: int | None
    next_offset: int | None

    @property
    def last(self) -> int:
        return self.first + len(self.results) - 1


def _results_page(session: Session, found: SearchResults, offset: int) -> ResultsPage:
    upvotes = upvote_counts(session, [hit.paper.id for hit in found.hits])
    results = [
        Result(
            paper=hit.paper,
            # As plain text, as feeds show them: the marks cannot go inside LaTeX source, nor KaTeX around marks.
            title=segments(latex.to_plain(hit.paper.title), found.query),
            snippet=snippet(latex.to_plain(hit.paper.abstract), found.query),
            upvotes=upvotes.get(hit.paper.id, 0),
        )
        for hit in found.hits
    ]
    return ResultsPage(
        results=results,
        total=found.total,
        first=offset + 1,
        previous_offset=max(0, offset - RESULTS_PER_PAGE) if offset > 0 else None,
        next_offset=offset + RESULTS_PER_PAGE if offset + RESULTS_PER_PAGE < found.total else None,
    )


def _wants_results_only(request: Request) -> bool:
    # When its history cache misses, htmx reloads an address with `HX-Request` too, but then it wants the whole page.
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


@router.get("/search", name="search", response_class=HTMLResponse, response_model=None)
def search(
    request: Request,
    session: ReadSessionDep,
    searcher: SearcherDep,
    q: Text = "",
    mode: Text = SearchMode.HYBRID.value,
    category: Text = "",
    published_from: Text = "",
    published_to: Text = "",
    has_code: Text = "",
    listed: Text = "",
    sort: Text = SearchSort.RELEVANCE.value,
    offset: Text = "",
) -> HTMLResponse | RedirectResponse:
    form = SearchForm(q, mode, category, published_from, published_to, has_code, listed, sort, offset)
    problems: list[str] = []
    page: ResultsPage | None = None
    named: str | None = None
    results_only = _wants_results_only(request)
    try:
        search_request = form.search_request()
        found = searcher.search(session, search_request)
        if found.named is not None:
            named = found.named.id
            if found.hits and not results_only:
                # An id typed or pasted into a search box (or an address) goes to its paper, as on arXiv; htmx's
                # results as you type show it as the one result instead of leaving the page under the typing.
                return RedirectResponse(
                    request.url_for("paper", arxiv_id=named).path, status_code=status.HTTP_303_SEE_OTHER
                )
        page = _results_page(session, found, search_request.offset)
    except InvalidSearch as error:
        problems = error.problems
    except QueryTooLong as error:
        problems = [str(error)]
    path = request.url_for("search").path
    headers = {"Vary": "HX-Request"}
    if results_only:
        headers["HX-Push-Url"] = form.address(path)
    return templates.TemplateResponse(
        request,
        "partials/search_results.html" if results_only else "search.html",
        {
            "form": form,
            "page": None if form.is_blank else page,
            "problems": problems,
            "named": named,
            "results_only": results_only,
            # The whole page says how much meaning can find yet; results alone (htmx) leave that line as it is.
            "coverage": None if results_only else searcher.semantic_coverage(session),
            "search_path": path,
            "feeds": [] if form.is_blank or problems else search_feeds(request, form.q),
            # What "Save this search" follows.
            "saved_search": None if form.is_blank or problems else form.saved_search(),
            "bibtex_limit": SEARCH_EXPORT_LIMIT,
            "results_depth": RESULTS_DEPTH,
            "query_max_length": QUERY_MAX_LENGTH,
            "category_max_length": CATEGORY_MAX_LENGTH,
            "modes": MODE_LABELS,
            "sorts": SORT_LABELS,
        },
        status_code=status.HTTP_400_BAD_REQUEST if problems else status.HTTP_200_OK,
        headers=headers,
    )
