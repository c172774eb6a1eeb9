"""The search index on disk: built from the database, written as a new generation, read by every web worker.

An index is derived data: everything in it comes from the database (papers, and the vectors `paperboard index`
stored), so a lost, damaged or outdated index is rebuilt from there without embedding again. Each build writes a
new folder of NumPy arrays and then points `current.json` at it in one rename; workers memory-map the arrays (so
they share one copy in the page cache) and switch when the pointer changes. A build reuses the previous
generation's term counts, analysing only the papers changed since; `full=True` analyses every paper again.

On PostgreSQL each generation is also stored in the database, and a folder without the newest one downloads it
(`shared_index`): web hosts on separate machines all search the generation the worker built.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy import sparse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db import Database
from paperboard.db.batches import in_batches
from paperboard.db.locks import exclusive_lock
from paperboard.db.models import Paper, PaperCategory, PaperEmbedding
from paperboard.progress import Progress, SilentProgress
from paperboard.search.analysis import Document
from paperboard.search.embeddings import stored_vectors
from paperboard.search.engine import rows_of
from paperboard.search.facets import PaperFacets, day_number
from paperboard.search.keyword_index import KeywordIndex, TermCounts
from paperboard.search.shared_index import PublishedGeneration, download, is_shared, latest, publish
from paperboard.search.vector_index import DEFAULT_EXACT_MAX, VectorIndex

# 2: words no longer include underscores.
FORMAT_VERSION = 2
POINTER = "current.json"
# Held while a generation is put in place in the folder (by a build or a download), by one process of the host.
FOLDER_LOCK = "folder.lock"
_READ_CHUNK = 2000


@dataclass(frozen=True)
class IndexManifest:
    """What a generation holds and how far into the database it reaches.

    `papers_through` is the latest paper change it includes and `embeddings_through` the latest vector; papers
    changed or embedded later are searched from the database beside it until the next build."""

    format: int
    generation: str
    model: str
    dimensions: int
    papers: int
    average_length: float
    vectors: int
    papers_through: str | None
    embeddings_through: str | None
    built_at: str
    build_seconds: float

    @property
    def papers_through_time(self) -> datetime | None:
        return datetime.fromisoformat(self.papers_through) if self.papers_through else None

    @property
    def embeddings_through_time(self) -> datetime | None:
        return datetime.fromisoformat(self.embeddings_through) if self.embeddings_through else None


@dataclass
class LoadedIndex:
    manifest: IndexManifest
    keyword: KeywordIndex
    vectors: VectorIndex
    facets: PaperFacets


def read_documents(
    session: Session, *, changed_after: datetime | None = None
) -> Iterator[tuple[list[int], list[Document]]]:
    """Papers not withdrawn (only those changed after a time, if given), by id, in chunks of ids and documents."""
    after_id = 0
    while True:
        statement = select(Paper.id, Paper.title, Paper.abstract, Paper.authors).where(
            Paper.deleted_at.is_(None), Paper.id > after_id
        )
        if changed_after is not None:
            # Papers changed since a build are few: read them through the changed_at index in one go (paging by id
            # would make the database walk every paper's id to find them).
            statement = statement.where(Paper.changed_at > changed_after)
        else:
            statement = statement.order_by(Paper.id).limit(_READ_CHUNK)
        rows = sorted(session.execute(statement).all(), key=lambda row: row[0])
        if not rows:
            return
        yield [row[0] for row in rows], [Document(row[1], row[2], row[3] or ()) for row in rows]
        if changed_after is not None:
            return
        after_id = rows[-1][0]


def facets_for(session: Session, paper_ids: np.ndarray) -> PaperFacets:
    """Facets by row of `paper_ids`; a paper withdrawn meanwhile gets none (searches skip it as changed anyway)."""
    published = np.zeros(len(paper_ids), dtype=np.int32)
    has_code = np.zeros(len(paper_ids), dtype=np.bool_)
    categories: list[list[str]] = [[] for _ in range(len(paper_ids))]

    def rows(ids: Sequence[int]) -> list[int]:
        return rows_of(paper_ids, np.array(ids, dtype=np.int64)).tolist()

    for chunk in in_batches(paper_ids.tolist()):
        found = session.execute(
            select(Paper.id, Paper.published_at, Paper.code_url.is_not(None)).where(Paper.id.in_(chunk))
        ).all()
        for row, (_, published_at, code) in zip(rows([row[0] for row in found]), found, strict=True):
            if row >= 0:
                published[row] = day_number(published_at)
                has_code[row] = bool(code)
        named = session.execute(
            select(PaperCategory.paper_id, PaperCategory.category)
            .where(PaperCategory.paper_id.in_(chunk))
            .order_by(PaperCategory.paper_id, PaperCategory.position)
        ).all()
        for row, (_, category) in zip(rows([row[0] for row in named]), named, strict=True):
            if row >= 0:
                categories[row].append(category)
    return PaperFacets.build(published, has_code, categories)


def _isoformat(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class IndexStore:
    """Generations of the search index in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def pointer(self) -> Path:
        return self.directory / POINTER

    def current_manifest(self) -> IndexManifest | None:
        """The manifest of the generation in use, or None when there is none (or it cannot be read)."""
        try:
            pointed = json.loads(self.pointer.read_text())
            manifest = IndexManifest(
                **json.loads((self.directory / pointed["generation"] / "manifest.json").read_text())
            )
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return manifest if manifest.format == FORMAT_VERSION else None

    def pointer_stamp(self) -> float | None:
        """Changes whenever a new generation is put in place: cheap enough to check on every search."""
        try:
            return self.pointer.stat().st_mtime
        except OSError:
            return None

    def newer_generation(self, session: Session) -> PublishedGeneration | None:
        """The database's newest generation when this folder lacks it and has none or an older one (PostgreSQL
        only: on SQLite, None without a query)."""
        if not is_shared(session):
            return None
        newest = latest(session)
        return newest if newest is not None and self._older_than(newest) else None

    def _older_than(self, newest: PublishedGeneration) -> bool:
        local = self.current_manifest()
        return local is None or (
            local.generation != newest.generation and datetime.fromisoformat(local.built_at) < newest.built_at
        )

    def fetch(self, session: Session, newest: PublishedGeneration, *, wait: bool = True) -> bool:
        """Download `newest` and put it in place, unless another process of this host is doing it (then wait for
        it, or return False at once when not `wait`); whether the folder now holds it."""
        with self._folder_lock(wait=wait) as held:
            if not held:
                return False
            if not self._older_than(newest):
                # Another process of this host put it (or a newer one) in place meanwhile.
                return True
            target = self.directory / newest.generation
            if not (target / "manifest.json").is_file():
                staging = self.directory / f".{newest.generation}"
                # Left by a download cut short: under the lock, nobody else is writing it.
                shutil.rmtree(staging, ignore_errors=True)
                try:
                    download(session, newest.generation, staging)
                except BaseException:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
                shutil.rmtree(target, ignore_errors=True)
                os.replace(staging, target)
            self._point_at(newest.generation)
        return True

    def sync(self, database: Database) -> None:
        """Put the database's newest generation in place if this folder lacks it (PostgreSQL only)."""
        with database.read_session() as session:
            newest = self.newer_generation(session)
            if newest is not None:
                self.fetch(session, newest)

    def missing_from_database(self, database: Database) -> bool:
        """Whether the database should hold a generation for other hosts and holds none (its generations were
        deleted, or the folder was built before the site moved to PostgreSQL)."""
        if not is_shared(database):
            return False
        with database.read_session() as session:
            return latest(session) is None

    @contextmanager
    def _folder_lock(self, *, wait: bool) -> Iterator[bool]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / FOLDER_LOCK).open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True

    def build(
        self,
        database: Database,
        model: str,
        dimensions: int,
        progress: Progress | None = None,
        *,
        full: bool = False,
        exact_max: int = DEFAULT_EXACT_MAX,
    ) -> IndexManifest:
        """Build a generation from the database and put it in place. Builds of one database wait for each other
        (a worker's and an import's, on any host), so that neither removes the folder the other is writing and no
        two hosts build the same generation at once."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(database, "search-index-build", fallback_dir=self.directory, wait=None):
            # The generation another host built last is the base of this one (only the papers changed since are
            # analysed again).
            self.sync(database)
            return self._build(database, model, dimensions, progress or SilentProgress(), full, exact_max)

    def _build(
        self, database: Database, model: str, dimensions: int, progress: Progress, full: bool, exact_max: int
    ) -> IndexManifest:
        started = time.monotonic()
        previous = None if full else self.load()
        with database.read_session() as session:
            # Read first: a paper changed while the build reads is then also newer than these marks, so searches
            # take it from the database until the next build, and nothing falls between two builds.
            papers_through = session.scalar(select(func.max(Paper.changed_at)))
            embeddings_through = session.scalar(
                select(func.max(PaperEmbedding.embedded_at)).where(PaperEmbedding.model == model)
            )
            total = session.scalar(select(func.count()).select_from(Paper).where(Paper.deleted_at.is_(None))) or 0
            counts = self._term_counts(session, previous, total, progress)
            facets = facets_for(session, counts.paper_ids)
            vectors = self._vectors(session, model, dimensions, exact_max, progress)
        built_at = utcnow()
        generation = f"g{built_at:%Y%m%dT%H%M%S%f}-{os.getpid()}"
        manifest = IndexManifest(
            format=FORMAT_VERSION,
            generation=generation,
            model=model,
            dimensions=dimensions,
            papers=len(counts.paper_ids),
            average_length=counts.average_length(),
            vectors=len(vectors),
            papers_through=_isoformat(papers_through),
            embeddings_through=_isoformat(embeddings_through),
            built_at=built_at.isoformat(),
            build_seconds=round(time.monotonic() - started, 3),
        )
        self._write(manifest, counts, KeywordIndex.from_counts(counts), facets, vectors)
        if is_shared(database):
            # Before it is put in place here: the database always has the generation its builder searches.
            publish(database, generation, built_at, self.directory / generation)
        with self._folder_lock(wait=True):
            self._point_at(generation)
        return manifest

    def _term_counts(
        self, session: Session, previous: LoadedIndex | None, total: int, progress: Progress
    ) -> TermCounts:
        counts = None if previous is None else self._load_counts(previous.manifest.generation)
        since = None if previous is None else previous.manifest.papers_through_time
        if counts is not None and since is not None:
            changed_ids = np.fromiter(session.scalars(select(Paper.id).where(Paper.changed_at > since)), dtype=np.int64)
            progress.start("Indexing changed papers", total=len(changed_ids))
            ids: list[int] = []
            documents: list[Document] = []
            for chunk_ids, chunk_documents in read_documents(session, changed_after=since):
                ids.extend(chunk_ids)
                documents.extend(chunk_documents)
            updated = counts.with_changes(changed_ids, np.array(ids, dtype=np.int64), documents)
            progress.update(completed=len(changed_ids), items=len(ids))
            progress.finish()
            return updated
        progress.start("Indexing papers", total=total)
        ids = []
        documents = []
        for chunk_ids, chunk_documents in read_documents(session):
            ids.extend(chunk_ids)
            documents.extend(chunk_documents)
            progress.update(completed=len(ids), items=len(ids))
        counts = TermCounts.build(np.array(ids, dtype=np.int64), documents)
        progress.finish()
        return counts

    def _vectors(
        self, session: Session, model: str, dimensions: int, exact_max: int, progress: Progress
    ) -> VectorIndex:
        chunks = list(stored_vectors(session, model, dimensions))
        ids = np.concatenate([ids for ids, _ in chunks]) if chunks else np.empty(0, dtype=np.int64)
        matrix = np.concatenate([vectors for _, vectors in chunks]) if chunks else np.empty((0, dimensions), np.float32)
        if len(ids) > exact_max:
            progress.start("Building the vector graph", total=None, unit="vectors")
        index = VectorIndex.build(ids, matrix, exact_max=exact_max)
        if index.graph is not None:
            progress.update(items=len(ids))
            progress.finish()
        return index

    def _write(
        self,
        manifest: IndexManifest,
        counts: TermCounts,
        keyword: KeywordIndex,
        facets: PaperFacets,
        vectors: VectorIndex,
    ) -> None:
        folder = self.directory / manifest.generation
        folder.mkdir(parents=True)
        arrays = {
            "papers": counts.paper_ids,
            "counts_data": counts.counts.data,
            "counts_indices": counts.counts.indices,
            "counts_indptr": counts.counts.indptr,
            "scores_data": keyword.scores.data,
            "scores_indices": keyword.scores.indices,
            "scores_indptr": keyword.scores.indptr,
            "published": facets.published,
            "has_code": facets.has_code,
            "categories_indices": facets.categories.indices,
            "categories_indptr": facets.categories.indptr,
            "vector_papers": vectors.paper_ids,
            "vectors": vectors.vectors,
        }
        for name, array in arrays.items():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(array))
        (folder / "vocabulary.txt").write_text("\n".join(counts.vocabulary), encoding="utf-8")
        (folder / "categories.json").write_text(json.dumps(facets.category_names), encoding="utf-8")
        vectors.save_graph(folder / "hnsw.faiss")
        # The manifest last: a folder without one is an unfinished build, never pointed at.
        (folder / "manifest.json").write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")

    def _point_at(self, generation: str) -> None:
        previous = self.current_manifest()
        staged = self.directory / f".{POINTER}.{os.getpid()}"
        staged.write_text(json.dumps({"generation": generation}))
        os.replace(staged, self.pointer)
        self._remove_old_generations(keep={generation, previous.generation if previous else ""})

    def _remove_old_generations(self, keep: set[str]) -> None:
        # The generation just replaced stays, for workers that read the pointer a moment ago and are opening it
        # now; workers that have older ones open keep reading them, since unlinked files live on until closed.
        # Unfinished builds of crashed runs go too.
        for folder in self.directory.iterdir():
            if folder.is_dir() and folder.name not in keep and folder.name.startswith("g"):
                shutil.rmtree(folder, ignore_errors=True)

    def _array(self, generation: str, name: str) -> np.ndarray:
        return np.load(self.directory / generation / f"{name}.npy", mmap_mode="r")

    def _load_counts(self, generation: str) -> TermCounts | None:
        try:
            papers = np.array(self._array(generation, "papers"))
            vocabulary = self._vocabulary(generation)
            matrix = sparse.csr_matrix(
                (
                    np.array(self._array(generation, "counts_data")),
                    np.array(self._array(generation, "counts_indices")),
                    np.array(self._array(generation, "counts_indptr")),
                ),
                shape=(len(papers), len(vocabulary)),
            )
        except (OSError, ValueError):
            return None
        return TermCounts(papers, vocabulary, matrix)

    def _vocabulary(self, generation: str) -> list[str]:
        text = (self.directory / generation / "vocabulary.txt").read_text(encoding="utf-8")
        return text.split("\n") if text else []

    def load(self) -> LoadedIndex | None:
        """The generation in use, memory-mapped; None when there is none or its files cannot be read."""
        manifest = self.current_manifest()
        if manifest is None:
            return None
        generation = manifest.generation
        try:
            papers = self._array(generation, "papers")
            vocabulary = self._vocabulary(generation)
            scores = sparse.csc_matrix(
                (
                    self._array(generation, "scores_data"),
                    self._array(generation, "scores_indices"),
                    self._array(generation, "scores_indptr"),
                ),
                shape=(len(papers), len(vocabulary)),
                copy=False,
            )
            category_names = json.loads((self.directory / generation / "categories.json").read_text(encoding="utf-8"))
            categories_indices = self._array(generation, "categories_indices")
            categories = sparse.csc_matrix(
                (
                    np.ones(len(categories_indices), dtype=np.bool_),
                    categories_indices,
                    self._array(generation, "categories_indptr"),
                ),
                shape=(len(papers), len(category_names)),
                copy=False,
            )
            facets = PaperFacets(
                self._array(generation, "published"), self._array(generation, "has_code"), categories, category_names
            )
            vectors = VectorIndex(
                self._array(generation, "vector_papers"),
                self._array(generation, "vectors"),
                VectorIndex.load_graph(self.directory / generation / "hnsw.faiss"),
            )
        except (OSError, ValueError, RuntimeError):
            return None
        if len(facets.published) != len(papers) or vectors.vectors.shape != (manifest.vectors, manifest.dimensions):
            return None
        return LoadedIndex(manifest, KeywordIndex(papers, vocabulary, scores), vectors, facets)
