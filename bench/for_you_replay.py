"""The "for you" replay (issue 18, "Quality, measured"): does the feed put a researcher's next paper near the top?

    .venv/bin/python bench/for_you_replay.py [--month 2026-03] [--readers 300] [--seed 18]
        [--data-dir /tmp/paperboard-replay] [--build-only] [--first N]
        [--systems baselines,shipped,shipped-no-vectors]

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
import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sqlalchemy import select

from paperboard.catalog.authors import author_key
from paperboard.catalog.jsonl import record_from_json
from paperboard.catalog.record import PaperRecord
from paperboard.catalog.store import upsert_papers
from paperboard.clock import utcnow
from paperboard.community.accounts import create_user, hash_password
from paperboard.db import Database
from paperboard.db.models import NotInterested, Paper, PaperEmbedding
from paperboard.db.schema import upgrade
from paperboard.personal.activity import signals_changed
from paperboard.personal.collections import create_collection
from paperboard.personal.library_import import import_library
from paperboard.personal.ranking import rank_for_reader
from paperboard.progress import LoggingProgress
from paperboard.search.embedder import Embedder, bulk_processes
from paperboard.search.embeddings import embed_pending, stored_vectors
from search_quality import sanity_vectorizer

# The shared corpus beside the repository (../shared/data), or where PAPERBOARD_SHARED_DATA says, as for the tests.
SHARED_DATA = Path(os.environ.get("PAPERBOARD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CORPUS = SHARED_DATA / "papers.jsonl.gz"
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


SVM_C = 0.01  # arxiv-sanity-lite's serve.py default
CUTOFFS = (20, 50)
NOT_INTERESTED_READERS = 30
TIMED_READERS = 30


def sanity_text(record: PaperRecord) -> str:
    return " ".join([record.title, record.abstract, " ".join(record.authors)])


def without_reader(record: PaperRecord, reader: Reader) -> PaperRecord:
    return replace(record, authors=tuple(name for name in record.authors if author_key(name) != reader.name_key))


@dataclass
class Bench:
    corpus: Corpus
    ids: list[str]  # every arXiv id in the bench database; rows of the matrices below
    row: dict[str, int]
    tfidf: object  # scipy sparse, rows of `ids`
    vectorizer: TfidfVectorizer
    vectors: np.ndarray  # blended, normalised; zero rows for papers without one
    background: list[str]


def first_target_rank(scores: np.ndarray, candidates: Sequence[str], targets: Sequence[str]) -> int:
    """1-based rank of the best-placed target (ties counted against it)."""
    position = {arxiv_id: index for index, arxiv_id in enumerate(candidates)}
    best = max(scores[position[target]] for target in targets)
    return int((scores > best).sum() + (scores == best).sum())


def candidate_matrix(bench: Bench, candidates: Sequence[str], reader: Reader) -> object:
    """The tf-idf rows of the candidates, those naming the reader recomputed without their name."""
    rows = bench.tfidf[[bench.row[arxiv_id] for arxiv_id in candidates]].tolil()
    for index, arxiv_id in enumerate(candidates):
        record = bench.corpus.records[arxiv_id]
        if any(author_key(name) == reader.name_key for name in record.authors):
            rows[index] = bench.vectorizer.transform([sanity_text(without_reader(record, reader))])
    return rows.tocsr()


def category_scores(bench: Bench, candidates: Sequence[str], reader: Reader) -> np.ndarray:
    counts: dict[str, float] = {}
    for arxiv_id in reader.earlier:
        for position, category in enumerate(bench.corpus.records[arxiv_id].categories):
            counts[category] = counts.get(category, 0) + (1.0 if position == 0 else 0.5)
    return np.array(
        [
            sum(
                counts.get(category, 0.0) * (1.0 if position == 0 else 0.5)
                for position, category in enumerate(bench.corpus.records[arxiv_id].categories)
            )
            for arxiv_id in candidates
        ]
    )


def centroid_scores(matrix: np.ndarray, positives: np.ndarray) -> np.ndarray:
    centroid = positives.mean(axis=0)
    return np.asarray(matrix @ np.asarray(centroid).ravel()).ravel()


def svm_scores(bench: Bench, candidates_tfidf: object, reader: Reader) -> np.ndarray:
    from scipy import sparse

    positives = bench.tfidf[[bench.row[arxiv_id] for arxiv_id in reader.earlier]]
    negatives = bench.tfidf[[bench.row[arxiv_id] for arxiv_id in bench.background if arxiv_id not in reader.earlier]]
    x = sparse.vstack([positives, negatives])
    y = np.concatenate([np.ones(positives.shape[0]), np.zeros(negatives.shape[0])])
    classifier = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=SVM_C)
    classifier.fit(x, y)
    return classifier.decision_function(candidates_tfidf)


class Shipped:
    """What the site runs: each reader an account whose collection holds their earlier papers, ranked by
    `rank_for_reader` on the bench database, the reader's name taken out of the candidates in the database."""

    def __init__(self, database: Database, corpus: Corpus) -> None:
        self.database = database
        self.corpus = corpus
        with database.read_session() as session:
            self.paper_id = dict(session.execute(select(Paper.arxiv_id, Paper.id)).all())
        self.password = hash_password("a bench reader's password")
        self.keys = {
            arxiv_id: {author_key(name) for name in record.authors} for arxiv_id, record in corpus.records.items()
        }
        self.readers = 0
        self.rank_ms: list[float] = []

    def add_reader(self, reader: Reader) -> int:
        """An account whose collection "My papers" holds the reader's earlier papers, imported as a list of arXiv ids
        through the collections service (the cold start a researcher takes: "these are my papers")."""
        self.readers += 1
        with self.database.session() as session:
            user = create_user(session, f"reader{self.readers}", self.password)
            collection = create_collection(session, user.id, "My papers", private=True)
            import_library(session, collection, "\n".join(reader.earlier), "ids")
            return user.id

    def _set_authors(self, records: list[PaperRecord]) -> None:
        with self.database.session() as session:
            upsert_papers(session, records)

    def rank(self, user_id: int, reader: Reader, candidates: Sequence[str]) -> list[str]:
        naming = [self.corpus.records[arxiv_id] for arxiv_id in candidates if reader.name_key in self.keys[arxiv_id]]
        self._set_authors([without_reader(record, reader) for record in naming])
        try:
            started = time.perf_counter()
            with self.database.session() as session:
                ranking = rank_for_reader(session, user_id, [self.paper_id[arxiv_id] for arxiv_id in candidates])
            self.rank_ms.append((time.perf_counter() - started) * 1000)
        finally:
            # Papers carry a newer changed_at each time, as a harvest's corrections would.
            self._set_authors(naming)
        arxiv_of = {paper_id: arxiv_id for arxiv_id, paper_id in self.paper_id.items()}
        return [arxiv_of[item.paper_id] for item in ranking]

    def timed(self, user_id: int, candidates: Sequence[str]) -> float:
        started = time.perf_counter()
        with self.database.session() as session:
            rank_for_reader(session, user_id, [self.paper_id[arxiv_id] for arxiv_id in candidates])
        return (time.perf_counter() - started) * 1000

    def not_interested(self, user_id: int, arxiv_ids: Sequence[str]) -> None:
        with self.database.session() as session:
            for arxiv_id in arxiv_ids:
                session.add(NotInterested(user_id=user_id, paper_id=self.paper_id[arxiv_id], created_at=utcnow()))
            signals_changed(session, user_id)


