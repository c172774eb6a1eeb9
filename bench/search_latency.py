"""Search latency and memory (issue 5): through HTTP on a filled instance, in-process on a synthetic corpus of up to
a million papers, and the time and memory of building the index.

    .venv/bin/python bench/search_latency.py http --data-dir DIR [--snapshot] [--duration 15] [--clients 4]
        [--queries 300] [--warmup 60] [--limit 20] [--seed 11]
    .venv/bin/python bench/search_latency.py synthetic [--papers 1000000] [--exact-max 200000] [--queries 300]
        [--recall-queries 200] [--centroids N] [--vectors-from SQLITE] [--spread 0.7] [--seed 11]
    .venv/bin/python bench/search_latency.py indexing --data-dir DIR
    .venv/bin/python bench/search_latency.py instance --data-dir NEW_DIR [--papers 1000000] [--vectors-from SQLITE]
        [--vector-share 1.0] [--no-build]
    .venv/bin/python bench/search_latency.py day --data-dir DIR [--papers 5000]

Queries (all modes): `--queries` drawn with `--seed` from the shared corpus (`../shared/data/papers.jsonl.gz`), so
that they are varied rather than cache-friendly repeats: runs of 3-8 words of a title, runs of 4-10 words of an
abstract sentence, one or two words of a title (common words: the longest lists of postings), and the descriptive
queries written by hand in `bench/data/search_queries*.jsonl`.

http: serves DIR with `paperboard serve --workers 2` (page cache off, PAPERBOARD_PAGE_CACHE_SECONDS=0, so that no
answer comes from memory; rate limits off; the rest of the environment passes to the server, so that, e.g.,
OPENBLAS_NUM_THREADS=1 can be tried), sends `--warmup` queries of each mode on new connections (so both workers load
the index and the model; every answer must be a 200; it counts empty ones and prints the first request's time, which
includes loading), then drives `GET /api/papers/search?q=...&mode=...&limit=N` with wrk (a Lua script cycling
through the queries) for `--duration` seconds: one client at a time (sequential latency) for each mode and for the
search page's results as htmx asks for them while one types (`GET /search?q=...&mode=hybrid`, `HX-Request: true`: 20
results, highlighted; row `page`), then `--clients` concurrent clients (each request on a new connection, as
independent visitors: a kept connection stays on the worker that accepted it, and one worker may accept them all).
Prints requests/s, p50/p90/p99/max latency, the workers' CPU time per request (less sensitive to other work on the
machine than latency) and each worker's CPU time in the run (which shows whether both took part); after the runs,
each worker's memory: VmRSS, its peak VmHWM, anonymous and file-backed RSS (the index's memory-mapped arrays are
file-backed and shared between workers) and PSS (shared pages divided among the processes that map them).
The index in DIR must exist (`paperboard index`). --snapshot never writes to DIR: it copies DIR's database with
SQLite's backup API (consistent even while another process writes to it) into a new /tmp/latency-* folder, builds
the index there with `paperboard index --no-embed --full` (measured as in `indexing`) and serves the copy.

synthetic: no HTTP, no database: `--papers` documents made from the real corpus (each takes a real paper's title and
authors, and its abstract's sentences, each replaced with probability 1/2 by a sentence of another abstract, so
that term frequencies and document lengths are those of real papers) and as many vectors around `--centroids`
real vectors (embedded titles of random papers, one per 100 papers by default, or the vectors stored in
`--vectors-from`, a COPY of a Paperboard database): each is the unit vector of its centroid plus Gaussian noise of
norm `--spread`. The defaults were chosen on the first 11,392 papers embedded: queries found their nearest real
paper at a median cosine of 0.52 and their 10th at 0.42 (0.51 and 0.39 among as many synthetic vectors with spread
0.7), and a real paper's 10th nearest neighbour was at 0.65, where two synthetic vectors of one cluster are at about
1/(1 + spread²) = 0.67. The noise is isotropic, which probably makes the graph's work harder than on real vectors.
Builds the keyword index (`TermCounts`, then `KeywordIndex.from_counts`) and `VectorIndex.build(...,
exact_max=--exact-max)`, so an HNSW graph above that size, timing each step (wall and CPU), then times the engine's
hybrid `rank` as the search service calls it (depth 200, the packaged embedder with one thread, as in a web worker)
and each of its steps. Prints the peak RSS of the process (`ru_maxrss`) and its RSS after each step, the sizes of
the index's structures, and the recall@10 (and @100) of the graph search against an exact scan of the same vectors
over `--recall-queries` queries, with the exact scan's time.

indexing: copies DIR's database as --snapshot does and runs `paperboard index --no-embed --full` on the copy,
printing its wall time, CPU time and peak RSS (`wait4`'s rusage of the child) and the index's size on disk. The
embedding phase is measured separately (`paperboard index` prints its rate; bench/embedder.py).

instance: a synthetic instance to serve with `http`: a new data folder whose SQLite database holds `--papers`
papers made as `synthetic` makes its documents (arXiv ids 2001.10000 onwards, one date each in 2020-2026), written
to a JSON Lines file in the folder and imported with `import_file` as `paperboard import` does (its rate is printed;
the file is removed afterwards) and, as if `paperboard index` had embedded them, a stored vector per paper (or for
the first `--vector-share` of them) as `synthetic` makes its vectors, a chunk at a time; then
`paperboard index --no-embed --full` builds its index, measured as in `indexing` (not with `--no-build`).

day: a day's new papers (`--papers`, 5,000 by default) added to an indexed instance as `instance` adds them, each
with a stored vector, then the incremental build (`paperboard index --no-embed`, as the worker and `paperboard
import` run it), measured as in `indexing`.

The machine, and the load average before and after, are printed: on 2 cores, other work running meanwhile (an
embedding job, tests) shows in every figure. Targets (issue 5): through HTTP at 128k papers with 2 workers, hybrid
p50 <= 20 ms and p99 <= 60 ms; at 1M papers p50 <= 50 ms, with memory reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, insert, select

from pages import serve
from paperboard.catalog.jsonl import import_file
from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Paper, PaperEmbedding
from paperboard.db.schema import upgrade
from paperboard.search.analysis import STOPWORDS, Document, parse_query
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embedding_counts, embedding_row, model_key, stored_vectors, text_digest
from paperboard.search.engine import DEFAULT_FUSION, SearchMode, fuse, keyword_ranking, rank, semantic_ranking
from paperboard.search.index_store import IndexStore
from paperboard.search.indexing import index_is_behind
from paperboard.search.keyword_index import KeywordIndex, TermCounts
from paperboard.search.service import QUERY_EMBEDDING_THREADS, RESULTS_DEPTH
from paperboard.search.vector_index import DEFAULT_EXACT_MAX, VectorIndex
from search_quality import DEV_QUERIES, SHARED_DATA, TEST_QUERIES, CorpusPaper, load_corpus

MODES = (SearchMode.KEYWORD, SearchMode.SEMANTIC, SearchMode.HYBRID)
# The row of the search page's results fragment (hybrid), beside the API's modes.
PAGE = "page"
DATABASE_FILE = "paperboard.sqlite3"
MIB = 1 << 20
GIB = 1 << 30
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_EDGE_PUNCTUATION = ".,:;!?()[]{}\"'`"

# Reads the paths to request (one a line) from the file named after `--`; each thread starts at its own place in the
# list, and the summary line gives exact percentiles (in microseconds) rather than wrk's rounded ones.
WRK_SCRIPT = """
local paths = {}
local next_path = 1
local threads = {}
local headers = {}

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    table.insert(paths, line)
  end
  next_path = 1 + math.floor(number * #paths / 4) % #paths
  if args[2] == "close" then
    headers["Connection"] = "close"
  end
  -- The search page answers htmx's requests with the results alone, as it does while someone types.
  headers["HX-Request"] = "true"
end

function request()
  local path = paths[next_path]
  next_path = next_path % #paths + 1
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.status + errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def print_machine() -> None:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"
    )
    print(f"load average at start (1, 5, 15 min): {load_average()}", flush=True)


