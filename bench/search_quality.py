"""Search quality: keyword, semantic and hybrid search beside an arxiv-sanity-lite tf-idf baseline, as MRR@10,
Recall@10 and nDCG@10 on the shared corpus, and graded nDCG@10 and P@10 for requests for a kind of paper.

    .venv/bin/python bench/search_quality.py [--corpus PATH] [--database PATH] [--sets a,b,n,k]
        [--systems tfidf,keyword,semantic,hybrid] [--sample 1000] [--seed 5] [--limit-corpus N] [--allow-partial]
        [--per-query] [--tune] [--pool PATH [--pool-skip PATH ...]]

Four sets of queries; the first three have one target paper per query:
(a) title → abstract: `--sample` titles drawn with `--seed`; each title must find its own paper from the abstracts
    alone (keyword documents without title or authors, and the abstracts' own vectors);
(b) descriptive queries: `bench/data/search_queries.jsonl`, written in other words than the title, as a researcher
    half-remembers a paper; documents are whole papers (title, abstract and authors, blended vectors). A line's
    optional `written` field says how its query was written; the figures are also given for each way;
(n) queries written from memory notes by someone who never saw the paper: `bench/data/search_queries_notes.jsonl`
    (whole papers, as (b));
(k) requests for a kind of paper (`bench/data/search_kind_queries.jsonl`), judged as TREC pools are: every paper any
    system ranked in a request's top 10 was graded by a reader of its title and abstract alone (never the ranks)
    in `bench/data/search_kind_judgements.jsonl`: 0 not the kind asked for, 1 partly (on topic but missing a stated
    requirement), 2 fully.
For one target, MRR@10 averages the reciprocal rank of the target when it is in the top 10 (0 otherwise),
Recall@10 is the share of queries whose target is in the top 10 and nDCG@10 counts the target as the only paper of
grade 1. For a kind request, nDCG@10 uses the grades (linear gains; the ideal ranking is the request's best judged
papers), P@10 is the share of the top 10 graded 1 or 2 (P@10 (2): graded 2), and `unjudged` is the share of a
system's top 10 nobody judged, which the other figures count as grade 0: a system whose results were not pooled
looks worse than it is until they are judged. `--pool PATH` writes the pairs to judge: every system's top 10 of each
kind request, less the pairs in the judgements and in each `--pool-skip` file (a pool already given out), with
each paper's title, abstract and the ranks the systems gave it. Every query searches the whole corpus (or, with
--limit-corpus N, its first N papers plus the targets, for quick runs only: fewer papers make every system look
better).

Systems:
- tfidf: the baseline, as arxiv-sanity-lite computes its features (compute.py): scikit-learn's TfidfVectorizer with
  its settings, fitted on the documents searched (title, abstract and authors joined, or the abstract alone for
  (a)); the query is transformed with the same vectorizer and papers are ranked by cosine;
- keyword, semantic, hybrid: Paperboard's own engine (`paperboard.search.engine.SearchEngine.rank`). Its vectors are
  read from a Paperboard database embedded by `paperboard index` (--database); each query is embedded when it is
  asked, with the threads a web worker uses. Semantic and hybrid figures are only reported when every paper
  searched has a vector (--allow-partial reports them anyway, and says so): a partial index would flatter or hurt
  them.
Timings: building each index, and the mean and p99 time per query of each system. Then hybrid (keyword when hybrid
is not run) against each other system query by query: how many queries it does better and worse on, and a 95%
bootstrap interval of the difference in MRR@10 and nDCG@10 (nDCG@10 and P@10 for kind requests), so that a margin
can be told from chance. --per-query lists, for the sets of whole papers, each target's rank under each system with,
when hybrid runs, the target's explanation as `GET /api/papers/search?explain=1` gives it (its keyword and semantic
ranks and scores and its fused score), and each kind request's nDCG@10 under each system.

--tune runs the hybrid ranking over a grid of fusions (by scores with several keyword weights, by reciprocal ranks
with several constants and weights, each ranking read 50, 100 or 200 deep) on data kept apart from the test
figures: `bench/data/search_queries_dev.jsonl` and a sample of titles disjoint from (a)'s, drawn with --seed + 1.
Targets (issue 5): hybrid clearly above keyword and semantic alone, and above the baseline on both sets.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import TypeVar

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import select

from paperboard.db import Database
from paperboard.db.models import Paper
from paperboard.search.analysis import Document
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import model_key, stored_vectors
from paperboard.search.engine import (
    DEFAULT_FUSION,
    Fusion,
    FusionMethod,
    Ranking,
    SearchEngine,
    SearchMode,
    fuse,
    rank,
    ranked_lists,
)
from paperboard.search.keyword_index import KeywordIndex, top_rows
from paperboard.search.service import QUERY_EMBEDDING_THREADS
from paperboard.search.vector_index import VectorIndex

BENCH = Path(__file__).resolve().parent
SHARED_DATA = BENCH.parents[1] / "shared" / "data"
TEST_QUERIES = BENCH / "data" / "search_queries.jsonl"
NOTES_QUERIES = BENCH / "data" / "search_queries_notes.jsonl"
KIND_QUERIES = BENCH / "data" / "search_kind_queries.jsonl"
KIND_JUDGEMENTS = BENCH / "data" / "search_kind_judgements.jsonl"
DEV_QUERIES = BENCH / "data" / "search_queries_dev.jsonl"
DEFAULT_DATABASE = Path("/tmp/apibench/paperboard.sqlite3")
CUTOFF = 10
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 7
SETS = ("a", "b", "n", "k")
SYSTEMS = ("tfidf", "keyword", "semantic", "hybrid")
ENGINE_MODES = {"keyword": SearchMode.KEYWORD, "semantic": SearchMode.SEMANTIC, "hybrid": SearchMode.HYBRID}
NEEDS_VECTORS = ("semantic", "hybrid")
# The fusions --tune tries: score fusion with these keyword weights (semantic 1 - it), and reciprocal-rank fusion
# with these constants and (keyword, semantic) weights; each ranking read as deep as each of TUNING_DEPTHS.
TUNING_SCORE_WEIGHTS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
TUNING_K = (5.0, 10.0, 20.0, 60.0)
TUNING_RRF_WEIGHTS = ((1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (4.0, 1.0))
TUNING_DEPTHS = (50, 100, 200)

T = TypeVar("T")


@dataclass(frozen=True)
class CorpusPaper:
    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    text: str
    target: int | None
    """The target's row in the corpus, which is also its id in every index built here; None for a request for a kind
    of paper, which has no single target."""
    written: str = ""
    """How the query was written (the optional `written` field of its line), for figures by kind."""
    kind_id: str = ""
    """A kind request's id, which its judgements name."""


