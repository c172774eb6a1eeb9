"""Search index generations shared through PostgreSQL, for sites whose web hosts share nothing but the database.

The worker that builds a generation writes it in its own data folder as on one machine (`index_store`), then
stores every file of the folder in the database, whatever the files are: a row per generation with the files'
names, sizes and SHA-256, and their bytes in chunks of `CHUNK_BYTES`, so that no single value is large and neither
side holds a whole file in memory. The generation is visible to hosts only once its last chunk is committed
(`published_at`). The last `KEEP_GENERATIONS` are kept: a host that began downloading the previous one finishes.

A host whose folder has no generation, or an older one, downloads the newest into a hidden folder, checks each
file's hash and size, renames the folder into place and points `current.json` at it, as a local build does; then it
memory-maps it as usual. Papers changed since the generation was built are searched from the database beside it,
as on one machine (`service`).

SQLite is one machine: its generations stay in the data folder only (storing them in the database file as well
would double the disk they take for nothing).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db import Database
from paperboard.db.models import SearchIndexChunk, SearchIndexGeneration

CHUNK_BYTES = 4 * 1024 * 1024
KEEP_GENERATIONS = 2
# An upload not published after this long was cut short (its worker died); its chunks are removed.
ABANDONED_UPLOAD = timedelta(hours=6)


class DamagedDownload(Exception):
    """A downloaded file does not have the size or hash its generation lists (it was removed meanwhile?)."""


@dataclass(frozen=True)
class PublishedGeneration:
    generation: str
    built_at: datetime


def is_shared(session_or_database: Session | Database) -> bool:
    """Whether generations go through this database: on PostgreSQL, where hosts may be separate machines."""
    if isinstance(session_or_database, Database):
        return session_or_database.backend == "postgresql"
    return session_or_database.get_bind().dialect.name == "postgresql"


def latest(session: Session) -> PublishedGeneration | None:
    """The newest published generation; one indexed query, cheap enough for every refresh of a web worker."""
    row = session.execute(
        select(SearchIndexGeneration.generation, SearchIndexGeneration.built_at)
        .where(SearchIndexGeneration.published_at.is_not(None))
        .order_by(SearchIndexGeneration.published_at.desc())
        .limit(1)
    ).first()
    return None if row is None else PublishedGeneration(row.generation, row.built_at)


def publish(database: Database, generation: str, built_at: datetime, folder: Path) -> None:
    """Store every file under `folder` as the generation `generation`, then make it the newest; the oldest beyond
    `KEEP_GENERATIONS` and abandoned uploads are removed."""
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    listed = []
    with database.session() as session:
        session.add(SearchIndexGeneration(generation=generation, built_at=built_at, files=[], published_at=None))
    for path in files:
        name = path.relative_to(folder).as_posix()
        digest = hashlib.sha256()
        with path.open("rb") as source:
            position = 0
            while chunk := source.read(CHUNK_BYTES):
                digest.update(chunk)
                # A transaction per chunk: the server never holds more than one chunk of a large upload pending.
                with database.session() as session:
                    session.add(SearchIndexChunk(generation=generation, file=name, position=position, data=chunk))
                position += 1
        listed.append({"name": name, "size": path.stat().st_size, "sha256": digest.hexdigest()})
    now = utcnow()
    with database.session() as session:
        session.execute(
            update(SearchIndexGeneration)
            .where(SearchIndexGeneration.generation == generation)
            .values(files=listed, published_at=now)
        )
        kept = session.scalars(
            select(SearchIndexGeneration.generation)
            .where(SearchIndexGeneration.published_at.is_not(None))
            .order_by(SearchIndexGeneration.published_at.desc())
            .limit(KEEP_GENERATIONS)
        ).all()
        finished_or_abandoned = SearchIndexGeneration.published_at.is_not(None) | (
            SearchIndexGeneration.built_at < now - ABANDONED_UPLOAD
        )
        session.execute(
            delete(SearchIndexGeneration).where(SearchIndexGeneration.generation.not_in(kept), finished_or_abandoned)
        )


def download(session: Session, generation: str, folder: Path) -> None:
    """Write the files of `generation` under `folder` (which must not exist), checking each one's size and hash."""
    files = session.scalar(select(SearchIndexGeneration.files).where(SearchIndexGeneration.generation == generation))
    if files is None:
        raise DamagedDownload(f"generation {generation} is no longer in the database")
    folder.mkdir(parents=True)
    for listed in files:
        target = folder / listed["name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with target.open("wb") as output:
            position = 0
            # A chunk at a time: a download holds a few MiB, whatever the size of the file.
            while (
                chunk := session.scalar(
                    select(SearchIndexChunk.data).where(
                        SearchIndexChunk.generation == generation,
                        SearchIndexChunk.file == listed["name"],
                        SearchIndexChunk.position == position,
                    )
                )
            ) is not None:
                output.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                position += 1
        if size != listed["size"] or digest.hexdigest() != listed["sha256"]:
            raise DamagedDownload(f"{listed['name']} of generation {generation} does not match its hash")
