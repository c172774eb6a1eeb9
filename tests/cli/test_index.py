"""`paperboard index`, `paperboard import` and `paperboard worker --once` as real processes: embedding, resuming
after a limit or a kill, rebuilding a lost index without embedding again, and papers searchable after an import."""

from __future__ import annotations

import os
import pty
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from paperboard.db import Database
from paperboard.search.embedder import Embedder
from paperboard.search.engine import SearchMode
from paperboard.search.index_store import IndexStore
from paperboard.search.service import Searcher, SearchRequest
from tests.catalog.test_jsonl import write_lines
from tests.conftest import Cli

TOPICS = [
    ("Sparse attention for long documents", "We make attention sparse so that transformers read long inputs."),
    ("Dense retrieval at scale", "Retrieval with dual encoders over a billion passages."),
    ("Gauge fields on the lattice", "We simulate quantum chromodynamics numerically."),
    ("Crop yields under drought", "A survey of agriculture and rainfall in sub-Saharan Africa."),
    ("Protein structure prediction", "Predicting how proteins fold from their amino acid sequence."),
]


def records(count: int) -> list[dict]:
    return [
        {
            "arxiv_id": f"2506.{number:05d}",
            "title": TOPICS[number % len(TOPICS)][0] + f", part {number}",
            "abstract": TOPICS[number % len(TOPICS)][1],
            "authors": ["Łukasz Kaiser", "Ada Lovelace"],
            "categories": ["cs.CL"],
            "published": "2025-06-02",
        }
        for number in range(1, count + 1)
    ]


def data_dir(cli: Cli) -> Path:
    return Path(cli.env["PAPERBOARD_DATA_DIR"])


def imported(cli: Cli, tmp_path: Path, count: int) -> Cli:
    assert cli.run("init").returncode == 0
    path = write_lines(tmp_path / "papers.jsonl", records(count))
    result = cli.run("import", str(path))
    assert result.returncode == 0, result.stderr
    return cli


def embedding_rows(cli: Cli) -> dict[int, str]:
    """`embedded_at` of each stored vector, by paper id."""
    with sqlite3.connect(data_dir(cli) / "paperboard.sqlite3") as connection:
        return dict(connection.execute("SELECT paper_id, embedded_at FROM paper_embeddings").fetchall())


def embedding_row_count(cli: Cli) -> int:
    with sqlite3.connect(data_dir(cli) / "paperboard.sqlite3") as connection:
        return connection.execute("SELECT count(*) FROM paper_embeddings").fetchone()[0]


def paper_ids(cli: Cli) -> list[int]:
    with sqlite3.connect(data_dir(cli) / "paperboard.sqlite3") as connection:
        return sorted(row[0] for row in connection.execute("SELECT id FROM papers"))


def index_store(cli: Cli) -> IndexStore:
    return IndexStore(data_dir(cli) / "search-index")


def found(cli: Cli, embedder: Embedder, query: str, mode: SearchMode = SearchMode.KEYWORD) -> list[str]:
    database = Database(f"sqlite:///{data_dir(cli) / 'paperboard.sqlite3'}")
    try:
        with database.read_session() as session:
            results = Searcher(index_store(cli), lambda: embedder).search(
                session, SearchRequest(query=query, mode=mode, limit=50)
            )
        return [hit.paper.arxiv_id for hit in results.hits]
    finally:
        database.dispose()


def test_import_builds_the_keyword_index_so_papers_are_searchable_at_once(cli, tmp_path, embedder):
    assert cli.run("init").returncode == 0
    path = write_lines(tmp_path / "papers.jsonl", records(5))

    result = cli.run("import", str(path))

    assert result.returncode == 0, result.stderr
    assert "Search index: 5 papers, 0 with vectors, built in" in result.stderr
    manifest = index_store(cli).current_manifest()
    assert manifest is not None and (manifest.papers, manifest.vectors) == (5, 0)
    assert embedding_rows(cli) == {}
    assert found(cli, embedder, "lattice") == ["2506.00002"]
    assert sorted(found(cli, embedder, "Łukasz Kaiser")) == [f"2506.{number:05d}" for number in range(1, 6)]


