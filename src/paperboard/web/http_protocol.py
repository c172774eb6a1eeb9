"""The HTTP/1.1 protocol `paperboard serve` runs uvicorn with: uvicorn's own httptools protocol, plus the limits it
lacks for connections and requests' headers (uvicorn issue #157, "--timeout-request-start", never merged).

- Connections per address: uvicorn's `--limit-concurrency` counts every connection alike, so one client that opens
  as many as the limit turns everyone else away (503). Each client address may hold `limit` connections at once in
  a worker; further ones are closed as soon as they open. The reverse proxies' addresses (`forwarded_allow_ips`),
  through which every visitor comes, are not limited.

- A deadline: a client has `header_timeout` seconds, from connecting or from the end of its previous response, to
  send a request's headers whole; then the connection is closed, without an answer. uvicorn's keep-alive timeout
  starts again at every byte received, so a client sending one header byte at a time could hold a connection (and
  a place in `--limit-concurrency`) for ever; this deadline is not moved by anything the client sends.
- A size: the request line and headers together may not pass `max_header_bytes`; a request that does gets 431 and
  the connection is closed. llhttp, which httptools wraps, has no limit of its own, and uvicorn keeps every header
  in memory, so one request could otherwise fill a worker's memory with headers.

Bodies are limited by the app itself (`web.body_limits`), once the headers say which limit applies.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

_TOO_LARGE_TEXT = b"The request's headers are too large.\n"
_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"%s"
) % (len(_TOO_LARGE_TEXT), _TOO_LARGE_TEXT)


class _HeadersTooLarge(Exception):
    pass


class ConnectionsPerAddress:
    """Open connections per client address in one worker, up to `limit` each (0: no limit); the addresses of
    `trusted` (uvicorn's `--forwarded-allow-ips` syntax: addresses and networks separated by commas, or `*`) are
    not counted."""

    def __init__(self, limit: int, trusted: str) -> None:
        self.limit = limit
        entries = [entry.strip() for entry in trusted.split(",") if entry.strip()]
        self.trust_all = "*" in entries
        self.trusted = [ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*"]
        self._open: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        """Whether a new connection from `address` may stay open; if so it is counted until `release`."""
        if self.limit <= 0 or self._is_trusted(address):
            return True
        if self._open[address] >= self.limit:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        if address in self._open:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def _is_trusted(self, address: str) -> bool:
        if self.trust_all:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on connections per address, a deadline for each request's headers
    and a cap on their size."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float,
        max_header_bytes: int,
        connections: ConnectionsPerAddress,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._headers_too_large = False
        self.connections_per_address = connections
        self._counted_address: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else ""
        if not self.connections_per_address.admit(address):
            transport.close()
            return
        self._counted_address = address
        self._start_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        if self._counted_address is not None:
            self.connections_per_address.release(self._counted_address)
            self._counted_address = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # A pipelined request whose headers have already arrived is started by uvicorn now: nothing to wait for.
        waits_for_headers = not self.pipeline
        super().on_response_complete()
        if waits_for_headers and not self.transport.is_closing():
            self._start_header_deadline()

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers every error of the parser with 400, ours (raised from a callback) included.
        if self._headers_too_large:
            self.transport.write(_HEADERS_TOO_LARGE)
            self.transport.close()
        else:
            super().send_400_response(msg)

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            self._headers_too_large = True
            raise _HeadersTooLarge

    def _start_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_late)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_late(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
