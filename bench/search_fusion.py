"""Fusion per query (issue 17): hybrid search's two rankings fused by weights set from the query's own scores,
tuned on queries drawn from the catalogue, then measured once on the test sets.

    .venv/bin/python bench/search_fusion.py rankings --out /tmp/fusion-rankings.pickle [--database PATH] [--corpus PATH]
    .venv/bin/python bench/search_fusion.py tune --rankings /tmp/fusion-rankings.pickle
    .venv/bin/python bench/search_fusion.py test --rankings /tmp/fusion-rankings.pickle

`rankings` computes, once, each query's keyword and semantic rankings 200 deep with their scores (and the semantic
rankings of pseudo-relevance feedback variants), for the tuning queries and for the test sets, with the engine of
`bench/search_quality.py` over the same corpus and vectors. It is the slow step (a few minutes); the others read
its file (a pickle: a benchmark's scratch file, never the product's storage).

Tuning queries (`tune`), all kept apart from the test sets:
- `bench/data/search_queries_dev.jsonl` (221 descriptive queries, none of whose papers is a test target);
- `--synthetic` queries drawn from the catalogue (seed `--seed`): a paper that is no test target, no judged paper of
  a kind request, not among (a)'s titles and no dev target; one sentence of its abstract (not the first) of at
  least 12 words, with every word of its title and every number removed, cut to its first 16 words. A query shares
  the abstract's words but never the title's (they turned out to favour keyword search: MRR@10 0.96 by BM25,
  0.09 by MiniLM).
`tune` grid-searches the query-adaptive weights and fits the logistic model (`LEARNED`'s constants) on them,
reporting 2-fold cross-validated figures, so that the tuning figures do not flatter a fitted model.

`test` then prints, for each test set of `search_quality.py` ((a) titles → abstracts, (b) descriptive, (n) memory
notes, (k) kind requests) and each fusion, the benchmark's table and its paired bootstrap intervals against today's
hybrid (scores, keyword 0.6 + semantic 0.4), and the ceiling of any per-query choice of weights: each query's best
of nine fixed weights, chosen knowing its answer.
"""

from __future__ import annotations

import argparse
import pickle
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

import search_quality as sq
from paperboard.search.analysis import parse_query, words
from paperboard.search.embedder import Embedder
from paperboard.search.engine import (
    Fusion,
    FusionMethod,
    Ranking,
    SearchEngine,
    SearchMode,
    fuse,
    rows_of,
    semantic_ranking,
)
from paperboard.search.keyword_index import top_rows
from paperboard.search.service import QUERY_EMBEDDING_THREADS

DEPTH = 200
# Pseudo-relevance feedback variants computed by `rankings`: (source of the feedback papers, how many, weight of
# their mean vector added to the query's).
PRF_VARIANTS = [(source, count, beta) for source in ("semantic", "hybrid") for count in (3, 5) for beta in (0.5, 1.0)]
# Keyword feedback variants: (today's hybrid's first papers read, terms added to the query, their weight).
KEYWORD_PRF_VARIANTS = [(3, terms, beta) for terms in (10, 20) for beta in (0.3, 0.6)]


@dataclass
class QueryRankings:
    text: str
    target: int | None
    written: str
    kind_id: str
    keyword: Ranking
    semantic: Ranking
    prf: dict[tuple[str, int, float], Ranking]
    keyword_prf: dict[tuple[int, int, float], Ranking]


def synthetic_queries(papers: Sequence[sq.CorpusPaper], count: int, seed: int, excluded: set[int]) -> list[sq.Query]:
    generator = random.Random(seed)
    candidates = [row for row in range(len(papers)) if row not in excluded]
    generator.shuffle(candidates)
    queries = []
    for row in candidates:
        paper = papers[row]
        title_words = set(words(paper.title))
        sentences = [sentence for sentence in re.split(r"(?<=[.!?])\s+", paper.abstract)[1:] if sentence]
        sentences = [sentence for sentence in sentences if len(sentence.split()) >= 12]
        if not sentences:
            continue
        sentence = generator.choice(sentences)
        kept = [
            token
            for token in sentence.split()
            if not (set(words(token)) & title_words) and not any(character.isdigit() for character in token)
        ]
        if len(kept) < 8:
            continue
        queries.append(sq.Query(" ".join(kept[:16]).strip(" .,;:"), row, "synthetic"))
        if len(queries) == count:
            break
    return queries


