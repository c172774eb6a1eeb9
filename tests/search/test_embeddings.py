"""Paper vectors in the database, on each backend, computed by the packaged embedder: resuming, what is embedded
again and what is not, withdrawn papers, counts, and reading vectors back."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from paperboard.catalog.store import mark_deleted
from paperboard.db import Database
from paperboard.db.models import Paper, PaperEmbedding
from paperboard.search import embeddings
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import (
    STORED_DTYPE,
    blend,
    embed_pending,
    embedding_counts,
    model_key,
    stored_vectors,
)
from tests.community.factories import add_paper, paper_id

TOPICS = [
    ("Sparse attention for long documents", "We make attention sparse so that transformers read long inputs."),
    ("Dense retrieval at scale", "Retrieval with dual encoders over a billion passages."),
    ("Gauge fields on the lattice", "We simulate quantum chromodynamics numerically."),
    ("Crop yields under drought", "A survey of agriculture in sub-Saharan Africa."),
    ("Protein structure prediction", "Predicting how proteins fold from their sequence."),
]
PUBLISHED = datetime(2025, 6, 1, 12)


@pytest.fixture
def catalogue(database: Database) -> Database:
    for number, (title, abstract) in enumerate(TOPICS, start=1):
        add_paper(database, f"2506.{number:05d}", title=title, abstract=abstract, published_at=PUBLISHED)
    return database


def stored_rows(database: Database) -> dict[str, PaperEmbedding]:
    """Embedding rows by arXiv id, detached from their session."""
    with database.read_session() as session:
        rows = session.execute(
            select(Paper.arxiv_id, PaperEmbedding).join(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
        ).all()
        for _, row in rows:
            session.expunge(row)
    return {arxiv_id: row for arxiv_id, row in rows}


def counts(database: Database, embedder: Embedder) -> tuple[int, int, int]:
    with database.read_session() as session:
        found = embedding_counts(session, model_key(embedder))
    return found.papers, found.embedded, found.pending


def test_embedding_resumes_where_a_limited_run_stopped(catalogue, embedder, monkeypatch):
    # Small batches, so that runs stop and resume across batch boundaries.
    monkeypatch.setattr(embeddings, "BATCH_SIZE", 2)
    assert counts(catalogue, embedder) == (5, 0, 5)

    assert embed_pending(catalogue, embedder, limit=3) == 3
    first = stored_rows(catalogue)
    assert sorted(first) == ["2506.00001", "2506.00002", "2506.00003"]
    assert counts(catalogue, embedder) == (5, 3, 2)

    assert embed_pending(catalogue, embedder) == 2
    assert embed_pending(catalogue, embedder) == 0
    second = stored_rows(catalogue)
    assert sorted(second) == [f"2506.{number:05d}" for number in range(1, 6)]
    # The first run's vectors were kept, not computed again.
    for arxiv_id, row in first.items():
        assert second[arxiv_id].embedded_at == row.embedded_at
        assert second[arxiv_id].abstract_vector == row.abstract_vector
    with catalogue.read_session() as session:
        assert session.scalar(select(func.count()).select_from(PaperEmbedding)) == 5
    assert counts(catalogue, embedder) == (5, 5, 0)


def test_a_limit_of_zero_embeds_nothing(catalogue, embedder):
    assert embed_pending(catalogue, embedder, limit=0) == 0
    assert stored_rows(catalogue) == {}


def test_stored_vectors_are_the_embedders_of_the_title_and_the_abstract(catalogue, embedder):
    embed_pending(catalogue, embedder)
    row = stored_rows(catalogue)["2506.00004"]
    title, abstract = TOPICS[3]

    assert row.model == model_key(embedder)
    title_vector = np.frombuffer(row.title_vector, dtype=STORED_DTYPE)
    abstract_vector = np.frombuffer(row.abstract_vector, dtype=STORED_DTYPE)
    assert title_vector.shape == abstract_vector.shape == (embedder.dimensions,)
    np.testing.assert_allclose(title_vector, embedder.embed_one(title), atol=2e-3)
    np.testing.assert_allclose(abstract_vector, embedder.embed_one(abstract), atol=2e-3)


def test_stored_vectors_read_back_blended_or_abstracts_alone(catalogue, embedder):
    embed_pending(catalogue, embedder)
    model = model_key(embedder)
    with catalogue.read_session() as session:
        [(ids, vectors)] = list(stored_vectors(session, model, embedder.dimensions))
        [(_, abstracts)] = list(stored_vectors(session, model, embedder.dimensions, abstracts_only=True))
        [(some_ids, _)] = list(
            stored_vectors(session, model, embedder.dimensions, paper_ids=[paper_id(catalogue, "2506.00002")])
        )
        other_model = list(stored_vectors(session, "another model", embedder.dimensions))

    assert len(ids) == 5 and list(ids) == sorted(ids)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    titles = embedder.embed([title for title, _ in TOPICS])
    np.testing.assert_allclose(vectors, blend(titles, abstracts), atol=3e-3)
    np.testing.assert_allclose(abstracts, embedder.embed([abstract for _, abstract in TOPICS]), atol=2e-3)
    assert some_ids.tolist() == [paper_id(catalogue, "2506.00002")]
    assert other_model == []


def test_a_paper_whose_other_fields_change_keeps_its_vectors(catalogue, embedder):
    embed_pending(catalogue, embedder)
    before = stored_rows(catalogue)["2506.00002"]
    title, abstract = TOPICS[1]

    add_paper(
        catalogue,
        "2506.00002",
        title=title,
        abstract=abstract,
        published_at=PUBLISHED,
        code_url="https://github.com/example/retrieval",
    )
    assert counts(catalogue, embedder) == (5, 4, 1)
    embed_pending(catalogue, embedder)
    after = stored_rows(catalogue)["2506.00002"]

    assert counts(catalogue, embedder) == (5, 5, 0)
    assert after.embedded_at == before.embedded_at
    assert after.text_digest == before.text_digest
    assert after.abstract_vector == before.abstract_vector
    assert after.paper_changed_at > before.paper_changed_at


def test_a_paper_whose_title_changes_is_embedded_again(catalogue, embedder):
    embed_pending(catalogue, embedder)
    before = stored_rows(catalogue)

    add_paper(
        catalogue,
        "2506.00003",
        title="Lattice QCD with domain-wall fermions",
        abstract=TOPICS[2][1],
        published_at=PUBLISHED,
    )
    assert counts(catalogue, embedder) == (5, 4, 1)
    assert embed_pending(catalogue, embedder) == 1
    after = stored_rows(catalogue)

    changed = after["2506.00003"]
    assert changed.embedded_at > before["2506.00003"].embedded_at
    assert changed.text_digest != before["2506.00003"].text_digest
    assert changed.title_vector != before["2506.00003"].title_vector
    np.testing.assert_allclose(
        np.frombuffer(changed.title_vector, dtype=STORED_DTYPE),
        embedder.embed_one("Lattice QCD with domain-wall fermions"),
        atol=2e-3,
    )
    # The abstract did not change: its vector is the same as before (same text, same model).
    assert changed.abstract_vector == before["2506.00003"].abstract_vector
    for arxiv_id in before.keys() - {"2506.00003"}:
        assert after[arxiv_id].embedded_at == before[arxiv_id].embedded_at


def test_withdrawn_papers_are_neither_embedded_nor_counted(catalogue, embedder):
    with catalogue.session() as session:
        mark_deleted(session, "2506.00005", datetime(2025, 6, 5))

    assert counts(catalogue, embedder) == (4, 0, 4)
    assert embed_pending(catalogue, embedder) == 4
    assert "2506.00005" not in stored_rows(catalogue)
    assert counts(catalogue, embedder) == (4, 4, 0)


def test_a_paper_withdrawn_after_embedding_is_not_read_back(catalogue, embedder):
    embed_pending(catalogue, embedder)
    with catalogue.session() as session:
        mark_deleted(session, "2506.00001", datetime(2025, 6, 5))

    with catalogue.read_session() as session:
        ids = np.concatenate([ids for ids, _ in stored_vectors(session, model_key(embedder), embedder.dimensions)])

    assert paper_id(catalogue, "2506.00001") not in ids.tolist()
    assert len(ids) == 4
    assert embed_pending(catalogue, embedder) == 0


def test_vectors_of_another_model_do_not_count(catalogue, embedder):
    embed_pending(catalogue, embedder)
    other = Embedder(max_tokens=128)
    assert model_key(other) != model_key(embedder)

    assert counts(catalogue, other) == (5, 0, 5)
    assert embed_pending(catalogue, other, limit=2) == 2
    # One row per paper: a paper embedded in the other model's space no longer has the first one's vectors.
    rows = stored_rows(catalogue)
    assert len(rows) == 5
    assert [row.model for _, row in sorted(rows.items())] == [model_key(other)] * 2 + [model_key(embedder)] * 3
    assert counts(catalogue, embedder) == (5, 3, 2)
