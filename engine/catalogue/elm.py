"""European Learning Model (ELM v3 / Europass Digital Credentials) JSON-LD import and export.

ELM is the EU's own carrier for the Annex I elements, so this is the richest mapping:

* an issued credential (``EuropeanDigitalCredential``): every ``credentialSubject.hasClaim[]``
  with a ``specifiedBy`` becomes one record (learner, grade, assessment and issue date from
  the claim/credential, everything else from the specification);
* a bare specification (``LearningAchievementSpecification``/``Qualification``, what
  :func:`to_elm` writes for a catalogue offer) or a ``LearningOpportunity`` becomes a record;
* a list or an ``@graph`` of those is read item by item.

JSON-LD is read as plain JSON in the compacted form ELM publishes (no context processing).
Shapes that do not fit are reported as :class:`ImportIssue` rather than raised.

Export (:func:`to_elm`) writes skill links as ``relatedESCOSkill`` under the learning outcome
they belong to; links the matcher *inferred* carry ``"skillpath:linkSource": "inferred"`` so a
re-import does not mistake them for provider declarations.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from skillpath.engine.catalogue.jsonld import as_list as _as_list
from skillpath.engine.catalogue.jsonld import export_links, read_objects, validated_record
from skillpath.engine.catalogue.jsonld import types as _types
from skillpath.engine.catalogue.parsing import (
    country_alpha3,
    country_code,
    hours_to_iso_duration,
    iso_duration_to_hours,
    language_alpha3,
    language_code,
    parse_date,
    parse_float,
    parse_mode,
)
from skillpath.engine.catalogue.records import (
    DeclaredSkill,
    ImportIssue,
    ImportItem,
    MicroCredential,
    SkillLink,
    check_url,
    is_esco_skill_uri,
)
from skillpath.engine.statements import normalize_text, split_statements

__all__ = ["ELM_CONTEXT", "read_elm", "to_elm"]

ELM_CONTEXT = [
    "https://www.w3.org/2018/credentials/v1",
    "http://data.europa.eu/snb/model/context/edc-ap",
]
SOURCE = "elm"
_ECTS_ID = "http://data.europa.eu/snb/education-credit/6fcec5c5af"
_EQF_BASE = "http://data.europa.eu/snb/eqf/"
_LANG_BASE = "http://publications.europa.eu/resource/authority/language/"
_COUNTRY_BASE = "http://publications.europa.eu/resource/authority/country/"
_ESCO_SCHEME = "http://data.europa.eu/esco/concept-scheme/skills"
# Concept ids for the form of participation as used in the Commission's sample.
_MODE_CONCEPTS = {
    "online": ("http://data.europa.eu/snb/learning-assessment/920fbb3cbe", "Online"),
    "blended": ("http://data.europa.eu/snb/learning-assessment/e92d221e4d", "Blended"),
    "onsite": (None, "Onsite"),
}
_SPEC_TYPES = {
    "LearningAchievementSpecification",
    "Qualification",
    "LearningSpecification",
    "LearningActivitySpecification",
}
_CREDENTIAL_TYPES = {"VerifiableCredential", "EuropeanDigitalCredential"}
_LANG_KEY_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_INFERRED = "skillpath:linkSource"
_SYNTHETIC = "skillpath:synthetic"


# --- small JSON-LD helpers ------------------------------------------------------------------


def _first(value: Any) -> Any:
    items = _as_list(value)
    return items[0] if items else None


def _text(value: Any, lang: str = "en") -> str | None:
    """A language map ({"en": "..."}), a list of them, a JSON-LD value object or a string."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        for item in value:
            text = _text(item, lang)
            if text:
                return text
        return None
    if isinstance(value, Mapping):
        if "@value" in value:
            return _text(value["@value"], lang)
        if "noteLiteral" in value:  # a Note
            return _text(value["noteLiteral"], lang)
        if lang in value:
            return _text(value[lang], lang)
        for key, item in value.items():
            if isinstance(key, str) and _LANG_KEY_RE.match(key):
                text = _text(item, lang)
                if text:
                    return text
    return None


