"""The search index on disk: built from the database, written as a new generation, read by every web worker.

An index is derived data: everything in it comes from the database (papers, and the vectors `paperboard index`
stored), so a lost, damaged or outdated index is rebuilt from there without embedding again. Each build writes a
new folder of NumPy arrays, a slice at a time (search/index_build.py), and then points `current.json` at it in one
rename; workers memory-map the arrays (so they share one copy in the page cache) and switch when the pointer
changes. A build reuses the previous generation's term counts, BM25 scores and facets, analysing and reading from
the database only the papers changed since, hard-links the files it would write unchanged, and extends its graph
when the new vectors can be added to it; `full=True` analyses and scores every paper again and links a new graph.

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
from typing import Literal

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
from paperboard.search.index_build import (
    DEFAULT_SLICES,
    BuildSlices,
    KeywordFiles,
    link_or_copy,
    read_vocabulary,
    readable_scores,
    write_keyword_files,
    write_vector_files,
)
from paperboard.search.keyword_index import KeywordIndex
from paperboard.search.npy_stream import read_rows, row_count
from paperboard.search.shared_index import PublishedGeneration, download, is_shared, latest, publish
from paperboard.search.vector_index import DEFAULT_EXACT_MAX, VectorIndex

# 2: words no longer include underscores.
FORMAT_VERSION = 2
POINTER = "current.json"
# Held while a generation is put in place in the folder (by a build or a download), by one process of the host.
FOLDER_LOCK = "folder.lock"
_READ_CHUNK = 2000
# A generation's files, by what they hold (besides `manifest.json`), for those a build takes from the previous one.
KEYWORD_FILES = (
    "papers.npy",
    "vocabulary.txt",
    "counts_data.npy",
    "counts_indices.npy",
    "counts_indptr.npy",
    "scores_data.npy",
    "scores_indices.npy",
    "scores_indptr.npy",
)
FACET_FILES = ("published.npy", "has_code.npy", "categories_indices.npy", "categories_indptr.npy", "categories.json")
VECTOR_FILES = ("vector_papers.npy", "vectors.npy")
# The prefix of a generation's folder while it is being built.
_BUILDING = ".building-"
# An incremental build analyses the changed papers together, in memory (100,000 abstracts: about 200 MiB); above
# that many and this share of the papers, it analyses them all again instead, a slice at a time.
MAX_CHANGED = 100_000
MAX_CHANGED_SHARE = 0.25


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


def _changed_since(session: Session, since: datetime | None) -> np.ndarray:
    """Ids of the papers changed (added, revised, recategorised, given a code link, withdrawn) after `since`."""
    if since is None:
        return np.empty(0, dtype=np.int64)
    return np.fromiter(session.scalars(select(Paper.id).where(Paper.changed_at > since)), dtype=np.int64)


def _read_facets(folder: Path, papers: int, *, mmap_mode: Literal["r"] | None = "r") -> PaperFacets:
    """The facets a generation's folder holds for its `papers` rows."""
    category_names = json.loads((folder / "categories.json").read_text(encoding="utf-8"))
    categories_indices = np.load(folder / "categories_indices.npy", mmap_mode=mmap_mode)
    categories = sparse.csc_matrix(
        (
            np.ones(len(categories_indices), dtype=np.bool_),
            categories_indices,
            np.load(folder / "categories_indptr.npy", mmap_mode=mmap_mode),
        ),
        shape=(papers, len(category_names)),
        copy=False,
    )
    return PaperFacets(
        np.load(folder / "published.npy", mmap_mode=mmap_mode),
        np.load(folder / "has_code.npy", mmap_mode=mmap_mode),
        categories,
        category_names,
    )


def _link(source: Path, target: Path, names: Sequence[str]) -> None:
    for name in names:
        link_or_copy(source / name, target / name)


