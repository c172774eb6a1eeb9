"""The application factory that `paperboard serve` runs under uvicorn: routes, static files, error pages, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import Depends, FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

import paperboard
from paperboard.community.trending import TrendingScores
from paperboard.config import Settings, load_settings
from paperboard.db import Database
from paperboard.db.changes import ChangeListener
from paperboard.readiness import Readiness
from paperboard.search.service import searcher_for
from paperboard.web.api import collections as api_collections
from paperboard.web.api import comments as api_comments
from paperboard.web.api import daily_papers, papers, submissions, upvotes, whoami
from paperboard.web.api import follows as api_follows
from paperboard.web.api import for_you as api_for_you
from paperboard.web.api.errors import with_json_validation_errors
from paperboard.web.body_limits import BodyLimits
from paperboard.web.inputs import refuse_forbidden_characters
from paperboard.web.middleware import AnonymousPageCache, HeadAsGet, MintedCsrfCookie, SecurityHeaders
from paperboard.web.page_changes import PageChanges
from paperboard.web.pages import (
    account,
    admin,
    api_docs,
    api_tokens,
    authors,
    categories,
    claims,
    collections,
    comments,
    daily,
    exports,
    feeds,
    follows,
    for_you,
    health,
    organizations,
    paper,
    private_feeds,
    recent,
    search,
    submit,
    subscriptions,
    thumbnails,
    users,
    votes,
)
from paperboard.web.rate_limits import RATE_LIMITED_RESPONSE, LimitClass, RateLimits
from paperboard.web.reader_pages import ReaderPages, SharedReaderPages
from paperboard.web.refusals import wants_json
from paperboard.web.security import SignInRequired, current_user, sign_in_path
from paperboard.web.templating import templates

STATIC_DIR = Path(__file__).with_name("static")
# The routers of the pages people read; each module is one group of pages. `paper` comes last: its
# `/papers/{arxiv_id:path}` matches every address under /papers/, so the more specific routes must be tried first.
# `exports` comes first, for the same reason: `daily`'s `/papers/date/{day}` would take `/papers/date/{day}.bib`.
PAGE_ROUTERS = (
    exports,
    daily,
    submit,
    recent,
    search,
    account,
    api_tokens,
    votes,
    collections,
    follows,
    users,
    authors,
    claims,
    categories,
    organizations,
    comments,
    api_docs,
    feeds,
    for_you,
    private_feeds,
    admin,
    subscriptions,
    thumbnails,
    paper,
)
# The JSON API's routers, one per resource; within /api/papers/ too, the more specific paths come first.
API_ROUTERS: tuple[ModuleType, ...] = (
    submissions,
    upvotes,
    api_comments,
    api_follows,
    daily_papers,
    api_for_you,
    papers,
    api_collections,
    whoami,
)
# The introduction of the OpenAPI schema, which /docs shows above the operations (Markdown).
API_DESCRIPTION = (
    "The JSON API of this Paperboard site. Its paths, parameters and field names are Hugging Face's "
    "(`/api/daily_papers`, `/api/papers/{arxiv_id}` …), so code written for huggingface.co/api, "
    "`huggingface_hub.HfApi(endpoint=...)` among it, works against it. Every error answers with its HTTP status "
    'and a body `{"error": message}`. Requests that change something need an API token, created on your account '
    "page and sent as `Authorization: Bearer <token>`."
)
# The public pages every visitor sees alike (besides `/`): lists, trending, papers, profiles, authors, categories,
# and the API's answers to reads, which are the same for every caller, token or not.
CACHED_PATH_PREFIXES = (
    "/papers/",
    "/users/",
    "/authors/",
    "/categories/",
    "/organizations/",
    "/api/daily_papers",
    "/api/papers/",
)
# Everything comes from this site: the policy makes browsers refuse a CDN font or script that slipped in, and
# blunts any markup that escaped escaping. `data:` covers the empty favicon in the base template and Swagger UI's
# icons on /docs, which its stylesheet embeds.
# KaTeX (paper pages) sizes every glyph with inline styles, but it sets them through the DOM (`element.style`),
# which the policy does not restrict: styles need no 'unsafe-inline', as tests/e2e/test_paper_in_browser.py shows in
# Chromium. `style-src` and `font-src` restate the default on purpose, for KaTeX's stylesheet and fonts, which the
# site serves itself (static/vendor/katex), so that no edit here lets a CDN in.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}
# Sent in production (unless `https_only` is off): browsers then refuse plain HTTP to the site for a year, so that no
# one on the way can strip HTTPS from a later visit. Not for subdomains, which may be other people's sites.
STRICT_TRANSPORT_SECURITY = {"Strict-Transport-Security": "max-age=31536000"}


@dataclass(frozen=True, slots=True)
class ErrorText:
    title: str
    explanation: str


# Readers' words for the errors a page can run into; others fall back to the standard status phrase.
ERROR_TEXTS = {
    status.HTTP_404_NOT_FOUND: ErrorText(
        "Page not found",
        "There is nothing at this address: the link that brought you here may be mistyped or out of date.",
    ),
    status.HTTP_405_METHOD_NOT_ALLOWED: ErrorText(
        "Method not allowed", "This address does not accept that kind of request."
    ),
    status.HTTP_422_UNPROCESSABLE_CONTENT: ErrorText(
        "Invalid address", "The address asks for something this page cannot show:"
    ),
    status.HTTP_500_INTERNAL_SERVER_ERROR: ErrorText(
        "Something went wrong",
        "The server failed while preparing this page. Please try again in a moment; if it keeps happening, "
        "the server's log says why.",
    ),
}


def _error_text(status_code: int) -> ErrorText:
    return ERROR_TEXTS.get(status_code) or ErrorText(HTTPStatus(status_code).phrase, "")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The site and its API on the database the settings name; uvicorn calls this once in each worker process."""
    settings = settings or load_settings()
    # FastAPI's /docs and /redoc pages load their scripts from a CDN, which this site never does: /docs is the
    # site's own page (pages/api_docs.py), with Swagger UI served from static/vendor.
    app = FastAPI(
        title="Paperboard",
        version=paperboard.__version__,
        description=API_DESCRIPTION,
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        # Before every route's own dependencies: no route, service or database sees a forbidden character.
        dependencies=[Depends(refuse_forbidden_characters)],
    )
    app.state.settings = settings
    app.openapi = lambda: _api_schema(app)  # type: ignore[method-assign]
    # Opened here rather than in the lifespan, so that an app driven without its lifespan still has a database;
    # the engine connects lazily, at the first query.
    app.state.database = Database(settings.resolved_database_url)
    app.state.searcher = searcher_for(settings)
    app.state.readiness = Readiness(app.state.database)
    # Every cache of pages registers its emptying here (`web.page_changes`).
    app.state.page_changes = PageChanges()
    app.state.trending_scores = TrendingScores(settings.trending_scores_seconds)
    app.state.page_changes.register(app.state.trending_scores.clear)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for pages in PAGE_ROUTERS:
        # Every page knows who is signed in, for its header, before any of its own dependencies run. The pages and
        # their forms stay out of the OpenAPI schema, which describes the API that programs call (shown at /docs).
        app.include_router(pages.router, dependencies=[Depends(current_user)], include_in_schema=False)
    for resource in API_ROUTERS:
        app.include_router(resource.router, responses=RATE_LIMITED_RESPONSE)
    app.include_router(health.router)
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
    app.add_middleware(MintedCsrfCookie)
    # Added after the cookie middleware, so it wraps it and sees the Set-Cookie of a page that minted one (such a
    # page is never stored).
    app.add_middleware(
        AnonymousPageCache,
        ttl=settings.page_cache_seconds,
        prefixes=CACHED_PATH_PREFIXES,
        max_bytes=settings.page_cache_max_bytes,
        changes=app.state.page_changes,
    )
    # Signed-in readers' lists and paper pages, made once for all of them (web/reader_pages.py), emptied with the
    # visitors' pages.
    app.state.reader_pages = ReaderPages(ttl=settings.page_cache_seconds, max_bytes=settings.page_cache_max_bytes)
    app.state.page_changes.register(app.state.reader_pages.clear)
    app.add_middleware(SharedReaderPages, pages=app.state.reader_pages, database=app.state.database)
    # Before them: a body too large is refused before anything reads, parses or stores it.
    app.add_middleware(BodyLimits, max_body_bytes=settings.max_body_bytes, max_form_bytes=settings.max_form_bytes)
    # Before the body limits: a request over its limit costs a dictionary lookup, and reaches neither the page cache
    # (where a refused write would still empty it) nor the app, and no byte of its body is read.
    app.add_middleware(
        RateLimits,
        per_address={
            LimitClass.API: settings.api_requests_per_minute,
            LimitClass.SEARCH: settings.search_requests_per_minute,
            LimitClass.EXPORTS: settings.export_requests_per_minute,
            LimitClass.STATIC: settings.static_requests_per_minute,
            LimitClass.PAGES: settings.page_requests_per_minute,
        },
        per_token=settings.api_token_requests_per_minute,
        database=app.state.database if _shared_rate_limits(settings, app.state.database) else None,
    )
    # Around the refusals too: a 413 or a 429 carries the same Content-Security-Policy and HSTS as a page.
    app.add_middleware(
        SecurityHeaders, headers=SECURITY_HEADERS | (STRICT_TRANSPORT_SECURITY if settings.enforces_https else {})
    )
    # Outermost: everything inside sees a HEAD as the GET it stands for (and counts it, and may answer it from the
    # cache).
    app.add_middleware(HeadAsGet)
    return app


