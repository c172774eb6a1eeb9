"""ASGI middleware of the site: HEAD answered as GET, security headers on every response, the anonymous CSRF cookie,
and a short-lived cache of public pages.

All are plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which costs a task and a copy of every response
body: on a page served from the cache, that would be most of the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_plus

from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperboard.web.kept_pages import KeptPages
from paperboard.web.negotiation import page_media_type
from paperboard.web.page_changes import PageChanges
from paperboard.web.security import SESSION_COOKIE, attach_csrf_cookie

RawHeaders = list[tuple[bytes, bytes]]


class HeadAsGet:
    """Answers a HEAD request as the GET of the same address would be answered, headers only (RFC 9110, 9.3.2).
    FastAPI's routes accept only the methods they declare, so feed readers, link checkers and uptime monitors that
    ask with HEAD were told 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                # The GET's headers stand, Content-Length included; its body is not sent.
                await send({"type": "http.response.body", "body": b""})

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class SecurityHeaders:
    """Adds the given headers to every response unless a route set them: the app's pages and the refusals sent by
    the middleware in front of it (413, 429) alike."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: RawHeaders = list(message.get("headers", []))
                present = {name for name, _ in headers}
                headers += [(name, value) for name, value in self.headers if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class MintedCsrfCookie:
    """Sets the anonymous CSRF cookie that a page minted while it was made (web/security.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_minted_cookie(scope)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _minted_cookie(scope: Scope) -> RawHeaders:
    if not scope.get("state", {}).get("new_csrf_cookie"):
        return []
    carrier = Response()
    attach_csrf_cookie(Request(scope), carrier)
    return [(name, value) for name, value in carrier.raw_headers if name == b"set-cookie"]


# Bytes counted for each kept page besides its body, headers and key: the Python objects holding them.
_PAGE_OVERHEAD_BYTES = 1024

PageKey = tuple[str, bytes, str]


@dataclass(frozen=True, slots=True)
class _CachedPage:
    status: int
    headers: RawHeaders
    body: bytes
    size: int


class AnonymousPageCache:
    """Serves repeated GETs of public pages from memory, for a few seconds, to visitors who are not signed in.

    Signed-in readers and htmx requests always reach the app. Only complete 200 responses that set no cookie and
    were made for no signed-in reader are kept, so a page carrying anything personal cannot be cached. The cache is
    emptied through `changes` (`web.page_changes`): by any other request than GET or HEAD in this process, and on
    PostgreSQL by every write of any process of any host that pages show (`db.changes`); on SQLite other worker
    processes catch up within `ttl` seconds, the longest a visitor can see a count that is out of date there. A page
    whose making began before the cache was last emptied is served but not kept: it may hold what just changed.

    What one visitor sends must not decide what another is served, so a page is kept under everything that
    shapes it:
    - its path;
    - its query parameters, sorted by name, and only when the route that answered declares every one of them
      (FastAPI's signature and dependencies: the only parameters a route reads). The answer to a request with any
      other parameter (`utm_source`, junk) is served but not kept: such parameters can neither add entries nor
      end up in a page served to others;
    - the representation its Accept header asks for, chosen by `page_media_type`, the function the routes use.
    The Host header shapes nothing: absolute addresses come from PAPERBOARD_BASE_URL (web/urls.py).

    The pages kept hold at most `max_bytes` (bodies, headers, keys and an allowance per page), least recently used
    evicted first; a page bigger than that is served but not kept.
    """

    def __init__(
        self, app: ASGIApp, *, ttl: float, prefixes: tuple[str, ...], max_bytes: int, changes: PageChanges
    ) -> None:
        self.app = app
        self.ttl = ttl
        self.prefixes = prefixes
        self.max_bytes = max_bytes
        self.changes = changes
        self._pages: KeptPages[PageKey, _CachedPage] = KeptPages(ttl=ttl, max_bytes=max_bytes)
        changes.register(self._pages.clear)

    def _cacheable(self, scope: Scope) -> bool:
        path = scope["path"]
        if scope["method"] != "GET" or not (path == "/" or path.startswith(self.prefixes)):
            return False
        headers = Headers(scope=scope)
        if headers.get("hx-request"):
            return False
        # Read as the app reads it (`web.security.session_token`): `pb_session =…` is a session too.
        return SESSION_COOKIE not in cookie_parser(headers.get("cookie", ""))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            # Announced with the cache off too: the other caches registered in `changes` (the trending order) are
            # not turned off with it.
            try:
                await self.app(scope, receive, send)
            finally:
                self.changes.changed()
            return
        if self.ttl <= 0 or not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        parameters = _query_parameters(scope["query_string"])
        query = b"&".join(parameter for _, parameter in parameters)
        key = (scope["path"], query, page_media_type(Headers(scope=scope).get("accept")))
        page = self._pages.get(key)
        if page is not None:
            await send({"type": "http.response.start", "status": page.status, "headers": page.headers})
            await send({"type": "http.response.body", "body": page.body})
            return
        done = self._pages.refilling(key)
        try:
            await self._fill(key, {name for name, _ in parameters}, scope, receive, send)
        finally:
            done()

    async def _fill(self, key: PageKey, names: set[str], scope: Scope, receive: Receive, send: Send) -> None:
        emptied = self._pages.emptied
        start: Message | None = None
        chunks: list[bytes] | None = []
        received = 0

        async def capture(message: Message) -> None:
            nonlocal start, chunks, received
            if message["type"] == "http.response.start":
                # By now the router has put the route that answers in the scope.
                if names <= _declared_query_names(scope.get("route")):
                    start = message
            elif message["type"] == "http.response.body" and chunks is not None:
                chunks.append(message.get("body", b""))
                received += len(chunks[-1])
                if received > self.max_bytes:
                    # A body that could never be kept is not gathered either.
                    chunks = None
                elif not message.get("more_body") and start is not None:
                    self._keep(key, scope, start, b"".join(chunks), emptied)
            await send(message)

        await self.app(scope, receive, capture)

    def _keep(self, key: PageKey, scope: Scope, start: Message, body: bytes, emptied: int) -> None:
        headers: RawHeaders = list(start.get("headers", []))
        if start["status"] != 200 or any(name == b"set-cookie" for name, _ in headers):
            return
        # Whatever the request looked like, a page made for a signed-in reader (`security.current_user` found one)
        # holds their name, CSRF token, follows and marks: it is never served to anyone else.
        if scope.get("state", {}).get("user") is not None:
            return
        size = (
            _PAGE_OVERHEAD_BYTES
            + len(body)
            + sum(len(name) + len(value) for name, value in headers)
            + len(key[0])
            + len(key[1])
        )
        self._pages.keep(key, _CachedPage(start["status"], headers, body, size), emptied)


def _query_parameters(query: bytes) -> list[tuple[str, bytes]]:
    """The parameters of a query string with their names, sorted by name (the values of one name keep their order)."""
    parameters = [
        (unquote_plus(parameter.split(b"=", 1)[0].decode("latin-1")), parameter)
        for parameter in query.split(b"&")
        if parameter
    ]
    return sorted(parameters, key=lambda named: named[0])


def _declared_query_names(route: object) -> set[str]:
    """The names, in addresses, of the query parameters a route declares, itself or through its dependencies."""
    names: set[str] = set()
    dependants = [route.dependant] if isinstance(route, APIRoute) else []
    while dependants:
        dependant = dependants.pop()
        names.update(field.alias for field in dependant.query_params)
        dependants.extend(dependant.dependencies)
    return names