@dataclass(frozen=True)
class QuerySet:
    name: str
    queries: list[Query]
    abstracts_only: bool


@dataclass(frozen=True)
class Score:
    found: tuple[tuple[int, ...], ...]
    """Each query's best `CUTOFF` papers, as corpus rows, best first."""
    ranks: tuple[int | None, ...]
    """Each query's rank of its target, None beyond the top `CUTOFF` (always None for a kind request)."""
    latencies_ms: tuple[float, ...]
    """Each query's time to rank."""

    @property
    def mrr(self) -> float:
        return float(reciprocal_ranks(self.ranks).mean())

    @property
    def recall(self) -> float:
        return float((reciprocal_ranks(self.ranks) > 0).mean())

    @property
    def mean_ms(self) -> float:
        return float(np.mean(self.latencies_ms))

    @property
    def p99_ms(self) -> float:
        return float(np.percentile(self.latencies_ms, 99))


Judgements = dict[str, dict[int, int]]
"""Each kind request's judged papers: kind id → corpus row → grade (0 not, 1 partly, 2 fully the kind asked for)."""

Ranker = Callable[[str], list[int]]
"""A query's best `CUTOFF` papers, as corpus rows, best first."""


def load_corpus(path: Path) -> list[CorpusPaper]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return [
            CorpusPaper(record["arxiv_id"], record["title"], record["abstract"], tuple(record["authors"]))
            for record in map(json.loads, stream)
        ]


def load_queries(path: Path, row_of: dict[str, int]) -> list[Query]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    unknown = [record["arxiv_id"] for record in records if record["arxiv_id"] not in row_of]
    if unknown:
        sys.exit(f"{path}: target papers not in the corpus: {', '.join(unknown)}")
    return [Query(record["query"], row_of[record["arxiv_id"]], record.get("written", "")) for record in records]


def load_kind_queries(path: Path) -> list[Query]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Query(record["query"], None, kind_id=record["kind_id"]) for record in records]


def sample_titles(papers: Sequence[CorpusPaper], count: int, seed: int, excluded: Iterable[int] = ()) -> list[Query]:
    skipped = set(excluded)
    candidates = [row for row in range(len(papers)) if row not in skipped]
    chosen = random.Random(seed).sample(candidates, min(count, len(candidates)))
    return [Query(papers[row].title, row) for row in chosen]


def searched_rows(corpus_size: int, limit: int | None, query_sets: Iterable[QuerySet]) -> np.ndarray:
    """The corpus rows searched, ascending: all of them, or the first `limit` plus every target."""
    if limit is None:
        return np.arange(corpus_size, dtype=np.int64)
    targets = [query.target for query_set in query_sets for query in query_set.queries if query.target is not None]
    return np.union1d(np.arange(min(limit, corpus_size)), np.asarray(targets, dtype=np.int64)).astype(np.int64)


def tfidf_text(paper: CorpusPaper, abstracts_only: bool) -> str:
    # arxiv-sanity-lite's make_corpus: title, summary and author names, joined by spaces.
    return paper.abstract if abstracts_only else " ".join([paper.title, paper.abstract, " ".join(paper.authors)])


def engine_documents(papers: Sequence[CorpusPaper], rows: np.ndarray, abstracts_only: bool) -> Iterator[Document]:
    for row in rows.tolist():
        paper = papers[row]
        if abstracts_only:
            yield Document(title="", abstract=paper.abstract, authors=())
        else:
            yield Document(title=paper.title, abstract=paper.abstract, authors=paper.authors)


