"""Papers' keywords in the database: the Hugging Face archive's, kept as they are, and extracted ones for every other
paper, made by the worker in batches (never in a request).

Extraction needs the paper's stored vector (search/embeddings.py), so it follows the embedding: a paper waits for
keywords once it has an up-to-date vector and no keywords, or extracted ones ranked against an older text. Each
batch is committed on its own, so a run killed midway keeps what it finished and the next one goes on from there. A
paper with the archive's keywords is never extracted, and the archive's replace extracted ones whenever they come.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db import Database
from paperboard.db.inserts import insert_missing
from paperboard.db.models import Paper, PaperEmbedding, PaperKeywords
from paperboard.progress import Progress, SilentProgress
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import blend, model_key, stored_matrix
from paperboard.search.keyword_extraction import PhraseVectors, candidates, select_keywords

logger = logging.getLogger(__name__)

ARCHIVE = "archive"
EXTRACTED = "extracted"
# Papers read, extracted and committed together.
BATCH_SIZE = 64
# Papers the worker extracts keywords for in one round, between its other duties.
WORKER_BATCH = 256
_table = PaperKeywords.__table__


@dataclass(frozen=True)
class KeywordCounts:
    papers: int
    archive: int
    extracted: int
    pending: int


def keywords_of(session: Session, paper_ids: Iterable[int]) -> dict[int, list[str]]:
    """The keywords of those of these papers that have any (an empty list when extraction found none)."""
    ids = list(paper_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(PaperKeywords.paper_id, PaperKeywords.keywords).where(PaperKeywords.paper_id.in_(ids))
    )
    return {paper_id: list(keywords) for paper_id, keywords in rows}


def paper_keywords(session: Session, paper_id: int) -> PaperKeywords | None:
    """One paper's keywords with their source, for its page."""
    return session.get(PaperKeywords, paper_id)


def store_archive_keywords(session: Session, keywords: Mapping[int, Sequence[str]]) -> int:
    """Give these papers the archive's keywords, in place of extracted ones; returns how many papers changed.

    A paper that already has the archive's keywords keeps them unless the new list is longer (a paper listed on
    several days may come with several lists): the longest wins whatever the order of the lines, so an import
    repeated changes nothing."""
    wanted = {paper_id: list(found) for paper_id, found in keywords.items() if found}
    if not wanted:
        return 0
    stored = {
        paper_id: (source, list(found))
        for paper_id, source, found in session.execute(
            select(PaperKeywords.paper_id, PaperKeywords.source, PaperKeywords.keywords).where(
                PaperKeywords.paper_id.in_(list(wanted))
            )
        )
    }
    changed = {
        paper_id: found
        for paper_id, found in wanted.items()
        if paper_id not in stored or stored[paper_id][0] != ARCHIVE or len(found) > len(stored[paper_id][1])
    }
    if changed:
        session.execute(delete(PaperKeywords).where(PaperKeywords.paper_id.in_(list(changed))))
        now = utcnow()
        session.execute(
            _table.insert(),
            [
                {"paper_id": paper_id, "source": ARCHIVE, "keywords": found, "text_digest": None, "made_at": now}
                for paper_id, found in changed.items()
            ],
        )
    return len(changed)


def _pending_condition() -> object:
    return or_(
        PaperKeywords.paper_id.is_(None),
        (PaperKeywords.source == EXTRACTED) & (PaperKeywords.text_digest != PaperEmbedding.text_digest),
    )


def _pending_papers(model: str) -> object:
    """Papers not withdrawn with a vector of `model` and no keywords for its text."""
    return (
        select(Paper.id)
        .join(PaperEmbedding, (PaperEmbedding.paper_id == Paper.id) & (PaperEmbedding.model == model))
        .outerjoin(PaperKeywords, PaperKeywords.paper_id == Paper.id)
        .where(Paper.deleted_at.is_(None), _pending_condition())
    )


def keyword_counts(session: Session, model: str) -> KeywordCounts:
    """Papers not withdrawn, how many have the archive's or extracted keywords, and how many wait for extraction."""
    live = Paper.deleted_at.is_(None)
    papers = session.scalar(select(func.count()).select_from(Paper).where(live)) or 0
    by_source = dict(
        session.execute(
            select(PaperKeywords.source, func.count())
            .join(Paper, Paper.id == PaperKeywords.paper_id)
            .where(live)
            .group_by(PaperKeywords.source)
        ).all()
    )
    pending = session.scalar(select(func.count()).select_from(_pending_papers(model).subquery())) or 0
    return KeywordCounts(papers, by_source.get(ARCHIVE, 0), by_source.get(EXTRACTED, 0), pending)


