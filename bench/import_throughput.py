"""Import throughput: the shared corpus into an empty SQLite database, then again (every paper unchanged).

    .venv/bin/python bench/import_throughput.py [PATH/TO/papers.jsonl.gz]

Prints papers per second for both runs and the peak resident memory of this process and of the parsing
workers. Target (issue 2): at least 5,000 papers/s into SQLite on a 2-core machine, peak memory under 1 GB.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from paperboard.catalog.jsonl import import_file
from paperboard.db import Database
from paperboard.db.schema import upgrade

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "papers.jsonl.gz"


def peak_mib(who: int) -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS
    if not corpus.is_file():
        sys.exit(f"no corpus at {corpus}; pass the path of papers.jsonl.gz")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"corpus: {corpus} ({corpus.stat().st_size / 2**20:.0f} MiB)")
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/bench.sqlite3")
        upgrade(database)
        for label in ("first import (all new)", "second import (all unchanged)"):
            started = time.perf_counter()
            report = import_file(database, corpus)
            elapsed = time.perf_counter() - started
            counts = report.counts
            print(
                f"{label}: {report.lines:,} lines in {elapsed:.1f} s = {report.lines / elapsed:,.0f} papers/s "
                f"({counts.inserted:,} new, {counts.unchanged:,} unchanged, {len(report.bad_lines)} bad)"
            )
        size = Path(folder, "bench.sqlite3").stat().st_size
        print(f"database size: {size / 2**20:.0f} MiB")
    main_peak, worker_peak = peak_mib(resource.RUSAGE_SELF), peak_mib(resource.RUSAGE_CHILDREN)
    print(f"peak memory: {main_peak:.0f} MiB in this process, {worker_peak:.0f} MiB in the largest parsing worker")


if __name__ == "__main__":
    main()