def sanity_vectorizer() -> TfidfVectorizer:
    """arxiv-sanity-lite's tf-idf features (compute.py at its newest commit), for the baselines of the search and the
    "for you" benchmarks alike."""
    return TfidfVectorizer(
        input="content",
        encoding="utf-8",
        decode_error="replace",
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        max_features=20000,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=0.1,
        min_df=5,
    )


class TfidfSearch:
    """The arxiv-sanity-lite baseline: its tf-idf features of the documents searched, ranked by cosine."""

    def __init__(self, texts: Iterable[str], rows: np.ndarray) -> None:
        self.vectorizer = sanity_vectorizer()
        # Stored by feature, so that a query only reads the columns of its own few features.
        self.features = self.vectorizer.fit_transform(texts).astype(np.float32).tocsc()
        self.rows = rows

    def rank(self, query: str) -> list[int]:
        # Rows are l2-normalised, so the dot product is the cosine; papers sharing no feature are not results.
        query_features = self.vectorizer.transform([query])
        similarities = self.features[:, query_features.indices] @ query_features.data.astype(np.float32)
        best, _ = top_rows(np.asarray(similarities).ravel(), CUTOFF)
        return self.rows[best].tolist()


class RememberingEmbedder:
    """Embeds each query once: the tuning grid asks the engine the same queries many times."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}

    def embed_one(self, text: str) -> np.ndarray:
        if text not in self.vectors:
            self.vectors[text] = self.embedder.embed_one(text)
        return self.vectors[text]


def database_url(database: str) -> str:
    return database if "://" in database else f"sqlite:///{Path(database).resolve()}"


def read_vectors(
    url: str, embedder: Embedder, row_of: dict[str, int], *, abstracts_only: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(corpus rows, vectors), ascending by row, of the corpus papers the database holds vectors of `embedder` for."""
    database = Database(url)
    model = model_key(embedder)
    rows: list[np.ndarray] = []
    matrices: list[np.ndarray] = []
    try:
        with database.read_session() as session:
            row_of_id = {
                paper_id: row_of[arxiv_id]
                for paper_id, arxiv_id in session.execute(select(Paper.id, Paper.arxiv_id))
                if arxiv_id in row_of
            }
            for paper_ids, vectors in stored_vectors(
                session, model, embedder.dimensions, abstracts_only=abstracts_only
            ):
                chunk_rows = np.fromiter((row_of_id.get(paper_id, -1) for paper_id in paper_ids.tolist()), np.int64)
                rows.append(chunk_rows[chunk_rows >= 0])
                matrices.append(vectors[chunk_rows >= 0])
    finally:
        database.dispose()
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, embedder.dimensions), dtype=np.float32)
    all_rows, all_vectors = np.concatenate(rows), np.concatenate(matrices)
    order = np.argsort(all_rows, kind="stable")
    return all_rows[order], all_vectors[order]


def reciprocal_ranks(ranks: Sequence[int | None]) -> np.ndarray:
    """1 / rank for each query, 0 where the target is beyond the top `CUTOFF`."""
    return np.array([0.0 if position is None else 1 / position for position in ranks])


def evaluate(rank: Ranker, queries: Sequence[Query]) -> Score:
    found: list[tuple[int, ...]] = []
    ranks: list[int | None] = []
    latencies_ms = np.zeros(len(queries))
    for number, query in enumerate(queries):
        started = time.perf_counter()
        best = rank(query.text)[:CUTOFF]
        latencies_ms[number] = (time.perf_counter() - started) * 1000
        found.append(tuple(best))
        ranks.append(best.index(query.target) + 1 if query.target in best else None)
    return Score(tuple(found), tuple(ranks), tuple(latencies_ms.tolist()))


def by_writing(
    results: dict[tuple[str, str], Score], query_sets: Sequence[QuerySet]
) -> tuple[list[QuerySet], dict[tuple[str, str], Score]]:
    """The queries of each set written in several ways, grouped by way as sets of their own, with their scores:
    queries written from an abstract share more of its words than queries written from a memory of it, and the
    systems do not gain or lose alike."""
    groups: list[QuerySet] = []
    scores: dict[tuple[str, str], Score] = {}
    for query_set in query_sets:
        ways = list(dict.fromkeys(query.written for query in query_set.queries))
        if len(ways) < 2:
            continue
        for way in ways:
            positions = [number for number, query in enumerate(query_set.queries) if query.written == way]
            group = QuerySet(
                f"{query_set.name.split(',')[0]} {way or 'unlabelled'}, {len(positions)}",
                [query_set.queries[number] for number in positions],
                query_set.abstracts_only,
            )
            groups.append(group)
            for (name, system), score in results.items():
                if name == query_set.name:
                    scores[group.name, system] = Score(
                        tuple(score.found[number] for number in positions),
                        tuple(score.ranks[number] for number in positions),
                        tuple(score.latencies_ms[number] for number in positions),
                    )
    return groups, scores


