"""The skill matcher as the catalogue importer's outcome → ESCO mapper."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property

from skillpath.engine.catalogue.importer import MappedSkill
from skillpath.engine.matching import SkillMatcher


class MatcherMapper:
    """Adapts the skill matcher's extractor to what the catalogue importer needs.

    Each learning-outcome statement is one text for ``extract_batch`` (one encoder call per
    import batch); spans are offsets into that statement. The fingerprint names the encoder,
    the shipped matcher artefact and the threshold, so a better matcher re-maps on import.
    """

    def __init__(self, matcher: SkillMatcher) -> None:
        self.matcher = matcher
        self.artifact = matcher.artifact

    @cached_property
    def fingerprint(self) -> str:
        fusion = self.matcher.fusion
        parts = [
            self.matcher.encoder.fingerprint,
            repr((fusion.features, fusion.weights, fusion.bias, fusion.top_k)),
            f"{self.matcher.threshold:.4f}",
        ]
        adapter = self.matcher.adapter
        if adapter is not None:
            parts.append(hashlib.sha256(adapter.matrix.tobytes()).hexdigest()[:12])
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def map_statements(self, statements: Sequence[str]) -> list[list[MappedSkill]]:
        if not statements:
            return []
        return [
            [
                MappedSkill(s.uri, s.score, s.evidence[0].match_start, s.evidence[0].match_end)
                for s in extraction.skills
            ]
            for extraction in self.matcher.extract_batch(list(statements))
        ]

    def map_tags(self, tags: Sequence[str]) -> list[MappedSkill | None]:
        """A provider tag ("Data Analysis") names one skill: its best match, if above threshold."""
        if not tags:
            return []
        return [
            MappedSkill(e.skills[0].uri, e.skills[0].score) if e.skills else None
            for e in self.matcher.extract_batch(list(tags), top_k=1)
        ]
