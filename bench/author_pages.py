"""Author and category pages on the shared corpus: migration 0010's backfill time, and the pages' latency.

    .venv/bin/python bench/author_pages.py [--database-url URL] [--corpus PATH/TO/papers.jsonl.gz] [--requests N]

Imports the corpus into an empty database (SQLite in a temporary folder by default, or the empty database at URL),
steps the schema back to 0008 (dropping paper_authors) and times the upgrade, which backfills the authors of every
stored paper; then requests, through the app in this process (page cache off, so every request reads the
database), the page of the most prolific author name and that of the largest category, N times each, and prints
the median and the 99th percentile.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperboard.catalog.jsonl import import_file
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import PaperAuthor, PaperCategory
from paperboard.db.schema import _alembic_config, upgrade
from paperboard.web.app import create_app
from paperboard.web.pages.authors import PAPERS_PER_PAGE

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "papers.jsonl.gz"


def time_requests(client: TestClient, path: str, requests: int) -> str:
    assert client.get(path).status_code == 200, path
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    timings.sort()
    p99 = timings[min(len(timings) - 1, round(0.99 * len(timings)))]
    return f"p50 {statistics.median(timings):.1f} ms, p99 {p99:.1f} ms over {requests} requests"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--requests", type=int, default=100)
    options = parser.parse_args()
    if not options.corpus.is_file():
        parser.exit(1, f"no corpus at {options.corpus}; pass --corpus PATH/TO/papers.jsonl.gz\n")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as folder:
        database = Database(options.database_url or f"sqlite:///{folder}/bench.sqlite3")
        print(f"database: {database.backend}")
        upgrade(database)
        started = time.perf_counter()
        report = import_file(database, options.corpus)
        print(f"import: {report.lines:,} papers in {time.perf_counter() - started:.1f} s (authors written as it goes)")

        command.downgrade(_alembic_config(database), "0009")
        started = time.perf_counter()
        upgrade(database)
        elapsed = time.perf_counter() - started
        with database.read_session() as session:
            rows = session.scalar(select(func.count()).select_from(PaperAuthor)) or 0
            name, papers = session.execute(
                select(func.max(PaperAuthor.name), func.count(func.distinct(PaperAuthor.paper_id)))
                .group_by(PaperAuthor.name_key)
                .order_by(func.count(func.distinct(PaperAuthor.paper_id)).desc())
                .limit(1)
            ).one()
            category, in_category = session.execute(
                select(PaperCategory.category, func.count())
                .group_by(PaperCategory.category)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
        print(f"migration 0010 (backfill): {rows:,} author rows of {report.lines:,} papers in {elapsed:.1f} s")

        settings = Settings(
            database_url=database.url.render_as_string(hide_password=False), data_dir=Path(folder), page_cache_seconds=0
        )
        with TestClient(create_app(settings)) as client:
            path = f"/authors/{quote(name, safe='')}"
            print(f"author page, {name} ({papers} papers), first page: {time_requests(client, path, options.requests)}")
            last = f"{path}?page={-(-papers // PAPERS_PER_PAGE)}"
            print(f"author page, {name}, last page: {time_requests(client, last, options.requests)}")
            print(
                f"category page, {category} ({in_category:,} papers), first page: "
                f"{time_requests(client, f'/categories/{category}', options.requests)}"
            )
        database.dispose()


if __name__ == "__main__":
    main()
