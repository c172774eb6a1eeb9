"""Sentence embeddings for semantic search, computed on the CPU with onnxruntime.

The packaged model (`model/`, built by `scripts/build-embedder`) is all-MiniLM-L6-v2 exported to ONNX, with
onnxruntime's BERT fusions applied and its weights quantised to int8 per channel, reading texts up to 160 word
pieces. It needs neither torch nor a GPU stack. Bulk embedding runs one single-threaded process per core.
`bench/embedder.py` measures its speed and how well it finds papers by their titles against the original model
under sentence-transformers; the figures are in `docs/benchmarks.md`.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import onnxruntime
from tokenizers import Encoding, Tokenizer

PACKAGED_MODEL_DIR = Path(__file__).resolve().parent / "model"
PACKAGED_MODEL_FILE = PACKAGED_MODEL_DIR / "all-MiniLM-L6-v2-int8.onnx"
PACKAGED_TOKENIZER_FILE = PACKAGED_MODEL_DIR / "tokenizer.json"

# The model's time grows with the word pieces it reads, and most abstracts are longer than 160. Finding 5,000
# papers by their titles from their abstracts alone (bench/embedder.py), MRR@10 when abstracts are cut at 256
# (sentence-transformers' limit for this model) 0.9177, at 224 0.9185, 192 0.9180, 160 0.9133, 144 0.9063 and at
# 128 (what the model's own tokenizer.json says) 0.8927; the model as shipped scores 0.9197. 160 is the shortest
# within 0.01 of it, and reads 1.6 times as many abstracts a second as 256.
DEFAULT_MAX_TOKENS = 160
# Texts are tokenised and sorted by length this many batches at a time, so that a batch pads its texts to a length
# close to their own, while memory stays bounded for any number of texts.
BATCHES_PER_WINDOW = 32
# One text per run is the default, so that a text's vector never depends on the texts it is run with: the int8
# model quantises its activations with one scale for the whole batch, which moves a vector slightly (cosine about
# 0.99) with its batch-mates. On 2 cores batches sorted by length were at most 10% faster without spinning and no
# faster with it (bench/embedder.py --batch-size); they may pay more on more cores or with a float model.
DEFAULT_BATCH_SIZE = 1
# Each embedding process holds its own interpreter and model session, about 200 MiB: a large machine should not
# spend gigabytes on them by default when the database and web workers need cores too.
MAX_BULK_PROCESSES = 8
# onnxruntime graph optimisers that would make the model slower on the CPU.
UNFUSED = ["SkipLayerNormFusion"]
# How often a worker process looks whether the process that started it is still there.
ORPHAN_CHECK_SECONDS = 0.5


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def available_cores() -> int:
    # The cores this process may run on, which a container or `taskset` can make fewer than the machine's.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def bulk_processes() -> int:
    """Worker processes for bulk embedding by default: one per core, up to `MAX_BULK_PROCESSES`."""
    return min(available_cores(), MAX_BULK_PROCESSES)


class Embedder:
    """Turns texts into L2-normalised float32 vectors (mean of the model's token states over the real tokens).

    Any BERT-style ONNX model whose first output is the last hidden state, with its `tokenizer.json`, can be
    loaded; the default is the packaged one. onnxruntime sessions are thread-safe, so one instance can serve many
    threads.

    With `processes` above 1, `embed` spreads several texts over that many worker processes, started at the first
    such call, each with a single-threaded session of the same model: a text's vector is the same either way. For
    bulk work: on 2 cores, two single-threaded processes embedded a third more than one process with two threads,
    whose threads wait for each other at every operator of a run this small. `close` (or leaving a `with` block)
    stops the workers.
    """

    def __init__(
        self,
        model_file: Path = PACKAGED_MODEL_FILE,
        tokenizer_file: Path = PACKAGED_TOKENIZER_FILE,
        *,
        threads: int | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        spin: bool = False,
        name: str | None = None,
        processes: int = 1,
    ) -> None:
        if max_tokens < 2:
            raise ValueError("max_tokens must leave room for the [CLS] and [SEP] tokens")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.model_file = Path(model_file)
        self.tokenizer_file = Path(tokenizer_file)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.spin = spin
        self.processes = processes
        self._workers: ProcessPoolExecutor | None = None
        self.name = name or self.model_file.stem
        self.sha256 = file_sha256(self.model_file)
        # Set here rather than trusted from the file: a tokenizer.json from elsewhere may fix its own limits, as
        # the original MiniLM one does. Padding is done per batch below, to the batch's longest text.
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or available_cores()
        options.inter_op_num_threads = 1
        # Spinning threads wait for the next operator busily instead of sleeping: on 2 quieter cores that embeds
        # 10-25% more texts per second, but on cores shared with web workers it takes their CPU and, measured
        # with other work running, it slowed the embedder itself too. So only a bulk job on a quiet machine spins.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        # onnxruntime would fuse each residual Add of the packaged model with the LayerNormalization after it, into a
        # SkipLayerNormalization 4 times slower on the CPU than the two (scripts/export_embedder.py keeps them apart).
        self._session = onnxruntime.InferenceSession(
            str(self.model_file), options, providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED
        )
        self._input_names = {model_input.name for model_input in self._session.get_inputs()}
        # Run once rather than read from the graph, where a model may leave the hidden size unnamed.
        self._dimensions = int(self._embed_batch(self._tokenizer.encode_batch([""])).shape[1])

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def identifier(self) -> str:
        """Names the vector space: vectors from embedders with different identifiers must not be compared."""
        return f"{self.name} sha256={self.sha256} max_tokens={self.max_tokens}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, in the order given; shape (len(texts), dimensions), float32, each row of length 1."""
        if self.processes > 1 and len(texts) > 1:
            return self._embed_in_workers(texts)
        return self._embed_here(texts)

    def embed_one(self, text: str) -> np.ndarray:
        return self._embed_here([text])[0]

    def close(self) -> None:
        """Stop the worker processes, if any were started; a later `embed` starts them again."""
        if self._workers is not None:
            self._workers.shutdown(cancel_futures=True)
            self._workers = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _embed_in_workers(self, texts: Sequence[str]) -> np.ndarray:
        # Longest first, dealt in turn, so that every process gets about as many word pieces to embed.
        order = sorted(range(len(texts)), key=lambda position: len(texts[position]), reverse=True)
        shares = [share for share in (order[first :: self.processes] for first in range(self.processes)) if share]
        if self._workers is None:
            self._workers = self._start_workers()
        try:
            futures = [
                self._workers.submit(_embed_in_worker, [texts[position] for position in share]) for share in shares
            ]
            vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
            for share, future in zip(shares, futures, strict=True):
                vectors[share] = future.result()
        except BrokenProcessPool:
            # A worker died (killed, or out of memory): the next call starts a fresh set instead of failing forever.
            self.close()
            raise
        return vectors

    def _start_workers(self) -> ProcessPoolExecutor:
        options = {
            "threads": 1,
            "max_tokens": self.max_tokens,
            "batch_size": self.batch_size,
            "spin": self.spin,
            "name": self.name,
        }
        # Spawned, not forked: the parent may be a web server or worker with threads and open database connections.
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), self.model_file, self.tokenizer_file, options),
        )

    def _embed_here(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        window = self.batch_size * BATCHES_PER_WINDOW
        for start in range(0, len(texts), window):
            encodings = self._tokenizer.encode_batch(list(texts[start : start + window]))
            for positions in self._batches_by_length(encodings):
                vectors[start + positions] = self._embed_batch([encodings[i] for i in positions])
        return vectors

    def _embed_batch(self, encodings: Sequence[Encoding]) -> np.ndarray:
        longest = max(len(encoding.ids) for encoding in encodings)
        input_ids = np.zeros((len(encodings), longest), dtype=np.int64)
        attention_mask = np.zeros((len(encodings), longest), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids = encoding.ids
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self._session.run(None, feeds)[0]
        mask = attention_mask[:, :, np.newaxis].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32, copy=False)

    def _batches_by_length(self, encodings: Sequence[Encoding]) -> Iterator[np.ndarray]:
        lengths = np.array([len(encoding.ids) for encoding in encodings], dtype=np.int64)
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            yield order[start : start + self.batch_size]


# The embedder of a worker process started by `Embedder._start_workers`.
_worker_embedder: Embedder | None = None


def _start_worker(parent_pid: int, model_file: Path, tokenizer_file: Path, options: dict[str, Any]) -> None:
    global _worker_embedder
    # Ctrl-C reaches the whole process group: the parent stops the workers itself, without a traceback from each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="orphan-check", daemon=True).start()
    _worker_embedder = Embedder(model_file, tokenizer_file, **options)


def _exit_when_orphaned(parent_pid: int) -> None:
    # A parent killed outright (SIGKILL, the out-of-memory killer) cannot stop its workers, and they would wait for
    # work forever, each holding its model: the worker leaves once it has been handed to another parent.
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)


def _embed_in_worker(texts: list[str]) -> np.ndarray:
    assert _worker_embedder is not None, "the worker's initializer loads its embedder"
    return _worker_embedder.embed(texts)
