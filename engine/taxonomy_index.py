"""Build the ESCO skill and occupation indexes from the store.

Skill bundle: ``labels`` (one vector per preferred/alternative label, owned by the skill) and
``descriptions`` (one vector per skill: label + description). Occupation bundle: ``labels``
(preferred + alternative labels). Texts go through the embedding cache, so a rebuild after an
unrelated change re-encodes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skillpath.engine.embeddings import EmbeddingCache, ProgressFactory
from skillpath.engine.index import IndexBundle, VectorIndex
from skillpath.esco.records import Occupation, Skill
from skillpath.esco.store import Store
from skillpath.models.encoder import Encoder

SKILL_BUNDLE = "esco-skills"
OCCUPATION_BUNDLE = "esco-occupations"


def skill_description_text(skill: Skill) -> str:
    """The text embedded for a skill's description vector: label, then description."""
    if skill.description:
        return f"{skill.preferred_label}: {skill.description.strip()}"
    return skill.preferred_label


@dataclass
class LabelTable:
    """Label variants flattened for encoding: texts[i] belongs to entity owners[i]."""

    texts: list[str]
    owners: np.ndarray


def label_table(entities: list[Skill] | list[Occupation]) -> LabelTable:
    texts: list[str] = []
    owners: list[int] = []
    for position, entity in enumerate(entities):
        for label in entity.label_variants:
            texts.append(label)
            owners.append(position)
    return LabelTable(texts, np.asarray(owners, dtype=np.int64))


def esco_expectation(store: Store, encoder: Encoder) -> dict[str, str]:
    """What a usable ESCO index must have been built with."""
    store.require_esco()
    return {
        "encoder": encoder.fingerprint,
        "esco_version": store.esco_version or "unknown",
        "esco_content_hash": store.esco_content_hash or "",
    }


def build_skill_bundle(
    skills: list[Skill],
    encoder: Encoder,
    cache: EmbeddingCache,
    batch_size: int = 64,
    progress: ProgressFactory | None = None,
) -> IndexBundle:
    labels = label_table(skills)
    label_vectors = cache.encode(
        encoder, labels.texts, "document", batch_size, progress, "skill labels"
    )
    descriptions = [skill_description_text(s) for s in skills]
    description_vectors = cache.encode(
        encoder, descriptions, "document", batch_size, progress, "skill descriptions"
    )
    return IndexBundle(
        name=SKILL_BUNDLE,
        indexes={
            "labels": VectorIndex.from_vectors(label_vectors, labels.owners),
            "descriptions": VectorIndex.from_vectors(
                description_vectors, np.arange(len(skills), dtype=np.int64)
            ),
        },
    )


def build_occupation_bundle(
    occupations: list[Occupation],
    encoder: Encoder,
    cache: EmbeddingCache,
    batch_size: int = 64,
    progress: ProgressFactory | None = None,
) -> IndexBundle:
    labels = label_table(occupations)
    vectors = cache.encode(
        encoder, labels.texts, "document", batch_size, progress, "occupation labels"
    )
    return IndexBundle(
        name=OCCUPATION_BUNDLE,
        indexes={"labels": VectorIndex.from_vectors(vectors, labels.owners)},
    )
