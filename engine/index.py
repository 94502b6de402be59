"""Persisted FAISS indexes with a manifest, written atomically.

An :class:`IndexBundle` is a few named :class:`VectorIndex` objects built from the same
source with the same encoder (e.g. the skill bundle: one vector per label variant, one per
description). On disk a bundle is a folder of files plus ``<name>.manifest.json`` naming that
folder. A build writes a *new* folder, then swaps the manifest with ``os.replace``: a crash
at any point leaves the previous manifest pointing at the previous, complete folder.

The manifest records the encoder fingerprint, the source's content hash (e.g. the ESCO
version and hash), counts and file checksums; :func:`load_bundle` refuses an index that does
not match what the caller is about to use, with a message saying how to rebuild.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from skillpath.engine.errors import IndexNotReady
from skillpath.files import sha256_file


class IndexError_(IndexNotReady):
    """Base for index problems (named so as not to shadow the builtin ``IndexError``)."""


class IndexMissing(IndexError_):
    pass


class IndexMismatch(IndexError_):
    """The persisted index was built from other data or another encoder."""


EXACT_MAX = 50_000
"""Up to this many vectors an index is exact (IndexFlatIP: ~5 ms per query at 50k x 384);
above it, an inverted-file index (IVF) that scans ``nprobe`` of its ``nlist`` cells."""


SCAN_BUDGET = 20_000
"""Vectors an IVF query scans (in expectation): ``nprobe`` cells of ``n / nlist`` each."""


def ivf_params(n: int) -> tuple[int, int]:
    """(nlist, nprobe) for ``n`` vectors: ~4·sqrt(n) cells (at most 4096), and as many cells
    scanned as hold ~:data:`SCAN_BUDGET` vectors, so a query costs about the same at 100k
    and at 1M.

    Why a constant scan rather than a constant share of cells: measured with
    ``bench/ann.py`` on perturbed real vectors, recall@100 at 1/8 of the cells was 0.981 at
    100k but 0.9994 at 1M (cells hold more vectors there, so the 100 nearest fall in fewer of
    them), while 64 cells (16k vectors) already gave 0.985 at 1M. Finer cells gave higher
    recall for the same share scanned. IVF rather than HNSW because it builds ~3x faster here,
    and a catalogue write rebuilds the structure (it never re-encodes).
    """
    nlist = max(16, min(4096, int(4 * math.sqrt(max(n, 1)))))
    nprobe = math.ceil(SCAN_BUDGET * nlist / max(n, 1))
    return nlist, max(8, min(nlist, nprobe))


def build_faiss(vectors: np.ndarray, kind: str = "auto", seed: int = 0) -> faiss.Index:
    """An inner-product index over ``vectors``: "flat" (exact), "ivf", or "auto" (exact up to
    :data:`EXACT_MAX` vectors, IVF above)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = vectors.shape
    if kind == "auto":
        kind = "flat" if n <= EXACT_MAX else "ivf"
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
        if n:
            index.add(vectors)
        return index
    if kind != "ivf":
        raise ValueError(f"unknown index kind {kind!r}: use auto, flat or ivf")
    nlist, nprobe = ivf_params(n)
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10  # k-means iterations: more buys no measurable recall here
    index.cp.seed = seed
    train = vectors
    if n > 40 * nlist:  # a fixed-seed sample: training on all of 1M costs minutes for nothing
        rows = np.random.default_rng(seed).choice(n, 40 * nlist, replace=False)
        train = vectors[np.sort(rows)]
    index.train(train)
    index.add(vectors)
    index.nprobe = nprobe
    return index


