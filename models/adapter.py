"""Learned, shippable pieces of the matcher: a linear query adapter and a fusion model.

Both sit on top of the frozen encoder, so they are cheap to train on CPU (seconds) and small
to ship (one 384x384 matrix, a handful of weights), and the ESCO indexes never need
re-encoding:

* :class:`LinearAdapter` maps a query vector into the region of the space where its ESCO
  labels live. Job-ad sentences and CV lines ("You will maintain our CI pipelines") and ESCO
  labels ("DevOps") are phrased very differently; a residual linear map learned from
  (sentence, skill) pairs closes part of that gap. Documents are left untouched.
* :class:`FusionModel` is a logistic model over per-(statement, skill) features (dense label
  and description cosines, lexical score, ESCO prior...). Its linear part ranks; its sigmoid
  is a calibrated probability that the statement mentions the skill, which is what a
  "mentioned" threshold needs.

Artefacts are ``.npz`` files under ``models/artifacts/``, named after the encoder they were
trained with; a matcher refuses one whose encoder name does not match.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class LinearAdapter:
    """``q -> normalise(q @ matrix)``; ``matrix`` starts at the identity (a residual map)."""

    matrix: np.ndarray

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        out = np.asarray(vectors, dtype=np.float32) @ self.matrix.astype(np.float32)
        return _normalise(out).astype(np.float32)


@dataclass(frozen=True)
class FusionModel:
    """``z = bias + sum_f weight_f * feature_f``; score = sigmoid(z) in [0, 1].

    ``threshold`` is the probability above which a skill counts as mentioned, chosen where
    the model was trained (micro-F1 over (sentence, skill) pairs).
    """

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    top_k: int = 3
    """Most skills predicted per statement by the set predictor."""

    def logit(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        z = None
        for name, weight in zip(self.features, self.weights, strict=True):
            term = weight * values[name]
            z = term if z is None else z + term
        assert z is not None, "a fusion model needs at least one feature"
        return (z + self.bias).astype(np.float32)

    @staticmethod
    def probability(logits: np.ndarray) -> np.ndarray:
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)


@dataclass(frozen=True)
class MatcherArtifact:
    """What a trained matcher ships: the encoder it belongs to, an adapter, a fusion model."""

    encoder: str
    fusion: FusionModel
    adapter: LinearAdapter | None = None
    info: dict = field(default_factory=dict)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "encoder": self.encoder,
            "features": list(self.fusion.features),
            "weights": list(self.fusion.weights),
            "bias": self.fusion.bias,
            "threshold": self.fusion.threshold,
            "top_k": self.fusion.top_k,
            "info": self.info,
        }
        arrays: dict[str, np.ndarray] = {"meta": np.asarray(json.dumps(meta))}
        if self.adapter is not None:
            arrays["adapter"] = self.adapter.matrix.astype(np.float16)
        np.savez_compressed(path, **arrays)
        return path

    @classmethod
    def load(cls, path: Path) -> MatcherArtifact:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            adapter = (
                LinearAdapter(data["adapter"].astype(np.float32)) if "adapter" in data else None
            )
        fusion = FusionModel(
            features=tuple(meta["features"]),
            weights=tuple(float(w) for w in meta["weights"]),
            bias=float(meta["bias"]),
            threshold=float(meta["threshold"]),
            top_k=int(meta.get("top_k", 3)),
        )
        return cls(encoder=meta["encoder"], fusion=fusion, adapter=adapter, info=meta["info"])


def artifact_path(kind: str, encoder: str, folders: Sequence[Path] = ()) -> Path:
    """The artefact for ``kind`` ("skills" | "occupations") and encoder: the first of
    ``folders`` holding one (a trained one in ``$SKILLPATH_HOME/artifacts``), else the one
    shipped in the package. Training writes to a folder it is given, never here."""
    name = f"{kind}-{encoder}.npz"
    for folder in folders:
        if (Path(folder) / name).exists():
            return Path(folder) / name
    return ARTIFACTS / name


def load_artifact(kind: str, encoder: str, folders: Sequence[Path] = ()) -> MatcherArtifact | None:
    path = artifact_path(kind, encoder, folders)
    if not path.exists():
        return None
    artifact = MatcherArtifact.load(path)
    if artifact.encoder != encoder:
        raise ValueError(f"{path} was trained for encoder {artifact.encoder!r}, not {encoder!r}")
    return artifact


# --------------------------------------------------------------------------- training


def train_adapter(
    queries: np.ndarray,
    positives: Sequence[Sequence[int]],
    targets: np.ndarray,
    epochs: int = 10,
    lr: float = 1e-3,
    temperature: float = 0.05,
    weight_decay: float = 1e-2,
    batch_size: int = 256,
    seed: int = 0,
) -> LinearAdapter:
    """Fit a residual linear query map with an InfoNCE loss against ``targets``.

    ``targets`` holds one vector per skill (rows = skill positions); ``positives[i]`` lists
    the skills query ``i`` mentions. The loss spreads the probability mass evenly over a
    query's positives (multi-label InfoNCE) against every skill as a negative. Weight decay
    pulls the residual towards zero, i.e. the adapter towards the identity: it may only move
    what the data supports.
    """
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32))
    t = torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float32))
    dim = q.shape[1]
    delta = torch.zeros(dim, dim, requires_grad=True)
    opt = torch.optim.AdamW([delta], lr=lr, weight_decay=weight_decay)
    eye = torch.eye(dim)
    n = len(q)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            ids = order[start : start + batch_size]
            mapped = torch.nn.functional.normalize(q[ids] @ (eye + delta), dim=1)
            logits = mapped @ t.T / temperature
            target = torch.zeros_like(logits)
            for row, i in enumerate(ids.tolist()):
                target[row, list(positives[i])] = 1.0 / len(positives[i])
            loss = -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return LinearAdapter((eye + delta).detach().numpy().astype(np.float32))
