"""`paperboard serve`: run the web app under uvicorn."""

from __future__ import annotations

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
        # Fail here, with a message, rather than in every worker at its first request.
        open_database(settings()).dispose()
        out.print(f"Paperboard on http://{host}:{port}/", highlight=False)
    # Imported here: every other command would pay for loading the server at start-up.
    import uvicorn

    uvicorn.run("paperboard.web.app:create_app", factory=True, host=host, port=port, workers=workers)


def register(app: typer.Typer) -> None:
    app.command()(serve)
