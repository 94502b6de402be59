"""1EdTech Open Badges 3.0 import and export.

OB3 carries fewer Annex I elements than ELM; the mapping is:

* ``name`` -> title, ``description`` -> description, ``achievementType`` -> credential_type
  (an ``ext:`` prefix is dropped), ``fieldOfStudy`` -> subject, ``inLanguage`` -> languages;
* ``criteria.narrative`` (and ``resultDescription[].name``) -> learning outcomes, split with
  :func:`split_statements`;
* ``alignment[]`` whose ``targetUrl`` is an ESCO skill -> declared skills (``targetName`` as
  label); other alignments and ``tag[]`` -> provider skill tags;
* ``creator`` (else the credential ``issuer``) -> awarding body, its address -> country/region;
* ``creditsAvailable`` is "credit hours or units" in an unnamed system, so it becomes ``ects``
  only when the achievement says the credits are ECTS (a ``tag`` "ECTS"); otherwise it is left
  out with a warning. It is never turned into hours (a credit hour is not a clock hour).
* for an ``OpenBadgeCredential``/``AchievementCredential``: ``validFrom``/``issuanceDate`` ->
  issued_on, a plain-text ``identifier`` of type ``name`` -> learner, ``result[0].value`` ->
  grade; the credential ``id`` is the external id.

Not carried by OB3 (so not round-tripped): hours, EQF/NQF level, mode, quality assurance,
price, and any language after the first.
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
    country_code,
    language_code,
    parse_country,
    parse_date,
)
from skillpath.engine.catalogue.records import DeclaredSkill as _Declared
from skillpath.engine.catalogue.records import (
    ImportIssue,
    ImportItem,
    MicroCredential,
    SkillLink,
    is_esco_skill_uri,
)
from skillpath.engine.statements import normalize_text, split_statements

__all__ = ["OB3_CONTEXT", "read_ob3", "to_ob3"]

OB3_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
SOURCE = "ob3"
_CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential", "VerifiableCredential"}
# achievementType values defined by OB 3.0; anything else is written with an "ext:" prefix.
_ACHIEVEMENT_TYPES = frozenset(
    [
        "Achievement",
        "ApprenticeshipCertificate",
        "Assessment",
        "Assignment",
        "AssociateDegree",
        "Award",
        "Badge",
        "BachelorDegree",
        "Certificate",
        "CertificateOfCompletion",
        "Certification",
        "CommunityService",
        "Competency",
        "Course",
        "CoCurricular",
        "Degree",
        "Diploma",
        "DoctoralDegree",
        "Fieldwork",
        "GeneralEducationDevelopment",
        "JourneymanCertificate",
        "LearningProgram",
        "License",
        "Membership",
        "ProfessionalDoctorate",
        "QualityAssuranceCredential",
        "MasterCertificate",
        "MasterDegree",
        "MicroCredential",
        "ResearchDoctorate",
        "SecondarySchoolDiploma",
    ]
)
_INFERRED = "skillpath:linkSource"
_ECTS_TAG = "ects"


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping):  # a language-tagged value or a Profile
        return _str(value.get("@value") or value.get("name"))
    if isinstance(value, list):
        return next((s for v in value if (s := _str(v))), None)
    return None


def read_ob3(source: str | Path | Mapping[str, Any] | Sequence[Any]) -> Iterator[ImportItem]:
    """Yield a :class:`MicroCredential` per Achievement / badge credential in ``source``.

    Accepts an ``Achievement``, an ``OpenBadgeCredential``/``AchievementCredential`` (its
    ``credentialSubject.achievement``), or a list of them, as an object, JSON text or a path.
    Odd shapes become :class:`ImportIssue` items, never exceptions.
    """
    return read_objects(source, _read_node)


def _read_node(node: Mapping[str, Any], index: int) -> Iterator[ImportItem]:
    types = _types(node)
    if types & _CREDENTIAL_TYPES or "credentialSubject" in node:
        subject = next(iter(_as_list(node.get("credentialSubject"))), None)
        achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
        if isinstance(achievement, list):
            achievement = achievement[0] if achievement else None
        if not isinstance(achievement, Mapping):
            yield ImportIssue(
                external_id=_str(node.get("id")),
                field="credentialSubject.achievement",
                reason="badge credential without an achievement",
            )
            return
        yield from _record(achievement, credential=node, subject=subject)
    elif "Achievement" in types or ("name" in node and "criteria" in node):
        yield from _record(node)
    else:
        kind = ", ".join(sorted(types)) or "untyped object"
        yield ImportIssue(
            external_id=_str(node.get("id")), reason=f"unsupported OB3 object: {kind}"
        )


def _learner(subject: Mapping[str, Any] | None) -> str | None:
    if not subject:
        return None
    for ident in _as_list(subject.get("identifier")):
        if (
            isinstance(ident, Mapping)
            and ident.get("identityType") == "name"
            and ident.get("hashed") is False
        ):
            return _str(ident.get("identityHash"))
    return _str(subject.get("name"))


def _profile_place(profile: Any) -> tuple[str | None, str | None]:
    if not isinstance(profile, Mapping):
        return None, None
    addr = profile.get("address")
    if not isinstance(addr, Mapping):
        return None, None
    country = country_code(_str(addr.get("addressCountryCode"))) or parse_country(
        _str(addr.get("addressCountry"))
    )
    return country, _str(addr.get("addressRegion"))


def _record(
    ach: Mapping[str, Any],
    *,
    credential: Mapping[str, Any] | None = None,
    subject: Mapping[str, Any] | None = None,
) -> Iterator[ImportItem]:
    title = _str(ach.get("name"))
    external_id = _str((credential or ach).get("id")) or _str(ach.get("humanCode"))
    if not title:
        yield ImportIssue(external_id=external_id, field="name", reason="achievement without name")
        return
    creator = ach.get("creator") or (credential or {}).get("issuer")
    body = _str(creator) if not isinstance(creator, str) else None
    if not external_id:
        key = f"{title}\x1f{body or ''}".casefold().encode("utf-8")
        external_id = "sha256:" + hashlib.sha256(key).hexdigest()[:16]
    warnings: list[ImportIssue] = []

    outcomes: list[str] = []
    criteria = ach.get("criteria")
    narrative = _str(criteria.get("narrative")) if isinstance(criteria, Mapping) else _str(criteria)
    texts = [narrative] if narrative else []
    texts += [
        n
        for rd in _as_list(ach.get("resultDescription"))
        if isinstance(rd, Mapping) and (n := _str(rd.get("name")))
    ]
    for text in texts:
        for st in split_statements(text):
            clean = normalize_text(st.text)
            if clean not in outcomes:
                outcomes.append(clean)

    skills: list[_Declared] = []
    tags: list[str] = []
    for al in _as_list(ach.get("alignment")):
        if not isinstance(al, Mapping):
            continue
        url = _str(al.get("targetUrl"))
        name = _str(al.get("targetName"))
        if is_esco_skill_uri(url):
            assert url is not None
            if al.get(_INFERRED) != "inferred" and all(s.uri != url for s in skills):
                skills.append(_Declared(uri=url, label=name))
        elif (label := name or _str(al.get("targetCode"))) and label not in tags:
            tags.append(label)
    raw_tags = [t for t in (_str(t) for t in _as_list(ach.get("tag"))) if t]
    ects_stated = any(t.casefold() == _ECTS_TAG for t in raw_tags)
    tags += [t for t in raw_tags if t.casefold() != _ECTS_TAG and t not in tags]

    ects = None
    credits = ach.get("creditsAvailable")
    if isinstance(credits, int | float) and not isinstance(credits, bool):
        if ects_stated:
            ects = float(credits)
        else:
            warnings.append(
                ImportIssue(
                    field="creditsAvailable",
                    reason=f"creditsAvailable {credits} not mapped: credit system not stated "
                    "as ECTS",
                    severity="warning",
                )
            )

    languages: list[str] = []
    for lang in _as_list(ach.get("inLanguage")):
        code = language_code((_str(lang) or "").split("-")[0])
        if code and code not in languages:
            languages.append(code)
    country, region = _profile_place(creator)
    if not (country or region) and credential and creator is not credential.get("issuer"):
        country, region = _profile_place(credential.get("issuer"))
    kind = _str(ach.get("achievementType"))
    if kind and kind.startswith("ext:"):
        kind = kind[4:]
    issued = None
    if credential:
        for key in ("validFrom", "issuanceDate", "awardedDate"):
            issued = parse_date(_str(credential.get(key)))
            if issued:
                break
    grade = None
    for res in _as_list((subject or {}).get("result")):
        if isinstance(res, Mapping) and (grade := _str(res.get("value"))):
            break
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
            awarding_body=body,
            issued_on=issued,
            learning_outcomes=outcomes,
            ects=ects,
            grade=grade,
            languages=languages,
            provider_skill_tags=tags,
            subject=_str(ach.get("fieldOfStudy")),
            description=_str(ach.get("description")),
            credential_type=kind,
            outcomes_source="criteria.narrative" if outcomes else None,
            declared_skills=skills,
        ),
    )


# --- writing --------------------------------------------------------------------------------


def _uri(value: str, kind: str) -> str:
    """OB3 ids must be URIs: keep one that already is, else mint a urn."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value):
        return value
    return f"urn:skillpath:{kind}:{value}"


