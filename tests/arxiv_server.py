"""A local stand-in for arXiv's HTTP services, answering with responses each test scripts.

Routes match a path and a subset of query parameters; each route plays its responses in order and
repeats the last one. Every request is logged, so tests can check what was (and was not) fetched.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/xml; charset=utf-8"
    # Seconds to wait before answering, to let a client time out or a test kill it mid-request.
    delay: float = 0.0
    # Close the connection without answering at all.
    drop: bool = False

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


class ArxivServer:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, *replies: Reply, **query: str) -> Route:
        """Answer GETs of `path` whose query includes `query` with `replies`, in order (the last repeats)."""
        route = Route(path, query, list(replies))
        with self._lock:
            # Newer routes win, so a test can override a general route with a specific one.
            self.routes.insert(0, route)
        return route

    def requests_for(self, **query: str) -> list[LoggedRequest]:
        return [r for r in self.requests if all(r.query.get(key) == value for key, value in query.items())]

    def __enter__(self) -> ArxivServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _reply_for(self, path: str, query: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(LoggedRequest(path, query, time.monotonic()))
            for route in self.routes:
                if route.matches(path, query):
                    return route.next_reply()
        return Reply(404, b"no scripted reply for this request", content_type="text/plain")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                reply = server._reply_for(parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)))
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client timed out or was killed while the reply was delayed: that is the test's point.
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
