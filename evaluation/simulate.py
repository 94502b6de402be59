"""Simulated learners: (current occupation -> target occupation) moves drawn from ESCO.

There is no public log of who took which course to reach which job, so recommendation
quality is judged on learners we construct, in a way anyone can re-create and check:

* a *move* is a pair (current occupation, target occupation), drawn with a fixed seed from
  three strata of career distance measured on ISCO-08 codes (ESCO's ``isco_group`` is the
  4-digit unit group):

  - ``near``: same ISCO minor group (first 3 digits), e.g. two kinds of software developer;
  - ``mid``: same major group (first digit), different minor group;
  - ``far``: different major group, e.g. a cook who wants to become a data analyst;

* the learner *holds* the current occupation's essential skills, each dropped with
  probability ``dropout`` (nobody masters every skill of their job), plus a few *noise*
  skills drawn uniformly from the skills that some occupation uses (hobbies, side jobs).

Strata matter because near moves leave small gaps that few courses can close and far moves
leave large, generic gaps; a method can win one and lose the other, so every metric is also
reported per stratum.

The drawn sample is saved (``evaluation/samples/learners-v1.json``) so that every run, and
every method in a run, is scored on exactly the same learners; re-drawing it is only needed
when ESCO changes. Everything here is pure: the caller hands in the occupations and skills.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Stratum = Literal["near", "mid", "far"]
STRATA: tuple[Stratum, ...] = ("near", "mid", "far")

SAMPLE_PATH = Path(__file__).resolve().parent / "samples" / "learners-v1.json"
SAMPLE_VERSION = 1


@dataclass(frozen=True)
class OccupationInfo:
    """What the sampler needs of an ESCO occupation."""

    uri: str
    label: str
    isco_group: str | None
    essential: frozenset[str]


@dataclass(frozen=True)
class SimulationParams:
    """The knobs of :func:`sample_learners`; saved with the sample so it can be re-drawn."""

    per_stratum: int = 100
    seed: int = 20241129
    dropout: float = 0.25
    noise: int = 3
    min_essential: int = 5


@dataclass(frozen=True)
class Learner:
    """One simulated learner: where they are, where they want to go, what they hold."""

    id: str
    stratum: Stratum
    current_uri: str
    current_label: str
    target_uri: str
    target_label: str
    held: tuple[str, ...]
    """ESCO skill URIs held (kept essential skills of the current occupation + noise), sorted."""
    noise: tuple[str, ...] = ()
    """The noise skills among ``held`` (recorded so a reader can see them)."""
    dropped: int = 0
    """How many essential skills of the current occupation were dropped."""


def stratum_of(current_isco: str | None, target_isco: str | None) -> Stratum | None:
    """The career-distance stratum of a move, or None when an ISCO code is missing/invalid.

    Two occupations in the same ISCO *unit* group (4 digits) are in the same minor group too,
    so they count as ``near``.
    """
    if not _valid_isco(current_isco) or not _valid_isco(target_isco):
        return None
    assert current_isco is not None and target_isco is not None
    if current_isco[:3] == target_isco[:3]:
        return "near"
    if current_isco[0] == target_isco[0]:
        return "mid"
    return "far"


def _valid_isco(code: str | None) -> bool:
    return bool(code) and len(code) == 4 and code.isdigit()  # type: ignore[arg-type]


def held_skills(
    essential: Iterable[str],
    noise_pool: Sequence[str],
    rng: random.Random,
    dropout: float,
    noise: int,
) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """(held, noise skills, number dropped): essential skills survive with ``1 - dropout``.

    Skills are visited in sorted order so the draw depends on the seed only, not on set order.
    Noise skills are drawn without replacement from ``noise_pool`` among those not already kept.
    """
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    kept = [uri for uri in sorted(set(essential)) if rng.random() >= dropout]
    dropped = len(set(essential)) - len(kept)
    kept_set = set(kept)
    extra: list[str] = []
    if noise > 0 and noise_pool:
        pool = sorted(set(noise_pool) - kept_set)
        extra = sorted(rng.sample(pool, min(noise, len(pool))))
    return tuple(sorted(kept_set | set(extra))), tuple(extra), dropped


def sample_learners(
    occupations: Sequence[OccupationInfo],
    noise_pool: Sequence[str],
    params: SimulationParams | None = None,
) -> list[Learner]:
    """``params.per_stratum`` learners for each stratum, reproducible from ``params.seed``.

    Targets are drawn uniformly from occupations with a valid ISCO code and at least
    ``min_essential`` essential skills (a target with 1-2 skills has no gap worth ranking
    for); the current occupation uniformly among those in the stratum's relation to the
    target. A pair is drawn once; a learner whose gap would be empty (holds every essential
    skill of the target) is redrawn. Each stratum has its own random stream, so growing one
    stratum does not change the others. Raises if a stratum cannot be filled.
    """
    p = params or SimulationParams()
    eligible = sorted(
        (
            o
            for o in occupations
            if _valid_isco(o.isco_group) and len(o.essential) >= p.min_essential
        ),
        key=lambda o: o.uri,
    )
    if len(eligible) < 2:
        raise ValueError("fewer than two eligible occupations: nothing to sample")
    by_minor: dict[str, list[OccupationInfo]] = {}
    by_major: dict[str, list[OccupationInfo]] = {}
    for o in eligible:
        assert o.isco_group is not None
        by_minor.setdefault(o.isco_group[:3], []).append(o)
        by_major.setdefault(o.isco_group[0], []).append(o)

    def sources(target: OccupationInfo, stratum: Stratum) -> list[OccupationInfo]:
        assert target.isco_group is not None
        minor, major = target.isco_group[:3], target.isco_group[0]
        if stratum == "near":
            return [o for o in by_minor[minor] if o.uri != target.uri]
        if stratum == "mid":
            return [o for o in by_major[major] if o.isco_group[:3] != minor]  # type: ignore[index]
        return [o for o in eligible if o.isco_group[0] != major]  # type: ignore[index]

    learners: list[Learner] = []
    for stratum in STRATA:
        rng = random.Random(f"{p.seed}:{stratum}")
        seen: set[tuple[str, str]] = set()
        attempts = 0
        count = 0
        while count < p.per_stratum:
            attempts += 1
            if attempts > 50 * p.per_stratum + 1000:
                raise ValueError(f"could not draw {p.per_stratum} {stratum} learners")
            target = rng.choice(eligible)
            options = sources(target, stratum)
            if not options:
                continue
            current = rng.choice(options)
            if (current.uri, target.uri) in seen:
                continue
            held, extra, dropped = held_skills(
                current.essential, noise_pool, rng, p.dropout, p.noise
            )
            if target.essential <= set(held):
                continue
            seen.add((current.uri, target.uri))
            count += 1
            learners.append(
                Learner(
                    id=f"{stratum}-{count:03d}",
                    stratum=stratum,
                    current_uri=current.uri,
                    current_label=current.label,
                    target_uri=target.uri,
                    target_label=target.label,
                    held=held,
                    noise=extra,
                    dropped=dropped,
                )
            )
    return learners


def quick_subset(learners: Sequence[Learner], n: int) -> list[Learner]:
    """The first learners of each stratum, ``n`` in all (as even across strata as possible).

    Taking a prefix of the saved order keeps a quick run a strict subset of the full one.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    by_stratum = {s: [le for le in learners if le.stratum == s] for s in STRATA}
    present = [s for s in STRATA if by_stratum[s]]
    out: list[Learner] = []
    for i, s in enumerate(present):
        share = n // len(present) + (1 if i < n % len(present) else 0)
        out.extend(by_stratum[s][:share])
    return out


