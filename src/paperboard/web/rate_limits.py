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
`RequestCounter` interface, in one of two stores (`PAPERBOARD_RATE_LIMIT_STORE`):

- `SharedWindowCounter` counts in the database (`db.rate_windows`, in a worker thread), so that every process of
  every host counts against the same limit: the default on PostgreSQL, where several hosts may serve one site. A
  process takes a twentieth of a limit at a time and answers that many requests from memory, so a steady client
  costs one statement per share, not per request. A refusal the database gave is remembered in the process until
  its window ends, so a flood from one address costs the database a few statements per share of its limit per
  window, and then none;
- `FixedWindowCounter` keeps them in the memory of each worker process, at no cost to the database: with N workers a
  client may get up to N times the limit. Keys whose window is over are dropped as new windows open, and at most
  `max_keys` are kept per counter. The default on SQLite, whose single machine runs few workers and whose one
  writer at a time would queue every request behind the others' writes.

A plain ASGI middleware, like those of `web.middleware`: it sits in front of every request, and the API must answer a
thousand of them a second.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from http import HTTPStatus
from time import monotonic
from typing import Any, Protocol

from anyio import to_thread
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from paperboard.clock import utcnow
from paperboard.community.login_limits import MAX_ADDRESS_LENGTH
from paperboard.db import Database, rate_windows
from paperboard.web.api.errors import ErrorBody
from paperboard.web.refusals import refuse, site_path

logger = logging.getLogger(__name__)

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
    """Counts requests per key; what a store of counts must offer the middleware. `now` is `time.monotonic()`."""

    def wait(self, key: str, now: float) -> float:
        """Seconds before `key` may make another request as far as this process knows, without asking anyone; 0
        when it may now, or when only `take` can tell."""
        ...

    def spend_held(self, key: str, now: float) -> bool:
        """Count one request of `key` from what this process holds, without asking anyone: False when only `take`
        can count it."""
        ...

    def take(self, key: str, now: float) -> float:
        """Count one request of `key` and return 0; or, over the limit, count nothing and return the seconds before
        it may make another."""
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
        self._windows: OrderedDict[str, _Window] = OrderedDict()

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._windows)

    def wait(self, key: str, now: float) -> float:
        window = self._windows.get(key)
        if window is None or window.requests < self.limit or now - window.start >= self.window:
            return 0.0
        return window.start + self.window - now

    def spend_held(self, key: str, now: float) -> bool:
        # Every count is held here.
        return self.take(key, now) == 0

    def take(self, key: str, now: float) -> float:
        wait = self.wait(key, now)
        if wait == 0:
            self.count(key, now)
        return wait

    def count(self, key: str, now: float) -> None:
        """Count one request of `key`, whatever its limit."""
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


@dataclass(slots=True)
class _Share:
    left: int
    until: float


# A process takes this part of a limit from the database at a time (at least one request).
SHARE_OF_LIMIT = 20
# Locks that order the trips to the database of the keys hashed to each.
TAKING_STRIPES = 64


