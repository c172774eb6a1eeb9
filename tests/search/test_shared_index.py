"""Index generations shared through the database: on PostgreSQL a build is stored in chunks with its files' hashes
and another data folder downloads it whole; a damaged download is never put in place; the last two are kept. On
SQLite (one machine) nothing goes through the database."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from paperboard.db import Database
from paperboard.db.models import SearchIndexChunk, SearchIndexGeneration
from paperboard.search import shared_index
from paperboard.search.index_store import IndexStore
from paperboard.search.service import Searcher, SearchRequest
from paperboard.search.shared_index import DamagedDownload
from tests.search.test_service import PAPERS, add_numbered, arxiv_id, build


def files(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }


def stored_generations(database: Database) -> list[str]:
    with database.read_session() as session:
        return list(session.scalars(select(SearchIndexGeneration.generation).order_by(SearchIndexGeneration.built_at)))


@pytest.fixture
def catalogue(database: Database) -> Database:
    for number in PAPERS:
        add_numbered(database, number)
    return database


def test_another_folder_downloads_the_generation_whole(catalogue, embedder, tmp_path, monkeypatch):
    # Small chunks, so that every file of a generation of a few papers spans several.
    monkeypatch.setattr(shared_index, "CHUNK_BYTES", 100)
    builder, host = IndexStore(tmp_path / "builder"), IndexStore(tmp_path / "host")
    manifest = build(catalogue, builder, embedder)

    host.sync(catalogue)

    if catalogue.backend == "sqlite":
        assert stored_generations(catalogue) == [] and host.current_manifest() is None
        return
    assert host.current_manifest() == manifest
    assert files(host.directory / manifest.generation) == files(builder.directory / manifest.generation)
    with catalogue.read_session() as session:
        assert session.scalar(select(func.max(func.length(SearchIndexChunk.data)))) == 100
        assert session.scalar(select(func.max(SearchIndexChunk.position))) > 1
    searcher = Searcher(host, lambda: embedder)
    with catalogue.read_session() as session:
        hits = searcher.search(session, SearchRequest(query="attention")).hits
    assert arxiv_id(1) in [hit.paper.arxiv_id for hit in hits]


def test_a_damaged_download_is_not_put_in_place(catalogue, embedder, tmp_path):
    if catalogue.backend == "sqlite":
        pytest.skip("generations go through the database on PostgreSQL only")
    builder, host = IndexStore(tmp_path / "builder"), IndexStore(tmp_path / "host")
    build(catalogue, builder, embedder)
    with catalogue.session() as session:
        session.execute(update(SearchIndexChunk).where(SearchIndexChunk.position == 0).values(data=b"garbage"))

    with pytest.raises(DamagedDownload):
        host.sync(catalogue)

    assert host.current_manifest() is None
    assert [path.name for path in host.directory.iterdir()] == ["folder.lock"]


def test_the_database_keeps_the_last_two_generations_and_folders_follow(catalogue, embedder, tmp_path):
    if catalogue.backend == "sqlite":
        pytest.skip("generations go through the database on PostgreSQL only")
    first, second = IndexStore(tmp_path / "first"), IndexStore(tmp_path / "second")
    built = [build(catalogue, first, embedder, full=True).generation]
    # A build in another folder starts from the database's newest generation, and publishes its own.
    built.append(build(catalogue, second, embedder, full=True).generation)
    with catalogue.read_session() as session:
        assert first.newer_generation(session).generation == built[-1]
    built.append(build(catalogue, first, embedder, full=True).generation)

    assert stored_generations(catalogue) == built[1:]
    second.sync(catalogue)
    assert second.current_manifest().generation == built[-1]
    with catalogue.read_session() as session:
        chunked = set(session.scalars(select(SearchIndexChunk.generation).distinct()))
    assert chunked == set(built[1:])
