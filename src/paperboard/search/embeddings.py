"""Paper embeddings in the database: which papers still need a vector, computing them, and reading them back.

Vectors are stored (as float16) rather than only in index files, so that an index lost or built afresh costs a read
instead of hours of embedding. Each batch is committed on its own: a run killed midway keeps every batch it finished
and the next run carries on from there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db import Database
from paperboard.db.models import Paper, PaperEmbedding
from paperboard.progress import Progress, SilentProgress
from paperboard.search.embedder import Embedder

STORED_DTYPE = np.float16
# Papers read, embedded and committed together: small enough that a killed run loses little work.
BATCH_SIZE = 64
# How much the title counts in a paper's vector beside its abstract.
TITLE_WEIGHT = 0.5


def model_key(embedder: Embedder) -> str:
    """The short name stored with each vector for the embedder's vector space."""
    return hashlib.sha256(embedder.identifier.encode()).hexdigest()[:32]


def text_digest(title: str, abstract: str) -> str:
    return hashlib.sha256(f"{title.strip()}\0{abstract.strip()}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class EmbeddingCounts:
    papers: int
    embedded: int

    @property
    def pending(self) -> int:
        return self.papers - self.embedded


def _pending_condition(model: str) -> object:
    return or_(
        PaperEmbedding.paper_id.is_(None),
        PaperEmbedding.model != model,
        PaperEmbedding.paper_changed_at < Paper.changed_at,
    )


def embedding_counts(session: Session, model: str) -> EmbeddingCounts:
    """Papers that can be searched (not withdrawn), and how many of them have an up-to-date vector."""
    papers = session.scalar(select(func.count()).select_from(Paper).where(Paper.deleted_at.is_(None))) or 0
    pending = (
        session.scalar(
            select(func.count())
            .select_from(Paper)
            .outerjoin(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
            .where(Paper.deleted_at.is_(None), _pending_condition(model))
        )
        or 0
    )
    return EmbeddingCounts(papers=papers, embedded=papers - pending)


def _pending_batch(session: Session, model: str, after_id: int) -> list[tuple[int, str, str, datetime, str | None]]:
    """(id, title, abstract, changed_at, digest of the text embedded in `model`'s space or None) for the next papers."""
    embedded_digest = case((PaperEmbedding.model == model, PaperEmbedding.text_digest), else_=None)
    statement = (
        select(Paper.id, Paper.title, Paper.abstract, Paper.changed_at, embedded_digest)
        .outerjoin(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
        .where(Paper.deleted_at.is_(None), Paper.id > after_id, _pending_condition(model))
        .order_by(Paper.id)
        .limit(BATCH_SIZE)
    )
    return [tuple(row) for row in session.execute(statement)]  # type: ignore[misc]


def embed_pending(
    database: Database, embedder: Embedder, progress: Progress | None = None, *, limit: int | None = None
) -> int:
    """Embed every paper without an up-to-date vector (at most `limit`), batch by batch; returns how many."""
    progress = progress or SilentProgress()
    model = model_key(embedder)
    with database.read_session() as session:
        counts = embedding_counts(session, model)
    total = counts.pending if limit is None else min(limit, counts.pending)
    if total == 0:
        return 0
    progress.start("Embedding papers", total=total)
    done = 0
    after_id = 0
    while limit is None or done < limit:
        with database.read_session() as session:
            batch = _pending_batch(session, model, after_id)
        if not batch:
            break
        if limit is not None:
            batch = batch[: limit - done]
        after_id = batch[-1][0]
        digests = [text_digest(title, abstract) for _, title, abstract, _, _ in batch]
        # A paper whose title and abstract are what was embedded (another field changed) keeps its vectors.
        fresh = [row for row, digest in zip(batch, digests, strict=True) if row[4] == digest]
        changed = [(row, digest) for row, digest in zip(batch, digests, strict=True) if row[4] != digest]
        # One call for both, so that an embedder with several processes shares the whole batch out evenly.
        vectors = embedder.embed([row[1].strip() for row, _ in changed] + [row[2].strip() for row, _ in changed])
        title_vectors, abstract_vectors = vectors[: len(changed)], vectors[len(changed) :]
        now = utcnow()
        with database.session() as session:
            for paper_id, _, _, changed_at, _ in fresh:
                session.execute(
                    update(PaperEmbedding)
                    .where(PaperEmbedding.paper_id == paper_id)
                    .values(paper_changed_at=changed_at)
                )
            if changed:
                session.execute(
                    delete(PaperEmbedding).where(PaperEmbedding.paper_id.in_([row[0] for row, _ in changed]))
                )
                session.execute(
                    insert(PaperEmbedding),
                    [
                        embedding_row(row[0], model, digest, row[3], now, title_vector, abstract_vector)
                        for (row, digest), title_vector, abstract_vector in zip(
                            changed, title_vectors, abstract_vectors, strict=True
                        )
                    ],
                )
        done += len(batch)
        progress.update(completed=done, items=done)
    progress.finish()
    return done


def embedding_row(
    paper_id: int,
    model: str,
    digest: str,
    paper_changed_at: datetime,
    now: datetime,
    title_vector: np.ndarray,
    abstract_vector: np.ndarray,
) -> dict[str, object]:
    """A `paper_embeddings` row to insert, its vectors stored as `STORED_DTYPE` bytes."""
    return {
        "paper_id": paper_id,
        "model": model,
        "text_digest": digest,
        "paper_changed_at": paper_changed_at,
        "embedded_at": now,
        "title_vector": title_vector.astype(STORED_DTYPE).tobytes(),
        "abstract_vector": abstract_vector.astype(STORED_DTYPE).tobytes(),
    }


def blend(title_vectors: np.ndarray, abstract_vectors: np.ndarray) -> np.ndarray:
    """The vectors the index searches: the abstract's plus the title's at `TITLE_WEIGHT`, normalised again."""
    blended = abstract_vectors + TITLE_WEIGHT * title_vectors
    return blended / np.maximum(np.linalg.norm(blended, axis=1, keepdims=True), 1e-12)


def stored_vectors(
    session: Session,
    model: str,
    dimensions: int,
    *,
    abstracts_only: bool = False,
    paper_ids: Sequence[int] | None = None,
    after: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(paper ids, float32 vectors) in chunks by increasing id, for papers not withdrawn (and with ids above
    `after`) that have vectors of `model`: blended, or the abstracts' alone.

    A vector older than its paper's latest change is still returned: a paper's text rarely changes, and an older
    vector finds it better than none until the embedder catches up."""
    chunk = 8192
    after_id = after
    while True:
        statement = (
            select(PaperEmbedding.paper_id, PaperEmbedding.title_vector, PaperEmbedding.abstract_vector)
            .join(Paper, Paper.id == PaperEmbedding.paper_id)
            .where(Paper.deleted_at.is_(None), PaperEmbedding.model == model, PaperEmbedding.paper_id > after_id)
            .order_by(PaperEmbedding.paper_id)
            .limit(chunk)
        )
        if paper_ids is not None:
            statement = statement.where(PaperEmbedding.paper_id.in_(paper_ids))
        rows = session.execute(statement).all()
        if not rows:
            return
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        abstracts = stored_matrix([row[2] for row in rows], dimensions)
        yield (
            ids,
            abstracts if abstracts_only else blend(stored_matrix([row[1] for row in rows], dimensions), abstracts),
        )
        after_id = int(ids[-1])


def stored_matrix(blobs: Sequence[bytes], dimensions: int) -> np.ndarray:
    """Stored vectors (bytes of `STORED_DTYPE`) as float32 rows."""
    return np.frombuffer(b"".join(blobs), dtype=STORED_DTYPE).reshape(len(blobs), dimensions).astype(np.float32)
