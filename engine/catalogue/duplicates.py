"""Which stored credentials are the same course: pure grouping, records in, groups out.

Two sources may list one course (886 Coursera URLs are in both Coursera files), and a
provider may publish one course in several languages. A learner should see it once, with
its sources merged, while every source id stays valid (a judgment, a bookmark or a completed
credential names one of them). Two records are the same course when

* their URLs are equal once normalised (scheme, ``www.``, letter case, query string,
  fragment, trailing slash and a leading language path segment such as ``/es/`` removed), or
* their titles and providers are equal once case-folded and stripped of punctuation and
  their languages differ (the language copies of one course; a record without a provider or
  a language never matches this way, and two same-language courses that share a generic
  title such as "Capstone Project" stay apart).

Groups are the connected components of those two relations (a union-find). Each group's
canonical id is the copy a learner is best served by: English first, then the one with the
most text, then the smallest id, so the choice is deterministic.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_LANG_SEGMENT = re.compile(r"^/[a-z]{2}(?:-[a-z]{2})?(?=/)")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class DuplicateKeys:
    """What grouping reads of one credential."""

    id: str
    url: str | None
    title: str
    provider: str | None
    languages: tuple[str, ...] = ()
    text_length: int = 0


def normalise_url(url: str | None) -> str | None:
    """A URL reduced to what names the course; None for an empty or host-less URL."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip().lower())
    host = parts.netloc.removeprefix("www.")
    if not host:
        return None
    path = _LANG_SEGMENT.sub("", parts.path).rstrip("/")
    return f"{host}{path}"


def normalise_text(text: str | None) -> str:
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(_NON_WORD.sub(" ", folded).split())


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _preference(keys: DuplicateKeys) -> tuple:
    english = any(lang.lower().startswith("en") for lang in keys.languages)
    return (not english, -keys.text_length, keys.id)


def duplicate_groups(records: Iterable[DuplicateKeys]) -> dict[str, tuple[str, ...]]:
    """canonical id → every id of its group (canonical first), for groups of two or more."""
    uf = _UnionFind()
    by_url: dict[str, str] = {}
    by_title: dict[str, list[DuplicateKeys]] = {}
    keys: dict[str, DuplicateKeys] = {}
    for record in records:
        keys[record.id] = record
        uf.find(record.id)
        url = normalise_url(record.url)
        if url:
            first = by_url.setdefault(url, record.id)
            if first != record.id:
                uf.union(first, record.id)
        title, provider = normalise_text(record.title), normalise_text(record.provider)
        languages = {lang.lower()[:2] for lang in record.languages if lang}
        if title and provider and languages:
            key = f"{title}\x00{provider}"
            for other in by_title.get(key, []):
                if {lang.lower()[:2] for lang in other.languages} != languages:
                    uf.union(other.id, record.id)
            by_title.setdefault(key, []).append(record)
    members: dict[str, list[str]] = {}
    for cid in keys:
        members.setdefault(uf.find(cid), []).append(cid)
    out: dict[str, tuple[str, ...]] = {}
    for ids in members.values():
        if len(ids) < 2:
            continue
        ordered = sorted(ids, key=lambda i: _preference(keys[i]))
        out[ordered[0]] = tuple(ordered)
    return out


def canonical_ids(groups: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """id → canonical id for every member of every group (canonical ids map to themselves)."""
    return {member: canonical for canonical, ids in groups.items() for member in ids}
