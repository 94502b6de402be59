"""The facade's derived values (matchers, vectors, snapshots), built once and dropped explicitly.

Two kinds: ``once`` values live until :meth:`Caches.drop` names them (ESCO-derived ones after
an ingest or index build); ``current`` values are tied to the catalogue revision they were
built from and rebuilt when it moves on. Each value is replaced by one reference swap, so a
concurrent reader sees the old value or the new one, never a half-built one.

While a catalogue write holds :meth:`Caches.writing` (an import commits batch after batch,
moving the revision on each time), other threads get the ``current`` values built before it,
dropped ones included, instead of waiting for the writer or rebuilding at every intermediate
revision; the writer rebuilds them once, at its end (:mod:`skillpath.engine.write_gate`).
``builds`` counts the builds of each name.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, overload

from skillpath.engine.write_gate import WriteGate

T = TypeVar("T")

_MISSING = object()


class Caches:
    """Named lazily built values with explicit invalidation (thread-safe)."""

    def __init__(self, lock: threading.RLock | None = None) -> None:
        self._lock = lock or threading.RLock()
        self._values: dict[str, Any] = {}
        self._current: dict[str, tuple[Hashable, Any]] = {}
        self._stale: dict[str, tuple[Hashable, Any]] = {}  # dropped during a write
        self.gate = WriteGate()
        self.builds: Counter[str] = Counter()
        self._local = threading.local()  # .depth: builds this thread is inside

    def _build(self, build: Callable[[], T]) -> T:
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            return build()
        finally:
            self._local.depth -= 1

    def once(self, name: str, build: Callable[[], T]) -> T:
        """``name``'s value, built by ``build`` on first use."""
        value = self._values.get(name, _MISSING)
        if value is _MISSING:
            with self._lock:
                value = self._values.get(name, _MISSING)
                if value is _MISSING:
                    value = self._build(build)
                    self._values[name] = value
        return value

    def current(
        self, name: str, key: Hashable | Callable[[], Hashable], build: Callable[[], T]
    ) -> T:
        """``name``'s value for ``key`` (a catalogue revision, or a function reading it, which
        is then read again under the lock); rebuilt when ``key`` changed, except while
        another thread is writing: then the value from before the write is served."""
        wanted = key() if callable(key) else key
        held = self._current.get(name)
        if held is not None and held[0] == wanted:
            return held[1]
        if self.gate.held_by_other():
            served = held or self._stale.get(name)
            if served is not None:
                return served[1]
            if not getattr(self._local, "depth", 0):  # (inside a build it holds the lock)
                self.gate.wait()  # nothing to serve yet: build once the write is over
        with self._lock:
            wanted = key() if callable(key) else key
            held = self._current.get(name)
            if held is None or held[0] != wanted:
                held = (wanted, self._build(build))
                self._current[name] = held
                self.builds[name] += 1
        return held[1]

    def latest(self, name: str) -> tuple[Hashable, Any] | None:
        """(key, value) of ``name``'s newest ``current`` value, or, during a write, of the one
        dropped since it began: what an incremental build of the next value starts from."""
        return self._current.get(name) or self._stale.get(name)

    def put(self, name: str, key: Hashable, value: Any) -> None:
        """Set ``name``'s ``current`` value for ``key`` (a value the caller already built,
        such as the index bundle it just saved). During a write, the value it replaces
        stays servable to other threads until the write ends, as with :meth:`drop`."""
        with self._lock:
            held = self._current.get(name)
            if held is not None and self.gate.active:
                self._stale.setdefault(name, held)
            self._current[name] = (key, value)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write gate (one writer at a time, re-entrant): until the outermost hold
        ends, other threads read the values from before the write."""
        with self.gate.writing(on_exit=self._end_write):
            yield

    def _end_write(self) -> None:
        with self._lock:
            self._stale.clear()

    def drop(self, *names: str) -> None:
        """Forget the named values (both kinds); the next use rebuilds them. During a write,
        the dropped ``current`` values stay servable to other threads until it ends."""
        with self._lock:
            for name in names:
                self._values.pop(name, None)
                held = self._current.pop(name, None)
                if held is not None and self.gate.active:
                    self._stale.setdefault(name, held)  # the first: from before the write

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._current.clear()
            self._stale.clear()


class cached(Generic[T]):  # noqa: N801 - used like functools.cached_property
    """A lazily built attribute whose value lives in the owner's ``caches`` (a :class:`Caches`)
    under the attribute's name, so ``owner.caches.drop(name)`` invalidates it explicitly."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> cached[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> T | cached[T]:
        if obj is None:
            return self
        return obj.caches.once(self.name, lambda: self.build(obj))  # type: ignore[attr-defined]
