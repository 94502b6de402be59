"""Text → ESCO skills, job title → ESCO occupations.

Every text that reaches ESCO (a course's learning outcomes, a CV, a job ad, a typed job title)
goes through this module, so it is the ceiling on the quality of every recommendation.

How a statement scores a skill (the choices are measured in ``docs/benchmarks.md`` (Matching)):

* **dense label**: cosine to the skill's best label variant (preferred or alternative label):
  labels are precise, and the best variant is the one phrased like the statement;
* **dense description**: cosine to "label: description", which carries context;
* **lexical**: TF-IDF cosine to the best label variant
  (:mod:`skillpath.models.lexical`), which keeps exact rare terms ("Kubernetes", "IFRS")
  that sentence vectors blur;
* **adapted**: the same dense cosines after a linear query adapter learned from (sentence,
  skill) pairs (:mod:`skillpath.models.adapter`), when one is shipped for the encoder;
* **prior**: how many ESCO occupations need the skill (log-scaled): a widely needed skill is
  a likelier reading of an ambiguous statement than an occupation-specific one.

A fusion model (logistic, trained on SkillSkape train) turns the features into one score in
[0, 1]: the probability that the statement mentions the skill. Ranking uses that score; the
set predictor (:meth:`SkillMatcher.extract`) keeps skills above a threshold chosen where the
model was trained. Everything here is pure given the loaded indexes and the encoder: no store
access, no I/O.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from skillpath.engine.errors import InvalidInput
from skillpath.engine.index import IndexBundle
from skillpath.engine.statements import Statement, split_statements
from skillpath.esco.records import Occupation, Skill
from skillpath.models.adapter import FusionModel, LinearAdapter, MatcherArtifact
from skillpath.models.encoder import Encoder
from skillpath.models.lexical import LexicalConfig, LexicalIndex


class InvalidQuery(InvalidInput):
    """The input cannot be matched: not a string, or nothing left to match."""


class EmptyQuery(InvalidQuery):
    """The query text is empty or whitespace: there is nothing to match."""


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\ufeff\ufffd]")


def check_text(text: object, what: str = "text") -> str:
    """``text`` itself if it is a string; a clear :class:`InvalidQuery` otherwise."""
    if isinstance(text, bytes | bytearray):
        raise InvalidQuery(f"{what} must be a string, got bytes: decode it first (e.g. UTF-8)")
    if not isinstance(text, str):
        raise InvalidQuery(f"{what} must be a string, got {type(text).__name__}")
    return text


def clean_query(text: object, what: str = "text", max_chars: int = 10_000) -> str:
    """Validate a query: a non-empty string; control characters dropped, length capped."""
    text = check_text(text, what)
    cleaned = " ".join(_CONTROL_RE.sub(" ", text).split())
    if not cleaned:
        raise EmptyQuery(f"{what} is empty: give some words to match")
    return cleaned[:max_chars]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SkillHit:
    uri: str
    label: str
    score: float
    label_score: float
    description_score: float
    matched_label: str | None = None
    skill_type: str | None = None
    lexical_score: float = 0.0


@dataclass(frozen=True)
class OccupationHit:
    uri: str
    label: str
    score: float
    matched_label: str | None = None
    isco_group: str | None = None


@dataclass(frozen=True)
class Evidence:
    """A statement that mentions a skill: ``text == original[start:end]``.

    ``match_start``/``match_end`` narrow it to the words shared with the matched label when
    there are any (absolute offsets into the original text), for highlighting.
    """

    text: str
    start: int
    end: int
    score: float
    matched_label: str | None = None
    match_start: int | None = None
    match_end: int | None = None


@dataclass(frozen=True)
class ExtractedSkill:
    """A skill mentioned in the text; ``score`` is its best statement's score in [0, 1]."""

    uri: str
    label: str
    score: float
    skill_type: str | None
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Extraction:
    """The skills found in one text, best first, and how the text was read."""

    skills: list[ExtractedSkill]
    statements: int
    threshold: float
    truncated: bool = False
    """True when the text had more statements than the matcher reads (the rest ignored)."""

    @property
    def uris(self) -> list[str]:
        return [s.uri for s in self.skills]


@dataclass(frozen=True)
class SkillRanking:
    """Every ESCO skill ranked for one statement (what the benchmarks measure).

    Held as arrays (13.9k skills per statement): ``order`` lists skill positions best first,
    ``scores`` their scores in the same order. :meth:`hits` builds records for the head only.
    """

    statement: str
    order: np.ndarray
    scores: np.ndarray
    skills: Sequence[Skill] = field(repr=False)

    def __len__(self) -> int:
        return len(self.order)

    def uris(self, k: int | None = None) -> list[str]:
        return [self.skills[i].uri for i in self.order[:k].tolist()]

    def labels(self, k: int | None = None) -> list[str]:
        return [self.skills[i].preferred_label for i in self.order[:k].tolist()]

    def hits(self, k: int = 10) -> list[SkillHit]:
        return [
            SkillHit(
                uri=self.skills[i].uri,
                label=self.skills[i].preferred_label,
                score=float(s),
                label_score=0.0,
                description_score=0.0,
                skill_type=self.skills[i].skill_type,
            )
            for i, s in zip(self.order[:k].tolist(), self.scores[:k].tolist(), strict=True)
        ]


