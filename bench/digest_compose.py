"""Composing digests for 100,000 subscribers, and making mails of them.

    .venv/bin/python bench/digest_compose.py [--subscribers 100000] [--date 2026-06-16]

Builds a temporary SQLite database: the papers first published in the four weeks before `--date` and the Hugging
Face listings of those days from the shared corpus (../shared/data; synthetic papers and listings where it is
absent), 15,000 accounts with 5 to 30 upvotes each, a synthetic vector per paper (near its primary category's
centroid), and `--subscribers` confirmed subscribers: about a quarter with no preferences, the others with
categories or archives, keywords, or both, and one in ten account holders (their categories and keywords as follows
of their accounts, which is where an account holder's digest reads them, 5 papers marked "not interested" each, and
their upvotes: signals, so that their "for you" section is their feed's learned ranking, `rank_for_readers`; their
`reader_models` rows say they acted, as the site's actions leave them, and no model is trained yet). Then it composes
the daily digest of `--date` for all of them (every subscriber daily) with no model trained (the digest trains none:
those readers are ranked by their follows), runs it again (nothing to add), runs the worker's retraining until every
model is trained (`retrain_stale_models`, round after round), makes them all weekly and composes the weekly digest
with the trained models, and finally makes mails of 3,000 digests as the sender does (`Renderer` then aiosmtplib's
`flatten_message`).

Prints, for each run, the wall and CPU time, the rows added, the sections' sizes and the peak resident memory of the
run; for the mails, the CPU time per mail. Target (issue 6): composing 100,000 digests in at most 60 s on the 2-core
machine; the mails are the larger part of what sending one costs (the sender's target is 300 mails/s).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from aiosmtplib.email import flatten_message
from sqlalchemy import func, insert, select, update

from paperboard.catalog.record import build_record
from paperboard.catalog.store import upsert_papers
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import (
    Follow,
    Listing,
    NotInterested,
    OutboxMessage,
    Paper,
    PaperCategory,
    PaperEmbedding,
    ReaderModel,
    Subscriber,
    User,
    Vote,
)
from paperboard.db.schema import upgrade
from paperboard.digest.compose import ComposeSummary, compose_digests
from paperboard.digest.messages import Renderer
from paperboard.digest.periods import digest_period
from paperboard.personal.follows import category_target, search_target
from paperboard.personal.reader_models import retrain_stale_models

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DIMENSIONS = 384
ACCOUNTS = 15_000
WEEKS_OF_PAPERS = 4
RENDERED = 3_000
MARKS_PER_ACCOUNT = 5
KEYWORDS = [
    "diffusion",
    "diffusion model",
    "reinforcement learning",
    "large language model",
    "retrieval augmented generation",
    "graph neural network",
    "vision transformer",
    "speech recognition",
    "robot manipulation",
    "quantum error correction",
    "mixture of experts",
    "in-context learning",
    "chain of thought",
    "benchmark",
    "multimodal",
    "video generation",
    "federated learning",
    "protein",
    "agents",
    "reasoning",
    "scaling laws",
    "knowledge distillation",
    "contrastive learning",
    "3D reconstruction",
    "gaussian splatting",
    "time series",
    "causal inference",
    "tokenizer",
    "alignment",
    "hallucination",
]
CATEGORIES = ["cs", "cs.CL", "cs.CV", "cs.LG", "cs.AI", "cs.RO", "quant-ph", "cond-mat", "math", "stat.ML", "eess"]
SYNTHETIC_WORDS = [
    "learning",
    "model",
    "neural",
    "network",
    "language",
    "vision",
    "diffusion",
    "graph",
    "agent",
    "reasoning",
    "benchmark",
    "quantum",
    "robot",
    "transformer",
    "retrieval",
    "generation",
    "speech",
    "video",
    "protein",
    "alignment",
    "scaling",
    "attention",
    "dataset",
    "training",
]

T = TypeVar("T")


def peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux), so that each run's peak is its own.
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def measured(label: str, run: Callable[[], T]) -> T:
    reset_peak_rss()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = run()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"{label}: {elapsed:.1f} s ({cpu:.1f} s of CPU in this process), peak RSS {peak_rss_mib():.0f} MiB")
    return result


def shared_papers(
    first_day: date, sent_on: date, folder: Path = SHARED_DATA
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Papers published in [first_day, sent_on) and HF listings of those days, with the papers they list, from the
    shared corpus in `folder`."""
    listings = []
    with gzip.open(folder / "hf_daily.jsonl.gz", "rt", encoding="utf-8") as stream:
        for line in stream:
            listing = json.loads(line)
            if first_day.isoformat() <= listing["date"] < sent_on.isoformat():
                listings.append(listing)
    listed = {listing["arxiv_id"] for listing in listings}
    papers = []
    with gzip.open(folder / "papers.jsonl.gz", "rt", encoding="utf-8") as stream:
        for line in stream:
            paper = json.loads(line)
            if first_day.isoformat() <= paper["published"] < sent_on.isoformat() or paper["arxiv_id"] in listed:
                papers.append(paper)
    return papers, listings