@dataclass
class VectorIndex:
    """Vectors in an inner-product FAISS index, each owned by an entity position.

    Several vectors may share one owner (a skill has many label variants); ``best_per_owner``
    folds them to one score per owner, which is what callers rank by. The index is exact
    (IndexFlatIP) unless built with ``kind="ivf"`` (or "auto" above :data:`EXACT_MAX`).
    """

    index: faiss.Index
    owners: np.ndarray  # int64, one per vector: the entity's position (e.g. skills.idx)

    @classmethod
    def from_vectors(
        cls, vectors: np.ndarray, owners: np.ndarray, kind: str = "flat"
    ) -> VectorIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return cls(index=build_faiss(vectors, kind), owners=np.asarray(owners, dtype=np.int64))

    @property
    def exact(self) -> bool:
        return isinstance(self.index, faiss.IndexFlat)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` vectors per query: (scores, owner ids); owner -1 where fewer exist."""
        k = max(1, min(k, self.size))
        scores, rows = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        owners = np.where(rows >= 0, self.owners[np.clip(rows, 0, None)], -1)
        return scores, owners

    def best_per_owner(self, queries: np.ndarray, k: int) -> list[dict[int, float]]:
        """For each query, the best score of each owner among the top-``k`` vectors."""
        scores, owners = self.search(queries, k)
        out: list[dict[int, float]] = []
        for q_scores, q_owners in zip(scores, owners, strict=True):
            best: dict[int, float] = {}
            for s, o in zip(q_scores.tolist(), q_owners.tolist(), strict=True):
                if o >= 0 and s > best.get(o, -2.0):
                    best[o] = s
            out.append(best)
        return out

    def vectors(self) -> np.ndarray:
        """Every stored vector, in insertion order (aligned with ``owners``)."""
        if not self.size:
            return np.zeros((0, self.index.d), dtype=np.float32)
        if not self.exact:
            faiss.extract_index_ivf(self.index).make_direct_map()
        return self.index.reconstruct_n(0, self.size)

    def dense_max(self, queries: np.ndarray, n_owners: int) -> np.ndarray:
        """Exact best score per owner for every owner: shape (queries, n_owners).

        Used where the full ranking matters (benchmarks rank all ~13.9k skills). Owners with
        no vector score -1.
        """
        sims = np.asarray(queries, dtype=np.float32) @ self.vectors().T
        out = np.full((sims.shape[0], n_owners), -1.0, dtype=np.float32)
        order = np.argsort(self.owners, kind="stable")
        sorted_owners = self.owners[order]
        starts = np.flatnonzero(np.r_[True, sorted_owners[1:] != sorted_owners[:-1]])
        out[:, sorted_owners[starts]] = np.maximum.reduceat(sims[:, order], starts, axis=1)
        return out


@dataclass
class IndexBundle:
    name: str
    indexes: dict[str, VectorIndex]
    manifest: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    """Side arrays saved with the indexes (e.g. each credential's content hash, so the next
    write re-encodes only what changed); no pickles, checksummed like the rest."""

    def __getitem__(self, key: str) -> VectorIndex:
        return self.indexes[key]


def manifest_path(index_dir: Path, name: str) -> Path:
    return index_dir / f"{name}.manifest.json"


def save_bundle(index_dir: Path, bundle: IndexBundle, meta: dict[str, Any]) -> Path:
    """Write ``bundle`` to a fresh folder, then atomically point the manifest at it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    # Both folders name their process: a concurrent save must not delete them (below).
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}-p{os.getpid()}"
    folder_name = f"{bundle.name}-{stamp}"
    staging = index_dir / f".tmp-{folder_name}"
    staging.mkdir()
    files: dict[str, dict[str, Any]] = {}
    for key, vindex in bundle.indexes.items():
        faiss.write_index(vindex.index, str(staging / f"{key}.faiss"))
        np.save(staging / f"{key}.owners.npy", vindex.owners)
        for suffix in (".faiss", ".owners.npy"):
            path = staging / f"{key}{suffix}"
            files[path.name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    for key, array in bundle.arrays.items():
        path = staging / f"{key}.array.npy"
        np.save(path, np.asarray(array), allow_pickle=False)
        files[path.name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = {
        **meta,
        "name": bundle.name,
        "folder": folder_name,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "counts": {key: v.size for key, v in bundle.indexes.items()},
        "arrays": sorted(bundle.arrays),
        "files": files,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for path in staging.iterdir():  # the data itself on disk before any rename points at it
        _fsync_file(path)
    _fsync_dir(staging)
    os.replace(staging, index_dir / folder_name)
    tmp_manifest = index_dir / f".{bundle.name}.manifest.json.{uuid.uuid4().hex[:8]}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=2))
    with tmp_manifest.open("rb") as fh:
        os.fsync(fh.fileno())
    previous = _read_manifest(index_dir, bundle.name)
    os.replace(tmp_manifest, manifest_path(index_dir, bundle.name))
    _fsync_dir(index_dir)
    bundle.manifest = manifest
    # Only now is the old folder unreferenced; a reader that loaded it keeps its open copy.
    if previous and previous.get("folder") not in (None, folder_name):
        shutil.rmtree(index_dir / previous["folder"], ignore_errors=True)
    for stale in index_dir.glob(f".tmp-{bundle.name}-*"):
        if _abandoned(stale):
            shutil.rmtree(stale, ignore_errors=True)
    _remove_orphans(index_dir, bundle.name, folder_name)
    return index_dir / folder_name


def _remove_orphans(index_dir: Path, name: str, ours: str) -> None:
    """Published folders of ``name`` that no manifest points at and whose process is gone.

    A save killed between publishing its folder and replacing the manifest (or while deleting
    the folder it replaced) leaves one behind; nobody would ever load or delete it. A live
    process's folder is kept for an hour: its manifest may be about to point at it.
    """
    own = re.compile(rf"{re.escape(name)}-\d{{8}}T\d{{6}}-[0-9a-f]{{6}}(-p\d+)?")
    referenced = (_read_manifest(index_dir, name) or {}).get("folder")
    for folder in index_dir.glob(f"{name}-*"):
        if folder.name in (ours, referenced) or not own.fullmatch(folder.name):
            continue
        if folder.is_dir() and (_abandoned(folder) or _older_than(folder, 3600)):
            shutil.rmtree(folder, ignore_errors=True)


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:  # removed meanwhile
        return False


def _abandoned(staging: Path) -> bool:
    """A folder whose process is gone (or, without a pid, older than an hour)."""
    pid = staging.name.rpartition("-p")[2]
    if not pid.isdigit():
        try:
            return time.time() - staging.stat().st_mtime > 3600
        except OSError:  # removed meanwhile
            return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_manifest(index_dir: Path, name: str) -> dict[str, Any] | None:
    path = manifest_path(index_dir, name)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def read_manifest(index_dir: Path, name: str) -> dict[str, Any] | None:
    return _read_manifest(index_dir, name)


_REBUILD = "run `skillpath index build` to rebuild it"


def check_manifest(index_dir: Path, name: str, expect: dict[str, Any]) -> dict[str, Any]:
    """The manifest of bundle ``name`` if every ``expect`` key matches it (no file is read
    beyond the manifest); raises :class:`IndexMissing` / :class:`IndexMismatch` otherwise."""
    manifest = _read_manifest(index_dir, name)
    if manifest is None:
        raise IndexMissing(f"no {name} index in {index_dir}: {_REBUILD}")
    for key, wanted in expect.items():
        have = manifest.get(key)
        if have != wanted:
            raise IndexMismatch(
                f"the {name} index in {index_dir} was built with {key}={have!r}, "
                f"but the current setting is {wanted!r}: {_REBUILD}"
            )
    return manifest


def load_bundle(
    index_dir: Path, name: str, expect: dict[str, Any], verify_checksums: bool = True
) -> IndexBundle:
    """Load the bundle ``name``, refusing it unless every ``expect`` key matches the manifest."""
    manifest = check_manifest(index_dir, name, expect)
    rebuild = _REBUILD
    folder = index_dir / manifest["folder"]
    indexes: dict[str, VectorIndex] = {}
    for key in manifest["counts"]:
        faiss_path, owners_path = folder / f"{key}.faiss", folder / f"{key}.owners.npy"
        for path in (faiss_path, owners_path):
            if not path.exists():
                raise IndexMissing(f"{path} is missing: {rebuild}")
            if verify_checksums and sha256_file(path) != manifest["files"][path.name]["sha256"]:
                raise IndexMismatch(f"{path} does not match its manifest checksum: {rebuild}")
        vindex = VectorIndex(faiss.read_index(str(faiss_path)), np.load(owners_path))
        if vindex.size != manifest["counts"][key]:
            raise IndexMismatch(
                f"{faiss_path} holds {vindex.size} vectors, manifest says "
                f"{manifest['counts'][key]}: {rebuild}"
            )
        indexes[key] = vindex
    arrays: dict[str, np.ndarray] = {}
    for key in manifest.get("arrays", []):
        path = folder / f"{key}.array.npy"
        if not path.exists():
            raise IndexMissing(f"{path} is missing: {rebuild}")
        if verify_checksums and sha256_file(path) != manifest["files"][path.name]["sha256"]:
            raise IndexMismatch(f"{path} does not match its manifest checksum: {rebuild}")
        arrays[key] = np.load(path, allow_pickle=False)
    return IndexBundle(name=name, indexes=indexes, manifest=manifest, arrays=arrays)