def test_index_embeds_every_paper_then_builds(cli, tmp_path, embedder):
    imported(cli, tmp_path, 5)

    result = cli.run("index")

    assert result.returncode == 0, result.stderr
    assert "Embedded 5 papers in" in result.stderr
    assert "Search index: 5 papers, 5 with vectors (5 of 5 embedded), built in" in result.stdout
    assert sorted(embedding_rows(cli)) == paper_ids(cli)
    assert found(cli, embedder, "harvests in dry seasons", SearchMode.SEMANTIC)[:1] == ["2506.00003"]
    again = cli.run("index")
    assert "Embedded 0 papers" in again.stderr
    assert "Search index: 5 papers, 5 with vectors (5 of 5 embedded)" in again.stdout


def test_a_limited_run_leaves_the_rest_for_the_next(cli, tmp_path):
    imported(cli, tmp_path, 5)

    first = cli.run("index", "--limit", "2")
    after_first = embedding_rows(cli)
    second = cli.run("index")

    assert first.returncode == 0, first.stderr
    assert "Embedded 2 papers" in first.stderr
    assert "Search index: 5 papers, 2 with vectors (2 of 5 embedded)" in first.stdout
    assert len(after_first) == 2
    assert "Embedded 3 papers" in second.stderr
    assert "Search index: 5 papers, 5 with vectors (5 of 5 embedded)" in second.stdout
    after_second = embedding_rows(cli)
    assert sorted(after_second) == paper_ids(cli)
    assert {paper: after_second[paper] for paper in after_first} == after_first


def test_a_bad_setting_is_refused_with_its_name(cli, tmp_path):
    imported(cli, tmp_path, 3)
    cli.env["PAPERBOARD_EMBEDDING_PROCESSES"] = "two"

    result = cli.run("index")

    assert result.returncode == 2
    assert "error: PAPERBOARD_EMBEDDING_PROCESSES: Input should be a valid integer" in result.stderr
    assert "Traceback" not in result.stderr
    assert embedding_row_count(cli) == 0


def test_a_negative_limit_is_refused(cli, tmp_path):
    imported(cli, tmp_path, 1)

    result = cli.run("index", "--limit", "-1")

    assert result.returncode == 2
    assert "--limit" in result.stderr


def test_no_embed_only_builds_the_index(cli, tmp_path):
    imported(cli, tmp_path, 5)

    result = cli.run("index", "--no-embed")

    assert result.returncode == 0, result.stderr
    assert "Embedded" not in result.stderr
    assert "Search index: 5 papers, 0 with vectors (0 of 5 embedded)" in result.stdout
    assert embedding_rows(cli) == {}


# More kinds of damage are tried on the index store itself (tests/search/test_service.py).
@pytest.mark.parametrize("damage", ["deleted", "corrupt arrays"])
def test_a_lost_index_is_rebuilt_from_stored_vectors_without_embedding_again(cli, tmp_path, embedder, damage):
    imported(cli, tmp_path, 5)
    assert cli.run("index").returncode == 0
    vectors = embedding_rows(cli)
    store = index_store(cli)
    before = store.current_manifest()
    assert before is not None
    if damage == "deleted":
        shutil.rmtree(store.directory)
    else:
        for array in (store.directory / before.generation).glob("*.npy"):
            array.write_bytes(b"\x93NUMPY garbage")
    # Searches meanwhile read the catalogue from the database.
    assert found(cli, embedder, "lattice") == ["2506.00002"]

    result = cli.run("index", "--no-embed")

    assert result.returncode == 0, result.stderr
    assert "Search index: 5 papers, 5 with vectors (5 of 5 embedded)" in result.stdout
    assert embedding_rows(cli) == vectors
    after = store.load()
    assert after is not None and after.manifest.generation != before.generation
    assert (after.manifest.papers, after.manifest.vectors) == (5, 5)
    assert found(cli, embedder, "harvests in dry seasons", SearchMode.SEMANTIC)[:1] == ["2506.00003"]


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is `parent`, read from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while being read
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def assert_gone_soon(pids: list[int]) -> None:
    """The processes end within 10 s (multiprocessing's resource tracker, one of them, leaves after its parent)."""
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and not zombie(pid) for pid in pids):
        assert time.monotonic() < deadline, f"processes outlived the run: {pids}"
        time.sleep(0.1)