def timed(label: str, build: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = build()
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


class SetIndexes:
    """What the sets of one kind of document (abstracts alone, or whole papers) are searched with: the tf-idf baseline
    and Paperboard's engine, over the same rows."""

    def __init__(
        self,
        abstracts_only: bool,
        papers: Sequence[CorpusPaper],
        rows: np.ndarray,
        systems: Sequence[str],
        vectors: tuple[np.ndarray, np.ndarray] | None,
        embedder: Embedder | RememberingEmbedder | None,
    ) -> None:
        print(f"building the indexes of {documents_of(abstracts_only)}, {len(rows):,} papers:", flush=True)
        self.tfidf = None
        self.engine = None
        if "tfidf" in systems:
            texts = (tfidf_text(papers[row], abstracts_only) for row in rows.tolist())
            self.tfidf = timed("tf-idf baseline (fit and transform)", lambda: TfidfSearch(texts, rows))
        if any(system in ENGINE_MODES for system in systems):
            documents = engine_documents(papers, rows, abstracts_only)
            keyword = timed("keyword index", lambda: KeywordIndex.build(rows, documents))
            vector_index = None
            if vectors is not None:
                vector_rows, matrix = vectors
                vector_index = timed("vector index", lambda: VectorIndex.build(vector_rows, matrix))
            # The engine only calls `embed_one`, which a RememberingEmbedder answers too.
            self.engine = SearchEngine(keyword=keyword, vectors=vector_index, embedder=embedder)  # type: ignore[arg-type]

    def ranker(self, system: str, fusion: Fusion | None = None) -> Ranker:
        if system == "tfidf":
            assert self.tfidf is not None
            return self.tfidf.rank
        assert self.engine is not None
        engine, mode = self.engine, ENGINE_MODES[system]
        options = {} if fusion is None else {"fusion": fusion}
        return lambda query: engine.rank(query, mode, limit=CUTOFF, **options)


def documents_of(abstracts_only: bool) -> str:
    return "abstracts alone" if abstracts_only else "whole papers"


def vectors_for(
    abstracts_only: bool,
    targets: set[int],
    rows: np.ndarray,
    arguments: argparse.Namespace,
    embedder: Embedder,
    row_of: dict[str, int],
) -> tuple[tuple[np.ndarray, np.ndarray] | None, str]:
    """The vectors of the rows searched, or None when semantic figures must not be reported, and a line saying why."""
    kind = "abstracts' vectors" if abstracts_only else "blended title and abstract vectors"
    started = time.perf_counter()
    vector_rows, matrix = read_vectors(
        database_url(arguments.database), embedder, row_of, abstracts_only=abstracts_only
    )
    keep = np.isin(vector_rows, rows)
    vector_rows, matrix = vector_rows[keep], matrix[keep]
    missing = len(rows) - len(vector_rows)
    note = (
        f"{documents_of(abstracts_only)}: {len(vector_rows):,} of the {len(rows):,} papers searched have {kind} "
        f"({time.perf_counter() - started:.1f} s to read)"
    )
    if missing == 0:
        return (vector_rows, matrix), note
    targets_missing = len(targets - set(vector_rows.tolist()))
    note += f"; {missing:,} have none ({targets_missing} of them targets)"
    if arguments.allow_partial:
        return (vector_rows, matrix), note + ": --allow-partial, so semantic and hybrid figures are of a PARTIAL index"
    return None, note + ": semantic and hybrid not reported (embed them all, or pass --allow-partial)"


def load_judgements(path: Path, row_of: dict[str, int]) -> Judgements:
    judgements: Judgements = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                judgements.setdefault(record["kind_id"], {})[row_of[record["arxiv_id"]]] = int(record["grade"])
    return judgements


def is_kind_set(query_set: QuerySet) -> bool:
    return query_set.queries[0].target is None


def discounted(gains: np.ndarray) -> np.ndarray:
    """Each row's discounted cumulative gain over its first `CUTOFF` columns (linear gains, as trec_eval's ndcg)."""
    discounts = 1 / np.log2(np.arange(2, gains.shape[1] + 2))
    return gains @ discounts


def per_query(score: Score, query_set: QuerySet, judgements: Judgements) -> dict[str, np.ndarray]:
    """Each query's figures: for one target, MRR@10, Recall@10 and nDCG@10 with the target as the only paper of
    grade 1; for a kind request, nDCG@10 with the judged grades (0, 1 partly, 2 fully; the ideal ranking is the
    request's best judged papers), P@10 of papers graded 1 or 2 and of papers graded 2, and the share of the top 10
    nobody judged, which every other figure counts as grade 0."""
    if not is_kind_set(query_set):
        reciprocal = reciprocal_ranks(score.ranks)
        gains = np.zeros((len(score.ranks), CUTOFF))
        for number, position in enumerate(score.ranks):
            if position is not None:
                gains[number, position - 1] = 1
        return {"MRR@10": reciprocal, "Recall@10": (reciprocal > 0).astype(float), "nDCG@10": discounted(gains)}
    gains = np.zeros((len(query_set.queries), CUTOFF))
    ideal = np.zeros_like(gains)
    unjudged = np.zeros(len(query_set.queries))
    for number, (query, found) in enumerate(zip(query_set.queries, score.found, strict=True)):
        grades = judgements.get(query.kind_id, {})
        gains[number, : len(found)] = [grades.get(row, 0) for row in found]
        best = sorted(grades.values(), reverse=True)[:CUTOFF]
        ideal[number, : len(best)] = best
        unjudged[number] = sum(row not in grades for row in found) / max(len(found), 1)
    ideal_gain = discounted(ideal)
    ndcg = np.divide(discounted(gains), ideal_gain, out=np.zeros(len(gains)), where=ideal_gain > 0)
    return {
        "nDCG@10": ndcg,
        "P@10": (gains >= 1).sum(axis=1) / CUTOFF,
        "P@10 (2)": (gains == 2).sum(axis=1) / CUTOFF,
        "unjudged": unjudged,
    }


def print_table(
    results: dict[tuple[str, str], Score],
    query_sets: Sequence[QuerySet],
    systems: Sequence[str],
    judgements: Judgements,
) -> None:
    columns = ("MRR@10", "Recall@10", "nDCG@10", "P@10", "P@10 (2)", "unjudged")
    print(
        f"\n{'set':<44}{'system':<10}"
        + "".join(f"{column:>10}" for column in columns)
        + f"{'ms/query':>10}{'p99 ms':>8}"
    )
    for query_set in query_sets:
        for system in systems:
            score = results.get((query_set.name, system))
            if score is None:
                print(f"{query_set.name:<44}{system:<10}{'not reported':>30}")
                continue
            figures = per_query(score, query_set, judgements)
            cells = "".join(
                f"{figures[column].mean():>10.4f}" if column in figures else f"{'':>10}" for column in columns
            )
            print(f"{query_set.name:<44}{system:<10}{cells}{score.mean_ms:>10.1f}{score.p99_ms:>8.1f}")
    if any(is_kind_set(query_set) for query_set in query_sets):
        judged = sum(len(grades) for grades in judgements.values())
        print(
            f"kind requests: {judged:,} papers judged for {len(judgements)} requests; P@10 counts grades 1 and 2, "
            "P@10 (2) grade 2 only; 'unjudged' is the share of a system's top 10 nobody judged, counted as grade 0"
        )


def print_paired(
    results: dict[tuple[str, str], Score],
    query_sets: Sequence[QuerySet],
    systems: Sequence[str],
    judgements: Judgements,
) -> None:
    """The best system run (hybrid, else keyword) against each other system, query by query: how often it does better
    or worse, and a 95% bootstrap interval of the difference in the set's main figures (the queries resampled), so
    that a margin can be told from chance."""
    generator = np.random.default_rng(BOOTSTRAP_SEED)
    reference = next((system for system in ("hybrid", "keyword") if system in systems), None)
    if reference is None:
        return
    print(
        f"\n{reference} against each system, query by query ({BOOTSTRAP_RESAMPLES:,} bootstrap resamples of the "
        "queries):"
    )
    for query_set in query_sets:
        ours = results.get((query_set.name, reference))
        if ours is None:
            continue
        metrics = ("nDCG@10", "P@10") if is_kind_set(query_set) else ("MRR@10", "nDCG@10")
        for system in systems:
            other = results.get((query_set.name, system))
            if system == reference or other is None:
                continue
            ours_figures, other_figures = (
                per_query(ours, query_set, judgements),
                per_query(other, query_set, judgements),
            )
            for metric in metrics:
                differences = ours_figures[metric] - other_figures[metric]
                samples = generator.integers(0, len(differences), size=(BOOTSTRAP_RESAMPLES, len(differences)))
                low, high = np.percentile(differences[samples].mean(axis=1), [2.5, 97.5])
                print(
                    f"  {query_set.name:<44} vs {system:<9} {differences.mean():+.4f} {metric} (95%: {low:+.4f} to "
                    f"{high:+.4f}); better for {(differences > 0).sum()}, worse for {(differences < 0).sum()} queries"
                )


def print_per_query(
    results: dict[tuple[str, str], Score], query_set: QuerySet, systems: Sequence[str], engine: SearchEngine | None
) -> None:
    """Each query's rank of its target under each system and, when hybrid was run, where the target's hybrid place
    comes from: its rank and score in the keyword and the semantic rankings and its fused score, as `?explain=1`
    gives them."""
    reported = [system for system in systems if (query_set.name, system) in results]
    explained = engine is not None and (query_set.name, "hybrid") in results
    print(f"\n{query_set.name}: the target's rank for each query ('-': not in the top {CUTOFF})")
    if explained:
        print(
            "  then, in hybrid mode, the target's [fused rank, fused score | keyword rank, BM25 | semantic rank, "
            f"cosine] ('-': not among that ranking's {DEFAULT_FUSION.depth} best)"
        )
    print("".join(f"{system:>9}" for system in reported) + "  query")
    for number, query in enumerate(query_set.queries):
        positions = [results[query_set.name, system].ranks[number] for system in reported]
        line = "".join(f"{'-' if position is None else position:>9}" for position in positions) + f"  {query.text}"
        if explained:
            assert engine is not None and query.target is not None
            line += f"  [{target_explanation(engine, query.text, query.target)}]"
        print(line)


def print_per_request(
    results: dict[tuple[str, str], Score], query_set: QuerySet, systems: Sequence[str], judgements: Judgements
) -> None:
    reported = [system for system in systems if (query_set.name, system) in results]
    figures = {system: per_query(results[query_set.name, system], query_set, judgements) for system in reported}
    print(f"\n{query_set.name}: each request's nDCG@10 (and how many of the top {CUTOFF} nobody judged)")
    print("".join(f"{system:>14}" for system in reported) + "  request")
    for number, query in enumerate(query_set.queries):
        cells = "".join(
            f"{figures[system]['nDCG@10'][number]:>9.3f} ({round(figures[system]['unjudged'][number] * CUTOFF):>2})"
            for system in reported
        )
        print(f"{cells}  {query.kind_id} {query.text}")


def target_explanation(engine: SearchEngine, query: str, target: int) -> str:
    assert engine.vectors is not None
    lists = ranked_lists(
        [(engine.keyword, None)],
        [(engine.vectors, None)],
        query,
        SearchMode.HYBRID,
        embedder=engine.embedder,
        limit=DEFAULT_FUSION.depth,
    )
    explanation = lists.explanations().get(target)
    if explanation is None:
        return "-"

    def cell(rank: int | None, score: float | None, digits: int) -> str:
        return "-" if rank is None or score is None else f"{rank} {score:.{digits}f}"

    assert explanation.fused_score is not None
    keyword = cell(explanation.keyword_rank, explanation.keyword_score, 2)
    semantic = cell(explanation.semantic_rank, explanation.cosine, 3)
    return f"{explanation.rank} {explanation.fused_score:.3f} | {keyword} | {semantic}"


def scored(engine: SearchEngine, query: str, mode: SearchMode, limit: int) -> Ranking:
    """The engine's keyword or semantic ranking with its scores, which fusion needs."""
    assert engine.vectors is not None
    parts = [(engine.keyword, None)], [(engine.vectors, None)]
    return rank(*parts, query, mode, embedder=engine.embedder, limit=limit)


def known_pairs(paths: Iterable[Path]) -> set[tuple[str, str]]:
    """The (kind id, arXiv id) pairs of JSON-lines files that exist: judged, or in a pool already given out."""
    pairs: set[tuple[str, str]] = set()
    for path in paths:
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    pairs.add((record["kind_id"], record["arxiv_id"]))
    return pairs


def write_pool(
    path: Path,
    query_set: QuerySet,
    results: dict[tuple[str, str], Score],
    papers: Sequence[CorpusPaper],
    skipped: set[tuple[str, str]],
) -> None:
    """As a TREC pool: the union of every system's top `CUTOFF` for each request, one line per (request, paper) with
    the paper's title and abstract to judge from and the rank each system gave it (for the record only: a judge
    reads the request, the title and the abstract)."""
    systems = [system for (name, system) in results if name == query_set.name]
    lines = []
    for number, query in enumerate(query_set.queries):
        ranks: dict[int, dict[str, int]] = {}
        for system in systems:
            for position, row in enumerate(results[query_set.name, system].found[number], start=1):
                ranks.setdefault(row, {})[system] = position
        for row, by_system in ranks.items():
            paper = papers[row]
            if (query.kind_id, paper.arxiv_id) in skipped:
                continue
            record = {
                "kind_id": query.kind_id,
                "query": query.text,
                "arxiv_id": paper.arxiv_id,
                "title": paper.title,
                "abstract": paper.abstract,
                "ranks": by_system,
            }
            lines.append(json.dumps(record, ensure_ascii=False))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"\npool of {query_set.name} by {', '.join(systems)}: {len(lines):,} pairs to judge in {path}", flush=True)


