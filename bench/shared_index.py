"""Sharing a search index generation through PostgreSQL (search/shared_index.py): the time and memory to store a
generation's files in the database, as a worker does after a build, and to download them into an empty folder, as a
web host with an empty data dir does before its first search.

    .venv/bin/python bench/shared_index.py GENERATION_FOLDER --postgres postgresql://postgres@127.0.0.1:5432/postgres

GENERATION_FOLDER is one generation of an index (`DATA_DIR/search-index/g…`, as `paperboard index` writes it); it
is only read. A database is made for the run on the server of `--postgres` and dropped afterwards. Each side runs
in a process of its own, whose peak RSS (ru_maxrss) is printed beside its time and rate.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from paperboard.db import Database
from paperboard.db.engine import normalise_url
from paperboard.db.schema import upgrade
from paperboard.search.shared_index import download, publish


def _publish(url: str, folder: str) -> tuple[float, int]:
    database = Database(url)
    started = time.perf_counter()
    publish(database, Path(folder).name, datetime(2026, 1, 1), Path(folder))
    return time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _download(url: str, generation: str, target: str) -> tuple[float, int]:
    database = Database(url)
    started = time.perf_counter()
    with database.read_session() as session:
        download(session, generation, Path(target))
    return time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--postgres", required=True, help="an administrative URL where a database may be made")
    arguments = parser.parse_args()
    size = sum(path.stat().st_size for path in arguments.folder.rglob("*") if path.is_file())
    admin = create_engine(normalise_url(arguments.postgres), isolation_level="AUTOCOMMIT")
    name = f"paperboard_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalise_url(arguments.postgres).set(database=name).render_as_string(hide_password=False)
    target = Path(tempfile.mkdtemp(prefix="shared-index-")) / arguments.folder.name
    try:
        upgrade(Database(url))
        # A fresh process for each side, so that each peak RSS is that side's alone.
        context = multiprocessing.get_context("spawn")
        with context.Pool(1) as pool:
            stored, stored_rss = pool.apply(_publish, (url, str(arguments.folder)))
        with context.Pool(1) as pool:
            fetched, fetched_rss = pool.apply(_download, (url, arguments.folder.name, str(target)))
        mib = size / 2**20
        print(f"generation: {mib:,.0f} MiB in {sum(1 for p in arguments.folder.rglob('*') if p.is_file())} files")
        print(f"publish:  {stored:6.1f} s  {mib / stored:6.1f} MiB/s  peak RSS {stored_rss / 1024:,.0f} MiB")
        print(f"download: {fetched:6.1f} s  {mib / fetched:6.1f} MiB/s  peak RSS {fetched_rss / 1024:,.0f} MiB")
    finally:
        shutil.rmtree(target.parent, ignore_errors=True)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