def _shared_rate_limits(settings: Settings, database: Database) -> bool:
    """Whether the rate limits are counted in the database rather than in each process (`rate_limit_store`)."""
    if settings.rate_limit_store == "auto":
        return database.backend == "postgresql"
    return settings.rate_limit_store == "database"


def _api_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema of the API, made once per process, with validation errors as the app answers them."""
    if app.openapi_schema is None:
        app.openapi_schema = with_json_validation_errors(
            get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        )
    return app.openapi_schema


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    database: Database = app.state.database
    # On PostgreSQL every process hears of the writes of every host's processes (db.changes), one connection each.
    listener = None
    if database.backend == "postgresql":
        listener = ChangeListener(database.url, app.state.page_changes.changed)
        listener.start()
    try:
        yield
    finally:
        if listener is not None:
            await listener.stop()
        database.dispose()


async def _sign_in_first(request: Request, error: SignInRequired) -> Response:
    target = sign_in_path(error.next_path)
    if request.headers.get("HX-Request"):
        # htmx follows a redirect inside the page; this header makes it load the sign-in page as a whole.
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": target})
    if wants_json(request.scope):
        return json_error(status.HTTP_401_UNAUTHORIZED, "Sign in first.")
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


def _error_page(
    request: Request,
    status_code: int,
    message: str | None = None,
    problems: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error page; `message` replaces the standard explanation of the status when a route gave a better one."""
    text = _error_text(status_code)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status_code": status_code,
            "title": text.title,
            "message": message or text.explanation,
            "problems": problems or [],
        },
        status_code=status_code,
        headers=headers,
    )


