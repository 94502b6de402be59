"""One catalogue writer at a time, and readers that never wait for it.

A long import (thousands of credentials, minutes of encoding) commits a batch at a time, so
the catalogue revision moves on many times before the import ends. Readers must neither wait
for the import nor rebuild their snapshot at every intermediate revision: while a writer is
in, :class:`~skillpath.engine.caches.Caches` serves the per-revision values it already has
(the previous snapshot) and the writer rebuilds them once, at its end.

:class:`WriteGate` is that "a writer is in" fact: a re-entrant lock that knows its owner
thread, so the writer's own reads see its writes while everybody else's see the values from
before. Readers never take it, except to wait when there is nothing at all to serve yet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class WriteGate:
    """Writers take it exclusively (re-entrant); readers ask whether another thread holds it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._depth = 0

    @contextmanager
    def writing(self, on_exit: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the gate for a write; ``on_exit`` runs as the outermost hold ends (still
        holding it, so no other writer slips in between)."""
        with self._lock:
            self._owner = threading.get_ident()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    try:
                        if on_exit is not None:
                            on_exit()
                    finally:
                        self._owner = None

    @property
    def active(self) -> bool:
        """Whether any thread is writing."""
        return self._owner is not None

    def held_by_other(self) -> bool:
        """Whether a thread other than this one is writing (its reads get the old values)."""
        owner = self._owner
        return owner is not None and owner != threading.get_ident()

    def wait(self) -> None:
        """Block until no other thread is writing."""
        with self._lock:
            pass
