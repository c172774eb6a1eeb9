"""Rate limits: requests per minute per client address, in each class of paths, and per API token.

Every path belongs to one class (`limit_class`), with a limit of its own, so that cheap pages are not held back by
expensive searches and an address refused by one class is still refused by the others' own counts:

- `api`: the JSON API, `/api/…`; a request with a bearer token also counts against that token (its SHA-256, so that
  no token is kept in memory): made-up tokens cannot buy an address more requests, and one token used from many
  machines is held to its own limit;
- `search`: `/search`, `/search.bib`, `/feeds/search.*`, which rank the corpus at every request;
- `exports`: every other feed (`/feeds/…`) and export (`….bib`, `….md`);
- `static`: `/static/…`, the site's own files;
- `pages`: everything else, pages and forms.

A request over a limit gets 429 with `Retry-After` and never reaches the app.

Each key has a fixed window of a minute that starts with its first request. The counts live behind the
`RequestCounter` interface; `FixedWindowCounter` keeps them in the memory of each worker process, at no cost to the
database: with N workers a client may get up to N times the limit. Keys whose window is over are dropped as new
windows open, and at most `max_keys` are kept per counter.

A plain ASGI middleware, like those of `web.middleware`: it sits in front of every request, and the API must answer a
thousand of them a second.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from time import monotonic
from typing import Any, Protocol

from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import ASGIApp, Receive, Scope, Send

from paperboard.web.api.errors import ErrorBody
from paperboard.web.refusals import refuse, site_path

WINDOW_SECONDS = 60.0

# For the OpenAPI schema: every API route can answer this, whatever its own responses.
RATE_LIMITED_RESPONSE: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorBody,
        "description": "Too many requests from this address or with this token; wait `Retry-After` seconds.",
        "headers": {
            "Retry-After": {"description": "Seconds until a request is accepted again.", "schema": {"type": "integer"}}
        },
    }
}


class LimitClass(StrEnum):
    API = "api"
    SEARCH = "search"
    EXPORTS = "exports"
    STATIC = "static"
    PAGES = "pages"


SEARCH_PATHS = ("/search", "/search.bib", "/feeds/search.rss", "/feeds/search.atom")
EXPORT_SUFFIXES = (".bib", ".md")


def limit_class(path: str) -> LimitClass:
    """The class whose limit a request for `path` (within the site) counts against."""
    if path.startswith("/api/"):
        return LimitClass.API
    if path in SEARCH_PATHS:
        return LimitClass.SEARCH
    if path.startswith("/feeds/") or path.endswith(EXPORT_SUFFIXES):
        return LimitClass.EXPORTS
    if path.startswith("/static/"):
        return LimitClass.STATIC
    return LimitClass.PAGES


class RequestCounter(Protocol):
    """Counts requests per key; what a store of counts (memory today) must offer the middleware."""

    def wait(self, key: Hashable, now: float) -> float:
        """Seconds before `key` may make another request; 0 when it may now."""
        ...

    def count(self, key: Hashable, now: float) -> None:
        """Count one request of `key`."""
        ...


@dataclass(slots=True)
class _Window:
    start: float
    requests: int


class FixedWindowCounter:
    """Requests per key within a window of `window` seconds that opens with the key's first request."""

    def __init__(self, limit: int, *, window: float = WINDOW_SECONDS, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        # Ordered by the start of each key's window, oldest first, so that expired keys are found at the front.
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._windows)

    def wait(self, key: Hashable, now: float) -> float:
        """Seconds before `key` may make another request; 0 when it may now."""
        window = self._windows.get(key)
        if window is None or window.requests < self.limit or now - window.start >= self.window:
            return 0.0
        return window.start + self.window - now

    def count(self, key: Hashable, now: float) -> None:
        window = self._windows.get(key)
        if window is not None and now - window.start < self.window:
            window.requests += 1
            return
        self._windows[key] = _Window(now, 1)
        self._windows.move_to_end(key)
        self._evict(now)

    def _evict(self, now: float) -> None:
        windows = self._windows
        while windows:
            oldest = next(iter(windows.values()))
            if now - oldest.start < self.window and len(windows) <= self.max_keys:
                return
            windows.popitem(last=False)


class RateLimits:
    """429 for requests over their class's per-address limit, or (API) the per-token limit; a limit of 0 is none."""

    def __init__(self, app: ASGIApp, *, per_address: Mapping[LimitClass, int], per_token: int) -> None:
        self.app = app
        self.addresses: dict[LimitClass, RequestCounter] = {
            limited: FixedWindowCounter(limit) for limited, limit in per_address.items() if limit > 0
        }
        self.tokens: RequestCounter | None = FixedWindowCounter(per_token) if per_token > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = monotonic()
        limited = self._keys(scope)
        wait = max((counter.wait(key, now) for counter, key in limited), default=0.0)
        if wait > 0:
            await _refuse(scope, send, wait)
            return
        # Counted only once accepted: a refused request does not push its address's window further.
        for counter, key in limited:
            counter.count(key, now)
        await self.app(scope, receive, send)

    def _keys(self, scope: Scope) -> list[tuple[RequestCounter, Hashable]]:
        """The counters this request counts against, each with its key."""
        path_class = limit_class(site_path(scope))
        keys: list[tuple[RequestCounter, Hashable]] = []
        addresses = self.addresses.get(path_class)
        if addresses is not None:
            client = scope.get("client")
            keys.append((addresses, client[0] if client else ""))
        if path_class is LimitClass.API and self.tokens is not None:
            token = _bearer_token(scope)
            if token:
                keys.append((self.tokens, hashlib.sha256(token.encode()).digest()))
        return keys


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            # Parsed as the API's own bearer scheme parses it, so that the key is the token it authenticates.
            scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
            return token if scheme.lower() == "bearer" else None
    return None


async def _refuse(scope: Scope, send: Send, wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    await refuse(
        scope,
        send,
        HTTPStatus.TOO_MANY_REQUESTS,
        f"Too many requests. Try again in {seconds} second{'s' if seconds != 1 else ''}.",
        [(b"retry-after", str(seconds).encode())],
    )
