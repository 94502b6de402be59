"""``skillpath catalogue import --engine ray``: map learning outcomes on Ray actors.

Mapping is the cost of an import (splitting descriptions into statements, encoding them,
matching them to ESCO skills); reading the file and writing the store are not. So the
importer keeps reading and writing in the driver, one batch after another, in order, and
hands the batches to :class:`RayMapping`, a
:data:`~skillpath.engine.catalogue.importer.BatchMapping` over long-lived actors that each
hold a loaded skill matcher (its ESCO index and encoder load once per actor). Every batch
is mapped by :func:`~skillpath.engine.catalogue.importer.map_records`, the function the
local import calls, on the same batches, so a Ray import stores what a local one does.

The actors' matcher must have the driver's fingerprint (the same encoder, artefact and
threshold): the store records that fingerprint with every credential, and links from another
matcher under it would be wrong, so a mismatch stops the import before anything is written.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from skillpath.engine.catalogue.importer import (
    MAPPING_ENGINES,
    RecordLinks,
    StatementMapper,
    map_records,
)
from skillpath.engine.catalogue.records import MicroCredential

from .run import ray_ready
from .worker import worker_env

IN_FLIGHT_PER_ACTOR = 2
"""Batches queued on each actor: one mapped while the next waits, so an actor never idles
while the driver writes; more would only hold more records in memory."""


class MappingWorker:
    """A Ray actor: the skill matcher of the home named by ``env``, loaded once."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        os.environ.update(env or {})
        from skillpath.engine.catalogue.mapper import MatcherMapper
        from skillpath.engine.config import Settings
        from skillpath.engine.service import Skillpath

        self.mapper = MatcherMapper(Skillpath(Settings()).matching.skill_matcher)

    def fingerprint(self) -> tuple[str, int]:
        return self.mapper.fingerprint, os.getpid()

    def map(self, records: list[MicroCredential]) -> list[RecordLinks]:
        return map_records(self.mapper, records)


class RayMapping:
    """Maps import batches on ``workers`` actors (default: the cluster's CPUs), round robin,
    results in input order. A context manager: the actors start on enter (and load their
    matcher while the driver loads its own) and are stopped on exit; one instance serves
    every file of a ``catalogue import``.

    Actors restart and their calls are retried when a worker process dies
    (``max_restarts`` / ``max_task_retries``); mapping a batch twice gives the same links,
    and the driver writes each batch once.
    """

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.address, self.workers = address, workers
        self.env = dict(env if env is not None else worker_env())
        self.actors: list[Any] = []
        self.pids: set[int] = set()  # processes that answered the fingerprint check
        self.batches = 0  # batches sent to the actors

    def __enter__(self) -> RayMapping:
        import ray

        ray_ready(self.address)
        n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(MappingWorker)
        self.actors = [actor.remote(self.env) for _ in range(n)]
        return self

    def __exit__(self, *exc: object) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []

    def _check(self, mapper: StatementMapper) -> None:
        import ray

        answers = ray.get([a.fingerprint.remote() for a in self.actors])
        self.pids.update(pid for _, pid in answers)
        wrong = {fp for fp, _ in answers if fp != mapper.fingerprint}
        if wrong:
            raise RuntimeError(
                f"Ray workers map with matcher {sorted(wrong)}, this process with"
                f" {mapper.fingerprint}: give the workers the same home and models"
                " (SKILLPATH_HOME, SKILLPATH_CACHE_DIR, the encoder settings)"
            )

    def __call__(
        self, mapper: StatementMapper, batches: Iterable[list[MicroCredential]]
    ) -> Iterator[list[RecordLinks]]:
        import ray

        if not self.actors:
            raise RuntimeError("RayMapping is used as a context manager (with … as mapping)")
        self._check(mapper)
        queue: deque[Any] = deque()  # ObjectRefs, or [] for a batch with nothing to map
        pending = 0
        limit = IN_FLIGHT_PER_ACTOR * len(self.actors)
        for batch in batches:
            if batch:
                queue.append(self.actors[self.batches % len(self.actors)].map.remote(batch))
                self.batches += 1
                pending += 1
            else:
                queue.append([])
            while pending >= limit or (queue and isinstance(queue[0], list)):
                head = queue.popleft()
                if not isinstance(head, list):
                    pending -= 1
                    head = ray.get(head)
                yield head
        while queue:
            head = queue.popleft()
            yield head if isinstance(head, list) else ray.get(head)


def register_engine() -> None:
    """Name this mapper ``ray`` for ``skillpath catalogue import --engine``."""
    MAPPING_ENGINES["ray"] = RayMapping
