"""Keyword extraction: throughput and memory of the worker's job, and agreement with the Hugging Face archive.

    .venv/bin/python bench/keywords.py [--papers 1000] [--seed 16] [--processes N] [--examples 5] [--show 0]

Takes --papers papers of the shared corpus that have the archive's `ai_keywords` (../shared/data/hf_daily.jsonl.gz),
sampled with a fixed seed, into a fresh SQLite database; embeds them as the worker does (not timed), then runs the
job the worker runs (`extract_pending`, with the embedder set up as `paperboard worker` sets it up) and prints papers
and keywords per second, candidate phrases embedded and reused, and peak memory (this process; the embedding
processes). The archive's keywords are not imported, so that every paper is extracted and compared with them:
- exact: an extracted keyword equal, case aside, to one of the archive's;
- near: one holds the other whole ("residual stream" / "Gemma-2-2b residual stream"), or, for phrases of several
  words, they share at least half of their words' stems;
as the share of extracted keywords that match one of the archive's (precision-like), the share of the archive's
that are matched (recall-like), and the papers with at least one match. --examples prints that many papers' lists
side by side; --show N prints N more for reading.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from paperboard.catalog.jsonl import record_from_json
from paperboard.catalog.store import upsert_papers
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Paper
from paperboard.db.schema import upgrade
from paperboard.search.analysis import terms
from paperboard.search.embeddings import embed_pending
from paperboard.search.indexing import indexing_embedder
from paperboard.search.keyword_extraction import PhraseVectors
from paperboard.search.paper_keywords import extract_pending, keywords_of

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PAPERBOARD_SHARED_DATA", REPOSITORY.parent / "shared" / "data"))


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    # ru_maxrss is in KiB on Linux; for RUSAGE_CHILDREN it is the largest child's that has ended.
    return resource.getrusage(who).ru_maxrss / 1024


def archive_keywords(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            data = json.loads(line)
            if data.get("ai_keywords") and len(data["ai_keywords"]) > len(found.get(data["arxiv_id"], [])):
                found[data["arxiv_id"]] = data["ai_keywords"]
    return found


def near(first: str, second: str) -> bool:
    a, b = first.casefold(), second.casefold()
    if f" {a} " in f" {b} " or f" {b} " in f" {a} ":
        return True
    first_terms, second_terms = set(terms(a)), set(terms(b))
    if len(first_terms) < 2 and len(second_terms) < 2:
        return False
    return len(first_terms & second_terms) * 2 >= max(len(first_terms), len(second_terms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARED_DATA / "papers.jsonl.gz")
    parser.add_argument("--archive", type=Path, default=SHARED_DATA / "hf_daily.jsonl.gz")
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--processes", type=int, default=0, help="embedding processes; 0: as the worker (per core)")
    parser.add_argument("--examples", type=int, default=5)
    parser.add_argument("--show", type=int, default=0)
    options = parser.parse_args()

    archive = archive_keywords(options.archive)
    with gzip.open(options.corpus, "rt", encoding="utf-8") as lines:
        records = [record_from_json(data) for line in lines if (data := json.loads(line))["arxiv_id"] in archive]
    records.sort(key=lambda record: record.arxiv_id)
    random.Random(options.seed).shuffle(records)
    records = records[: options.papers]
    print(f"{platform.node()}: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{len(records):,} papers with the archive's keywords (of {len(archive):,}), seed {options.seed}")

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), embedding_processes=options.processes)
        database = Database(settings.resolved_database_url)
        upgrade(database)
        with database.session() as session:
            upsert_papers(session, records)
        with indexing_embedder(settings) as embedder:
            started = time.perf_counter()
            embed_pending(database, embedder)
            print(f"embedded the papers first (not counted) in {time.perf_counter() - started:.0f} s")
            phrase_vectors = PhraseVectors(embedder)
            started = time.perf_counter()
            done = extract_pending(database, phrase_vectors)
            seconds = time.perf_counter() - started
            with database.read_session() as session:
                ids = dict(session.execute(select(Paper.arxiv_id, Paper.id)).all())
                found = keywords_of(session, ids.values())
        database.dispose()

    extracted = {arxiv_id: found.get(paper_id, []) for arxiv_id, paper_id in ids.items()}
    keyword_total = sum(len(keywords) for keywords in extracted.values())
    print(
        f"extraction: {done:,} papers in {seconds:.1f} s = {done / seconds:.1f} papers/s, "
        f"{keyword_total / seconds:.0f} keywords/s ({keyword_total / max(done, 1):.1f} a paper); "
        f"{phrase_vectors.asked:,} candidate phrases, {phrase_vectors.embedded:,} of them embedded, the others "
        f"remembered ({1 - phrase_vectors.embedded / max(1, phrase_vectors.asked):.0%})"
    )
    print(
        f"peak memory: this process {peak_rss_mib():.0f} MiB; "
        f"largest embedding process {peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
    )

    exact_ours = near_ours = exact_theirs = near_theirs = ours_total = theirs_total = papers_matched = 0
    for arxiv_id, ours in extracted.items():
        theirs = archive[arxiv_id]
        ours_total += len(ours)
        theirs_total += len(theirs)
        folded = {keyword.casefold() for keyword in theirs}
        exact_ours += sum(keyword.casefold() in folded for keyword in ours)
        near_ours += sum(any(near(keyword, other) for other in theirs) for keyword in ours)
        exact_theirs += sum(keyword.casefold() in {mine.casefold() for mine in ours} for keyword in theirs)
        near_theirs += sum(any(near(keyword, mine) for mine in ours) for keyword in theirs)
        papers_matched += any(any(near(keyword, other) for other in theirs) for keyword in ours)
    print(
        f"against the archive: of our keywords, {exact_ours / ours_total:.1%} exact and {near_ours / ours_total:.1%} "
        f"near one of theirs; of theirs, {exact_theirs / theirs_total:.1%} exact and "
        f"{near_theirs / theirs_total:.1%} near one of ours; {papers_matched / len(extracted):.1%} of papers with "
        f"at least one near match ({theirs_total / len(extracted):.1f} archive keywords a paper)"
    )
    by_id = {record.arxiv_id: record for record in records}
    for arxiv_id in list(extracted)[: options.examples + options.show]:
        print(f"\n{arxiv_id} {by_id[arxiv_id].title[:100]}")
        print(f"  ours:    {'; '.join(extracted[arxiv_id])}")
        print(f"  archive: {'; '.join(archive[arxiv_id])}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
