"""Rate limits of the JSON API: requests per minute per client address, and per API token.

Every request under /api/ counts against its address, and one that carries a bearer token counts against that token
too (its SHA-256, so that no token is kept in memory): made-up tokens therefore cannot buy an address more requests,
and one token used from many machines is held to its own limit. A request over either limit gets 429 with
`Retry-After` and never reaches the app.

Each key has a fixed window of a minute that starts with its first request. The counts live in the memory of each
worker process, at no cost to the database: with N workers a client may get up to N times the limit. Keys whose
window is over are dropped as new windows open, and at most `max_keys` are kept per limit.

A plain ASGI middleware, like those of `web.middleware`: it sits in front of every API request, and the API must
answer a thousand of them a second.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from time import monotonic
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import ASGIApp, Receive, Scope, Send

from paperboard.web.api.errors import ErrorBody

WINDOW_SECONDS = 60.0
API_PREFIX = "/api/"

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


class ApiRateLimits:
    """429 for API requests over the per-address or the per-token limit; a limit of 0 is no limit."""

    def __init__(self, app: ASGIApp, *, per_address: int, per_token: int) -> None:
        self.app = app
        self.addresses = FixedWindowCounter(per_address) if per_address > 0 else None
        self.tokens = FixedWindowCounter(per_token) if per_token > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].removeprefix(scope.get("root_path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        now = monotonic()
        limited: list[tuple[FixedWindowCounter, Hashable]] = []
        if self.addresses is not None:
            client = scope.get("client")
            limited.append((self.addresses, client[0] if client else ""))
        if self.tokens is not None:
            token = _bearer_token(scope)
            if token:
                limited.append((self.tokens, hashlib.sha256(token.encode()).digest()))
        wait = max((counter.wait(key, now) for counter, key in limited), default=0.0)
        if wait > 0:
            await _refuse(send, wait)
            return
        for counter, key in limited:
            counter.count(key, now)
        await self.app(scope, receive, send)


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            # Parsed as the API's own bearer scheme parses it, so that the key is the token it authenticates.
            scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
            return token if scheme.lower() == "bearer" else None
    return None


async def _refuse(send: Send, wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    body = json.dumps(
        {"error": f"Too many requests. Try again in {seconds} second{'s' if seconds != 1 else ''}."}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(seconds).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
