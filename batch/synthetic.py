"""Synthetic learners for scale runs: batch input rows drawn from ESCO occupations.

Drawn as the evaluation's simulator draws its learners (``evaluation/simulate.py``): a move
from a current ESCO occupation to a target occupation, the learner holding the current
occupation's essential skills each dropped with probability ``dropout``. Scale runs need
throughput, not judged quality, so moves are drawn uniformly rather than per career-distance
stratum. The batch layer may not import the evaluation, so the draw is re-written here over
the facade (``occupations`` / ``occupation_detail``); it is deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from skillpath.engine.service import Skillpath


@dataclass(frozen=True)
class Occupation:
    uri: str
    label: str
    essential: tuple[str, ...]  # ESCO skill URIs, sorted


def occupation_pool(engine: Skillpath, min_essential: int = 5) -> list[Occupation]:
    """Every ESCO occupation with at least ``min_essential`` essential skills, by URI."""
    pool = []
    for occupation in sorted(engine.taxonomy.occupations, key=lambda o: o.uri):
        detail = engine.taxonomy.occupation_detail(occupation.uri)
        essential = tuple(sorted(s.uri for s in detail.essential))
        if len(essential) >= min_essential:
            pool.append(Occupation(occupation.uri, occupation.preferred_label, essential))
    return pool


def learners(
    pool: Sequence[Occupation],
    count: int,
    seed: int = 20241129,
    dropout: float = 0.25,
    title_share: float = 0.5,
) -> Iterator[dict]:
    """``count`` batch input rows ``{"id", "target", "profile"}``; pure and deterministic.

    Half the targets (``title_share``) are typed titles (the occupation's label), the rest
    URIs, so both resolution paths are exercised; the profile names the current occupation
    and the kept essential skills.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if len(pool) < 2:
        raise ValueError("need at least two occupations to draw moves")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    rng = random.Random(seed)
    width = max(6, len(str(count)))
    for i in range(count):
        current, target = rng.sample(range(len(pool)), 2)
        cur, tgt = pool[current], pool[target]
        held = [uri for uri in cur.essential if rng.random() >= dropout]
        as_title = rng.random() < title_share
        yield {
            "id": f"L{i:0{width}d}",
            "target": tgt.label if as_title else tgt.uri,
            "profile": {"skills": held, "occupations": [cur.uri]},
        }
