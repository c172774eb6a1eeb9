"""How long jobs report progress. The CLI shows it with Rich; the worker writes it to the log."""

from __future__ import annotations

import logging
import time
from typing import Protocol


class Progress(Protocol):
    """`completed` of `total` drives the bar and the ETA; `items` counts `unit` (papers, mails …), for the rate."""

    def start(self, description: str, total: int | None = None, *, unit: str = "papers") -> None: ...

    def update(self, *, completed: int | None = None, items: int | None = None, total: int | None = None) -> None: ...

    def finish(self) -> None: ...


class SilentProgress:
    def start(self, description: str, total: int | None = None, *, unit: str = "papers") -> None:
        pass

    def update(self, *, completed: int | None = None, items: int | None = None, total: int | None = None) -> None:
        pass

    def finish(self) -> None:
        pass


class LoggingProgress:
    """Logs a line at most every `interval` seconds, and one at the end."""

    def __init__(self, logger: logging.Logger, interval: float = 30.0) -> None:
        self._logger = logger
        self._interval = interval
        self._description = ""
        self._unit = "papers"
        self._items = 0
        self._started = self._last = 0.0

    def start(self, description: str, total: int | None = None, *, unit: str = "papers") -> None:
        self._description = description
        self._unit = unit
        self._items = 0
        self._started = self._last = time.monotonic()
        self._logger.info("%s: started", description)

    def update(self, *, completed: int | None = None, items: int | None = None, total: int | None = None) -> None:
        if items is not None:
            self._items = items
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._log("running")

    def finish(self) -> None:
        self._log("finished")

    def _log(self, state: str) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._logger.info(
            "%s: %s, %d %s in %.0f s (%.0f/s)",
            self._description,
            state,
            self._items,
            self._unit,
            elapsed,
            self._items / elapsed,
        )
