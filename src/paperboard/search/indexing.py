"""Keeping the search index caught up with the catalogue: for `paperboard index`, imports and the worker."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import func, select

from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Paper, PaperEmbedding
from paperboard.progress import Progress
from paperboard.search.embedder import Embedder, bulk_processes
from paperboard.search.embeddings import embed_pending, model_key
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
    """Whether papers changed or vectors were stored after the current generation was built (or there is none)."""
    manifest = IndexStore(settings.search_index_dir).current_manifest()
    model = model_key(embedder)
    if manifest is None or manifest.model != model:
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
    current one is behind and the last build is at least `rebuild_seconds` old (or there is none)."""

    database: Database
    settings: Settings
    embedder: Embedder
    progress: Progress
    last_build: float = float("-inf")

    def run_once(self) -> int:
        """One step; returns how many papers were embedded (0 when there was nothing to do)."""
        embedded = embed_pending(self.database, self.embedder, self.progress, limit=WORKER_EMBED_BATCH)
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
