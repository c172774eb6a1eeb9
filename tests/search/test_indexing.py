"""The worker's indexing duty with the bulk embedder, worker processes and all, on each backend."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from paperboard.config import Settings
from paperboard.db import Database
from paperboard.progress import SilentProgress
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import model_key, stored_vectors
from paperboard.search.index_store import IndexStore
from paperboard.search.indexing import IndexingDuty, indexing_embedder
from tests.community.factories import add_paper

ABSTRACTS = [
    "We make attention sparse so that transformers read long inputs.",
    "Retrieval with dual encoders over a billion passages.",
    "We simulate quantum chromodynamics numerically.",
]


@pytest.fixture
def catalogue(database: Database) -> Database:
    for number, abstract in enumerate(ABSTRACTS, start=1):
        add_paper(database, f"2506.{number:05d}", title=f"Paper {number}", abstract=abstract)
    return database


def test_the_duty_embeds_in_worker_processes_builds_and_stops_them_when_caught_up(
    catalogue: Database, embedder: Embedder, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedding_processes=2)
    bulk = indexing_embedder(settings)
    assert (bulk.processes, bulk.identifier) == (2, embedder.identifier)
    duty = IndexingDuty(catalogue, settings, bulk, SilentProgress())
    try:
        assert duty.run_once() == len(ABSTRACTS)
        workers = multiprocessing.active_children()
        assert len(workers) == 2
        manifest = IndexStore(settings.search_index_dir).current_manifest()
        assert manifest is not None and manifest.vectors == len(ABSTRACTS)

        # Caught up: nothing to embed, and the processes are stopped rather than left waiting.
        assert duty.run_once() == 0
        for worker in workers:
            worker.join(timeout=10)
        assert not any(worker.is_alive() for worker in workers)
    finally:
        bulk.close()

    with catalogue.read_session() as session:
        _, abstracts = next(stored_vectors(session, model_key(embedder), embedder.dimensions, abstracts_only=True))
    expected = embedder.embed(ABSTRACTS)
    # float16 in the database: the vectors the worker processes made are the in-process embedder's.
    np.testing.assert_allclose(abstracts, expected, atol=2e-3)
