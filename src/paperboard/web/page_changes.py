"""The one list of what to empty when something pages show has changed: the caches of each server process.

A cache registers its emptying here when it is made; everything that learns of a change calls `changed`: a write
request in this process (`web.middleware`), and on PostgreSQL an announcement from any process of any host
(`db.changes.ChangeListener`). Callbacks run on the process's event loop and must be quick."""

from __future__ import annotations

from collections.abc import Callable


class PageChanges:
    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def register(self, empty: Callable[[], None]) -> None:
        self._callbacks.append(empty)

    def changed(self) -> None:
        for empty in self._callbacks:
            empty()