def _profile(record: MicroCredential) -> dict[str, Any] | None:
    if not record.awarding_body:
        return None
    slug = re.sub(r"[^a-z0-9]+", "-", record.awarding_body.casefold()).strip("-")
    profile: dict[str, Any] = {
        "id": f"urn:skillpath:org:{slug}",
        "type": ["Profile"],
        "name": record.awarding_body,
    }
    if record.country or record.region:
        address: dict[str, Any] = {"type": ["Address"]}
        if record.country and len(record.country) == 2 and record.country.isupper():
            address["addressCountryCode"] = record.country
        elif record.country:
            address["addressCountry"] = record.country
        if record.region:
            address["addressRegion"] = record.region
        profile["address"] = address
    return profile


def _alignment(link: SkillLink) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": link.label or link.uri,
        "targetUrl": link.uri,
        "targetType": "ext:ESCOSkill",
        "targetFramework": "ESCO",
    }
    if link.source == "inferred":
        node[_INFERRED] = "inferred"
        if link.score is not None:
            node["skillpath:score"] = round(link.score, 4)
        if link.evidence:
            node["targetDescription"] = f"Inferred from: {link.evidence}"
    return node


def to_ob3(record: MicroCredential, skills: Sequence[SkillLink] = ()) -> dict[str, Any]:
    """Export ``record`` as an OB3 ``Achievement`` (or an ``OpenBadgeCredential`` wrapping
    one when the record names a learner or a grade).

    Learning outcomes become a bulleted ``criteria.narrative``; ESCO skills (the record's
    declared ones plus ``skills``; declared URIs win) become ``alignment[]`` entries with
    ``targetType`` "ext:ESCOSkill"; inferred links are marked so a re-import skips them.
    OB3 requires ``description``: a record without one is exported with its title there.
    """
    links = export_links(record, skills)
    achievement: dict[str, Any] = {
        "id": _uri(record.external_id, "achievement"),
        "type": ["Achievement"],
        "name": record.title,
        "description": record.description or record.title,
        "criteria": {"narrative": "\n".join(f"- {o}" for o in record.learning_outcomes)},
    }
    if record.credential_type:
        kind = record.credential_type
        achievement["achievementType"] = kind if kind in _ACHIEVEMENT_TYPES else f"ext:{kind}"
    profile = _profile(record)
    if profile:
        achievement["creator"] = profile
    tags = list(record.provider_skill_tags)
    if record.ects is not None:
        achievement["creditsAvailable"] = record.ects
        tags.append("ECTS")
    if tags:
        achievement["tag"] = tags
    if record.languages:
        achievement["inLanguage"] = record.languages[0]
    if record.subject:
        achievement["fieldOfStudy"] = record.subject
    if links:
        achievement["alignment"] = [_alignment(link) for link in links]

    if not (record.learner or record.grade):
        return {"@context": list(OB3_CONTEXT), **achievement}
    subject: dict[str, Any] = {"type": ["AchievementSubject"], "achievement": achievement}
    if record.learner:
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityHash": record.learner,
                "identityType": "name",
                "hashed": False,
                "salt": "",
            }
        ]
    if record.grade:
        subject["result"] = [{"type": ["Result"], "value": record.grade}]
    credential: dict[str, Any] = {
        "@context": list(OB3_CONTEXT),
        "id": _uri(record.external_id, "credential"),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": record.title,
        "credentialSubject": subject,
    }
    if profile:
        credential["issuer"] = profile
    if record.issued_on:
        credential["validFrom"] = f"{record.issued_on.isoformat()}T00:00:00Z"
    return credential
