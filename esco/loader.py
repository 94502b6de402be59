"""Read the official ESCO CSV download into plain records.

The ESCO portal ships the taxonomy as CSV files, either all in one zip or split over a
language-specific classification zip and a language-independent relations zip. File names may
carry a language suffix (``skills_en.csv``, ``occupationSkillRelations_en.csv``) or not. This
module accepts any mix of zips and folders, finds each logical file by its stem, and parses
it completely *before* anything is written anywhere, so a bad download never half-lands.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from skillpath.errors import ImportFormatError
from skillpath.esco.records import (
    BroaderRelation,
    Collection,
    EscoTaxonomy,
    IscoGroup,
    Occupation,
    OccupationSkill,
    Skill,
    SkillGroup,
    SkillSkillRelation,
)

csv.field_size_limit(sys.maxsize)

_SUFFIX = re.compile(r"_(?P<lang>[a-z]{2,3}(?:-[A-Za-z]+)?)$")
_VERSION = re.compile(r"v(\d+(?:\.\d+)+)")


class EscoFormatError(ImportFormatError):
    """A file of the download is missing, unreadable or lacks a column.

    The message names the file (and line/column where known) so the user can fix the download.
    """


@dataclass(frozen=True)
class _Source:
    """One CSV file inside a zip or a folder."""

    container: Path
    name: str  # file name inside the container
    read_bytes: Callable[[], bytes]

    @property
    def where(self) -> str:
        return f"{self.container}:{self.name}" if self.container.suffix == ".zip" else self.name


@dataclass
class _Files:
    by_stem: dict[str, _Source] = field(default_factory=dict)
    languages: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)  # type: ignore[name-defined]


def _stem(file_name: str) -> tuple[str, str | None]:
    """``skills_en.csv`` → (``skills``, ``en``); ``occupationSkillRelations.csv`` → (…, None)."""
    stem = Path(file_name).stem
    match = _SUFFIX.search(stem)
    if match:
        return stem[: match.start()], match.group("lang")
    return stem, None


def _discover(paths: list[Path]) -> _Files:
    files = _Files()
    if not paths:
        raise EscoFormatError("no ESCO path given: pass the ESCO CSV download (zip or folder)")
    for path in paths:
        if not path.exists():
            raise EscoFormatError(
                f"{path}: no such file or folder (expected the ESCO CSV download)"
            )
        version = _VERSION.search(path.name)
        if version:
            files.versions.add(version.group(1))
        if path.is_dir():
            members = sorted(p for p in path.rglob("*.csv") if p.is_file())
            zips = sorted(p for p in path.glob("*.zip") if p.is_file())
            for zip_path in zips:
                _add_zip(files, zip_path)
            for member in members:
                _add(files, path, str(member.relative_to(path)), member.read_bytes)
        elif path.suffix.lower() == ".zip":
            _add_zip(files, path)
        elif path.suffix.lower() == ".csv":
            _add(files, path.parent, path.name, path.read_bytes)
        else:
            raise EscoFormatError(f"{path}: not a zip, a folder or a .csv file")
    return files


def _add_zip(files: _Files, zip_path: Path) -> None:
    version = _VERSION.search(zip_path.name)
    if version:
        files.versions.add(version.group(1))
    try:
        archive = zipfile.ZipFile(zip_path)
        bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise EscoFormatError(f"{zip_path}: not a readable zip ({exc}); download it again") from exc
    if bad is not None:
        raise EscoFormatError(f"{zip_path}: member {bad} is corrupt (CRC mismatch); download again")
    for info in archive.infolist():
        if info.is_dir() or not info.filename.lower().endswith(".csv"):
            continue
        _add(files, zip_path, info.filename, lambda a=archive, n=info.filename: a.read(n))


def _add(files: _Files, container: Path, name: str, read: Callable[[], bytes]) -> None:
    stem, lang = _stem(Path(name).name)
    if lang:
        files.languages.add(lang)
    if stem in files.by_stem:
        # Same logical file twice (e.g. a folder holding both the zip and its extract): keep one.
        return
    files.by_stem[stem] = _Source(container, name, read)


def _rows(files: _Files, stem: str, required: tuple[str, ...], optional: bool = False):
    """Yield (line, row) for a logical file, checking its columns first."""
    source = files.by_stem.get(stem)
    if source is None:
        if optional:
            return iter(())
        raise EscoFormatError(
            f"ESCO file {stem}.csv (or {stem}_<lang>.csv) not found in the given path(s); "
            "pass both the classification and the relations download"
        )
    data = source.read_bytes()
    files.digest.update(stem.encode())
    files.digest.update(hashlib.sha256(data).digest())
    return _parse(source.where, data, required)


def _parse(where: str, data: bytes, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    if not data.strip():
        raise EscoFormatError(f"{where}: file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EscoFormatError(
            f"{where}, line {line}: not UTF-8 (byte {data[exc.start]:#x} at offset {exc.start})"
        ) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [column for column in required if column not in header]
    if missing:
        raise EscoFormatError(
            f"{where}: missing column(s) {', '.join(missing)} (found: {', '.join(header)})"
        )
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise EscoFormatError(f"{where}, line {reader.line_num}: {exc}") from exc


def _labels(value: str | None) -> list[str]:
    """Alt/hidden labels are newline-separated inside one field (collections use `` | ``)."""
    if not value:
        return []
    parts = re.split(r"\n| \| ", value)
    seen: dict[str, None] = {}
    for part in parts:
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def _uris(value: str | None) -> list[str]:
    return [u.strip() for u in re.split(r"[\n,|]", value or "") if u.strip()]


def _none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def load_esco(paths: list[Path] | Path, version: str | None = None) -> EscoTaxonomy:
    """Parse an ESCO CSV download (zips and/or folders) into an :class:`EscoTaxonomy`.

    Raises :class:`EscoFormatError` naming the file, line and column on any problem.
    """
    paths = [paths] if isinstance(paths, Path) else [Path(p) for p in paths]
    files = _discover(paths)

    skills = [
        Skill(
            uri=row["conceptUri"].strip(),
            preferred_label=row["preferredLabel"].strip(),
            alt_labels=_labels(row.get("altLabels")),
            hidden_labels=_labels(row.get("hiddenLabels")),
            description=_none(row.get("description")),
            skill_type=_none(row.get("skillType")),
            reuse_level=_none(row.get("reuseLevel")),
            status=_none(row.get("status")),
        )
        for _, row in _rows(files, "skills", ("conceptUri", "preferredLabel", "altLabels"))
    ]
    occupations = [
        Occupation(
            uri=row["conceptUri"].strip(),
            preferred_label=row["preferredLabel"].strip(),
            alt_labels=_labels(row.get("altLabels")),
            hidden_labels=_labels(row.get("hiddenLabels")),
            isco_group=_none(row.get("iscoGroup")),
            code=_none(row.get("code")),
            description=_none(row.get("description")),
        )
        for _, row in _rows(
            files, "occupations", ("conceptUri", "preferredLabel", "altLabels", "iscoGroup")
        )
    ]
    occupation_skills = [
        OccupationSkill(
            occupation_uri=row["occupationUri"].strip(),
            skill_uri=row["skillUri"].strip(),
            relation=row["relationType"].strip(),
            line=line,
        )
        for line, row in _rows(
            files, "occupationSkillRelations", ("occupationUri", "relationType", "skillUri")
        )
    ]
    skill_relations = [
        SkillSkillRelation(
            original_uri=row["originalSkillUri"].strip(),
            related_uri=row["relatedSkillUri"].strip(),
            relation=row["relationType"].strip(),
            line=line,
        )
        for line, row in _rows(
            files,
            "skillSkillRelations",
            ("originalSkillUri", "relationType", "relatedSkillUri"),
            optional=True,
        )
    ]
    isco_groups = [
        IscoGroup(
            uri=row["conceptUri"].strip(),
            code=row["code"].strip(),
            preferred_label=row["preferredLabel"].strip(),
            description=_none(row.get("description")),
        )
        for _, row in _rows(
            files, "ISCOGroups", ("conceptUri", "code", "preferredLabel"), optional=True
        )
    ]
    skill_groups = [
        SkillGroup(
            uri=row["conceptUri"].strip(),
            preferred_label=row["preferredLabel"].strip(),
            code=_none(row.get("code")),
            description=_none(row.get("description")),
        )
        for _, row in _rows(files, "skillGroups", ("conceptUri", "preferredLabel"), optional=True)
    ]
    broader: list[BroaderRelation] = []
    for stem, pillar in (
        ("broaderRelationsSkillPillar", "skill"),
        ("broaderRelationsOccPillar", "occupation"),
    ):
        columns = ("conceptType", "conceptUri", "broaderType", "broaderUri")
        broader.extend(
            BroaderRelation(
                concept_uri=row["conceptUri"].strip(),
                concept_type=row["conceptType"].strip(),
                broader_uri=row["broaderUri"].strip(),
                broader_type=row["broaderType"].strip(),
                pillar=pillar,
                line=line,
            )
            for line, row in _rows(files, stem, columns, optional=True)
        )
    collections: list[Collection] = []
    for stem in sorted(files.by_stem):
        if not stem.endswith("Collection"):
            continue
        name = stem.removesuffix("Collection")
        members = [row["conceptUri"].strip() for _, row in _rows(files, stem, ("conceptUri",))]
        collections.append(Collection(name=name, member_uris=members))

    languages = sorted(files.languages)
    return EscoTaxonomy(
        version=version or (sorted(files.versions)[-1] if files.versions else "unknown"),
        language=languages[0] if len(languages) == 1 else ",".join(languages) or "unknown",
        content_hash=files.digest.hexdigest(),
        skills=skills,
        occupations=occupations,
        occupation_skills=occupation_skills,
        skill_relations=skill_relations,
        isco_groups=isco_groups,
        skill_groups=skill_groups,
        broader=broader,
        collections=collections,
    )
