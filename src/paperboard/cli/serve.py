"""`paperboard serve`: run the web app under uvicorn, with the connection limits of the settings."""

from __future__ import annotations

import contextlib
import errno
import socket
from functools import partial
from typing import Annotated

import typer

from paperboard.cli.console import Failure, open_database, out, reported_failures, settings

# uvicorn's exit status for a server that never started (its STARTUP_FAILURE).
STARTUP_FAILURE = 3


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound and listening on host:port, or a Failure saying why not (a busy port above all)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a port left in TIME_WAIT by the previous run can be taken again at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise Failure(
                f"port {port} on {host} is already in use (by another Paperboard?): stop that one, or choose "
                "another port with --port (PORT=… for ./dev up)"
            ) from None
        raise Failure(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    proxy_headers: Annotated[
        bool | None,
        typer.Option(
            "--proxy-headers/--no-proxy-headers",
            help="Believe X-Forwarded-For and X-Forwarded-Proto from the proxies of PAPERBOARD_FORWARDED_ALLOW_IPS "
            "(default: PAPERBOARD_PROXY_HEADERS, on).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the site and its API."""
    with reported_failures():
        configured = settings()
        if proxy_headers is None:
            proxy_headers = configured.proxy_headers
        # Without proxy headers no peer is a proxy: each connection counts against its own address.
        trusted = configured.forwarded_allow_ips if proxy_headers else ""
        # Fail here, with a message, rather than in every worker at its first request.
        open_database(configured).dispose()
        # Bound before the address is announced, so that a busy port is the one message rather than one too late.
        sock = listening_socket(host, port)
        shown_host = f"[{host}]" if ":" in host else host
        out.print(f"Paperboard on http://{shown_host}:{port}/", highlight=False)
    # Imported here: every other command would pay for loading the server at start-up.
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from paperboard.web.http_protocol import ConnectionsPerAddress, GuardedHttpToolsProtocol

    config = uvicorn.Config(
        "paperboard.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # A partial, not a class: uvicorn builds one per connection, and pickles it for each worker process, which
        # so gets its own count of connections per address.
        http=partial(  # type: ignore[arg-type]
            GuardedHttpToolsProtocol,
            header_timeout=configured.header_timeout_seconds,
            max_header_bytes=configured.max_header_bytes,
            connections=ConnectionsPerAddress(configured.max_connections_per_address, trusted=trusted),
        ),
        limit_concurrency=configured.max_connections,
        timeout_keep_alive=configured.keep_alive_seconds,  # type: ignore[arg-type]
        # The client address every rate limit and sign-in limit counts (scope["client"]) is the one uvicorn's
        # ProxyHeadersMiddleware takes from X-Forwarded-For, which it believes only from these peers.
        proxy_headers=proxy_headers,
        forwarded_allow_ips=trusted,
    )
    # What uvicorn.run does, with the socket already bound here.
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
        return
    server = uvicorn.Server(config)
    # Once shut down, uvicorn raises again the Ctrl-C it caught: the shutdown was the answer to it.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    if not server.started:
        raise typer.Exit(STARTUP_FAILURE)


def register(app: typer.Typer) -> None:
    app.command()(serve)
