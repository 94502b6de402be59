"""The few HTTP envelopes the engine has no record for.

Everything that carries domain data is an engine record (``RecommendationRequest``,
``GapResponse``, ``MicroCredential``, ``SkillHit`` ...); the models here only wrap those
records for transport: a page of credentials, a batch of answers, a readiness report.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skillpath.api.errors import Problem
from skillpath.engine.catalogue.records import ImportIssue, MicroCredential, SkillLink
from skillpath.engine.recommendation import (
    LearnerProfile,
    OptionalWeight,
    RecommendationResponse,
)


class GapRequest(BaseModel):
    """The gap alone: the parts of a recommendation request that the gap depends on."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(..., description="ESCO occupation URI or a job title in free text.")
    profile: LearnerProfile = Field(default_factory=LearnerProfile)
    optional_weight: OptionalWeight = None


class ExtractRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., description="CV lines or a pasted CV.")


class CredentialPage(BaseModel):
    items: list[MicroCredential]
    total: int = Field(description="How many credentials match the filters.")
    offset: int
    limit: int
    next_offset: int | None = Field(None, description="Offset of the next page, if any.")


class CredentialDetail(BaseModel):
    """A stored credential with its ESCO skill links (declared and inferred)."""

    credential: MicroCredential
    skills: list[SkillLink]


class CredentialWrite(BaseModel):
    id: str
    status: Literal["imported", "updated", "unchanged"]
    issues: list[ImportIssue] = Field(
        default_factory=list, description="Warnings, e.g. a declared skill that is not ESCO."
    )


class BatchItem(BaseModel):
    """One answer of a batch: the response, or the problem that request alone had."""

    index: int
    response: RecommendationResponse | None = None
    error: Problem | None = None


class BatchResponse(BaseModel):
    results: list[BatchItem]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str] = Field(description="Each check and its outcome ('ok' or why not).")
    catalogue_revision: int | None = None
    credentials: int | None = None
