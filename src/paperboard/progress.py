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
    """Logs a line at most every `interval` seconds, and one at the end; with a total, the share done and an
    estimate of the time left, at the rate so far."""

    def __init__(self, logger: logging.Logger, interval: float = 30.0) -> None:
        self._logger = logger
        self._interval = interval
        self._description = ""
        self._unit = "papers"
        self._items = 0
        self._completed = 0
        self._total: int | None = None
        self._started = self._last = 0.0

    def start(self, description: str, total: int | None = None, *, unit: str = "papers") -> None:
        self._description = description
        self._unit = unit
        self._items = self._completed = 0
        self._total = total
        self._started = self._last = time.monotonic()
        self._logger.info("%s: started", description)

    def update(self, *, completed: int | None = None, items: int | None = None, total: int | None = None) -> None:
        if items is not None:
            self._items = items
        if completed is not None:
            self._completed = completed
        if total is not None:
            self._total = total
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._log("running")

    def finish(self) -> None:
        self._log("finished")

    def _log(self, state: str) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self._items / elapsed
        line = f"{self._description}: {state}, {self._items:,} {self._unit} in {elapsed:.0f} s ({rate:.0f}/s)"
        if state == "running" and self._total and 0 < self._completed < self._total:
            left = elapsed * (self._total - self._completed) / self._completed
            # The total is in units of its own (bytes of a file…) unless progress is counted in items.
            of_total = f" of {self._total:,}" if self._completed == self._items else ""
            line += f"; {self._completed / self._total:.1%}{of_total} done, about {duration(left)} left"
        self._logger.info("%s", line)


def duration(seconds: float) -> str:
    """A time to wait, as people say it: `40 s`, `12 min`, `1 h 05 min`."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
