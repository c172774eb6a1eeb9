"""`paperboard serve`: run the web app under uvicorn, with the connection limits of the settings."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from paperboard.cli.console import open_database, out, reported_failures, settings


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Serve the site and its API."""
    with reported_failures():
        configured = settings()
        # Fail here, with a message, rather than in every worker at its first request.
        open_database(configured).dispose()
        out.print(f"Paperboard on http://{host}:{port}/", highlight=False)
    # Imported here: every other command would pay for loading the server at start-up.
    import uvicorn

    from paperboard.web.http_protocol import ConnectionsPerAddress, GuardedHttpToolsProtocol

    uvicorn.run(
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
            connections=ConnectionsPerAddress(
                configured.max_connections_per_address, trusted=configured.forwarded_allow_ips
            ),
        ),
        limit_concurrency=configured.max_connections,
        timeout_keep_alive=configured.keep_alive_seconds,  # type: ignore[arg-type]
        proxy_headers=True,
        forwarded_allow_ips=configured.forwarded_allow_ips,
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
