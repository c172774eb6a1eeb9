"""Keeping the search index caught up with the catalogue: for `paperboard index`, imports and the worker."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select

from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Paper, PaperEmbedding
from paperboard.progress import Progress, SilentProgress
from paperboard.search.embedder import Embedder, bulk_processes
from paperboard.search.embeddings import embed_pending, embedding_counts, model_key
from paperboard.search.index_store import IndexManifest, IndexStore

logger = logging.getLogger(__name__)

# Papers the worker embeds between two looks at the index, so that a build is never far behind.
WORKER_EMBED_BATCH = 1024


def indexing_embedder(settings: Settings) -> Embedder:
    """The embedder for bulk work, with the processes the settings allow; they start when papers are embedded."""
    return Embedder(threads=1, processes=settings.embedding_processes or bulk_processes())


def build_index(
    database: Database, settings: Settings, embedder: Embedder, progress: Progress | None = None, *, full: bool = False
) -> IndexManifest:
    """Write a new index generation from the papers and the vectors stored so far."""
    store = IndexStore(settings.search_index_dir)
    return store.build(
        database,
        model_key(embedder),
        embedder.dimensions,
        progress,
        full=full,
        exact_max=settings.search_exact_max_vectors,
    )


def index_is_behind(database: Database, settings: Settings, embedder: Embedder) -> bool:
    """Whether papers changed or vectors were stored after the newest generation was built (or there is none); on
    PostgreSQL the newest is the database's, which another host may have built."""
    store = IndexStore(settings.search_index_dir)
    store.sync(database)
    manifest = store.current_manifest()
    model = model_key(embedder)
    if manifest is None or manifest.model != model or store.missing_from_database(database):
        return True
    with database.read_session() as session:
        papers_mark = session.scalar(select(func.max(Paper.changed_at)))
        embeddings_mark = session.scalar(
            select(func.max(PaperEmbedding.embedded_at)).where(PaperEmbedding.model == model)
        )
    return (papers_mark is not None and papers_mark != manifest.papers_through_time) or (
        embeddings_mark is not None and embeddings_mark != manifest.embeddings_through_time
    )


@dataclass
class IndexingDuty:
    """The worker's share of search: embed new papers a batch at a time, and build a new generation when the
    current one is behind and the last build is at least `rebuild_seconds` old (or there is none).

    `progress` reports each build; `backlog` the embedding, from the first paper waiting for a vector to the last, as
    one job over many batches, with its total and the time it should still take (the shared corpus of 128k papers
    takes the worker the best part of an hour on two cores)."""

    database: Database
    settings: Settings
    embedder: Embedder
    progress: Progress
    backlog: Progress = field(default_factory=SilentProgress)
    last_build: float = float("-inf")
    # Papers embedded since the backlog began; None while there is none.
    _backlog_done: int | None = None

    def run_once(self) -> int:
        """One step; returns how many papers were embedded (0 when there was nothing to do)."""
        if self._backlog_done is None and (pending := self._pending()):
            logger.info("%s papers wait for a vector", f"{pending:,}")
            self.backlog.start("Embedding papers", total=pending)
            self._backlog_done = 0
        embedded = embed_pending(self.database, self.embedder, limit=WORKER_EMBED_BATCH)
        if self._backlog_done is not None and embedded:
            self._backlog_done += embedded
            # New papers may have come meanwhile: the total is what was done plus what waits now.
            total = self._backlog_done + self._pending()
            self.backlog.update(completed=self._backlog_done, items=self._backlog_done, total=total)
        elif embedded == 0:
            self.close()
        if embedded == 0:
            # Caught up: the embedding processes are stopped rather than kept idle, and start again with new papers.
            self.embedder.close()
        due = time.monotonic() - self.last_build >= self.settings.search_rebuild_seconds
        if (due or embedded == 0) and index_is_behind(self.database, self.settings, self.embedder):
            manifest = build_index(self.database, self.settings, self.embedder, self.progress)
            self.last_build = time.monotonic()
            logger.info(
                "search index built: %d papers, %d vectors, in %.1f s",
                manifest.papers,
                manifest.vectors,
                manifest.build_seconds,
            )
        return embedded

    def close(self) -> None:
        """End the backlog's report if one is open (on a terminal, its bar is drawn one last time)."""
        if self._backlog_done is not None:
            self.backlog.finish()
            self._backlog_done = None

    def _pending(self) -> int:
        with self.database.read_session() as session:
            return embedding_counts(session, model_key(self.embedder)).pending
