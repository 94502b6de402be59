"""The skill matcher as the catalogue importer's outcome → ESCO mapper."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property

from skillpath.engine.catalogue.store import StoredLink
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

    def map_statements(self, statements: Sequence[str]) -> list[list[StoredLink]]:
        """Each statement's inferred links: the statement is the evidence, with the span."""
        if not statements:
            return []
        statements = list(statements)
        return [
            [
                StoredLink(
                    s.uri,
                    s.score,
                    statement,
                    "inferred",
                    s.evidence[0].match_start,
                    s.evidence[0].match_end,
                )
                for s in extraction.skills
            ]
            for statement, extraction in zip(
                statements, self.matcher.extract_batch(statements), strict=True
            )
        ]

    def map_tags(self, tags: Sequence[str]) -> list[StoredLink | None]:
        """A provider tag ("Data Analysis") names one skill: its best match, if above threshold."""
        if not tags:
            return []
        tags = list(tags)
        return [
            StoredLink(e.skills[0].uri, e.skills[0].score, tag, "tag") if e.skills else None
            for tag, e in zip(tags, self.matcher.extract_batch(tags, top_k=1), strict=True)
        ]