def synthetic_papers(first_day: date, sent_on: date, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict]]:
    papers, listings = [], []
    day, number = first_day, 0
    while day < sent_on:
        for _ in range(300 if day.weekday() < 5 else 5):
            number += 1
            arxiv_id = f"{day:%y%m}.{number:05d}"
            papers.append(
                {
                    "arxiv_id": arxiv_id,
                    "title": " ".join(rng.choices(SYNTHETIC_WORDS, k=8)).capitalize(),
                    "abstract": " ".join(rng.choices(SYNTHETIC_WORDS, k=150)),
                    "authors": [f"Author {rng.randrange(5000)}" for _ in range(rng.randint(1, 8))],
                    "categories": rng.sample(CATEGORIES[1:7], 2),
                    "published": day.isoformat(),
                }
            )
            if rng.random() < 17 / 300:
                listings.append({"date": day.isoformat(), "arxiv_id": arxiv_id, "upvotes": rng.randint(0, 60)})
        day += timedelta(days=1)
    return papers, listings


def batches(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fill(database: Database, sent_on: date, subscribers: int, rng: random.Random) -> None:
    first_day = sent_on - timedelta(weeks=WEEKS_OF_PAPERS)
    have_shared = (SHARED_DATA / "papers.jsonl.gz").is_file() and (SHARED_DATA / "hf_daily.jsonl.gz").is_file()
    papers, listings = shared_papers(first_day, sent_on) if have_shared else synthetic_papers(first_day, sent_on, rng)
    print(f"data: {'shared corpus' if have_shared else 'synthetic'}, {len(papers):,} papers, {len(listings)} listings")
    with database.session() as session:
        for batch in batches(papers, 2000):
            upsert_papers(
                session,
                [
                    build_record(
                        arxiv_id=paper["arxiv_id"],
                        title=paper["title"],
                        abstract=paper["abstract"],
                        authors=paper["authors"],
                        categories=paper["categories"],
                        published_at=paper["published"],
                    )
                    for paper in batch
                ],
            )
    with database.session() as session:
        paper_ids = {arxiv_id: paper_id for arxiv_id, paper_id in session.execute(select(Paper.arxiv_id, Paper.id))}
        primary = {
            paper_id: category
            for paper_id, category in session.execute(
                select(PaperCategory.paper_id, PaperCategory.category).where(PaperCategory.position == 0)
            )
        }
        seen: set[str] = set()
        listing_rows = []
        for listing in listings:
            if listing["arxiv_id"] in paper_ids and listing["arxiv_id"] not in seen:
                seen.add(listing["arxiv_id"])
                day = date.fromisoformat(listing["date"])
                listing_rows.append(
                    {
                        "paper_id": paper_ids[listing["arxiv_id"]],
                        "day": day,
                        "submitted_at": datetime.combine(day, datetime.min.time()) + timedelta(hours=8),
                        "imported_submitter": "bench",
                        "imported_upvotes": listing.get("upvotes") or 0,
                        "imported_comments": 0,
                    }
                )
        session.execute(insert(Listing), listing_rows)
        # A synthetic vector per paper: its primary category's centroid plus noise, cosine about 0.7 to it.
        np_rng = np.random.default_rng(7)
        categories = sorted(set(primary.values()) | {"none"})
        centroids = dict(zip(categories, np_rng.standard_normal((len(categories), DIMENSIONS)), strict=True))
        for centroid in centroids.values():
            centroid /= np.linalg.norm(centroid)
        ids = list(paper_ids.values())
        noise = np_rng.standard_normal((len(ids), DIMENSIONS)) / np.sqrt(DIMENSIONS)
        vectors = np.stack([centroids[primary.get(paper_id, "none")] for paper_id in ids]) + noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        now = datetime.combine(sent_on, datetime.min.time())
        session.execute(
            insert(PaperEmbedding),
            [
                {
                    "paper_id": paper_id,
                    "model": "bench-synthetic",
                    "text_digest": "",
                    "paper_changed_at": now,
                    "embedded_at": now,
                    "title_vector": vector.astype(np.float16).tobytes(),
                    "abstract_vector": vector.astype(np.float16).tobytes(),
                }
                for paper_id, vector in zip(ids, vectors, strict=True)
            ],
        )
        # Accounts, each upvoting papers of one or two categories over the four weeks.
        session.execute(
            insert(User),
            [
                {
                    "username": f"reader{number}",
                    "username_key": f"reader{number}",
                    "display_name": f"Reader {number}",
                    "password_hash": "-",
                    "role": "user",
                    "created_at": now - timedelta(days=60),
                    "password_changed_at": now - timedelta(days=60),
                }
                for number in range(ACCOUNTS)
            ],
        )
        user_ids = list(session.scalars(select(User.id)))
        by_category: dict[str, list[int]] = {}
        for paper_id, category in primary.items():
            by_category.setdefault(category, []).append(paper_id)
        common = [category for category, members in by_category.items() if len(members) >= 30]
        votes = []
        for user_id in user_ids:
            pool = [
                paper_id for category in rng.sample(common, min(2, len(common))) for paper_id in by_category[category]
            ]
            for paper_id in rng.sample(pool, min(len(pool), rng.randint(5, 30))):
                cast_at = now - timedelta(seconds=rng.randrange(WEEKS_OF_PAPERS * 7 * 86400))
                votes.append({"user_id": user_id, "paper_id": paper_id, "created_at": cast_at})
        session.execute(insert(Vote), votes)
        print(f"accounts: {len(user_ids):,}, upvotes: {len(votes):,}")
        subscriber_rows = []
        account_holders = iter(user_ids)
        for number in range(subscribers):
            kind = number % 3
            row = {
                "email": f"reader{number}@example.org",
                "email_key": f"reader{number}@example.org",
                "frequency": "daily",
                "categories": rng.sample(CATEGORIES, rng.randint(1, 3)) if kind == 1 or number % 7 == 0 else [],
                "keywords": rng.sample(KEYWORDS, rng.randint(1, 5)) if kind == 2 or number % 5 == 0 else [],
                "similar_to_upvoted": False,
                "user_id": None,
                "status": "active",
                "created_at": now - timedelta(days=30),
                "confirmed_at": now - timedelta(days=30),
                "consecutive_failures": 0,
            }
            if number % 10 == 0:
                row["user_id"] = next(account_holders, None)
                row["similar_to_upvoted"] = row["user_id"] is not None
            subscriber_rows.append(row)
        for batch in batches(subscriber_rows, 5000):
            session.execute(insert(Subscriber), batch)
        # An account holder's digest reads the account's follows (as migration 0015f leaves them), and leaves out
        # the papers they marked "not interested": a few each.
        follow_rows, marks = [], []
        for row in subscriber_rows:
            if row["user_id"] is None:
                continue
            targets = [category_target(category) for category in row["categories"]]
            targets += [search_target({"q": keyword}) for keyword in row["keywords"]]
            follow_rows += [
                {
                    "user_id": row["user_id"],
                    "kind": target.kind,
                    "target_key": target.target_key,
                    "label": target.label,
                    "query": target.query,
                    "created_at": now,
                }
                for target in targets
            ]
            marks += [
                {"user_id": row["user_id"], "paper_id": paper_id, "created_at": now}
                for paper_id in rng.sample(ids, min(len(ids), MARKS_PER_ACCOUNT))
            ]
        for batch in batches(follow_rows, 5000):
            session.execute(insert(Follow), batch)
        for batch in batches(marks, 5000):
            session.execute(insert(NotInterested), batch)
        # What `personal.activity.signals_changed` leaves when they upvote, follow and mark through the site: their
        # models are out of date until the worker retrains them.
        session.execute(
            insert(ReaderModel),
            [{"user_id": row["user_id"], "signals_changed_at": now} for row in subscriber_rows if row["user_id"]],
        )
    print(
        f"subscribers: {len(subscriber_rows):,}; "
        f"{sum(1 for row in subscriber_rows if not row['categories'] and not row['keywords']):,} without preferences, "
        f"{sum(1 for row in subscriber_rows if row['categories']):,} with categories, "
        f"{sum(1 for row in subscriber_rows if row['keywords']):,} with keywords, "
        f"{sum(1 for row in subscriber_rows if row['similar_to_upvoted']):,} with an account; "
        f"account holders' follows {len(follow_rows):,}, not-interested marks {len(marks):,}"
    )


def retrain_everyone(database: Database, lock_dir: Path) -> None:
    """The worker's duty (`retrain_stale_models`) round after round until no model is out of date."""
    rounds = models = 0
    while stored := retrain_stale_models(database, lock_dir):
        rounds, models = rounds + 1, models + stored
    print(f"  {models:,} models trained and stored in {rounds:,} rounds")


def describe(summary: ComposeSummary) -> None:
    print(
        f"  subscribers {summary.subscribers:,}, composed {summary.composed:,}, empty {summary.empty:,}, "
        f"already composed {summary.already_composed:,}"
    )


def section_sizes(database: Database, kind: str, key: str) -> None:
    with database.read_session() as session:
        contents = session.scalars(
            select(OutboxMessage.contents).where(OutboxMessage.kind == kind, OutboxMessage.period_key == key)
        ).all()
    if contents:
        for section in ("top", "trending", "for_you"):
            sizes = [len(row[section]) for row in contents]
            with_any = sum(1 for size in sizes if size)
            print(
                f"  {section}: mean {statistics.fmean(sizes):.1f} papers, "
                f"{with_any:,} digests ({with_any / len(sizes):.0%}) with any"
            )


def render_figures(database: Database, settings: Settings, kind: str, key: str) -> None:
    with database.read_session() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == kind, OutboxMessage.period_key == key)
            .order_by(OutboxMessage.id)
            .limit(RENDERED)
        ).all()
        renderer = Renderer(session, settings)
        # CPU time: the mails are made in this process alone, so the load of the machine inflates it least.
        started = time.process_time()
        renderer.prefetch(rows)
        prefetched = time.process_time()
        messages = [renderer.render(row) for row in rows]
        rendered = time.process_time()
        sizes = [len(flatten_message(message)) for message in messages]
        flattened = time.process_time()
    count = len(rows)
    print(
        f"mails of {count:,} {kind} digests, CPU time: prefetch {(prefetched - started) / count * 1000:.2f} ms, "
        f"render {(rendered - prefetched) / count * 1000:.2f} ms, "
        f"flatten as aiosmtplib does {(flattened - rendered) / count * 1000:.2f} ms each; "
        f"mean size {statistics.fmean(sizes) / 1024:.0f} KiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 6, 16), help="the day digests go out")
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} (the machine is shared: figures vary with it)")
    rng = random.Random(6)
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/bench.sqlite3")
        upgrade(database)
        settings = Settings(data_dir=Path(folder), base_url="https://papers.example.org")
        measured("filling the database", lambda: fill(database, arguments.date, arguments.subscribers, rng))
        daily = digest_period("daily", arguments.date)
        weekly = digest_period("weekly", arguments.date)
        summary = measured(
            f"daily digest {daily.key} ({daily.start} to {daily.end})",
            lambda: compose_digests(database, settings, daily),
        )
        describe(summary)
        section_sizes(database, "daily", daily.key)
        describe(measured("the same again", lambda: compose_digests(database, settings, daily)))
        measured("the worker retraining every reader's model", lambda: retrain_everyone(database, Path(folder)))
        with database.session() as session:
            session.execute(update(Subscriber).values(frequency="weekly"))
        summary = measured(
            f"weekly digest {weekly.key} ({weekly.start} to {weekly.end})",
            lambda: compose_digests(database, settings, weekly),
        )
        describe(summary)
        section_sizes(database, "weekly", weekly.key)
        with database.read_session() as session:
            rows = session.scalar(select(func.count()).select_from(OutboxMessage))
        print(f"outbox rows: {rows:,}; database size {Path(folder, 'bench.sqlite3').stat().st_size / 2**20:.0f} MiB")
        render_figures(database, settings, "daily", daily.key)
        render_figures(database, settings, "weekly", weekly.key)
        database.dispose()


if __name__ == "__main__":
    main()
