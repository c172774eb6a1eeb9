"""`paperboard backup` and `paperboard restore` as real processes, on each backend: a backup taken while a served
instance takes votes and comments (and sign-ups and subscriptions are stored beside it) restores into an empty
database with every row that existed when it began and none that never existed; an older backup is upgraded;
refusals change nothing."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import insert, select

from paperboard.clock import utcnow
from paperboard.community import accounts
from paperboard.community.api_tokens import create_token
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Comment, OutboxMessage, Paper, User, Vote
from paperboard.db.schema import _alembic_config, current_revision, head_revision
from paperboard.digest.subscriptions import Preferences, subscribe
from paperboard.search.index_store import IndexStore
from tests.community.factories import PASSWORD, add_paper, add_user
from tests.conftest import Cli, _postgres_database, cli_environment, serving

PAPERS = 12
VOTERS = 4
# The tables whose rows a restore must bring back, each compared row by row, every column.
TABLES = (Paper, User, Vote, Comment, OutboxMessage)
Rows = dict[str, set[tuple[str, ...]]]


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty database on the same backend as `database_url`, to restore into."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'paperboard.sqlite3'}"
    else:
        yield from _postgres_database()


def table_rows(database: Database) -> Rows:
    """Every row of each table, as the reprs of its values (authors and categories are lists, which do not hash)."""
    with database.read_session() as session:
        return {
            model.__tablename__: {tuple(map(repr, row)) for row in session.execute(select(model.__table__))}
            for model in TABLES
        }


def vote_and_comment(base_url: str, token: str, papers: list[str], stop: threading.Event, done: list[float]) -> None:
    """Upvote and comment through the API until `stop`, noting when each pair of writes was answered."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            paper = papers[n % len(papers)]
            assert client.post(f"/api/papers/{paper}/upvote").status_code == 200
            response = client.post(f"/api/papers/{paper}/comment", json={"comment": f"Comment {n} on {paper}"})
            assert response.status_code == 201, response.text
            done.append(time.monotonic())


def sign_up_and_subscribe(database: Database, stop: threading.Event, done: list[float]) -> None:
    """New accounts and subscriptions (each with its confirmation mail in the outbox) until `stop`."""
    settings = Settings(secret_key="backup test")
    password_hash = accounts.hash_password(PASSWORD)
    for n in itertools.count():
        if stop.is_set():
            return
        with database.session() as session:
            accounts.create_user(session, f"reader{n}", password_hash)
            # Each from an address of its own: the subscription requests of one address are limited.
            subscribe(
                session,
                settings,
                f"reader{n}@example.org",
                Preferences(),
                client=f"10.0.{n // 250}.{n % 250}",
                now=utcnow(),
            )
        done.append(time.monotonic())
        # A steady trickle rather than a flood: the other writers and the backup share the machine's cores.
        time.sleep(0.2)


def wait_for_writes(writers: list[Future[None]], done: list[float], count: int) -> None:
    """Until `count` writes were answered; a writer that stopped early raises its error here."""
    deadline = time.monotonic() + 120
    while len(done) < count:
        for writer in writers:
            if writer.done():
                writer.result()
                raise AssertionError("a writer stopped before it was asked to")
        assert time.monotonic() < deadline, f"only {len(done)} writes in two minutes"
        time.sleep(0.05)