def percentiles(samples_ms: Sequence[float]) -> str:
    values = np.asarray(samples_ms)
    return (
        f"p50 {np.percentile(values, 50):7.2f}  p90 {np.percentile(values, 90):7.2f}  "
        f"p99 {np.percentile(values, 99):7.2f}  max {values.max():7.2f} ms"
    )


def _clean_words(text: str) -> list[str]:
    return [word for word in (raw.strip(_EDGE_PUNCTUATION) for raw in text.split()) if word]


def _window(words: list[str], rng: random.Random, shortest: int, longest: int) -> str | None:
    """A run of `shortest` to `longest` words, or None when it has fewer than two that are not stopwords ("In this
    paper we"): nobody searches for those."""
    length = min(len(words), rng.randint(shortest, longest))
    start = rng.randint(0, len(words) - length)
    run = words[start : start + length]
    return " ".join(run) if sum(word.casefold() not in STOPWORDS for word in run) >= min(2, length) else None


def _title_run(paper: CorpusPaper, rng: random.Random) -> str | None:
    words = _clean_words(paper.title)
    return _window(words, rng, 3, 8) if len(words) >= 3 else None


def _abstract_run(paper: CorpusPaper, rng: random.Random) -> str | None:
    sentences = [words for words in map(_clean_words, _SENTENCE_END.split(paper.abstract)) if len(words) >= 4]
    return _window(rng.choice(sentences), rng, 4, 10) if sentences else None


def _title_words(paper: CorpusPaper, rng: random.Random) -> str | None:
    words = [word for word in _clean_words(paper.title) if word.casefold() not in STOPWORDS and len(word) > 2]
    return _window(words, rng, 1, 2) if words else None