def _label(concept: Any) -> str | None:
    """prefLabel of a Concept (or its title/legalName, or the string itself)."""
    if isinstance(concept, str):
        return concept.strip() or None
    if not isinstance(concept, Mapping):
        return None
    for key in ("prefLabel", "title", "legalName", "notation"):
        text = _text(concept.get(key))
        if text:
            return text
    return None


def _id(node: Any) -> str | None:
    if isinstance(node, str):
        return node
    if isinstance(node, Mapping):
        value = node.get("id") or node.get("@id")
        return str(value) if value else None
    return None


# --- reading --------------------------------------------------------------------------------


def read_elm(source: str | Path | Mapping[str, Any] | Sequence[Any]) -> Iterator[ImportItem]:
    """Yield a :class:`MicroCredential` per credential claim / specification in ``source``.

    ``source`` is a parsed object, JSON text or a file path. Unreadable JSON raises
    ``ValueError``; odd shapes become issues (``skipped`` when no record could be built,
    ``warning`` for a piece of a record that was not understood).
    """
    return read_objects(source, _read_node)


def _read_node(node: Mapping[str, Any], index: int) -> Iterator[ImportItem]:
    types = _types(node)
    if types & _CREDENTIAL_TYPES or "credentialSubject" in node:
        subjects = _as_list(node.get("credentialSubject"))
        claims = [(s, c) for s in subjects for c in _as_list(s.get("hasClaim"))]
        if not claims:
            yield ImportIssue(
                external_id=_id(node), reason="credential without credentialSubject.hasClaim"
            )
            return
        for subject, claim in claims:
            spec = _first(claim.get("specifiedBy"))
            if not isinstance(spec, Mapping):
                yield ImportIssue(
                    external_id=_id(claim) or _id(node),
                    field="specifiedBy",
                    reason="claim without a specification (specifiedBy)",
                )
                continue
            ext = _id(node) if len(claims) == 1 else f"{_id(node)}#{_id(claim)}"
            yield from _record(spec, ext, claim=claim, credential=node, subject=subject)
    elif "LearningOpportunity" in types:
        spec = _first(node.get("learningAchievementSpecification") or node.get("specifiedBy"))
        if not isinstance(spec, Mapping):
            yield ImportIssue(external_id=_id(node), reason="learning opportunity without spec")
            return
        yield from _record(spec, _id(node), opportunity=node)
    elif types & _SPEC_TYPES or "learningOutcome" in node:
        yield from _record(node, _id(node))
    else:
        kind = ", ".join(sorted(types)) or "untyped object"
        yield ImportIssue(external_id=_id(node), reason=f"unsupported ELM object: {kind}")


def _org_country_region(org: Mapping[str, Any]) -> tuple[str | None, str | None]:
    for loc in _as_list(org.get("location")):
        if not isinstance(loc, Mapping):
            continue
        region = _label(loc.get("spatialCode"))
        for addr in _as_list(loc.get("address")):
            if isinstance(addr, Mapping) and addr.get("countryCode"):
                cc = addr["countryCode"]
                code = country_code(_id(cc)) or country_code(_label(cc)) or _label(cc)
                return code, region
        if region:
            return None, region
    return None, None


def _outcomes(spec: Mapping[str, Any]) -> tuple[list[str], list[DeclaredSkill], list[str]]:
    outcomes: list[str] = []
    skills: list[DeclaredSkill] = []
    tags: list[str] = []
    for lo in _as_list(spec.get("learningOutcome")):
        if isinstance(lo, str):
            title: str | None = normalize_text(lo)
            lo = {}
        else:
            title = _text(lo.get("title"))
            title = normalize_text(title) if title else None
        synthetic = bool(lo.get(_SYNTHETIC))
        if title and not synthetic and title not in outcomes:
            outcomes.append(title)
        for concept in _as_list(lo.get("relatedESCOSkill")):
            uri = _id(concept)
            if not uri or not is_esco_skill_uri(uri):
                continue
            if isinstance(concept, Mapping) and concept.get(_INFERRED) == "inferred":
                continue  # written by us from a matcher guess: not a provider declaration
            label = _text(concept.get("prefLabel")) if isinstance(concept, Mapping) else None
            skill = DeclaredSkill(uri=uri, label=label, outcome=None if synthetic else title)
            if all(s.uri != uri for s in skills):
                skills.append(skill)
        for concept in _as_list(lo.get("relatedSkill")):
            label = _label(concept)
            if label and label not in tags:
                tags.append(label)
    if not outcomes:
        summary = _text(spec.get("learningOutcomeSummary"))
        if summary:
            outcomes = [normalize_text(s.text) for s in split_statements(summary)]
    return outcomes, skills, tags


