"""Pages kept in one process's memory for a few seconds: what the visitors' page cache (`web.middleware`) and the
signed-in readers' shared pages (`web.reader_pages`) both keep their pages in.

At most `max_bytes` (each page says its own `size`), least recently used evicted first; each page for `ttl` seconds,
and an expired one still served while one request makes its successor, so that a burst of requests for a busy page
that just expired does not make it many times over. `clear` empties them and counts an emptying: a page whose
making began before the last emptying (`emptied` then) is not kept, since it may hold what just changed."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar


class SizedPage(Protocol):
    @property
    def size(self) -> int: ...


K = TypeVar("K", bound=Hashable)
P = TypeVar("P", bound=SizedPage)


class KeptPages(Generic[K, P]):
    def __init__(self, *, ttl: float, max_bytes: int) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        # Each page with the monotonic time it expires at.
        self._pages: OrderedDict[K, tuple[P, float]] = OrderedDict()
        self._kept_bytes = 0
        self._refilling: set[K] = set()
        self.emptied = 0

    def get(self, key: K) -> P | None:
        """The page kept under `key`, unless it expired and nobody is making its successor."""
        kept = self._pages.get(key)
        if kept is None or (kept[1] <= time.monotonic() and key not in self._refilling):
            return None
        self._pages.move_to_end(key)
        return kept[0]

    def refilling(self, key: K) -> Callable[[], None]:
        """Say that a request makes the page of `key`; call what is returned when it is done."""
        self._refilling.add(key)
        return lambda: self._refilling.discard(key)

    def keep(self, key: K, page: P, emptied: int) -> None:
        """Keep `page` for `ttl` seconds, unless the pages were emptied since `emptied` or it alone passes the
        bound."""
        if emptied != self.emptied or page.size > self.max_bytes:
            return
        self._drop(key)
        self._pages[key] = (page, time.monotonic() + self.ttl)
        self._kept_bytes += page.size
        while self._kept_bytes > self.max_bytes:
            self._drop(next(iter(self._pages)))

    def _drop(self, key: K) -> None:
        kept = self._pages.pop(key, None)
        if kept is not None:
            self._kept_bytes -= kept[0].size

    def clear(self) -> None:
        self._pages.clear()
        self._kept_bytes = 0
        self.emptied += 1