def prf_vector(engine: SearchEngine, query_vector: np.ndarray, ranking: Ranking, count: int, beta: float) -> np.ndarray:
    assert engine.vectors is not None
    ids = np.array([paper_id for paper_id, _ in ranking[:count]], dtype=np.int64)
    rows = rows_of(engine.vectors.paper_ids, ids) if len(ids) else ids
    rows = rows[rows >= 0]
    if not len(rows):
        return query_vector
    mixed = query_vector + beta * engine.vectors.vectors[rows].mean(axis=0)
    return (mixed / np.linalg.norm(mixed)).astype(np.float32)


def keyword_feedback(
    engine: SearchEngine, by_paper: sparse.csr_matrix, query: str, first_pass: Ranking, variant: tuple[int, int, float]
) -> Ranking:
    """BM25 with the query's terms and, weighted by `beta`, the `terms` terms of the first pass's `count` papers with
    the highest summed BM25 weight in them (each scaled by its weight over the heaviest's)."""
    count, terms, beta = variant
    index = engine.keyword
    rows = rows_of(index.paper_ids, np.array([paper_id for paper_id, _ in first_pass[:count]], dtype=np.int64))
    weights = np.asarray(by_paper[rows[rows >= 0]].sum(axis=0)).ravel()
    parsed = parse_query(query)
    weights[[index.term_ids[term] for term in parsed.terms if term in index.term_ids]] = 0
    added = np.argpartition(-weights, terms)[:terms]
    added = added[weights[added] > 0]
    total = index.scores_of(parsed.terms)
    for column, weight in zip(added.tolist(), (weights[added] / max(weights.max(), 1e-9)).tolist(), strict=True):
        start, end = index.scores.indptr[column], index.scores.indptr[column + 1]
        total[index.scores.indices[start:end]] += beta * weight * index.scores.data[start:end]
    best, scores = top_rows(total, DEPTH)
    return list(zip(index.paper_ids[best].tolist(), scores.tolist(), strict=True))


def rankings_of(engine: SearchEngine, embedder: Embedder, queries: Sequence[sq.Query]) -> list[QueryRankings]:
    assert engine.vectors is not None
    # The BM25 scores by paper, for the terms of the feedback papers.
    by_paper = engine.keyword.scores.tocsr()
    found = []
    for query in queries:
        keyword = sq.scored(engine, query.text, SearchMode.KEYWORD, DEPTH)
        query_vector = embedder.embed_one(query.text)
        semantic = semantic_ranking(engine.vectors, query_vector, DEPTH)
        first_pass = {"semantic": semantic, "hybrid": fuse(keyword, semantic, Fusion())}
        prf = {
            (source, count, beta): semantic_ranking(
                engine.vectors, prf_vector(engine, query_vector, first_pass[source], count, beta), DEPTH
            )
            for source, count, beta in PRF_VARIANTS
        }
        keyword_prf = {
            variant: keyword_feedback(engine, by_paper, query.text, first_pass["hybrid"], variant)
            for variant in KEYWORD_PRF_VARIANTS
        }
        found.append(
            QueryRankings(query.text, query.target, query.written, query.kind_id, keyword, semantic, prf, keyword_prf)
        )
    return found


