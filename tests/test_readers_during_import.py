"""Issue #13: a long import must not block recommendations in the same process.

First the mechanism (:class:`~skillpath.engine.caches.Caches` with its write gate) with real
threads; then the real thing: a real catalogue import (real ESCO, real matcher, a real CSV
slice) on a copy of the session home, served by the real API app under a real uvicorn on
loopback, with client threads posting recommendations all through the import.
"""

from __future__ import annotations

import threading
import time

from skillpath.engine.caches import Caches


class Revision:
    def __init__(self) -> None:
        self.value = 1

    def __call__(self) -> int:
        return self.value


def test_readers_get_the_previous_value_while_another_thread_writes():
    caches, revision = Caches(), Revision()
    snapshot = lambda: caches.current("snap", revision, lambda: f"snapshot@{revision()}")  # noqa: E731
    assert snapshot() == "snapshot@1"
    in_write, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def writer() -> None:
        with caches.writing():
            for _ in range(5):  # an import committing batch after batch
                revision.value += 1
            caches.drop("snap")  # the facade drops derived values after a refresh
            in_write.set()
            release.wait(10)
            seen.append(snapshot())  # the writer's own read: the new state, built once

    thread = threading.Thread(target=writer)
    thread.start()
    assert in_write.wait(10)
    began = time.perf_counter()
    readers = [snapshot() for _ in range(200)]
    assert time.perf_counter() - began < 0.5  # nobody waited for the writer
    assert set(readers) == {"snapshot@1"}  # the previous snapshot, not a rebuild per read
    release.set()
    thread.join(10)
    assert seen == ["snapshot@6"]
    assert snapshot() == "snapshot@6"  # after the write: the writer's value, not rebuilt
    assert caches.builds["snap"] == 2


def test_a_reader_with_nothing_to_serve_waits_for_the_write_then_builds_once():
    caches, revision = Caches(), Revision()
    in_write, release = threading.Event(), threading.Event()

    def writer() -> None:
        with caches.writing():
            revision.value = 9
            in_write.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert in_write.wait(10)
    got: list[str] = []
    readers = [
        threading.Thread(
            target=lambda: got.append(caches.current("cold", revision, lambda: f"@{revision()}"))
        )
        for _ in range(8)
    ]
    for r in readers:
        r.start()
    time.sleep(0.2)
    assert not got  # nothing before the write ends: a half-written catalogue is never served
    release.set()
    for r in [thread, *readers]:
        r.join(10)
    assert got == ["@9"] * 8 and caches.builds["cold"] == 1


def test_the_gate_is_reentrant_and_one_writer_at_a_time():
    caches = Caches()
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with caches.writing(), caches.writing():  # re-entrant: no self-deadlock
            inside.set()
            time.sleep(0.2)
            order.append("first")

    def second() -> None:
        inside.wait(10)
        with caches.writing():
            order.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first", "second"] and not caches.gate.active
