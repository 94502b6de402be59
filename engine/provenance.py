"""Provenance of a recommendation, and what a replay of a logged one compares (pure).

An advisor asks "why did the system say this last Tuesday?": the answer depends on the ESCO
release, the catalogue revision, the matcher (encoders and trained artefact), every weight and
threshold (:class:`~skillpath.engine.config.Tuning`), the encoder settings and the code
version. Each recommendation response carries them as a :class:`Provenance`, and the request
log (:mod:`skillpath.engine.request_log`) keeps one :class:`LoggedRequest` line per request:
the request as sent, its provenance and a compact summary of the answer. ``skillpath replay``
re-runs the request and compares (:func:`compare`): on the same provenance the answer must be
the same; when the provenance moved on (another catalogue revision, say) it says which part.

No I/O here: the facade gathers the facts, the request log writes the lines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from skillpath.errors import InvalidInput

SCORE_DIGITS = 6
"""Scores are compared to this many decimals: far below any difference that changes a rank,
above the last-bit noise a different BLAS thread count could leave in a float."""

REPRODUCIBILITY_FIELDS = (
    "esco_version",
    "catalogue_revision",
    "matcher_fingerprint",
    "title_fingerprint",
    "tuning_fingerprint",
    "encoder",
    "skillpath_version",
    "settings",
)
"""The parts of a provenance that, when equal, promise the same answer."""


class Provenance(BaseModel):
    """What shaped one recommendation answer; equal provenance means an equal answer."""

    request_id: str = Field(..., description="Id of this request (the API's X-Request-ID).")
    created_at: str = Field(..., description="When the answer was computed (UTC, ISO 8601).")
    skillpath_version: str = Field(..., description="The engine's package version.")
    esco_version: str = Field(..., description="ESCO release of the store (e.g. v1.2.0).")
    catalogue_revision: int = Field(
        ..., description="Catalogue revision ranked (moves on with every catalogue write)."
    )
    matcher_fingerprint: str = Field(
        ..., description="Hash of the skill matcher: encoders and trained artefact."
    )
    title_fingerprint: str = Field(
        "", description="Hash of the job-title matcher: encoders, artefact, title model."
    )
    tuning_fingerprint: str = Field(
        ..., description="Hash of every ranking weight and threshold (the Tuning object)."
    )
    encoder: str = Field(..., description='Encoder (or ensemble) name, e.g. "minilm".')
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="The settings that shaped the answer: encoder backend, partner encoder, "
        "every tuning value.",
    )


class LoggedRequest(BaseModel):
    """One line of the request log: enough to re-run the request and check the answer."""

    request: dict[str, Any]
    provenance: Provenance
    answer: dict[str, Any]
    answer_digest: str


class ReplayResult(BaseModel):
    """A logged request re-run: same answer or not, and which provenance parts moved."""

    request_id: str
    same_answer: bool
    same_provenance: bool
    changed: dict[str, list[Any]] = Field(
        default_factory=dict, description="provenance field -> [logged, now], when they differ"
    )
    differences: list[str] = Field(default_factory=list)
    logged_digest: str
    replayed_digest: str


def fingerprint(value: BaseModel | Mapping[str, Any] | Sequence[Any]) -> str:
    """A short stable hash of a model or JSON value (sorted keys, so field order is moot)."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_provenance(
    *,
    request_id: str,
    skillpath_version: str,
    esco_version: str | None,
    catalogue_revision: int,
    matcher_fingerprint: str,
    encoder: str,
    title_fingerprint: str = "",
    tuning: BaseModel,
    settings: Mapping[str, Any],
    now: datetime | None = None,
) -> Provenance:
    """The provenance record of one answer; ``settings`` are the non-tuning ones."""
    values = tuning.model_dump(mode="json")
    return Provenance(
        request_id=request_id,
        created_at=(now or datetime.now(UTC)).isoformat(timespec="milliseconds"),
        skillpath_version=skillpath_version,
        esco_version=esco_version or "unknown",
        catalogue_revision=catalogue_revision,
        matcher_fingerprint=matcher_fingerprint,
        title_fingerprint=title_fingerprint,
        tuning_fingerprint=fingerprint(values),
        encoder=encoder,
        settings={**settings, "tuning": values},
    )


def answer_summary(response: Mapping[str, Any]) -> dict[str, Any]:
    """What an answer says, compactly: target, gap, ranked ids and scores, pathway order.

    ``response`` is a recommendation response as JSON (``model_dump(mode="json")``); the
    explanations are left out (they are a function of these and the catalogue).
    """

    def score(value: float | None) -> float | None:
        return None if value is None else round(float(value), SCORE_DIGITS)

    gap = response.get("gap") or {}
    return {
        "target": (response.get("target") or {}).get("occupation_uri"),
        "gap": [[s["uri"], score(s.get("remaining_weight"))] for s in gap.get("skills", [])],
        "ranking": [
            [item["rank"], item["id"], score(item.get("score"))]
            for item in (response.get("ranking") or {}).get("items", [])
        ],
        "pathway": [step["id"] for step in (response.get("pathway") or {}).get("steps", [])],
    }


def logged_request(
    request: Mapping[str, Any], response: Mapping[str, Any], provenance: Provenance
) -> LoggedRequest:
    """The log line for one answered request (both as JSON values)."""
    summary = answer_summary(response)
    return LoggedRequest(
        request=dict(request),
        provenance=provenance,
        answer=summary,
        answer_digest=fingerprint(summary),
    )


def parse_logged(line: str, where: str) -> LoggedRequest:
    """One log line read back; a bad line is an :class:`InvalidInput` naming ``where``
    (file and line number) and what is wrong."""
    try:
        return LoggedRequest.model_validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "line"
        raise InvalidInput(
            f"{where}: not a request-log line ({field}: {first.get('msg')})"
        ) from None


def compare(
    logged: LoggedRequest, provenance: Provenance, response: Mapping[str, Any]
) -> ReplayResult:
    """A re-run answer against the logged one: same or not, and what moved in between."""
    then = logged.provenance.model_dump(mode="json")
    now = provenance.model_dump(mode="json")
    changed = {f: [then[f], now[f]] for f in REPRODUCIBILITY_FIELDS if then[f] != now[f]}
    summary = answer_summary(response)
    return ReplayResult(
        request_id=logged.provenance.request_id,
        same_answer=summary == logged.answer,
        same_provenance=not changed,
        changed=changed,
        differences=describe_differences(logged.answer, summary),
        logged_digest=logged.answer_digest,
        replayed_digest=fingerprint(summary),
    )


def describe_differences(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Human lines saying how two answer summaries differ (empty when they do not)."""
    lines = []
    if then.get("target") != now.get("target"):
        lines.append(f"target: was {then.get('target')}, now {now.get('target')}")
    if then.get("gap") != now.get("gap"):
        was = {uri for uri, _ in then.get("gap", [])}
        is_ = {uri for uri, _ in now.get("gap", [])}
        lines.append(
            f"gap: {len(was)} skills then, {len(is_)} now "
            f"({len(is_ - was)} new, {len(was - is_)} gone, weights may differ)"
        )
    old, new = then.get("ranking", []), now.get("ranking", [])
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else None
        b = new[i] if i < len(new) else None
        if a != b:
            lines.append(f"rank {i + 1}: was {_item(a)}, now {_item(b)}")
    if then.get("pathway") != now.get("pathway"):
        lines.append(f"pathway: was {then.get('pathway')}, now {now.get('pathway')}")
    return lines


def _item(entry: Sequence[Any] | None) -> str:
    return "nothing" if entry is None else f"{entry[1]} ({entry[2]})"