def shipped_ranks(
    shipped: Shipped, readers: Sequence[Reader], candidates: Sequence[str]
) -> tuple[list[int], list[int]]:
    ranks: list[int] = []
    users: list[int] = []
    for number, reader in enumerate(readers, 1):
        if number % 50 == 0:
            logging.warning("%d readers ranked", number)
        user_id = shipped.add_reader(reader)
        users.append(user_id)
        order = shipped.rank(user_id, reader, candidates)
        positions = {arxiv_id: index + 1 for index, arxiv_id in enumerate(order)}
        ranks.append(min(positions[target] for target in reader.targets))
    return ranks, users


def summary(ranks: Sequence[int]) -> dict[str, float]:
    array = np.array(ranks, dtype=np.float64)
    return {
        "MRR": float((1 / array).mean()),
        **{f"R@{cutoff}": float((array <= cutoff).mean()) for cutoff in CUTOFFS},
    }


def load_bench(database: Database, corpus: Corpus, background: list[str]) -> Bench:
    with database.read_session() as session:
        ids = sorted(session.scalars(select(Paper.arxiv_id)))
        id_of = dict(session.execute(select(Paper.id, Paper.arxiv_id)).all())
        model = session.scalar(select(PaperEmbedding.model).limit(1))
        row = {arxiv_id: index for index, arxiv_id in enumerate(ids)}
        vectors = np.zeros((len(ids), 384), dtype=np.float32)
        if model is not None:
            for paper_ids, chunk in stored_vectors(session, model, 384):
                vectors[[row[id_of[paper_id]] for paper_id in paper_ids.tolist()]] = chunk
    vectorizer = sanity_vectorizer()
    tfidf = vectorizer.fit_transform([sanity_text(corpus.records[arxiv_id]) for arxiv_id in ids]).astype(np.float32)
    return Bench(corpus, ids, row, tfidf.tocsr(), vectorizer, vectors, background)