class SharedWindowCounter:
    """Requests per key within a fixed window of `window` seconds, counted in the database under `name`, so that
    the processes of every host that shares it count against one limit.

    The window is the database's (`db.rate_windows`, by the wall clock: the hosts' clocks must agree, as NTP keeps
    them). A process takes a share of the limit at a time (a twentieth, at least 1: `share`) and answers that many
    requests of the key from memory before it asks again, so a steady client costs the database one statement per
    share rather than per request. Shares are counted in the database when taken, so the processes together never
    let more than the limit through; a share a process still holds when the window ends is lost, so a client that
    spreads its requests over P processes may get up to P × (share - 1) fewer (none fewer with a limit under 40).
    When the places left are fewer than a share, they are taken one by one.

    A refusal is remembered here until its window ends, so that the keys over their limit, a flood above all, cost
    the database nothing more. Shares and refusals: at most `max_keys` of each. When the database cannot be reached,
    requests are let through: a site whose database is down has nothing to protect, and its static files and
    `/livez` should still answer."""

    def __init__(
        self, database: Database, name: str, limit: int, *, window: float = WINDOW_SECONDS, max_keys: int = 100_000
    ) -> None:
        self.database = database
        self.name = name
        self.limit = limit
        self.share = max(1, limit // SHARE_OF_LIMIT)
        self.window = window
        self.max_keys = max_keys
        # When each refused key may try again (monotonic), in the order the refusals came, so the earliest first.
        self._refused: OrderedDict[str, float] = OrderedDict()
        # What is left of each key's share, in the order the shares were taken, so the oldest first.
        self._shares: OrderedDict[str, _Share] = OrderedDict()
        # `take` runs in worker threads, beside each other and beside `wait` on the event loop.
        self._lock = threading.Lock()
        # One trip to the database at a time per key (striped: keys share these), so that a burst of one client's
        # requests waits for the share the first of them takes instead of each taking one, which would spend the
        # whole limit on a few requests.
        self._taking = tuple(threading.Lock() for _ in range(TAKING_STRIPES))

    def wait(self, key: str, now: float) -> float:
        until = self._refused.get(key)
        if until is None:
            return 0.0
        if until > now:
            return until - now
        with self._lock:
            self._refused.pop(key, None)
        return 0.0

    def spend_held(self, key: str, now: float) -> bool:
        with self._lock:
            share = self._shares.get(key)
            if share is None or share.left == 0 or share.until <= now:
                return False
            share.left -= 1
            return True

    def take(self, key: str, now: float) -> float:
        with self._taking[hash(key) % TAKING_STRIPES]:
            if self.spend_held(key, now):
                return 0.0
            # Another request of the key may have been refused while this one waited.
            wait = self.wait(key, now)
            return wait if wait > 0 else self._take_share(key, now)

    def _take_share(self, key: str, now: float) -> float:
        try:
            with self.database.counting_connection() as connection:
                taken = rate_windows.take_up_to(
                    connection,
                    f"requests:{self.name}:{key}",
                    limit=self.limit,
                    window=timedelta(seconds=self.window),
                    now=utcnow(),
                    events=self.share,
                )
        except SQLAlchemyError as error:
            logger.warning("rate limit %s not counted, the request is let through: %s", self.name, error)
            return 0.0
        if taken.events == 0:
            self._remember(key, now + taken.seconds_left, now)
            return taken.seconds_left
        if taken.events > 1:
            self._hold(key, _Share(taken.events - 1, now + taken.seconds_left), now)
        return 0.0

    def _hold(self, key: str, share: _Share, now: float) -> None:
        with self._lock:
            shares = self._shares
            shares[key] = share
            shares.move_to_end(key)
            while shares and (len(shares) > self.max_keys or next(iter(shares.values())).until <= now):
                shares.popitem(last=False)

    def _remember(self, key: str, until: float, now: float) -> None:
        with self._lock:
            refused = self._refused
            refused[key] = until
            refused.move_to_end(key)
            while refused and (len(refused) > self.max_keys or next(iter(refused.values())) <= now):
                refused.popitem(last=False)


class RateLimits:
    """429 for requests over their class's per-address limit, or (API) the per-token limit; a limit of 0 is none.
    With a `database`, the counts are kept in it (`SharedWindowCounter`), otherwise in this process's memory."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_address: Mapping[LimitClass, int],
        per_token: int,
        database: Database | None = None,
    ) -> None:
        self.app = app
        self.shared = database is not None

        def counter(name: str, limit: int) -> RequestCounter:
            if database is None:
                return FixedWindowCounter(limit)
            return SharedWindowCounter(database, name, limit)

        self.addresses: dict[LimitClass, RequestCounter] = {
            limited: counter(limited.value, limit) for limited, limit in per_address.items() if limit > 0
        }
        self.tokens: RequestCounter | None = counter("token", per_token) if per_token > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = monotonic()
        limited = self._keys(scope)
        # What this process knows already is answered without a trip to the database.
        wait = max((counter.wait(key, now) for counter, key in limited), default=0.0)
        if wait == 0 and limited:
            unheld = [(counter, key) for counter, key in limited if not counter.spend_held(key, now)]
            if unheld:
                wait = await to_thread.run_sync(_take, unheld, now) if self.shared else _take(unheld, now)
        if wait > 0:
            await _refuse(scope, send, wait)
            return
        await self.app(scope, receive, send)

    def _keys(self, scope: Scope) -> list[tuple[RequestCounter, str]]:
        """The counters this request counts against, each with its key."""
        path_class = limit_class(site_path(scope))
        keys: list[tuple[RequestCounter, str]] = []
        addresses = self.addresses.get(path_class)
        if addresses is not None:
            client = scope.get("client")
            keys.append((addresses, client[0][:MAX_ADDRESS_LENGTH] if client else ""))
        if path_class is LimitClass.API and self.tokens is not None:
            token = _bearer_token(scope)
            if token:
                keys.append((self.tokens, hashlib.sha256(token.encode()).hexdigest()))
        return keys


def _take(limited: list[tuple[RequestCounter, str]], now: float) -> float:
    """Count the request against each of its counters, up to the first that refuses it: then the seconds to wait.
    In memory, the earlier `wait` already found every count under its limit, so a refused request counts nowhere."""
    for counter, key in limited:
        wait = counter.take(key, now)
        if wait > 0:
            return wait
    return 0.0


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