@dataclass(frozen=True)
class OccupationRanking:
    """Every ESCO occupation ranked for one job title (arrays, like :class:`SkillRanking`)."""

    title: str
    order: np.ndarray
    scores: np.ndarray
    occupations: Sequence[Occupation] = field(repr=False)

    def __len__(self) -> int:
        return len(self.order)

    def uris(self, k: int | None = None) -> list[str]:
        return [self.occupations[i].uri for i in self.order[:k].tolist()]

    def hits(self, k: int = 10) -> list[OccupationHit]:
        return [
            OccupationHit(
                uri=self.occupations[i].uri,
                label=self.occupations[i].preferred_label,
                score=float(max(0.0, min(1.0, s))),
                isco_group=self.occupations[i].isco_group,
            )
            for i, s in zip(self.order[:k].tolist(), self.scores[:k].tolist(), strict=True)
        ]


# --------------------------------------------------------------------------- configuration

# Hand-set fusion used when no trained artefact exists for the encoder (e.g. e5): the
# best label variant blended 0.7/0.3 with the description. No lexical feature: the TF-IDF is
# over English labels, so it pulls a German or French statement towards whatever English
# words it happens to share (measured: 4/5 EN-DE-FR pairs agree with it, 5/5 without).
# Its threshold is not calibrated (no e5 artefact yet); top_k bounds the set predictor.
DEFAULT_FUSION = FusionModel(
    features=("label", "description"),
    weights=(7.0, 3.0),
    bias=-6.5,
    threshold=0.5,
    top_k=3,
)

ZERO_SHOT_FUSION = FusionModel(
    features=("preferred",), weights=(1.0,), bias=0.0, threshold=0.5, top_k=3
)
"""The zero-shot baseline: cosine to the preferred label (no variants, lexical or training);
this reproduces the published MiniLM numbers (TECH val RP@5 53.0, HOUSE val 48.1)."""


@dataclass
class SkillMatcherConfig:
    label_weight: float = 0.7  # kept for the legacy blended ``SkillHit.score`` of ``search``
    candidates: int = 200  # label vectors fetched per statement before folding per skill
    use_lexical: bool = True
    use_artifact: bool = True  # the trained adapter + fusion shipped for the encoder
    threshold: float | None = None  # None: the fusion model's own threshold
    top_k: int | None = None  # None: the fusion model's own per-statement cap
    max_statements: int = 2000  # statements read per text; the rest is reported truncated
    max_statement_chars: int = 1000  # longer statements are cut (the encoder truncates anyway)
    chunk: int = 256  # statements scored at once (bounds memory: chunk x 99k floats)


# --------------------------------------------------------------------------- skills

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "or",
        "of",
        "the",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "from",
        "at",
        "as",
        "is",
        "are",
        "be",
        "your",
        "our",
        "their",
        "its",
    ]
)


def _stem(word: str) -> str:
    return word.casefold()[:5]


def matched_span(statement: str, label: str) -> tuple[int, int] | None:
    """Offsets (within ``statement``) of the stretch sharing words with ``label``, if any.

    Words are compared by their first five letters, so "managing" meets "manage".
    """
    wanted = {_stem(w) for w in _WORD_RE.findall(label) if w.casefold() not in _STOP}
    hits = [
        m.span()
        for m in _WORD_RE.finditer(statement)
        if m.group().casefold() not in _STOP and _stem(m.group()) in wanted
    ]
    if not hits:
        return None
    return hits[0][0], hits[-1][1]


