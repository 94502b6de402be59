"""Target resolution: a typed job title (in any EU language), a label or a URI → an ESCO
occupation, with an honest confidence and alternatives.

The facade (:meth:`skillpath.engine.service.Skillpath.resolve_target`) stays a thin call
into :func:`resolve_target`; the ranking itself is :class:`~skillpath.engine.matching.
OccupationMatcher`'s. Why a separate step: a title that ESCO gives to several occupations
("paralegal", "nutritionist") or that the matcher cannot tell apart must not resolve
silently to one, because the whole recommendation list follows the target.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from skillpath.engine.matching import OccupationMatcher, TitleModel, clean_query
from skillpath.engine.recommendation import OccupationChoice, TargetResolution
from skillpath.esco.records import Occupation
from skillpath.models.adapter import ARTIFACTS

TITLE_PARTNER = "e5"
"""The multilingual encoder whose occupation index backs every title query (ESCO labels stay
English; e5 matches a German or Polish title against them)."""


def title_model_path(name: str) -> Path:
    return ARTIFACTS / f"titles-{name}.npz"


def load_title_model(name: str) -> TitleModel | None:
    """The learned title model for an encoder pair (e.g. ``minilm+e5``), if one is shipped."""
    path = title_model_path(name)
    if not path.exists():
        return None
    return TitleModel.load(path)


def resolve_target(
    matcher: OccupationMatcher,
    target: str,
    by_uri: Callable[[str], Occupation],
    by_label: Callable[[str], list[Occupation]],
    min_score: float,
    alternatives: int = 5,
) -> TargetResolution:
    """An occupation URI, an exact label, or a free title normalised by the matcher.

    * a URI resolves to itself;
    * a label that exactly one occupation carries, or the preferred label of one, resolves
      to it, confidently;
    * a label several occupations carry ("paralegal") is **ambiguous**: the best-ranked of
      them is chosen, and the others are listed first among the alternatives;
    * a free title is ranked; with the learned model its calibrated probability of being
      right decides ``confident`` (below the model's ``confident_at`` it is ambiguous),
      without it the top score against ``min_score``.
    """
    ref = clean_query(target, "target")
    if ref.startswith("http"):
        occupation = by_uri(ref)
        return TargetResolution(
            occupation_uri=occupation.uri,
            occupation_label=occupation.preferred_label,
            matched_by="uri",
            score=1.0,
            confident=True,
        )
    ranking = matcher.rank_batch([ref])[0]
    hits = ranking.hits(alternatives + 1 + 10)
    confidence = matcher.confidence(ranking)
    exact = by_label(ref)
    preferred = [o for o in exact if o.preferred_label.casefold() == ref.casefold()]
    if len(preferred) == 1:  # "electrician": the occupation named so, though others list it
        exact = preferred
    if len(exact) == 1 and exact[0].preferred_label.casefold() != ref.casefold():
        # An alternative label of one occupation that other occupations' labels refine
        # ("nutritionist": weight loss consultant, but also "animal feed nutritionist"):
        # a guess, so say so and offer the others.
        wider = [
            i for i in matcher.label_containing(ref) if matcher.occupations[i].uri != exact[0].uri
        ]
        if wider:
            chosen = exact[0]
            others = [matcher.occupations[i] for i in wider]
            return TargetResolution(
                occupation_uri=chosen.uri,
                occupation_label=chosen.preferred_label,
                matched_by="label",
                score=1.0,
                confident=False,
                ambiguous=True,
                language=confidence.language,
                probability=round(confidence.probability, 4),
                alternatives=[
                    OccupationChoice(uri=o.uri, label=o.preferred_label, score=1.0)
                    for o in others[:alternatives]
                ],
                note=f"{ref!r} is a label of {chosen.preferred_label!r} but also part of "
                f"{len(others)} other occupations' labels: check the alternatives",
            )
    if len(exact) == 1:
        chosen = exact[0]
        return TargetResolution(
            occupation_uri=chosen.uri,
            occupation_label=chosen.preferred_label,
            matched_by="label",
            score=1.0,
            confident=True,
            language=confidence.language,
            alternatives=[
                OccupationChoice(uri=h.uri, label=h.label, score=h.score)
                for h in hits
                if h.uri != chosen.uri
            ][:alternatives],
        )
    if len(exact) > 1:
        owners = {o.uri for o in exact}
        # The matcher's order among the occupations sharing the label, then the rest.
        ordered = [h for h in ranking.hits(len(ranking)) if h.uri in owners]
        best = ordered[0]
        rest = [h for h in hits if h.uri not in owners]
        choices = [OccupationChoice(uri=h.uri, label=h.label, score=h.score) for h in ordered[1:]]
        choices += [OccupationChoice(uri=h.uri, label=h.label, score=h.score) for h in rest]
        return TargetResolution(
            occupation_uri=best.uri,
            occupation_label=best.label,
            matched_by="label",
            score=best.score,
            confident=False,
            ambiguous=True,
            language=confidence.language,
            probability=round(1.0 / len(owners), 4),
            alternatives=choices[: max(alternatives, len(owners) - 1)],
            note=f"{ref!r} is a label of {len(owners)} ESCO occupations; chose "
            f"{best.label!r}: check the alternatives",
        )
    best = hits[0]
    if matcher.learned:
        confident = confidence.probability >= matcher.model.confident_at  # type: ignore[union-attr]
    else:
        confident = best.score >= min_score
    note = None
    if not confident:
        note = (
            f"{ref!r} is ambiguous: best match {best.label!r} "
            f"(probability {confidence.probability:.2f}); check the alternatives"
        )
    return TargetResolution(
        occupation_uri=best.uri,
        occupation_label=best.label,
        matched_by="search",
        score=best.score,
        confident=confident,
        ambiguous=not confident,
        language=confidence.language,
        probability=round(confidence.probability, 4),
        alternatives=[OccupationChoice(uri=h.uri, label=h.label, score=h.score) for h in hits[1:]][
            :alternatives
        ],
        note=note,
    )
