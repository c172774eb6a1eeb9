"""The "for you" replay (issue 18, "Quality, measured"): does the feed put a researcher's next paper near the top?

    .venv/bin/python bench/for_you_replay.py [--month 2026-03] [--readers 300] [--data-dir /tmp/paperboard-replay]
        [--build-only]

A reader is an author with at least 5 papers first published before the split date (the first day of `--month`)
and at least one in that month. Their earlier papers go into a collection of theirs; the candidates are every paper
first published in the month; the targets are the reader's own papers of the month. The reader's own name is taken
out of the candidates' author lists (a reader does not follow themself; co-authors stay). For each system: MRR of
the first target and Recall@20 / @50 (a target in the top 20 / 50), over `--readers` readers drawn with `--seed`.

The bench database holds only the papers the replay needs (both months' candidates, the drawn readers' earlier
papers and a background sample), embedded by Paperboard's own embedder; it is built once into `--data-dir`,
outside the repository, and reused. Tuning is done on 2026-02; the figures reported are 2026-03's.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from paperboard.catalog.authors import author_key
from paperboard.catalog.jsonl import record_from_json
from paperboard.catalog.record import PaperRecord
from paperboard.catalog.store import upsert_papers
from paperboard.db import Database
from paperboard.db.schema import upgrade
from paperboard.progress import LoggingProgress
from paperboard.search.embedder import Embedder, bulk_processes
from paperboard.search.embeddings import embed_pending

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "papers.jsonl.gz"
# Both months are drawn from and built into one database, so that tuning and reporting read the same papers.
MONTHS = ("2026-02", "2026-03")
MIN_EARLIER_PAPERS = 5
# Papers first published before the earlier split, drawn at random: the negatives arxiv-sanity-lite's SVM is trained
# against, and part of the catalogue the shipped ranking samples its own background from.
BACKGROUND_PAPERS = 2000


@dataclass(frozen=True)
class Reader:
    name_key: str
    earlier: tuple[str, ...]  # arXiv ids first published before the split, oldest first
    targets: tuple[str, ...]  # arXiv ids first published in the month


@dataclass(frozen=True)
class Corpus:
    records: dict[str, PaperRecord]
    published: dict[str, str]  # arXiv id -> YYYY-MM-DD

    def month(self, month: str) -> list[str]:
        return [arxiv_id for arxiv_id, day in self.published.items() if day.startswith(month)]


def load_corpus(path: Path) -> Corpus:
    records: dict[str, PaperRecord] = {}
    published: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            data = json.loads(line)
            record = record_from_json(data)
            records[record.arxiv_id] = record
            published[record.arxiv_id] = data["published"][:10]
    return Corpus(records, published)


def draw_readers(corpus: Corpus, month: str, count: int, seed: int) -> list[Reader]:
    split = f"{month}-01"
    earlier: dict[str, list[str]] = {}
    targets: dict[str, list[str]] = {}
    for arxiv_id, day in sorted(corpus.published.items(), key=lambda item: (item[1], item[0])):
        keys = dict.fromkeys(author_key(name) for name in corpus.records[arxiv_id].authors)
        if day < split:
            for key in keys:
                earlier.setdefault(key, []).append(arxiv_id)
        elif day.startswith(month):
            for key in keys:
                targets.setdefault(key, []).append(arxiv_id)
    eligible = sorted(key for key in targets if len(earlier.get(key, ())) >= MIN_EARLIER_PAPERS)
    drawn = random.Random(f"{seed}:{month}").sample(eligible, min(count, len(eligible)))
    return [Reader(key, tuple(earlier[key]), tuple(targets[key])) for key in drawn]


def background_sample(corpus: Corpus, seed: int) -> list[str]:
    before = sorted(arxiv_id for arxiv_id, day in corpus.published.items() if day < f"{MONTHS[0]}-01")
    return random.Random(f"{seed}:background").sample(before, BACKGROUND_PAPERS)


def build_database(path: Path, corpus: Corpus, arxiv_ids: set[str]) -> dict[str, float]:
    """The bench database: the papers needed, imported and embedded; returns what each step took (seconds)."""
    database = Database(f"sqlite:///{path}")
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        upgrade(database)
        records = [corpus.records[arxiv_id] for arxiv_id in sorted(arxiv_ids)]
        for start in range(0, len(records), 1000):
            with database.session() as session:
                upsert_papers(session, records[start : start + 1000])
        timings["import_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        with Embedder(threads=1, processes=bulk_processes()) as embedder:
            embed_pending(database, embedder, LoggingProgress(logging.getLogger("for_you_replay")))
        timings["embed_seconds"] = time.perf_counter() - started
    finally:
        database.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--month", default="2026-03", choices=MONTHS)
    parser.add_argument("--readers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/paperboard-replay"))
    parser.add_argument("--build-only", action="store_true")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    corpus = load_corpus(arguments.corpus)
    readers = {month: draw_readers(corpus, month, arguments.readers, arguments.seed) for month in MONTHS}
    arguments.data_dir.mkdir(parents=True, exist_ok=True)
    database_path = arguments.data_dir / f"replay-{arguments.readers}-{arguments.seed}.sqlite3"
    build_file = database_path.with_suffix(".build.json")
    if not build_file.exists():
        needed = {arxiv_id for month in MONTHS for arxiv_id in corpus.month(month)}
        needed |= {arxiv_id for month in MONTHS for reader in readers[month] for arxiv_id in reader.earlier}
        needed |= set(background_sample(corpus, arguments.seed))
        database_path.unlink(missing_ok=True)
        timings = build_database(database_path, corpus, needed)
        build_file.write_text(json.dumps({"papers": len(needed), **timings}))
    print("bench database:", database_path, json.loads(build_file.read_text()))
    if arguments.build_only:
        return
    print(Counter(len(reader.targets) for reader in readers[arguments.month]))


if __name__ == "__main__":
    main()
