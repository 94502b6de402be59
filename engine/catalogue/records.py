"""The micro-credential record every importer produces and every exporter reads.

Fields follow Annex I of the Council Recommendation on a European approach to micro-credentials
(2022): the eleven mandatory elements first, then the optional ones, then catalogue extras
(price, rating, provider tags) that help ranking but are not part of the standard.

Rule: a field the source does not state stays ``None`` (or an empty list). Importers never
guess; in particular a provider's "Beginner" is *not* an EQF level.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skillpath.engine.statements import normalize_text

__all__ = [
    "DeclaredSkill",
    "ImportIssue",
    "ImportItem",
    "ImportStream",
    "Mode",
    "MicroCredential",
    "SkillLink",
    "Stackability",
    "ESCO_SKILL_PREFIX",
    "is_esco_skill_uri",
]

Mode = Literal["online", "onsite", "blended"]
Stackability = Literal["stand-alone", "part-of-larger-credential"]

ESCO_SKILL_PREFIX = "http://data.europa.eu/esco/skill/"


def is_esco_skill_uri(uri: str | None) -> bool:
    """True for an ESCO skill/competence URI (http or https, any ESCO version)."""
    if not uri:
        return False
    return uri.replace("https://", "http://", 1).startswith(ESCO_SKILL_PREFIX)


class DeclaredSkill(BaseModel):
    """An ESCO skill the provider itself declares (ELM relatedESCOSkill, OB3 alignment).

    ``outcome`` is the learning-outcome statement the skill was declared under, when the
    source says so; exporters use it to put the skill back under the same outcome.
    """

    model_config = ConfigDict(frozen=True)

    uri: str
    label: str | None = None
    outcome: str | None = None


class SkillLink(BaseModel):
    """A skill link handed to an exporter: declared by the provider or inferred by the matcher.

    ``evidence`` is the statement that supports the link (a learning outcome text); exporters
    attach the link to the outcome with that exact text when there is one.
    """

    model_config = ConfigDict(frozen=True)

    uri: str
    label: str | None = None
    score: float | None = None
    evidence: str | None = None
    source: Literal["declared", "inferred"] = "inferred"


class MicroCredential(BaseModel):
    """One micro-credential (a catalogue offer, or an issued credential when ``learner`` is set).

    ``awarding_body`` is a single string; several bodies are joined with ``"; "`` (Coursera
    lists co-offering universities) — :attr:`awarding_bodies` splits them again.
    ``outcomes_source`` records which source column/property the outcomes came from (e.g.
    ``"objectives"`` when a module had no learning outcomes), so a ranker can weigh them.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # identity
    id: str = ""
    source: str
    external_id: str

    # Annex I, mandatory elements
    learner: str | None = None
    title: str
    country: str | None = None
    region: str | None = None
    awarding_body: str | None = None
    issued_on: date | None = None
    learning_outcomes: list[str] = Field(default_factory=list)
    ects: float | None = Field(None, ge=0)
    hours: float | None = Field(None, ge=0)
    eqf_level: int | None = Field(None, ge=1, le=8)
    nqf_level: str | None = None
    assessment_type: str | None = None
    mode: Mode | None = None
    quality_assurance: str | None = None

    # Annex I, optional elements
    prerequisites: str | None = None
    supervision_and_identity_verification: str | None = None
    grade: str | None = None
    stackability: Stackability | None = None
    part_of: str | None = None
    url: str | None = None
    languages: list[str] = Field(default_factory=list)

    # catalogue extras
    price: float | None = Field(None, ge=0)
    currency: str | None = None
    is_free: bool | None = None
    certificate_price: float | None = Field(None, ge=0)  # paid certificate of a free course
    rating: float | None = None
    review_count: int | None = Field(None, ge=0)
    provider_skill_tags: list[str] = Field(default_factory=list)
    level_text: str | None = None
    subject: str | None = None
    description: str | None = None
    credential_type: str | None = None
    outcomes_source: str | None = None
    declared_skills: list[DeclaredSkill] = Field(default_factory=list)

    @model_validator(mode="after")
    def _derive_id(self) -> MicroCredential:
        # id is always derived, so a record can never carry a stale one.
        object.__setattr__(self, "id", f"{self.source}:{self.external_id}")
        return self

    @field_validator("title", "source", "external_id")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        v = normalize_text(v)  # one line: scraped titles carry newlines and zero-width spaces
        if not v:
            raise ValueError("must not be blank")
        return v

    @field_validator("languages")
    @classmethod
    def _lang_codes(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for code in v:
            code = code.strip().lower()
            if len(code) != 2 or not code.isalpha():
                raise ValueError(f"not an ISO 639-1 code: {code!r}")
            if code not in out:
                out.append(code)
        return out

    @property
    def awarding_bodies(self) -> list[str]:
        """The awarding bodies as a list (``awarding_body`` split on ``"; "``)."""
        if not self.awarding_body:
            return []
        return [b.strip() for b in self.awarding_body.split(";") if b.strip()]

    def canonical_json(self) -> str:
        """Stable JSON of every field (sorted keys, no whitespace) — the basis of the hash."""
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )

    def content_hash(self) -> str:
        """SHA-256 hex of :meth:`canonical_json`; equal hash means re-import is a no-op.

        Records hold nothing volatile (no import timestamps), so every field takes part.
        """
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


class ImportIssue(BaseModel):
    """A row/object an importer skipped or partly understood, and why.

    ``line`` is the 1-based physical line where the row *starts* in the file (CSV), or
    ``None`` for JSON sources; ``field`` names the offending field/column when there is one.
    """

    model_config = ConfigDict(frozen=True)

    line: int | None = None
    field: str | None = None
    reason: str
    external_id: str | None = None
    severity: Literal["skipped", "warning"] = "skipped"


ImportItem = MicroCredential | ImportIssue
# What every importer returns: records and issues, in source order.
ImportStream = Iterator[ImportItem]