def tuning_grid() -> list[Fusion]:
    scores = [
        Fusion(FusionMethod.SCORES, keyword_weight=weight, semantic_weight=round(1 - weight, 2), depth=depth)
        for weight, depth in product(TUNING_SCORE_WEIGHTS, TUNING_DEPTHS)
    ]
    reciprocal = [
        Fusion(FusionMethod.RECIPROCAL_RANK, keyword_weight=keyword, semantic_weight=semantic, depth=depth, k=k)
        for k, (keyword, semantic), depth in product(TUNING_K, TUNING_RRF_WEIGHTS, TUNING_DEPTHS)
    ]
    return [*scores, *reciprocal]


def describe(fusion: Fusion) -> str:
    if fusion.method is FusionMethod.SCORES:
        return f"scores, keyword {fusion.keyword_weight:g} + semantic {fusion.semantic_weight:g}, depth {fusion.depth}"
    return (
        f"reciprocal rank, k {fusion.k:g}, keyword {fusion.keyword_weight:g} : semantic "
        f"{fusion.semantic_weight:g}, depth {fusion.depth}"
    )


def tune(indexes: dict[bool, SetIndexes], query_sets: Sequence[QuerySet]) -> None:
    """Each query's keyword and semantic rankings are computed once, as deep as the grid reads, then fused with
    every setting of the grid, as `rank` fuses them."""
    grid = tuning_grid()
    deepest = max(fusion.depth for fusion in grid)
    print(f"\nhybrid fusion grid ({len(grid)} settings), MRR@10 / Recall@10 on data kept apart from the test figures:")
    rankings: dict[str, list[tuple[Ranking, Ranking]]] = {}
    for query_set in query_sets:
        engine = indexes[query_set.abstracts_only].engine
        assert engine is not None
        for system in ("keyword", "semantic"):
            score = evaluate(indexes[query_set.abstracts_only].ranker(system), query_set.queries)
            print(f"  {query_set.name}, {system} alone: {score.mrr:.4f} / {score.recall:.4f}")
        rankings[query_set.name] = [
            (
                scored(engine, query.text, SearchMode.KEYWORD, deepest),
                scored(engine, query.text, SearchMode.SEMANTIC, deepest),
            )
            for query in query_set.queries
        ]
    rows = []
    for fusion in grid:
        scores = []
        for query_set in query_sets:
            fused = iter(
                [paper_id for paper_id, _ in fuse(keyword[: fusion.depth], semantic[: fusion.depth], fusion)[:CUTOFF]]
                for keyword, semantic in rankings[query_set.name]
            )
            scores.append(evaluate(lambda _query, fused=fused: next(fused), query_set.queries))
        rows.append((fusion, scores))
    rows.sort(key=lambda row: -sum(score.mrr for score in row[1]) / len(row[1]))
    print()
    for number, query_set in enumerate(query_sets, start=1):
        print(f"set {number}: {query_set.name}")
    header = "".join(f"{f'set {number} MRR@10':>16}{'R@10':>7}" for number in range(1, len(query_sets) + 1))
    print(f"{'fusion':<62}{header}{'mean MRR@10':>13}")
    for fusion, scores in rows:
        cells = "".join(f"{score.mrr:>16.4f}{score.recall:>7.3f}" for score in scores)
        mean = sum(score.mrr for score in scores) / len(scores)
        mark = "  (the engine's default)" if fusion == DEFAULT_FUSION else ""
        print(f"{describe(fusion):<62}{cells}{mean:>13.4f}{mark}")


