"""A persistent embedding cache, so a rebuild never re-encodes a text it has seen.

Keyed by (encoder fingerprint, kind, sha1 of the text): a new encoder or a new model version
gets its own entries; unchanged texts are read back instead of encoded. Vectors are stored as
float16 blobs (half the size, and cosine scores move by < 1e-3).
"""

from __future__ import annotations

import fcntl
import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from skillpath.models.encoder import Encoder

ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""Given a description and a total, returns a callback that advances a progress bar."""


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (fingerprint TEXT NOT NULL, kind TEXT NOT NULL,"
            " key BLOB NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (fingerprint, kind, key))"
            " WITHOUT ROWID"
        )
        self._conn.commit()

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """A cross-process lock: processes sharing the cache take turns instead of encoding
        the same slice twice (tests, a CLI build and the API may all start at once)."""
        with open(self.path.with_suffix(".lock"), "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _get(self, fingerprint: str, kind: str, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT key, vector FROM vectors WHERE fingerprint = ? AND kind = ?"
                f" AND key IN ({marks})",
                (fingerprint, kind, *chunk),
            )
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float16)
        return found

    def _put(self, fingerprint: str, kind: str, keys: list[bytes], vectors: np.ndarray) -> None:
        data = vectors.astype(np.float16)
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                ((fingerprint, kind, k, v.tobytes()) for k, v in zip(keys, data, strict=True)),
            )

    def encode(
        self,
        encoder: Encoder,
        texts: Sequence[str],
        kind: str = "document",
        batch_size: int = 64,
        progress: ProgressFactory | None = None,
        description: str = "encoding",
    ) -> np.ndarray:
        """Vectors for ``texts`` (L2-normalised float32), encoding only what the cache lacks."""
        keys = [_key(t) for t in texts]
        unique: dict[bytes, str] = dict(zip(keys, texts, strict=True))
        cached = self._get(encoder.fingerprint, kind, list(unique))
        todo = [k for k in unique if k not in cached]
        if todo:
            callback = progress(description, len(todo)) if progress else None
            fn = encoder.encode_queries if kind == "query" else encoder.encode_documents
            fresh = np.empty((len(todo), encoder.dimension), dtype=np.float32)
            step = 4096  # write to the cache in slices so an interrupted build keeps its work
            for start in range(0, len(todo), step):
                keys_part = todo[start : start + step]
                with self._exclusive():
                    # Another process sharing the cache may have encoded this slice meanwhile.
                    ready = self._get(encoder.fingerprint, kind, keys_part)
                    missing = [k for k in keys_part if k not in ready]
                    if callback and len(ready):
                        callback(len(ready))
                    if missing:
                        texts_part = [unique[k] for k in missing]
                        part = fn(texts_part, batch_size=batch_size, progress=callback)
                        self._put(encoder.fingerprint, kind, missing, part)
                        # Rounded as stored: a cold and a warm cache give the same vectors,
                        # so a result never depends on what was encoded before.
                        ready.update(zip(missing, part.astype(np.float16), strict=True))
                fresh[start : start + step] = np.stack([ready[k] for k in keys_part])
            for k, v in zip(todo, fresh, strict=True):
                cached[k] = v
        out = np.empty((len(texts), encoder.dimension), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = cached[k]
        # float16 round trip: renormalise so inner products stay cosines.
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
