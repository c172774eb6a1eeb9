"""The worker's indexing duty with the bulk embedder, worker processes and all, on each backend."""

from __future__ import annotations

import logging
import multiprocessing
import re
from pathlib import Path

import numpy as np
import pytest

from paperboard.config import Settings
from paperboard.db import Database
from paperboard.progress import LoggingProgress, SilentProgress, duration
from paperboard.search import indexing
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


def test_the_duty_reports_its_backlog_as_one_job_with_a_total_and_the_time_left(
    catalogue: Database, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    # Batches of one, so that three papers, and a fourth arriving meanwhile, take a round each.
    monkeypatch.setattr(indexing, "WORKER_EMBED_BATCH", 1)
    logger = logging.getLogger("test.backlog")
    duty = IndexingDuty(
        catalogue, Settings(data_dir=tmp_path / "data"), embedder, SilentProgress(), LoggingProgress(logger, 0)
    )
    with (
        caplog.at_level(logging.INFO, logger="test.backlog"),
        caplog.at_level(logging.INFO, logger=indexing.logger.name),
    ):
        assert duty.run_once() == 1
        add_paper(catalogue, "2506.00004", title="Paper 4", abstract="A fourth paper, come while embedding.")
        assert [duty.run_once() for _ in range(4)] == [1, 1, 1, 0]
    lines = [record.getMessage() for record in caplog.records if record.name == "test.backlog"]
    assert "3 papers wait for a vector" in [record.getMessage() for record in caplog.records]

    running = r"Embedding papers: running, {} papers? in \d+ s \(\d+/s\)"
    assert lines[0] == "Embedding papers: started"
    assert re.fullmatch(running.format(1) + r"; 33\.3% of 3 done, about .+ left", lines[1]), lines
    assert re.fullmatch(running.format(2) + r"; 50\.0% of 4 done, about .+ left", lines[2]), lines
    assert re.fullmatch(running.format(3) + r"; 75\.0% of 4 done, about .+ left", lines[3]), lines
    assert re.fullmatch(running.format(4), lines[4]), lines
    assert re.fullmatch(r"Embedding papers: finished, 4 papers in \d+ s \(\d+/s\)", lines[5]), lines
    assert len(lines) == 6


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.4, "0 s"), (59, "59 s"), (61, "1 min"), (45 * 60, "45 min"), (3 * 3600 + 300, "3 h 05 min")],
)
def test_time_left_reads_as_people_say_it(seconds: float, said: str) -> None:
    assert duration(seconds) == said
