"""`paperboard thumbnails queue`: queue the first-page thumbnails of papers listed before thumbnails were made (an
imported archive, an older site), or all of them again; the worker makes them."""

from __future__ import annotations

from typing import Annotated

import typer

from paperboard.cli.console import open_database, out, reported_failures, settings
from paperboard.thumbnails.jobs import PER_ROUND
from paperboard.thumbnails.queue import queue_listed

thumbnails_app = typer.Typer(help="First-page thumbnails of listed papers, made by the worker from arXiv's PDFs.")


@thumbnails_app.command("queue")
def queue_command(
    rebuild: Annotated[
        bool, typer.Option(help="Queue the papers that have a thumbnail too, to make every one again.")
    ] = False,
) -> None:
    """Queue for the worker every listed paper that has no thumbnail and is not queued yet (one refused before is
    tried again). The worker downloads one PDF at a time, at arXiv's pace (PAPERBOARD_ARXIV_API_DELAY), a few
    each round between its other duties. Running it again queues nothing new."""
    with reported_failures():
        database = open_database(settings())
        with database.session() as session:
            queued = queue_listed(session, rebuild=rebuild)
        out.print(
            f"{queued:,} thumbnail{'' if queued == 1 else 's'} queued for the worker (`paperboard worker`), up to "
            f"{PER_ROUND} a round",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(thumbnails_app, name="thumbnails")
