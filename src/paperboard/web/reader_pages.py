"""Signed-in readers' list and paper pages, made once for all of them and finished for each.

A signed-in reader's page differs from another's only in their name in the header, the CSRF token in its forms and
the state of their own buttons (upvoted, saved, "not interested"). So the first signed-in request for a page has it
made for `SHARED_READER` (web/reader_state.py), with those parts as markers, and the page is kept in this process's
memory. Each request then costs one query for the reader's marks on the page's papers, always made (a vote cast
through another process shows at once), and the markers are replaced. Nothing of one reader goes into a kept page:
what is kept was made for no one.

On PostgreSQL the reader's session (`community.sessions.user_for_token`, one indexed query, a trip to the server)
is remembered for `ttl` seconds too, and forgotten with the pages on any write that any process of any host
announces (`db.changes`): a sign-out, suspension or role change takes effect everywhere at the next request. On
SQLite, where other processes' writes are not announced, it is looked up at every request.

Kept, like the visitors' pages of `AnonymousPageCache` (web/middleware.py), for `ttl` seconds at most, and emptied
with them (`ReaderPages.clear`, registered in `web.page_changes`): by any request in this process that may change
something, and on PostgreSQL by any change announced from elsewhere; on SQLite other processes catch up within
`ttl`. Within that time, a reader who voted in another
process can see their button pressed beside the count from before their vote. Moderators (who see hidden papers and
moderation forms), htmx requests, other representations than HTML, unknown query parameters, and pages a template
could not write for everyone (`is_following`) or that hold the reader's own comments are made for the reader alone,
as before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool
from markupsafe import escape
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperboard.community.sessions import user_for_token
from paperboard.db import Database
from paperboard.db.models import User
from paperboard.personal.marks import MARK_KINDS, MarkKind, marks_among
from paperboard.web.kept_pages import KeptPages
from paperboard.web.middleware import RawHeaders, _declared_query_names, _query_parameters
from paperboard.web.negotiation import page_media_type
from paperboard.web.reader_state import CSRF_MARKER, NAME_MARKER, SHARED_READER
from paperboard.web.security import SESSION_COOKIE, csrf_token

# The routes whose pages are made once for all signed-in readers: the lists and the paper page; and their addresses
# (paper pages at canonical ids), known before routing: matching the app's routes here would cost half a
# millisecond a request. The route that answered is checked after the page is made.
SHARED_ROUTES = frozenset({"home", "daily_day", "daily_week", "daily_month", "trending", "paper"})
_SHARED_PATHS = re.compile(
    r"/|/papers/(?:trending|(?:date|week|month)/[^/]+|\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})"
)

_MARKERS = re.compile(
    r"<!--pb:mark (?P<kind>\S+) (?P<arxiv_id>\S+)-->(?P<off>.*?)<!--pb:or-->(?P<on>.*?)<!--pb:end-->"
    r"|<!--pb:guard (?P<guard_kind>\S+) (?P<guard_id>\S+)-->",
    re.DOTALL,
)
# Sessions remembered at most: more in `ttl` seconds than a busy site's readers (all are forgotten past it).
_READERS_KEPT = 10_000
# Bytes counted for each kept page besides its text and headers: the Python objects holding them.
_PAGE_OVERHEAD_BYTES = 4096

Marks = set[tuple[str, str]]
T = TypeVar("T")
PageKey = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class _Button:
    """A button written in both states: `on` for a reader with the mark, `off` for one without."""

    kind: str
    arxiv_id: str
    off: str
    on: str


@dataclass(slots=True)
class SharedPage:
    """A page made for `SHARED_READER`, split at its markers."""

    status: int
    headers: RawHeaders
    parts: list[str | _Button]
    # Marks that make the page unfit for a reader: they get a page made for them alone.
    guards: Marks
    # The marks to read for a reader: the buttons' and the guards', by kind.
    asked: dict[MarkKind, set[str]] = field(default_factory=dict)
    size: int = 0

    @classmethod
    def parse(cls, status: int, headers: RawHeaders, text: str) -> SharedPage:
        parts: list[str | _Button] = []
        guards: Marks = set()
        asked: dict[MarkKind, set[str]] = {}
        position = 0
        for match in _MARKERS.finditer(text):
            parts.append(text[position : match.start()])
            position = match.end()
            if match["guard_kind"]:
                guards.add((match["guard_kind"], match["guard_id"]))
                asked.setdefault(_kind(match["guard_kind"]), set()).add(match["guard_id"])
            else:
                parts.append(_Button(match["kind"], match["arxiv_id"], match["off"], match["on"]))
                asked.setdefault(_kind(match["kind"]), set()).add(match["arxiv_id"])
        parts.append(text[position:])
        kept_headers = [(name, value) for name, value in headers if name != b"content-length"]
        size = _PAGE_OVERHEAD_BYTES + len(text) * 2 + sum(len(name) + len(value) for name, value in kept_headers)
        return cls(status, kept_headers, parts, guards, asked, size=size)

    def fits(self, marks: Marks) -> bool:
        return not (self.guards & marks)

    def for_reader(self, reader: User, csrf: str, marks: Marks) -> tuple[RawHeaders, bytes]:
        text = "".join(
            part if isinstance(part, str) else (part.on if (part.kind, part.arxiv_id) in marks else part.off)
            for part in self.parts
        )
        body = text.replace(CSRF_MARKER, csrf).replace(NAME_MARKER, str(escape(reader.username))).encode()
        return [*self.headers, (b"content-length", str(len(body)).encode())], body


def _query_names(query: bytes) -> list[str]:
    return [name for name, _ in _query_parameters(query)]


def _kind(text: str) -> MarkKind:
    for kind in MARK_KINDS:
        if kind == text:
            return kind
    raise ValueError(f"a template marked a page with an unknown kind of mark: {text!r}")


class ReaderPages:
    """The kept shared pages of one process: at most `max_bytes`, least recently used dropped first, each for `ttl`
    seconds; and the readers whose sessions were looked up, each for `ttl` seconds. `clear` empties both; a page
    whose making began before it is not kept."""

    def __init__(self, *, ttl: float, max_bytes: int) -> None:
        self.ttl = ttl
        self._pages: KeptPages[PageKey, SharedPage] = KeptPages(ttl=ttl, max_bytes=max_bytes)
        self._readers: dict[str, tuple[User, float]] = {}

    def reader(self, token: str) -> User | None:
        """The signed-in reader a session token was found to belong to less than `ttl` seconds ago."""
        found = self._readers.get(token)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]

    def remember(self, token: str, reader: User) -> None:
        if len(self._readers) >= _READERS_KEPT:
            self._readers.clear()
        self._readers[token] = (reader, time.monotonic() + self.ttl)

    @property
    def generation(self) -> int:
        return self._pages.emptied

    def get(self, key: PageKey) -> SharedPage | None:
        return self._pages.get(key)

    def refilling(self, key: PageKey) -> Callable[[], None]:
        return self._pages.refilling(key)

    def keep(self, key: PageKey, page: SharedPage, generation: int) -> None:
        self._pages.keep(key, page, generation)

    def clear(self) -> None:
        self._pages.clear()
        self._readers.clear()


async def _empty_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


@dataclass(slots=True)
class _Response:
    status: int
    headers: RawHeaders
    body: bytes


class SharedReaderPages:
    """The middleware: serves signed-in readers' GETs of `SHARED_ROUTES` from `pages`. `pages` is emptied through
    `web.page_changes`, with the visitors' page cache: after every other request than GET or HEAD in this process,
    and on PostgreSQL on every change announced by any process of any host."""

    def __init__(self, app: ASGIApp, *, pages: ReaderPages, database: Database) -> None:
        self.app = app
        self.pages = pages
        self.database = database
        self.inline_reads = database.backend == "sqlite"
        # Only where every process hears of every write (PostgreSQL's announcements, `db.changes`): on SQLite a
        # sign-out, suspension or role change made by another process (another worker, the CLI) must still apply
        # at the next request, and the look-up there is a fraction of a millisecond in the event loop.
        self.remember_readers = not self.inline_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.pages.ttl <= 0:
            await self.app(scope, receive, send)
            return
        token, key = self._shareable(scope)
        if token is None or key is None:
            await self.app(scope, receive, send)
            return
        reader = self.pages.reader(token) if self.remember_readers else None
        if reader is None:
            reader = await self._read(self._reader, token)
            if reader is not None and self.remember_readers:
                self.pages.remember(token, reader)
        if reader is None or reader.is_moderator:
            await self._for_reader_alone(scope, receive, send, reader)
            return
        page = self.pages.get(key) or await self._make(key, scope)
        if page is None:
            await self._for_reader_alone(scope, receive, send, reader)
            return
        marks = await self._read(self._marks, reader, page)
        if not page.fits(marks):
            await self._for_reader_alone(scope, receive, send, reader)
            return
        headers, body = page.for_reader(reader, csrf_token(Request(scope)), marks)
        await send({"type": "http.response.start", "status": page.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _shareable(self, scope: Scope) -> tuple[str | None, PageKey | None]:
        """The reader's session token and the key of the shared page the request asks for, when it asks for one."""
        headers = Headers(scope=scope)
        token = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        if not token or scope["method"] != "GET" or headers.get("hx-request"):
            return None, None
        if page_media_type(headers.get("accept")) != "text/html" or not _SHARED_PATHS.fullmatch(scope["path"]):
            return token, None
        parameters = _query_parameters(scope["query_string"])
        return token, (scope["path"], b"&".join(parameter for _, parameter in parameters))

    async def _make(self, key: PageKey, scope: Scope) -> SharedPage | None:
        """The page made for `SHARED_READER`, kept if it is a complete 200 page; None if it cannot be shared."""
        done = self.pages.refilling(key)
        generation = self.pages.generation
        try:
            shared_scope = {**scope, "state": {**scope.get("state", {}), "user": SHARED_READER}}
            # Made with a body of its own (a GET's, empty): the request's `receive` stays unread for the reader's
            # own page, which the app makes next when this one cannot be shared; read twice, it would wait for ever.
            response = await self._capture(shared_scope, _empty_body)
        finally:
            done()
        state = shared_scope["state"]
        if state.get("unshareable") or state.get("new_csrf_cookie"):
            return None
        # The router put the route that answered in the scope: the address was a shared page's after all, and, as
        # for visitors' pages, a parameter that route does not read does not make a page of its own.
        route = shared_scope.get("route")
        if getattr(route, "name", None) not in SHARED_ROUTES or not set(_query_names(key[1])) <= _declared_query_names(
            route
        ):
            return None
        if any(name == b"set-cookie" for name, _ in response.headers):
            return None
        page = SharedPage.parse(response.status, response.headers, response.body.decode())
        if response.status == 200:
            self.pages.keep(key, page, generation)
        return page

    async def _capture(self, scope: Scope, receive: Receive) -> _Response:
        response = _Response(500, [], b"")
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.status = message["status"]
                response.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        response.body = b"".join(chunks)
        return response

    async def _for_reader_alone(self, scope: Scope, receive: Receive, send: Send, reader: User | None) -> None:
        # The reader found is given to the app, which then does not look them up again.
        await self.app({**scope, "state": {**scope.get("state", {}), "user": reader}}, receive, send)

    async def _read(self, read: Callable[..., T], *arguments: object) -> T:
        """`read(*arguments)`: in the event loop on SQLite, whose indexed reads are a fraction of a millisecond of work
        in this process, less than the trip to the thread pool would cost (docs/benchmarks.md); in the thread pool
        on PostgreSQL, so that waiting on the server holds up no other request."""
        if self.inline_reads:
            return read(*arguments)
        return await run_in_threadpool(read, *arguments)

    def _reader(self, token: str) -> User | None:
        with self.database.read_session() as session:
            return user_for_token(session, token)

    def _marks(self, reader: User, page: SharedPage) -> Marks:
        with self.database.read_session() as session:
            return marks_among(session, reader.id, page.asked)
