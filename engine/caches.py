"""The facade's derived values (matchers, vectors, snapshots), built once and dropped explicitly.

Two kinds: ``once`` values live until :meth:`Caches.drop` names them (ESCO-derived ones after
an ingest or index build); ``current`` values are tied to the catalogue revision they were
built from and rebuilt when it moves on. Each value is replaced by one reference swap, so a
concurrent reader sees the old value or the new one, never a half-built one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

_MISSING = object()


class Caches:
    """Named lazily built values with explicit invalidation (thread-safe)."""

    def __init__(self, lock: threading.RLock | None = None) -> None:
        self._lock = lock or threading.RLock()
        self._values: dict[str, Any] = {}
        self._current: dict[str, tuple[Hashable, Any]] = {}

    def once(self, name: str, build: Callable[[], T]) -> T:
        """``name``'s value, built by ``build`` on first use."""
        value = self._values.get(name, _MISSING)
        if value is _MISSING:
            with self._lock:
                value = self._values.get(name, _MISSING)
                if value is _MISSING:
                    value = build()
                    self._values[name] = value
        return value

    def current(self, name: str, key: Hashable, build: Callable[[], T]) -> T:
        """``name``'s value for ``key`` (a catalogue revision); rebuilt when ``key`` changed."""
        held = self._current.get(name)
        if held is None or held[0] != key:
            with self._lock:
                held = self._current.get(name)
                if held is None or held[0] != key:
                    held = (key, build())
                    self._current[name] = held
        return held[1]

    def drop(self, *names: str) -> None:
        """Forget the named values (both kinds); the next use rebuilds them."""
        with self._lock:
            for name in names:
                self._values.pop(name, None)
                self._current.pop(name, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._current.clear()


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
