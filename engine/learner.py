"""What a learner holds: held skills from every part of a profile, as pure functions.

The facade looks things up (declared skills, the essential skills of past occupations, the
links of completed credentials, skills extracted from the CV text) and passes the records
here; this module only merges them. Keeping the lookups out means the merge rules (a skill
held several ways counts once, at its highest confidence) are testable without an index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from skillpath.engine.gap import HeldSkill

NO_TEXT_SKILLS = "no ESCO skill was recognised in the text given"


@dataclass(frozen=True)
class PastOccupation:
    """An occupation the learner held, with its essential skills (URI → label)."""

    label: str
    essential: Mapping[str, str]


@dataclass(frozen=True)
class CompletedCredential:
    """A catalogue credential the learner completed: its title and (URI, strength) links."""

    title: str
    links: Sequence[tuple[str, float]]


@dataclass(frozen=True)
class TextSkill:
    """A skill recognised in the learner's free text, with the extractor's confidence."""

    uri: str
    score: float
    label: str | None = None


def held_skills(
    declared: Iterable[tuple[str, str]] = (),
    occupations: Iterable[PastOccupation] = (),
    credentials: Iterable[CompletedCredential] = (),
    text_skills: Iterable[TextSkill] | None = None,
    occupation_confidence: float = 0.6,
) -> tuple[list[HeldSkill], list[str]]:
    """Merge every source of held skills; a skill held several ways keeps its best confidence.

    ``declared`` is (URI, label) pairs, held for sure. An occupation's essential skills count
    at ``occupation_confidence`` (doing a job suggests, not proves, each skill). A completed
    credential's links count at their strength. ``text_skills`` is None when no text was
    given; an empty list means text was given and nothing was recognised, which is noted.
    Returns the held skills sorted by URI and the notes for the learner.
    """
    held: dict[str, HeldSkill] = {}
    notes: list[str] = []

    def add(skill: HeldSkill) -> None:
        if skill.uri not in held or held[skill.uri].confidence < skill.confidence:
            held[skill.uri] = skill

    for uri, label in declared:
        add(HeldSkill(uri=uri, confidence=1.0, source="declared", label=label))
    for occupation in occupations:
        for uri, label in occupation.essential.items():
            add(
                HeldSkill(
                    uri=uri,
                    confidence=occupation_confidence,
                    source=f"occupation: {occupation.label}",
                    label=label,
                )
            )
    for credential in credentials:
        for uri, strength in credential.links:
            add(
                HeldSkill(
                    uri=uri,
                    confidence=min(1.0, strength),
                    source=f"credential: {credential.title}",
                )
            )
    if text_skills is not None:
        found = sorted(text_skills, key=lambda s: (s.uri, s.score))
        if not found:
            notes.append(NO_TEXT_SKILLS)
        for s in found:
            add(HeldSkill(uri=s.uri, confidence=round(s.score, 4), source="text", label=s.label))
    return sorted(held.values(), key=lambda h: h.uri), notes


def similar_held(
    target_uris: Sequence[str],
    held: Sequence[HeldSkill],
    position: Mapping[str, int],
    vectors: np.ndarray,
    k: int = 3,
) -> dict[str, list[tuple[str, float]]]:
    """For each target skill, the ``k`` most similar held skills by cosine (the gap's partial
    credit input); ``vectors`` are unit rows indexed by ``position``."""
    held_uris = [h.uri for h in held if h.uri in position]
    if not held_uris or not target_uris:
        return {}
    t = vectors[[position[u] for u in target_uris]]
    h = vectors[[position[u] for u in held_uris]]
    sims = t @ h.T
    out: dict[str, list[tuple[str, float]]] = {}
    for i, uri in enumerate(target_uris):
        order = np.argsort(-sims[i], kind="stable")[:k]
        out[uri] = [(held_uris[j], float(sims[i, j])) for j in order if held_uris[j] != uri]
    return out
