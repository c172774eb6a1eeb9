"""Sentence embeddings for semantic search, computed on the CPU with onnxruntime.

The packaged model (`model/`, built by `scripts/build-embedder`) is all-MiniLM-L6-v2 exported to ONNX, with
onnxruntime's BERT fusions applied and its weights quantised to int8 per channel: on 2 cores it embeds about 1.6
to 2 times as many abstracts per second as the original under sentence-transformers, finds papers by their titles
within 0.002 MRR@10 of it, and needs neither torch nor a GPU stack (`bench/embedder.py`, `docs/benchmarks.md`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Encoding, Tokenizer

PACKAGED_MODEL_DIR = Path(__file__).resolve().parent / "model"
PACKAGED_MODEL_FILE = PACKAGED_MODEL_DIR / "all-MiniLM-L6-v2-int8.onnx"
PACKAGED_TOKENIZER_FILE = PACKAGED_MODEL_DIR / "tokenizer.json"

# all-MiniLM-L6-v2 was trained on inputs of up to 256 word pieces (sentence-transformers' max_seq_length); its
# tokenizer.json says 128, which drops the second half of about half the abstracts and costs 0.02 MRR@10.
DEFAULT_MAX_TOKENS = 256
# Texts are tokenised and sorted by length this many batches at a time, so that a batch pads its texts to a length
# close to their own, while memory stays bounded for any number of texts.
BATCHES_PER_WINDOW = 32
# One text per run is the default, so that a text's vector never depends on the texts it is run with: the int8
# model quantises its activations with one scale for the whole batch, which moves a vector slightly (cosine about
# 0.99) with its batch-mates. On 2 cores batches sorted by length were at most 10% faster without spinning and no
# faster with it (bench/embedder.py --batch-size); they may pay more on more cores or with a float model.
DEFAULT_BATCH_SIZE = 1


def paper_text(title: str, abstract: str) -> str:
    """The text embedded for a paper: its title as a sentence, then its abstract. The separator hardly matters: a
    space or [SEP] instead of the full stop scored within 0.002 MRR@10 (`bench/embedder.py --paper-text`)."""
    return f"{title.strip()}. {abstract.strip()}"


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


class Embedder:
    """Turns texts into L2-normalised float32 vectors (mean of the model's token states over the real tokens).

    Any BERT-style ONNX model whose first output is the last hidden state, with its `tokenizer.json`, can be
    loaded; the default is the packaged one. onnxruntime sessions are thread-safe, so one instance can serve many
    threads.
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
    ) -> None:
        if max_tokens < 2:
            raise ValueError("max_tokens must leave room for the [CLS] and [SEP] tokens")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.model_file = Path(model_file)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
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
        self._session = onnxruntime.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])
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
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        window = self.batch_size * BATCHES_PER_WINDOW
        for start in range(0, len(texts), window):
            encodings = self._tokenizer.encode_batch(list(texts[start : start + window]))
            for positions in self._batches_by_length(encodings):
                vectors[start + positions] = self._embed_batch([encodings[i] for i in positions])
        return vectors

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

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
