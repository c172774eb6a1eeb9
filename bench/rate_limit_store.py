"""What counting the request rate limits in the database costs (`PAPERBOARD_RATE_LIMIT_STORE`), on SQLite and on
PostgreSQL: wrk against `/livez`, a paper page and `/api/daily_papers`, with the counts in each worker's memory and
in the database, the page cache on (anonymous visitors: where the count is the largest share of a request) and off.

    .venv/bin/python bench/rate_limit_store.py [--postgres-url URL] [--papers 2000] [--duration 8]

A temporary instance per backend gets the first `--papers` papers of the shared corpus (no daily listings:
`/api/daily_papers` answers an empty list, the cheapest request that still goes through every middleware). Each
configuration runs as `paperboard serve --workers 2` with limits far above what wrk sends, so that every request is
counted and none refused; wrk runs on the same machine (2 threads, 16 connections, as bench/pages.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from pages import SHARED_DATA, run_wrk
from paperboard.db.engine import normalise_url

ADDRESSES = {"bare (/livez)": "/livez", "paper": "/papers/{paper}", "api": "/api/daily_papers"}
# Far above what wrk sends in a minute: every request is counted, none refused.
UNREFUSED = "1000000000"


def environment(data_dir: Path, database_url: str, **settings: str) -> dict[str, str]:
    limits = {f"PAPERBOARD_{name}_REQUESTS_PER_MINUTE": UNREFUSED for name in ("API", "PAGE", "STATIC")}
    return {
        **os.environ,
        "PAPERBOARD_DATA_DIR": str(data_dir),
        "PAPERBOARD_DATABASE_URL": database_url,
        **limits,
        **{f"PAPERBOARD_{name.upper()}": value for name, value in settings.items()},
    }


def fill(data_dir: Path, database_url: str, papers: int, corpus: Path) -> str:
    """Initialise the instance and import the first `papers` papers; returns the last one's arXiv id."""
    data_dir.mkdir(parents=True)
    sample = data_dir / "papers.jsonl"
    with gzip.open(corpus, "rt") as source, open(sample, "w") as out:
        for _, line in zip(range(papers), source, strict=False):
            out.write(line)
    env = environment(data_dir, database_url)
    for args in (["init"], ["import", str(sample)]):
        subprocess.run([sys.executable, "-m", "paperboard", *args], env=env, check=True, capture_output=True)
    return json.loads(line)["arxiv_id"]


def serve(data_dir: Path, database_url: str, port: int, **settings: str) -> subprocess.Popen[bytes]:
    with open(data_dir / "bench-server.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "paperboard", "serve", "--port", str(port), "--workers", "2"],
            env=environment(data_dir, database_url, **settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    server.terminate()
    sys.exit(f"the server did not start; see {data_dir / 'bench-server.log'}")


def measure(backend: str, data_dir: Path, database_url: str, arguments: argparse.Namespace) -> None:
    paper = fill(data_dir, database_url, arguments.papers, arguments.corpus)
    for cache in ("5", "0"):
        for store in ("memory", "database"):
            server = serve(data_dir, database_url, arguments.port, rate_limit_store=store, page_cache_seconds=cache)
            try:
                for name, path in ADDRESSES.items():
                    url = f"http://127.0.0.1:{arguments.port}{path.format(paper=paper)}"
                    run_wrk(url, duration=2, connections=16, threads=2)
                    result = run_wrk(url, duration=arguments.duration, connections=16, threads=2)
                    errors = f"  ({result.errors} non-2xx)" if result.errors else ""
                    print(
                        f"{backend:<11}{'on' if cache != '0' else 'off':<7}{store:<10}{name:<15}"
                        f"{result.requests_per_second:>11,.0f}{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}{errors}",
                        flush=True,
                    )
            finally:
                server.terminate()
                server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", help="an administrative PostgreSQL URL (a database is created and dropped)")
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--corpus", type=Path, default=SHARED_DATA / "papers.jsonl.gz", help="the shared corpus")
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per address")
    parser.add_argument("--port", type=int, default=8932)
    arguments = parser.parse_args()
    print(f"{'backend':<11}{'cache':<7}{'store':<10}{'address':<15}{'requests/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
    with tempfile.TemporaryDirectory() as root:
        sqlite_dir = Path(root) / "sqlite"
        measure("sqlite", sqlite_dir, f"sqlite:///{sqlite_dir / 'paperboard.sqlite3'}", arguments)
        if arguments.postgres_url:
            admin = create_engine(normalise_url(arguments.postgres_url), isolation_level="AUTOCOMMIT")
            name = f"paperboard_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = normalise_url(arguments.postgres_url).set(database=name)
                measure("postgresql", Path(root) / "pg", url.render_as_string(hide_password=False), arguments)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
