"""ASGI middleware of the site: HEAD answered as GET, security headers on every response, and a short-lived cache
of public pages.

All three are plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which costs a task and a copy of every response
body: on a page served from the cache, that would be most of the work.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    """Adds the given headers to every response (unless a route set them), and the anonymous CSRF cookie a page
    minted while it was made."""

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
                headers += _minted_cookie(scope)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _minted_cookie(scope: Scope) -> RawHeaders:
    if not scope.get("state", {}).get("new_csrf_cookie"):
        return []
    carrier = Response()
    attach_csrf_cookie(Request(scope), carrier)
    return [(name, value) for name, value in carrier.raw_headers if name == b"set-cookie"]


@dataclass(frozen=True, slots=True)
class _CachedPage:
    status: int
    headers: RawHeaders
    body: bytes
    expires: float


class AnonymousPageCache:
    """Serves repeated GETs of public pages from memory, for a few seconds, to visitors who are not signed in.

    Signed-in readers, htmx requests and requests for other formats always reach the app. Only complete 200
    responses that set no cookie are kept, so a page carrying anything personal cannot be cached. Any other request
    than GET or HEAD in this process empties the cache; other worker processes catch up within `ttl` seconds, the
    longest a visitor can see a count that is out of date.
    """

    def __init__(self, app: ASGIApp, *, ttl: float, prefixes: tuple[str, ...], max_entries: int = 2048) -> None:
        self.app = app
        self.ttl = ttl
        self.prefixes = prefixes
        self.max_entries = max_entries
        self._pages: OrderedDict[tuple[str, bytes], _CachedPage] = OrderedDict()
        self._refilling: set[tuple[str, bytes]] = set()

    def _cacheable(self, scope: Scope) -> bool:
        path = scope["path"]
        if scope["method"] != "GET" or not (path == "/" or path.startswith(self.prefixes)):
            return False
        headers = Headers(scope=scope)
        if headers.get("hx-request") or "text/markdown" in headers.get("accept", ""):
            return False
        return f"{SESSION_COOKIE}=" not in headers.get("cookie", "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.ttl <= 0:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            try:
                await self.app(scope, receive, send)
            finally:
                self._pages.clear()
            return
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope["query_string"])
        page = self._pages.get(key)
        # An expired page is still served while one request makes its successor: when a busy page expires,
        # a burst of visitors would otherwise all make it at once and queue behind each other.
        if page is not None and (page.expires > time.monotonic() or key in self._refilling):
            self._pages.move_to_end(key)
            await send({"type": "http.response.start", "status": page.status, "headers": page.headers})
            await send({"type": "http.response.body", "body": page.body})
            return
        self._refilling.add(key)
        try:
            await self._fill(key, scope, receive, send)
        finally:
            self._refilling.discard(key)

    async def _fill(self, key: tuple[str, bytes], scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and start is not None:
                    self._keep(key, start, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    def _keep(self, key: tuple[str, bytes], start: Message, body: bytes) -> None:
        headers: RawHeaders = list(start.get("headers", []))
        if start["status"] != 200 or any(name == b"set-cookie" for name, _ in headers):
            return
        self._pages[key] = _CachedPage(start["status"], headers, body, time.monotonic() + self.ttl)
        self._pages.move_to_end(key)
        while len(self._pages) > self.max_entries:
            self._pages.popitem(last=False)