# --------------------------------------------------------------------------- persistence


@dataclass
class LearnerSample:
    """The saved sample: learners plus how they were drawn (params, ESCO version)."""

    learners: list[Learner]
    params: SimulationParams
    esco_version: str | None = None
    version: int = SAMPLE_VERSION
    strata: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        counts = {s: sum(1 for le in self.learners if le.stratum == s) for s in STRATA}
        return {
            "version": self.version,
            "esco_version": self.esco_version,
            "params": asdict(self.params),
            "strata": counts,
            "learners": [
                {**asdict(le), "held": list(le.held), "noise": list(le.noise)}
                for le in self.learners
            ],
        }


def save_sample(sample: LearnerSample, path: Path = SAMPLE_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = sample.to_json()
    rows = data.pop("learners")
    head = json.dumps(data, ensure_ascii=False)[:-1]
    # One learner per line: small, and diffs show which learners changed.
    body = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    path.write_text(f'{head}, "learners": [\n{body}\n]}}\n', encoding="utf-8")
    return path


def load_sample(path: Path = SAMPLE_PATH) -> LearnerSample:
    """Read a saved sample; a wrong version or a malformed learner raises ValueError."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("version") != SAMPLE_VERSION:
        raise ValueError(f"{path}: sample version {data.get('version')!r}, need {SAMPLE_VERSION}")
    learners = []
    for row in data["learners"]:
        if row.get("stratum") not in STRATA:
            raise ValueError(
                f"{path}: learner {row.get('id')!r} has stratum {row.get('stratum')!r}"
            )
        learners.append(
            Learner(**{**row, "held": tuple(row["held"]), "noise": tuple(row.get("noise", ()))})
        )
    return LearnerSample(
        learners=learners,
        params=SimulationParams(**data["params"]),
        esco_version=data.get("esco_version"),
        strata=data.get("strata", {}),
    )


def occupation_infos(
    occupations: Iterable[object], essential_of: Mapping[str, Iterable[str]]
) -> list[OccupationInfo]:
    """OccupationInfo for ESCO occupation records (anything with uri, preferred_label,
    isco_group), given each one's essential skill URIs."""
    return [
        OccupationInfo(
            uri=o.uri,  # type: ignore[attr-defined]
            label=o.preferred_label,  # type: ignore[attr-defined]
            isco_group=o.isco_group,  # type: ignore[attr-defined]
            essential=frozenset(essential_of.get(o.uri, ())),  # type: ignore[attr-defined]
        )
        for o in occupations
    ]


def draw_sample(service: object, params: SimulationParams | None = None) -> LearnerSample:
    """Draw a fresh sample from the ESCO in a :class:`~skillpath.engine.service.Skillpath`'s
    store."""
    store = service.store  # type: ignore[attr-defined]
    occupations = store.all_occupations()
    essential = {o.uri: store.essential_skills(o.uri) for o in occupations}
    noise_pool = sorted(u for u, n in store.skill_occupation_counts().items() if n > 0)
    p = params or SimulationParams()
    return LearnerSample(
        learners=sample_learners(occupation_infos(occupations, essential), noise_pool, p),
        params=p,
        esco_version=store.esco_version,
    )
