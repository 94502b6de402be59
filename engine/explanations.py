"""Why a credential was recommended: the gap skills it covers, the evidence, the score parts.

Everything is derived from the ranked record and the gap (no lookups), so the same ranking
always explains the same way. The sentence leads with what the credential *adds*; skills it
covers that better-ranked credentials already cover are named as such, not counted as gains.

API::

    explain(ranked, gap, candidate=None) -> Explanation
    explain_ranking(ranking, gap, candidates=()) -> list[Explanation]
    explain_pathway(pathway) -> PathwayExplanation
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from skillpath.engine.gap import Gap, Relation
from skillpath.engine.pathway import Pathway
from skillpath.engine.ranking import Candidate, CoveredSkill, RankedCredential, Ranking, ScoreParts

__all__ = [
    "Explanation",
    "PathwayExplanation",
    "SkillEvidence",
    "explain",
    "explain_pathway",
    "explain_ranking",
]

_MAX_LABELS = 4  # labels named in a sentence before "and N more"


class SkillEvidence(BaseModel):
    """One covered gap skill: the learning outcome that evidences it and what it adds."""

    model_config = ConfigDict(frozen=True)

    uri: str
    label: str
    relation: Relation
    amount: float
    gain: float
    already_covered: float
    strength: float
    evidence: str | None
    source: str
    via_skill: str | None = None
    via_label: str | None = None
    similarity: float | None = None
    gap_reason: str | None = None
    text: str


class Explanation(BaseModel):
    """Everything needed to show why a credential is in the list, and its score broken down."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    rank: int
    sentence: str
    essential: list[SkillEvidence]
    optional: list[SkillEvidence]
    parts: ScoreParts
    score_text: str
    details: list[str]
    flags: list[str]
    url: str | None = None


class PathwayExplanation(BaseModel):
    model_config = ConfigDict(frozen=True)

    sentence: str
    steps: list[str]