def _write_facets(folder: Path, facets: PaperFacets) -> None:
    np.save(folder / "published.npy", facets.published)
    np.save(folder / "has_code.npy", facets.has_code)
    np.save(folder / "categories_indices.npy", facets.categories.indices)
    np.save(folder / "categories_indptr.npy", facets.categories.indptr)
    (folder / "categories.json").write_text(json.dumps(facets.category_names), encoding="utf-8")


def _vector_count(session: Session, model: str, after: int) -> int:
    """Stored vectors of papers not withdrawn, with ids above `after`."""
    statement = (
        select(func.count())
        .select_from(PaperEmbedding)
        .join(Paper, Paper.id == PaperEmbedding.paper_id)
        .where(Paper.deleted_at.is_(None), PaperEmbedding.model == model, PaperEmbedding.paper_id > after)
    )
    return session.scalar(statement) or 0


def _isoformat(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class IndexStore:
    """Generations of the search index in `directory`."""

    def __init__(self, directory: Path, slices: BuildSlices = DEFAULT_SLICES) -> None:
        self.directory = directory
        self.slices = slices

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
        previous = None if full else self.current_manifest()
        built_at = utcnow()
        generation = f"g{built_at:%Y%m%dT%H%M%S%f}-{os.getpid()}"
        # Written under a name that pointing at a generation never removes (another process of this host may put a
        # downloaded generation in place meanwhile), and renamed once complete. Builds wait for each other, so
        # what is left under that name is a crashed build's.
        for unfinished in self.directory.glob(f"{_BUILDING}*"):
            shutil.rmtree(unfinished, ignore_errors=True)
        folder = self.directory / f"{_BUILDING}{generation}"
        folder.mkdir(parents=True)
        try:
            with database.read_session() as session:
                # Read first: a paper changed while the build reads is then also newer than these marks, so
                # searches take it from the database until the next build, and nothing falls between two builds.
                papers_through = session.scalar(select(func.max(Paper.changed_at)))
                embeddings_through = session.scalar(
                    select(func.max(PaperEmbedding.embedded_at)).where(PaperEmbedding.model == model)
                )
                total = session.scalar(select(func.count()).select_from(Paper).where(Paper.deleted_at.is_(None))) or 0
                since = None if previous is None else previous.papers_through_time
                changed_ids = _changed_since(session, since)
                keyword = self._keyword_files(
                    session, folder, self._reusable_counts(previous), changed_ids, total, progress
                )
                self._facet_files(session, folder, keyword.papers, previous, changed_ids)
                vectors = self._vector_files(
                    session, folder, model, dimensions, exact_max, previous, changed_ids, progress
                )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        manifest = IndexManifest(
            format=FORMAT_VERSION,
            generation=generation,
            model=model,
            dimensions=dimensions,
            papers=len(keyword.papers),
            average_length=keyword.average_length,
            vectors=vectors,
            papers_through=_isoformat(papers_through),
            embeddings_through=_isoformat(embeddings_through),
            built_at=built_at.isoformat(),
            build_seconds=round(time.monotonic() - started, 3),
        )
        # The manifest last: a folder without one is an unfinished generation, never pointed at.
        (folder / "manifest.json").write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
        os.replace(folder, self.directory / generation)
        if is_shared(database):
            # Before it is put in place here: the database always has the generation its builder searches.
            publish(database, generation, built_at, self.directory / generation)
        with self._folder_lock(wait=True):
            self._point_at(generation)
        return manifest

    def _reusable_counts(self, previous: IndexManifest | None) -> IndexManifest | None:
        """The previous generation, if its term counts can be reused."""
        if previous is None or previous.papers_through_time is None:
            return None
        folder = self.directory / previous.generation
        names = ("papers.npy", "counts_data.npy", "counts_indices.npy", "counts_indptr.npy", "vocabulary.txt")
        try:
            if row_count(folder / "papers.npy") != previous.papers or not all((folder / n).is_file() for n in names):
                return None
        except (OSError, ValueError):
            return None
        return previous

    def _facet_files(
        self,
        session: Session,
        folder: Path,
        paper_ids: np.ndarray,
        previous: IndexManifest | None,
        changed_ids: np.ndarray,
    ) -> None:
        """Write the facets of `paper_ids`: those of papers unchanged since the previous generation are its own
        (reading millions of papers' dates and categories from the database took most of an incremental build),
        the others are read from the database."""
        base = self._reusable_facets(previous)
        if base is None:
            _write_facets(folder, facets_for(session, paper_ids))
            return
        base_folder, previous_ids, previous_facets = base
        previous_rows = rows_of(previous_ids, paper_ids)
        fresh = (previous_rows < 0) | np.isin(paper_ids, changed_ids)
        if len(previous_ids) == len(paper_ids) and not fresh.any():
            _link(base_folder, folder, FACET_FILES)
            return
        _write_facets(
            folder,
            previous_facets.merged(previous_rows[~fresh], facets_for(session, paper_ids[fresh]), np.flatnonzero(fresh)),
        )

    def _reusable_facets(self, previous: IndexManifest | None) -> tuple[Path, np.ndarray, PaperFacets] | None:
        """The previous generation's folder, paper ids and facets, if it knows since when papers changed and its files
        can be read."""
        if previous is None or previous.papers_through_time is None:
            return None
        folder = self.directory / previous.generation
        try:
            previous_ids = np.load(folder / "papers.npy", mmap_mode="r")
            facets = _read_facets(folder, len(previous_ids), mmap_mode=None)
        except (OSError, ValueError):
            return None
        return (folder, previous_ids, facets) if len(facets.published) == len(previous_ids) else None

    def _keyword_files(
        self,
        session: Session,
        folder: Path,
        previous: IndexManifest | None,
        changed_ids: np.ndarray,
        total: int,
        progress: Progress,
    ) -> KeywordFiles:
        since = None if previous is None else previous.papers_through_time
        if previous is not None and since is not None and not len(changed_ids):
            base = self.directory / previous.generation
            if readable_scores(base, len(read_vocabulary(base))):
                _link(base, folder, KEYWORD_FILES)
                return KeywordFiles(np.load(folder / "papers.npy"), read_vocabulary(folder), previous.average_length)
        # The changed papers are analysed in one piece: past a share of the catalogue (a first import into a small
        # index), streaming them all through the analysis again is both lighter and faster.
        few_changed = len(changed_ids) <= max(MAX_CHANGED, total * MAX_CHANGED_SHARE)
        if previous is not None and since is not None and few_changed:
            progress.start("Indexing changed papers", total=len(changed_ids))
            keyword = write_keyword_files(
                folder,
                read_documents(session, changed_after=since),
                previous=self.directory / previous.generation,
                previous_average_length=previous.average_length,
                removed_ids=changed_ids,
                slices=self.slices,
            )
            progress.update(completed=len(changed_ids), items=len(changed_ids))
            progress.finish()
            return keyword
        progress.start("Indexing papers", total=total)

        def documents() -> Iterator[tuple[list[int], list[Document]]]:
            done = 0
            for chunk_ids, chunk_documents in read_documents(session):
                yield chunk_ids, chunk_documents
                done += len(chunk_ids)
                progress.update(completed=done, items=done)

        keyword = write_keyword_files(folder, documents(), slices=self.slices)
        progress.finish()
        return keyword

    def _vector_files(
        self,
        session: Session,
        folder: Path,
        model: str,
        dimensions: int,
        exact_max: int,
        previous: IndexManifest | None,
        changed_ids: np.ndarray,
        progress: Progress,
    ) -> int:
        reusable = self._reusable_vectors(session, previous, model, dimensions, changed_ids)
        after = 0 if reusable is None else reusable[1]
        added = _vector_count(session, model, after)
        if previous is not None and reusable is not None and not added:
            graph = reusable[0] / "hnsw.faiss"
            if graph.is_file() == (previous.vectors > exact_max):
                _link(reusable[0], folder, [*VECTOR_FILES, *([graph.name] if graph.is_file() else [])])
                return previous.vectors
        if exact_max < added:
            progress.start("Building the vector graph", total=None, unit="vectors")
        vectors = write_vector_files(
            folder,
            stored_vectors(session, model, dimensions, after=after),
            dimensions,
            exact_max,
            self.slices,
            previous=None if reusable is None else reusable[0],
        )
        if vectors > exact_max:
            progress.update(items=vectors)
            progress.finish()
        return vectors

    def _reusable_vectors(
        self, session: Session, previous: IndexManifest | None, model: str, dimensions: int, changed_ids: np.ndarray
    ) -> tuple[Path, int] | None:
        """The previous generation's folder and its last vector's paper id, if every vector it holds is still
        current, so that the vectors of later papers can be appended to its own (and to its graph). A paper
        withdrawn or embedded again since, below that id, means a new graph: the graph cannot drop a vector."""
        if previous is None or previous.model != model or previous.dimensions != dimensions or not previous.vectors:
            return None
        folder = self.directory / previous.generation
        try:
            if row_count(folder / "vectors.npy") != previous.vectors:
                return None
            last = int(read_rows(folder / "vector_papers.npy", previous.vectors - 1, previous.vectors)[0])
        except (OSError, ValueError, IndexError):
            return None
        # Both looked for through indexes (vectors stored since, papers changed since): counting every vector again
        # reads the whole table of vectors, seconds at 300k papers.
        embedded_since = np.fromiter(
            session.scalars(
                select(PaperEmbedding.paper_id).where(
                    PaperEmbedding.embedded_at > previous.embeddings_through_time, PaperEmbedding.model == model
                )
            ),
            dtype=np.int64,
        )
        if (embedded_since <= last).any():
            return None
        # A paper withdrawn (or back) since, below the last one, whose vector the graph holds (or lacks).
        changed = np.sort(changed_ids[changed_ids <= last])
        indexed = changed[rows_of(np.load(folder / "vector_papers.npy", mmap_mode="r"), changed) >= 0]
        searchable: list[int] = []
        for chunk in in_batches(changed.tolist()):
            searchable.extend(
                session.scalars(
                    select(PaperEmbedding.paper_id)
                    .join(Paper, Paper.id == PaperEmbedding.paper_id)
                    .where(
                        PaperEmbedding.paper_id.in_(chunk), PaperEmbedding.model == model, Paper.deleted_at.is_(None)
                    )
                )
            )
        if sorted(searchable) != indexed.tolist():
            return None
        return folder, last

    def _point_at(self, generation: str) -> None:
        previous = self.current_manifest()
        staged = self.directory / f".{POINTER}.{os.getpid()}"
        staged.write_text(json.dumps({"generation": generation}))
        os.replace(staged, self.pointer)
        self._remove_old_generations(keep={generation, previous.generation if previous else ""})

    def _remove_old_generations(self, keep: set[str]) -> None:
        # The generation just replaced stays, for workers that read the pointer a moment ago and are opening it
        # now; workers that have older ones open keep reading them, since unlinked files live on until closed.
        # Folders that crashed builds of earlier versions left under their final name go too.
        for folder in self.directory.iterdir():
            if folder.is_dir() and folder.name not in keep and folder.name.startswith("g"):
                shutil.rmtree(folder, ignore_errors=True)

    def _array(self, generation: str, name: str) -> np.ndarray:
        return np.load(self.directory / generation / f"{name}.npy", mmap_mode="r")

    def load(self) -> LoadedIndex | None:
        """The generation in use, memory-mapped; None when there is none or its files cannot be read."""
        manifest = self.current_manifest()
        if manifest is None:
            return None
        generation = manifest.generation
        try:
            papers = self._array(generation, "papers")
            vocabulary = read_vocabulary(self.directory / generation)
            scores = sparse.csc_matrix(
                (
                    self._array(generation, "scores_data"),
                    self._array(generation, "scores_indices"),
                    self._array(generation, "scores_indptr"),
                ),
                shape=(len(papers), len(vocabulary)),
                copy=False,
            )
            facets = _read_facets(self.directory / generation, len(papers))
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