def build_query_sets(
    arguments: argparse.Namespace, set_keys: Sequence[str], papers: Sequence[CorpusPaper], row_of: dict[str, int]
) -> list[QuerySet]:
    """The test sets, or with --tune their counterparts kept apart: the dev queries, and titles disjoint from (a)'s
    drawn with the next seed."""
    query_sets = []
    mark = "'" if arguments.tune else ""
    if "a" in set_keys:
        titles = sample_titles(papers, arguments.sample, arguments.seed)
        seed = arguments.seed
        if arguments.tune:
            seed += 1
            titles = sample_titles(papers, arguments.sample, seed, excluded=[query.target for query in titles])
        name = f"(a{mark}) title → abstract, {len(titles):,} titles"
        query_sets.append(QuerySet(name, titles, abstracts_only=True))
        print(f"{name}: drawn with seed {seed}")
    if "b" in set_keys:
        path = arguments.dev_queries if arguments.tune else arguments.queries
        descriptive = load_queries(path, row_of)
        name = f"(b{mark}) descriptive, {len(descriptive)} queries"
        query_sets.append(QuerySet(name, descriptive, abstracts_only=False))
        print(f"{name}: {path}")
    if arguments.tune:
        # The sets below are test sets only: nothing of them is kept apart for tuning.
        return query_sets
    if "n" in set_keys:
        notes = load_queries(arguments.notes_queries, row_of)
        name = f"(n) from memory notes, {len(notes)} queries"
        query_sets.append(QuerySet(name, notes, abstracts_only=False))
        print(f"{name}: {arguments.notes_queries}")
    if "k" in set_keys:
        kinds = load_kind_queries(arguments.kind_queries)
        name = f"(k) kind of paper, {len(kinds)} requests"
        query_sets.append(QuerySet(name, kinds, abstracts_only=False))
        print(f"{name}: {arguments.kind_queries}")
    return query_sets