def command_rankings(arguments: argparse.Namespace) -> None:
    started = time.perf_counter()
    papers = sq.load_corpus(arguments.corpus)
    row_of = {paper.arxiv_id: row for row, paper in enumerate(papers)}
    titles = sq.sample_titles(papers, 1000, 5)
    test_sets = {
        "a": sq.QuerySet("(a) title → abstract, 1,000 titles", titles, abstracts_only=True),
        "b": sq.QuerySet("(b) descriptive, 353 queries", sq.load_queries(sq.TEST_QUERIES, row_of), False),
        "n": sq.QuerySet("(n) from memory notes, 160 queries", sq.load_queries(sq.NOTES_QUERIES, row_of), False),
        "k": sq.QuerySet("(k) kind of paper, 110 requests", sq.load_kind_queries(sq.KIND_QUERIES), False),
    }
    judgements = sq.load_judgements(sq.KIND_JUDGEMENTS, row_of)
    excluded = {query.target for key in "abn" for query in test_sets[key].queries}
    excluded |= {row for grades in judgements.values() for row in grades}
    dev = sq.load_queries(sq.DEV_QUERIES, row_of)
    synthetic = synthetic_queries(papers, arguments.synthetic, arguments.seed, excluded | {q.target for q in dev})
    tuning = sq.QuerySet(f"tuning: {len(dev)} dev + {len(synthetic)} synthetic", [*dev, *synthetic], False)
    print(f"{tuning.name}; {sum(len(s.queries) for s in test_sets.values())} test queries", flush=True)

    embedder = Embedder(threads=QUERY_EMBEDDING_THREADS)
    namespace = argparse.Namespace(database=arguments.database, allow_partial=False)
    rows = np.arange(len(papers), dtype=np.int64)
    engines = {}
    for abstracts_only in (False, True):
        vectors, note = sq.vectors_for(abstracts_only, set(), rows, namespace, embedder, row_of)
        print(note, flush=True)
        if vectors is None:
            sys.exit("every paper needs its vector")
        engines[abstracts_only] = sq.SetIndexes(abstracts_only, papers, rows, ["keyword"], vectors, embedder).engine
    output = {"tuning": (tuning.name, rankings_of(engines[False], embedder, tuning.queries))}
    print(f"tuning rankings: {time.perf_counter() - started:.0f} s", flush=True)
    for key, query_set in test_sets.items():
        output[key] = (query_set.name, rankings_of(engines[query_set.abstracts_only], embedder, query_set.queries))
    with arguments.out.open("wb") as stream:
        pickle.dump(output, stream)
    print(f"written {arguments.out} in {time.perf_counter() - started:.0f} s")


Fuser = Callable[[QueryRankings], Ranking]


def load_rankings(path: Path) -> dict[str, tuple[str, list[QueryRankings]]]:
    with path.open("rb") as stream:
        return pickle.load(stream)


def fixed(
    fusion: Fusion | Adaptive,
    prf: tuple[str, int, float] | None = None,
    keyword_prf: tuple[int, int, float] | None = None,
) -> Fuser:
    """A fusion of each query's keyword ranking with its semantic one (or feedback variants of either)."""

    def fused(item: QueryRankings) -> Ranking:
        keyword = item.keyword_prf[keyword_prf] if keyword_prf else item.keyword
        semantic = item.prf[prf] if prf else item.semantic
        chosen = fusion.fusion_for(keyword, semantic) if isinstance(fusion, Adaptive) else fusion
        return fuse(keyword, semantic, chosen)

    return fused


def reciprocal_ranks(items: Sequence[QueryRankings], fuser: Fuser) -> np.ndarray:
    found = []
    for item in items:
        top = [paper_id for paper_id, _ in fuser(item)[: sq.CUTOFF]]
        found.append(1 / (top.index(item.target) + 1) if item.target in top else 0.0)
    return np.array(found)


# How many of each ranking's first papers `query_features` reads.
FEATURE_DEPTH = 10
QUERY_FEATURES = ("keyword_drop", "keyword_lead", "cosine_top", "cosine_drop", "cosine_lead", "agreement")
"""keyword_drop: 1 - the 10th BM25 score / the 1st; keyword_lead: 1 - the 2nd / the 1st; cosine_top: the first
cosine; cosine_drop: the 1st cosine - the 10th; cosine_lead: the 1st - the 2nd; agreement: the share of the two
rankings' first 10 papers they have in common."""


def query_features(keyword: Ranking, semantic: Ranking) -> np.ndarray:
    """How each ranking's scores fall for this query, as `QUERY_FEATURES` after a leading 1: the idea tried is that
    a ranking whose first papers stand out is more often right than one whose scores are close together."""
    bm25 = [score for _, score in keyword[:FEATURE_DEPTH]]
    cosines = [score for _, score in semantic[:FEATURE_DEPTH]]
    keyword_drop = 1 - bm25[-1] / bm25[0] if bm25 and bm25[0] > 0 else 0.0
    keyword_lead = 1 - bm25[1] / bm25[0] if len(bm25) > 1 and bm25[0] > 0 else 0.0
    cosine_top = cosines[0] if cosines else 0.0
    cosine_drop = cosines[0] - cosines[-1] if cosines else 0.0
    cosine_lead = cosines[0] - cosines[1] if len(cosines) > 1 else 0.0
    first = {paper_id for paper_id, _ in keyword[:FEATURE_DEPTH]} & {
        paper_id for paper_id, _ in semantic[:FEATURE_DEPTH]
    }
    agreement = len(first) / FEATURE_DEPTH
    return np.array([1.0, keyword_drop, keyword_lead, cosine_top, cosine_drop, cosine_lead, agreement])


