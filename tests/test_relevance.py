"""The relevance ranking: hierarchy partial credit, diversity, determinism, explanations, and
that it beats the coverage ranking on a real judged case (real ESCO, catalogue, encoder)."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from skillpath.engine.gap import TargetSkill, compute_gap
from skillpath.engine.ranking import Candidate, SkillLink, coverage
from skillpath.engine.relevance import (
    RelevanceFeatures,
    RelevanceWeights,
    diversify,
    hierarchy_neighbours,
    merge_neighbours,
    normalised_title,
    rank_by_relevance,
    relevance_score,
)

SQL = "http://data.europa.eu/esco/skill/598de5b0-5b58-4ea7-8058-a4bc4d18c742"
QUERY_LANGUAGES = "http://data.europa.eu/esco/skill/9cf681c7-89ec-470c-b651-7fe03786f586"


def _unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


# --- hierarchy partial credit (real ESCO hierarchy) -------------------------------------------


def test_sql_course_partially_covers_query_languages(engine):
    below = dict(engine.store.narrower_closure(QUERY_LANGUAGES, 2))
    assert below.get(SQL) == 1  # SQL sits directly under "query languages" in ESCO
    gap = compute_gap(
        "o:da", "data analyst", [TargetSkill(uri=QUERY_LANGUAGES, label="query languages")], []
    )
    course = Candidate(
        id="c:sql",
        title="SQL for Data Science",
        links=[SkillLink(uri=SQL, strength=1.0, evidence="Write SQL queries", label="SQL")],
    )
    assert coverage(course, gap, {}) == {}  # URI overlap alone: no credit at all
    neighbours = hierarchy_neighbours(
        [QUERY_LANGUAGES], {QUERY_LANGUAGES: list(below.items())}, taught=[SQL], decay=0.5
    )
    covered = coverage(course, gap, neighbours)[QUERY_LANGUAGES]
    assert 0.0 < covered.amount < 1.0 and covered.amount == pytest.approx(0.5)
    assert covered.via_skill == SQL
    # A skill two levels down earns less than a direct child.
    two = hierarchy_neighbours(["g"], {"g": [("a", 1), ("b", 2)]}, ["a", "b"], 0.5)
    assert dict(two["g"]) == {"a": 0.5, "b": 0.25}
    # merging keeps the best similarity per pair
    merged = merge_neighbours({"g": [("a", 0.9)]}, two)
    assert dict(merged["g"]) == {"a": 0.9, "b": 0.25}


# --- pure ranking properties --------------------------------------------------------------


def _toy():
    gap = compute_gap(
        "o:da",
        "data analyst",
        [TargetSkill(uri="s:sql", label="SQL"), TargetSkill(uri="s:stats", label="statistics")],
        [],
    )
    cands, feats, vecs = [], {}, {}
    for i in range(12):
        cid = f"c:{i:02d}"
        links = [SkillLink(uri="s:sql", strength=0.8, evidence="SQL")] if i % 3 == 0 else []
        cands.append(Candidate(id=cid, title=f"Course {i}", links=links, languages=["en"]))
        feats[cid] = RelevanceFeatures(title=0.3 + 0.05 * (i % 5), occupation=0.4, bm25=0.1)
        vecs[cid] = _unit(1.0, i % 4, 0.5)
    return gap, cands, feats, vecs


def test_relevance_ranking_is_deterministic_and_breaks_ties_by_id():
    gap, cands, feats, vecs = _toy()
    first = rank_by_relevance(gap, cands, feats, vecs, k=8).model_dump()
    for seed in range(3):
        shuffled = cands[:]
        random.Random(seed).shuffle(shuffled)
        assert rank_by_relevance(gap, shuffled, feats, vecs, k=8).model_dump() == first
    # equal scores, orthogonal vectors: smaller id first
    same = RelevanceFeatures(title=0.5)
    tie = diversify(
        [("b", relevance_score(same, RelevanceWeights())), ("a", 0.5)],
        {"a": _unit(1, 0), "b": _unit(0, 1)},
        {"a": "A", "b": "B"},
        2,
        0.1,
        0.97,
    )
    assert [t[0] for t in tie] == ["a", "b"]


def test_weights_order_courses_by_relevance_and_penalise_off_target():
    gap, _, _, _ = _toy()
    cands = [Candidate(id=f"c:{n}", title=n) for n in ("on", "current", "foreign", "empty")]
    base = {"title": 0.6, "occupation": 0.6}
    feats = {
        "c:on": RelevanceFeatures(**base),
        "c:current": RelevanceFeatures(**base, current=0.3),
        "c:foreign": RelevanceFeatures(**base, foreign=1.0),
        "c:empty": RelevanceFeatures(**base, empty=1.0),
    }
    vecs = {c.id: _unit(*(1.0 if j == i else 0.0 for j in range(4))) for i, c in enumerate(cands)}
    ranking = rank_by_relevance(gap, cands, feats, vecs, k=4)
    assert ranking.items[0].id == "c:on"
    assert [i.score for i in ranking.items] == sorted(
        (i.score for i in ranking.items), reverse=True
    )


def test_diversity_drops_duplicates_and_demotes_a_second_course_on_the_same_thing():
    vec_a, vec_b = _unit(1, 0, 0), _unit(0, 1, 0)
    near_a = _unit(1, 0.3, 0)  # cosine ~0.96 to a: same subject, not a duplicate
    scored = [("a", 1.0), ("a-copy", 0.99), ("a-same-title", 0.98), ("near-a", 0.95), ("b", 0.9)]
    vectors = {
        "a": vec_a,
        "a-copy": vec_a,
        "a-same-title": _unit(0, 0, 1),
        "near-a": near_a,
        "b": vec_b,
    }
    titles = {
        "a": "Data Analysis (IBM)",
        "a-copy": "x",
        "a-same-title": "data analysis, IBM",
        "near-a": "y",
        "b": "z",
    }
    assert normalised_title(titles["a"]) == normalised_title(titles["a-same-title"])
    plain = diversify(scored, vectors, titles, 5, 0.0, 0.97)
    assert [p[0] for p in plain] == ["a", "near-a", "b"]  # duplicates shown once
    mmr = diversify(scored, vectors, titles, 5, 0.2, 0.97)
    assert [p[0] for p in mmr] == ["a", "b", "near-a"]  # the second course on "a" gains little
    assert mmr[2][2] == pytest.approx(float(near_a @ vec_a), abs=1e-6)


# --- end to end on a real judged case -------------------------------------------------------


@pytest.fixture(scope="module")
def judged_slice(engine, shared_dir, tmp_path_factory):
    """Real Coursera rows: every one judged for dev case d01 (cashier -> bookkeeper) plus the
    first 120 rows of the file as distractors; imported through the real pipeline."""
    bench = shared_dir / "bench" / "recommendations"
    grades = json.loads((bench / "judgments.json").read_text())["d01"]
    case = next(c for c in json.loads((bench / "cases.json").read_text()) if c["id"] == "d01")
    source = shared_dir / "catalogue" / "coursera-courses.csv"
    with source.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        url = header.index("Course Url")
        rows = [
            row
            for i, row in enumerate(reader)
            if i < 120 or "coursera:" + row[url].removeprefix("https://www.coursera.org/") in grades
        ]
    path = tmp_path_factory.mktemp("judged-slice") / "coursera-courses.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    engine.catalogue.import_file(path, "csv", "coursera")
    return engine, case, grades


def _request(case, ranking):
    from skillpath.engine.recommendation import LearnerProfile, RecommendationRequest

    hits = [] if not case["occupation"] else [case["occupation"]]
    return RecommendationRequest(
        target=case["target"],
        profile=LearnerProfile(occupations=hits, text=case["text"]),
        k=10,
        ranking=ranking,
    )


def _profile_occupation(engine, case):
    try:
        engine.taxonomy.resolve_occupation(case["occupation"])
        return case
    except LookupError:
        uri = engine.matching.normalize_occupation(case["occupation"], k=1)[0].uri
        return {**case, "occupation": uri}


def test_relevance_beats_coverage_on_a_judged_case_and_explains_itself(judged_slice):
    from skillpath.evaluation.judged import case_metrics

    engine, case, grades = judged_slice
    case = _profile_occupation(engine, case)
    canonical = engine.catalogue.canonical_ids()
    new = engine.recommend(_request(case, "relevance"))
    old = engine.recommend(_request(case, "coverage"))
    new_ids = [i.id for i in new.ranking.items]
    old_ids = [i.id for i in old.ranking.items]
    new_m = case_metrics(new_ids, grades, canonical)
    old_m = case_metrics(old_ids, grades, canonical)
    # Measured when written: nDCG@5 1.00 vs 0.70, P@5 1.0 vs 0.6, nDCG@10 0.65 vs 0.60 (the
    # ideal counts judged courses of the other catalogues, absent here). Floors well below.
    assert new_m["nDCG@5"] >= old_m["nDCG@5"] + 0.1, (new_m, old_m)
    assert new_m["P@5"] >= 0.8 and new_m["P@5"] > old_m["P@5"], (new_m, old_m)
    assert new_m["nDCG@10"] > old_m["nDCG@10"], (new_m, old_m)
    # explanations name the target relevance and, where linked, the gap skills covered
    label = new.gap.occupation_label
    for item, why in zip(new.ranking.items, new.explanations, strict=True):
        assert why.sentence.startswith(f"Relevant to {case['target']}") or label in why.sentence
        assert item.relevance is not None and why.score_text.startswith("score ")
        if any(c.gain > 0 for c in item.covered):
            assert "covers gap skills: " in why.sentence
    assert any("covers gap skills: " in w.sentence for w in new.explanations)
    # deterministic end to end
    again = engine.recommend(_request(case, "relevance"))
    assert again.model_dump(exclude={"provenance"}) == new.model_dump(exclude={"provenance"})
