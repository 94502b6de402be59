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
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

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

# Field caps. Imports took any length, and a 1 MiB description cost minutes of CPU under the
# write lock; a record over a cap is refused with an issue naming the field (the rest of the
# import goes on). The longest values in the four real catalogues are well below: description
# 41.6k characters, prerequisites 4.2k, a learning outcome 3.5k, 71 outcomes, 58 tags.
MAX_SOURCE_CHARS = 64
MAX_ID_CHARS = 500
MAX_TITLE_CHARS = 1_000
MAX_DESCRIPTION_CHARS = 100_000
MAX_TEXT_CHARS = 20_000  # other free-text fields (prerequisites, assessment, ...)
MAX_URL_CHARS = 2_048
MAX_LIST_ITEMS = 500  # learning outcomes, skill tags, declared skills, languages
MAX_ITEM_CHARS = 10_000  # one learning outcome or tag

_Item = Annotated[str, StringConstraints(max_length=MAX_ITEM_CHARS)]


def _text() -> Any:
    return Field(None, max_length=MAX_TEXT_CHARS)


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host, else ValueError.

    A ``javascript:`` or ``data:`` URL in a catalogue record would run in the page of every
    client that links the course.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url[:80]!r}")
    if any(ch.isspace() for ch in url):
        raise ValueError(f"a URL has no spaces: {url[:80]!r}")
    return url


def issue_from(
    exc: ValidationError, external_id: str | None = None, line: int | None = None
) -> ImportIssue:
    """A skipped-record issue naming the first invalid field (no echo of a long value)."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or None
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ImportIssue(
        line=line,
        field=field,
        reason=f"invalid {field or 'record'}: {err['msg']}{more}",
        external_id=(external_id or "")[:MAX_ID_CHARS] or None,
    )


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

    uri: str = Field(..., max_length=MAX_URL_CHARS)
    label: str | None = Field(None, max_length=MAX_ITEM_CHARS)
    outcome: str | None = Field(None, max_length=MAX_ITEM_CHARS)


class SkillLink(BaseModel):
    """A credential → ESCO skill link: declared by the provider or inferred by the matcher.

    The one link record of the catalogue, the exporters and the ranker. ``evidence`` is the
    statement that supports the link (a learning-outcome text); exporters attach the link to
    the outcome with that exact text when there is one. ``score`` is the matcher's confidence
    (``None``: a provider declared it without one); the ranker reads :attr:`strength`.
    ``strength=`` is accepted for ``score=`` (what the ranker's callers write).
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    uri: str
    label: str | None = None
    score: float | None = Field(None, validation_alias=AliasChoices("score", "strength"))
    evidence: str | None = None
    source: Literal["declared", "inferred"] = "inferred"

    @property
    def strength(self) -> float:
        """How strongly the credential teaches the skill, in [0, 1]: the score, or 1 for a
        link declared without one."""
        return 1.0 if self.score is None else min(1.0, max(0.0, self.score))


LinkSource = Literal["declared", "inferred", "tag"]


class StoredLink(NamedTuple):
    """A credential → ESCO skill link as the catalogue keeps it: what the matcher answers
    (:class:`~skillpath.engine.catalogue.mapper.MatcherMapper`), what the store writes and
    reads, and what the ranking snapshot holds (a tuple: compact, unpacked in the ranker's
    loops). ``score`` is 1 for a declared link; ``evidence`` is the statement (or provider
    tag) it was found in, ``span_start``/``span_end`` the matched characters in it.
    :class:`SkillLink` is the same link as the API and the ranker's candidates show it
    (validated, with a label, ``tag`` shown as ``inferred``).
    """

    skill_uri: str
    score: float
    evidence: str | None
    source: LinkSource
    span_start: int | None = None
    span_end: int | None = None


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
    source: str = Field(
        ...,
        max_length=MAX_SOURCE_CHARS,
        description="Catalogue source, e.g. `edx`; no `:` (it separates source and id).",
    )
    external_id: str = Field(..., max_length=MAX_ID_CHARS)

    # Annex I, mandatory elements
    learner: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    title: str = Field(..., max_length=MAX_TITLE_CHARS)
    country: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    region: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    awarding_body: str | None = Field(None, max_length=MAX_TEXT_CHARS)
    issued_on: date | None = None
    learning_outcomes: list[_Item] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    ects: float | None = Field(None, ge=0)
    hours: float | None = Field(None, ge=0)
    eqf_level: int | None = Field(None, ge=1, le=8)
    nqf_level: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    assessment_type: str | None = _text()
    mode: Mode | None = None
    quality_assurance: str | None = _text()

    # Annex I, optional elements
    prerequisites: str | None = _text()
    supervision_and_identity_verification: str | None = _text()
    grade: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    stackability: Stackability | None = None
    part_of: str | None = _text()
    url: str | None = Field(None, max_length=MAX_URL_CHARS, description="http(s) only.")
    languages: list[str] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)

    # catalogue extras
    price: float | None = Field(None, ge=0)
    currency: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    is_free: bool | None = None
    certificate_price: float | None = Field(None, ge=0)  # paid certificate of a free course
    rating: float | None = None
    review_count: int | None = Field(None, ge=0)
    provider_skill_tags: list[_Item] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    level_text: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    subject: str | None = _text()
    description: str | None = Field(None, max_length=MAX_DESCRIPTION_CHARS)
    credential_type: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    outcomes_source: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    declared_skills: list[DeclaredSkill] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)

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

    @field_validator("source")
    @classmethod
    def _no_colon(cls, v: str) -> str:
        # "a:b" + "c" and "a" + "b:c" would both be the id "a:b:c"
        if ":" in v:
            raise ValueError("must not contain ':' (it separates the source from the id)")
        return v

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return None
        try:
            return check_url(v)
        except ValueError:
            if (info.context or {}).get("stored"):
                return None  # stored before this check existed: never served, not fatal
            raise

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
