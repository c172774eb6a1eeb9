"""`paperboard index`: embed the papers that need it and build the index the site searches."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from paperboard.cli.console import err, open_database, out, progress_reporter, reported_failures, settings
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.search.embeddings import embed_pending, embedding_counts, model_key
from paperboard.search.indexing import build_index, index_is_behind, indexing_embedder


def index(
    limit: Annotated[
        int | None, typer.Option(help="Embed at most this many papers in this run (the rest wait for the next).", min=0)
    ] = None,
    embed: Annotated[
        bool, typer.Option(help="Embed papers first; --no-embed only rebuilds the index from stored vectors.")
    ] = True,
    full: Annotated[bool, typer.Option(help="Analyse every paper again instead of only those changed.")] = False,
) -> None:
    """Embed the papers without an up-to-date vector, then build the search index. A run that is stopped keeps what
    it embedded; the next one carries on."""
    with reported_failures():
        configuration = settings()
        database = open_database(configuration)
        embedder = indexing_embedder(configuration)
        if embed:
            started = time.monotonic()
            with embedder:
                embedded = embed_pending(database, embedder, progress_reporter(), limit=limit)
            elapsed = time.monotonic() - started
            rate = f" ({embedded / elapsed:.1f}/s)" if embedded and elapsed > 0 else ""
            err.print(f"Embedded {embedded:,} papers in {elapsed:.0f} s{rate}", highlight=False)
        manifest = build_index(database, configuration, embedder, progress_reporter(), full=full)
        with database.read_session() as session:
            counts = embedding_counts(session, model_key(embedder))
        out.print(
            f"Search index: {manifest.papers:,} papers, {manifest.vectors:,} with vectors "
            f"({counts.embedded:,} of {counts.papers:,} embedded), built in {manifest.build_seconds:.1f} s",
            highlight=False,
        )


def update_search_index(configuration: Settings, database: Database, *, full: bool = False) -> None:
    """After papers were stored: bring the keyword index up to date (vectors follow with `index` or the worker);
    `full` analyses every paper again.

    A build reads every paper (seconds on a large catalogue), so an import or harvest that changed nothing since
    the last one skips it, unless `full` asks for it."""
    embedder = indexing_embedder(configuration)
    if not full and not index_is_behind(database, configuration, embedder):
        err.print("Search index: up to date, nothing changed since it was built", highlight=False)
        return
    manifest = build_index(database, configuration, embedder, progress_reporter(), full=full)
    err.print(
        f"Search index: {manifest.papers:,} papers, {manifest.vectors:,} with vectors, built in "
        f"{manifest.build_seconds:.1f} s",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(index)