@dataclass(frozen=True)
class Adaptive:
    """Query-adaptive score fusion: each ranking's weight is the dot product of its coefficients with the query's
    features (`query_features`), floored at 0; then the engine's score fusion with those weights."""

    keyword: tuple[float, ...]
    semantic: tuple[float, ...]

    def fusion_for(self, keyword: Ranking, semantic: Ranking) -> Fusion:
        features = query_features(keyword, semantic)
        return Fusion(
            keyword_weight=max(0.0, float(features @ np.asarray(self.keyword))),
            semantic_weight=max(0.0, float(features @ np.asarray(self.semantic))),
        )


# What `tune` fitted on all 821 tuning queries (logistic, C 1), kept so that `test` measures exactly that model.
LEARNED = Adaptive(
    keyword=(12.1759, 2.0391, 3.9918, 0.1624, 0.1802, 0.5423, -3.2063),
    semantic=(6.771, -9.2686, -6.1484, 2.068, 1.104, 0.3871, -4.2291),
)


def rule(keyword_feature: str, semantic_feature: str, keyword_gain: float, semantic_gain: float) -> Adaptive:
    """Keyword 0.6 and semantic 0.4 (today's weights), each raised by its gain times one feature of the query."""
    keyword = [0.6] + [0.0] * len(QUERY_FEATURES)
    semantic = [0.4] + [0.0] * len(QUERY_FEATURES)
    keyword[1 + QUERY_FEATURES.index(keyword_feature)] = keyword_gain
    semantic[1 + QUERY_FEATURES.index(semantic_feature)] = semantic_gain
    return Adaptive(tuple(keyword), tuple(semantic))


def candidates(item: QueryRankings, semantic: Ranking) -> tuple[list[int], np.ndarray]:
    """Each paper of either ranking and its features for the model: the query's features times its keyword share,
    then times its semantic share, so that a linear model of them is a pair of per-query weights."""
    features = query_features(item.keyword, semantic)
    # Each ranking's scores mapped onto 0–1 as the engine's score fusion maps them.
    shares = [
        dict(fuse(item.keyword, [], Fusion(keyword_weight=1.0, semantic_weight=0.0))),
        dict(fuse([], semantic, Fusion(keyword_weight=0.0, semantic_weight=1.0))),
    ]
    ids = list(dict.fromkeys([paper_id for paper_id, _ in item.keyword] + [paper_id for paper_id, _ in semantic]))
    matrix = np.array([[shares[0].get(paper_id, 0.0), shares[1].get(paper_id, 0.0)] for paper_id in ids])
    return ids, np.hstack([matrix[:, :1] * features, matrix[:, 1:] * features])


def fit(items: Sequence[QueryRankings], prf: tuple[str, int, float] | None, regularisation: float) -> Adaptive:
    """A logistic model of "this paper is the query's target" over `candidates`' features, as an adaptive fusion:
    its coefficients are the per-query weights' (only their ratio and sign matter to a ranking)."""
    from sklearn.linear_model import LogisticRegression

    rows, labels = [], []
    for item in items:
        ids, matrix = candidates(item, item.prf[prf] if prf else item.semantic)
        if item.target in ids:
            rows.append(matrix)
            labels.append(np.array([paper_id == item.target for paper_id in ids]))
    model = LogisticRegression(C=regularisation, max_iter=2000, class_weight="balanced")
    model.fit(np.vstack(rows), np.concatenate(labels))
    coefficients = model.coef_[0]
    width = 1 + len(QUERY_FEATURES)
    return Adaptive(tuple(coefficients[:width].round(4).tolist()), tuple(coefficients[width:].round(4).tolist()))


