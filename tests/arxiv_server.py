"""A local stand-in for arXiv's HTTP services, answering with responses each test scripts (served by
tests/local_server.py).

Routes match a path and a subset of query parameters; each route plays its responses in order and
repeats the last one. Every request is logged, so tests can check what was (and was not) fetched.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from tests import local_server

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Reply(local_server.Reply):
    content_type: str = "text/xml; charset=utf-8"

    @classmethod
    def fixture(cls, name: str, **kwargs: object) -> Reply:
        return cls(body=(FIXTURES / name).read_bytes(), **kwargs)  # type: ignore[arg-type]


@dataclass
class Route:
    path: str
    query: dict[str, str]
    replies: list[Reply]
    served: int = 0

    def matches(self, path: str, query: dict[str, str]) -> bool:
        return path == self.path and all(query.get(key) == value for key, value in self.query.items())

    def next_reply(self) -> Reply:
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


@dataclass(frozen=True)
class LoggedRequest:
    path: str
    query: dict[str, str]
    at: float


class ArxivServer(local_server.LocalServer):
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        super().__init__()

    def add(self, path: str, *replies: Reply, **query: str) -> Route:
        """Answer GETs of `path` whose query includes `query` with `replies`, in order (the last repeats)."""
        route = Route(path, query, list(replies))
        with self._lock:
            # Newer routes win, so a test can override a general route with a specific one.
            self.routes.insert(0, route)
        return route

    def requests_for(self, **query: str) -> list[LoggedRequest]:
        return [r for r in self.requests if all(r.query.get(key) == value for key, value in query.items())]

    def reply_to(self, target: str, headers: Message) -> local_server.Reply:
        parts = urlsplit(target)
        path, query = parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self.requests.append(LoggedRequest(path, query, time.monotonic()))
            for route in self.routes:
                if route.matches(path, query):
                    return route.next_reply()
        return Reply(404, b"no scripted reply for this request", content_type="text/plain")
