"""Text → ESCO skills, job title → ESCO occupations.

The skill score blends the best-matching label variant (preferred or alternative label) with
the skill's description vector: labels are precise but short, descriptions carry context. The
occupation score is the best label variant. Everything here is pure given the loaded indexes
and the encoder: no store access, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.index import IndexBundle
from esco.records import Occupation, Skill
from models.encoder import Encoder


class EmptyQuery(ValueError):
    """The query text is empty or whitespace: there is nothing to match."""


def clean_query(text: object, what: str = "text", max_chars: int = 10_000) -> str:
    """Validate a query: a non-empty string; control characters dropped, length capped."""
    if not isinstance(text, str):
        raise EmptyQuery(f"{what} must be a string, got {type(text).__name__}")
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text).strip()
    if not cleaned:
        raise EmptyQuery(f"{what} is empty: give some words to match")
    return cleaned[:max_chars]


@dataclass(frozen=True)
class SkillHit:
    uri: str
    label: str
    score: float
    label_score: float
    description_score: float
    matched_label: str | None = None
    skill_type: str | None = None


@dataclass(frozen=True)
class OccupationHit:
    uri: str
    label: str
    score: float
    matched_label: str | None = None
    isco_group: str | None = None


@dataclass
class SkillMatcherConfig:
    label_weight: float = 0.7  # share of the best label variant in the blended score
    candidates: int = 200  # label vectors fetched per statement before folding per skill


@dataclass
class SkillMatcher:
    skills: list[Skill]
    bundle: IndexBundle
    encoder: Encoder
    config: SkillMatcherConfig = field(default_factory=SkillMatcherConfig)

    def __post_init__(self) -> None:
        self._by_uri = {s.uri: i for i, s in enumerate(self.skills)}

    def encode(self, statements: list[str]) -> np.ndarray:
        return self.encoder.encode_queries(statements)

    def score_all(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Blended, label and description scores of every skill for each query vector."""
        n = len(self.skills)
        label = self.bundle["labels"].dense_max(vectors, n)
        description = self.bundle["descriptions"].dense_max(vectors, n)
        w = self.config.label_weight
        return w * label + (1 - w) * description, label, description

    def rank_vectors(self, vectors: np.ndarray, k: int) -> list[list[SkillHit]]:
        blended, label, description = self.score_all(vectors)
        k = min(k, len(self.skills))
        out = []
        for q in range(len(vectors)):
            top = np.argpartition(-blended[q], k - 1)[:k]
            top = top[np.lexsort((top, -blended[q, top]))]  # score desc, position asc: stable
            out.append(
                [
                    SkillHit(
                        uri=self.skills[i].uri,
                        label=self.skills[i].preferred_label,
                        score=float(blended[q, i]),
                        label_score=float(label[q, i]),
                        description_score=float(description[q, i]),
                        skill_type=self.skills[i].skill_type,
                    )
                    for i in top.tolist()
                ]
            )
        return out

    def search(self, text: str, k: int = 10) -> list[SkillHit]:
        text = clean_query(text)
        return self.rank_vectors(self.encode([text]), k)[0]


@dataclass
class OccupationMatcher:
    occupations: list[Occupation]
    bundle: IndexBundle
    encoder: Encoder
    candidates: int = 100

    def normalize(self, title: str, k: int = 10) -> list[OccupationHit]:
        title = clean_query(title, "job title")
        vector = self.encoder.encode_queries([title])
        best = self.bundle["labels"].best_per_owner(vector, max(self.candidates, k * 10))[0]
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [
            OccupationHit(
                uri=self.occupations[i].uri,
                label=self.occupations[i].preferred_label,
                score=float(score),
                isco_group=self.occupations[i].isco_group,
            )
            for i, score in ranked
        ]
