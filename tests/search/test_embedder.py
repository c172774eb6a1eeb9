"""The packaged embedder, run for real: the int8 ONNX model under onnxruntime, as search uses it."""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

from paperboard.search.embedder import DEFAULT_MAX_TOKENS, PACKAGED_MODEL_DIR, PACKAGED_MODEL_FILE, Embedder

TEXTS = [
    "Sparse attention for long documents",
    "We resample from intermediate reasoning states to improve exploration in GRPO.",
    "Observations of a supernova remnant with an X-ray telescope.",
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def varied_texts(count: int, seed: int) -> list[str]:
    """Distinct texts of 3 to 60 words, so that sorting by length and sharing out reorder them."""
    vocabulary = " ".join([*TEXTS, "graph diffusion protein robot galaxy proof market climate"]).split()
    generator = random.Random(seed)
    return [" ".join(generator.choices(vocabulary, k=generator.randint(3, 60))) for _ in range(count)]


def test_vectors_are_unit_float32_rows_in_input_order(embedder: Embedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert embedder.dimensions == 384
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_output_is_deterministic(embedder: Embedder) -> None:
    first = embedder.embed(TEXTS)
    assert np.array_equal(first, embedder.embed(TEXTS))
    assert np.array_equal(first, Embedder(threads=1).embed(TEXTS))
    assert np.array_equal(first, Embedder(spin=True).embed(TEXTS))


def test_a_paraphrase_is_closer_than_an_unrelated_text(embedder: Embedder) -> None:
    query, paraphrase, unrelated, other = embedder.embed(
        [
            "making large language model training faster and use less memory",
            "An approach that accelerates the training of big language models while reducing their memory footprint.",
            "Observations of a supernova remnant with an X-ray telescope.",
            "A survey of crop yields under drought in sub-Saharan Africa.",
        ]
    )
    assert cosine(query, paraphrase) > 0.6
    assert cosine(query, paraphrase) > cosine(query, unrelated) + 0.3
    assert cosine(query, paraphrase) > cosine(query, other) + 0.3


def test_empty_text_gives_a_unit_vector(embedder: Embedder) -> None:
    vector = embedder.embed_one("")
    assert np.isfinite(vector).all()
    assert np.linalg.norm(vector) == pytest.approx(1.0, rel=1e-5)


def test_long_text_is_cut_at_the_token_limit_not_the_128_of_the_shipped_tokenizer(embedder: Embedder) -> None:
    # "cat", "dog" and "fish" are one word piece each; [CLS] and [SEP] take two of the places.
    assert DEFAULT_MAX_TOKENS > 128
    inside, beyond = DEFAULT_MAX_TOKENS - 40, DEFAULT_MAX_TOKENS + 40
    dog_inside, fish_inside, dog_beyond, fish_beyond = embedder.embed(
        [
            "cat " * inside + "dog " * 100,
            "cat " * inside + "fish " * 100,
            "cat " * beyond + "dog " * 9000,
            "cat " * beyond + "fish",
        ]
    )
    assert np.isfinite(dog_inside).all()
    assert not np.allclose(dog_inside, fish_inside)
    assert np.array_equal(dog_beyond, fish_beyond)


def test_non_latin_text_works(embedder: Embedder) -> None:
    texts = [
        "大型语言模型的推理能力评估",
        "Оценка рассуждений больших языковых моделей",
        "نماذج اللغة الكبيرة",
        "Ελληνικά",
    ]
    vectors = embedder.embed(texts)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert len({vector.tobytes() for vector in vectors}) == len(texts)


def test_batched_result_equals_one_by_one(embedder: Embedder) -> None:
    # Batches of 2 sort the texts by length, and 70 of them span more than one window of tokenised texts, so rows
    # must find their way back to their places.
    texts = varied_texts(70, seed=7)
    one_by_one = np.stack([embedder.embed_one(text) for text in texts])
    assert np.array_equal(embedder.embed(texts), one_by_one)
    batched = Embedder(batch_size=2).embed(texts)
    # The int8 model quantises activations with one scale per batch, so batch-mates move a vector slightly.
    assert (batched * one_by_one).sum(axis=1).min() > 0.97
    assert np.array_equal((batched @ one_by_one.T).argmax(axis=1), np.arange(len(texts)))


def test_worker_processes_give_the_same_vectors_in_the_same_order(embedder: Embedder) -> None:
    texts = varied_texts(41, seed=11)
    with Embedder(threads=1, processes=2) as spread:
        assert np.array_equal(spread.embed(texts), embedder.embed(texts))
        assert np.array_equal(spread.embed(texts[:1]), embedder.embed(texts[:1]))
        assert spread.embed([]).shape == (0, 384)
        assert spread.identifier == embedder.identifier
        spread.close()
        # Closed, it starts its processes again when asked.
        assert np.array_equal(spread.embed(texts[:5]), embedder.embed(texts[:5]))


def test_a_killed_worker_process_fails_one_call_and_the_next_starts_afresh(embedder: Embedder) -> None:
    texts = varied_texts(6, seed=12)
    with Embedder(threads=1, processes=2) as spread:
        spread.embed(texts)
        for pid in list(spread._workers._processes):  # type: ignore[union-attr]
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            spread.embed(texts)
        assert np.array_equal(spread.embed(texts), embedder.embed(texts))


def test_at_least_one_process_is_required() -> None:
    with pytest.raises(ValueError, match="processes"):
        Embedder(processes=0)


def test_model_identifier_names_the_model_file_and_is_stable(embedder: Embedder) -> None:
    digest = hashlib.sha256(PACKAGED_MODEL_FILE.read_bytes()).hexdigest()
    assert embedder.identifier == f"all-MiniLM-L6-v2-int8 sha256={digest} max_tokens={DEFAULT_MAX_TOKENS}"
    assert Embedder(threads=1, batch_size=4).identifier == embedder.identifier
    assert Embedder(max_tokens=128).identifier != embedder.identifier


def test_model_readme_states_the_model_file_digest() -> None:
    readme = (PACKAGED_MODEL_DIR / "README.md").read_text()
    digest = hashlib.sha256(PACKAGED_MODEL_FILE.read_bytes()).hexdigest()
    assert re.search(rf"`{re.escape(PACKAGED_MODEL_FILE.name)}` \| [\d,]+ \| `{digest}`", readme)
    assert (PACKAGED_MODEL_DIR / "LICENSE").read_text().strip().startswith("Apache License")
