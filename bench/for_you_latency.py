"""Latency of one reader's feed through HTTP: `GET /api/for_you?month=...`, a month's ~9,000 candidates ranked for
them on every request, measured as bench/pages.py measures pages (wrk against `paperboard serve --workers 2`).

    .venv/bin/python bench/for_you_latency.py [--month 2026-03] [--duration 10] [--connections 2 8]

Builds a temporary instance from the shared corpus (../shared/data/papers.jsonl.gz): the papers first published in
the month and in the three months before it, imported with `paperboard import`. The reader is the author with the
most papers in those earlier months, as in the replay of issue 18: their earlier papers go into their Saved
collection, and they follow their most frequent co-author and their main category. The first request trains their
model (not measured); the measured ones rank with it, as every request does until the reader acts again. No vectors
are stored (the worker never ran), so the ranking uses its sparse features only.

Prints requests/s, p50 and p99 latency for each number of connections wrk keeps open; `/livez` beside it for the
server's own floor. Target (issue 18): p50 <= 50 ms, p99 <= 150 ms.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from pages import paperboard, run_wrk, serve
from paperboard.catalog.authors import author_key
from paperboard.clock import utcnow
from paperboard.community import accounts
from paperboard.community.api_tokens import create_token
from paperboard.community.periods import parse_period
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import CollectionItem, Follow, Paper, PaperCollection
from paperboard.personal.activity import signals_changed

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EARLIER_MONTHS = 3


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def write_corpus(folder: Path, month: str, source: Path) -> tuple[Path, str]:
    """The shared papers of the month and the months before it, as JSON Lines; and the reader's name."""
    period = parse_period("month", month)
    first = _month_start(period.start, EARLIER_MONTHS)
    if not source.is_file():
        sys.exit(f"{source} is missing: this benchmark needs the shared corpus")
    earlier_authors: Counter[str] = Counter()
    kept = folder / "papers.jsonl"
    with gzip.open(source, "rt") as lines, kept.open("w") as out:
        for line in lines:
            record = json.loads(line)
            published = date.fromisoformat(str(record.get("published") or record.get("date"))[:10])
            if first <= published < period.end:
                out.write(line)
                if published < period.start:
                    earlier_authors.update(record.get("authors") or [])
    reader_name = earlier_authors.most_common(1)[0][0]
    return kept, reader_name


def make_reader(database: Database, name: str, month_start: date) -> str:
    """An account for the author `name` with their earlier papers saved and two follows; its API token."""
    with database.session() as session:
        user = accounts.create_user(session, "reader", accounts.hash_password(secrets.token_urlsafe(16)))
        papers = session.scalars(
            select(Paper).where(Paper.published_at < datetime.combine(month_start, datetime.min.time()))
        ).all()
        own = [paper for paper in papers if author_key(name) in {author_key(author) for author in paper.authors}]
        now = utcnow()
        saved = PaperCollection(
            object_id=secrets.token_hex(12),
            owner_id=user.id,
            title="Saved",
            private=True,
            is_saved=True,
            created_at=now,
            updated_at=now,
        )
        session.add(saved)
        session.flush()
        session.add_all(
            CollectionItem(
                object_id=secrets.token_hex(12),
                collection_id=saved.id,
                paper_id=paper.id,
                position=position,
                added_at=now,
            )
            for position, paper in enumerate(own)
        )
        coauthors = Counter(
            author for paper in own for author in paper.authors if author_key(author) != author_key(name)
        )
        categories = Counter(paper.categories[0].category for paper in own if paper.categories)
        follows = [
            (kind, target)
            for kind, counts in (("author", coauthors), ("category", categories))
            for target, _ in counts.most_common(1)
        ]
        session.add_all(
            Follow(
                user_id=user.id,
                kind=kind,
                target_key=author_key(target) if kind == "author" else target,
                label=target,
                created_at=now,
            )
            for kind, target in follows
        )
        signals_changed(session, user.id)
        token = create_token(session, user, "bench").plaintext
    print(f"reader: {name!r}, {len(own)} earlier papers saved; follows {follows}")
    return token


def timed_get(url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    httpx.get(url, headers=headers, timeout=300).raise_for_status()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--month", default="2026-03")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--connections", type=int, nargs="+", default=[2, 8], help="concurrent connections of wrk")
    parser.add_argument("--port", type=int, default=8932)
    parser.add_argument("--data-dir", type=Path, help="a folder to build the instance in, or reuse it from")
    parser.add_argument("--corpus", type=Path, default=SHARED_DATA / "papers.jsonl.gz", help="the shared papers")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} (the machine is shared: figures vary with it)")
    with ExitStack() as stack:
        data_dir = arguments.data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        token_file = data_dir / "bench-reader-token"
        if not token_file.is_file():
            started = time.monotonic()
            data_dir.mkdir(parents=True, exist_ok=True)
            corpus, reader_name = write_corpus(data_dir, arguments.month, arguments.corpus)
            paperboard(data_dir, "init")
            paperboard(data_dir, "import", str(corpus))
            database = Database(Settings(data_dir=data_dir).resolved_database_url)
            token_file.write_text(make_reader(database, reader_name, parse_period("month", arguments.month).start))
            database.dispose()
            print(f"instance built in {time.monotonic() - started:.0f} s")
        token = token_file.read_text()
        server = serve(
            # Two workers loading the search index take over a minute to start on a busy machine.
            data_dir,
            arguments.port,
            data_dir / "bench-server.log",
            None,
            startup_seconds=300,
        )
        try:
            base = f"http://127.0.0.1:{arguments.port}"
            path = f"/api/for_you?month={arguments.month}&limit=50"
            headers = {"Authorization": f"Bearer {token}"}
            first = time.perf_counter()
            response = httpx.get(base + path, headers=headers, timeout=120)
            response.raise_for_status()
            print(f"first request (trains the reader's model): {(time.perf_counter() - first) * 1000:.0f} ms")
            print(f"top reasons: {[item['reason'] for item in response.json()[:5]]}")
            # Each worker builds the month's candidate features on its first request: both are warmed before
            # anything is measured, with requests in parallel until every one answers in under a second.
            with ThreadPoolExecutor(4) as pool:
                for round_number in range(1, 11):
                    timings = list(pool.map(lambda _: timed_get(base + path, headers), range(4)))
                    print(f"warm-up round {round_number}: {', '.join(f'{ms:.0f}' for ms in timings)} ms")
                    if round_number > 1 and max(timings) < 1000:
                        break
            print(f"{'request':<40}{'connections':>12}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}")
            for label, address, extra in (("bare (/livez)", "/livez", []), ("for you, a month", path, headers)):
                for connections in arguments.connections:
                    wrk_headers = [f"{name}: {value}" for name, value in dict(extra).items()]
                    result = run_wrk(
                        base + address,
                        duration=arguments.duration,
                        connections=connections,
                        threads=1,
                        headers=wrk_headers,
                        # Slow answers are measured, not dropped as wrk's default 2-second timeout would drop them.
                        timeout_seconds=30,
                    )
                    errors = f"  ({result.errors} non-2xx)" if result.errors else ""
                    print(
                        f"{label:<40}{connections:>12}{result.requests_per_second:>12,.0f}"
                        f"{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}{errors}"
                    )
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