def _pending_batch(session: Session, model: str, after_id: int) -> list[tuple[int, str, str, str, bytes, bytes]]:
    """(id, title, abstract, digest of the text of its vector, title vector, abstract vector) for the next papers."""
    statement = (
        select(
            Paper.id,
            Paper.title,
            Paper.abstract,
            PaperEmbedding.text_digest,
            PaperEmbedding.title_vector,
            PaperEmbedding.abstract_vector,
        )
        .join(PaperEmbedding, (PaperEmbedding.paper_id == Paper.id) & (PaperEmbedding.model == model))
        .outerjoin(PaperKeywords, PaperKeywords.paper_id == Paper.id)
        .where(Paper.deleted_at.is_(None), Paper.id > after_id, _pending_condition())
        .order_by(Paper.id)
        .limit(BATCH_SIZE)
    )
    return [tuple(row) for row in session.execute(statement)]  # type: ignore[misc]


def extract_pending(
    database: Database,
    phrase_vectors: PhraseVectors,
    progress: Progress | None = None,
    *,
    limit: int | None = None,
) -> int:
    """Extract keywords for every paper waiting for them (at most `limit`), batch by batch; returns how many."""
    progress = progress or SilentProgress()
    embedder = phrase_vectors.embedder
    model = model_key(embedder)
    with database.read_session() as session:
        pending = session.scalar(select(func.count()).select_from(_pending_papers(model).subquery())) or 0
    total = pending if limit is None else min(limit, pending)
    if total == 0:
        return 0
    progress.start("Extracting keywords", total=total)
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
        paper_vectors = blend(
            stored_matrix([row[4] for row in batch], embedder.dimensions),
            stored_matrix([row[5] for row in batch], embedder.dimensions),
        )
        found = [candidates(title, abstract) for _, title, abstract, _, _, _ in batch]
        # The batch's new phrases in one call, which an embedder with several processes shares out evenly.
        phrase_vectors.add(candidate.key for paper_candidates in found for candidate in paper_candidates)
        rows = [
            {
                "paper_id": row[0],
                "source": EXTRACTED,
                "keywords": select_keywords(
                    [candidate.text for candidate in paper_candidates],
                    phrase_vectors([candidate.key for candidate in paper_candidates]),
                    vector,
                ),
                "text_digest": row[3],
                "made_at": utcnow(),
            }
            for row, paper_candidates, vector in zip(batch, found, paper_vectors, strict=True)
        ]
        with database.session() as session:
            # Only extracted rows are replaced: archive keywords imported meanwhile stay, and win the insert below.
            session.execute(
                delete(PaperKeywords).where(
                    PaperKeywords.paper_id.in_([row["paper_id"] for row in rows]), PaperKeywords.source == EXTRACTED
                )
            )
            insert_missing(session, _table, rows, key=["paper_id"])
        done += len(batch)
        progress.update(completed=done, items=done)
    progress.finish()
    return done


@dataclass
class KeywordDuty:
    """The worker's keyword extraction: a batch of `WORKER_BATCH` papers a round, reported as one job from the
    first paper waiting to the last, like the embedding's backlog."""

    database: Database
    embedder: Embedder
    progress: Progress = field(default_factory=SilentProgress)
    phrase_vectors: PhraseVectors = field(init=False)
    # Papers done since the backlog began, and when it began; None while there is none.
    _done: int | None = None
    _started: float = 0.0

    def __post_init__(self) -> None:
        self.phrase_vectors = PhraseVectors(self.embedder)

    def run_once(self) -> int:
        """One batch; returns how many papers were given keywords (0 when none waited)."""
        if self._done is None and (pending := self._pending()):
            logger.info("%s papers wait for keywords", f"{pending:,}")
            self.progress.start("Extracting keywords", total=pending)
            self._done, self._started = 0, time.monotonic()
        done = extract_pending(self.database, self.phrase_vectors, limit=WORKER_BATCH)
        if self._done is not None and done:
            self._done += done
            self.progress.update(completed=self._done, items=self._done, total=self._done + self._pending())
        elif done == 0:
            self.close()
        return done

    def close(self) -> None:
        if self._done is not None:
            self.progress.finish()
            logger.info(
                "keywords extracted for %s papers in %.0f s", f"{self._done:,}", time.monotonic() - self._started
            )
            self._done = None

    def _pending(self) -> int:
        with self.database.read_session() as session:
            return keyword_counts(session, model_key(self.embedder)).pending