def baselines(bench: Bench, readers: Sequence[Reader], candidates: Sequence[str]) -> dict[str, list[int]]:
    ranks: dict[str, list[int]] = {
        "category match": [],
        "tf-idf centroid": [],
        "arxiv-sanity-lite SVM": [],
        "embedding centroid": [],
    }
    candidate_vectors = bench.vectors[[bench.row[arxiv_id] for arxiv_id in candidates]]
    for reader in readers:
        tfidf = candidate_matrix(bench, candidates, reader)
        earlier_tfidf = bench.tfidf[[bench.row[arxiv_id] for arxiv_id in reader.earlier]]
        earlier_vectors = bench.vectors[[bench.row[arxiv_id] for arxiv_id in reader.earlier]]
        scores = {
            "category match": category_scores(bench, candidates, reader),
            "tf-idf centroid": centroid_scores(tfidf, earlier_tfidf),
            "arxiv-sanity-lite SVM": svm_scores(bench, tfidf, reader),
            "embedding centroid": centroid_scores(candidate_vectors, earlier_vectors),
        }
        for name, score in scores.items():
            ranks[name].append(first_target_rank(score, candidates, reader.targets))
    return ranks


def not_interested_effect(
    shipped: Shipped, users: Sequence[int], readers: Sequence[Reader], candidates: Sequence[str]
) -> list[tuple[str, float, float, int, int]]:
    """For some readers: the primary category most present in their top 50 other than their own main one; "not
    interested" on its 3 best-placed papers; the median rank of its other top-100 papers before and after, and how
    many of them were in the top 20."""
    effects = []
    for user_id, reader in list(zip(users, readers, strict=True))[:NOT_INTERESTED_READERS]:
        own = Counter(
            shipped.corpus.records[a].categories[0] for a in reader.earlier if shipped.corpus.records[a].categories
        )
        main = own.most_common(1)[0][0] if own else None
        before = shipped.rank(user_id, reader, candidates)
        primary = {a: (shipped.corpus.records[a].categories or ("",))[0] for a in before[:100]}
        topics = Counter(
            category for a, category in primary.items() if category and category != main and a in before[:50]
        )
        if not topics:
            continue
        topic = topics.most_common(1)[0][0]
        of_topic = [a for a in before[:100] if primary[a] == topic]
        if len(of_topic) < 5:
            continue
        dismissed, others = of_topic[:3], of_topic[3:]
        shipped.not_interested(user_id, dismissed)
        after = shipped.rank(user_id, reader, candidates)
        before_shown = [a for a in before if a not in dismissed]
        rank_before = [before_shown.index(a) + 1 for a in others]
        rank_after = [after.index(a) + 1 for a in others]
        effects.append(
            (
                topic,
                float(np.median(rank_before)),
                float(np.median(rank_after)),
                sum(r <= 20 for r in rank_before),
                sum(r <= 20 for r in rank_after),
            )
        )
    return effects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--month", default="2026-03", choices=MONTHS)
    parser.add_argument("--readers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/paperboard-replay"))
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--first", type=int, help="evaluate only the first N drawn readers (quick tuning runs)")
    parser.add_argument("--systems", default="baselines,shipped,shipped-no-vectors")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    systems = set(arguments.systems.split(","))

    if not arguments.corpus.is_file():
        parser.error(f"the shared corpus is not at {arguments.corpus} (give --corpus or set PAPERBOARD_SHARED_DATA)")
    corpus = load_corpus(arguments.corpus)
    readers = {month: draw_readers(corpus, month, arguments.readers, arguments.seed) for month in MONTHS}
    background = background_sample(corpus, arguments.seed)
    arguments.data_dir.mkdir(parents=True, exist_ok=True)
    database_path = arguments.data_dir / f"replay-{arguments.readers}-{arguments.seed}.sqlite3"
    build_file = database_path.with_suffix(".build.json")
    if not build_file.exists():
        needed = {arxiv_id for month in MONTHS for arxiv_id in corpus.month(month)}
        needed |= {arxiv_id for month in MONTHS for reader in readers[month] for arxiv_id in reader.earlier}
        needed |= set(background)
        database_path.unlink(missing_ok=True)
        timings = build_database(database_path, corpus, needed)
        build_file.write_text(json.dumps({"papers": len(needed), **timings}))
    print("bench database:", database_path, json.loads(build_file.read_text()))
    if arguments.build_only:
        return

    month_readers = readers[arguments.month][: arguments.first]
    candidates = sorted(corpus.month(arguments.month))
    print(f"month {arguments.month}: {len(month_readers)} readers, {len(candidates)} candidates")
    results: dict[str, dict[str, float]] = {}
    database = Database(f"sqlite:///{database_path}")
    if "baselines" in systems:
        started = time.perf_counter()
        bench = load_bench(database, corpus, background)
        for name, ranks in baselines(bench, month_readers, candidates).items():
            results[name] = summary(ranks)
            print(name, results[name])
        print(f"baselines: {time.perf_counter() - started:.0f} s")
    for variant in ("shipped", "shipped-no-vectors"):
        if variant not in systems:
            continue
        # Each variant ranks in a copy of its own, which its readers' accounts and collections go into.
        working = arguments.data_dir / f"{variant}.sqlite3"
        working.unlink(missing_ok=True)
        with sqlite3.connect(database_path) as source, sqlite3.connect(working) as copy:
            source.backup(copy)
            if variant == "shipped-no-vectors":
                copy.execute("DELETE FROM paper_embeddings")
        shipped = Shipped(Database(f"sqlite:///{working}"), corpus)
        started = time.perf_counter()
        ranks, users = shipped_ranks(shipped, month_readers, candidates)
        results[variant] = summary(ranks)
        print(variant, results[variant])
        print(
            f"{variant}: {time.perf_counter() - started:.0f} s; rank_for_reader with a fresh model "
            f"p50 {np.percentile(shipped.rank_ms, 50):.0f} ms, p99 {np.percentile(shipped.rank_ms, 99):.0f} ms"
        )
        steady = [shipped.timed(user_id, candidates) for user_id in users[:TIMED_READERS]]
        print(
            f"  rank {len(candidates)} candidates, model current: p50 {np.percentile(steady, 50):.1f} ms, "
            f"p99 {np.percentile(steady, 99):.1f} ms ({len(steady)} readers)"
        )
        after_action = []
        for user_id, reader in list(zip(users, month_readers, strict=True))[:TIMED_READERS]:
            shipped.not_interested(user_id, [candidates[0] if candidates[0] not in reader.targets else candidates[1]])
            after_action.append(shipped.timed(user_id, candidates))
        print(
            f"  first rank after one action (retraining included): p50 {np.percentile(after_action, 50):.1f} ms, "
            f"p99 {np.percentile(after_action, 99):.1f} ms"
        )
        if variant == "shipped":
            effects = not_interested_effect(shipped, users[TIMED_READERS:], month_readers[TIMED_READERS:], candidates)
            print(
                "  not interested on 3 papers of a topic (reader's top 100): topic, median rank of its other "
                "papers before -> after, how many in the top 20 before -> after"
            )
            for topic, before, after, top_before, top_after in effects:
                print(f"    {topic:10} {before:6.0f} -> {after:6.0f}   {top_before:2} -> {top_after:2}")
        shipped.database.dispose()
    database.dispose()

    print(f"\n| system ({arguments.month}, {len(month_readers)} readers) | MRR | R@20 | R@50 |")
    print("|---|---|---|---|")
    for name, figures in results.items():
        print(f"| {name} | {figures['MRR']:.3f} | {figures['R@20']:.3f} | {figures['R@50']:.3f} |")


if __name__ == "__main__":
    main()