def ignores_sigint(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
    return bool(ignored & (1 << (signal.SIGINT - 1)))


def index_running_in_workers(cli: Cli, tmp_path: Path) -> tuple[subprocess.Popen[str], list[int]]:
    """`paperboard index` started over 200 imported papers, once it has stored a vector, and its child processes."""
    imported(cli, tmp_path, 200)
    run = cli.popen("index")
    deadline = time.monotonic() + 60
    while embedding_row_count(cli) == 0:
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "no vector was stored within a minute"
        time.sleep(0.05)
    workers = child_pids(run.pid)
    assert workers, "the embedding runs in worker processes"
    return run, workers


def test_a_run_killed_while_embedding_resumes_without_duplicates(cli, tmp_path):
    run, workers = index_running_in_workers(cli, tmp_path)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=10)
    kept = embedding_rows(cli)
    assert 0 < len(kept) < 200
    # Orphaned, the embedding processes leave by themselves instead of waiting for work forever.
    assert_gone_soon(workers)

    result = cli.run("index")

    assert result.returncode == 0, result.stderr
    assert f"Embedded {200 - len(kept)} papers" in result.stderr
    assert "Search index: 200 papers, 200 with vectors (200 of 200 embedded)" in result.stdout
    rows = embedding_rows(cli)
    assert sorted(rows) == paper_ids(cli)
    assert embedding_row_count(cli) == 200
    # What the killed run stored was kept, not embedded a second time.
    assert {paper: rows[paper] for paper in kept} == kept


def test_ctrl_c_while_embedding_stops_the_run_and_its_processes_quietly(cli, tmp_path):
    run, workers = index_running_in_workers(cli, tmp_path)
    # A worker busy embedding hands the interruption back to the parent quietly; one waiting for work would print a
    # traceback, so they all leave SIGINT to the parent.
    assert all(ignores_sigint(pid) for pid in workers)

    # What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    for pid in [run.pid, *workers]:
        os.kill(pid, signal.SIGINT)
    _, stderr = run.communicate(timeout=60)

    assert run.returncode == 130
    assert "interrupted" in stderr
    assert "Traceback" not in stderr, stderr
    assert 0 < embedding_row_count(cli) < 200
    assert_gone_soon(workers)


def test_worker_once_embeds_and_builds_then_has_nothing_to_do(cli, tmp_path, embedder):
    imported(cli, tmp_path, 5)
    built_by_import = index_store(cli).current_manifest()

    result = cli.run("worker", "--once")

    assert result.returncode == 0, result.stderr
    assert "search index built: 5 papers, 5 vectors" in result.stderr
    assert sorted(embedding_rows(cli)) == paper_ids(cli)
    manifest = index_store(cli).current_manifest()
    assert manifest is not None and built_by_import is not None
    assert manifest.generation != built_by_import.generation
    assert (manifest.papers, manifest.vectors) == (5, 5)
    assert found(cli, embedder, "harvests in dry seasons", SearchMode.SEMANTIC)[:1] == ["2506.00003"]
    # In a log (no terminal), a plain line with the total; the round's end closes the report.
    assert re.search(r"^\S+ \S+ paperboard\.search\.indexing 5 papers wait for a vector$", result.stderr, re.M)
    assert re.search(r"^\S+ \S+ paperboard\.worker Embedding papers: started$", result.stderr, re.M)
    assert "Embedding papers: finished, 5 papers in" in result.stderr

    idle = cli.run("worker", "--once")

    assert idle.returncode == 0, idle.stderr
    assert "search index built" not in idle.stderr
    assert index_store(cli).current_manifest() == manifest


def worker_on_a_terminal(cli: Cli) -> str:
    """What `paperboard worker --once` shows on a terminal (a pseudo-terminal), escape sequences taken out."""
    controller, terminal = pty.openpty()
    run = subprocess.Popen(
        cli.command("worker", "--once"), env=cli.env, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal's other end closed: the worker has exited
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert run.wait(timeout=60) == 0
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode())


def test_on_a_terminal_the_worker_shows_a_bar_with_the_total_and_time_left(cli, tmp_path):
    imported(cli, tmp_path, 5)
    text = worker_on_a_terminal(cli)
    assert re.search(r"Embedding papers .*100%.*5 papers.*ETA", text), text
    assert "worker started" in text


def test_on_a_terminal_shared_with_the_server_the_worker_writes_plain_lines(cli, tmp_path):
    # As `./dev up` starts it: a bar redrawn there would overwrite the server's lines.
    imported(cli, tmp_path, 5)
    cli.env["TTY_INTERACTIVE"] = "0"
    text = worker_on_a_terminal(cli)
    assert "Embedding papers: finished, 5 papers in" in text
    assert "ETA" not in text