def parse_choices(text: str, allowed: Sequence[str], option: str) -> list[str]:
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in allowed]
    if unknown or not chosen:
        sys.exit(f"{option}: choose among {', '.join(allowed)} (got {text!r})")
    return [item for item in allowed if item in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARED_DATA / "papers.jsonl.gz")
    parser.add_argument(
        "--database", default=str(DEFAULT_DATABASE), help="a Paperboard database (path or URL) embedded by `index`"
    )
    parser.add_argument(
        "--sets",
        default=",".join(SETS),
        help="a: title → abstract; b: descriptive queries; n: queries from memory notes; k: kind-of-paper requests",
    )
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--sample", type=int, default=1000, help="titles drawn for (a)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--limit-corpus", type=int, metavar="N", help="search only the first N papers and the targets")
    parser.add_argument("--allow-partial", action="store_true", help="report semantic figures of a partial index")
    parser.add_argument("--queries", type=Path, default=TEST_QUERIES, help="the descriptive queries of (b)")
    parser.add_argument("--dev-queries", type=Path, default=DEV_QUERIES, help="the descriptive queries for --tune")
    parser.add_argument("--notes-queries", type=Path, default=NOTES_QUERIES, help="the memory-note queries of (n)")
    parser.add_argument("--kind-queries", type=Path, default=KIND_QUERIES, help="the kind-of-paper requests of (k)")
    parser.add_argument("--judgements", type=Path, default=KIND_JUDGEMENTS, help="graded judgements of (k)'s papers")
    parser.add_argument(
        "--pool",
        type=Path,
        metavar="PATH",
        help="write (k)'s pool for judging to PATH: every system's top 10 of each request, less the pairs judged",
    )
    parser.add_argument(
        "--pool-skip",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="a pool or judgement file (JSON lines with kind_id and arxiv_id) whose pairs --pool leaves out",
    )
    parser.add_argument(
        "--per-query", action="store_true", help="print each descriptive query's rank of its target under each system"
    )
    parser.add_argument("--tune", action="store_true", help="tune the hybrid fusion on data kept apart instead")
    arguments = parser.parse_args()
    if not arguments.corpus.is_file():
        sys.exit(f"no corpus at {arguments.corpus}; pass --corpus PATH/TO/papers.jsonl.gz")
    set_keys = parse_choices(arguments.sets, SETS, "--sets")
    systems = list(ENGINE_MODES) if arguments.tune else parse_choices(arguments.systems, SYSTEMS, "--systems")

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")
    started = time.perf_counter()
    papers = load_corpus(arguments.corpus)
    row_of = {paper.arxiv_id: row for row, paper in enumerate(papers)}
    print(f"corpus: {len(papers):,} papers from {arguments.corpus} ({time.perf_counter() - started:.1f} s to read)")

    query_sets = build_query_sets(arguments, set_keys, papers, row_of)

    rows = searched_rows(len(papers), arguments.limit_corpus, query_sets)
    if arguments.limit_corpus is not None:
        print(
            f"--limit-corpus {arguments.limit_corpus}: searching {len(rows):,} papers (the first "
            f"{min(arguments.limit_corpus, len(papers)):,} and the targets), NOT the whole corpus: figures are higher "
            "than on the whole corpus and only show that the run works"
        )

    embedder = None
    document_kinds = sorted({query_set.abstracts_only for query_set in query_sets}, reverse=True)
    vectors: dict[bool, tuple[np.ndarray, np.ndarray] | None] = dict.fromkeys(document_kinds)
    if any(system in NEEDS_VECTORS for system in systems):
        # Queries are embedded as a web worker embeds them, with as many threads.
        embedder = Embedder(threads=QUERY_EMBEDDING_THREADS)
        print(f"embedder: {embedder.identifier}, {QUERY_EMBEDDING_THREADS} thread(s) for queries")
        print(f"database: {database_url(arguments.database)}; hybrid fusion: {DEFAULT_FUSION}")
        if "://" not in arguments.database and not Path(arguments.database).is_file():
            print(f"no database at {arguments.database}: semantic and hybrid not reported")
        else:
            for abstracts_only in document_kinds:
                targets = {
                    query.target
                    for query_set in query_sets
                    if query_set.abstracts_only == abstracts_only
                    for query in query_set.queries
                    if query.target is not None
                }
                vectors[abstracts_only], note = vectors_for(abstracts_only, targets, rows, arguments, embedder, row_of)
                print(note)

    query_embedder = RememberingEmbedder(embedder) if arguments.tune and embedder is not None else embedder
    # The sets of whole papers share one set of indexes.
    indexes = {
        abstracts_only: SetIndexes(abstracts_only, papers, rows, systems, vectors[abstracts_only], query_embedder)
        for abstracts_only in document_kinds
    }
    if arguments.tune:
        if any(vector is None for vector in vectors.values()):
            sys.exit("--tune needs the vectors of every paper searched (or --allow-partial)")
        tune(indexes, query_sets)
        return

    results: dict[tuple[str, str], Score] = {}
    for query_set in query_sets:
        for system in systems:
            if system in NEEDS_VECTORS and vectors[query_set.abstracts_only] is None:
                continue
            ranker = indexes[query_set.abstracts_only].ranker(system)
            results[query_set.name, system] = evaluate(ranker, query_set.queries)
    kind_sets = [query_set for query_set in query_sets if query_set.queries[0].target is None]
    if arguments.pool is not None:
        if not kind_sets:
            sys.exit("--pool needs the kind set: --sets k")
        skipped = [arguments.judgements, *arguments.pool_skip]
        write_pool(arguments.pool, kind_sets[0], results, papers, known_pairs(path for path in skipped))
    groups, group_results = by_writing(results, query_sets)
    judgements = load_judgements(arguments.judgements, row_of)
    print_table(results | group_results, [*query_sets, *groups], systems, judgements)
    print_paired(results | group_results, [*query_sets, *groups], systems, judgements)
    if arguments.per_query:
        for query_set in query_sets:
            if is_kind_set(query_set):
                print_per_request(results, query_set, systems, judgements)
            elif not query_set.abstracts_only:
                print_per_query(results, query_set, systems, indexes[query_set.abstracts_only].engine)
    print(f"\nload average at end: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