def descriptive_queries() -> list[str]:
    return [
        json.loads(line)["query"]
        for path in (TEST_QUERIES, DEV_QUERIES)
        if path.is_file()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def sample_queries(papers: Sequence[CorpusPaper], count: int, seed: int) -> list[str]:
    """`count` distinct queries: a fifth (at most) descriptive, the rest runs of titles, of abstracts and one or two
    title words, in the proportions 8:5:3."""
    rng = random.Random(seed)
    written = descriptive_queries()
    chosen = rng.sample(written, min(len(written), count // 5))
    makers: list[Callable[[CorpusPaper, random.Random], str | None]] = [_title_run] * 8 + [_abstract_run] * 5
    makers += [_title_words] * 3
    queries = dict.fromkeys(chosen)
    while len(queries) < count:
        query = rng.choice(makers)(rng.choice(papers), rng)
        if query:
            queries[query[:250]] = None
    ordered = list(queries)
    rng.shuffle(ordered)
    return ordered


def corpus(path: Path) -> list[CorpusPaper]:
    if not path.is_file():
        sys.exit(f"no corpus at {path}: the queries and the synthetic documents are drawn from it (--corpus PATH)")
    started = time.perf_counter()
    papers = load_corpus(path)
    print(f"corpus: {len(papers):,} papers from {path} ({time.perf_counter() - started:.1f} s to read)", flush=True)
    return papers


def print_query_sample(queries: Sequence[str]) -> None:
    words = [len(query.split()) for query in queries]
    print(f"queries: {len(queries)} ({min(words)} to {max(words)} words, median {int(np.median(words))}), e.g.:")
    for query in queries[:6]:
        print(f"  {query}")


def copy_database(source_dir: Path, target_dir: Path) -> None:
    """A consistent copy of the instance's SQLite database, taken with the backup API while others may write to it;
    the source is opened read-only."""
    source_file = source_dir / DATABASE_FILE
    if not source_file.is_file():
        sys.exit(f"no SQLite database at {source_file}")
    started = time.perf_counter()
    source = sqlite3.connect(f"{source_file.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(target_dir / DATABASE_FILE)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    size = (target_dir / DATABASE_FILE).stat().st_size
    print(
        f"copied {source_file} ({size / MIB:,.0f} MiB) to {target_dir} in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def scratch_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="latency-", dir="/tmp"))


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def measured_index_build(data_dir: Path, *, full: bool = True) -> None:
    """Run `paperboard index --no-embed --full` (or, not `full`, the incremental build) on `data_dir` and print its
    wall time, CPU time and peak RSS."""
    log = data_dir / "index-build.log"
    # Wide enough that its summary line is not wrapped.
    environment = {**os.environ, "PAPERBOARD_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    command = [sys.executable, "-m", "paperboard", "index", "--no-embed", *(["--full"] if full else [])]
    print(f"running `{' '.join(command[3:])}` on {data_dir} (load average {load_average()})", flush=True)
    started = time.perf_counter()
    with open(log, "w") as out:
        child = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT)
        # wait4, not wait: it also returns the child's resource usage, whose ru_maxrss is its peak RSS in KiB.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    output = log.read_text(errors="replace")
    if child.returncode != 0:
        sys.exit(f"`paperboard index` failed ({child.returncode}):\n{output[-3000:]}")
    summary = re.search(r"^Search index: .*$", output, re.MULTILINE)
    index_dir = Settings(data_dir=data_dir).search_index_dir
    manifest = IndexStore(index_dir).current_manifest()
    if summary is None or manifest is None:
        sys.exit(f"`paperboard index` left no index in {index_dir}:\n{output[-3000:]}")
    print(f"  {summary.group(0)}")
    print(
        f"  wall {elapsed:.1f} s (the build itself {manifest.build_seconds:.1f} s), CPU "
        f"{usage.ru_utime + usage.ru_stime:.1f} s, peak RSS {usage.ru_maxrss * 1024 / MIB:,.0f} MiB; index on disk "
        f"{folder_size(index_dir / manifest.generation) / MIB:,.0f} MiB"
    )
    print(f"  load average after: {load_average()}", flush=True)


def indexing_benchmark(arguments: argparse.Namespace) -> None:
    print_machine()
    scratch = scratch_folder()
    try:
        copy_database(arguments.data_dir, scratch)
        measured_index_build(scratch)
    finally:
        if arguments.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class LoadRun:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    worker_cpu_seconds: list[float]


def describe_index(data_dir: Path) -> None:
    """Print what the instance's index holds; exit when it has none."""
    settings = Settings(data_dir=data_dir)
    manifest = IndexStore(settings.search_index_dir).current_manifest()
    if manifest is None:
        sys.exit(
            f"{data_dir} has no search index: build it with `PAPERBOARD_DATA_DIR={data_dir} paperboard index "
            "--no-embed`, or pass --snapshot to benchmark a copy (workers would otherwise index every paper themselves)"
        )
    database = Database(settings.resolved_database_url)
    embedder = Embedder(threads=1)
    try:
        with database.read_session() as session:
            counts = embedding_counts(session, model_key(embedder))
        behind = index_is_behind(database, settings, embedder)
    finally:
        database.dispose()
    scan = "an HNSW graph" if manifest.vectors > settings.search_exact_max_vectors else "an exact scan"
    print(
        f"index: {manifest.papers:,} papers, {manifest.vectors:,} with vectors ({scan}; "
        f"{counts.embedded:,} of {counts.papers:,} papers embedded in the database), built {manifest.built_at}"
    )
    if manifest.vectors < manifest.papers:
        print(
            f"  NOTE: only {manifest.vectors / max(manifest.papers, 1):.0%} of the papers have vectors: semantic "
            "search scans fewer vectors than it will once all are embedded"
        )
    if behind:
        print(
            "  NOTE: the database changed since the index was built: each worker also searches those changes, read "
            "from the database (as a live site between two builds)"
        )


def worker_pids(server_pid: int) -> list[int]:
    """uvicorn's worker processes: the descendants of the server that run multiprocessing's `spawn_main`."""
    found: list[int] = []
    pending = [server_pid]
    while pending:
        pid = pending.pop()
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            pending.extend(int(child) for child in task.read_text().split())
        if pid == server_pid:
            continue
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in command and b"resource_tracker" not in command:
            found.append(pid)
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime, the 14th and 15th fields, counted after the command name's closing parenthesis.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_of(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile (from status) and Pss (from smaps_rollup), in bytes."""
    values: dict[str, int] = {}
    for name in ("status", "smaps_rollup"):
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Pss") and rest.strip().endswith("kB"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def search_path(query: str, mode: SearchMode, limit: int) -> str:
    return "/api/papers/search?" + urllib.parse.urlencode({"q": query, "mode": mode.value, "limit": limit})


def page_path(query: str) -> str:
    """The search page's results (20, highlighted) for a hybrid search, as htmx asks for them while one types."""
    return "/search?" + urllib.parse.urlencode({"q": query, "mode": SearchMode.HYBRID.value})


def warm_up(base: str, queries: Sequence[str], limit: int) -> None:
    """Each query once per mode, each on a new connection so that both workers get requests; checks the answers."""
    for mode in MODES:
        durations: list[float] = []
        empty = 0
        for query in queries:
            started = time.perf_counter()
            response = httpx.get(base + search_path(query, mode, limit), timeout=120)
            durations.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                sys.exit(f"{mode} search for {query!r} answered {response.status_code}: {response.text[:500]}")
            empty += not response.json()
        first = (
            f", the first {durations[0]:,.0f} ms (its worker loaded the index and the model)"
            if mode is MODES[0]
            else ""
        )
        print(
            f"  warm-up, {mode}: {len(queries)} requests on new connections, median {np.median(durations):,.0f} ms"
            f"{first}; {empty} answered no papers",
            flush=True,
        )


def run_wrk(
    url: str,
    paths_file: Path,
    script: Path,
    *,
    clients: int,
    seconds: int,
    workers: Sequence[int],
    new_connections: bool = False,
) -> LoadRun:
    threads = min(clients, 2)
    before = [cpu_seconds(pid) for pid in workers]
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url]
    output = subprocess.run(
        [*command, "--", str(paths_file), "close" if new_connections else "keep-alive"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = [cpu_seconds(pid) for pid in workers]
    match = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.MULTILINE)
    if not match:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    requests, duration_us, p50, p90, p99, longest, errors = map(int, match.groups())
    return LoadRun(
        requests=requests,
        seconds=duration_us / 1e6,
        p50_ms=p50 / 1000,
        p90_ms=p90 / 1000,
        p99_ms=p99 / 1000,
        max_ms=longest / 1000,
        errors=errors,
        worker_cpu_seconds=[end - start for start, end in zip(before, after, strict=True)],
    )


def http_benchmark(arguments: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    print_machine()
    papers = corpus(arguments.corpus)
    queries = sample_queries(papers, arguments.queries, arguments.seed)
    del papers
    print_query_sample(queries)
    data_dir: Path = arguments.data_dir
    scratch = None
    if arguments.snapshot:
        scratch = scratch_folder()
        copy_database(data_dir, scratch)
        measured_index_build(scratch)
        data_dir = scratch
    try:
        describe_index(data_dir)
        with tempfile.TemporaryDirectory(prefix="latency-run-") as run_folder:
            measure_server(Path(run_folder), data_dir, queries, arguments)
    finally:
        if scratch is not None and not arguments.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        elif scratch is not None:
            print(f"kept {scratch}")
    print(f"load average at end: {load_average()}")


def measure_server(run_folder: Path, data_dir: Path, queries: Sequence[str], arguments: argparse.Namespace) -> None:
    script = run_folder / "search.lua"
    script.write_text(WRK_SCRIPT)
    paths_files = {}
    for mode in MODES:
        paths_files[mode] = run_folder / f"{mode}.txt"
        paths_files[mode].write_text("".join(search_path(query, mode, arguments.limit) + "\n" for query in queries))
    paths_files[PAGE] = run_folder / "page.txt"
    paths_files[PAGE].write_text("".join(page_path(query) + "\n" for query in queries))
    server = serve(data_dir, arguments.port, run_folder / "server.log", "0")
    base = f"http://127.0.0.1:{arguments.port}"
    try:
        workers = worker_pids(server.pid)
        print(f"server: `paperboard serve --workers 2`, workers {workers}, page cache off, limit={arguments.limit}")
        warm_up(base, queries[: arguments.warmup], arguments.limit)
        print(
            f"\nwrk, {arguments.duration} s a run (after a 3 s warm-up run); latencies in ms; one client keeps its "
            "connection, concurrent ones open one per request; CPU/req: the workers' CPU ms per request; "
            "worker CPU: seconds each worker used in the run"
        )
        print(
            f"{'mode':<10}{'clients':>8}{'requests':>10}{'req/s':>8}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}"
            f"{'errors':>8}{'CPU/req':>9}  worker CPU"
        )
        runs = [(mode, 1) for mode in (*MODES, PAGE)] + [(mode, arguments.clients) for mode in MODES]
        for mode, clients in runs:
            # One client keeps its connection (and so its worker); concurrent clients open a connection for each
            # request, as independent visitors do, so that the two workers share them (a kept connection stays on
            # the worker that accepted it, and one worker can accept them all).
            for seconds in (3, arguments.duration):
                result = run_wrk(
                    base,
                    paths_files[mode],
                    script,
                    clients=clients,
                    seconds=seconds,
                    workers=workers,
                    new_connections=clients > 1,
                )
            cpu = " / ".join(f"{seconds:.1f}" for seconds in result.worker_cpu_seconds)
            cpu_per_request = sum(result.worker_cpu_seconds) * 1000 / max(result.requests, 1)
            print(
                f"{mode:<10}{clients:>8}{result.requests:>10,}{result.requests / result.seconds:>8.1f}"
                f"{result.p50_ms:>8.1f}{result.p90_ms:>8.1f}{result.p99_ms:>8.1f}{result.max_ms:>8.1f}"
                f"{result.errors:>8}{cpu_per_request:>9.1f}  {cpu}",
                flush=True,
            )
        print(f"\nworker memory after the runs (MiB; load average {load_average()}):")
        print(f"{'pid':>8}{'VmRSS':>8}{'VmHWM':>8}{'RssAnon':>9}{'RssFile':>9}{'Pss':>8}")
        for pid in workers:
            memory = memory_of(pid)
            print(
                f"{pid:>8}"
                + "".join(
                    f"{memory.get(key, 0) / MIB:>{width},.0f}"
                    for key, width in (("VmRSS", 8), ("VmHWM", 8), ("RssAnon", 9), ("RssFile", 9), ("Pss", 8))
                )
            )
    finally:
        server.terminate()
        server.wait()


@contextmanager
def step(label: str) -> Iterator[None]:
    """Prints the wall and CPU time a step took, and the process's RSS after it."""
    print(f"  {label} ...", end="", flush=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    yield
    print(
        f" {time.perf_counter() - started:.1f} s, CPU {time.process_time() - cpu_started:.1f} s "
        f"(RSS {rss_now() / GIB:.2f} GiB, peak {peak_rss() / GIB:.2f} GiB, load average {load_average()})",
        flush=True,
    )


def rss_now() -> int:
    return memory_of(os.getpid())["VmRSS"]


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def synthetic_documents(papers: Sequence[CorpusPaper], count: int, seed: int) -> Iterator[Document]:
    """`count` documents: a real paper's title and authors, and its abstract's sentences, each replaced with
    probability 1/2 by a random sentence of another abstract (sentences are split lazily, paper by paper)."""
    rng = random.Random(seed)
    sentences: dict[int, list[str]] = {}

    def sentences_of(row: int) -> list[str]:
        if row not in sentences:
            sentences[row] = _SENTENCE_END.split(papers[row].abstract)
        return sentences[row]

    for _ in range(count):
        base = rng.randrange(len(papers))
        own = sentences_of(base)
        abstract = " ".join(
            sentence if rng.random() < 0.5 else rng.choice(sentences_of(rng.randrange(len(papers)))) for sentence in own
        )
        yield Document(papers[base].title, abstract, papers[base].authors)


def centroid_vectors(arguments: argparse.Namespace, papers: Sequence[CorpusPaper], seed: int) -> np.ndarray:
    """Real vectors to cluster the synthetic ones around: stored in a database copy, or titles embedded here."""
    if arguments.vectors_from is not None:
        embedder = Embedder(threads=1)
        database = Database(f"sqlite:///{arguments.vectors_from.resolve()}")
        try:
            with database.read_session() as session:
                chunks = [vectors for _, vectors in stored_vectors(session, model_key(embedder), embedder.dimensions)]
        finally:
            database.dispose()
        if not chunks:
            sys.exit(f"{arguments.vectors_from} holds no vectors of the packaged embedder")
        return np.concatenate(chunks)
    rows = random.Random(seed).sample(range(len(papers)), min(centroid_count(arguments), len(papers)))
    return Embedder().embed([papers[row].title for row in rows])


def centroid_count(arguments: argparse.Namespace) -> int:
    return arguments.centroids or max(arguments.papers // 100, 1)


def clustered_vectors(centroids: np.ndarray, count: int, spread: float, seed: int) -> np.ndarray:
    """`count` unit vectors, each its (random) centroid plus isotropic Gaussian noise of expected norm `spread`."""
    rng = np.random.default_rng(seed)
    dimensions = centroids.shape[1]
    vectors = np.empty((count, dimensions), dtype=np.float32)
    for start in range(0, count, 65536):
        end = min(count, start + 65536)
        chunk = centroids[rng.integers(0, len(centroids), end - start)]
        chunk += rng.standard_normal((end - start, dimensions), dtype=np.float32) * (spread / np.sqrt(dimensions))
        vectors[start:end] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return vectors


def graph_bytes(index: VectorIndex) -> int:
    """The HNSW graph's memory: its own copy of the vectors, the neighbour lists, and per-vector levels and offsets."""
    graph = index.graph
    if graph is None:
        return 0
    hnsw = graph.hnsw
    return graph.ntotal * graph.d * 4 + hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4


def sparse_bytes(matrix: object) -> int:
    return sum(getattr(matrix, name).nbytes for name in ("data", "indices", "indptr"))


def recall(index: VectorIndex, exact: VectorIndex, query_vectors: np.ndarray) -> tuple[float, float, list[float]]:
    """Mean recall@10 and @100 of `index` against `exact` (no similarity floor), and the exact scan's times in ms."""
    at_10: list[float] = []
    at_100: list[float] = []
    exact_ms: list[float] = []
    for vector in query_vectors:
        started = time.perf_counter()
        truth, _ = exact.search(vector, 100)
        exact_ms.append((time.perf_counter() - started) * 1000)
        # As the engine asks: RESULTS_DEPTH results, of which fusion reads the first `depth`.
        found, _ = index.search(vector, RESULTS_DEPTH)
        at_10.append(len(np.intersect1d(truth[:10], found[:10])) / 10)
        at_100.append(len(np.intersect1d(truth[:100], found[:100])) / 100)
    return float(np.mean(at_10)), float(np.mean(at_100)), exact_ms


def synthetic_benchmark(arguments: argparse.Namespace) -> None:
    print_machine()
    papers = corpus(arguments.corpus)
    queries = sample_queries(papers, arguments.queries, arguments.seed)
    print_query_sample(queries)
    count = arguments.papers
    paper_ids = np.arange(1, count + 1, dtype=np.int64)
    print(f"\nbuilding a synthetic index of {count:,} papers:")
    with step("documents (made from the corpus)"):
        documents = list(synthetic_documents(papers, count, arguments.seed))
    with step("analysis (TermCounts.build)"):
        counts = TermCounts.build(paper_ids, documents)
    del documents
    with step("BM25 scores (KeywordIndex.from_counts)"):
        keyword = KeywordIndex.from_counts(counts)
    source = (
        f"stored in {arguments.vectors_from}"
        if arguments.vectors_from
        else f"the titles of {centroid_count(arguments):,} random papers, embedded now"
    )
    with step(f"centroid vectors ({source})"):
        centroids = centroid_vectors(arguments, papers, arguments.seed)
    del papers
    with step("synthetic vectors"):
        vectors = clustered_vectors(centroids, count, arguments.spread, arguments.seed)
    with step(f"vector index ({'HNSW graph' if count > arguments.exact_max else 'no graph: exact scan'})"):
        index = VectorIndex.build(paper_ids, vectors, exact_max=arguments.exact_max)
    del vectors
    embedder = Embedder(threads=QUERY_EMBEDDING_THREADS)

    vocabulary = len(keyword.term_ids)
    print(
        f"\nsizes: term counts {sparse_bytes(counts.counts) / MIB:,.0f} MiB ({counts.counts.nnz:,} entries, "
        f"{vocabulary:,} terms), BM25 scores {sparse_bytes(keyword.scores) / MIB:,.0f} MiB, vectors "
        f"{index.vectors.nbytes / MIB:,.0f} MiB, HNSW graph {graph_bytes(index) / MIB:,.0f} MiB (its own copy of the "
        "vectors included)"
    )
    del counts
    print(
        "  a web worker memory-maps the scores and vectors (shared between workers through the page cache) and reads "
        "the graph into its own memory"
    )

    print(f"\nquery timings over {len(queries)} queries (after 20 to warm up), one thread, depth {RESULTS_DEPTH}:")
    print(f"load average: {load_average()}", flush=True)
    time_queries(keyword, index, embedder, queries)

    exact = VectorIndex(index.paper_ids, index.vectors)
    recall_queries = queries[: arguments.recall_queries]
    query_vectors = embedder.embed(recall_queries)
    if index.graph is not None:
        at_10, at_100, exact_ms = recall(index, exact, query_vectors)
        print(
            f"\nHNSW against an exact scan, {len(recall_queries)} queries: recall@10 {at_10:.3f}, recall@100 "
            f"{at_100:.3f}; the exact scan of {count:,} vectors would take {percentiles(exact_ms)}"
        )
    similarities = np.array([exact.search(vector, 10)[1] for vector in query_vectors[:50]])
    print(
        f"cosine of a query to its nearest vector (median of {len(similarities)} queries): "
        f"{np.median(similarities[:, 0]):.2f}, to its 10th {np.median(similarities[:, -1]):.2f}"
    )
    print(f"\npeak RSS of the process: {peak_rss() / GIB:.2f} GiB; load average at end: {load_average()}")


def synthetic_arxiv_id(number: int) -> str:
    """The `number`-th of a run of valid new-style arXiv ids: 90,000 a month from January 2020."""
    month, serial = divmod(number, 90_000)
    return f"{20 + month // 12:02d}{month % 12 + 1:02d}.{10_000 + serial:05d}"


def instance_benchmark(arguments: argparse.Namespace) -> None:
    print_machine()
    data_dir: Path = arguments.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        sys.exit(f"{data_dir} is not empty: `instance` fills a new data folder")
    data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(f"sqlite:///{(data_dir / DATABASE_FILE).resolve()}")
    upgrade(database)
    add_synthetic_papers(database, data_dir, arguments, first_number=0)
    if not arguments.no_build:
        measured_index_build(data_dir)


def day_benchmark(arguments: argparse.Namespace) -> None:
    """A day's new papers, with their vectors, added to an instance whose index exists; then the incremental build
    (`paperboard index --no-embed`, as the worker and imports run it), measured."""
    print_machine()
    data_dir: Path = arguments.data_dir
    if IndexStore(Settings(data_dir=data_dir).search_index_dir).current_manifest() is None:
        sys.exit(f"{data_dir} has no search index to build on: run `instance` without --no-build first")
    database = Database(f"sqlite:///{(data_dir / DATABASE_FILE).resolve()}")
    with database.read_session() as session:
        existing = session.scalar(select(func.count()).select_from(Paper)) or 0
    add_synthetic_papers(database, data_dir, arguments, first_number=existing)
    measured_index_build(data_dir, full=False)


def add_synthetic_papers(
    database: Database, data_dir: Path, arguments: argparse.Namespace, *, first_number: int
) -> None:
    """`--papers` synthetic papers (the `first_number`-th onwards) imported as `paperboard import` does, and a
    stored vector for each (or for the first `--vector-share` of them), as if `paperboard index` had embedded them."""
    papers = corpus(arguments.corpus)
    count = arguments.papers
    rng = random.Random(arguments.seed + first_number)
    first_day = date(2020, 1, 1).toordinal()
    print(f"\nadding {count:,} synthetic papers to {data_dir}:")
    source = data_dir / "synthetic.jsonl"
    with step(f"writing them as JSON Lines ({source.name})"):
        documents = synthetic_documents(papers, count, arguments.seed + first_number)
        with source.open("w", encoding="utf-8") as out:
            for number, document in zip(range(first_number, first_number + count), documents, strict=True):
                record = {
                    "arxiv_id": synthetic_arxiv_id(number),
                    "title": document.title,
                    "abstract": document.abstract,
                    "authors": list(document.authors) or ["Anonymous"],
                    "categories": ["cs.LG"],
                    "published": date.fromordinal(first_day + rng.randrange(7 * 365)).isoformat(),
                }
                out.write(json.dumps(record) + "\n")
    started = time.perf_counter()
    with step("importing them (import_file, as `paperboard import` does, without its index build)"):
        report = import_file(database, source)
    elapsed = time.perf_counter() - started
    print(f"  import: {report.lines:,} papers in {elapsed:.1f} s = {report.lines / elapsed:,.0f} papers/s", flush=True)
    source.unlink()
    with step("centroid vectors"):
        centroids = centroid_vectors(arguments, papers, arguments.seed)
    del papers
    embedder = Embedder(threads=1)
    model = model_key(embedder)
    stored = count if arguments.vector_share is None else int(count * arguments.vector_share)
    with database.read_session() as session:
        after_id = session.scalar(select(func.max(PaperEmbedding.paper_id))) or 0
    with step(f"{stored:,} stored vectors (model {model}; title and abstract vectors both the synthetic one)"):
        # A chunk at a time: 2.8M vectors at once would take 4 GiB.
        done = 0
        while done < stored:
            with database.read_session() as session:
                rows = session.execute(
                    select(Paper.id, Paper.title, Paper.abstract, Paper.changed_at)
                    .where(Paper.id > after_id)
                    .order_by(Paper.id)
                    .limit(min(20_000, stored - done))
                ).all()
            if not rows:
                break
            vectors = clustered_vectors(centroids, len(rows), arguments.spread, arguments.seed + first_number + done)
            now = utcnow()
            with database.session() as session:
                session.execute(
                    insert(PaperEmbedding),
                    [
                        embedding_row(
                            row.id, model, text_digest(row.title, row.abstract), row.changed_at, now, vector, vector
                        )
                        for row, vector in zip(rows, vectors, strict=True)
                    ],
                )
            after_id, done = rows[-1].id, done + len(rows)
    database.dispose()
    print(f"  database {(data_dir / DATABASE_FILE).stat().st_size / MIB:,.0f} MiB", flush=True)


def time_queries(keyword: KeywordIndex, index: VectorIndex, embedder: Embedder, queries: Sequence[str]) -> None:
    depth = max(RESULTS_DEPTH, DEFAULT_FUSION.depth)

    def hybrid(query: str) -> object:
        return rank(
            [(keyword, None)], [(index, None)], query, SearchMode.HYBRID, embedder=embedder, limit=RESULTS_DEPTH
        )

    for query in queries[:20]:
        hybrid(query)
    totals: list[float] = []
    steps: dict[str, list[float]] = {"embed query": [], "keyword (BM25)": [], "vector search": [], "fusion": []}
    for query in queries:
        started = time.perf_counter()
        hybrid(query)
        totals.append((time.perf_counter() - started) * 1000)
    for query in queries:
        marks = [time.perf_counter()]
        keyword_found = keyword_ranking(keyword, parse_query(query), depth)
        marks.append(time.perf_counter())
        vector = embedder.embed_one(query)
        marks.append(time.perf_counter())
        semantic_found = semantic_ranking(index, vector, depth)
        marks.append(time.perf_counter())
        fuse(keyword_found, semantic_found, DEFAULT_FUSION)
        marks.append(time.perf_counter())
        names = ("keyword (BM25)", "embed query", "vector search", "fusion")
        for name, start, end in zip(names, marks[:-1], marks[1:], strict=True):
            steps[name].append((end - start) * 1000)
    print(f"  {'hybrid rank':<16}{percentiles(totals)}")
    for name, samples in steps.items():
        print(f"  {name:<16}{percentiles(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    http = commands.add_parser("http", help="latency through HTTP of an instance served with 2 workers")
    synthetic = commands.add_parser("synthetic", help="in-process latency and memory on a synthetic corpus")
    indexing = commands.add_parser("indexing", help="time and peak memory of building the index of an instance")
    instance = commands.add_parser("instance", help="a new data folder of synthetic papers and vectors, indexed")
    day = commands.add_parser("day", help="a day's synthetic papers added to an instance, then the incremental build")
    for command in (http, synthetic, instance, day):
        command.add_argument("--corpus", type=Path, default=SHARED_DATA / "papers.jsonl.gz")
        command.add_argument("--seed", type=int, default=11)
    for command in (http, synthetic):
        command.add_argument("--queries", type=int, default=300, help="distinct queries drawn from the corpus")
    for command in (http, indexing):
        command.add_argument("--data-dir", type=Path, required=True, help="a filled Paperboard data folder")
        command.add_argument("--keep", action="store_true", help="keep the /tmp/latency-* copy")
    http.add_argument("--snapshot", action="store_true", help="serve a copy of DIR's database, indexed afresh")
    http.add_argument("--duration", type=int, default=15, help="seconds of each wrk run")
    http.add_argument("--clients", type=int, default=4, help="concurrent clients of the second series of runs")
    http.add_argument("--warmup", type=int, default=60, help="queries of each mode sent before the runs")
    http.add_argument("--limit", type=int, default=20, help="the API's `limit`: results in each answer")
    http.add_argument("--port", type=int, default=8933)
    instance.add_argument("--data-dir", type=Path, required=True, help="the new data folder")
    instance.add_argument("--no-build", action="store_true", help="leave the index to be built (and measured) later")
    for command in (instance, day):
        command.add_argument(
            "--vector-share",
            type=float,
            help="store vectors for this share of the papers (the first ones), as if the embedder were behind",
        )
    day.add_argument("--data-dir", type=Path, required=True, help="an instance made by `instance`, indexed")
    for command in (synthetic, instance, day):
        command.add_argument("--papers", type=int, default=5_000 if command is day else 1_000_000)
        command.add_argument(
            "--centroids", type=int, help="titles embedded as cluster centres (default: one per 100 papers)"
        )
        command.add_argument("--vectors-from", type=Path, help="a COPY of a database whose stored vectors are centres")
        command.add_argument("--spread", type=float, default=0.7, help="norm of the noise around each centre")
    synthetic.add_argument("--exact-max", type=int, default=DEFAULT_EXACT_MAX, help="above it, an HNSW graph")
    synthetic.add_argument("--recall-queries", type=int, default=200)
    arguments = parser.parse_args()
    commands_run = {
        "http": http_benchmark,
        "synthetic": synthetic_benchmark,
        "indexing": indexing_benchmark,
        "instance": instance_benchmark,
        "day": day_benchmark,
    }
    commands_run[arguments.command](arguments)


if __name__ == "__main__":
    main()
