"""An HTTP server on a loopback port, in a thread of the test's process, for the stand-ins of outside services
(tests/arxiv_server.py, tests/github_server.py): it starts and stops with a `with` block and answers each GET
with the `Reply` its `reply_to` gives."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"
    # Seconds to wait before answering, to let a client time out or a test kill it mid-request.
    delay: float = 0.0
    # Close the connection without answering at all.
    drop: bool = False


class LocalServer:
    """Subclasses say what a GET gets (`reply_to`); this serves it at `base_url` while the `with` block lasts."""

    def __init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def reply_to(self, target: str, headers: Message) -> Reply:
        """The answer to a GET of `target` (path and query, as sent) with these request headers."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                reply = server.reply_to(self.path, self.headers)
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