def test_a_backup_taken_under_writes_restores_every_row(database_url, empty_database_url, tmp_path):
    cli = Cli(cli_environment(tmp_path / "data", database_url, api_requests_per_minute="0"))
    backup_file = tmp_path / "backups" / "paperboard.backup"
    with serving(cli, tmp_path / "data") as server:
        database = Database(database_url)
        papers = [f"2506.{number:05d}" for number in range(1, PAPERS + 1)]
        for arxiv_id in papers:
            add_paper(database, arxiv_id)
        tokens = []
        for n in range(VOTERS):
            user = add_user(database, f"voter{n}")
            with database.session() as session:
                tokens.append(create_token(session, user, "backup test").plaintext)
        stop = threading.Event()
        done: list[float] = []
        with ThreadPoolExecutor(max_workers=VOTERS + 1) as pool:
            writers = [pool.submit(vote_and_comment, server.base_url, token, papers, stop, done) for token in tokens]
            writers.append(pool.submit(sign_up_and_subscribe, database, stop, done))
            try:
                wait_for_writes(writers, done, 20)
                before = table_rows(database)
                started = time.monotonic()
                result = cli.run("backup", str(backup_file))
                finished = time.monotonic()
            finally:
                stop.set()
            for writer in writers:
                writer.result()
        after = table_rows(database)
        database.dispose()
    assert result.returncode == 0, result.stderr
    assert "Backed up" in result.stdout
    # The writes went on while the backup was being taken.
    assert sum(started < moment < finished for moment in done) > 0

    restored_cli = Cli(cli_environment(tmp_path / "restored", empty_database_url))
    result = restored_cli.run("restore", str(backup_file))
    assert result.returncode == 0, result.stderr
    assert f"Restored {backup_file}" in result.stdout
    restored_database = Database(empty_database_url)
    restored = table_rows(restored_database)
    for name in before:
        # Everything committed before the backup began is there, and nothing that was never written.
        assert before[name] <= restored[name] <= after[name], name
        assert restored[name], name
    assert current_revision(restored_database) == head_revision()
    # The search index was rebuilt from the restored papers.
    manifest = IndexStore(Settings(data_dir=tmp_path / "restored").search_index_dir).current_manifest()
    assert manifest is not None and manifest.papers == PAPERS
    # The restored database goes on taking writes (on PostgreSQL, its sequences came back too).
    creation = restored_cli.run("user", "create", "after-restore", "--password-stdin", input=PASSWORD + "\n")
    assert creation.returncode == 0, creation.stderr
    restored_database.dispose()


def test_an_older_backup_is_restored_and_upgraded(database_url, empty_database_url, tmp_path):
    database = Database(database_url)
    previous = "0006"
    assert previous != head_revision()
    command.upgrade(_alembic_config(database), previous)
    # Written as the catalogue stood then: today's store also fills tables that came later (paper_authors).
    with database.session() as session:
        session.execute(
            insert(Paper.__table__),
            [
                {
                    "arxiv_id": "2506.00001",
                    "title": "A paper",
                    "abstract": "",
                    "authors": ["Ada Lovelace"],
                    "published_at": datetime(2025, 6, 1),
                }
            ],
        )
    database.dispose()
    backup_file = tmp_path / "old.backup"
    assert Cli(cli_environment(tmp_path / "data", database_url)).run("backup", str(backup_file)).returncode == 0

    result = Cli(cli_environment(tmp_path / "restored", empty_database_url)).run("restore", str(backup_file))
    assert result.returncode == 0, result.stderr
    assert f"schema {previous}, upgraded to schema {head_revision()}" in " ".join(result.stdout.split())
    restored = Database(empty_database_url)
    assert current_revision(restored) == head_revision()
    with restored.read_session() as session:
        assert session.scalars(select(Paper.arxiv_id)).all() == ["2506.00001"]
    restored.dispose()


def test_refusals_change_nothing(database_url, empty_database_url, tmp_path):
    source_cli = Cli(cli_environment(tmp_path / "data", database_url))
    assert source_cli.run("init").returncode == 0
    source = Database(database_url)
    add_paper(source, "2506.00001")
    backup_file = tmp_path / "paperboard.backup"
    assert source_cli.run("backup", str(backup_file)).returncode == 0
    written = backup_file.read_bytes()

    again = source_cli.run("backup", str(backup_file))
    assert again.returncode == 1
    assert "exists" in again.stderr and "--force" in again.stderr
    assert backup_file.read_bytes() == written

    # The source is not empty: restoring over it would lose what it holds.
    rows = table_rows(source)
    refused = source_cli.run("restore", str(backup_file))
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())
    assert "is not empty (" in message and "papers: 1)" in message
    assert table_rows(source) == rows
    source.dispose()

    target_cli = Cli(cli_environment(tmp_path / "restored", empty_database_url))
    not_a_backup = tmp_path / "papers.jsonl"
    not_a_backup.write_text('{"id": "2506.00001"}\n')
    refused = target_cli.run("restore", str(not_a_backup))
    assert refused.returncode == 1
    assert "is not a Paperboard backup" in " ".join(refused.stderr.split())
    # The start of a backup of the other backend.
    other_kind = tmp_path / "other.backup"
    other_kind.write_bytes((b"PGDMP" if database_url.startswith("sqlite") else b"SQLite format 3\x00") + bytes(100))
    refused = target_cli.run("restore", str(other_kind))
    assert refused.returncode == 1
    assert "restore it into a" in " ".join(refused.stderr.split())
    target = Database(empty_database_url)
    assert current_revision(target) is None
    target.dispose()