def json_error(status_code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error as the API states it: `{"error": message}`, the shape Hugging Face's API uses and
    `huggingface_hub` shows its users."""
    return JSONResponse({"error": message}, status_code=status_code, headers=headers)


async def _http_error(request: Request, error: HTTPException) -> Response:
    if wants_json(request.scope):
        message = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        return json_error(error.status_code, message, error.headers)
    # Routing errors carry the bare status phrase as detail; a route that raised its own sentence ("There is no
    # page 9…") says more than the standard explanation.
    custom = isinstance(error.detail, str) and error.detail != HTTPStatus(error.status_code).phrase
    return _error_page(request, error.status_code, error.detail if custom else None, headers=error.headers)


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    problems = [f"{problem['loc'][-1]}: {problem['msg']}" for problem in error.errors()]
    if wants_json(request.scope):
        # 400 as Hugging Face answers a malformed parameter, rather than FastAPI's 422.
        return json_error(status.HTTP_400_BAD_REQUEST, "; ".join(problems))
    return _error_page(request, status.HTTP_422_UNPROCESSABLE_CONTENT, problems=problems)


async def _server_error(request: Request, _error: Exception) -> Response:
    # Starlette re-raises the exception after sending this response, so its traceback still reaches the log.
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    if wants_json(request.scope):
        return json_error(status_code, HTTPStatus(status_code).phrase)
    return _error_page(request, status_code)
