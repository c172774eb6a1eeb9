"""The limits of `paperboard serve` on a live server: huge bodies refused at once without growing its memory, clients
slow to send their headers cut off, oversized headers refused, connections beyond the limit turned away, and one
address held to its share of them."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tests.conftest import Cli, LiveServer, cli_environment, serving

MIB = 1024 * 1024
HEADER_TIMEOUT = 1.0


MAX_CONNECTIONS = 4
MAX_CONNECTIONS_PER_ADDRESS = 2
MAX_HEADER_BYTES = 4096
# Loopback addresses to connect from: each is another client to the server.
CLIENTS = ("127.0.0.2", "127.0.0.3")


def serve(data_dir: Path, **settings: str) -> AbstractContextManager[LiveServer]:
    return serving(Cli(cli_environment(data_dir, **settings)), data_dir)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A site served with small connection limits, shared by the tests of this module that need them (a server
    takes seconds to start)."""
    with serve(
        tmp_path_factory.mktemp("guarded") / "data",
        header_timeout_seconds=str(HEADER_TIMEOUT),
        max_header_bytes=str(MAX_HEADER_BYTES),
        max_connections=str(MAX_CONNECTIONS),
        max_connections_per_address=str(MAX_CONNECTIONS_PER_ADDRESS),
        # No proxy here: 127.0.0.1, trusted by default, would not be limited per address.
        forwarded_allow_ips="192.0.2.1",
    ) as server:
        yield server


def resident_mib(server: LiveServer) -> float:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kib / 1024


def fifty_mib_in_chunks() -> Iterator[bytes]:
    chunk = b"x" * MIB
    for _ in range(50):
        yield chunk


def connect(server: LiveServer, source: str = "127.0.0.1") -> socket.socket:
    url = httpx.URL(server.base_url)
    return socket.create_connection((url.host, url.port), timeout=10, source_address=(source, 0))


def get_from(source: str, url: str) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source)) as client:
        return client.get(url)


def seconds_until_closed(connection: socket.socket, *, trickle: bytes = b"", limit: float = 10.0) -> float:
    """Seconds until the server closes the connection, sending `trickle` every 0.2 s meanwhile."""
    start = time.monotonic()
    connection.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            if connection.recv(4096) == b"":
                return time.monotonic() - start
        except TimeoutError:
            if trickle:
                try:
                    connection.sendall(trickle)
                except OSError:
                    return time.monotonic() - start
        except ConnectionResetError:
            return time.monotonic() - start
    raise AssertionError(f"the connection was still open after {limit} s")


def test_a_50_mib_body_is_refused_at_once_on_any_path_without_growing_memory(live_server):
    server = live_server
    requests = [
        # An API write without a token: the body used to be read and parsed before the 401.
        ("POST", "/api/papers/index", "application/json", 50 * MIB * b"x"),
        ("POST", "/api/papers/index", "application/json", fifty_mib_in_chunks()),
        # The footer form, open to anyone: multipart bodies used to be spooled to disk whatever their size.
        ("POST", "/subscribe/start", "multipart/form-data; boundary=x", 50 * MIB * b"x"),
        ("POST", "/subscribe/start", "multipart/form-data; boundary=x", fifty_mib_in_chunks()),
        ("GET", "/", "application/octet-stream", fifty_mib_in_chunks()),
        ("PUT", "/no/such/page", "application/octet-stream", 50 * MIB * b"x"),
    ]
    before = resident_mib(server)
    for method, path, content_type, body in requests:
        start = time.monotonic()
        response = httpx.request(
            method, server.url(path), content=body, headers={"Content-Type": content_type}, timeout=10
        )
        elapsed = time.monotonic() - start
        assert response.status_code == 413, (method, path)
        assert elapsed < 1.0, (method, path, elapsed)
    growth = resident_mib(server) - before
    assert growth < 20, f"the server grew by {growth:.1f} MiB"
    print(f"server RSS {before:.1f} MiB before, grew by {growth:.1f} MiB after {len(requests)} bodies of 50 MiB")
    assert httpx.get(server.url("/")).status_code == 200


def test_clients_slow_to_send_their_headers_are_disconnected(guarded):
    server = guarded
    with connect(server) as silent:
        assert HEADER_TIMEOUT - 0.1 < seconds_until_closed(silent) < HEADER_TIMEOUT + 1
    with connect(server) as trickling:
        # Every byte would restart uvicorn's keep-alive timer; the deadline does not move.
        trickling.sendall(b"GET / HTTP/1.1\r\nHost: paperboard\r\n")
        assert HEADER_TIMEOUT - 0.1 < seconds_until_closed(trickling, trickle=b"X-Slow: 1\r\n") < HEADER_TIMEOUT + 1
    with connect(server) as reused:
        # After a response, the next request's headers have the same time to arrive.
        reused.sendall(b"GET /livez HTTP/1.1\r\nHost: paperboard\r\n\r\n")
        assert reused.recv(4096).startswith(b"HTTP/1.1 200 OK")
        reused.sendall(b"GET /livez HTTP/1.1\r\n")
        assert seconds_until_closed(reused, trickle=b"X-Slow: 1\r\n") < HEADER_TIMEOUT + 1
    # A request sent in good time is answered, however slow the page.
    assert httpx.get(server.url("/livez")).status_code == 200


def test_headers_over_the_limit_get_431(guarded):
    response = httpx.get(guarded.url("/livez"), headers={"X-Padding": "x" * MAX_HEADER_BYTES})
    assert response.status_code == 431
    assert response.text == "The request's headers are too large.\n"
    assert httpx.get(guarded.url("/livez"), headers={"X-Padding": "x" * 3000}).status_code == 200


def test_connections_beyond_the_limit_are_turned_away_until_idle_ones_are_cut(guarded):
    idle = [connect(guarded, source) for source in CLIENTS for _ in range(MAX_CONNECTIONS_PER_ADDRESS)]
    try:
        time.sleep(0.2)
        assert httpx.get(guarded.url("/livez")).status_code == 503
        time.sleep(HEADER_TIMEOUT + 0.5)
        assert httpx.get(guarded.url("/livez")).status_code == 200
    finally:
        for connection in idle:
            connection.close()


def test_one_address_cannot_take_every_connection(guarded):
    idle = [connect(guarded, CLIENTS[0]) for _ in range(MAX_CONNECTIONS_PER_ADDRESS)]
    try:
        time.sleep(0.2)
        with pytest.raises(httpx.TransportError):
            get_from(CLIENTS[0], guarded.url("/livez"))
        # Another address still gets in.
        assert get_from(CLIENTS[1], guarded.url("/livez")).status_code == 200
        idle.pop().close()
        time.sleep(0.2)
        assert get_from(CLIENTS[0], guarded.url("/livez")).status_code == 200
    finally:
        for connection in idle:
            connection.close()