def _ects(spec: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """ECTS points and, when credits use another framework, a warning text."""
    other = None
    for cp in _as_list(spec.get("creditPoint")):
        if not isinstance(cp, Mapping):
            continue
        framework = cp.get("framework")
        name = (_label(framework) or "").lower()
        if _id(framework) == _ECTS_ID or "ects" in name or "european credit transfer" in name:
            return parse_float(str(cp.get("point"))), None
        other = f"credits in framework {_label(framework) or _id(framework)!r} are not ECTS"
    if spec.get("ECTSCreditPoints") is not None:  # ELM 2 spelling
        return parse_float(str(spec["ECTSCreditPoints"])), None
    return None, other


def _eqf(spec: Mapping[str, Any]) -> int | None:
    level = _first(spec.get("eqfLevel"))
    for text in (_id(level), _label(level)):
        if text and text.rstrip("/")[-1:].isdigit():
            value = int(text.rstrip("/")[-1])
            if 1 <= value <= 8:
                return value
    return None


def _all_bodies(
    claim: Mapping[str, Any] | None,
    credential: Mapping[str, Any] | None,
    spec: Mapping[str, Any],
    opportunity: Mapping[str, Any] | None,
) -> list[Mapping[str, Any]]:
    candidates: list[Any] = []
    if claim:
        for proc in _as_list(claim.get("awardedBy")):
            if isinstance(proc, Mapping):
                candidates += _as_list(proc.get("awardingBody"))
    for opp in _as_list(spec.get("awardingOpportunity")):
        if isinstance(opp, Mapping):
            candidates += _as_list(opp.get("awardingBody"))
    if opportunity:
        candidates += _as_list(opportunity.get("providedBy"))
    if not candidates and credential:
        # The issuer signs the credential; with no awarding process stated it is the awarder.
        candidates += _as_list(credential.get("issuer"))
    return [c for c in candidates if isinstance(c, Mapping)]


def _assessments(
    claim: Mapping[str, Any] | None, spec: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    nodes = _as_list(claim.get("provenBy")) if claim else []
    nodes += _as_list(spec.get("provenBy"))
    return [n for n in nodes if isinstance(n, Mapping)]


def _quality(*nodes: Mapping[str, Any] | None) -> str | None:
    found: list[str] = []
    for node in nodes:
        if not node:
            continue
        for acc in _as_list(node.get("accreditation")) + _as_list(node.get("hasAccreditation")):
            if not isinstance(acc, Mapping):
                continue
            label = _text(acc.get("title")) or _label(acc.get("dcType"))
            agent = _label(_first(acc.get("accreditingAgent")))
            text = "; ".join(t for t in (label, agent) if t) or _id(acc)
            if text and text not in found:
                found.append(text)
    return " | ".join(found) or None


def _learner(subject: Mapping[str, Any] | None) -> str | None:
    if not subject:
        return None
    full = _text(subject.get("fullName"))
    if full:
        return full
    parts = [_text(subject.get("givenName")), _text(subject.get("familyName"))]
    return " ".join(p for p in parts if p) or None


def _record(
    spec: Mapping[str, Any],
    external_id: str | None,
    *,
    claim: Mapping[str, Any] | None = None,
    credential: Mapping[str, Any] | None = None,
    subject: Mapping[str, Any] | None = None,
    opportunity: Mapping[str, Any] | None = None,
) -> Iterator[ImportItem]:
    title = _text(spec.get("title")) or (_text(claim.get("title")) if claim else None)
    if not title:
        yield ImportIssue(external_id=external_id, field="title", reason="missing title")
        return
    warnings: list[ImportIssue] = []
    bodies = _all_bodies(claim, credential, spec, opportunity)
    names = [n for n in (_label(b) for b in bodies) if n]
    country = region = None
    for body in bodies:
        country, region = _org_country_region(body)
        if country or region:
            break
    if not external_id:
        key = f"{title}\x1f{'; '.join(names)}".casefold().encode("utf-8")
        external_id = "sha256:" + hashlib.sha256(key).hexdigest()[:16]
    outcomes, skills, tags = _outcomes(spec)
    ects, ects_warning = _ects(spec)
    if ects_warning:
        warnings.append(ImportIssue(field="creditPoint", reason=ects_warning, severity="warning"))
    volume = spec.get("volumeOfLearning")
    hours = iso_duration_to_hours(volume) if isinstance(volume, str) else None
    if volume and hours is None:
        warnings.append(
            ImportIssue(
                field="volumeOfLearning",
                reason=f"volumeOfLearning {volume!r} is not a number of hours",
                severity="warning",
            )
        )
    mode_node = _first(spec.get("mode"))
    mode = parse_mode(_label(mode_node)) or parse_mode(_id(mode_node))
    languages = []
    for lang in _as_list(spec.get("language")):
        code = language_code(_id(lang)) or language_code(_label(lang))
        if code and code not in languages:
            languages.append(code)
    assessments = _assessments(claim, spec)
    assessment = next(
        (t for a in assessments for t in (_text(a.get("title")), _label(a.get("dcType"))) if t),
        None,
    )
    supervision = next((lbl for a in assessments if (lbl := _label(a.get("idVerification")))), None)
    grade = next((g for a in assessments if (g := _text(a.get("grade")))), None)
    part_of_node = _first(spec.get("isPartOf"))
    partial = spec.get("isPartialQualification")
    # Only the explicit flag sets stackability; isPartOf alone is kept in part_of.
    stackability = None
    if partial is True:
        stackability = "part-of-larger-credential"
    elif partial is False:
        stackability = "stand-alone"
    issued = None
    for value in (
        credential.get("issuanceDate") if credential else None,
        credential.get("issued") if credential else None,
        credential.get("validFrom") if credential else None,
        *(p.get("awardingDate") for p in _as_list((claim or {}).get("awardedBy"))),
        *(o.get("startedAtTime") for o in _as_list(spec.get("awardingOpportunity"))),
    ):
        issued = parse_date(value) if isinstance(value, str) else None
        if issued:
            break
    homepage = _first(spec.get("homepage"))
    url = homepage.get("contentURL") if isinstance(homepage, Mapping) else homepage
    if isinstance(url, str):
        try:
            url = check_url(url)
        except ValueError as exc:  # dropped (a javascript: link is never served), record kept
            warnings.append(ImportIssue(field="homepage", reason=str(exc), severity="warning"))
            url = None
    subjects = [lbl for t in _as_list(spec.get("thematicArea")) if (lbl := _label(t))]
    description = _text(spec.get("description")) or (
        _text(claim.get("description")) if claim else None
    )
    yield from validated_record(
        external_id,
        warnings,
        lambda: MicroCredential(
            source=SOURCE,
            external_id=external_id,
            learner=_learner(subject),
            title=normalize_text(title),
            country=country,
            region=region,
            awarding_body="; ".join(dict.fromkeys(names)) or None,
            issued_on=issued,
            learning_outcomes=outcomes,
            ects=ects,
            hours=hours,
            eqf_level=_eqf(spec),
            nqf_level="; ".join(lbl for n in _as_list(spec.get("nqfLevel")) if (lbl := _label(n)))
            or None,
            assessment_type=assessment,
            mode=mode,
            quality_assurance=_quality(spec, claim, *bodies),
            prerequisites=_text(spec.get("entryRequirement")),
            supervision_and_identity_verification=supervision,
            grade=grade,
            stackability=stackability,
            part_of=_label(part_of_node) or _id(part_of_node),
            url=url if isinstance(url, str) else None,
            languages=languages,
            provider_skill_tags=tags,
            subject="; ".join(subjects) or None,
            description=description,
            credential_type=_label(_first(spec.get("dcType"))),
            outcomes_source="learningOutcome" if outcomes else None,
            declared_skills=skills,
        ),
    )


# --- writing --------------------------------------------------------------------------------


def _lang_map(text: str) -> dict[str, str]:
    return {"en": text}


def _concept(cid: str | None, label: str, **extra: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "Concept"}
    if cid:
        node["id"] = cid
    node["prefLabel"] = _lang_map(label)
    node.update(extra)
    return node


def _skill_concept(link: SkillLink) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": link.uri,
        "type": "Concept",
        "inScheme": {"id": _ESCO_SCHEME, "type": "ConceptScheme"},
        "notation": "Skill",
    }
    if link.label:
        node["prefLabel"] = _lang_map(link.label)
    if link.source == "inferred":
        node[_INFERRED] = "inferred"
        if link.score is not None:
            node["skillpath:score"] = round(link.score, 4)
        if link.evidence:
            node["skillpath:evidence"] = link.evidence
    return node


def _organisation(name: str, record: MicroCredential, first: bool) -> dict[str, Any]:
    org: dict[str, Any] = {"type": "Organisation", "legalName": _lang_map(name)}
    if first and (record.country or record.region):
        location: dict[str, Any] = {"type": "Location"}
        if record.country:
            a3 = country_alpha3(record.country) if len(record.country) == 2 else None
            cid = f"{_COUNTRY_BASE}{a3}" if a3 else None
            location["address"] = {
                "type": "Address",
                "countryCode": _concept(cid, record.country, notation="country"),
            }
        if record.region:
            location["spatialCode"] = _concept(None, record.region)
        org["location"] = location
    return org


def _specification(record: MicroCredential, skills: Sequence[SkillLink]) -> dict[str, Any]:
    outcomes: list[dict[str, Any]] = [
        {"id": f"urn:skillpath:lo:{i + 1}", "type": "LearningOutcome", "title": _lang_map(text)}
        for i, text in enumerate(record.learning_outcomes)
    ]
    by_text = {text: lo for text, lo in zip(record.learning_outcomes, outcomes, strict=True)}
    loose: list[SkillLink] = []
    for link in export_links(record, skills):
        target = by_text.get(link.evidence or "")
        if target is None:
            loose.append(link)
            continue
        target.setdefault("relatedESCOSkill", []).append(_skill_concept(link))
    loose_tags = list(record.provider_skill_tags)
    if loose or (loose_tags and not outcomes):
        # Skills/tags not tied to a stated outcome sit on an outcome marked synthetic, which a
        # re-import does not count as a learning outcome.
        outcomes.append(
            {
                "id": "urn:skillpath:lo:general",
                "type": "LearningOutcome",
                "title": _lang_map(record.title),
                _SYNTHETIC: True,
            }
        )
    if loose:
        outcomes[-1].setdefault("relatedESCOSkill", []).extend(_skill_concept(s) for s in loose)
    if loose_tags:
        outcomes[0]["relatedSkill"] = [_concept(None, tag) for tag in loose_tags]

    spec: dict[str, Any] = {
        "id": record.external_id,
        "type": "Qualification"
        if record.eqf_level or record.nqf_level
        else ("LearningAchievementSpecification"),
        "title": _lang_map(record.title),
    }
    if record.description:
        spec["description"] = _lang_map(record.description)
    if outcomes:
        spec["learningOutcome"] = outcomes
    if record.ects is not None:
        spec["creditPoint"] = [
            {
                "type": "CreditPoint",
                "framework": _concept(_ECTS_ID, "European Credit Transfer System"),
                "point": f"{record.ects:g}",
            }
        ]
    if record.hours is not None:
        spec["volumeOfLearning"] = hours_to_iso_duration(record.hours)
    if record.eqf_level:
        spec["eqfLevel"] = _concept(f"{_EQF_BASE}{record.eqf_level}", f"Level {record.eqf_level}")
    if record.nqf_level:
        spec["nqfLevel"] = [_concept(None, n) for n in record.nqf_level.split("; ")]
    if record.mode:
        cid, label = _MODE_CONCEPTS[record.mode]
        spec["mode"] = [_concept(cid, label)]
    if record.languages:
        spec["language"] = [
            _concept(
                f"{_LANG_BASE}{a3}" if (a3 := language_alpha3(code)) else None,
                code,
                notation=code,
            )
            for code in record.languages
        ]
    if record.prerequisites:
        spec["entryRequirement"] = {"type": "Note", "noteLiteral": _lang_map(record.prerequisites)}
    if record.quality_assurance:
        spec["accreditation"] = [
            {"type": "Accreditation", "title": _lang_map(q)}
            for q in record.quality_assurance.split(" | ")
        ]
    if record.stackability == "stand-alone":
        spec["isPartialQualification"] = False
    elif record.stackability == "part-of-larger-credential":
        spec["isPartialQualification"] = True
    if record.part_of:
        spec["isPartOf"] = [{"type": "LearningAchievementSpecification",
                             "title": _lang_map(record.part_of)}]  # fmt: skip
    if record.url:
        spec["homepage"] = [{"type": "WebResource", "contentURL": record.url}]
    if record.subject:
        spec["thematicArea"] = [_concept(None, s) for s in record.subject.split("; ")]
    if record.credential_type:
        spec["dcType"] = _concept(None, record.credential_type)
    return spec


def to_elm(record: MicroCredential, skills: Sequence[SkillLink] = ()) -> dict[str, Any]:
    """Export ``record`` as ELM v3 JSON-LD.

    A catalogue offer becomes a ``LearningAchievementSpecification`` (``Qualification`` when
    it has an EQF/NQF level) whose awarding body sits in ``awardingOpportunity``. A record
    with learner, grade or identity-verification data becomes a ``EuropeanDigitalCredential``
    with the specification under ``credentialSubject.hasClaim.specifiedBy``. ``skills`` are
    added to the record's declared skills (declared URIs win) as ``relatedESCOSkill`` under
    the outcome whose text equals the link's ``evidence``. Not signed: an unsigned draft.
    """
    spec = _specification(record, skills)
    bodies = [_organisation(name, record, i == 0) for i, name in enumerate(record.awarding_bodies)]
    # NB: a country/region without a named awarding body has nowhere to go in ELM.
    assessment: dict[str, Any] = {}
    if record.assessment_type:
        assessment["title"] = _lang_map(record.assessment_type)
    is_credential = bool(
        record.learner or record.grade or record.supervision_and_identity_verification
    )
    if not is_credential:
        if assessment:
            spec["provenBy"] = [{"type": "LearningAssessmentSpecification", **assessment}]
        if bodies or record.issued_on:
            opp: dict[str, Any] = {"type": "AwardingOpportunity"}
            if bodies:
                opp["awardingBody"] = bodies
            if record.issued_on:
                opp["startedAtTime"] = f"{record.issued_on.isoformat()}T00:00:00Z"
            spec["awardingOpportunity"] = [opp]
        return {"@context": list(ELM_CONTEXT), **spec}

    spec_id = f"{record.external_id}#specification"
    spec["id"] = spec_id
    claim: dict[str, Any] = {
        "id": f"{record.external_id}#achievement",
        "type": "LearningAchievement",
        "title": _lang_map(record.title),
        "specifiedBy": spec,
    }
    if bodies:
        claim["awardedBy"] = {"type": "AwardingProcess", "awardingBody": bodies}
    if record.grade:
        assessment["grade"] = {"type": "Note", "noteLiteral": _lang_map(record.grade)}
    if record.supervision_and_identity_verification:
        assessment["idVerification"] = _concept(None, record.supervision_and_identity_verification)
    if assessment:
        claim["provenBy"] = [{"type": "LearningAssessment", **assessment}]
    subject: dict[str, Any] = {"type": "Person", "hasClaim": [claim]}
    if record.learner:
        subject["fullName"] = _lang_map(record.learner)
    credential: dict[str, Any] = {
        "@context": list(ELM_CONTEXT),
        "id": record.external_id,
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialSubject": subject,
    }
    if bodies:
        credential["issuer"] = bodies[0]
    if record.issued_on:
        credential["validFrom"] = f"{record.issued_on.isoformat()}T00:00:00Z"
    return credential
