"""`paperboard worker`: the background work of a site, run beside `paperboard serve`."""

from __future__ import annotations

import logging
import time
from typing import Annotated

import typer

from paperboard.cli.console import open_database, reported_failures, settings
from paperboard.progress import LoggingProgress
from paperboard.search.indexing import IndexingDuty, indexing_embedder


def worker(
    once: Annotated[
        bool, typer.Option(help="Do one round of work and exit, instead of running until stopped.")
    ] = False,
) -> None:
    """Embed new and changed papers for semantic search and keep the search index caught up, until stopped.
    Stopping it at any moment loses nothing: what was embedded is stored batch by batch."""
    with reported_failures():
        configuration = settings()
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        logger = logging.getLogger("paperboard.worker")
        database = open_database(configuration)
        indexing = IndexingDuty(database, configuration, indexing_embedder(configuration), LoggingProgress(logger))
        logger.info("worker started")
        while True:
            embedded = indexing.run_once()
            if once:
                return
            if embedded == 0:
                time.sleep(configuration.worker_poll_seconds)


def register(app: typer.Typer) -> None:
    app.command()(worker)