@dataclass
class SkillMatcher:
    skills: list[Skill]
    bundle: IndexBundle
    encoder: Encoder
    config: SkillMatcherConfig = field(default_factory=SkillMatcherConfig)
    artifact: MatcherArtifact | None = None
    occupation_counts: Mapping[str, int] | None = None
    fusion_override: FusionModel | None = None
    partners: Mapping[str, SkillMatcher] = field(default_factory=dict)
    """Matchers over other encoders (same skills, same order) whose features an ensemble
    fusion model reads as ``"<partner>:<feature>"``, e.g. ``"e5:preferred_adapted"``."""

    def __post_init__(self) -> None:
        self._by_uri = {s.uri: i for i, s in enumerate(self.skills)}
        labels = self.bundle["labels"]
        self._label_owners = labels.owners
        order = np.argsort(labels.owners, kind="stable")
        self._label_order = order
        sorted_owners = labels.owners[order]
        self._label_starts = np.flatnonzero(np.r_[True, sorted_owners[1:] != sorted_owners[:-1]])
        self._label_owner_ids = sorted_owners[self._label_starts]
        # Vectors laid out owner-sorted once, so folding per skill is one reduceat.
        self._label_vectors_sorted = np.ascontiguousarray(labels.vectors()[order], dtype=np.float32)
        # label_variants puts the preferred label first: the first row of each owner.
        self._preferred_vectors = np.ascontiguousarray(
            self._label_vectors_sorted[self._label_starts]
        )
        self._label_texts: list[str] = [v for s in self.skills for v in s.label_variants]
        if len(self._label_texts) != len(self._label_owners):  # pragma: no cover - defensive
            self._label_texts = []
        self._description_vectors = np.ascontiguousarray(
            self.bundle["descriptions"].vectors(), dtype=np.float32
        )
        counts = self.occupation_counts or {}
        raw = np.asarray([counts.get(s.uri, 0) for s in self.skills], dtype=np.float32)
        self._prior = np.log1p(raw) / max(math.log1p(float(raw.max(initial=0.0))), 1.0)
        self._knowledge = np.asarray(
            [s.skill_type == "knowledge" for s in self.skills], dtype=np.float32
        )
        self._transversal = np.asarray(
            [s.reuse_level in ("transversal", "cross-sector") for s in self.skills],
            dtype=np.float32,
        )
        self._lexical: LexicalIndex | None = None

    @property
    def preferred_vectors(self) -> np.ndarray:
        """One unit vector per skill's preferred label, in ``skills`` order (what the trained
        adapter maps statements onto)."""
        return self._preferred_vectors

    # -- model ---------------------------------------------------------------------------
    @property
    def fusion(self) -> FusionModel:
        if self.fusion_override is not None:
            return self.fusion_override
        if self.config.use_artifact and self.artifact is not None:
            return self.artifact.fusion
        return DEFAULT_FUSION if self.config.use_lexical else ZERO_SHOT_FUSION

    def fusion_for(self, method: str = "final") -> FusionModel:
        """The fusion model of a named method: "final" (what ships) or "zero-shot"."""
        if method == "final":
            return self.fusion
        if method == "zero-shot":
            return ZERO_SHOT_FUSION
        raise InvalidQuery(f"unknown method {method!r}; choose final or zero-shot")

    @property
    def adapter(self) -> LinearAdapter | None:
        if self.config.use_artifact and self.artifact is not None:
            return self.artifact.adapter
        return None

    @property
    def threshold(self) -> float:
        t = self.config.threshold
        return self.fusion.threshold if t is None else t

    @property
    def lexical(self) -> LexicalIndex:
        """TF-IDF over the label variants, fitted on first use (a few seconds)."""
        if self._lexical is None:
            texts = [v for s in self.skills for v in s.label_variants]
            owners = np.asarray(
                [i for i, s in enumerate(self.skills) for _ in s.label_variants], dtype=np.int64
            )
            self._lexical = LexicalIndex(
                texts, owners, len(self.skills), LexicalConfig(stop_words="english")
            )
        return self._lexical

    # -- scoring -------------------------------------------------------------------------
    def encode(self, statements: list[str]) -> np.ndarray:
        return self.encoder.encode_queries(statements)

    def _label_max(self, vectors: np.ndarray) -> np.ndarray:
        sims = vectors @ self._label_vectors_sorted.T
        out = np.full((len(vectors), len(self.skills)), -1.0, dtype=np.float32)
        out[:, self._label_owner_ids] = np.maximum.reduceat(sims, self._label_starts, axis=1)
        return out

    def features(
        self,
        vectors: np.ndarray,
        texts: Sequence[str],
        needed: Sequence[str] | None = None,
        adapted: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Feature matrices (statements x skills) for the features the fusion model uses.

        ``adapted`` overrides the adapter's output (training passes out-of-fold vectors).
        """
        needed = set(needed if needed is not None else self.fusion.features)
        out: dict[str, np.ndarray] = {}
        if "preferred" in needed:
            out["preferred"] = vectors @ self._preferred_vectors.T
        if "label" in needed:
            out["label"] = self._label_max(vectors)
        if "description" in needed:
            out["description"] = vectors @ self._description_vectors.T
        if needed & {"preferred_adapted", "label_adapted", "description_adapted"}:
            if adapted is None:
                if self.adapter is None:
                    raise ValueError("the fusion model needs adapted features but has no adapter")
                adapted = self.adapter.apply(vectors)
            if "preferred_adapted" in needed:
                out["preferred_adapted"] = adapted @ self._preferred_vectors.T
            if "label_adapted" in needed:
                out["label_adapted"] = self._label_max(adapted)
            if "description_adapted" in needed:
                out["description_adapted"] = adapted @ self._description_vectors.T
        if "lexical" in needed:
            out["lexical"] = self.lexical.score(list(texts))
        out.update(self._partner_features(texts, needed))
        shape = (len(vectors), len(self.skills))
        for name, row in (
            ("prior", self._prior),
            ("knowledge", self._knowledge),
            ("transversal", self._transversal),
        ):
            if name in needed:
                out[name] = np.broadcast_to(row, shape)
        return out

    def _partner_features(self, texts: Sequence[str], needed: set[str]) -> dict[str, np.ndarray]:
        """Features of the partner matchers, each encoding ``texts`` with its own encoder."""
        wanted: dict[str, list[str]] = {}
        for name in needed:
            if ":" in name:
                partner, feature = name.split(":", 1)
                wanted.setdefault(partner, []).append(feature)
        out: dict[str, np.ndarray] = {}
        for partner, features in wanted.items():
            try:
                matcher = self.partners[partner]
            except KeyError:
                raise ValueError(
                    f"the fusion model reads {partner!r} features but no {partner} matcher "
                    f"is loaded (partners: {', '.join(self.partners) or 'none'})"
                ) from None
            if len(matcher.skills) != len(self.skills):
                raise ValueError(f"the {partner} matcher indexes a different skill list")
            vectors = matcher.encode(list(texts))
            for feature, values in matcher.features(vectors, texts, features).items():
                out[f"{partner}:{feature}"] = values
        return out

    def score_vectors(
        self, vectors: np.ndarray, texts: Sequence[str], fusion: FusionModel | None = None
    ) -> np.ndarray:
        """Fusion scores in [0, 1] of every skill for each statement: (statements, skills)."""
        out = np.empty((len(vectors), len(self.skills)), dtype=np.float32)
        fusion = fusion or self.fusion
        step = self.config.chunk
        for start in range(0, len(vectors), step):
            feats = self.features(
                vectors[start : start + step], texts[start : start + step], fusion.features
            )
            z = fusion.logit(feats)
            # The zero-shot cosine is reported as is (clipped), not squashed by a sigmoid.
            out[start : start + step] = (
                np.clip(z, 0.0, 1.0) if fusion is ZERO_SHOT_FUSION else fusion.probability(z)
            )
        return out

    # -- rankings ------------------------------------------------------------------------
    def _prepare(self, statements: Sequence[object]) -> list[str]:
        cap = self.config.max_statement_chars
        return [clean_query(s, "statement", cap) for s in statements]

    def rank_batch(
        self,
        statements: Sequence[str],
        method: str = "final",
        vectors: np.ndarray | None = None,
    ) -> list[SkillRanking]:
        """The full ranking of all ESCO skills for each statement (encoded in one go).

        ``vectors`` (the statements' query vectors) lets a caller that ranks the same
        statements with several methods encode them once.
        """
        if isinstance(statements, str | bytes):
            raise InvalidQuery("rank_batch takes a list of statements, not one statement")
        fusion = self.fusion_for(method)
        texts = self._prepare(statements)
        if not texts:
            return []
        if vectors is None:
            vectors = self.encode(texts)
        elif len(vectors) != len(texts):
            raise ValueError(f"{len(vectors)} vectors for {len(texts)} statements")
        out: list[SkillRanking] = []
        step = self.config.chunk
        for start in range(0, len(texts), step):
            scores = self.score_vectors(
                vectors[start : start + step], texts[start : start + step], fusion
            )
            for text, row in zip(texts[start : start + step], scores, strict=True):
                # score desc, skill position asc: deterministic under ties
                order = np.lexsort((np.arange(len(row)), -row))
                out.append(SkillRanking(text, order, row[order], self.skills))
        return out

    def rank(self, statement: str) -> SkillRanking:
        return self.rank_batch([statement])[0]

    def search(self, text: str, k: int = 10) -> list[SkillHit]:
        """Top-``k`` skills for a free-text query, scored by the fusion model."""
        text = clean_query(text)
        vectors = self.encode([text])
        feats = self.features(vectors, [text], (*self.fusion.features, "label", "description"))
        scores = self.fusion.probability(self.fusion.logit(feats))[0]
        k = max(1, min(k, len(self.skills)))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        lexical = feats.get("lexical")
        return [
            SkillHit(
                uri=self.skills[i].uri,
                label=self.skills[i].preferred_label,
                score=float(scores[i]),
                label_score=float(feats["label"][0, i]),
                description_score=float(feats["description"][0, i]),
                matched_label=self._best_label(vectors[0], i),
                skill_type=self.skills[i].skill_type,
                lexical_score=float(lexical[0, i]) if lexical is not None else 0.0,
            )
            for i in top.tolist()
        ]

    def _best_label(self, vector: np.ndarray, skill: int) -> str | None:
        j = int(np.searchsorted(self._label_owner_ids, skill))
        if j >= len(self._label_owner_ids) or self._label_owner_ids[j] != skill:
            return None
        if not self._label_texts:
            return None
        lo = int(self._label_starts[j])
        hi = int(self._label_starts[j + 1]) if j + 1 < len(self._label_starts) else None
        rows = self._label_order[lo:hi]  # original label rows of this skill
        best = int(np.argmax(self._label_vectors_sorted[lo:hi] @ vector))
        return self._label_texts[int(rows[best])]

    # -- extraction ----------------------------------------------------------------------
    def extract(
        self, text: object, top_k: int | None = None, min_score: float | None = None
    ) -> Extraction:
        return self.extract_batch([text], top_k, min_score)[0]

    def extract_batch(
        self,
        texts: Sequence[object],
        top_k: int | None = None,
        min_score: float | None = None,
    ) -> list[Extraction]:
        """Skills mentioned in each text, with evidence; all statements encoded in one go.

        Each text is split into statements (:func:`skillpath.engine.statements.split_statements`); a
        statement keeps at most ``top_k`` skills scoring at least ``min_score`` (defaults: the
        fusion model's per-statement cap and threshold). A skill found in several statements
        is reported once, with every statement as evidence, best first. Empty or
        whitespace-only texts give an empty result; non-strings raise :class:`InvalidQuery`.
        """
        if isinstance(texts, str | bytes):
            raise InvalidQuery("extract_batch takes a list of texts, not one text")
        checked = [check_text(t) for t in texts]
        threshold = self.threshold if min_score is None else float(min_score)
        if not 0.0 <= threshold <= 1.0:
            raise InvalidQuery(f"min_score must be in [0, 1], got {min_score!r}")
        cap = top_k if top_k is not None else (self.config.top_k or self.fusion.top_k)
        if cap < 1:
            raise InvalidQuery(f"top_k must be >= 1, got {top_k!r}")
        per_text: list[list[Statement]] = []
        truncated: list[bool] = []
        flat: list[str] = []
        for text in checked:
            statements = split_statements(text)
            # Keep statements that still say something once control characters are gone.
            statements = [s for s in statements if _CONTROL_RE.sub("", s.text).strip()]
            truncated.append(len(statements) > self.config.max_statements)
            statements = statements[: self.config.max_statements]
            per_text.append(statements)
            flat.extend(s.text for s in statements)
        results: list[Extraction] = []
        if not flat:
            return [Extraction([], 0, threshold, t) for t in truncated]
        prepared = self._prepare(flat)
        vectors = self.encode(prepared)
        position = 0
        scores_parts: list[tuple[np.ndarray, np.ndarray]] = []
        step = self.config.chunk
        for start in range(0, len(prepared), step):
            scores = self.score_vectors(
                vectors[start : start + step], prepared[start : start + step]
            )
            k = min(cap, scores.shape[1])
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            scores_parts.append((top, np.take_along_axis(scores, top, axis=1)))
        tops = np.concatenate([p[0] for p in scores_parts])
        top_scores = np.concatenate([p[1] for p in scores_parts])
        for statements, was_truncated in zip(per_text, truncated, strict=True):
            found: dict[int, list[Evidence]] = {}
            for offset, statement in enumerate(statements):
                row = position + offset
                for skill, score in zip(tops[row].tolist(), top_scores[row].tolist(), strict=True):
                    if score < threshold:
                        continue
                    label = self._best_label(vectors[row], skill)
                    span = matched_span(statement.text, label or "")
                    found.setdefault(skill, []).append(
                        Evidence(
                            text=statement.text,
                            start=statement.start,
                            end=statement.end,
                            score=float(score),
                            matched_label=label,
                            match_start=statement.start + span[0] if span else None,
                            match_end=statement.start + span[1] if span else None,
                        )
                    )
            position += len(statements)
            skills = []
            for skill, evidence in found.items():
                evidence.sort(key=lambda e: (-e.score, e.start))
                s = self.skills[skill]
                skills.append(
                    ExtractedSkill(
                        s.uri, s.preferred_label, evidence[0].score, s.skill_type, tuple(evidence)
                    )
                )
            skills.sort(key=lambda x: (-x.score, x.uri))
            results.append(Extraction(skills, len(statements), threshold, was_truncated))
        return results


# --------------------------------------------------------------------------- occupations


TITLE_FEATURES: tuple[str, ...] = (
    "label",
    "preferred",
    "lexical",
    "group",
    "exact",
    "e5:label",
    "e5:preferred",
    "e5:group",
)
"""Per (title, occupation) features the learned title model reads (``e5:`` = partner):

* ``label`` / ``preferred``: cosine to the best label variant / to the preferred label;
* ``lexical``: TF-IDF cosine to the best label variant (English labels);
* ``group``: the best ``label`` cosine anywhere in the occupation's ISCO unit group: the
  title's *field* ("nursing professionals") backs the occupations in it, so "registered
  nurse" leans to the nursing group rather than to "nurse assistant" alone;
* ``exact``: 1 if the title equals one of the occupation's labels (case-insensitive).
"""


@dataclass(frozen=True)
class TitleModel:
    """The learned title ranking shipped for an encoder pair (``titles-<name>.npz``).

    ``english`` ranks titles detected as English (trained on JobBERT validation titles,
    cross-validated); ``other`` ranks the rest (chosen on the MELO development languages).
    ``confidence`` maps the head of a ranking (top score, margin to the second, exact-label
    owners) to the probability that the top occupation is right, fitted out of fold; a
    resolution below ``confident_at`` is reported as ambiguous, with alternatives.
    ``prior`` (occupation URI -> value in [0, 1]: how often vacancy titles name it) and
    ``adapter`` (a linear map of MiniLM title vectors) are the learned feature inputs that
    the fusions may read as ``prior`` and ``adapted:*``.
    """

    english: FusionModel
    other: FusionModel
    confidence: FusionModel
    english_at: float = 0.5
    """With ``routing="hard"``: p(English) at or above which ``english`` is used."""
    routing: Literal["soft", "hard"] = "soft"
    """``soft``: both models' probabilities mixed by p(English); ``hard``: a switch at
    ``english_at`` (what the artefact was tuned with)."""
    confident_at: float = 0.5
    prior: Mapping[str, float] | None = None
    adapter: LinearAdapter | None = None
    info: dict = field(default_factory=dict)

    def save(self, path: Path) -> Path:
        def fusion(f: FusionModel) -> dict:
            return {"features": list(f.features), "weights": list(f.weights), "bias": f.bias}

        meta = {
            "english": fusion(self.english),
            "other": fusion(self.other),
            "confidence": fusion(self.confidence),
            "english_at": self.english_at,
            "routing": self.routing,
            "confident_at": self.confident_at,
            "prior_uris": list(self.prior or {}),
            "info": self.info,
        }
        arrays: dict[str, np.ndarray] = {"meta": np.asarray(json.dumps(meta))}
        if self.prior:
            arrays["prior"] = np.asarray(list(self.prior.values()), dtype=np.float32)
        if self.adapter is not None:
            arrays["adapter"] = self.adapter.matrix.astype(np.float16)
        np.savez_compressed(path, **arrays)
        return path

    @classmethod
    def load(cls, path: Path) -> TitleModel:
        def fusion(d: Mapping) -> FusionModel:
            return FusionModel(
                features=tuple(d["features"]),
                weights=tuple(float(w) for w in d["weights"]),
                bias=float(d["bias"]),
            )

        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            prior = (
                dict(zip(meta["prior_uris"], data["prior"].tolist(), strict=True))
                if "prior" in data
                else None
            )
            adapter = (
                LinearAdapter(data["adapter"].astype(np.float32)) if "adapter" in data else None
            )
        return cls(
            english=fusion(meta["english"]),
            other=fusion(meta["other"]),
            confidence=fusion(meta["confidence"]),
            english_at=float(meta["english_at"]),
            routing=meta.get("routing", "soft"),
            confident_at=float(meta["confident_at"]),
            prior=prior,
            adapter=adapter,
            info=dict(meta.get("info", {})),
        )


TITLE_METHODS: tuple[str, ...] = ("zero-shot", "zero-shot-e5", "hand", "final")
"""``zero-shot``: MiniLM best label variant; ``zero-shot-e5``: the same with e5 (needs the
partner); ``hand``: the hand-set MiniLM fusion shipped before the learned model; ``final``:
what the engine serves (the learned model when it and the partner are there, else ``hand``)."""


@dataclass(frozen=True)
class TitleConfidence:
    """How sure the matcher is of a title's top occupation, and why."""

    probability: float
    language: str
    exact_owners: int
    """How many occupations carry the title itself as a label (> 1: ESCO is ambiguous)."""


@dataclass
class OccupationMatcher:
    """Job title → ESCO occupations.

    With a shipped :class:`TitleModel` and a ``partner`` matcher over the multilingual
    encoder (e5), each title is scored by a learned linear model over
    :data:`TITLE_FEATURES`, with English or non-English weights by the detected language
    (:mod:`skillpath.models.language`). Without them it falls back to the hand-set fusion
    ``(label + w_lex * lexical + w_pref * preferred) / (1 + w_lex + w_pref)`` (weights 0.2 /
    0.5, JobBERT validation MRR 0.392), which stays a cosine-like value in [0, 1].
    """

    occupations: list[Occupation]
    bundle: IndexBundle
    encoder: Encoder
    candidates: int = 100
    lexical_weight: float = 0.2
    preferred_weight: float = 0.5
    fusion: FusionModel | None = None
    adapter: LinearAdapter | None = None
    partner: OccupationMatcher | None = None
    model: TitleModel | None = None

    def __post_init__(self) -> None:
        labels = self.bundle["labels"]
        order = np.argsort(labels.owners, kind="stable")
        sorted_owners = labels.owners[order]
        self._starts = np.flatnonzero(np.r_[True, sorted_owners[1:] != sorted_owners[:-1]])
        self._owner_ids = sorted_owners[self._starts]
        self._vectors = np.ascontiguousarray(labels.vectors()[order], dtype=np.float32)
        self._preferred = np.ascontiguousarray(self._vectors[self._starts])  # first variant
        self._lexical: LexicalIndex | None = None
        # ISCO unit groups: occupations sorted by group, so a group max is one reduceat.
        groups = [o.isco_group or f"-{i}" for i, o in enumerate(self.occupations)]
        self._group_order = np.argsort(np.asarray(groups), kind="stable")
        sorted_groups = np.asarray(groups)[self._group_order]
        self._group_starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        self._group_of = np.empty(len(self.occupations), dtype=np.int64)
        self._group_of[self._group_order] = (
            np.cumsum(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]) - 1
        )
        self._prior_cache: np.ndarray | None = None
        self._exact: dict[str, list[int]] = {}
        for i, o in enumerate(self.occupations):
            for label in o.label_variants:
                owners = self._exact.setdefault(label.casefold(), [])
                if i not in owners:
                    owners.append(i)

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            texts = [v for o in self.occupations for v in o.label_variants]
            owners = np.asarray(
                [i for i, o in enumerate(self.occupations) for _ in o.label_variants],
                dtype=np.int64,
            )
            self._lexical = LexicalIndex(
                texts, owners, len(self.occupations), LexicalConfig(stop_words="english")
            )
        return self._lexical

    @property
    def learned(self) -> bool:
        """Whether ``final`` is the learned model (it needs the partner's vectors)."""
        return self.model is not None and self.partner is not None

    def _label_max(self, vectors: np.ndarray) -> np.ndarray:
        sims = vectors @ self._vectors.T
        out = np.full((len(vectors), len(self.occupations)), -1.0, dtype=np.float32)
        out[:, self._owner_ids] = np.maximum.reduceat(sims, self._starts, axis=1)
        return out

    def _group_max(self, scores: np.ndarray) -> np.ndarray:
        per_group = np.maximum.reduceat(scores[:, self._group_order], self._group_starts, axis=1)
        return per_group[:, self._group_of]

    def exact_owners(self, title: str) -> list[int]:
        """Positions of the occupations that carry ``title`` as a label (case-insensitive)."""
        return list(self._exact.get(" ".join(title.split()).casefold(), []))

    def label_containing(self, title: str) -> list[int]:
        """Occupations with a label that contains ``title`` as whole words (and is longer)."""
        needle = " ".join(title.split()).casefold()
        pattern = re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)")
        found: list[int] = []
        for label, owners in self._exact.items():
            if label != needle and pattern.search(label):
                found.extend(i for i in owners if i not in found)
        return found

    def dense_features(self, vectors: np.ndarray, prefix: str = "") -> dict[str, np.ndarray]:
        """The encoder-dependent features of :data:`TITLE_FEATURES` for query vectors."""
        label = self._label_max(vectors)
        return {
            f"{prefix}label": label,
            f"{prefix}preferred": vectors @ self._preferred.T,
            f"{prefix}group": self._group_max(label),
        }

    def features(
        self, titles: Sequence[str], vectors: np.ndarray, partner_vectors: np.ndarray | None
    ) -> dict[str, np.ndarray]:
        """Every feature of :data:`TITLE_FEATURES` for a chunk of cleaned titles."""
        feats = self.dense_features(vectors)
        feats["lexical"] = self.lexical.score(list(titles))
        exact = np.zeros((len(titles), len(self.occupations)), dtype=np.float32)
        for row, title in enumerate(titles):
            exact[row, self.exact_owners(title)] = 1.0
        feats["exact"] = exact
        if partner_vectors is not None and self.partner is not None:
            feats.update(self.partner.dense_features(partner_vectors, "e5:"))
        model = self.model
        if model is not None and model.adapter is not None:
            feats.update(self.dense_features(model.adapter.apply(vectors), "adapted:"))
        if model is not None and model.prior is not None:
            feats["prior"] = np.broadcast_to(self._prior_row(), exact.shape)
        return feats

    def _prior_row(self) -> np.ndarray:
        if self._prior_cache is None:
            prior = (self.model.prior if self.model else None) or {}
            self._prior_cache = np.asarray(
                [prior.get(o.uri, 0.0) for o in self.occupations], dtype=np.float32
            )
        return self._prior_cache

    def encode_partner(self, titles: Sequence[str]) -> np.ndarray | None:
        if self.partner is None:
            return None
        return self.partner.encoder.encode_queries(list(titles))

    def _hand(self, titles: Sequence[str], v: np.ndarray) -> np.ndarray:
        w_lex, w_pref = self.lexical_weight, self.preferred_weight
        score = self._label_max(v) + w_pref * (v @ self._preferred.T)
        if w_lex:
            score += w_lex * self.lexical.score(list(titles))
        return np.clip(score / (1 + w_lex + w_pref), 0.0, 1.0)

    def score_titles(
        self,
        titles: Sequence[str],
        method: str = "final",
        vectors: np.ndarray | None = None,
        chunk: int = 512,
        partner_vectors: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores in [0, 1] of every occupation for each (cleaned) title."""
        if method not in TITLE_METHODS:
            raise InvalidQuery(f"unknown method {method!r}; choose {', '.join(TITLE_METHODS)}")
        if method == "zero-shot-e5" and self.partner is None:
            raise InvalidQuery("method zero-shot-e5 needs the multilingual partner index")
        learned = method == "final" and self.learned
        if method == "final" and not learned and self.fusion is None:
            method = "hand"
        if vectors is None:
            vectors = self.encoder.encode_queries(list(titles))
        elif len(vectors) != len(titles):
            raise ValueError(f"{len(vectors)} vectors for {len(titles)} titles")
        if (learned or method == "zero-shot-e5") and partner_vectors is None:
            partner_vectors = self.encode_partner(titles)
        out = np.empty((len(titles), len(self.occupations)), dtype=np.float32)
        for start in range(0, len(titles), chunk):
            part = list(titles[start : start + chunk])
            v = vectors[start : start + chunk]
            pv = None if partner_vectors is None else partner_vectors[start : start + chunk]
            if method == "zero-shot":
                out[start : start + chunk] = np.clip(self._label_max(v), 0.0, 1.0)
            elif method == "zero-shot-e5":
                assert self.partner is not None and pv is not None
                out[start : start + chunk] = np.clip(self.partner._label_max(pv), 0.0, 1.0)
            elif method == "hand":
                out[start : start + chunk] = self._hand(part, v)
            elif learned:
                out[start : start + chunk] = self._learned(part, v, pv)
            else:  # a legacy single-encoder artefact
                out[start : start + chunk] = self._legacy(part, v)
        return out

    def _learned(self, titles: list[str], v: np.ndarray, pv: np.ndarray | None) -> np.ndarray:
        from skillpath.models.language import detect

        assert self.model is not None
        feats = self.features(titles, v, pv)
        p_en = np.asarray([detect(t).p_english for t in titles], dtype=np.float32)[:, None]
        english = self.model.english.probability(self.model.english.logit(feats))
        other = self.model.other.probability(self.model.other.logit(feats))
        if self.model.routing == "hard":
            return np.where(p_en >= self.model.english_at, english, other).astype(np.float32)
        # Soft: the two models' probabilities mixed by p(English). A short English title the
        # detector is unsure of ("Marketing Executive": p 0.3) then keeps most of the English
        # model's say instead of losing all of it at a threshold. On the dev files
        # (experiments/title_routing.py) it beats the hard switch at 0.5 on JobBERT
        # validation (MRR 0.380 vs 0.371) and equals or beats it on all six MELO files.
        return (p_en * english + (1.0 - p_en) * other).astype(np.float32)

    def _legacy(self, titles: list[str], v: np.ndarray) -> np.ndarray:
        fusion = self.fusion
        assert fusion is not None
        feats: dict[str, np.ndarray] = {"label": self._label_max(v)}
        if "label_adapted" in fusion.features:
            if self.adapter is None:
                raise ValueError("the occupation fusion needs an adapter but has none")
            feats["label_adapted"] = self._label_max(self.adapter.apply(v))
        if "lexical" in fusion.features:
            feats["lexical"] = self.lexical.score(titles)
        return fusion.probability(fusion.logit(feats))

    def rank_batch(
        self,
        titles: Sequence[object],
        method: str = "final",
        vectors: np.ndarray | None = None,
        partner_vectors: np.ndarray | None = None,
    ) -> list[OccupationRanking]:
        """Every occupation ranked for each title, titles encoded in one go (or given)."""
        if isinstance(titles, str | bytes):
            raise InvalidQuery("rank_batch takes a list of titles, not one title")
        cleaned = [clean_query(t, "job title", 500) for t in titles]
        if not cleaned:
            return []
        scores = self.score_titles(cleaned, method, vectors, partner_vectors=partner_vectors)
        out = []
        for title, row in zip(cleaned, scores, strict=True):
            order = np.lexsort((np.arange(len(row)), -row))
            out.append(OccupationRanking(title, order, row[order], self.occupations))
        return out

    def normalize(self, title: str, k: int = 10) -> list[OccupationHit]:
        """The ``k`` best ESCO occupations for a job title, scores in [0, 1]."""
        return self.rank_batch([title])[0].hits(max(1, k))

    def confidence(self, ranking: OccupationRanking) -> TitleConfidence:
        """The probability that ``ranking``'s top occupation is the right one.

        With the learned model: its calibrated confidence model (fitted out of fold on
        JobBERT validation). Without it: the top score itself (the hand fusion is a
        cosine-like value, not a probability), so callers keep their own threshold.
        """
        from skillpath.models.language import detect

        language = detect(ranking.title).code
        owners = len(self.exact_owners(ranking.title))
        top = float(ranking.scores[0]) if len(ranking) else 0.0
        if self.model is None or not self.learned:
            return TitleConfidence(top, language, owners)
        second = float(ranking.scores[1]) if len(ranking) > 1 else 0.0
        feats = confidence_features(np.asarray([top]), np.asarray([second]), np.asarray([owners]))
        c = self.model.confidence
        return TitleConfidence(float(c.probability(c.logit(feats))[0]), language, owners)


def confidence_features(
    top: np.ndarray, second: np.ndarray, exact_owners: np.ndarray
) -> dict[str, np.ndarray]:
    """What the confidence model reads about a ranking's head."""
    owners = exact_owners.astype(np.float32)
    return {
        "top": top.astype(np.float32),
        "margin": (top - second).astype(np.float32),
        "exact_one": (owners == 1).astype(np.float32),
        "exact_many": (owners > 1).astype(np.float32),
    }