def folds(items: Sequence[QueryRankings], seed: int) -> tuple[list[QueryRankings], list[QueryRankings]]:
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    half = set(order[: len(order) // 2])
    return [items[i] for i in sorted(half)], [items[i] for i in range(len(items)) if i not in half]


def command_tune(arguments: argparse.Namespace) -> None:
    name, items = load_rankings(arguments.rankings)["tuning"]
    parts = {
        "dev": [i for i in items if i.written != "synthetic"],
        "synthetic": [i for i in items if i.written == "synthetic"],
    }
    print(f"{name}; MRR@10 on each part and their mean (the order of the rows)")

    def report(label: str, fuser: Fuser) -> float:
        figures = [reciprocal_ranks(part, fuser).mean() for part in parts.values()]
        print(f"  {label:<70}" + "".join(f"{figure:>9.4f}" for figure in figures) + f"{np.mean(figures):>9.4f}")
        return float(np.mean(figures))

    print(f"  {'fusion':<70}{'dev':>9}{'synth':>9}{'mean':>9}")
    report("keyword alone", lambda item: item.keyword)
    report("semantic alone", lambda item: item.semantic)
    report("today's: scores, keyword 0.6 + semantic 0.4", fixed(Fusion()))
    for k, weights in [(60.0, (1.0, 1.0)), (20.0, (1.0, 1.0)), (20.0, (3.0, 1.0)), (5.0, (2.0, 1.0))]:
        rrf = Fusion(FusionMethod.RECIPROCAL_RANK, keyword_weight=weights[0], semantic_weight=weights[1], k=k)
        report(f"reciprocal rank, k {k:g}, keyword {weights[0]:g} : semantic {weights[1]:g}", fixed(rrf))
    rules = []
    for keyword_feature, semantic_feature in [
        ("keyword_drop", "cosine_drop"),
        ("keyword_lead", "cosine_lead"),
        ("keyword_drop", "cosine_top"),
    ]:
        for keyword_gain in (0.0, 0.25, 0.5, 1.0):
            for semantic_gain in (0.0, 0.5, 1.0, 2.0, 4.0):
                fusion = rule(keyword_feature, semantic_feature, keyword_gain, semantic_gain)
                label = f"adaptive: +{keyword_gain:g} × {keyword_feature}, +{semantic_gain:g} × {semantic_feature}"
                figures = [reciprocal_ranks(part, fixed(fusion)).mean() for part in parts.values()]
                rules.append((float(np.mean(figures)), label, fusion))
    rules.sort(key=lambda row: -row[0])
    print("  best hand-made adaptive rules (of", len(rules), "):")
    for _, label, fusion in rules[:5]:
        report(label, fixed(fusion))
    for source, count, beta in PRF_VARIANTS:
        report(f"feedback: {count} {source} papers × {beta:g}, today's fusion", fixed(Fusion(), (source, count, beta)))
    for count, terms, beta in KEYWORD_PRF_VARIANTS:
        label = f"keyword feedback: {terms} terms of hybrid's {count} × {beta:g}, today's fusion"
        report(label, fixed(Fusion(), keyword_prf=(count, terms, beta)))
    print("  learned (logistic), 2-fold cross-validated by query (each half scored by the model fitted on the other):")
    for prf in (None, ("semantic", 5, 0.5), ("hybrid", 3, 1.0)):
        for regularisation in (0.01, 1.0):
            first, second = folds(items, arguments.seed)
            on_second, on_first = fit(second, prf, regularisation), fit(first, prf, regularisation)
            chosen = {id(item): on_second for item in first} | {id(item): on_first for item in second}
            report(
                f"learned, C {regularisation:g}, feedback {prf}",
                lambda item, prf=prf, chosen=chosen: fixed(chosen[id(item)], prf)(item),
            )
    fusion = fit(items, None, 1.0)
    print(f"  fitted on all (LEARNED): keyword {fusion.keyword} semantic {fusion.semantic}")
    report("learned, C 1, fitted on all (not cross-validated)", fixed(fusion))


def command_test(arguments: argparse.Namespace) -> None:
    """Each fusion on each test set, with the benchmark's table and its intervals against today's hybrid."""
    rankings = load_rankings(arguments.rankings)
    papers = sq.load_corpus(arguments.corpus)
    row_of = {paper.arxiv_id: row for row, paper in enumerate(papers)}
    judgements = sq.load_judgements(sq.KIND_JUDGEMENTS, row_of)
    fusers: dict[str, Fuser] = {
        "keyword": lambda item: item.keyword,
        "semantic": lambda item: item.semantic,
        # The reference of the paired intervals: today's fusion.
        "hybrid": fixed(Fusion()),
        "rrf": fixed(Fusion(FusionMethod.RECIPROCAL_RANK, keyword_weight=2.0, semantic_weight=1.0, k=5.0)),
        "rule": fixed(rule("keyword_drop", "cosine_drop", 1.0, 0.0)),
        "prf": fixed(Fusion(), ("hybrid", 3, 1.0)),
        "kprf": fixed(Fusion(), keyword_prf=(3, 10, 0.3)),
        "learned": fixed(LEARNED),
    }
    print("systems: hybrid = today's fusion (scores, keyword 0.6 + semantic 0.4); rrf = reciprocal ranks, k 5, keyword")
    print("  2 : semantic 1; rule = adaptive, keyword weight 0.6 + 1 × keyword_drop; prf = today's fusion over the")
    print("  semantic ranking of the query's vector + the mean of hybrid's first 3 papers' vectors; learned = the")
    print("  model of `tune` (LEARNED); kprf = today's fusion over BM25 with the 10 heaviest terms of hybrid's first 3")
    print("  papers added × 0.3; ms/query = the fusion's own time, not the search's")
    query_sets, results = [], {}
    for key in arguments.sets.split(","):
        name, items = rankings[key]
        queries = [sq.Query(item.text, item.target, item.written, item.kind_id) for item in items]
        query_set = sq.QuerySet(name, queries, abstracts_only=key == "a")
        query_sets.append(query_set)
        for system, fuser in fusers.items():
            results[name, system] = score_of(items, fuser)
    groups, group_results = sq.by_writing(results, query_sets)
    systems = list(fusers)
    sq.print_table(results | group_results, [*query_sets, *groups], systems, judgements)
    sq.print_paired(results | group_results, [*query_sets, *groups], systems, judgements)
    print_ceiling(rankings, query_sets, arguments.sets.split(","), judgements)


def score_of(items: Sequence[QueryRankings], fuser: Fuser) -> sq.Score:
    found, ranks, latencies = [], [], []
    for item in items:
        started = time.perf_counter()
        top = tuple(paper_id for paper_id, _ in fuser(item)[: sq.CUTOFF])
        latencies.append((time.perf_counter() - started) * 1000)
        found.append(top)
        ranks.append(top.index(item.target) + 1 if item.target in top else None)
    return sq.Score(tuple(found), tuple(ranks), tuple(latencies))


def print_ceiling(
    rankings: dict[str, tuple[str, list[QueryRankings]]],
    query_sets: Sequence[sq.QuerySet],
    keys: Sequence[str],
    judgements: sq.Judgements,
) -> None:
    """How far any choice of weights per query could go: for each query the best of nine fixed score fusions
    (keyword 0.1 to 0.9), chosen knowing the answer. Not a method; the ceiling of every method of this kind."""
    print("\nceiling of per-query weights (each query's best of keyword 0.1, 0.2 ... 0.9 + semantic the rest):")
    for key, query_set in zip(keys, query_sets, strict=True):
        items = rankings[key][1]
        metric = "nDCG@10" if sq.is_kind_set(query_set) else "MRR@10"
        figures = [
            sq.per_query(
                score_of(items, fixed(Fusion(keyword_weight=w / 10, semantic_weight=1 - w / 10))), query_set, judgements
            )[metric]
            for w in range(1, 10)
        ]
        today, single_best, each_best = figures[5].mean(), max(f.mean() for f in figures), np.max(figures, axis=0)
        print(
            f"  {query_set.name:<44} {metric}: today's 0.6 {today:.4f}, best single weight {single_best:.4f}, "
            f"each query's best {each_best.mean():.4f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    rankings = commands.add_parser("rankings")
    rankings.add_argument("--corpus", type=Path, default=sq.SHARED_DATA / "papers.jsonl.gz")
    rankings.add_argument("--database", default=str(sq.DEFAULT_DATABASE))
    rankings.add_argument("--synthetic", type=int, default=600)
    rankings.add_argument("--seed", type=int, default=1712)
    rankings.add_argument("--out", type=Path, required=True)
    tune = commands.add_parser("tune")
    tune.add_argument("--rankings", type=Path, required=True)
    tune.add_argument("--seed", type=int, default=17)
    test = commands.add_parser("test")
    test.add_argument("--rankings", type=Path, required=True)
    test.add_argument("--corpus", type=Path, default=sq.SHARED_DATA / "papers.jsonl.gz")
    test.add_argument("--sets", default="a,b,n,k")
    arguments = parser.parse_args()
    if arguments.command == "rankings":
        command_rankings(arguments)
    elif arguments.command == "tune":
        command_tune(arguments)
    else:
        command_test(arguments)


if __name__ == "__main__":
    main()