def _names(labels: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b, c and d', 'a, b, c, d and 2 more'."""
    shown = list(labels[:_MAX_LABELS])
    rest = len(labels) - len(shown)
    if rest:
        return ", ".join(shown) + f" and {rest} more"
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + f" and {shown[-1]}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _skill_text(s: CoveredSkill) -> str:
    via = ""
    if s.via_skill:
        via = f" via related skill '{s.via_label or s.via_skill}' (similarity {s.similarity:.2f})"
    evidence = f': "{s.evidence}"' if s.evidence else ": no learning outcome quoted"
    text = (
        f"{s.label} ({s.relation}){via}{evidence} — strength {s.strength:.2f} "
        f"({s.source}), coverage {s.amount:.2f}"
    )
    if s.before > 0.0:
        text += f"; already covered {s.before:.2f} by higher-ranked credentials"
    return text


def _evidence(s: CoveredSkill, gap: Gap) -> SkillEvidence:
    g = gap.skill(s.uri)
    return SkillEvidence(
        uri=s.uri,
        label=s.label,
        relation=s.relation,
        amount=s.amount,
        gain=s.gain,
        already_covered=s.before,
        strength=s.strength,
        evidence=s.evidence,
        source=s.source,
        via_skill=s.via_skill,
        via_label=s.via_label,
        similarity=s.similarity,
        gap_reason=g.reason if g else None,
        text=_skill_text(s),
    )


def _by_gain(covered: Sequence[CoveredSkill]) -> list[CoveredSkill]:
    """What it adds most first; the gap order (stable sort) breaks ties."""
    return sorted(covered, key=lambda s: -s.gain)


def _sentence(ranked: RankedCredential, gap: Gap) -> str:
    """E.g. "Covers 2 essential skills of data analyst not yet held: SQL and Python; ..."."""
    new = [s for s in _by_gain(ranked.covered) if s.gain > 0.0]
    new_essential = [s.label for s in new if s.relation == "essential"]
    new_optional = [s.label for s in new if s.relation == "optional"]
    redundant = [s.label for s in ranked.covered if s.gain <= 0.0]
    occupation = gap.occupation_label
    parts: list[str] = []
    if new_essential:
        parts.append(
            f"Covers {_plural(len(new_essential), 'essential skill')} of {occupation} "
            f"not yet held: {_names(new_essential)}"
        )
    if new_optional:
        lead = "also" if new_essential else "Covers"
        suffix = "" if new_essential else f" of {occupation} not yet held"
        parts.append(
            f"{lead} {_plural(len(new_optional), 'optional skill')}{suffix}: {_names(new_optional)}"
        )
    if redundant:
        if parts:
            parts.append(f"{_names(redundant)} already covered by higher-ranked credentials")
        else:
            parts.append(
                f"Covers {_plural(len(redundant), 'skill')} of {occupation} "
                f"({_names(redundant)}), all already covered by higher-ranked credentials"
            )
    return "; ".join(parts) + "."


_FEATURE_WORDS = {
    "title": "text close to the job title",
    "occupation": "close to the occupation's description",
    "skills": "close to its essential skills",
    "bm25": "shares the job title's words",
    "coverage": "covers gap skills",
    "current": "closer to the current job than the target",
    "foreign": "not in your language",
    "empty": "no description",
}


def _relevance_sentence(ranked: RankedCredential, gap: Gap, target_title: str | None) -> str:
    """E.g. "Relevant to data analyst: text close to the job title (0.71) ...; covers gap
    skills: SQL (via ...)." — what the score rests on, then the gap it covers."""
    r = ranked.relevance
    assert r is not None
    target = gap.occupation_label
    if target_title and target_title.strip().casefold() != target.casefold():
        target = f"{target_title.strip()} (ESCO: {gap.occupation_label})"
    reasons = [
        f"{_FEATURE_WORDS[name]} ({r.features[name]:.2f})"
        for name in ("title", "occupation", "skills")
        if r.contributions.get(name, 0.0) > 0.0
    ]
    if r.matched:
        reasons.append(f"nearest essential skills: {_names(list(r.matched))}")
    sentence = f"Relevant to {target}: " + ", ".join(reasons or ["ranked by text relevance"])
    new = [s.label for s in _by_gain(ranked.covered) if s.gain > 0.0]
    if new:
        sentence += f"; covers gap skills: {_names(new)}"
    elif ranked.covered:
        sentence += (
            f"; covers gap skills {_names([s.label for s in ranked.covered])}, "
            "already covered by higher-ranked credentials"
        )
    else:
        sentence += "; no gap skill is linked to it in the catalogue"
    cautions = [
        _FEATURE_WORDS[name]
        for name in ("current", "foreign", "empty")
        if r.contributions.get(name, 0.0) < 0.0
    ]
    if cautions:
        sentence += f" (note: {', '.join(cautions)})"
    return sentence + "."


def _relevance_score_text(ranked: RankedCredential) -> str:
    r = ranked.relevance
    assert r is not None
    terms = " + ".join(
        f"{value:.3f} {name}" for name, value in r.contributions.items() if value != 0.0
    )
    text = f"score {r.score:.3f} = {terms or '0'}"
    if r.base != r.score:
        text += f" − diversity {r.base - r.score:.3f} (cosine {r.redundancy:.2f} to one above)"
    return text


def _score_text(p: ScoreParts) -> str:
    return (
        f"score {p.score:.3f} = coverage gain {p.coverage_gain:.3f} "
        f"(alone {p.standalone_coverage:.3f} minus redundancy {p.redundancy_discount:.3f}) "
        f"× {p.multiplier:.3f} (workload fit {p.workload_fit:.2f}, level fit {p.level_fit:.2f})"
    )


def _details(candidate: Candidate | None, ranked: RankedCredential) -> list[str]:
    out: list[str] = []
    if candidate is not None:
        facts = []
        if candidate.ects is not None:
            facts.append(f"{candidate.ects:g} ECTS")
        if candidate.hours is not None:
            facts.append(f"{candidate.hours:g} h")
        if candidate.eqf_level is not None:
            facts.append(f"EQF {candidate.eqf_level}")
        if candidate.level_text:
            facts.append(candidate.level_text)
        if candidate.mode:
            facts.append(candidate.mode)
        if candidate.languages:
            facts.append("/".join(candidate.languages))
        if candidate.provider:
            facts.append(f"by {candidate.provider}")
        if facts:
            out.append(", ".join(facts))
    via = [s for s in ranked.covered if s.via_skill]
    if via:
        out.append(
            "Taught via related skills: "
            + "; ".join(
                f"{s.via_label or s.via_skill} for {s.label} ({s.similarity:.2f})" for s in via
            )
        )
    unknown = [f.removeprefix("unknown ") for f in ranked.flags if f.startswith("unknown ")]
    if unknown:
        out.append("Not stated by the provider: " + ", ".join(unknown))
    return out


def explain(
    ranked: RankedCredential,
    gap: Gap,
    candidate: Candidate | None = None,
    target_title: str | None = None,
) -> Explanation:
    """The explanation of one ranked credential; ``candidate`` adds workload/level facts.

    A relevance-ranked item (``ranked.relevance`` set) says first why it is relevant to the
    target (the typed ``target_title`` and the ESCO occupation), then the gap skills it covers.
    """
    evidence = [_evidence(s, gap) for s in _by_gain(ranked.covered)]
    relevant = ranked.relevance is not None
    return Explanation(
        id=ranked.id,
        title=ranked.title,
        rank=ranked.rank,
        sentence=_relevance_sentence(ranked, gap, target_title)
        if relevant
        else _sentence(ranked, gap),
        essential=[e for e in evidence if e.relation == "essential"],
        optional=[e for e in evidence if e.relation == "optional"],
        parts=ranked.parts,
        score_text=_relevance_score_text(ranked) if relevant else _score_text(ranked.parts),
        details=_details(candidate, ranked),
        flags=list(ranked.flags),
        url=ranked.url,
    )


def explain_ranking(
    ranking: Ranking,
    gap: Gap,
    candidates: Iterable[Candidate] = (),
    target_title: str | None = None,
) -> list[Explanation]:
    """One explanation per ranked credential, in rank order."""
    by_id = {c.id: c for c in candidates}
    return [explain(item, gap, by_id.get(item.id), target_title) for item in ranking.items]


def explain_pathway(pathway: Pathway) -> PathwayExplanation:
    """A summary sentence and one line per step (what it adds, coverage after it)."""
    if not pathway.steps:
        return PathwayExplanation(
            sentence=f"No pathway: {pathway.reason_if_empty or 'nothing to recommend'}.",
            steps=[],
        )
    workload = f"{pathway.total_ects:g} ECTS" if pathway.total_ects else ""
    if pathway.total_hours:
        workload += f"{' / ' if workload else ''}about {pathway.total_hours:g} h"
    sentence = (
        f"{_plural(len(pathway.steps), 'credential')}"
        f"{f' ({workload})' if workload else ''} cover {pathway.coverage:.0%} of the gap for "
        f"{pathway.occupation_label} ({pathway.essential_coverage:.0%} of essential skills)"
    )
    if pathway.uncovered:
        sentence += f"; not covered: {_names([g.label for g in pathway.uncovered])}"
    steps = []
    for step in pathway.steps:
        new = [s.label for s in step.covered if s.gain > 0.0]
        level = f"EQF {step.eqf_level}" if step.eqf_level is not None else step.level_text
        steps.append(
            f"{step.position}. {step.title}{f' ({level})' if level else ''}: adds "
            f"{step.gain:.0%} ({_names(new) or 'nothing new'}), "
            f"{step.cumulative_coverage:.0%} covered after it"
        )
    return PathwayExplanation(sentence=sentence + ".", steps=steps)
