"""The skill gap: what a target occupation needs that the learner does not yet hold.

Pure function over plain records; the caller (service layer) looks up the occupation's skills,
the learner's held skills and the skill-to-skill similarities, and hands them in.

Weights
    Essential skills of the occupation weigh ``1.0``; optional skills weigh ``optional_weight``
    (default 0.3). The *remaining* weight of a gap skill is ``weight * (1 - held_credit)``; it is
    what the ranking and the pathway try to cover.

Held credit (the best of, never a sum — so adding a held skill can only shrink the gap)
    * exact URI held with ``confidence >= confidence_floor``: credit 1.0, the skill leaves the gap;
    * exact URI held with a lower confidence (a weak CV match): credit = confidence;
    * a *similar* held skill (``similar[target_uri]`` lists held URIs with a similarity in
      [0, 1]; similarity from embeddings or the ESCO hierarchy, computed by the caller) with
      ``similarity >= partial_threshold``: credit = ``similar_credit * similarity * c`` where
      ``c`` is 1 for a confident held skill and its confidence otherwise. ``similar_credit``
      (default 0.5) caps the credit: knowing SQL is a head start on PostgreSQL, not the skill.

Example reasons: ``"essential for data analyst; not held"``,
``"optional for data analyst; you hold 'SQL' (similarity 0.82), 41% credit"``.

API::

    compute_gap(target_uri, target_label, target_skills, held=(), similar=None, *,
                optional_weight=0.3, partial_threshold=0.75, confidence_floor=0.5,
                similar_credit=0.5) -> Gap
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Gap",
    "GapSkill",
    "HeldSkill",
    "Relation",
    "TargetSkill",
    "compute_gap",
]

Relation = Literal["essential", "optional"]

# Below this a remaining weight is float noise, not a gap.
_EPS = 1e-9

# The defaults of compute_gap; Tuning (engine/config.py), the one place a deployment sets
# them (SKILLPATH_TUNING__OPTIONAL_WEIGHT ...), takes its defaults from here.
OPTIONAL_WEIGHT = 0.3
PARTIAL_THRESHOLD = 0.75
CONFIDENCE_FLOOR = 0.5
SIMILAR_CREDIT = 0.5


class HeldSkill(BaseModel):
    """A skill the learner holds, with how sure we are.

    ``source`` says where the claim comes from: ``declared`` (1.0), ``cv`` (matcher score),
    ``occupation`` (essential skill of a past job, ~0.6), ``credential`` (completed course).
    """

    model_config = ConfigDict(frozen=True)

    uri: str
    confidence: float = Field(1.0, ge=0.0, le=1.0)
    source: str = "declared"
    label: str | None = None


class TargetSkill(BaseModel):
    """A skill of the target occupation, essential or optional (ESCO relation)."""

    model_config = ConfigDict(frozen=True)

    uri: str
    label: str
    relation: Relation = "essential"


class GapSkill(BaseModel):
    """A target skill with its weight, the credit the learner already has, and why.

    ``similar_held``/``similarity`` name the held skill that gave partial credit, if any.
    """

    model_config = ConfigDict(frozen=True)

    uri: str
    label: str
    relation: Relation
    weight: float
    held_credit: float
    remaining_weight: float
    reason: str
    similar_held: str | None = None
    similar_held_label: str | None = None
    similarity: float | None = None


class Gap(BaseModel):
    """The learner's gap for one occupation.

    ``skills`` are the gap skills (remaining weight > 0), essential first, then by remaining
    weight, then URI; ``held`` are target skills the learner fully holds (for explanations).
    ``total_weight`` is the weight of the whole occupation, ``remaining_weight`` that of the gap.
    """

    model_config = ConfigDict(frozen=True)

    occupation_uri: str
    occupation_label: str
    skills: list[GapSkill]
    held: list[GapSkill] = Field(default_factory=list)
    total_weight: float
    remaining_weight: float
    essential_count: int
    optional_count: int
    held_count: int
    partial_count: int
    reason_if_empty: str | None = None

    @property
    def essential_remaining_weight(self) -> float:
        return sum(s.remaining_weight for s in self.skills if s.relation == "essential")

    def skill(self, uri: str) -> GapSkill | None:
        """The gap skill with this URI, or None."""
        for s in self.skills:
            if s.uri == uri:
                return s
        return None


def _held_key(h: HeldSkill) -> tuple[float, str, str]:
    return (h.confidence, h.source, h.label or "")


def _merge_held(held: Mapping[str, HeldSkill] | Iterable[HeldSkill]) -> dict[str, HeldSkill]:
    """One record per URI, the most confident one (so listing a skill twice never hurts)."""
    items = held.values() if isinstance(held, Mapping) else held
    merged: dict[str, HeldSkill] = {}
    for h in items:
        best = merged.get(h.uri)
        if best is None or _held_key(h) > _held_key(best):
            merged[h.uri] = h
    return merged


def _target_key(t: TargetSkill) -> tuple[bool, str]:
    return (t.relation != "essential", t.label)


def _merge_targets(target_skills: Iterable[TargetSkill]) -> list[TargetSkill]:
    """One record per URI; essential wins over optional when ESCO lists both (then label)."""
    merged: dict[str, TargetSkill] = {}
    for t in target_skills:
        prev = merged.get(t.uri)
        if prev is None or _target_key(t) < _target_key(prev):
            merged[t.uri] = t
    return [merged[u] for u in sorted(merged)]


def _label(h: HeldSkill) -> str:
    return h.label or h.uri


def compute_gap(
    target_uri: str,
    target_label: str,
    target_skills: Iterable[TargetSkill],
    held: Mapping[str, HeldSkill] | Iterable[HeldSkill] = (),
    similar: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    *,
    optional_weight: float = OPTIONAL_WEIGHT,
    partial_threshold: float = PARTIAL_THRESHOLD,
    confidence_floor: float = CONFIDENCE_FLOOR,
    similar_credit: float = SIMILAR_CREDIT,
) -> Gap:
    """Target skills minus held skills, with partial credit; see the module docstring.

    ``similar[target_uri]`` lists ``(held_or_other_uri, similarity)``; URIs the learner does
    not hold are ignored, so the caller may pass plain skill neighbours. Raises ``ValueError``
    only for out-of-range parameters; an empty profile or occupation is a normal result.
    """
    for name, value in (
        ("optional_weight", optional_weight),
        ("partial_threshold", partial_threshold),
        ("confidence_floor", confidence_floor),
        ("similar_credit", similar_credit),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value}")
    similar = similar or {}
    held_by_uri = _merge_held(held)
    targets = _merge_targets(target_skills)

    gap_skills: list[GapSkill] = []
    held_skills: list[GapSkill] = []
    for t in targets:
        weight = 1.0 if t.relation == "essential" else optional_weight
        if weight <= 0.0:
            continue  # optional skills switched off: not part of the goal at all
        prefix = f"{t.relation} for {target_label}"
        credit, reason, sim_uri, sim_label, sim_value = 0.0, f"{prefix}; not held", None, None, None

        exact = held_by_uri.get(t.uri)
        if exact is not None:
            if exact.confidence >= confidence_floor:
                credit, reason = 1.0, f"{prefix}; held ({exact.source})"
            elif exact.confidence > 0.0:
                credit = exact.confidence
                reason = (
                    f"{prefix}; held with low confidence {exact.confidence:.2f} "
                    f"({exact.source}), {credit:.0%} credit"
                )

        if credit < 1.0:
            # Best similar held skill; ties broken by URI so the reason is deterministic.
            options = []
            for other_uri, similarity in similar.get(t.uri, ()):
                h = held_by_uri.get(other_uri)
                # "not >=" also skips a NaN similarity
                if h is None or other_uri == t.uri or not similarity >= partial_threshold:
                    continue
                similarity = min(max(float(similarity), 0.0), 1.0)
                c = 1.0 if h.confidence >= confidence_floor else h.confidence
                options.append((similar_credit * similarity * c, -similarity, other_uri, h))
            if options:
                options.sort(key=lambda o: (-o[0], o[1], o[2]))
                best_credit, neg_sim, other_uri, h = options[0]
                if best_credit > credit:
                    credit, sim_uri, sim_label, sim_value = (
                        best_credit,
                        other_uri,
                        h.label,
                        -neg_sim,
                    )
                    reason = (
                        f"{prefix}; you hold '{_label(h)}' (similarity {sim_value:.2f}), "
                        f"{credit:.0%} credit"
                    )

        remaining = weight * (1.0 - credit)
        record = GapSkill(
            uri=t.uri,
            label=t.label,
            relation=t.relation,
            weight=weight,
            held_credit=credit,
            remaining_weight=remaining if remaining > _EPS else 0.0,
            reason=reason,
            similar_held=sim_uri,
            similar_held_label=sim_label,
            similarity=sim_value,
        )
        (gap_skills if record.remaining_weight > 0.0 else held_skills).append(record)

    gap_skills.sort(key=lambda s: (s.relation != "essential", -s.remaining_weight, s.uri))
    total = sum(1.0 if t.relation == "essential" else optional_weight for t in targets)
    reason_if_empty = None
    if not targets:
        reason_if_empty = f"no skills are listed for {target_label}"
    elif not gap_skills:
        reason_if_empty = f"you already hold every skill of {target_label} counted in the gap"
    return Gap(
        occupation_uri=target_uri,
        occupation_label=target_label,
        skills=gap_skills,
        held=held_skills,
        total_weight=total,
        remaining_weight=sum(s.remaining_weight for s in gap_skills),
        essential_count=sum(1 for s in gap_skills if s.relation == "essential"),
        optional_count=sum(1 for s in gap_skills if s.relation == "optional"),
        held_count=len(held_skills),
        partial_count=sum(1 for s in gap_skills if s.held_credit > 0.0),
        reason_if_empty=reason_if_empty,
    )
