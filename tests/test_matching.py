"""The matcher over the real ESCO: evidence spans, thresholds, bad input, multilingual pairs,
and a quality floor on TECH validation that catches regressions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from skillpath.engine.matching import InvalidQuery, SkillMatcher, matched_span
from skillpath.engine.taxonomy_index import build_skill_bundle
from skillpath.evaluation.benchmarks import default_skill_splits, gold_uris, load_skill_benchmark
from skillpath.evaluation.metrics import evaluate_rankings

OUTCOMES = (
    "On completion the learner will be able to:\n"
    "• write scripts in Python to automate data cleaning;\n"
    "• communicate results to non-technical stakeholders.\n"
    "Also: manage a small team; apply GDPR rules when handling personal data."
)


def test_evidence_spans_point_into_the_text(engine):
    result = engine.matching.extract_skills(OUTCOMES, min_score=0.0, top_k=3)
    assert result.statements >= 4
    assert result.skills
    for skill in result.skills:
        assert skill.evidence
        assert skill.score == skill.evidence[0].score
        for ev in skill.evidence:
            assert OUTCOMES[ev.start : ev.end] == ev.text
            if ev.match_start is not None:
                assert ev.start <= ev.match_start < ev.match_end <= ev.end
    labels = [s.label for s in result.skills]
    assert "Python (computer programming)" in labels


def test_python_evidence_is_the_python_statement(engine):
    result = engine.matching.extract_skills(OUTCOMES)
    python = [s for s in result.skills if s.label == "Python (computer programming)"]
    assert python, [s.label for s in result.skills]
    assert "Python" in python[0].evidence[0].text


@pytest.mark.parametrize("min_score", [0.0, 0.2, 0.6])
def test_min_score_and_top_k_are_respected(engine, min_score):
    result = engine.matching.extract_skills(OUTCOMES, top_k=2, min_score=min_score)
    assert result.threshold == min_score
    per_statement: dict[int, int] = {}
    for skill in result.skills:
        assert 0.0 <= skill.score <= 1.0
        for ev in skill.evidence:
            assert min_score <= ev.score <= 1.0
            per_statement[ev.start] = per_statement.get(ev.start, 0) + 1
    assert all(n <= 2 for n in per_statement.values())
    scores = [s.score for s in result.skills]
    assert scores == sorted(scores, reverse=True)


def test_batch_equals_single(engine):
    texts = ["Use spreadsheets to analyse sales data.", "Weld steel pipes; read blueprints."]
    batch = engine.matching.extract_skills_batch(texts)
    for text, got in zip(texts, batch, strict=True):
        single = engine.matching.extract_skills(text)
        assert got.uris == single.uris


def test_rank_skills_is_a_full_ranking(engine):
    ranking = engine.matching.rank_skills("develop web applications in JavaScript")
    assert len(ranking) == len(engine.taxonomy.skills)
    assert np.all(np.diff(ranking.scores) <= 1e-7)
    assert ((ranking.scores >= 0) & (ranking.scores <= 1)).all()
    assert "JavaScript" in ranking.labels(5)


def test_normalize_occupation(engine):
    hits = engine.matching.normalize_occupation("Senior Java Developer", k=5)
    assert len(hits) == 5
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert any("developer" in h.label for h in hits)


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\x00\x01\x02", "•;•;", "...!!!"])
def test_empty_like_text_gives_an_empty_result(engine, text):
    result = engine.matching.extract_skills(text)
    assert result.skills == [] and result.statements == 0


@pytest.mark.parametrize("value", [None, 42, 3.5, b"python", ["python"], {"a": 1}])
def test_non_strings_raise_a_clear_error(engine, value):
    with pytest.raises(InvalidQuery, match="string"):
        engine.matching.extract_skills(value)


@pytest.mark.parametrize("text", ["", "  ", None, b"x"])
def test_rank_and_normalize_reject_empty_or_non_string(engine, text):
    with pytest.raises(InvalidQuery):
        engine.matching.rank_skills(text)
    with pytest.raises(InvalidQuery):
        engine.matching.normalize_occupation(text)


def test_one_megabyte_and_control_characters(engine):
    huge = "python" * 170_000  # ~1 MB, one "statement"
    result = engine.matching.extract_skills(huge)
    assert result.statements == 1
    noisy = "write\x00 Python\x07 scripts\ufffd\x1b[31m;\x7f manage\u200b projects"
    result = engine.matching.extract_skills(noisy, min_score=0.0)
    for skill in result.skills:
        for ev in skill.evidence:
            assert noisy[ev.start : ev.end] == ev.text


def test_many_statements_are_capped_and_reported(engine):
    matcher = engine.matching.skill_matcher
    capped = replace(matcher, config=replace(matcher.config, max_statements=5))
    capped._lexical = matcher._lexical  # share the fitted lexical index
    text = "\n".join(f"Use tool number {i} daily." for i in range(40))
    result = capped.extract(text)
    assert result.truncated and result.statements == 5


@pytest.mark.parametrize("text", ["ทักษะการเขียนโปรแกรมคอมพิวเตอร์", "编写计算机程序", "ᚠᚢᚦᚨᚱᚲ"])
def test_other_scripts_return_a_result(engine, text):
    result = engine.matching.extract_skills(text)
    assert isinstance(result.skills, list)


def test_matched_span_finds_shared_words():
    statement = "Managing budgets for small projects"
    span = matched_span(statement, "manage budgets")
    assert span == (0, len("Managing budgets"))
    assert matched_span(statement, "weld metal") is None


def test_quality_floor_on_tech_validation(engine, shared_dir):
    """Measured RP@5 72.5 (zero-shot 53.0); the floor is 15 points below."""
    skills = engine.taxonomy.skills
    path = default_skill_splits(shared_dir)["tech_val"]
    bench = load_skill_benchmark(path, [s.preferred_label for s in skills], "tech_val")
    gold = gold_uris(bench, {s.preferred_label: s.uri for s in skills})
    rankings = engine.matching.rank_skills_batch([q.text for q in bench.queries])
    runs = {q.qid: r.uris(200) for q, r in zip(bench.queries, rankings, strict=True)}
    scores = evaluate_rankings(runs, gold)
    assert scores["RP@5"] >= 0.575, scores


# -- multilingual: e5 over a subset of skills ---------------------------------------------

PAIRS = {
    "Python (computer programming)": (
        "programming software in Python",
        "Software in Python programmieren",
        "programmer des logiciels en Python",
    ),
    "drive vehicles": (
        "drive a car",
        "ein Auto fahren",
        "conduire une voiture",
    ),
    "cook pastry products": (
        "bake cakes and pastries",
        "Kuchen und Gebäck backen",
        "préparer des gâteaux et des pâtisseries",
    ),
    "speak different languages": (
        "speak several foreign languages",
        "mehrere Fremdsprachen sprechen",
        "parler plusieurs langues étrangères",
    ),
    "manage budgets": (
        "plan and control the budget",
        "das Budget planen und kontrollieren",
        "planifier et contrôler le budget",
    ),
}


@pytest.fixture(scope="module")
def pair_skills(engine):
    """The pair skills plus 400 others: full e5 indexes take ~15 min, a subset seconds."""
    skills = engine.taxonomy.skills
    wanted = {s.preferred_label for s in skills} & set(PAIRS)
    assert wanted == set(PAIRS)
    rng = np.random.default_rng(7)
    picked = [s for s in skills if s.preferred_label in wanted]
    others = [s for s in skills if s.preferred_label not in wanted]
    return picked + [others[i] for i in rng.choice(len(others), 400, replace=False)]


def subset_matcher(engine, skills, encoder_name: str, artifact=None) -> SkillMatcher:
    """A real matcher of ``encoder_name`` over ``skills``, its index built the way
    ``skillpath index build`` builds it (vectors via the embedding cache)."""
    from skillpath.models.encoder import load_encoder

    encoder = load_encoder(encoder_name)
    return SkillMatcher(
        skills,
        build_skill_bundle(skills, encoder, engine.embedding_cache),
        encoder,
        artifact=artifact,
        occupation_counts=engine.store.skill_occupation_counts(),
    )


@pytest.fixture(scope="module")
def e5_matcher(engine, pair_skills):
    """The e5 matcher as it ships: with its trained artefact, if there is one."""
    from skillpath.models.adapter import load_artifact

    return subset_matcher(engine, pair_skills, "e5", load_artifact("skills", "e5"))


def test_german_and_french_map_to_the_english_skills(e5_matcher):
    for label, (en, de, fr) in PAIRS.items():
        top_en = e5_matcher.rank(en).labels(3)
        assert label in top_en, (en, top_en)
        for other in (de, fr):
            top = e5_matcher.rank(other).labels(3)
            assert label in top, (other, top)
            assert top[0] in top_en, (other, top, top_en)


# -- ensemble: MiniLM + e5 fused by one trained model -------------------------------------


@pytest.fixture(scope="module")
def ensemble(engine, pair_skills, e5_matcher):
    from skillpath.models.adapter import load_artifact

    artifact = load_artifact("skills", "minilm+e5")
    assert artifact is not None, "models/artifacts/skills-minilm+e5.npz is shipped"
    minilm = subset_matcher(engine, pair_skills, "minilm", artifact)
    return replace(minilm, partners={"e5": e5_matcher}), artifact


def test_ensemble_score_is_the_fusion_of_both_encoders_features(ensemble, e5_matcher):
    matcher, artifact = ensemble
    texts = ["programming software in Python", "bake cakes and pastries"]
    scores = matcher.score_vectors(matcher.encode(texts), texts)
    fusion = artifact.fusion
    assert any(f.startswith("e5:") for f in fusion.features)
    own = [f for f in fusion.features if ":" not in f]
    theirs = [f.split(":", 1)[1] for f in fusion.features if f.startswith("e5:")]
    solo = replace(matcher, partners={})
    values = solo.features(solo.encode(texts), texts, own)
    e5_values = e5_matcher.features(e5_matcher.encode(texts), texts, theirs)
    values.update({f"e5:{k}": v for k, v in e5_values.items()})
    z = fusion.bias + sum(
        w * values[f] for f, w in zip(fusion.features, fusion.weights, strict=True)
    )
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-z)), rtol=1e-4, atol=1e-5)
    assert matcher.rank(texts[0]).labels(1) == ["Python (computer programming)"]
    assert "cook pastry products" in matcher.rank(texts[1]).labels(3)


def test_ensemble_without_its_partner_says_what_is_missing(ensemble):
    matcher, _ = ensemble
    with pytest.raises(ValueError, match="no e5 matcher is loaded"):
        replace(matcher, partners={}).rank("manage budgets")


def test_ensemble_extracts_with_its_own_threshold(ensemble):
    matcher, artifact = ensemble
    text = "Programming software in Python.\nPlan and control the budget.\nDrive a car."
    found = matcher.extract(text)
    labels = {s.label for s in found.skills}
    assert {"Python (computer programming)", "manage budgets", "drive vehicles"} <= labels
    assert all(s.score >= artifact.fusion.threshold for s in found.skills)
    everything = matcher.extract(text, min_score=0.0)
    assert labels < {s.label for s in everything.skills}  # the threshold drops the noise


def test_partner_engine_needs_its_own_index(engine):
    partner = engine.with_partner("e5")
    assert partner.matching.matcher_name == "minilm+e5"
    assert partner.settings.index_dir_for("e5") == engine.settings.home / "index" / "e5"
    assert engine.matching.indexes_ready()
    assert not partner.matching.indexes_ready()  # the session built MiniLM indexes only
    assert partner.matching.matcher_fingerprint != engine.matching.matcher_fingerprint
